"""What follows each change: the consumers of the domain events, in the order they run.

All of them run inside the command's transaction, so what they write (timeline steps, audit
entries, outbox rows for emails and webhooks) commits or rolls back with the change itself.
Adding what follows a change means adding a consumer here; no command changes.
"""

from __future__ import annotations

from typing import Any

from portal.extensions import db
from portal.models import ApiToken, SignalKind, TimelineKind
from portal.services import (
    attachments,
    audit,
    chat,
    events,
    invitations,
    notifications,
    signals,
    timeline,
    webhooks,
)
from portal.services.events import on

# The timeline: the customer's tracking history --------------------------------------------


@on(events.ItemSubmitted)
def submission_on_timeline(event: events.ItemSubmitted) -> None:
    # Dated with the item itself, so the "received" step and the item never disagree.
    timeline.record(
        event.item,
        event.author,
        TimelineKind.SUBMITTED,
        to_state=event.item.state,
        at=event.item.created_at,
    )


@on(events.StateChanged)
def state_on_timeline(event: events.StateChanged) -> None:
    timeline.record(
        event.item,
        event.actor,
        TimelineKind.STATE_CHANGED,
        event.message,
        from_state=event.from_state,
        to_state=event.to_state,
    )


@on(events.OwnerChanged)
def owner_on_timeline(event: events.OwnerChanged) -> None:
    # The step's title names the new owner in the reader's language; the reason is their words.
    timeline.record(
        event.item, event.actor, TimelineKind.OWNER_CHANGED, event.reason, new_owner=event.owner
    )


@on(events.PromiseMade)
def promise_on_timeline(event: events.PromiseMade) -> None:
    moved = event.previous_date is not None
    timeline.record(
        event.item,
        event.actor,
        TimelineKind.PROMISE_MOVED if moved else TimelineKind.PROMISE_SET,
        event.reason,
        target_date=event.new_date,
    )


@on(events.ItemMerged)
def merge_on_target_timeline(event: events.ItemMerged) -> None:
    timeline.record(
        event.target,
        event.actor,
        TimelineKind.MERGED,
    )  # the step's title says it, in the reader's language


@on(events.ItemMerged)
def merged_promise_on_timeline(event: events.ItemMerged) -> None:
    # The duplicate's own history says what became of the date promised there.
    promise = event.promise
    if promise.promised is None:
        return
    if promise.kept:
        timeline.record(
            event.item,
            event.actor,
            TimelineKind.PROMISE_SET,
            f"The date promised here holds on #{event.target.id}, where this continues."
            if promise.target_date == promise.promised
            else f"#{event.target.id}, where this continues, is promised sooner.",
            target_date=promise.target_date,
        )
        return
    timeline.record(
        event.item,
        event.actor,
        TimelineKind.PROMISE_MOVED,
        promise.reason,
        target_date=promise.target_date,
    )


@on(events.ReopenRequested)
def reopen_request_on_timeline(event: events.ReopenRequested) -> None:
    timeline.record(event.item, event.author, TimelineKind.REOPEN_REQUESTED, event.comment)


# The audit log: every staff and admin action -------------------------------------------------


@on(events.StateChanged)
def audit_state(event: events.StateChanged) -> None:
    audit.record(
        event.actor,
        "item.state_changed",
        "feedback",
        event.item.id,
        from_state=event.from_state,
        to_state=event.to_state,
        message=event.message,
    )


@on(events.OwnerChanged)
def audit_owner(event: events.OwnerChanged) -> None:
    audit.record(
        event.actor,
        "item.owner_changed",
        "feedback",
        event.item.id,
        from_owner=event.previous_owner_id,
        to_owner=event.owner.id,
        reason=event.reason,
    )


@on(events.PromiseMade)
def audit_promise(event: events.PromiseMade) -> None:
    if event.by_planning:
        audit.record(
            event.actor, "item.promise_set", "feedback", event.item.id, target_date=event.new_date
        )
        return
    audit.record(
        event.actor,
        "item.promise_moved" if event.previous_date else "item.promise_set",
        "feedback",
        event.item.id,
        from_date=event.previous_date,
        to_date=event.new_date,
        reason=event.reason,
    )


@on(events.ItemMerged)
def audit_merge(event: events.ItemMerged) -> None:
    promise = event.promise
    kept_or_not: dict[str, Any] = {}
    if promise.promised is not None:
        kept_or_not = {
            "promised": promise.promised,
            "promise_kept": promise.kept,
            "promised_now": promise.target_date,
            "promise_reason": promise.reason,
        }
    audit.record(
        event.actor, "item.merged", "feedback", event.item.id, into=event.target.id, **kept_or_not
    )


