"""Signing in through an identity provider (OpenID Connect, GitHub): `/sign-in/<key>` sends
the browser there, `/sign-in/<key>/callback` brings it back. What the callback must check
(state, nonce, PKCE verifier, issuer) travels in the signed session cookie, so the answer may
land on any app instance. The rules are in portal/services/oidc.py (the protocol) and
portal/services/identities.py (who is signed in)."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portal.accounts.forms import ConfirmForm, ConfirmPasswordForm
from portal.extensions import limiter
from portal.models import User
from portal.services import accounts, environment, identities, identity_providers, oidc
from portal.services.errors import DomainError
from portal.unit_of_work import refusal_shown_in

bp = Blueprint("providers", __name__)

# Session keys: the sign-in under way; a staff link waiting for its confirmation; the
# provider this browser signed in through (for signing out there too).
PENDING = "provider_pending"
LINK = "provider_link"
VIA = "signed_in_via"
LINK_LIFETIME_SECONDS = 15 * 60


def _callback_uri(key: str) -> str:
    # From PORTAL_BASE_URL, never the request's Host: this is the address registered at the
    # provider.
    return environment.current().presenter.url("providers.callback", key=key)


def _refused(message: str, status: int = 400) -> Response:
    """The page for every refusal: what happened, and the other ways in."""
    return make_response(
        render_template(
            "accounts/provider_refused.html",
            message=message,
            providers=identity_providers.enabled_providers(),
        ),
        status,
    )


def _unknown_provider() -> Response:
    return _refused(
        _("There is no sign-in provider by that name here, or it has been switched off.")
    )


def _sign_in(user: User, provider_key: str) -> None:
    """As every sign-in does: a browser signed in as someone else is signed out of that
    session first; then a new session of this browser's own."""
    if current_user.is_authenticated:
        if current_user.id == user.id:
            return  # signed in as them already: their session goes on
        signed_in = current_user.signed_in_session
        if signed_in is not None:
            accounts.end_session(current_user, signed_in.id)
        logout_user()
    started = accounts.start_session(user, request.user_agent.string)
    login_user(user)
    # Which provider this session came through, and which session: signing out of another
    # session later (after a password sign-in) must not lead to the provider.
    session[VIA] = {"key": provider_key, "session": started.id}


@bp.get("/sign-in/<key>")
@limiter.limit("30 per minute")
def start(key: str) -> Response:
    """Send the browser to the provider (`?next=` kept, when it stays on this site)."""
    provider = identity_providers.get_provider(key)
    if provider is None:
        return _unknown_provider()
    try:
        address, pending = oidc.begin(provider, _callback_uri(key))
    except DomainError as exc:
        return _refused(exc.message)
    following = request.args.get("next")
    pending["next"] = following if accounts.is_safe_next(following) else ""
    invitation = request.args.get("invitation")
    if invitation:
        pending["invitation"] = invitation
    if request.args.get("link") and current_user.is_authenticated:
        # Started from the account page: the identity joins this account.
        pending["link_to"] = current_user.id
    session[PENDING] = pending
    return redirect(address)


@bp.get("/sign-in/<key>/callback")
@limiter.limit("30 per minute")
def callback(key: str) -> Response:
    """The provider's answer: check it, and sign in whom it names."""
    # Spent whatever happens: an answer is good once.
    pending: dict[str, Any] | None = session.pop(PENDING, None)
    provider = identity_providers.get_provider(key)
    if provider is None:
        return _unknown_provider()
    try:
        assertion = oidc.finish(provider, pending, request.args.to_dict(), _callback_uri(key))
        pending = pending or {}  # finish refused an answer nobody started
        next_url = str(pending.get("next") or "")
        if pending.get("invitation"):
            user = identities.accept_invitation(str(pending["invitation"]), assertion)
            _sign_in(user, key)
            flash(
                _(
                    "Welcome, %(name)s. You are signed in: this is the triage queue, where new "
                    "feedback arrives.",
                    name=user.preferred_name,
                ),
                "success",
            )
            return redirect(url_for("admin.queue"))
        if pending.get("link_to"):
            if not current_user.is_authenticated or current_user.id != pending["link_to"]:
                return _refused(_("You were signed out meanwhile, so nothing was linked."))
            identities.link_to(current_user, assertion)
            flash(_("Linked: you can now sign in with %(name)s.", name=provider.name), "success")
            return redirect(url_for("accounts.index", _anchor="identities"))
        outcome = identities.sign_in_with_identity(assertion)
    except DomainError as exc:
        return _refused(exc.message)
    if isinstance(outcome, identities.NeedsConfirmation):
        session[LINK] = {
            "a": assertion.as_dict(),
            "u": outcome.user.id,
            "exp": int(time.time()) + LINK_LIFETIME_SECONDS,
            "next": next_url,
        }
        return redirect(url_for("providers.confirm"))
    _sign_in(outcome.user, key)
    if outcome.created:
        flash(_("Welcome, %(name)s.", name=outcome.user.preferred_name), "success")
    else:
        flash(_("Welcome back, %(name)s.", name=outcome.user.preferred_name), "success")
    return redirect(next_url or url_for("board.index"))


