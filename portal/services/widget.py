"""The feedback widget on the organisation's own pages: which origins may embed it, and the
widget token its pages carry instead of the session cookie.

A browser sends no SameSite=Lax cookie to a page framed by another site, so the widget's form
cannot lean on the session or its CSRF token. Its pages carry a widget token instead: signed
with the site's secret (its own salt), dated (WIDGET_TOKEN_MAX_AGE), naming the visitor (a
person and their server-side session, or nobody yet) and a random value of its own. The form's
POST checks it in place of the CSRF token: another site can neither read it (the widget's pages
are framed only by the allowed origins, and a browser shows no other origin a page's contents)
nor make one. A person is named by their session (portal/models/session.py), so signing out
everywhere, deactivation or an ended session ends the widget's access too."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.models import SiteSettings, User
from portal.services import environment, events
from portal.services.accounts import start_session, user_for_session
from portal.services.errors import DomainError, NotAllowed
from portal.services.site import cached_site_settings, settings_for_update
from portal.services.wording import t

# A widget's page stays open while someone writes; after this the form asks to be opened again
# (what was typed is kept).
WIDGET_TOKEN_MAX_AGE = 2 * 3600
MAX_ORIGINS = 20
MAX_PAGE_URL = 2000
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WidgetTokenRefused(DomainError):
    """A widget form sent without a genuine, fresh widget token."""

    status_code = 400


@dataclass(frozen=True)
class WidgetVisitor:
    """Who a widget token names: a person signed in (and the session that signs them in), or
    nobody yet."""

    user: User | None
    session_id: str | None
    token: str


# Origins ---------------------------------------------------------------------------------------


def normalised_origin(text: str) -> str | None:
    """`scheme://host[:port]` in its canonical form (lower case, no default port), or None when
    the text is not exactly an http(s) origin (a path, a query, user info or a wildcard)."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    host = parts.hostname.lower()
    if "*" in host or any(c.isspace() for c in host):
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6
    shown_port = "" if port is None or port == _DEFAULT_PORTS[parts.scheme] else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def parse_origins(text: str) -> list[str]:
    """The origins listed one a line (or separated by spaces or commas), each checked and
    written canonically, without repeats; DomainError names the first one that is not an
    origin."""
    origins: list[str] = []
    for word in text.replace(",", " ").split():
        origin = normalised_origin(word)
        if origin is None:
            raise DomainError(
                t(
                    "\u201c%(value)s\u201d is not an origin. Write each as scheme://host, with "
                    "a port if it is not the usual one (https://www.example.org, "
                    "http://localhost:8000): no path, no wildcard.",
                    value=word[:200],
                )
            )
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise DomainError(t("List at most %(count)d origins.", count=MAX_ORIGINS))
    return origins


def embedding_origins(settings: SiteSettings | None = None) -> list[str]:
    """The origins whose pages may embed the widget (none until an admin lists some)."""
    settings = settings or cached_site_settings()
    return [o for o in (settings.widget_origins or "").split() if normalised_origin(o) == o]


def set_embedding_origins(actor: User, text: str) -> SiteSettings:
    """Choose the origins allowed to embed the widget (admins only); audited as a change of
    settings."""
    if not actor.is_admin:
        raise NotAllowed(t("Only admins can do that."))
    origins = parse_origins(text)
    settings = settings_for_update()
    settings.widget_origins = "\n".join(origins)
    events.emit(events.SettingsUpdated(settings, actor, {"widget_origins": origins}))
    return settings


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) address, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.netloc:
        return None
    return normalised_origin(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")


def allowed_page(url: str) -> str | None:
    """The page address the widget was opened on, when it is an address of an allowed origin
    and not too long; otherwise None (a link made elsewhere puts no address on an item)."""
    url = url.strip()
    if not url or len(url) > MAX_PAGE_URL or any(c.isspace() for c in url):
        return None
    origin = origin_of(url)
    return url if origin is not None and origin in embedding_origins() else None


# The widget token ------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(environment.current().settings.secret_key, salt="widget")


def make_widget_token(user: User | None = None, session_id: str | None = None) -> str:
    """A widget token naming this person and session (or nobody), with a value of its own."""
    payload: dict[str, Any] = {"n": secrets.token_urlsafe(12)}
    if user is not None and session_id:
        payload.update(u=user.id, s=session_id)
    return _serializer().dumps(payload)


def visitor_for(token: str) -> WidgetVisitor:
    """Who a widget token names, checked: genuine, at most WIDGET_TOKEN_MAX_AGE old, and (when
    it names a person) their session still signs them in. Raises WidgetTokenRefused."""
    try:
        payload = _serializer().loads(token, max_age=WIDGET_TOKEN_MAX_AGE)
    except SignatureExpired as exc:
        raise WidgetTokenRefused(
            t("This form was open too long. Please open it again; what you wrote is kept.")
        ) from exc
    except BadSignature as exc:
        raise WidgetTokenRefused(
            t("This form did not come from our widget. Please open it again.")
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("n"), str):
        raise WidgetTokenRefused(t("This form did not come from our widget. Please open it again."))
    user_id, session_id = payload.get("u"), payload.get("s")
    if user_id is None:
        return WidgetVisitor(None, None, token)
    user = (
        user_for_session(user_id, session_id)
        if isinstance(user_id, int) and isinstance(session_id, str)
        else None
    )
    if user is None:
        # Signed out since (everywhere, or this session ended), or the account closed.
        raise WidgetTokenRefused(t("You have been signed out. Please open the form again."))
    return WidgetVisitor(user, session_id, token)


def sign_in_token_for(user: User, user_agent: str) -> str:
    """A widget token for someone single sign-on just vouched for: a session of its own (listed
    on their account page, ended by signing out everywhere) and a token naming it."""
    signed_in = start_session(user, user_agent)
    return make_widget_token(user, signed_in.id)
