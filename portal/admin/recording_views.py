"""Feedback staff take for a customer: record a new item in their name
(/admin/feedback/new, a button on triage), or their "me too" on an item (from the item's
page). Each form calls one command of services/recording.py; a refusal shows the page again
with what was typed kept."""

from __future__ import annotations

from typing import cast

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from portal.accounts.kept import keeps_writing
from portal.admin.blueprint import bp, load_item
from portal.admin.item_views import render_item
from portal.admin.recording_forms import CHOOSE_CATEGORY, MeTooForm, RecordForm
from portal.attachments.uploads import images_sent, no_images, takes_images
from portal.i18n import current_language
from portal.models import Visibility
from portal.models.base import N_
from portal.services import personal_details, recording
from portal.services.feedback import categories
from portal.services.tone import ToneFinding
from portal.unit_of_work import refusal_shown_in


def _record_form() -> RecordForm:
    if "make_private" in request.form or (
        "post_anyway" in request.form and not request.form.get("visibility")
    ):
        # The guard's buttons choose who can see it ("Make it private and send", "Post it
        # publicly as it is"), as on the customer's own form.
        chosen = request.form.copy()
        private = "make_private" in request.form
        chosen["visibility"] = (Visibility.PRIVATE if private else Visibility.PUBLIC).value
        form = RecordForm(formdata=chosen)
    else:
        form = RecordForm()
    form.category_id.choices = [CHOOSE_CATEGORY] + [
        SelectChoice(c.id, c.name) for c in categories()
    ]
    return form


@bp.route("/feedback/new", methods=["GET", "POST"])
@takes_images
@keeps_writing(title=N_("Title"), body=N_("What they told you"))
def record() -> Response:
    """Record feedback a customer gave by phone, chat, in person, social media or email."""
    form = _record_form()
    # Kept first, whatever the rest of the form says (attachments/uploads.py); they become
    # the customer's when the item is recorded.
    images = images_sent("new") if request.method == "POST" else no_images("new")
    held: list[ToneFinding] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit() and not images.errors:
            with refusal_shown_in(form.form_errors) as refusal:
                recorded = recording.record_for_customer(
                    current_user,
                    email=form.customer_email.data or "",
                    name=form.customer_name.data or "",
                    channel=form.channel.data or "",
                    kind=form.kind.data or "",
                    category_id=form.category_id.data,
                    title=form.title.data or "",
                    body=form.body.data or "",
                    visibility=form.visibility.data or "",
                    # The page's language: the words are kept as written.
                    language=current_language(),
                    images=images.ids,
                    post_anyway="post_anyway" in request.form,
                )
                customer = recorded.customer
                if recorded.customer_created:
                    said = _(
                        "Recorded #%(id)s for %(name)s, a new contact. Their receipt is on its "
                        "way, with a link to claim their account.",
                        id=recorded.item.id,
                        name=customer.display_name,
                    )
                else:
                    said = _(
                        "Recorded #%(id)s for %(name)s. Their receipt is on its way.",
                        id=recorded.item.id,
                        name=customer.display_name,
                    )
                flash(said, "success")
                return redirect(url_for("admin.item", item_id=recorded.item.id))
            held, status = refusal.findings, refusal.status
            if isinstance(refusal.error, recording.CustomerNeeded):
                # Said beside the field to fix, as a field's own error is.
                field = form.customer_name if refusal.error.about == "name" else form.customer_email
                form.form_errors.remove(refusal.message)
                cast(list[str], field.errors).append(refusal.message)
    return make_response(
        render_template(
            "admin/record.html",
            form=form,
            images=images,
            personal_details=held,
            details_question=personal_details.question(may_make_private=True),
            may_make_private=True,
        ),
        status,
    )


@bp.post("/feedback/<int:item_id>/me-too")
def me_too(item_id: int) -> Response:
    """Record a customer's "me too" on the item, heard through a channel."""
    item = load_item(item_id)
    form = MeTooForm()
    if not form.validate_on_submit():
        return render_item(item, status=400, me_too_form=form, error=_("Please check the form."))
    errors: list[str] = []
    with refusal_shown_in(errors) as refusal:
        recorded = recording.me_too_for_customer(
            current_user,
            item_id,
            email=form.me_too_email.data or "",
            name=form.me_too_name.data or "",
            channel=form.me_too_channel.data or "",
        )
        flash(
            _(
                "Recorded \u201cme too\u201d for %(name)s: their vote counts, and they follow "
                "the item.",
                name=recorded.customer.display_name,
            ),
            "success",
        )
        return redirect(url_for("admin.item", item_id=item_id))
    return render_item(
        load_item(item_id), status=refusal.status, me_too_form=form, error=" ".join(errors)
    )