def _waiting_link() -> dict[str, Any] | None:
    waiting = session.get(LINK)
    if not isinstance(waiting, dict) or int(waiting.get("exp") or 0) < time.time():
        return None
    return waiting


@bp.route("/sign-in/confirm", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def confirm() -> str | Response:
    """A member of staff confirms that a provider's new identity is theirs before it is
    linked: with their password, or, signed in already (an email link does), with a button."""
    waiting = _waiting_link()
    if waiting is None:
        session.pop(LINK, None)
        return _refused(
            _("There is no sign-in waiting for confirmation here, or it has expired. Start again.")
        )
    assertion = oidc.Assertion.from_dict(waiting["a"])
    person = identities.account(int(waiting["u"]))
    if person is None:
        session.pop(LINK, None)
        return _unknown_provider()
    provider = identity_providers.get_provider(assertion.provider_key)
    signed_in_as_them = current_user.is_authenticated and current_user.id == person.id
    form: ConfirmForm | ConfirmPasswordForm = (
        ConfirmForm() if signed_in_as_them else ConfirmPasswordForm()
    )
    status = 200
    if form.validate_on_submit():
        password = form.password if isinstance(form, ConfirmPasswordForm) else None
        errors = form.form_errors if password is None else password.errors
        with refusal_shown_in(errors) as refusal:
            user = identities.confirm_link(
                person.id,
                assertion,
                password=(password.data or "") if password is not None else "",
                signed_in_as=current_user if signed_in_as_them else None,
            )
            session.pop(LINK, None)
            _sign_in(user, assertion.provider_key)
            flash(
                _(
                    "Linked and signed in: next time, %(provider)s signs you in directly.",
                    provider=provider.name if provider else assertion.provider_key,
                ),
                "success",
            )
            following = str(waiting.get("next") or "")
            return redirect(following or url_for("board.index"))
        status = refusal.status
    elif request.method == "POST":
        status = 400
    return make_response(
        render_template(
            "accounts/provider_confirm.html",
            form=form,
            person=person,
            assertion=assertion,
            provider=provider,
            signed_in_as_them=signed_in_as_them,
            can_use_password=accounts.has_usable_password(person),
        ),
        status,
    )


@bp.post("/account/identities/<int:identity_id>/remove")
@login_required
def remove(identity_id: int) -> Response:
    """Remove beside one of the person's linked identities, unless it is their last way in."""
    refused: list[str] = []
    with refusal_shown_in(refused):
        identities.remove_identity(current_user, identity_id)
        flash(_("Removed: that provider no longer signs you in."), "success")
        return redirect(url_for("accounts.index", _anchor="identities"))
    flash(" ".join(refused), "error")
    return redirect(url_for("accounts.index", _anchor="identities"))


SIGN_OUT_THERE = "provider_sign_out"


def logout_destination(session_id: str | None) -> str | None:
    """Where signing out of `session_id` leads next: our page that passes the browser on to
    the provider's sign-out (see sign_out_there), when that session came through a provider
    offering RP-initiated logout; None otherwise."""
    there = _provider_logout_url(session_id)
    if there is None:
        return None
    session[SIGN_OUT_THERE] = there
    return url_for("providers.sign_out_there")


@bp.get("/sign-out/provider")
def sign_out_there() -> str | Response:
    """Signed out here; now at the provider. A page of our own that moves on by itself (a
    meta refresh, no script) with a link as well: the sign-out form may post only to this
    site (CSP form-action 'self', which Chromium applies to the redirect after the form
    too), so the step to the provider is a plain navigation."""
    there = session.pop(SIGN_OUT_THERE, None)
    if not isinstance(there, str):
        return redirect(url_for("board.index"))
    return render_template("accounts/provider_sign_out.html", there=there)


def _provider_logout_url(session_id: str | None) -> str | None:
    """After signing out of the session `session_id`: the provider's own sign-out page
    (RP-initiated logout), when that session was started through a provider that has one;
    None otherwise."""
    via = session.pop(VIA, None)
    if not isinstance(via, dict) or not session_id or via.get("session") != session_id:
        return None
    provider = identity_providers.get_provider(str(via.get("key")))
    if provider is None:
        return None
    return oidc.logout_url(provider, environment.current().presenter.url("board.index"))


@bp.app_template_global()
def sign_in_providers() -> list[identity_providers.ProviderConfig]:
    """The providers to offer a button for (templates/accounts/_providers.html)."""
    return identity_providers.enabled_providers()


@bp.app_template_global()
def provider_name(key: str) -> str:
    """A linked identity's provider as people know it (its key, once it is gone)."""
    provider = identity_providers.get_provider(key)
    return provider.name if provider else key


@bp.app_template_global()
def linked_identities(user: User) -> list[Any]:
    """The person's identities, for their account page (templates/accounts/_identities.html)."""
    return list(identities.identities_of(user))
