"""Feedback pages: submit, read an item, vote and comment."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from portal.accounts.kept import keeps_writing
from portal.attachments.uploads import FormImages, images_sent, no_images, takes_images
from portal.database import reads_first
from portal.extensions import htmx, limiter
from portal.feedback.forms import CHOOSE_CATEGORY, CommentForm, FeedbackForm, NotFixedForm
from portal.i18n import current_language
from portal.models import Feedback, SignalKind, Visibility
from portal.models.base import N_
from portal.security import reuse_checked_csrf_token
from portal.services import attachments, editing, notifications, personal_details, signals, workflow
from portal.services import feedback as feedback_service
from portal.services.accounts import is_safe_next
from portal.services.search import similar_items
from portal.services.tone import ToneFinding
from portal.services.votes import CLOSED_FOR_VOTES, set_vote, voted_item_ids
from portal.services.widget import allowed_page
from portal.unit_of_work import commit_now, refusal_shown_in

bp = Blueprint("feedback", __name__)


@bp.route("/new", methods=["GET", "POST"])
@takes_images
@keeps_writing(title=N_("Title"), body=N_("Your feedback"))
@login_required
@limiter.limit("20 per hour", methods=["POST"])
def new() -> Response:
    # "Look for similar feedback" without JavaScript: the form is posted back (never by GET,
    # which would put the draft and its CSRF token in the address, history and logs) and
    # comes back with what was typed and the suggestions under the title. A link may still
    # ask with ?title=.
    from_link = request.method == "GET" and "title" in request.args
    checking = from_link or "check_similar" in request.form
    if from_link:
        form = FeedbackForm(formdata=request.args)
    elif "make_private" in request.form or (
        "post_anyway" in request.form and not request.form.get("visibility")
    ):
        # The question's buttons choose who can see it ("Make it private and send", "Post it
        # publicly as it is"): it may have come up before the radios were answered.
        chosen = request.form.copy()
        private = "make_private" in request.form
        chosen["visibility"] = (Visibility.PRIVATE if private else Visibility.PUBLIC).value
        form = FeedbackForm(formdata=chosen)
    else:
        form = FeedbackForm()
    form.category_id.choices = [CHOOSE_CATEGORY] + [
        SelectChoice(c.id, c.name) for c in feedback_service.categories()
    ]
    # Kept first, whatever the rest of the form says (attachments/uploads.py).
    images = images_sent("new") if request.method == "POST" else no_images("new")
    held: list[ToneFinding] = []
    status = 200
    if not checking and form.validate_on_submit() and not images.errors:
        with refusal_shown_in(form.form_errors) as refusal:
            item = feedback_service.submit_feedback(
                current_user,
                kind=form.kind.data,
                category_id=form.category_id.data,
                title=form.title.data or "",
                body=form.body.data or "",
                visibility=form.visibility.data,
                # The language of the page they wrote on: their words are kept as written.
                language=current_language(),
                images=images.ids,
                post_anyway="post_anyway" in request.form,
                # Carried from the feedback widget (portal/widget/): kept for an allowed origin.
                page_url=allowed_page(form.page_url.data or ""),
            )
            return redirect(url_for("feedback.submitted", item_id=item.id))
        held, status = refusal.findings, refusal.status
    suggestions = similar_items(form.title.data or "") if (checking or form.errors) else []
    return make_response(
        render_template(
            "feedback/new.html",
            form=form,
            suggestions=suggestions,
            checked=checking,
            voted_ids=voted_item_ids(current_user, [s.id for s in suggestions]),
            images=images,
            personal_details=held,
            details_question=personal_details.question(may_make_private=True),
            may_make_private=True,
            page_url=allowed_page(form.page_url.data or ""),
        ),
        status,
    )


@bp.post("/check-details")
@login_required
@limiter.limit("120 per minute")
def check_details() -> Response:
    """Live as they type (htmx): what the guard for personal details finds in a public item's
    title and text, or a comment's (?form=comment), shown under the text."""
    commenting = request.args.get("form") == "comment"
    # The fragment's id: the one the box it sits under swaps (the comment box's by default).
    target = request.args.get("target", "")
    details_id = target if target in ("personal-details", "not-fixed-details") else None
    found = []
    if request.form.get("visibility") != Visibility.PRIVATE.value:
        words = "\n".join(request.form.get(name, "")[:10_000] for name in ("title", "body"))
        found = personal_details.details_in(words, may_make_private=not commenting)
    return make_response(
        render_template(
            "feedback/_personal_details.html",
            personal_details=found,
            details_question=personal_details.question(may_make_private=not commenting),
            may_make_private=not commenting,
            details_id=details_id or "personal-details",
        )
    )


