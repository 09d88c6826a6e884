"""Digest pages: subscribe (double opt-in), confirm, one subscription's own page (linked from its
digests), and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from portal.digests.forms import ConfirmForm, SubscribeForm, SubscriptionForm
from portal.extensions import limiter
from portal.i18n import language_name, languages
from portal.models import DigestSubscription
from portal.services import digests
from portal.services.feedback import categories
from portal.unit_of_work import refusal_shown_in

bp = Blueprint("digests", __name__)


@bp.route("/digest/subscribe", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def subscribe() -> str | Response:
    """Ask for the digest by email, weekly or monthly, optionally for some categories."""
    form = SubscribeForm()
    form.categories.choices = [SelectChoice(c.id, c.name) for c in categories()]
    form.language.choices = [SelectChoice(code, language_name(code)) for code in languages()]
    page_language = str(get_locale() or "")
    user = current_user._get_current_object() if current_user.is_authenticated else None
    existing = None
    if request.method == "GET" and user is not None:
        # A signed-in person starts from their own address, and their choices if subscribed.
        existing = digests.find_subscription(user.email)
        form.email.data = user.email
        if existing is not None:
            form.frequency.data = existing.frequency.value
            form.categories.data = digests.subscription_category_ids(existing.id)
    if request.method == "GET":
        form.language.data = (existing.language if existing else None) or page_language
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors):
            result = digests.subscribe(
                form.email.data or "",
                form.frequency.data or "",
                form.categories.data or [],
                user=user,
                language=form.language.data or page_language,
            )
            address = result.subscription.email
            outcome = result.outcome
            if outcome is digests.SubscribeOutcome.UPDATED:
                flash(
                    _(
                        "%(address)s already gets the digest: we have saved your choices.",
                        address=address,
                    ),
                    "success",
                )
            elif outcome is digests.SubscribeOutcome.UNCHANGED:
                flash(
                    _("%(address)s already gets the digest with these choices.", address=address),
                    "info",
                )
            else:
                # A new subscription and a change to a confirmed one get the same answer:
                # whoever typed the address may not own it, and must not learn from the page
                # whether it gets the digest. The email itself says which it is.
                flash(
                    _(
                        "Nearly done: we have sent a link to %(address)s. Open it and press "
                        "Confirm; nothing starts or changes until you do.",
                        address=address,
                    ),
                    "success",
                )
            return redirect(url_for("digests.subscribe"))
    return render_template("digests/subscribe.html", form=form, existing=existing)


@bp.route("/digest/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> str:
    """The link in the confirmation email. GET shows a Confirm button and changes nothing,
    because mail scanners open links to check them; the button's POST confirms. Idempotent;
    an unknown token is a friendly 404."""
    if request.method != "POST":  # GET, and HEAD, which Flask routes here too
        subscription = digests.subscription_for_confirm_token(token)
        if subscription.confirmed_at is None and subscription.unsubscribed_at is None:
            return render_template(
                "digests/confirm.html",
                subscription=subscription,
                category_names=digests.subscription_category_names(subscription),
                token=token,
                form=ConfirmForm(),
            )
        return _confirmed(subscription, confirmed_now=False)
    result = digests.confirm(token)
    return _confirmed(result.subscription, confirmed_now=result.confirmed_now)


def _confirmed(subscription: DigestSubscription, *, confirmed_now: bool) -> str:
    return render_template(
        "digests/confirmed.html",
        subscription=subscription,
        category_names=digests.subscription_category_names(subscription),
        confirmed_now=confirmed_now,
    )


@bp.route("/digest/change/<token>", methods=["GET", "POST"])
def change(token: str) -> str:
    """The link in the "confirm these changes" email. GET shows the new choices with a
    Confirm button and changes nothing (mail scanners open links); the POST applies them.
    A forged, expired or outdated link is a friendly 404."""
    if request.method != "POST":  # GET, and HEAD, which Flask routes here too
        pending = digests.pending_change(token)
        return render_template(
            "digests/change.html",
            change=pending,
            token=token,
            form=ConfirmForm(),
            done=False,
            in_effect=digests.change_in_effect(pending),
        )
    applied = digests.apply_change(token)
    return render_template("digests/change.html", change=applied, token=token, done=True)


@bp.route("/digest/subscription/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def subscription(token: str) -> str | Response:
    """One subscription's own page, from the "Change how often" link in its digests: its
    frequency, categories and language, saved at once (the link came to the address), and its
    unsubscribe button. A forged or outdated link is a friendly 404."""
    found = digests.subscription_for_page_token(token)
    form = SubscriptionForm()
    form.categories.choices = [SelectChoice(c.id, c.name) for c in categories()]
    form.language.choices = [SelectChoice(code, language_name(code)) for code in languages()]
    if request.method == "GET":
        form.frequency.data = found.frequency.value
        form.categories.data = digests.subscription_category_ids(found.id)
        form.language.data = digests.subscription_language(found)
    status = 200
    if form.validate_on_submit():
        with refusal_shown_in(form.form_errors) as refusal:
            digests.change_subscription(
                token,
                form.frequency.data or "",
                form.categories.data or [],
                language=form.language.data or None,
            )
            flash(
                _("Saved: %(address)s gets the weekly digest.", address=found.email)
                if form.frequency.data == "weekly"
                else _("Saved: %(address)s gets the monthly digest.", address=found.email),
                "success",
            )
            return redirect(url_for("digests.subscription", token=token))
        status = refusal.status
    elif request.method == "POST":
        status = 400
    return make_response(
        render_template(
            "digests/subscription.html",
            subscription=found,
            active=found.confirmed_at is not None and found.unsubscribed_at is None,
            form=form,
            token=token,
        ),
        status,
    )


@bp.route("/digest/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> str:
    """GET shows a page with a button and changes nothing; POST unsubscribes and answers 200.
    The token in the address is the proof, so the POST needs no session and no CSRF token."""
    if request.method != "POST":  # GET, and HEAD, which Flask routes here too
        subscription = digests.subscription_for_unsubscribe_token(token)
        return render_template("digests/unsubscribe.html", token=token, subscription=subscription)
    changed = digests.unsubscribe(token)
    return render_template("digests/unsubscribed.html", changed=changed)