@on(events.ResolutionPublished)
def audit_resolution(event: events.ResolutionPublished) -> None:
    audit.record(
        event.actor,
        "resolution.published",
        "resolution",
        event.resolution.id,
        items=[item.id for item in event.items],
        we_did=event.we_did,
    )


@on(events.ResolutionEdited)
def audit_resolution_edit(event: events.ResolutionEdited) -> None:
    audit.record(
        event.actor,
        "resolution.edited",
        "resolution",
        event.resolution.id,
        old_you_said=event.old_you_said,
        old_we_did=event.old_we_did,
    )


@on(events.ReplyPosted)
def audit_reply(event: events.ReplyPosted) -> None:
    audit.record(event.actor, "item.replied", "feedback", event.item.id)


@on(events.NoteAdded)
def audit_note(event: events.NoteAdded) -> None:
    audit.record(event.actor, "item.noted", "feedback", event.item.id)


@on(events.ItemHiddenChanged)
def audit_hidden(event: events.ItemHiddenChanged) -> None:
    audit.record(
        event.actor,
        "item.hidden" if event.hidden else "item.unhidden",
        "feedback",
        event.item.id,
        reason=event.reason,
    )


@on(events.ItemRedacted)
def audit_redaction(event: events.ItemRedacted) -> None:
    # The words leave public view; the record keeps them.
    audit.record(
        event.actor,
        "item.redacted",
        "feedback",
        event.item.id,
        reason=event.reason,
        title=event.item.title,
        body=event.item.body_source,
    )


@on(events.CommentHidden)
def audit_hidden_comment(event: events.CommentHidden) -> None:
    audit.record(
        event.actor,
        "comment.hidden",
        "comment",
        event.comment.id,
        reason=event.reason,
        body=event.comment.body_source,
    )


@on(events.AttachmentRemoved)
def audit_removed_attachment(event: events.AttachmentRemoved) -> None:
    audit.record(
        event.actor,
        "attachment.removed",
        "attachment",
        event.attachment.id,
        reason=event.reason,
        public_id=event.attachment.public_id,
        feedback_id=event.attachment.feedback_id,
        comment_id=event.attachment.comment_id,
    )


@on(events.ItemApproved)
def audit_approval(event: events.ItemApproved) -> None:
    audit.record(event.actor, "item.approved", "feedback", event.item.id)


@on(events.ItemSignalled)
def audit_signal(event: events.ItemSignalled) -> None:
    # What a customer still says of a closed item, for the record staff read it from.
    audit.record(
        event.user,
        f"item.{event.kind.value}" if event.said else f"item.{event.kind.value}_taken_back",
        "feedback",
        event.item.id,
        count=event.count,
    )


@on(events.ReopenRequested)
def not_fixed_counts_as_still_happening(event: events.ReopenRequested) -> None:
    # The author's "Not yet" is one more person it still happens to (signals.STILL_HAPPENS);
    # the owner hears of it once, with the author's words (below).
    signals.record_still_happens(event.item, event.author)


# The operator's console (`flask create-admin`): there may be no admin yet to act, so the
# entries name no one.


@on(events.AdminCreated)
def audit_admin_created(event: events.AdminCreated) -> None:
    audit.record(None, "user.admin_created", "user", event.user.id, via="command line")


@on(events.SignedInWithSso)
def audit_signed_in_with_sso(event: events.SignedInWithSso) -> None:
    action = "user.created_by_sso" if event.created else "user.signed_in_by_sso"
    details: dict[str, str] = {}
    if event.attributes:
        details["attributes"] = ", ".join(event.attributes)
    audit.record(event.user, action, "user", event.user.id, **details)
    if event.old_email is not None:
        # The organisation moved the address (it vouches for the new one); the old one is kept
        # for the record, as a change confirmed by link keeps it.
        audit.record(
            event.user,
            "user.email_changed_by_sso",
            "user",
            event.user.id,
            old=event.old_email,
            new=event.user.email,
        )


@on(events.SignedInWithProvider)
def audit_signed_in_with_provider(event: events.SignedInWithProvider) -> None:
    action = "user.created_by_provider" if event.created else "user.signed_in_by_provider"
    audit.record(event.user, action, "user", event.user.id, provider=event.provider_key)


