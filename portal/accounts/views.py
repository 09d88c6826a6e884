"""Accounts: register, sign in and out, and "my feedback" with the profile."""

from __future__ import annotations

import json

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms import Field

from portal.accounts import kept as kept_writing
from portal.accounts import provider_views
from portal.accounts.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ConfirmForm,
    ConfirmPasswordForm,
    DeleteAccountByAddressForm,
    DeleteAccountForm,
    LoginForm,
    NewPasswordForm,
    PreferencesForm,
    ProfileForm,
    RegisterForm,
    ResetRequestForm,
)
from portal.accounts.link_forms import RegisterWithLinkForm
from portal.accounts.policy import sign_in_choices
from portal.extensions import limiter
from portal.forms import say_beside
from portal.models import NotificationPreference, User
from portal.services import (
    accounts,
    identity_providers,
    invitations,
    notifications,
    personal_data,
    sign_in_links,
    sign_in_policy,
)
from portal.services.feedback import items_by_author
from portal.services.identity_providers import ProviderConfig
from portal.services.resolutions import changes_led_to
from portal.services.site import get_site_settings
from portal.services.tokens import read_verify_token
from portal.unit_of_work import refusal_shown_in

bp = Blueprint("accounts", __name__)


def _next_url(candidate: str | None, default: str) -> str:
    return candidate if accounts.is_safe_next(candidate) else default


def _sign_in(user: User, *, remember: bool = False) -> None:
    """Sign this browser in with a session of its own on the server, which its session
    cookie and remember-me cookie name (so signing out can end it)."""
    accounts.start_session(user, request.user_agent.string)
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.index"))
    choices = sign_in_choices(request.args.get("next"))
    if not choices["policy"].customer_passwords:
        return _register_with_link(choices)
    form = RegisterForm()
    if form.validate_on_submit():
        with refusal_shown_in(form.display_name.errors):
            # Nobody is signed in here and the answer is the same for every address: what
            # happens next (the account made, or its holder told) waits for the emailed link.
            email = accounts.normalise_email(form.email.data or "")
            accounts.request_registration(
                email=email,
                password=form.password.data or "",
                display_name=form.display_name.data or "",
                preferred_name=form.preferred_name.data or "",
                next_url=_next_url(request.args.get("next"), ""),
            )
            return render_template("accounts/register_check_email.html", email=email)
    return render_template("accounts/register.html", form=form, **choices)


def _register_with_link(choices: dict[str, object]) -> str:
    """Registration while passwords are off for customers: no password, the name and address
    go through the email-link registration (sign_in_links), which answers every address
    alike."""
    form = RegisterWithLinkForm()
    if form.validate_on_submit():
        with refusal_shown_in(form.display_name.errors):
            email = accounts.normalise_email(form.email.data or "")
            sign_in_links.request_sign_in_link(
                email=email,
                display_name=form.display_name.data or "",
                preferred_name=form.preferred_name.data or "",
                next_url=_next_url(request.args.get("next"), ""),
            )
            return render_template("accounts/sign_in_link_sent.html", email=email)
    return render_template("accounts/register.html", form=form, by_link=True, **choices)


def _registration_link_not_valid() -> Response:
    flash(_("That link has expired or is not valid. Please register again."), "error")
    # The register page sends whoever is signed in on to their account, so they read it there.
    signed_in = current_user.is_authenticated
    return redirect(url_for("accounts.index" if signed_in else "accounts.register"))


