"""Invitations to join the staff: an admin invites an address with a role; the emailed link
lets its holder set a password (or, for an existing account, confirm theirs) and so take the
role. Invitations expire, can be sent again and revoked; every step is audited (consumers.py).

`accept` makes or upgrades the account and signs nobody in: the page that calls it does.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from portal.extensions import db
from portal.models import Invitation, InvitationStatus, Role, User
from portal.services import environment, events
from portal.services.accounts import (
    find_user_by_email,
    has_usable_password,
    normalise_email,
    register_user,
    set_password,
)
from portal.services.admin import require_active_admin
from portal.services.errors import DomainError, NotFound
from portal.services.notifications import content_language, offered_language
from portal.services.outbox import queue_email
from portal.services.site import get_site_settings
from portal.services.tokens import (
    INVITATION_MAX_AGE,
    hash_secret,
    invitation_token_matches,
    make_invitation_token,
    read_invitation_token,
)
from portal.services.wording import t

# How long an invitation's link works (the signed token says the same, as a second lock).
INVITATION_LIFETIME = timedelta(seconds=INVITATION_MAX_AGE)
INVITABLE_ROLES = (Role.STAFF, Role.ADMIN)
EMAIL_MAX = 254  # users.email's length
_RANK = {Role.CUSTOMER: 0, Role.STAFF: 1, Role.ADMIN: 2}


class InvitationNotValid(DomainError):
    """The link is forged, expired, revoked, sent again since, or already accepted."""

    status_code = 404


def _now() -> datetime:
    return datetime.now(UTC)


def _require_admin(actor: User) -> None:
    require_active_admin(actor, t("Only admins invite people."))


def _new_secret(invitation: Invitation, now: datetime) -> str:
    """Give the invitation a fresh secret and a fresh week; the link's token, to email."""
    secret = secrets.token_urlsafe(32)
    invitation.secret_hash = hash_secret(secret)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_LIFETIME
    db.session.flush()
    return make_invitation_token(invitation.id, secret)


def invite(actor: User, *, email: str, role: Role | str) -> Invitation:
    """Invite an address to join as staff or admin: the email's link works for a week."""
    _require_admin(actor)
    email = normalise_email(email)
    if "@" not in email or len(email) > EMAIL_MAX or any(c.isspace() for c in email):
        raise DomainError(t("Enter an email address such as name@example.com."))
    try:
        role = Role(role)
    except ValueError as exc:
        raise DomainError(t("Choose staff or admin.")) from exc
    if role not in INVITABLE_ROLES:
        raise DomainError(t("Choose staff or admin."))
    person = find_user_by_email(email)
    if person is not None and not person.is_active:
        raise DomainError(
            t(
                "The account at %(email)s is closed or deactivated: an invitation cannot open "
                "it again.",
                email=email,
            )
        )
    if person is not None and _RANK[person.role] >= _RANK[role]:
        raise DomainError(
            t("%(name)s already has that role or a higher one.", name=person.display_name)
        )
    now = _now()
    # One invitation waiting per address: a second would leave two links that both work.
    waiting = db.session.scalar(
        sa.select(Invitation.id).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if waiting is not None:
        raise DomainError(
            t(
                "%(email)s is invited already. Send that invitation again from the list, or "
                "revoke it first.",
                email=email,
            )
        )
    invitation = Invitation(
        email=email, role=role, invited_by_id=actor.id, secret_hash="", expires_at=now
    )
    db.session.add(invitation)
    db.session.flush()
    token = _new_secret(invitation, now)
    events.emit(events.InvitationSent(invitation, actor, token, again=False))
    return invitation


def _locked(invitation_id: int) -> Invitation:
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.id == invitation_id).with_for_update()
    )
    if invitation is None:
        raise NotFound(t("We could not find that invitation."))
    return invitation


def resend(actor: User, invitation_id: int) -> Invitation:
    """Send an invitation again with a new link for another week; the older link stops."""
    _require_admin(actor)
    invitation = _locked(invitation_id)
    now = _now()
    if invitation.status_at(now) not in (InvitationStatus.PENDING, InvitationStatus.EXPIRED):
        raise DomainError(
            t(
                "That invitation was accepted or revoked: invite %(email)s anew.",
                email=invitation.email,
            )
        )
    token = _new_secret(invitation, now)
    events.emit(events.InvitationSent(invitation, actor, token, again=True))
    return invitation