@on(events.IdentityLinked)
def audit_identity_linked(event: events.IdentityLinked) -> None:
    details = {"provider": event.identity.provider_key, "issuer": event.identity.issuer}
    if event.confirmed_with:
        details["confirmed_with"] = event.confirmed_with
    audit.record(event.user, "user.identity_linked", "user", event.user.id, **details)


@on(events.IdentityRemoved)
def audit_identity_removed(event: events.IdentityRemoved) -> None:
    audit.record(
        event.user,
        "user.identity_removed",
        "user",
        event.user.id,
        provider=event.provider_key,
        issuer=event.issuer,
    )


@on(events.SsoConfigured)
def audit_sso_configured(event: events.SsoConfigured) -> None:
    audit.record(
        event.actor,
        "settings.sso_configured",
        "settings",
        event.settings.id,
        algorithm=event.settings.algorithm,
        audience=event.settings.audience,
        jwks_url=event.settings.jwks_url,
    )


@on(events.MadeAdmin)
def audit_made_admin(event: events.MadeAdmin) -> None:
    audit.record(
        None,
        "user.made_admin",
        "user",
        event.user.id,
        before=event.previous_role,
        via="command line",
    )


@on(events.FirstCategoryAdded)
def audit_first_category(event: events.FirstCategoryAdded) -> None:
    audit.record(
        None,
        "category.created",
        "category",
        event.category.id,
        name=event.category.name,
        slug=event.category.slug,
        via="command line",
    )


# The admin pages.


@on(events.CategorySaved)
def audit_category(event: events.CategorySaved) -> None:
    audit.record(
        event.actor,
        "category.created" if event.created else "category.updated",
        "category",
        event.category.id,
        **event.fields,
    )


@on(events.UserUpdated)
def audit_user_update(event: events.UserUpdated) -> None:
    audit.record(
        event.actor,
        "user.updated",
        "user",
        event.user.id,
        before={"role": event.previous_role, "active": event.was_active},
        role=event.user.role,
        active=event.user.active,
    )


@on(events.CustomerValueChanged)
def audit_customer_value(event: events.CustomerValueChanged) -> None:
    customer = event.customer
    audit.record(
        event.actor,
        "user.value_changed",
        "user",
        customer.id,
        via=event.via,
        before=dict(event.before),
        plan=customer.plan,
        monthly_value_cents=customer.monthly_value_cents,
        segment=customer.segment,
        **(_token_detail(event.token) if event.token is not None else {}),
    )


@on(events.SettingsUpdated)
def audit_settings(event: events.SettingsUpdated) -> None:
    audit.record(event.actor, "settings.updated", "settings", event.settings.id, **event.fields)


@on(events.GetStartedDismissed)
def audit_get_started_dismissed(event: events.GetStartedDismissed) -> None:
    audit.record(event.actor, "settings.get_started_dismissed", "settings", event.settings.id)


@on(events.InvitationSent)
def audit_invitation_sent(event: events.InvitationSent) -> None:
    invitation = event.invitation
    audit.record(
        event.actor,
        "invitation.sent_again" if event.again else "invitation.sent",
        "invitation",
        invitation.id,
        email=invitation.email,
        role=invitation.role,
        expires_at=invitation.expires_at,
    )


@on(events.InvitationRevoked)
def audit_invitation_revoked(event: events.InvitationRevoked) -> None:
    audit.record(
        event.actor,
        "invitation.revoked",
        "invitation",
        event.invitation.id,
        email=event.invitation.email,
    )


@on(events.InvitationAccepted)
def audit_invitation_accepted(event: events.InvitationAccepted) -> None:
    # The person who accepted acts: they followed the link and chose (or confirmed) a password.
    audit.record(
        event.user,
        "invitation.accepted",
        "invitation",
        event.invitation.id,
        user=event.user.id,
        account_created=event.created,
        before=event.previous_role,
        role=event.user.role,
    )


@on(events.ApiTokenCreated)
def audit_token_created(event: events.ApiTokenCreated) -> None:
    token = event.token
    audit.record(
        event.actor, "api_token.created", "api_token", token.id, name=token.name, scope=token.scope
    )


@on(events.ApiTokenRevoked)
def audit_token_revoked(event: events.ApiTokenRevoked) -> None:
    audit.record(
        event.actor, "api_token.revoked", "api_token", event.token.id, name=event.token.name
    )


