"""Configuration classes. Every value can come from the environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any


def database_url(raw: str | None, instance_dir: Path) -> str:
    """Return the SQLAlchemy URL for DATABASE_URL, defaulting to SQLite under instance/."""
    if not raw:
        return f"sqlite:///{instance_dir / 'portal.sqlite3'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver (psycopg 3).
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def instance_secret_key(instance_dir: Path) -> str:
    """Read the development secret key from instance/, generating it on first use."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with owner-only permissions: the key signs every session cookie.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


KNOWN_WEAK_SECRETS = frozenset(
    {"secret", "changeme", "change-me", "dev", "development", "password", "secret-key", "test"}
)


def weak_secret(key: str) -> bool:
    """A key too short, too repetitive or too well known to sign sessions in production."""
    return len(key) < 32 or key.lower() in KNOWN_WEAK_SECRETS or len(set(key)) < 10


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # Resolved by create_app(): the default SQLite file lives in the instance folder.
    DATABASE_URL: str | None = os.environ.get("DATABASE_URL")
    # The pool hands out the connection returned last (LIFO): its caches are the warm ones
    # (SQLite's pages, PostgreSQL's plans), and connections beyond the busiest moment's stay
    # idle instead of each filling a cache of its own in turn (FIFO, SQLAlchemy's default).
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True, "pool_use_lifo": True}
    SQLALCHEMY_RECORD_QUERIES = False
    # `flask seed-demo` may fill a database with demo people (refused in production).
    DEMO_DATA_ALLOWED = True

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; a long form never expires
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)

    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "portal")

    # Outgoing mail. Without MAIL_SERVER, messages are written as .eml files to instance/mail/.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    # Extra trusted certificates (PEM) for the mail server's TLS: an in-house server whose
    # certificate no public authority signed. Certificates are always checked.
    MAIL_SSL_CA_FILE = os.environ.get("MAIL_SSL_CA_FILE", "")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "15"))
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "feedback@portal.localhost")
    # Where one-click mailto unsubscribes go (List-Unsubscribe); defaults to the sender's domain.
    MAIL_UNSUBSCRIBE_ADDRESS = os.environ.get("MAIL_UNSUBSCRIBE_ADDRESS", "")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "")

    # Absolute links in emails and feeds point here.
    PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000")
    # Production refuses a plain-http PORTAL_BASE_URL unless this says it is on purpose
    # (a loopback benchmark or test): links in emails would otherwise send people over http.
    PORTAL_ALLOW_HTTP = _bool("PORTAL_ALLOW_HTTP", False)

    # The outbox: the web app delivers right after a commit, so one machine needs no cron.
    OUTBOX_DELIVER_AFTER_COMMIT = _bool("OUTBOX_DELIVER_AFTER_COMMIT", True)
    OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
    OUTBOX_BACKOFF_SECONDS = int(os.environ.get("OUTBOX_BACKOFF_SECONDS", "60"))
    # A claim older than this is taken to belong to a deliverer that died; the row is retried.
    OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "600"))
    # Notification emails per person per day before the rest fold into one summary.
    NOTIFICATION_DAILY_CAP = int(os.environ.get("NOTIFICATION_DAILY_CAP", "10"))

    # Outgoing webhooks (delivered by the outbox deliverers). Plain http and internal addresses
    # are for development and tests; production turns both off unless asked.
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
    WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
    WEBHOOK_BACKOFF_SECONDS = int(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "30"))
    WEBHOOK_ALLOW_HTTP = _bool("WEBHOOK_ALLOW_HTTP", True)
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", True)
    # Comma-separated host names the portal may call at a private address although a person
    # typed them (an in-house webhook receiver or identity provider); exact names only.
    PORTAL_TRUSTED_PRIVATE_HOSTS = os.environ.get("PORTAL_TRUSTED_PRIVATE_HOSTS", "")
    # Identity providers set up outside the admin pages: a JSON list of objects with key,
    # name, kind ("oidc" or "github"), discovery_url, client_id, client_secret and scopes
    # (README: "Signing in through Google, Entra ID or Keycloak").
    PORTAL_IDENTITY_PROVIDERS = os.environ.get("PORTAL_IDENTITY_PROVIDERS", "")

    # The currency customers' monthly values are kept in (ISO 4217, "EUR"): staff pages show
    # them in it; the values themselves are cents (portal/services/customer_value.py).
    PORTAL_CURRENCY = os.environ.get("PORTAL_CURRENCY", "USD").strip().upper() or "USD"

    # Email intake (`flask intake email`). INTAKE_ADDRESS is the address the mail server pipes
    # to; when set, notification emails carry a Reply-To on it so replies become comments.
    INTAKE_ADDRESS = os.environ.get("INTAKE_ADDRESS", "")
    # 25 MB, the most common providers send: room for a few phone photos, base64-encoded
    # (images are kept from email since issue #24).
    INTAKE_MAX_BYTES = int(os.environ.get("INTAKE_MAX_BYTES", str(25 * 1024 * 1024)))
    # Where emailed items go: a category slug (default: the first category) and a kind.
    INTAKE_CATEGORY = os.environ.get("INTAKE_CATEGORY", "")
    INTAKE_KIND = os.environ.get("INTAKE_KIND", "complaint")

    # Attachments (images on items and comments): the largest upload kept, in bytes, and in
    # pixels (read from the image's header, before it is decoded: a small file can claim a
    # huge picture). Where the images are kept: "database" (default: every app process and
    # every backup has them) or "directory" (ATTACHMENT_DIRECTORY, a folder all processes share).
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
    ATTACHMENT_MAX_PIXELS = int(os.environ.get("ATTACHMENT_MAX_PIXELS", str(40_000_000)))
    ATTACHMENT_STORE = os.environ.get("ATTACHMENT_STORE", "database")
    ATTACHMENT_DIRECTORY = os.environ.get("ATTACHMENT_DIRECTORY", "")

    # Password hashing: Werkzeug's scrypt, its current default.
    PASSWORD_HASH_METHOD = "scrypt"

    BOARD_PAGE_SIZE = 20
    # How long one app process may reuse site settings, the category list and board counts
    # before reading them again (0 = always read). Other processes see an admin's change
    # within this many seconds; the process that made it sees it at once.
    READ_CACHE_SECONDS = float(os.environ.get("READ_CACHE_SECONDS", "10"))
    # Public pages for visitors who are not signed in are rendered once and reused this long
    # per process (portal/page_cache.py; 0 = off), up to this many megabytes of pages.
    PAGE_CACHE_SECONDS = float(os.environ.get("PAGE_CACHE_SECONDS", "10"))
    PAGE_CACHE_MB = float(os.environ.get("PAGE_CACHE_MB", "32"))
    # The public "How we're doing" figures are computed at most this often per process.
    INSIGHTS_PUBLIC_CACHE_SECONDS = int(os.environ.get("INSIGHTS_PUBLIC_CACHE_SECONDS", "300"))
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host (0 = none).
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))
    LOG_JSON = _bool("LOG_JSON", False)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Public forms posted sooner than this after they were shown are taken for bots.
    FORM_MIN_FILL_SECONDS = int(os.environ.get("FORM_MIN_FILL_SECONDS", "2"))


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, a generated secret key."""

    DEBUG = False


class TestingConfig(Config):
    """The test suite: CSRF stays on (tests send tokens); rate limits are off unless enabled."""

    TESTING = True
    RATELIMIT_ENABLED = False
    # A cheap hash keeps the suite fast; production uses scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Tests post forms at once; the spam-check test turns the minimum time back on.
    FORM_MIN_FILL_SECONDS = 0
    # Tests deliver the outbox explicitly, to a real SMTP server they start.
    OUTBOX_DELIVER_AFTER_COMMIT = False
    MAIL_BACKEND = "locmem"
    # Figures recomputed on every request; the cache test sets its own lifetime.
    INSIGHTS_PUBLIC_CACHE_SECONDS = 0
    # Tests read pages straight after changing data by other routes; the page cache's own
    # tests turn it on.
    PAGE_CACHE_SECONDS = 0


class ProductionConfig(Config):
    """Production: the secret key must come from the environment, cookies are secure,
    logs are JSON lines."""

    # Secure unless explicitly turned off (only for plain-http loopback tests and benchmarks).
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"
    LOG_JSON = _bool("LOG_JSON", True)
    # Webhooks go to public https receivers only (no requests into the private network).
    WEBHOOK_ALLOW_HTTP = _bool("WEBHOOK_ALLOW_HTTP", False)
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
    # A statement's values stay out of error messages and logs (an email address in a
    # failed INSERT, say): ASVS 5.0 V16.2.5.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_use_lifo": True,
        "hide_parameters": True,
    }
    # Demo accounts (an admin among them, with a printed password) have no place here.
    DEMO_DATA_ALLOWED = False


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
