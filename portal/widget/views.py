"""The feedback widget (/widget/): the submit form in a frame on the organisation's own pages
(static/widget.js puts it there), or in a tab of its own on small screens.

A framed page gets no SameSite=Lax session cookie, so these pages carry a widget token instead
(portal/services/widget.py) and their POSTs check it in place of the CSRF token (the exemption
is listed in portal/security.py). Who sends is the person the token names: someone signed in
here already (when the browser did send the cookie: a tab of its own), or someone the
organisation's single sign-on token vouches for (handed in by widget.js). Anyone else types,
then "Sign in to send" opens this site in a new tab with what they wrote, where they sign in
and send it from the submit page. The same command as the submit page's (submit_feedback),
with the same spam checks and rate limit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from portal.accounts.kept import KeptSubmission, from_our_pages, offer_to_keep
from portal.attachments.uploads import no_images
from portal.extensions import limiter
from portal.feedback.forms import CHOOSE_CATEGORY, FeedbackForm
from portal.i18n import current_language
from portal.models import Visibility
from portal.security import policy_framed_by
from portal.services import feedback as feedback_service
from portal.services import personal_details, sso
from portal.services import widget as widget_service
from portal.services.search import similar_items
from portal.services.tone import ToneFinding
from portal.services.votes import voted_item_ids
from portal.services.widget import WidgetTokenRefused, WidgetVisitor
from portal.unit_of_work import refusal_shown_in
from portal.widget.forms import WidgetForm

bp = Blueprint("widget", __name__)

# What "Sign in to send" carries to the submit page: the form's own fields, never a token.
CARRIED_FIELDS = ("kind", "category_id", "title", "body", "visibility", "page_url", "form_started")


@bp.after_request
def framed_by_allowed_origins(response: Response) -> Response:
    """Only the origins the admin listed may frame these pages; nothing here is cached (each
    carries a token)."""
    response.headers["Content-Security-Policy"] = policy_framed_by(
        widget_service.embedding_origins()
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _form(formdata: MultiDict[str, str] | None = None, **values: Any) -> WidgetForm:
    form = WidgetForm(formdata=formdata, **values)
    form.category_id.choices = [CHOOSE_CATEGORY] + [
        SelectChoice(c.id, c.name) for c in feedback_service.categories()
    ]
    return form


def _parent_origin(page_url: str | None) -> str:
    """The origin of the page that framed us (an allowed one), which widget.js's messages must
    come from; "" when we know none."""
    return (widget_service.origin_of(page_url) or "") if page_url else ""


def _render(
    form: WidgetForm,
    visitor: WidgetVisitor | None,
    *,
    status: int = 200,
    suggestions: list[Any] | None = None,
    checked: bool = False,
    held: list[ToneFinding] | None = None,
) -> Response:
    page_url = widget_service.allowed_page(form.page_url.data or "")
    form.page_url.data = page_url or ""
    if visitor is not None:
        form.widget_token.data = visitor.token
    suggestions = suggestions or []
    return make_response(
        render_template(
            "widget/form.html",
            form=form,
            visitor=visitor.user if visitor else None,
            page_url=page_url,
            parent_origin=_parent_origin(page_url),
            suggestions=suggestions,
            checked=checked,
            voted_ids=voted_item_ids(current_user, [s.id for s in suggestions]),
            personal_details=held or [],
            details_question=personal_details.question(may_make_private=True),
            may_make_private=True,
        ),
        status,
    )


def _fresh_visitor() -> WidgetVisitor:
    """A token for whoever this browser is: the person signed in here when it sent the
    session cookie (a tab of its own, or a frame on the same site), else nobody yet."""
    signed_in = current_user.signed_in_session if current_user.is_authenticated else None
    if signed_in is not None:
        user = current_user._get_current_object()
        return WidgetVisitor(
            user, signed_in.id, widget_service.make_widget_token(user, signed_in.id)
        )
    return WidgetVisitor(None, None, widget_service.make_widget_token())


@bp.get("/")
def form() -> Response:
    """The widget's form, for the page address it was opened on (?page=)."""
    return _render(_form(page_url=request.args.get("page", "")), _fresh_visitor())


def _visitor_or_refusal(form: WidgetForm) -> tuple[WidgetVisitor | None, Response | None]:
    """The visitor the form's token names, or the form again (what was typed kept, with a
    fresh token for nobody) saying why not."""
    try:
        return widget_service.visitor_for(form.widget_token.data or ""), None
    except WidgetTokenRefused as refused:
        form.form_errors.append(refused.message)
        return None, _render(form, _fresh_visitor(), status=400)