@on(events.WebhookEndpointCreated)
def audit_webhook_created(event: events.WebhookEndpointCreated) -> None:
    endpoint = event.endpoint
    audit.record(
        event.actor,
        "webhook.created",
        "webhook",
        endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
    )


@on(events.WebhookEndpointActiveChanged)
def audit_webhook_active(event: events.WebhookEndpointActiveChanged) -> None:
    audit.record(
        event.actor,
        "webhook.resumed" if event.active else "webhook.paused",
        "webhook",
        event.endpoint.id,
    )


@on(events.WebhookEndpointChanged)
def audit_webhook_changed(event: events.WebhookEndpointChanged) -> None:
    endpoint = event.endpoint
    audit.record(
        event.actor,
        "webhook.changed",
        "webhook",
        endpoint.id,
        events_before=event.events_before,
        events=endpoint.events,
        description_before=event.description_before,
        description=endpoint.description,
    )


@on(events.WebhookSecretRotated)
def audit_webhook_secret(event: events.WebhookSecretRotated) -> None:
    audit.record(event.actor, "webhook.secret_rotated", "webhook", event.endpoint.id)


@on(events.WebhookEndpointDeleted)
def audit_webhook_deleted(event: events.WebhookEndpointDeleted) -> None:
    audit.record(
        event.actor, "webhook.deleted", "webhook", event.endpoint.id, url=event.endpoint.url
    )


@on(events.WebhookPinged)
def audit_webhook_ping(event: events.WebhookPinged) -> None:
    audit.record(event.actor, "webhook.pinged", "webhook", event.endpoint.id)


@on(events.WebhookDeliverySentAgain)
def audit_webhook_sent_again(event: events.WebhookDeliverySentAgain) -> None:
    audit.record(
        event.actor, "webhook.sent_again", "webhook", event.endpoint.id, delivery=event.delivery_id
    )


@on(events.ChatChannelChanged)
def audit_chat_channel(event: events.ChatChannelChanged) -> None:
    audit.record(event.actor, event.action, "chat_channel", event.channel.id, **event.details)


# The API: each entry names the token that asked (after the entries of the command it called).


def _token_detail(token: ApiToken) -> dict[str, Any]:
    """What an audit entry says of the token behind a change: enough to find it on the token
    page (its id, and the prefix shown there), never the token itself."""
    return {"token_id": token.id, "token_prefix": token.prefix}


@on(events.CustomerCreatedViaApi)
def audit_api_customer(event: events.CustomerCreatedViaApi) -> None:
    audit.record(
        None, "api.customer_created", "user", event.customer.id, **_token_detail(event.token)
    )


@on(events.ItemSubmittedViaApi)
def audit_api_submission(event: events.ItemSubmittedViaApi) -> None:
    audit.record(
        None, "api.item_submitted", "feedback", event.item.id, **_token_detail(event.token)
    )


@on(events.ItemMovedViaApi)
def audit_api_move(event: events.ItemMovedViaApi) -> None:
    audit.record(
        event.actor,
        "api.item_moved",
        "feedback",
        event.item.id,
        to_state=event.to_state,
        **_token_detail(event.token),
    )


@on(events.ReplyPostedViaApi)
def audit_api_reply(event: events.ReplyPostedViaApi) -> None:
    audit.record(
        event.actor,
        "api.item_replied",
        "feedback",
        event.item_id,
        acknowledged=event.reply is None,
        **_token_detail(event.token),
    )


# Email intake acts for no one (an emailed item's own entry follows its receipt, at the end).


@on(events.CustomerCreatedByEmail)
def audit_email_customer(event: events.CustomerCreatedByEmail) -> None:
    audit.record(None, "intake.customer_created", "user", event.customer.id)


@on(events.CommentReceivedByEmail)
def audit_email_comment(event: events.CommentReceivedByEmail) -> None:
    audit.record(
        None,
        "intake.comment_added",
        "feedback",
        event.comment.feedback_id,
        comment=event.comment.id,
    )


# Staff record for a customer: each entry names who took it down, and how.


@on(events.CustomerCreatedByStaff)
def audit_staff_customer(event: events.CustomerCreatedByStaff) -> None:
    audit.record(event.recorded_by, "staff.customer_created", "user", event.customer.id)


@on(events.ItemRecordedForCustomer)
def audit_recorded_item(event: events.ItemRecordedForCustomer) -> None:
    audit.record(
        event.recorded_by,
        "item.recorded_for_customer",
        "feedback",
        event.item.id,
        customer=event.customer.id,
        channel=event.channel,
    )


