"""What someone wrote is never lost to an ended session.

A form sent after the session ended (signed out in another tab, "sign out everywhere", the
session cookie gone) cannot be saved: the person must sign in first, or the form's CSRF token
no longer matches. Instead of dropping the text on the way, the answer carries the whole
submission: the sign-in page holds it in hidden fields, and once signed in the person sees it
again with a button that sends it where it was going. Nothing is sent without that press.

Only a submission from our own pages is kept (its Origin or Referer is this site), so another
site cannot put words on our pages for someone to send. Passwords and tokens are never kept,
and the account pages' own forms (sign-in, registration) are not kept at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Request, make_response, render_template
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portal.accounts.forms import LoginForm
from portal.extensions import htmx
from portal.services.accounts import is_safe_next

# The sign-in form's own fields are email, password, remember and next: the kept submission
# travels beside them under this prefix, with the address it was sent to.
FIELD_PREFIX = "keep."
ACTION_FIELD = "keep_action"
# Fields a form sets for itself rather than for the person to write in.
BOOKKEEPING = frozenset({"next", "fragment", "follow"})
LABELS = {
    "body": "Your text",
    "message": "Your message",
    "we_did": "We did",
    "you_said": "You said",
}


def _secret(name: str) -> bool:
    lowered = name.lower()
    return "password" in lowered or "token" in lowered or "csrf" in lowered


@dataclass(frozen=True)
class KeptSubmission:
    """A form's fields, as sent, and the address they were sent to."""

    action: str
    fields: tuple[tuple[str, str], ...]

    @property
    def writing(self) -> list[tuple[str, str]]:
        """What the person wrote, to show them: fields with words in, not the form's own."""
        return [
            (name, value)
            for name, value in self.fields
            if name not in BOOKKEEPING and any(ch.isalpha() for ch in value)
        ]

    @staticmethod
    def label(name: str) -> str:
        return LABELS.get(name, name.replace("_", " ").capitalize())


def _kept(action: str, fields: Iterable[tuple[str, str]]) -> KeptSubmission | None:
    if not is_safe_next(action):
        return None
    kept = KeptSubmission(action, tuple((n, v) for n, v in fields if not _secret(n)))
    return kept if kept.writing else None


def from_our_pages(req: Request) -> bool:
    """True when the browser says the request came from a page of this site."""
    origin = req.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == req.host
    return bool(req.referrer) and urlsplit(req.referrer).netloc == req.host


def keep_submission(req: Request) -> KeptSubmission | None:
    """The submission a refused POST carried, when it held writing and came from our pages."""
    if req.method != "POST" or not from_our_pages(req):
        return None
    # Sign-in, registration and the like: nothing long is typed there, and a form that holds
    # a password could not be sent again without it.
    if req.blueprint == "accounts" or any("password" in name.lower() for name in req.form):
        return None
    return _kept(req.full_path.rstrip("?"), req.form.items(multi=True))


def carried_by_sign_in(form: MultiDict[str, str]) -> KeptSubmission | None:
    """The submission the sign-in form carried along, if any."""
    return _kept(
        form.get(ACTION_FIELD, ""),
        (
            (name.removeprefix(FIELD_PREFIX), value)
            for name, value in form.items(multi=True)
            if name.startswith(FIELD_PREFIX)
        ),
    )


def render_send_again(kept: KeptSubmission, back: str, *, expired: bool) -> str:
    """The page that shows what was written and sends it on with a fresh token."""
    return render_template("accounts/send_again.html", kept=kept, back=back, expired=expired)


def offer_to_keep(kept: KeptSubmission, back: str, status: int) -> Response:
    """Answer a refused submission with what it carried: the sign-in page holding it, or,
    for someone signed in whose form had expired, the page that sends it again."""
    if current_user.is_authenticated:
        body = render_send_again(kept, back, expired=True)
    else:
        form = LoginForm(formdata=None)
        form.next.data = back
        body = render_template("accounts/login.html", form=form, kept=kept)
    if not htmx:
        return make_response(body, status)
    # The request aimed at a small part of the page; this page replaces it all. As a page to
    # show, not an error (htmx would log an error status as a failure).
    response = make_response(body, 200)
    response.headers["HX-Retarget"] = "body"
    response.headers["HX-Reswap"] = "innerHTML"
    return response