@bp.route("/register/<token>", methods=["GET", "POST"])
def finish_registration(token: str) -> str | Response:
    """The link in the registration email. GET shows a button and changes nothing, because
    mail scanners open links to check them; the button's POST makes the account."""
    registration = accounts.registration_for_token(token)
    if registration is None:
        return _registration_link_not_valid()
    form = ConfirmForm()
    if request.method != "POST":  # GET, and HEAD, which Flask routes here too
        return render_template(
            "accounts/register_finish.html", registration=registration, token=token, form=form
        )
    if not form.validate_on_submit():
        return redirect(url_for("accounts.finish_registration", token=token))
    refused: list[str] = []
    with refusal_shown_in(refused):
        finished = accounts.finish_registration(token)
        if finished is None:  # expired between the page and the button
            return _registration_link_not_valid()
        user, next_url = finished
        # Should the commit fail, the unit of work takes this sign-in back out of the cookie.
        _sign_in(user)
        flash(
            _(
                "Welcome, %(name)s. Your account is ready and %(email)s is confirmed.",
                name=user.preferred_name,
                email=user.email,
            ),
            "success",
        )
        return redirect(_next_url(next_url, url_for("accounts.index")))
    # The address has an account already: this link was followed before, or the address was
    # registered meanwhile. Nobody new is signed in.
    flash(" ".join(refused), "info")
    signed_in = current_user.is_authenticated
    return redirect(url_for("accounts.index" if signed_in else "accounts.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login() -> str | Response:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    # Writing sent after the session ended travels through sign-in (portal.accounts.kept).
    kept = kept_writing.carried_by_sign_in(request.form) if request.method == "POST" else None
    back = _next_url(form.next.data, url_for("board.index"))
    if current_user.is_authenticated:
        if kept is not None:
            kept_writing.forget_carried()
            return kept_writing.render_send_again(kept, back, expired=False)
        return redirect(back)
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            # One message for every failure, so sign-in never tells whether an address exists.
            say_beside(form.password, _("That email and password do not match an account."))
        else:
            # Asked only once the password matched: the policy's answer tells nothing to
            # someone who does not know it.
            with refusal_shown_in(form.password.errors):
                sign_in_policy.check_password_sign_in(user)
                _sign_in(user, remember=bool(form.remember.data))
                flash(_("Welcome back, %(name)s.", name=user.preferred_name), "success")
                if kept is not None:
                    kept_writing.forget_carried()
                    return kept_writing.render_send_again(kept, back, expired=False)
                return redirect(back)
    return render_template(
        "accounts/login.html",
        form=form,
        kept=kept,
        # Passed on as it came: signing it again would make it young again.
        carried=request.form.get(kept_writing.CARRIED_FIELD) if kept else None,
        **sign_in_choices(form.next.data),
    )


@bp.post("/logout")
def logout() -> Response:
    signed_in = current_user.signed_in_session if current_user.is_authenticated else None
    if signed_in is not None:
        # Ended on the server too: a copy of this browser's cookie no longer opens anything.
        accounts.end_session(current_user, signed_in.id)
    logout_user()
    flash(_("You are signed out."), "info")
    # Signed in through a provider that offers it: signed out there too (RP-initiated logout).
    leaving = signed_in.id if signed_in is not None else None
    return redirect(provider_views.logout_destination(leaving) or url_for("board.index"))


@bp.route("/", methods=["GET", "POST"])
@login_required
def index() -> str | Response:
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if form.validate_on_submit():
        with refusal_shown_in(form.display_name.errors):
            accounts.update_profile(
                current_user,
                display_name=form.display_name.data or "",
                preferred_name=form.preferred_name.data or "",
                thank_by_name=bool(form.thank_by_name.data),
            )
            flash(
                _("Saved. We will call you %(name)s.", name=current_user.preferred_name), "success"
            )
            return redirect(url_for("accounts.index"))
    preferences = PreferencesForm(
        formdata=None, notification_preference=current_user.notification_preference.value
    )
    return render_template(
        "accounts/index.html",
        form=form,
        preferences=preferences,
        items=items_by_author(current_user),
        changes=changes_led_to(current_user),
        sessions=accounts.live_sessions(current_user),
        device_name=accounts.device_words,
        # Off for customers while the sign-in policy turns their passwords off.
        may_choose_password=sign_in_policy.may_choose_password(current_user),
    )


@bp.post("/preferences")
@login_required
def preferences() -> Response:
    form = PreferencesForm()
    if form.validate_on_submit():
        choice = NotificationPreference(form.notification_preference.data)
        accounts.set_notification_preference(current_user, choice)
        flash(_("Saved: \u201c%(choice)s\u201d.", choice=_(choice.label)), "success")
    else:
        flash(_("Please choose one of the options."), "error")
    return redirect(url_for("accounts.index", _anchor="preferences"))


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str) -> Response | str:
    """The link in the verification email. GET shows a Confirm button and changes nothing,
    because mail scanners open links to check them; the button's POST confirms."""
    payload = read_verify_token(token)
    user = accounts.user_for_verification(payload["u"], payload["e"]) if payload else None
    signed_in = current_user.is_authenticated
    if user is None:
        flash(
            _("That confirmation link has expired or is not valid. Sign in and ask for a new one."),
            "error",
        )
        return redirect(url_for("accounts.index" if signed_in else "accounts.login"))
    if request.method != "POST":  # GET, and HEAD, which Flask routes here too
        return render_template("accounts/verify.html", person=user, token=token, form=ConfirmForm())
    accounts.verify_email(user.id, user.email)
    flash(
        _("Thank you, %(name)s: your email address is confirmed.", name=user.preferred_name),
        "success",
    )
    return redirect(url_for("accounts.index" if signed_in else "board.index"))


@bp.post("/verify/resend")
@login_required
@limiter.limit("5 per hour")
def resend_verification() -> Response:
    if current_user.verified_at is None:
        notifications.send_verification(current_user)
        flash(_("We have sent a new link to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("accounts.index"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def reset_request() -> Response | str:
    form = ResetRequestForm()
    if form.validate_on_submit():
        # Customers get nothing while their passwords are off (the page says so to all).
        sign_in_policy.request_password_reset(form.email.data or "")
        # The same words whether or not the address has an account, and whichever link
        # (a new password, or a first one) went out.
        flash(
            _(
                "If %(email)s belongs to an account, a link to choose a password is on its way.",
                email=form.email.data,
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form, **sign_in_choices())


def _passwords_off_for(user: User) -> Response | None:
    """Where a customer is sent, told why, when passwords are off for customers and a page
    would have them choose one (None: the page goes on)."""
    refused: list[str] = []
    with refusal_shown_in(refused):
        sign_in_policy.check_password_setting(user)
        return None
    flash(" ".join(refused), "info")
    signed_in = current_user.is_authenticated
    return redirect(url_for("accounts.index" if signed_in else "accounts.sign_in_link_request"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password(token: str) -> Response | str:
    user = accounts.user_for_reset_token(token)
    if user is None:
        flash(
            _("That link has expired or has already been used. Ask for a new one below."), "error"
        )
        return redirect(url_for("accounts.reset_request"))
    refused = _passwords_off_for(user)
    if refused is not None:
        return refused
    form = NewPasswordForm()
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data or "")
        logout_user()
        flash(
            _("Your password is changed and every other session is signed out. Please sign in."),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, token=token)


@bp.route("/claim/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def claim(token: str) -> Response | str:
    """The "set your password" link for an account made on someone's behalf: GET shows the
    form and changes nothing; its POST sets the password, confirms the address and signs in."""
    user = accounts.user_for_claim_token(token)
    if user is None:
        flash(
            _("That link has expired or has already been used. Ask for a new one below."), "error"
        )
        return redirect(url_for("accounts.reset_request"))
    refused = _passwords_off_for(user)
    if refused is not None:
        return refused
    form = NewPasswordForm()
    if form.validate_on_submit():
        accounts.claim_account(user, form.password.data or "")
        _sign_in(user)
        flash(
            _(
                "Welcome, %(name)s. Your password is set and %(email)s is confirmed: you are "
                "signed in.",
                name=user.preferred_name,
                email=user.email,
            ),
            "success",
        )
        return redirect(url_for("accounts.index"))
    return render_template("accounts/claim.html", form=form, token=token, person=user)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def accept_invitation(token: str) -> Response | str:
    """The link in an invitation email: GET shows the form and changes nothing (mail scanners
    open links); its POST takes the role (making the account, or confirming an existing one's
    password), signs in and opens triage."""
    invitation = invitations.invitation_for_token(token)
    if invitation is None:
        flash(
            _(
                "That invitation has expired or is no longer valid. Ask the admin who invited "
                "you to send it again."
            ),
            "error",
        )
        return redirect(url_for("board.index"))
    account = invitations.account_for(invitation)
    form: AcceptInvitationForm | NewPasswordForm | ConfirmPasswordForm
    if account is None:
        form = AcceptInvitationForm()
    elif accounts.has_usable_password(account):
        form = ConfirmPasswordForm()
    else:
        form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        names: dict[str, str] = {}
        errors = form.password.errors
        if isinstance(form, AcceptInvitationForm):
            names = {
                "display_name": form.display_name.data or "",
                "preferred_name": form.preferred_name.data or "",
            }
            errors = form.display_name.errors
        with refusal_shown_in(errors) as refusal:
            user = invitations.accept(token, password=form.password.data or "", **names)
            if current_user.is_authenticated and current_user.id != user.id:
                # Someone else was signed in on this browser: their session ends, as on sign-out.
                signed_in = current_user.signed_in_session
                if signed_in is not None:
                    accounts.end_session(current_user, signed_in.id)
                logout_user()
            provider = sign_in_policy.required_provider_for(user)
            if provider is not None:
                # The role is taken, but staff must sign in through the provider: no session
                # starts from the password typed here.
                flash(
                    _(
                        "Welcome, %(name)s: you have joined the team. Staff sign in through "
                        "%(provider)s here.",
                        name=user.preferred_name,
                        provider=provider.name,
                    ),
                    "success",
                )
                return redirect(url_for("accounts.login"))
            # Should the commit fail, the unit of work takes this sign-in back out of the cookie.
            _sign_in(user)
            flash(
                _(
                    "Welcome, %(name)s. You are signed in: this is the triage queue, where new "
                    "feedback arrives.",
                    name=user.preferred_name,
                ),
                "success",
            )
            return redirect(url_for("admin.queue"))
        if isinstance(refusal.error, invitations.InvitationNotValid):
            # Revoked, sent again or accepted between the page and the button.
            flash(refusal.message, "error")
            return redirect(url_for("board.index"))
        status = refusal.status
    elif request.method == "POST":
        status = 400
    return make_response(
        render_template(
            "accounts/invitation.html",
            form=form,
            token=token,
            invitation=invitation,
            account=account,
            staff_provider=_staff_provider(),
        ),
        status,
    )


def _staff_provider() -> ProviderConfig | None:
    """The provider staff must sign in through, when the site names one that is enabled:
    invitations then lead to it instead of asking for a password."""
    key = get_site_settings().staff_identity_provider
    return identity_providers.get_provider(key) if key else None


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | str:
    refused = _passwords_off_for(current_user)
    if refused is not None:
        return refused
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with refusal_shown_in(form.current_password.errors):
            accounts.change_password(
                current_user, form.current_password.data or "", form.password.data or ""
            )
            # Every session ended with the old password; this browser signs in with a new one.
            # The user itself, not the proxy: signed in as current_user, current_user would
            # look itself up for ever (the flash's language asks who is signed in).
            _sign_in(current_user._get_current_object())
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("accounts.index"))
    return render_template("accounts/change_password.html", form=form)


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> Response:
    accounts.sign_out_everywhere(current_user)
    logout_user()
    flash(_("You are signed out on every device."), "success")
    return redirect(url_for("accounts.login"))


@bp.post("/sessions/<session_id>/end")
@login_required
def end_session(session_id: str) -> Response:
    """ "End" beside one of the person's sessions: that browser is signed out at once."""
    refused: list[str] = []
    with refusal_shown_in(refused):
        ended = accounts.end_session(current_user, session_id)
        if ended.id == current_user.signed_in_session.id:
            logout_user()
            flash(_("You are signed out."), "info")
            return redirect(url_for("accounts.login"))
        flash(_("Signed out: %(device)s.", device=accounts.device_words(ended.device)), "success")
        return redirect(url_for("accounts.index", _anchor="sessions"))
    # Not one of theirs (or no such session): their list, shown again, says which remain.
    flash(" ".join(refused), "error")
    return redirect(url_for("accounts.index", _anchor="sessions"))


@bp.get("/export")
@login_required
def export() -> Response:
    data = personal_data.export_data(current_user)
    response = make_response(json.dumps(data, indent=2, ensure_ascii=False))
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="my-feedback-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete() -> Response | str:
    # An account without a password confirms with its address typed out instead.
    form: DeleteAccountForm | DeleteAccountByAddressForm
    confirmation: Field
    if accounts.has_usable_password(current_user):
        form = DeleteAccountForm()
        confirmation = form.password
    else:
        form = DeleteAccountByAddressForm()
        confirmation = form.address
    if form.validate_on_submit():
        with refusal_shown_in(confirmation.errors):
            accounts.delete_account(
                current_user,
                confirmation.data or "",
                redact_public=bool(form.redact_public.data),
            )
            logout_user()
            flash(
                _("Your account and personal details are deleted. Thank you for your feedback."),
                "success",
            )
            return redirect(url_for("board.index"))
    return render_template("accounts/delete.html", form=form, confirmation=confirmation)
