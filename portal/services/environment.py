"""What a service may know of the app it runs in: its settings, and what only the edge can do.

Services know no Flask. The configuration values they read are a typed, frozen `Settings`,
built once per app from its config; rendering an email, building a link to a page and
handing a message to the mail transport are done by the edge (portal/emails.py, portal/mail.py)
through the `Presenter` and `Mailer` below. The app factory builds one `Environment` per app,
and `current()` finds the one of the app whose context is pushed (a request's, a CLI
command's, the outbox worker's, a test's):

    settings = environment.current().settings
    rendered = environment.current().presenter.email(
        "verify", subject, language=language, person=user
    )
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from portal.services import addresses

if TYPE_CHECKING:
    from portal.services.wording import Text


@dataclass(frozen=True)
class Settings:
    """Every configuration value a service reads, typed (see portal/config.py for each)."""

    secret_key: str
    password_hash_method: str
    mail_default_sender: str
    mail_unsubscribe_address: str
    notification_daily_cap: int
    outbox_lease_seconds: int
    outbox_max_attempts: int
    outbox_backoff_seconds: int
    webhook_timeout_seconds: float
    webhook_max_attempts: int
    webhook_backoff_seconds: int
    webhook_allow_http: bool
    webhook_allow_private_addresses: bool
    # Host names that may be private addresses when the portal calls them on someone's say-so
    # (an in-house webhook receiver or identity provider): see portal/services/addresses.py.
    trusted_private_hosts: frozenset[str]
    intake_address: str
    intake_max_bytes: int
    intake_category: str
    intake_kind: str
    # How long a server-held session may go unseen and still sign its browser in: the longer
    # of the session cookie's and the remember-me cookie's lives (no cookie outlives both).
    session_lifetime: timedelta
    # The languages on offer (a catalog each, English first): portal/i18n.py finds them.
    languages: tuple[str, ...] = ("en",)
    # Attachments: limits checked before an image is decoded, and where images are kept
    # (portal/services/attachment_store.py).
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_max_pixels: int = 40_000_000
    attachment_store: str = "database"
    attachment_directory: str = ""
    # The SMTP server mail goes to; "" when mail is not sent anywhere yet (written to files,
    # or kept by the tests): the "Get started" checklist asks for one.
    mail_server: str = ""
    # Identity providers from the environment, as JSON (portal/services/identity_providers.py
    # reads it; the admin pages add more as rows).
    identity_providers_json: str = ""
    # The currency of customers' monthly values (ISO 4217), for the staff pages that show them.
    currency: str = "USD"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings in an app's config (its SECRET_KEY already resolved)."""
        return cls(
            secret_key=str(config["SECRET_KEY"]),
            password_hash_method=str(config["PASSWORD_HASH_METHOD"]),
            mail_default_sender=str(config["MAIL_DEFAULT_SENDER"]),
            mail_unsubscribe_address=str(config.get("MAIL_UNSUBSCRIBE_ADDRESS") or ""),
            notification_daily_cap=int(config["NOTIFICATION_DAILY_CAP"]),
            outbox_lease_seconds=int(config["OUTBOX_LEASE_SECONDS"]),
            outbox_max_attempts=int(config["OUTBOX_MAX_ATTEMPTS"]),
            outbox_backoff_seconds=int(config["OUTBOX_BACKOFF_SECONDS"]),
            webhook_timeout_seconds=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
            webhook_max_attempts=int(config["WEBHOOK_MAX_ATTEMPTS"]),
            webhook_backoff_seconds=int(config["WEBHOOK_BACKOFF_SECONDS"]),
            webhook_allow_http=bool(config["WEBHOOK_ALLOW_HTTP"]),
            webhook_allow_private_addresses=bool(config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"]),
            trusted_private_hosts=addresses.trusted_hosts(
                config.get("PORTAL_TRUSTED_PRIVATE_HOSTS") or ""
            ),
            intake_address=str(config.get("INTAKE_ADDRESS") or ""),
            intake_max_bytes=int(config["INTAKE_MAX_BYTES"]),
            intake_category=str(config.get("INTAKE_CATEGORY") or ""),
            intake_kind=str(config["INTAKE_KIND"]),
            session_lifetime=max(
                _duration(config["PERMANENT_SESSION_LIFETIME"]),
                _duration(config["REMEMBER_COOKIE_DURATION"]),
            ),
            languages=tuple(config.get("PORTAL_LANGUAGES") or ("en",)),
            attachment_max_bytes=int(config["ATTACHMENT_MAX_BYTES"]),
            attachment_max_pixels=int(config["ATTACHMENT_MAX_PIXELS"]),
            attachment_store=_attachment_store(
                str(config.get("ATTACHMENT_STORE") or "database"),
                str(config.get("ATTACHMENT_DIRECTORY") or ""),
            ),
            attachment_directory=str(config.get("ATTACHMENT_DIRECTORY") or ""),
            mail_server=(
                str(config.get("MAIL_SERVER") or "")
                if (config.get("MAIL_BACKEND") or "smtp") == "smtp"
                else ""
            ),
            identity_providers_json=str(config.get("PORTAL_IDENTITY_PROVIDERS") or ""),
            currency=str(config.get("PORTAL_CURRENCY") or "USD"),
        )

    @property
    def unsubscribe_mailbox(self) -> str:
        """Where one-click mailto unsubscribes go: the configured address, else unsubscribe@
        the sender's domain."""
        return self.mail_unsubscribe_address or (
            "unsubscribe@" + self.mail_default_sender.rpartition("@")[2]
        )


ATTACHMENT_STORES = ("database", "directory")


def _attachment_store(name: str, directory: str) -> str:
    """The configured attachment store, refused at start-up when it is not one we have or
    lacks its folder."""
    if name not in ATTACHMENT_STORES:
        raise ValueError(f"ATTACHMENT_STORE must be one of: {', '.join(ATTACHMENT_STORES)}")
    if name == "directory" and not directory:
        raise ValueError("ATTACHMENT_STORE=directory needs ATTACHMENT_DIRECTORY (a folder)")
    return name


def _duration(value: timedelta | int | float) -> timedelta:
    """A lifetime as Flask reads it: a timedelta, or a number of seconds."""
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


@dataclass(frozen=True)
class RenderedEmail:
    """A subject with its plain-text and HTML parts."""

    subject: str
    text: str
    html: str
    # The language it is written in ("en", "pt-BR"): its Content-Language.
    language: str = ""


class Presenter(Protocol):
    """What only the edge can do for a service: templates and the site's addresses."""

    def email(
        self, template: str, subject: str | Text, *, language: str | None = None, **context: Any
    ) -> RenderedEmail:
        """Render templates/emails/<template>.txt and .html with this context, in `language`
        (one of Settings.languages; None: the request's, or the site's default outside one).
        A Text subject is translated in that language too."""
        ...

    def url(self, endpoint: str, **values: Any) -> str:
        """An absolute link to a page of the portal (`_anchor` adds a #fragment)."""
        ...

    def translate(self, text: Text, language: str | None = None) -> str:
        """A service's words (portal/services/wording.py) in the reader's language, or in
        `language` (an email's, said again when it is sent)."""
        ...


@dataclass(frozen=True)
class OutgoingEmail:
    """One email as the transport sends it, its addresses already formatted."""

    from_address: str
    to_address: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str]