def revoke(actor: User, invitation_id: int) -> Invitation:
    """Withdraw an invitation that nobody has accepted: its link stops working."""
    _require_admin(actor)
    invitation = _locked(invitation_id)
    if invitation.status_at(_now()) not in (InvitationStatus.PENDING, InvitationStatus.EXPIRED):
        raise DomainError(t("That invitation was accepted or revoked already."))
    invitation.revoked_at = _now()
    db.session.flush()
    events.emit(events.InvitationRevoked(invitation, actor))
    return invitation


def recent_invitations(limit: int = 30) -> list[tuple[Invitation, InvitationStatus]]:
    """The newest invitations, each with where it stands now, for the admin's list."""
    now = _now()
    rows = db.session.scalars(
        sa.select(Invitation).order_by(Invitation.sent_at.desc(), Invitation.id.desc()).limit(limit)
    )
    return [(invitation, invitation.status_at(now)) for invitation in rows]


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation | None:
    """The pending invitation a link is for, if the link is genuine, current (not sent again
    since) and the invitation neither expired, revoked nor accepted; changes nothing."""
    payload = read_invitation_token(token)
    if payload is None:
        return None
    select = sa.select(Invitation).where(Invitation.id == payload["i"])
    invitation = db.session.scalar(select.with_for_update() if lock else select)
    if (
        invitation is None
        or invitation.status_at(_now()) is not InvitationStatus.PENDING
        or not invitation_token_matches(payload, invitation.secret_hash)
    ):
        return None
    return invitation


def account_for(invitation: Invitation) -> User | None:
    """The account the invited address has already, if any (it confirms its password)."""
    return find_user_by_email(invitation.email)


def accept(token: str, *, password: str, display_name: str = "", preferred_name: str = "") -> User:
    """Accept an invitation from its link: make the account with the invited role (the link
    came to the address, so it is verified), or give an existing account the role once its
    password is confirmed (an account without one sets it here). Signs nobody in."""
    invitation = invitation_for_token(token, lock=True)
    if invitation is None:
        raise InvitationNotValid(
            t(
                "That invitation has expired or is no longer valid. Ask the admin who invited "
                "you to send it again."
            )
        )
    now = _now()
    user = account_for(invitation)
    previous_role: Role | None = None
    if user is None:
        user = register_user(
            email=invitation.email,
            password=password,
            display_name=display_name,
            preferred_name=preferred_name,
            role=invitation.role,
        )
    else:
        if not user.is_active:
            raise DomainError(t("That account is closed: ask the admin who invited you."))
        if not has_usable_password(user):
            set_password(user, password)
        elif not check_password_hash(user.password_hash, password):
            raise DomainError(
                t(
                    "That is not the password of the account at %(email)s. Type it again, or "
                    "choose a new one with \u201cForgotten your password?\u201d first.",
                    email=invitation.email,
                )
            )
        previous_role = user.role
        if _RANK[invitation.role] > _RANK[user.role]:
            user.role = invitation.role
    if user.verified_at is None:
        user.verified_at = now
    invitation.accepted_at = now
    invitation.accepted_by_id = user.id
    db.session.flush()
    events.emit(events.InvitationAccepted(invitation, user, previous_role is None, previous_role))
    return user


def send_invitation_email(invitation: Invitation, inviter: User, token: str) -> None:
    """Queue the invitation's email to the invited address: who invites, as what, the link,
    and until when it works. Written in the language of the account the address has, else
    the site's default."""
    presenter = environment.current().presenter
    person = find_user_by_email(invitation.email)
    language = offered_language(person.language if person else None) or offered_language(
        get_site_settings().default_language
    )
    subject = (
        t(
            "%(name)s invites you to join %(organisation)s as an admin",
            name=inviter.display_name,
            organisation=get_site_settings().organisation_name,
        )
        if invitation.role is Role.ADMIN
        else t(
            "%(name)s invites you to join %(organisation)s as staff",
            name=inviter.display_name,
            organisation=get_site_settings().organisation_name,
        )
    )
    rendered = presenter.email(
        "invitation",
        subject,
        language=language,
        inviter=inviter,
        invitation=invitation,
        person=person,
        accept_url=presenter.url("accounts.accept_invitation", token=token),
    )
    queue_email(
        kind="invitation",
        to_email=invitation.email,
        to_name=person.preferred_name if person else "",
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=content_language(rendered.language),
        user_id=person.id if person else None,
    )


def forget_address_of(user: User) -> None:
    """A deleted account's invitations keep the anonymised address instead of the real one
    (who invited whom, as what and when stays, for the record)."""
    db.session.execute(
        sa.update(Invitation).where(Invitation.accepted_by_id == user.id).values(email=user.email)
    )