@on(events.MeTooRecordedForCustomer)
def audit_recorded_me_too(event: events.MeTooRecordedForCustomer) -> None:
    audit.record(
        event.recorded_by,
        "item.me_too_recorded",
        "feedback",
        event.item.id,
        customer=event.customer.id,
        channel=event.channel,
    )


# Webhooks: receivers hear of changes through the outbox --------------------------------------


@on(events.StateChanged)
def state_to_webhooks(event: events.StateChanged) -> None:
    webhooks.item_state_changed(event.item, event.from_state, event.to_state, event.message)


@on(events.ItemEdited)
def edit_to_webhooks(event: events.ItemEdited) -> None:
    # A receiver that keeps items' words (from item.created) keeps them current.
    webhooks.item_edited(event.item)


@on(events.ResolutionPublished)
def resolution_to_webhooks(event: events.ResolutionPublished) -> None:
    webhooks.resolution_published(event.resolution, event.items)


# Chat: staff rooms hear of new items and reopen requests through the outbox ----------------


@on(events.ItemSubmitted)
def submission_to_chat(event: events.ItemSubmitted) -> None:
    chat.item_created(event.item)


@on(events.ReopenRequested)
def reopen_request_to_chat(event: events.ReopenRequested) -> None:
    chat.reopen_requested(event.item, SignalKind.STILL_HAPPENS)


@on(events.ItemSignalled)
def still_happens_or_wanted_to_chat(event: events.ItemSignalled) -> None:
    if event.said:
        chat.reopen_requested(event.item, event.kind, event.count)


# Emails: everyone who spoke up is told, by name ----------------------------------------------


@on(events.ItemSubmitted)
def author_follows_own_item(event: events.ItemSubmitted) -> None:
    notifications.follow(event.author, event.item)


@on(events.ItemSubmitted)
def receipt_to_author(event: events.ItemSubmitted) -> None:
    if event.send_receipt:
        notifications.send_receipt(event.item, event.author)


@on(events.ItemSubmitted)
def tell_category_followers_of_submission(event: events.ItemSubmitted) -> None:
    notifications.notify_category_followers(event.item)


@on(events.StateChanged)
def tell_followers_of_state(event: events.StateChanged) -> None:
    if event.tell_followers:
        db.session.flush()
        # The actor wrote the message and signs it; the item's owner stays its sender.
        notifications.notify_item_update(
            event.item, event.actor, "state", event.message, from_state=event.from_state
        )


@on(events.PromiseMade)
def tell_followers_of_promise(event: events.PromiseMade) -> None:
    if event.by_planning:
        return
    db.session.flush()
    notifications.notify_item_update(
        event.item,
        event.actor,
        "promise",
        event.reason,
        new_date=event.new_date,
        previous_date=event.previous_date,
        previous_outcome=event.previous_outcome,
    )


@on(events.ItemMerged)
def tell_followers_of_merge(event: events.ItemMerged) -> None:
    notifications.notify_merge(event.item, event.target, event.actor, event.message, event.promise)


@on(events.ResolutionPublished)
def tell_everyone_of_resolution(event: events.ResolutionPublished) -> None:
    notifications.notify_resolution(
        event.resolution, event.items, event.actor, message=event.message
    )


@on(events.ReplyPosted)
def tell_followers_of_reply(event: events.ReplyPosted) -> None:
    notifications.notify_item_update(
        event.item, event.actor, "reply", event.comment.body_source, comment=event.comment
    )


@on(events.ReopenRequested)
def tell_owner_of_reopen_request(event: events.ReopenRequested) -> None:
    notifications.notify_reopen_request(event.item, event.author, event.comment)


@on(events.ItemSignalled)
def tell_owner_it_still_happens(event: events.ItemSignalled) -> None:
    if event.said and event.kind is SignalKind.STILL_HAPPENS:
        notifications.notify_still_happens(event.item, event.user, event.count)


@on(events.ItemReceivedByEmail)
def receipt_by_email(event: events.ItemReceivedByEmail) -> None:
    # A reply to the sender's own message, saying which images were kept and which files not.
    notifications.send_receipt(
        event.item,
        event.author,
        by_email=True,
        in_reply_to=event.in_reply_to,
        files=event.files,
    )