class MailConnection(Protocol):
    """An open connection to the mail transport."""

    def send(self, email: OutgoingEmail) -> None:
        """Send one email; raises when the transport refuses it."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class Mailer(Protocol):
    """The mail transport the outbox hands its emails to."""

    def connect(self) -> MailConnection:
        """An open connection; raises when the transport cannot be reached."""
        ...


@dataclass(frozen=True)
class Environment:
    """One app's settings, presenter, mail transport and log, as services see them."""

    settings: Settings
    presenter: Presenter
    mailer: Mailer
    log: logging.Logger


class NoEnvironment(RuntimeError):
    """A service ran outside any app (no app context pushed)."""


# How to find the environment of the app in whose context a service runs. The app factory
# registers it (the edge knows how Flask keeps the current app; services do not).
_find_current: Callable[[], Environment | None] | None = None


def find_current_with(finder: Callable[[], Environment | None]) -> None:
    """Register how current() finds the running app's environment (None: no app running)."""
    global _find_current
    _find_current = finder


def current() -> Environment:
    """The environment of the app whose context is pushed."""
    found = _find_current() if _find_current is not None else None
    if found is None:
        raise NoEnvironment(
            "No portal environment: services run inside an app's context "
            "(create_app(), then `with app.app_context():`)."
        )
    return found
