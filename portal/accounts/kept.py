"""What someone wrote is never lost to an ended session.

A form sent after the session ended (signed out in another tab, "sign out everywhere", the
session cookie gone) cannot be saved: the person must sign in first, or the form's CSRF token
no longer matches. Instead of dropping the text on the way, the answer carries the whole
submission: the sign-in page holds it, signed, in a hidden field, and once signed in the person
sees it again with a button that sends it where it was going. Nothing is sent without that
press, and the form it goes to checks it as it always does.

Only views marked @keeps_writing are kept: forms where people write (a comment, a reply, an
acknowledgement), never a helper such as the live tone check or the account forms. Only a
submission from our own pages is kept (its Origin or Referer is this site), so another site
cannot put words on our pages for someone to send. Passwords and tokens are never kept.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Request, Response, current_app, make_response, render_template, request, session
from flask_babel import gettext
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from portal.accounts.forms import LoginForm
from portal.accounts.policy import sign_in_choices
from portal.extensions import htmx
from portal.models import FeedbackKind, FeedbackState, Visibility
from portal.models.base import N_
from portal.services.accounts import is_safe_next
from portal.services.errors import DomainError
from portal.services.feedback import get_visible_item
from portal.services.site import cached_categories
from portal.services.workflow import PromiseChoice
from portal.templating import longdate

F = TypeVar("F", bound=Callable[..., Any])

# The signed submission travels beside the sign-in form's own fields under this name.
CARRIED_FIELD = "kept"
# Long enough to find the password; a day-old page is better typed again.
CARRIED_MAX_AGE = 24 * 3600
# Fields that are never carried: tokens, and a press of "Post anyway", which must not skip the
# tone check for text the person may still change.
_NEVER_CARRIED = frozenset({"csrf_token", "post_anyway"})
# Fields a form keeps for itself: carried, but not worth showing.
_BOOKKEEPING = frozenset({"next", "fragment", "form_started", "website", "page_url"})
# The images a form carries (portal/attachments/uploads.py: their ids, descriptions and
# "leave out" boxes): carried, and shown again as previews by the form they go back to.
_IMAGE_FIELDS = "image"
# The browser that was refused holds this in its session; a carry only comes back to it.
_SESSION_KEY = "kept_writing"


def _day(value: str) -> str:
    try:
        return longdate(date.fromisoformat(value))
    except ValueError:
        return value


def _label_of(labels: dict[str, str]) -> Callable[[str], str]:
    return lambda value: gettext(labels[value]) if value in labels else value


# The choices a kept form may carry besides what was written, as its form names them, with
# their values as the form shows them (a state's label, a date as the reader writes dates).
_CHOICES: dict[str, tuple[str, Callable[[str], str]]] = {
    "to_state": (N_("Move to"), _label_of({s.value: s.label for s in FeedbackState})),
    "target_date": (N_("Promised date"), _day),
    "new_date": (N_("New promised date"), _day),
    "duplicate_of": (N_("Merge into item number"), str),
    "merge_promise": (
        N_("The date promised here"),
        _label_of(
            {
                PromiseChoice.KEEP.value: N_("Keep it on the item it joins"),
                PromiseChoice.CHANGE.value: N_("It changes"),
            }
        ),
    ),
    "kind": (N_("Kind"), _label_of({k.value: k.label for k in FeedbackKind})),
    "visibility": (
        N_("Who can see it?"),
        _label_of({Visibility.PUBLIC.value: N_("Public"), Visibility.PRIVATE.value: N_("Private")}),
    ),
    "category_id": (N_("Category"), lambda value: _category_name(value)),
}


def _category_name(value: str) -> str:
    named = {str(c.id): c.name for c in cached_categories()}
    return named.get(value, value)


def _choice(name: str, value: str) -> tuple[str, str]:
    """A kept choice as the reader reads it; a field the portal does not name, as sent."""
    if name not in _CHOICES:
        return name, value
    label, shown = _CHOICES[name]
    return gettext(label), shown(value)


def keeps_writing(**labels: str) -> Callable[[F], F]:
    """Mark a view whose submissions are kept through an ended session; the arguments name the
    fields people write in, with the label to show them under, marked for the catalog
    (@keeps_writing(body=N_("Your comment"))). Put it above the other decorators, nearest the
    route."""

    def mark(view: F) -> F:
        view.keeps_writing = labels  # type: ignore[attr-defined]
        return view

    return mark


def _writing_fields(endpoint: str | None) -> dict[str, str] | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "keeps_writing", None)


def _secret(name: str) -> bool:
    lowered = name.lower()
    return name in _NEVER_CARRIED or "password" in lowered or "token" in lowered


@dataclass(frozen=True)
class KeptSubmission:
    """A form's fields, as sent, the address they were sent to, and which fields are writing
    (with their labels)."""

    action: str
    fields: tuple[tuple[str, str], ...]
    labels: dict[str, str]

    @property
    def writing(self) -> list[tuple[str, str]]:
        """What the person wrote, to show them and let them change."""
        return [(n, v) for n, v in self.fields if n in self.labels and v.strip()]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """What else the form says (a move's new state, a kind), shown so that nothing is sent
        unseen: in the reader's words where the portal names the field, else as sent."""
        return [
            _choice(n, v)
            for n, v in self.fields
            if n not in self.labels
            and n not in _BOOKKEEPING
            and not n.startswith(_IMAGE_FIELDS)
            and v
        ]

    def label(self, name: str) -> str:
        """A field's label in the reader's language: the view that keeps writing marks its
        labels (N_ or lazy_gettext) where it names them, and they are translated here."""
        return str(gettext(str(self.labels[name])))


def _kept(
    action: str, fields: Iterable[tuple[str, str]], labels: dict[str, str]
) -> KeptSubmission | None:
    """The submission, without what is never carried, if it holds some writing."""
    kept = KeptSubmission(action, tuple((n, v) for n, v in fields if not _secret(n)), labels)
    return kept if kept.writing else None


def _match(action: str) -> tuple[str, dict[str, Any]]:
    """The endpoint a POST to this address reaches (behind a path prefix too)."""
    path = urlsplit(action).path
    root = request.script_root
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    return current_app.url_map.bind("kept").match(path, method="POST")  # type: ignore[return-value]


def from_our_pages(req: Request) -> bool:
    """True when the browser says the request came from a page of this site."""
    origin = req.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == req.host
    return bool(req.referrer) and urlsplit(req.referrer).netloc == req.host


def keep_submission(req: Request) -> KeptSubmission | None:
    """The submission a refused POST carried, when its view keeps writing, it held some, and
    it came from our pages."""
    labels = _writing_fields(req.endpoint)
    if req.method != "POST" or labels is None or not from_our_pages(req):
        return None
    return _kept(req.script_root + req.full_path.rstrip("?"), req.form.items(multi=True), labels)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="kept-writing")


