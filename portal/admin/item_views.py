"""One item, as staff see it (/admin/feedback/<id>): move it, promise, reply, note, assign,
hide, redact, approve, remove an image. Each form calls one workflow command; a refusal shows
the page again with what was typed kept, beside the form it came from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from portal.accounts.kept import keeps_writing
from portal.admin.blueprint import bp, load_item
from portal.admin.forms import (
    AssignForm,
    MoveForm,
    NoteForm,
    PromiseForm,
    ReasonForm,
    ReplyForm,
    form_field_name,
)
from portal.admin.recording_forms import MeTooForm
from portal.attachments.uploads import FormImages, images_sent, no_images, takes_images
from portal.extensions import db
from portal.models import Comment, Feedback, FeedbackState, User
from portal.models.base import N_
from portal.services import (
    attachments,
    customer_value,
    editing,
    recording,
    signals,
    triage,
    workflow,
)
from portal.services.feedback import item_comments
from portal.services.tone import ToneFinding
from portal.services.workflow import PromiseChoice
from portal.unit_of_work import refusal_shown_in


def move_form(item: Feedback, **data: Any) -> MoveForm:
    """The move form offering only the states this item may move to."""
    form = MoveForm(formdata=None, data=data)
    form.set_states(workflow.next_states(item))
    return form


@dataclass(frozen=True)
class MoveChoice:
    """One move the page offers: its own small form, with only the fields it asks for."""

    state: FeedbackState
    form: MoveForm
    fields: tuple[str, ...]  # the form's field names, in the order shown
    chosen: bool  # the form that was sent (and refused): shown open, with what was typed


def move_choices(item: Feedback, sent: MoveForm | None) -> list[MoveChoice]:
    """A form per legal move, each asking only what that move needs (workflow.move_fields);
    `sent`, the form just refused, takes the place of its move's blank one."""
    order = list(FeedbackState)
    choices = []
    for state in sorted(workflow.next_states(item), key=order.index):
        chosen = sent is not None and sent.to_state.data == state.value
        form = sent if sent is not None and chosen else move_form(item, to_state=state.value)
        # Many forms on one page: each field's id names its move, so labels stay unique.
        for field in form:
            field.id = f"move-{state.value}-{field.name}"
            field.label.field_id = field.id
        fields = tuple(form_field_name(name) for name in workflow.move_fields(item, state))
        # A field sent for another move is refused, not dropped: shown with its message.
        fields += tuple(
            field.name
            for field in form
            if chosen and field.errors and field.name not in fields and field.name != "to_state"
        )
        choices.append(MoveChoice(state, form, fields, chosen))
    return choices


def _assign_form(item: Feedback, bound: bool = False) -> AssignForm:
    form = AssignForm() if bound else AssignForm(formdata=None, owner_id=item.owner_id)
    # No one is chosen for an item nobody owns: the list would otherwise open on its first name.
    form.owner_id.choices = [SelectChoice("", _("Choose a person\u2026"))] + [
        SelectChoice(u.id, u.display_name) for u in triage.staff_members()
    ]
    return form


def render_item(item: Feedback, status: int = 200, **forms: Any) -> Response:
    """The item's admin page; `forms` replaces the blank forms (a failed one keeps its input)."""
    context: dict[str, Any] = {
        "move_form": None,
        "assign_form": _assign_form(item),
        "promise_form": PromiseForm(formdata=None, promise_outcome=item.promise_outcome or ""),
        "reply_form": ReplyForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "reason_form": ReasonForm(formdata=None),
        "redact_form": ReasonForm(formdata=None),
        "comment_form": ReasonForm(formdata=None),
        "comment_form_for": None,
        "image_form": ReasonForm(formdata=None),
        "image_form_for": None,
        "me_too_form": MeTooForm(formdata=None),
        "reply_images": no_images("reply"),
        "note_images": no_images("note"),
        "move_findings": [],
        "we_did_findings": [],
        "reply_findings": [],
        # A merge refused because its target is closed: the page offers the same answer.
        "closed_target": None,
    }
    context.update(forms)
    context["move_choices"] = move_choices(item, context.pop("move_form"))
    people = signals.signal_people(item)
    comments = item_comments(item, current_user)
    return make_response(
        render_template(
            "admin/item.html",
            item=item,
            # Its public steps, and what staff recorded for customers (who, and how).
            timeline=recording.staff_timeline(item),
            comments=comments,
            # The item's images and its comments' (removed ones too, for staff), in one query.
            images=attachments.images_on_item(item, current_user, comments),
            # What the customer's words said before they edited them.
            words=editing.words_on_page(item, comments, current_user),
            history=triage.customer_history(item),
            # The value of the people behind it (author and voters): staff only.
            values=customer_value.item_values([item.id]),
            # Who says a Done item still happens, or still wants a Not planned one (no
            # statement for an item in any other state).
            signal_people=people,
            signal_recent=signals.said_recently(people),
            recent_days=signals.RECENT_DAYS,
            can=workflow.permissions(item, current_user),
            **context,
        ),
        status,
    )


@bp.get("/feedback/<int:item_id>")
def item(item_id: int) -> Response:
    return render_item(load_item(item_id))