@bp.get("/suggest")
def suggest() -> Response:
    """ "Is it one of these?": up to five similar items for a title being typed (htmx)."""
    title = request.args.get("title", "")[:200]
    suggestions = similar_items(title)
    response = make_response(
        render_template(
            "feedback/_suggestions.html",
            suggestions=suggestions,
            checked=bool(title.strip()),
            voted_ids=voted_item_ids(current_user, [s.id for s in suggestions]),
        )
    )
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/<int:item_id>/submitted")
@login_required
def submitted(item_id: int) -> str:
    """The thank-you page after submitting: the reference, when a person will answer (and who,
    once someone owns it) and what happens next. Its author's page alone."""
    item = feedback_service.get_visible_item(item_id, current_user)
    if item.author_id != current_user.id:
        raise Forbidden()
    return render_template(
        "feedback/submitted.html", item=item, emailed=notifications.can_email(current_user)
    )


def _render_detail(
    item: Feedback,
    comment_form: CommentForm | None = None,
    not_fixed_form: NotFixedForm | None = None,
    comment_images: FormImages | None = None,
    comment_findings: list[ToneFinding] | None = None,
    not_fixed_findings: list[ToneFinding] | None = None,
) -> str:
    # A visitor's page gets no forms: building one makes a CSRF token, and the page would be
    # theirs alone instead of one the page cache can share (portal/page_cache.py).
    if current_user.is_authenticated:
        if comment_form is None:
            comment_form = CommentForm()
        if not_fixed_form is None:
            not_fixed_form = NotFixedForm(formdata=None)
    # A closed item takes no votes: what can still be said of it is counted instead (one
    # statement either way for a signed-in viewer; a visitor's page of a Done or Not planned
    # item reads its count, as the open item's page has its vote count on the row).
    closed = item.state in CLOSED_FOR_VOTES
    comments = feedback_service.item_comments(item, current_user)
    return render_template(
        "feedback/detail.html",
        item=item,
        timeline=feedback_service.item_timeline(item),
        comments=comments,
        # The item's images and its comments', in one query.
        images=attachments.images_on_item(item, current_user, comments),
        comment_images=comment_images or no_images("comment"),
        # The viewer's Edit links; earlier versions of edited words for staff.
        words=editing.words_on_page(item, comments, current_user),
        voted=False if closed else feedback_service.has_voted(current_user, item.id),
        signal=signals.signal_counts(item, current_user),
        following=notifications.is_following(current_user, item.id),
        comment_form=comment_form,
        not_fixed_form=not_fixed_form,
        # Asked of the author and of everyone whose voice was merged into the item.
        fix_answer=workflow.fix_answer(item, current_user),
        # What the guard for personal details held in a comment, and what it asks.
        comment_findings=comment_findings or [],
        not_fixed_findings=not_fixed_findings or [],
        details_question=personal_details.question(may_make_private=False),
    )


@bp.get("/<int:item_id>")
def detail(item_id: int) -> str:
    item = feedback_service.get_visible_item(item_id, current_user)
    return _render_detail(item)


