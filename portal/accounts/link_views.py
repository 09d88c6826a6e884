"""Signing in with an emailed link, and changing one's email address. Their routes join the
accounts blueprint (/account/sign-in-link, /account/email)."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from portal.accounts.forms import ConfirmForm
from portal.accounts.link_forms import ChangeEmailForm, SignInLinkForm
from portal.accounts.policy import provider_start_url, sign_in_choices
from portal.accounts.views import _next_url, bp
from portal.extensions import limiter
from portal.services import accounts, email_change, sign_in_links, sign_in_policy
from portal.services.errors import DomainError
from portal.unit_of_work import refusal_shown_in


@bp.route("/sign-in-link", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def sign_in_link_request() -> str | Response:
    """Ask for a link that signs in (or, with a name, registers) an address."""
    next_url = _next_url(request.args.get("next"), "")
    if current_user.is_authenticated:
        return redirect(next_url or url_for("accounts.index"))
    form = SignInLinkForm()
    if form.validate_on_submit():
        with refusal_shown_in(form.display_name.errors):
            email = accounts.normalise_email(form.email.data or "")
            sign_in_links.request_sign_in_link(
                email=email,
                display_name=form.display_name.data or "",
                preferred_name=form.preferred_name.data or "",
                next_url=next_url,
            )
            # The same page for every address: whether it has an account stays unsaid.
            return render_template("accounts/sign_in_link_sent.html", email=email)
    return render_template(
        "accounts/sign_in_link.html", form=form, next_url=next_url, **sign_in_choices(next_url)
    )


def _link_not_valid() -> Response:
    if current_user.is_authenticated:
        # Someone already in needs no link (opened again, say): no error, and no "below".
        flash(_("That sign-in link is not valid any more, and you are signed in already."), "info")
        return redirect(url_for("accounts.index"))
    flash(_("That sign-in link has expired or has been used. Ask for a new one below."), "error")
    return redirect(url_for("accounts.sign_in_link_request"))


def _refused_by_policy(messages: list[str], error: DomainError | None) -> Response:
    """The page that says which way in the policy leaves this person, with its button."""
    provider = error.provider if isinstance(error, sign_in_policy.SignInRefused) else None
    return make_response(
        render_template(
            "accounts/sign_in_refused.html",
            message=" ".join(messages),
            provider=provider,
            provider_url=(
                provider_start_url(provider.key) if provider and provider.available else None
            ),
        ),
        403,
    )


@bp.route("/sign-in-link/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def sign_in_link(token: str) -> str | Response:
    """The link in the email. GET shows a button and changes nothing, because mail scanners
    open links to check them; the button's POST signs in."""
    person = sign_in_links.user_for_sign_in_token(token)
    if person is None:
        return _link_not_valid()
    refused: list[str] = []
    with refusal_shown_in(refused) as refusal:
        # Staff who must sign in through a provider are told so, and shown its button,
        # before any button here would sign them in.
        sign_in_policy.check_link_sign_in(person)
    if refusal:
        return _refused_by_policy(refused, refusal.error)
    form = ConfirmForm()
    if request.method != "POST":  # GET, and HEAD, which Flask routes here too
        return render_template(
            "accounts/sign_in_link_confirm.html", person=person, token=token, form=form
        )
    if not form.validate_on_submit():
        return redirect(url_for("accounts.sign_in_link", token=token))
    with refusal_shown_in(refused) as refusal:
        signed = sign_in_links.sign_in_with_link(token, request.user_agent.string)
    if refusal:  # the policy changed between the page and the button
        return _refused_by_policy(refused, refusal.error)
    if signed is None:  # spent or expired between the page and the button
        return _link_not_valid()
    user, next_url = signed
    # The session row is started by the service (accounts.start_session, as password sign-in
    # does); the cookie names it. Should the commit fail, the unit of work takes it back out.
    login_user(user)
    flash(_("Welcome back, %(name)s.", name=user.preferred_name), "success")
    return redirect(_next_url(next_url, url_for("board.index")))


@bp.route("/email", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per hour", methods=["POST"])
def change_email() -> str | Response:
    """Ask to move one's account to a new address: a link goes to it."""
    form = ChangeEmailForm()
    needs_password = accounts.has_usable_password(current_user)
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors):
            email = accounts.normalise_email(form.email.data or "")
            email_change.request_email_change(current_user, email, form.password.data or "")
            flash(
                _(
                    "If no other account uses %(email)s, a link to confirm it is on its way "
                    "there. Your address changes when you open it.",
                    email=email,
                ),
                "info",
            )
            return redirect(url_for("accounts.index"))
    return render_template("accounts/email.html", form=form, needs_password=needs_password)


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> str | Response:
    """The link sent to the new address. GET shows a button and changes nothing; the
    button's POST moves the account."""
    found = email_change.email_change_for_token(token)
    signed_in = current_user.is_authenticated
    if found is None:
        flash(_("That link has expired or has been used. Your address is unchanged."), "error")
        return redirect(url_for("accounts.index" if signed_in else "accounts.login"))
    person, new_email = found
    form = ConfirmForm()
    if request.method != "POST":
        return render_template(
            "accounts/email_confirm.html",
            person=person,
            new_email=new_email,
            token=token,
            form=form,
        )
    if not form.validate_on_submit():
        return redirect(url_for("accounts.confirm_email_change", token=token))
    refused: list[str] = []
    with refusal_shown_in(refused):
        user = email_change.change_email(token)
        if user is None:
            flash(_("That link has expired or has been used. Your address is unchanged."), "error")
        else:
            flash(_("Done: your account now uses %(email)s.", email=user.email), "success")
        # Whoever pressed it may read mail on another device than the one signed in: they
        # are not sent to sign in, as the verification link does not send them either.
        return redirect(url_for("accounts.index" if signed_in else "board.index"))
    flash(" ".join(refused), "error")
    return redirect(url_for("accounts.index" if signed_in else "board.index"))