def carried(kept: KeptSubmission) -> str:
    """The submission, signed, for the sign-in form to carry: what comes back is exactly what
    was refused, and only to the browser it was refused to (a value in its session), so a
    carry made elsewhere, by someone else, is worth nothing."""
    browser = session.setdefault(_SESSION_KEY, secrets.token_urlsafe(16))
    return _serializer().dumps({"action": kept.action, "fields": list(kept.fields), "b": browser})


def carried_by_sign_in(form: MultiDict[str, str]) -> KeptSubmission | None:
    """The submission the sign-in form carried along, if any, intact, not older than a day
    (signing again never extends it) and made for this browser."""
    token = form.get(CARRIED_FIELD)
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=CARRIED_MAX_AGE)
    except BadSignature:
        return None
    expected = session.get(_SESSION_KEY)
    if not expected or not secrets.compare_digest(str(data.get("b", "")), expected):
        return None
    # Checked again on the way back: an address on this site, of a view that keeps writing.
    action = data["action"]
    if not is_safe_next(action):
        return None
    try:
        endpoint, _ = _match(action)
    except HTTPException:
        return None
    labels = _writing_fields(endpoint)
    if labels is None:
        return None
    return _kept(action, (tuple(pair) for pair in data["fields"]), labels)


def forget_carried() -> None:
    """Once the person has the writing back, the carry has done its work."""
    session.pop(_SESSION_KEY, None)


def _about(kept: KeptSubmission) -> str | None:
    """The title of the item the writing is about, when it is about one this person may see."""
    _, args = _match(kept.action)
    if "item_id" not in args:
        return None
    try:
        return get_visible_item(args["item_id"], current_user, with_people=False).title
    except DomainError:
        return None


def render_send_again(kept: KeptSubmission, back: str, *, expired: bool) -> str:
    """The page that shows what was written, and what about, and sends it on with a fresh
    token."""
    return render_template(
        "accounts/send_again.html", kept=kept, back=back, expired=expired, about=_about(kept)
    )


def offer_to_keep(kept: KeptSubmission, back: str, status: int) -> Response:
    """Answer a refused submission with what it carried: the sign-in page holding it, or,
    for someone signed in whose form had expired, the page that sends it again."""
    if current_user.is_authenticated:
        body = render_send_again(kept, back, expired=True)
    else:
        form = LoginForm(formdata=None)
        form.next.data = back
        body = render_template(
            "accounts/login.html",
            form=form,
            kept=kept,
            carried=carried(kept),
            **sign_in_choices(back),
        )
    if not htmx:
        return make_response(body, status)
    # The request aimed at a small part of the page; this page replaces it all. As a page to
    # show, not an error (htmx would log an error status as a failure).
    response = make_response(body, 200)
    response.headers["HX-Retarget"] = "body"
    response.headers["HX-Reswap"] = "innerHTML"
    return response