def _attempt(
    item_id: int,
    command: Callable[[], object],
    success: str,
    *,
    findings_shown_as: dict[str, str] | None = None,
    also_said: Sequence[ToneFinding] = (),
    **forms: Any,
) -> Response:
    """Run one command for a form: on success go back to the item with `success` said; on a
    refusal show the page again with the typed input kept, and the tone check's findings (if
    any) beside the fields they belong to (`findings_shown_as` names the template's list for
    each field; `also_said`, notices that hold nothing, are said with the success)."""
    errors: list[str] = []
    with refusal_shown_in(errors) as refusal:
        command()
        flash(success, "success")
        for message in dict.fromkeys(notice.message for notice in also_said):
            flash(message, "info")
        return redirect(url_for("admin.item", item_id=item_id))
    context = dict(forms)
    for field, shown_as in (findings_shown_as or {}).items():
        context[shown_as] = refusal.findings_by_field.get(field, [])
    return render_item(
        load_item(item_id), status=refusal.status, error=" ".join(errors) or None, **context
    )


@bp.post("/feedback/<int:item_id>/move")
@keeps_writing(
    message=N_("Public message to the customer"),
    outcome=N_("What we promise"),
    you_said=N_("\u201cYou said\u201d"),
    we_did=N_("\u201cWe did\u201d"),
    merge_promise_reason=N_("Why the promised date changes"),
)
def move(item_id: int) -> Response:
    item = load_item(item_id)
    form = MoveForm()
    form.set_states(workflow.next_states(item))
    if not form.validate_on_submit():
        return render_item(item, status=400, move_form=form, error=_("Please check the form."))
    to_state = FeedbackState(form.to_state.data)
    target_id = form.duplicate_of.data if to_state is FeedbackState.DUPLICATE else None
    return _attempt(
        item_id,
        lambda: workflow.move(
            item_id,
            current_user,
            to_state,
            message=form.message.data or "",
            target_date=form.target_date.data,
            outcome=form.outcome.data or "",
            duplicate_of=form.duplicate_of.data,
            promise=PromiseChoice(form.merge_promise.data) if form.merge_promise.data else None,
            promise_reason=form.merge_promise_reason.data or "",
            you_said=form.you_said.data or "",
            we_did=form.we_did.data or "",
            post_anyway=bool(form.post_anyway.data),
        ),
        _(
            "Moved to \u201c%(state)s\u201d. The customer can see it on the timeline.",
            state=_(to_state.label),
        ),
        findings_shown_as={"message": "move_findings", "we_did": "we_did_findings"},
        also_said=workflow.tone_notices(item, form.message.data or "", form.we_did.data or ""),
        move_form=form,
        # Shown only if the merge is refused (workflow.ClosedTarget): then the page offers to
        # answer this item as the closed one was.
        closed_target=db.session.get(Feedback, target_id) if target_id else None,
    )


@bp.post("/feedback/<int:item_id>/assign")
def assign(item_id: int) -> Response:
    item = load_item(item_id)
    form = _assign_form(item, bound=True)
    if not form.validate_on_submit() or form.owner_id.data is None:
        return render_item(item, status=400, assign_form=form, error=_("Please choose a person."))
    owner_id: int = form.owner_id.data
    return _attempt(
        item_id,
        lambda: workflow.assign(item_id, current_user, owner_id, form.assign_reason.data or ""),
        _("%(name)s looks after #%(id)s now.", name=_display_name(owner_id), id=item_id),
        assign_form=form,
    )


def _display_name(user_id: int) -> str:
    user = db.session.get(User, user_id)
    return user.display_name if user else ""


@bp.post("/feedback/<int:item_id>/promise")
@keeps_writing(promise_outcome=N_("What we promise"), promise_reason=N_("Why the date moves"))
def promise(item_id: int) -> Response:
    item = load_item(item_id)
    form = PromiseForm()
    if not form.validate_on_submit():
        return render_item(
            item,
            status=400,
            promise_form=form,
            error=_("Please give a valid date and say what we promise."),
        )
    done = (
        _("The promised date is moved; the customer sees it, with your reason.")
        if item.target_date
        else _("The date is promised; the customer sees it.")
    )
    return _attempt(
        item_id,
        lambda: workflow.move_promise(
            item_id,
            current_user,
            form.new_date.data,
            form.promise_reason.data or "",
            form.promise_outcome.data or "",
        ),
        done,
        promise_form=form,
    )


def _images_refused(images: FormImages) -> str:
    return _("An image could not be attached: see beside the form.") if images.errors else ""