def _sent_from_item_page(item_id: int) -> bool:
    """Whether an htmx request came from this item's own page (htmx names the page)."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    return current.netloc == request.host and current.path == url_for(
        "feedback.detail", item_id=item_id
    )


@bp.post("/<int:item_id>/vote")
@reads_first
@login_required
@limiter.limit("60 per minute")
def vote(item_id: int) -> Response:
    # The button says what it wants (want=1: vote, 0: take it back), chosen from what the page
    # showed, so a retried request leaves things as the first one did. A form from before the
    # field (a page open since) switches, as its button then did.
    asked = request.form.get("want")
    result = set_vote(current_user, item_id, asked == "1" if asked in ("0", "1") else None)
    item = result.item
    # Rendered after the commit from what the vote read and wrote: no lock is held meanwhile,
    # and nothing is read again.
    commit_now()
    # CSRFProtect has checked the token; "want", "next" and "fragment" are read as sent.
    next_url = request.form.get("next", "")
    if htmx:
        template = (
            "feedback/_suggestion_vote.html"
            if request.form.get("fragment") == "suggestion"
            else "feedback/_vote_button.html"
        )
        # On the item's own page its follow button changed too: a vote follows, taking it
        # back may stop following. Elsewhere there is no follow button to update.
        following = None
        # The button's form carries the token this request was checked with.
        reuse_checked_csrf_token()
        if _sent_from_item_page(item.id):
            following = result.voted or (
                not result.stopped_following and notifications.is_following(current_user, item.id)
            )
        response = make_response(
            render_template(
                template,
                item=item,
                voted=result.voted,
                next_url=next_url,
                announce=True,
                stopped_following=result.stopped_following,
                follow_after_vote=following,
                compact=request.form.get("fragment") == "card",
            )
        )
        response.headers["Vary"] = "HX-Request"
        return response
    if result.voted:
        flash(_("Thanks, your vote counts."), "success")
    elif result.stopped_following:
        flash(
            _("Your vote is taken back, and you will not get emails about it any more."), "success"
        )
    else:
        flash(_("Your vote is taken back."), "success")
    back = next_url if is_safe_next(next_url) else url_for("feedback.detail", item_id=item.id)
    # Back at the button that was pressed, not at the top of a long board.
    return redirect(f"{back.partition('#')[0]}#vote-{item.id}")


@bp.post("/<int:item_id>/follow")
@login_required
def follow(item_id: int) -> Response:
    """Follow or stop following an item, as the button asked; htmx gets the button back."""
    asked = request.form.get("follow")
    # A form without the field (from before it had one) switches, as the button then did.
    choice = notifications.set_following(
        current_user, item_id, asked == "1" if asked in ("0", "1") else None
    )
    item, want = choice.pressed, choice.following
    if choice.item is not item:
        # Merged, perhaps while the page was open: the choice counts where it continues.
        if choice.item is None:
            flash(_("This is handled together with another report now."), "info")
            target = url_for("feedback.detail", item_id=item.id)
        else:
            flash(
                _(
                    "This was merged into \u201c%(title)s\u201d: you will hear how it ends.",
                    title=choice.item.title,
                )
                if want
                else _(
                    "This was merged into \u201c%(title)s\u201d: you will not get emails about it.",
                    title=choice.item.title,
                ),
                "success",
            )
            target = url_for("feedback.detail", item_id=choice.item.id)
        if htmx:
            return make_response("", 204, {"HX-Redirect": target})
        return redirect(target)
    if htmx:
        response = make_response(
            render_template("feedback/_follow_button.html", item=item, following=want)
        )
        response.headers["Vary"] = "HX-Request"
        return response
    flash(
        _("You will hear about every change to this item.")
        if want
        else _("You will not get emails about this item any more."),
        "success",
    )
    return redirect(url_for("feedback.detail", item_id=item.id))


@bp.post("/<int:item_id>/fixed")
@login_required
def fixed(item_id: int) -> Response:
    """ "Did this fix it?" Yes."""
    workflow.confirm_fixed(item_id, current_user)
    flash(_("Thank you for letting us know. We are glad it is sorted."), "success")
    return redirect(url_for("feedback.detail", item_id=item_id))


@bp.post("/<int:item_id>/not-fixed")
@keeps_writing(body=N_("What is still not right"))
@login_required
def not_fixed(item_id: int) -> Response:
    """ "Did this fix it?" Not yet: the comment goes to the owner as a reopen request."""
    item = feedback_service.get_visible_item(item_id, current_user)
    form = NotFixedForm()
    if not form.validate_on_submit():
        return make_response(_render_detail(item, not_fixed_form=form), 400)
    with refusal_shown_in(form.body.errors) as refusal:
        workflow.request_reopen(
            item_id,
            current_user,
            form.body.data or "",
            post_anyway="post_anyway" in request.form,
        )
    if refusal.error is not None and not refusal.findings:
        raise refusal.error  # refused for another reason: the error page says why, as before
    if refusal:
        return make_response(
            _render_detail(item, not_fixed_form=form, not_fixed_findings=refusal.findings),
            refusal.status,
        )
    if item.owner:
        said = _(
            "Thank you. %(name)s will look at it again and reply here.",
            name=item.owner.display_name,
        )
    else:
        said = _("Thank you. Our team will look at it again and reply here.")
    flash(said, "success")
    return redirect(url_for("feedback.detail", item_id=item.id))


def _signal(item_id: int, kind: SignalKind) -> Response:
    """Say "This still happens to me" or "I still want this" (want=1), or take it back
    (want=0); htmx gets the section back, a plain form goes back to the item."""
    result = signals.set_signal(current_user, item_id, kind, request.form.get("want") != "0")
    if htmx:
        response = make_response(
            render_template(
                "feedback/_signal.html",
                item=result.item,
                signal=signals.SignalCounts(
                    {kind: result.count}, frozenset({kind}) if result.said else frozenset()
                ),
                announce=True,
            )
        )
        response.headers["Vary"] = "HX-Request"
        return response
    if not result.said:
        said = _("You have taken it back.")
    elif kind is SignalKind.STILL_HAPPENS and result.item.owner:
        said = _(
            "Thank you for telling us. %(name)s will look at it again.",
            name=result.item.owner.display_name,
        )
    elif kind is SignalKind.STILL_HAPPENS:
        said = _("Thank you for telling us. Our team will look at it again.")
    else:
        said = _("Thank you: we count it, and our team sees how many still want this.")
    flash(said, "success")
    return redirect(url_for("feedback.detail", item_id=item_id, _anchor="still"))


@bp.post("/<int:item_id>/still-happens")
@login_required
@limiter.limit("30 per minute")
def still_happens(item_id: int) -> Response:
    """ "This still happens to me", on a Done item: a reopen request to its owner."""
    return _signal(item_id, SignalKind.STILL_HAPPENS)


@bp.post("/<int:item_id>/still-wanted")
@login_required
@limiter.limit("30 per minute")
def still_wanted(item_id: int) -> Response:
    """ "I still want this", on a Not planned item."""
    return _signal(item_id, SignalKind.STILL_WANTED)


@bp.post("/<int:item_id>/comments")
@takes_images
@keeps_writing(body=N_("Your comment"))
@login_required
@limiter.limit("20 per hour")
def comment(item_id: int) -> str | Response:
    item = feedback_service.get_visible_item(item_id, current_user)
    form = CommentForm()
    images = images_sent("comment")
    if form.validate_on_submit() and not images.errors:
        # A refusal is said beside what they typed, which stays.
        with refusal_shown_in(form.body.errors) as refusal:
            feedback_service.add_comment(
                current_user,
                item_id,
                form.body.data or "",
                images=images.ids,
                post_anyway="post_anyway" in request.form,
            )
            flash(_("Your comment is posted."), "success")
            return redirect(url_for("feedback.detail", item_id=item.id, _anchor="comments"))
        return make_response(
            _render_detail(item, form, comment_images=images, comment_findings=refusal.findings),
            refusal.status,
        )
    # Re-render the page with the typed comment kept, the images as previews and the error
    # beside its field.
    return make_response(_render_detail(item, form, comment_images=images), 400)
