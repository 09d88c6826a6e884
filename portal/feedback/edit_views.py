"""Authors fix their own words: an item's title and text, or a comment, until staff answer.

Each has a page of its own (without JavaScript) and an htmx form swapped in place of the
words: GET gives the form, POST saves and gives the words back. A refusal (staff answered
meanwhile) is said beside what was typed, which stays.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.accounts.kept import keeps_writing
from portal.extensions import htmx, limiter
from portal.feedback.forms import EditCommentForm, EditItemForm
from portal.feedback.views import bp
from portal.models import Comment, Feedback
from portal.models.base import N_
from portal.services import editing, personal_details
from portal.services import feedback as feedback_service
from portal.services.editing import EditsClosed
from portal.services.tone import ToneFinding
from portal.unit_of_work import refusal_shown_in


def _answer(body: str, status: int = 200) -> Response:
    response = make_response(body, status)
    response.headers["Vary"] = "HX-Request"
    return response


def _item_text(item: Feedback, *, refusal: str = "", announce: bool = False) -> str:
    return render_template(
        "feedback/_item_text.html",
        item=item,
        words=editing.words_on_page(item, [], current_user),
        refusal=refusal,
        announce=announce,
        oob_title=announce,
    )


def _comment_text(
    item: Feedback, comment: Comment, *, refusal: str = "", announce: bool = False
) -> str:
    return render_template(
        "feedback/_comment_text.html",
        item=item,
        comment=comment,
        words=editing.words_on_page(item, [comment], current_user),
        refusal=refusal,
        announce=announce,
    )


def _edit_form(
    item: Feedback,
    form: EditItemForm | EditCommentForm,
    status: int,
    comment: Comment | None = None,
    held: list[ToneFinding] | None = None,
) -> Response:
    """The edit form: a fragment for htmx, its page otherwise; with what the guard for
    personal details found when it held the edit."""
    fragment = "feedback/_edit_item.html" if comment is None else "feedback/_edit_comment.html"
    guard = {
        "personal_details": held or [],
        "details_question": personal_details.question(may_make_private=False),
        "may_make_private": False,
    }
    if htmx:
        return _answer(
            render_template(fragment, item=item, comment=comment, form=form, **guard), status
        )
    return _answer(
        render_template(
            "feedback/edit.html",
            fragment=fragment,
            item=item,
            comment=comment,
            form=form,
            in_page=True,
            **guard,
        ),
        status,
    )


@bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@keeps_writing(title=N_("Title"), body=N_("Your feedback"))
@login_required
@limiter.limit("30 per hour", methods=["POST"])
def edit_item(item_id: int) -> Response:
    """The author changes their item's title and text, until staff answer it."""
    item = feedback_service.get_visible_item(item_id, current_user)
    editing.require_own_item(current_user, item)
    form = EditItemForm()
    if not form.is_submitted():
        try:
            editing.require_item_editable(current_user, item)
        except EditsClosed as closed:
            if htmx:
                return _answer(_item_text(item, refusal=closed.message), closed.status_code)
            flash(closed.message, "info")
            return redirect(url_for("feedback.detail", item_id=item.id))
        form = EditItemForm(data={"title": item.title, "body": item.body_source})
        return _edit_form(item, form, 200)
    if not form.validate():
        return _edit_form(item, form, 400)
    with refusal_shown_in(form.form_errors) as refusal:
        editing.edit_item(
            current_user,
            item_id,
            title=form.title.data or "",
            body=form.body.data or "",
            post_anyway="post_anyway" in request.form,
        )
        if htmx:
            return _answer(_item_text(item, announce=True))
        flash(_("Your changes are saved."), "success")
        return redirect(url_for("feedback.detail", item_id=item.id))
    return _edit_form(item, form, refusal.status, held=refusal.findings)


@bp.route("/<int:item_id>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@keeps_writing(body=N_("Your comment"))
@login_required
@limiter.limit("30 per hour", methods=["POST"])
def edit_comment(item_id: int, comment_id: int) -> Response:
    """The author changes their comment, until staff answer after it."""
    item, comment = editing.get_own_comment(current_user, item_id, comment_id)
    back = url_for("feedback.detail", item_id=item.id, _anchor=f"comment-text-{comment.id}")
    form = EditCommentForm()
    if not form.is_submitted():
        try:
            editing.require_comment_editable(comment)
        except EditsClosed as closed:
            if htmx:
                return _answer(
                    _comment_text(item, comment, refusal=closed.message), closed.status_code
                )
            flash(closed.message, "info")
            return redirect(back)
        form = EditCommentForm(data={"body": comment.body_source})
        return _edit_form(item, form, 200, comment)
    if not form.validate():
        return _edit_form(item, form, 400, comment)
    with refusal_shown_in(form.form_errors) as refusal:
        editing.edit_comment(
            current_user,
            item_id,
            comment_id,
            form.body.data or "",
            post_anyway="post_anyway" in request.form,
        )
        if htmx:
            return _answer(_comment_text(item, comment, announce=True))
        flash(_("Your comment is changed."), "success")
        return redirect(back)
    return _edit_form(item, form, refusal.status, comment, held=refusal.findings)