@on(events.ItemRecordedForCustomer)
def receipt_for_recorded_item(event: events.ItemRecordedForCustomer) -> None:
    # Staff heard it from them: it goes to their address even before it is verified, with the
    # link to claim the account when it was made for them.
    notifications.send_receipt(
        event.item,
        event.customer,
        recorded_by=event.recorded_by,
        channel=event.channel,
        claim_link=event.claim_link,
    )


# Emails about the account itself go to its address, verified or not: following the link is
# the proof.


@on(events.ClaimLinkRequested)
def claim_link_to_account_holder(event: events.ClaimLinkRequested) -> None:
    notifications.send_claim_link(event.user)


@on(events.RegistrationRequested)
def registration_link_to_address(event: events.RegistrationRequested) -> None:
    notifications.send_registration_link(event.email, event.preferred_name, event.token)


@on(events.RegistrationOfKnownAddress)
def registration_attempt_to_account_holder(event: events.RegistrationOfKnownAddress) -> None:
    notifications.send_registration_attempt(event.user)


@on(events.PasswordResetRequested)
def reset_link_to_account_holder(event: events.PasswordResetRequested) -> None:
    notifications.send_password_reset(event.user)


@on(events.SignInLinkRequested)
def sign_in_link_to_account_holder(event: events.SignInLinkRequested) -> None:
    notifications.send_sign_in_link(event.user, event.token)


@on(events.EmailChangeRequested)
def email_change_link_to_new_address(event: events.EmailChangeRequested) -> None:
    notifications.send_email_change_link(event.user, event.new_email, event.token)


@on(events.EmailChanged)
def email_change_told_to_old_address(event: events.EmailChanged) -> None:
    notifications.send_email_changed(event.user, event.old_email)


@on(events.EmailChanged)
def audit_email_changed(event: events.EmailChanged) -> None:
    # The holder acted (the link came to the new address); the old address is kept for the
    # record, since it is what someone who lost the account would ask about.
    audit.record(
        event.user,
        "user.email_changed",
        "user",
        event.user.id,
        old=event.old_email,
        new=event.user.email,
    )


@on(events.InvitationSent)
def invitation_to_address(event: events.InvitationSent) -> None:
    invitations.send_invitation_email(event.invitation, event.actor, event.token)


# A new item's webhook goes after its emails (the order submit_feedback had when it called them).


@on(events.ItemSubmitted)
def submission_to_webhooks(event: events.ItemSubmitted) -> None:
    webhooks.item_created(event.item)


# An item received by email is audited after its receipt (the order intake had when it did both).


@on(events.ItemReceivedByEmail)
def audit_email_submission(event: events.ItemReceivedByEmail) -> None:
    audit.record(
        None,
        "intake.item_submitted",
        "feedback",
        event.item.id,
        attachments=event.attachments_refused,
        images=event.files.images_kept,
    )


# A deleted account's files go with it: the images its person uploaded, rows and bytes.


@on(events.AccountDeleted)
def files_of_deleted_account(event: events.AccountDeleted) -> None:
    attachments.delete_files_of(event.user)


@on(events.AccountDeleted)
def invitations_of_deleted_account(event: events.AccountDeleted) -> None:
    invitations.forget_address_of(event.user)


# Sign-in: identity providers and the sign-in policy (never a client secret).


@on(events.IdentityProviderSaved)
def audit_identity_provider_saved(event: events.IdentityProviderSaved) -> None:
    audit.record(
        event.actor,
        "identity_provider.created" if event.created else "identity_provider.changed",
        "identity_provider",
        event.provider.id,
        key=event.provider.key,
        **event.changes,
    )


@on(events.IdentityProviderEnabledChanged)
def audit_identity_provider_enabled(event: events.IdentityProviderEnabledChanged) -> None:
    audit.record(
        event.actor,
        "identity_provider.enabled" if event.enabled else "identity_provider.disabled",
        "identity_provider",
        event.provider.id,
        key=event.provider.key,
    )


@on(events.SignInPolicyChanged)
def audit_sign_in_policy(event: events.SignInPolicyChanged) -> None:
    via = {} if event.actor is not None else {"via": "command line"}
    audit.record(
        event.actor,
        "settings.sign_in_policy",
        "settings",
        event.settings.id,
        before=dict(event.before),
        staff_identity_provider=event.settings.staff_identity_provider,
        customer_passwords=event.settings.customer_passwords,
        **via,
    )


# Insights: the daily roll-ups are kept on every flush that changes an item's counted columns
# (services/insights/rollups.py installs itself on import).
from portal.services.insights import rollups as _insight_rollups  # noqa: E402, F401