@bp.post("/")
@limiter.limit("20 per hour")  # as the submit page
def send() -> Response:
    """Send the widget's form (or look for similar items, or answer the question about
    personal details), as the person its token names."""
    if "make_private" in request.form or (
        "post_anyway" in request.form and not request.form.get("visibility")
    ):
        chosen = request.form.copy()
        private = "make_private" in request.form
        chosen["visibility"] = (Visibility.PRIVATE if private else Visibility.PUBLIC).value
        form = _form(chosen)
    else:
        form = _form(request.form)
    visitor, refusal_page = _visitor_or_refusal(form)
    if visitor is None:
        assert refusal_page is not None
        return refusal_page
    if "check_similar" in request.form:
        return _render(
            form, visitor, suggestions=similar_items(form.title.data or ""), checked=True
        )
    if visitor.user is None:
        form.form_errors.append(_("Please sign in to send it: what you wrote goes with you."))
        return _render(form, visitor, status=400)
    held: list[ToneFinding] = []
    status = 400
    if form.validate():
        with refusal_shown_in(form.form_errors) as refusal:
            item = feedback_service.submit_feedback(
                visitor.user,
                kind=form.kind.data,
                category_id=form.category_id.data,
                title=form.title.data or "",
                body=form.body.data or "",
                visibility=form.visibility.data,
                language=current_language(),
                post_anyway="post_anyway" in request.form,
                page_url=widget_service.allowed_page(form.page_url.data or ""),
            )
            return make_response(
                render_template(
                    "widget/sent.html",
                    item=item,
                    author=visitor.user,
                    parent_origin=_parent_origin(item.page_url),
                )
            )
        held, status = refusal.findings, refusal.status
    suggestions = similar_items(form.title.data or "") if form.errors else []
    return _render(form, visitor, status=status, suggestions=suggestions, held=held)


@bp.post("/sign-in")
@limiter.limit("30 per minute")  # as /sso
def sign_in() -> Response:
    """The organisation's single sign-on token, handed in by widget.js (or posted by it into a
    tab of its own): the form again, for the person it names, with what was typed kept."""
    form = _form(request.form)
    visitor: WidgetVisitor | None = None
    with refusal_shown_in(form.form_errors) as refusal:
        user, _created = sso.sign_in_with_token(request.form.get("sso_token", ""))
        token = widget_service.sign_in_token_for(user, request.user_agent.string)
        visitor = WidgetVisitor(user, None, token)
    if refusal or visitor is None:
        # Not signed in: the form still works, and "Sign in to send" still carries it.
        return _render(form, WidgetVisitor(None, None, widget_service.make_widget_token()))
    return _render(form, visitor)


def _carried(values: MultiDict[str, str]) -> list[tuple[str, str]]:
    return [(name, values.get(name, "")) for name in CARRIED_FIELDS]


@bp.post("/continue")
def continue_on_site() -> Response:
    """ "Sign in to send", in a new tab: first (posted from the frame, whose new tab the
    browser sends no cookie) a page holding what was written; its button posts it again from
    this site, cookies and all, to the submit page filled in, or to sign in with it kept."""
    if not from_our_pages(request):
        abort(400, _("This did not come from our feedback form. Please open it again."))
    if request.form.get("step") != "carry":
        # No session is read or written here: the browser sent none, and a new one would
        # replace the one it holds for this site.
        return make_response(
            render_template(
                "widget/continue.html",
                fields=_carried(request.form),
                widget_token=widget_service.make_widget_token(),
            )
        )
    try:
        widget_service.visitor_for(request.form.get("widget_token", ""))
    except WidgetTokenRefused as refused:
        abort(400, refused.message)
    fields = _carried(request.form)
    if not current_user.is_authenticated:
        labels = getattr(current_app.view_functions["feedback.new"], "keeps_writing", {})
        kept = KeptSubmission(url_for("feedback.new"), tuple(fields), labels)
        return offer_to_keep(kept, url_for("feedback.new"), 200)
    # Signed in here: the submit page, filled in as they left it.
    form = FeedbackForm(formdata=MultiDict(fields))
    form.category_id.choices = [CHOOSE_CATEGORY] + [
        SelectChoice(c.id, c.name) for c in feedback_service.categories()
    ]
    suggestions = similar_items(form.title.data or "")
    return make_response(
        render_template(
            "feedback/new.html",
            form=form,
            suggestions=suggestions,
            checked=True,
            voted_ids=voted_item_ids(current_user, [s.id for s in suggestions]),
            images=no_images("new"),
            personal_details=[],
            details_question=personal_details.question(may_make_private=True),
            may_make_private=True,
            page_url=widget_service.allowed_page(form.page_url.data or ""),
        )
    )