@bp.post("/feedback/<int:item_id>/reply")
@takes_images
@keeps_writing(body=N_("Your reply"))
def reply(item_id: int) -> Response:
    item = load_item(item_id)
    form = ReplyForm()
    images = images_sent("reply")
    if not form.validate_on_submit() or images.errors:
        return render_item(
            item,
            status=400,
            reply_form=form,
            reply_images=images,
            error=_("Please write the reply.") if form.errors else _images_refused(images),
        )
    return _attempt(
        item_id,
        lambda: workflow.reply(
            item_id,
            current_user,
            form.body.data or "",
            post_anyway=bool(form.post_anyway.data),
            images=images.ids,
        ),
        _(
            "Your reply is posted. It is the acknowledgement: "
            "the item is \u201cAcknowledged\u201d now."
        )
        if item.state is FeedbackState.RECEIVED
        else _("Your reply is posted."),
        findings_shown_as={"body": "reply_findings"},
        # A reply in a language the tone check does not cover is told so once it is posted.
        also_said=workflow.tone_notices(item, form.body.data or ""),
        reply_form=form,
        reply_images=images,
    )


def _with_text(
    item_id: int,
    form: NoteForm | ReasonForm,
    form_name: str,
    missing: str,
    command: Callable[[str], object],
    success: str,
    **context: Any,
) -> Response:
    """An action whose form is one required text (a note, a reason): a blank one is said on
    the page, with nothing done; otherwise the command runs with the text."""
    context[form_name] = form
    if not form.validate_on_submit():
        return render_item(load_item(item_id), status=400, error=missing, **context)
    text = form.data.get("note") or form.data.get("reason") or ""
    return _attempt(item_id, lambda: command(text), success, **context)


@bp.post("/feedback/<int:item_id>/note")
@takes_images
@keeps_writing(note=N_("Internal note"))
def note(item_id: int) -> Response:
    form = NoteForm()
    images = images_sent("note")
    if images.errors:
        form.validate_on_submit()
        return render_item(
            load_item(item_id),
            status=400,
            note_form=form,
            note_images=images,
            error=_images_refused(images),
        )
    return _with_text(
        item_id,
        form,
        "note_form",
        _("Please write the note."),
        lambda text: workflow.add_internal_note(item_id, current_user, text, images=images.ids),
        _("Internal note added. Customers never see it."),
        note_images=images,
    )


@bp.post("/feedback/<int:item_id>/hide")
def hide(item_id: int) -> Response:
    item = load_item(item_id)
    hiding = not item.hidden
    form = ReasonForm()
    if hiding and not form.validate_on_submit():
        return render_item(item, status=400, reason_form=form, error=_("Hiding needs a reason."))
    return _attempt(
        item_id,
        lambda: workflow.set_hidden(item_id, current_user, hiding, form.reason.data or ""),
        _("Hidden from the public.") if hiding else _("Shown again."),
        reason_form=form,
    )


@bp.post("/feedback/<int:item_id>/redact")
def redact(item_id: int) -> Response:
    return _with_text(
        item_id,
        ReasonForm(),
        "redact_form",
        _("Redacting needs a reason."),
        lambda reason: workflow.redact(item_id, current_user, reason),
        _("The text is removed from public view and kept in the audit log."),
    )


@bp.post("/feedback/<int:item_id>/approve")
def approve(item_id: int) -> Response:
    return _attempt(
        item_id,
        lambda: workflow.approve(item_id, current_user),
        _("Approved: it is on the board."),
    )


@bp.post("/comments/<int:comment_id>/hide")
def hide_comment(comment_id: int) -> Response:
    comment = db.session.get(Comment, comment_id) or abort(404)
    return _with_text(
        comment.feedback_id,
        ReasonForm(),
        "comment_form",
        _("Hiding a comment needs a reason."),
        lambda reason: workflow.hide_comment(comment_id, current_user, reason),
        _("The comment is hidden and kept for the record."),
        # Its reason and error go back beside that comment's own form.
        comment_form_for=comment_id,
    )


@bp.post("/attachments/<public_id>/remove")
def remove_image(public_id: str) -> Response:
    """Take one image out of view, for a reason; it stays stored, for staff and the record."""
    attachment = attachments.visible_attachment(public_id, current_user)
    if attachment.feedback_id is None:
        abort(404)  # an upload waiting for its form is nobody's to remove
    return _with_text(
        attachment.feedback_id,
        ReasonForm(),
        "image_form",
        _("Removing an image needs a reason."),
        lambda reason: attachments.remove_attachment(current_user, public_id, reason),
        _("The image is removed from view and kept for the record."),
        # Its reason and error go back beside that image's own form.
        image_form_for=public_id,
    )


@bp.post("/feedback/<int:item_id>/tone")
def tone(item_id: int) -> str:
    """Live findings for a draft as staff type (htmx): a reply's body, or a move's message
    (htmx sends the whole form, so the move it is for, and a promised date, come along)."""
    item = load_item(item_id)
    if "body" in request.form:
        findings = workflow.tone_findings(item, request.form["body"], current_user)
    else:
        findings = workflow.tone_findings(
            item,
            request.form.get("message", ""),
            current_user,
            to_state=_state_or_none(request.form.get("to_state", "")),
            target_date=_date_or_none(request.form.get("target_date", "")),
        )
    return render_template("admin/_tone_findings.html", findings=findings)


def _state_or_none(value: str) -> FeedbackState | None:
    """The state a form names, if it names one."""
    try:
        return FeedbackState(value)
    except ValueError:
        return None


def _date_or_none(value: str) -> date | None:
    """The date a form's date field holds, if it holds one."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
