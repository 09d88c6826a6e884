"""Fixtures: one migrated database per test run (SQLite, or PostgreSQL when DATABASE_URL says so),
emptied after each test, and factory fixtures that build what a test needs."""

from __future__ import annotations

import contextvars
import itertools
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.test import TestResponse

from portal import ENVIRONMENT_KEY, create_app
from portal.config import database_url
from portal.database import sqlite_write_intent
from portal.extensions import db, limiter
from portal.models import Category, Feedback, FeedbackKind, Role, User, Visibility
from portal.services import trending
from portal.services.accounts import register_user
from portal.services.environment import Environment, Settings
from portal.services.feedback import submit_feedback
from tests.helpers import require

# The real OpenID Provider (oidc_provider, make_oidc_provider): tests/oidc_provider.py.
pytest_plugins = ["tests.oidc_provider"]

TEST_PASSWORD = "correct horse battery"


def _server_reachable(url: str) -> bool:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this run: a SQLite file, or a new PostgreSQL database."""
    raw = os.environ.get("DATABASE_URL")
    if not raw or raw.startswith("sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    server_url = sa.make_url(database_url(raw, Path(".")))
    require(
        _server_reachable(server_url.render_as_string(hide_password=False)),
        f"PostgreSQL at {server_url.host}:{server_url.port} is not answering",
    )
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests run as a real server runs them: each in a fresh context
    with its own app context, g and database session, never the test's. The test's own
    transaction ends first, so the request sees the test's data and the test then sees the
    request's changes."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


_extra_apps: list[Flask] = []


def track_app(application: Flask) -> Flask:
    """Remember an app made inside a test, so its database connections are closed after it."""
    _extra_apps.append(application)
    return application


@pytest.fixture(autouse=True)
def _close_extra_apps() -> Iterator[None]:
    # Flask-Limiter keeps its settings (enabled, storage) on the one shared instance, and
    # binding it to a second app overwrites them: a production app made in a test turned rate
    # limits on for every later test's app. Each test gets back the limiter it started with.
    limiter_before = dict(vars(limiter))
    yield
    vars(limiter).clear()
    vars(limiter).update(limiter_before)
    while _extra_apps:
        extra = _extra_apps.pop()
        with extra.app_context():
            db.session.remove()
            db.engine.dispose()


def make_test_app(database_uri: str, tmp_path: Path, **overrides: object) -> Flask:
    """An app on the given database, with a throwaway instance folder."""
    os.environ["PORTAL_INSTANCE_PATH"] = str(tmp_path)
    config = {
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "SERVER_NAME": "localhost",
    }
    config.update(overrides)
    application = create_app("testing", config)
    application.test_client_class = IsolatedClient
    return track_app(application)


@pytest.fixture(scope="session")
def app(database_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The application, on a database built by running the migrations (so they are tested)."""
    application = make_test_app(database_uri, tmp_path_factory.mktemp("instance"))
    with application.app_context():
        upgrade()
        db.session.remove()
        # Close the migration's connection now rather than leave it to the pool's end.
        db.engine.dispose()
    yield application
    with application.app_context():
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in reversed(tables):
            db.session.execute(sa.text(f"DELETE FROM {name}"))
    # The trending window's one row goes with the rest: it starts again, TRENDING_DAYS ago.
    trending.recount(db.session.connection())
    db.session.commit()
    # Raw SQL passes the caches' watch: forget what the emptied tables held.
    current_app.extensions["portal.read_cache"].clear()
    current_app.extensions["portal.page_cache"].clear()


@pytest.fixture(autouse=True)
def _app_context(app: Flask) -> Iterator[None]:
    """Every test runs inside an app context and leaves the database empty behind it."""
    # The test's own reads must not hold SQLite's write lock while requests run; its writes
    # are committed by the factories before any request starts.
    token = sqlite_write_intent.set(False)
    with app.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
    sqlite_write_intent.reset(token)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_client(app: Flask) -> Callable[[], FlaskClient]:
    """Another browser: each client keeps its own cookies."""
    return app.test_client


@pytest.fixture
def change_settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Change settings the services read (Settings' field names), until the test ends.
    Services read them from the app's environment, built once from its config: changing
    app.config would not reach them. Requests made by the test see the change too."""

    def change(**changes: Any) -> Settings:
        before: Environment = app.extensions[ENVIRONMENT_KEY]
        changed = replace(before, settings=replace(before.settings, **changes))
        monkeypatch.setitem(app.extensions, ENVIRONMENT_KEY, changed)
        return changed.settings

    return change


_sequence = itertools.count(1)


@pytest.fixture
def make_user() -> Callable[..., User]:
    """Build a committed user; pass role=Role.STAFF and so on."""

    def build(
        *,
        email: str | None = None,
        display_name: str | None = None,
        preferred_name: str = "",
        role: Role = Role.CUSTOMER,
    ) -> User:
        n = next(_sequence)
        user = register_user(
            email=email or f"person{n}@example.com",
            password=TEST_PASSWORD,
            display_name=display_name or f"Person {n}",
            preferred_name=preferred_name,
            role=role,
        )
        db.session.commit()
        return user

    return build


@pytest.fixture
def make_category() -> Callable[..., Category]:
    def build(*, name: str | None = None, ack_target_hours: int = 48) -> Category:
        n = next(_sequence)
        name = name or f"Category {n}"
        category = Category(
            name=name, slug=name.lower().replace(" ", "-"), ack_target_hours=ack_target_hours
        )
        db.session.add(category)
        db.session.commit()
        return category

    return build


@pytest.fixture
def make_feedback(
    make_user: Callable[..., User], make_category: Callable[..., Category]
) -> Callable[..., Feedback]:
    """Build a committed item through the submit service; every argument is optional."""

    def build(
        *,
        author: User | None = None,
        category: Category | None = None,
        title: str | None = None,
        body: str = "It happened again this morning.",
        kind: FeedbackKind = FeedbackKind.COMPLAINT,
        visibility: Visibility = Visibility.PUBLIC,
        images: Sequence[str] = (),
        post_anyway: bool = False,
    ) -> Feedback:
        item = submit_feedback(
            author or make_user(),
            kind=kind,
            category_id=(category or make_category()).id,
            title=title or f"Problem number {next(_sequence)}",
            body=body,
            visibility=visibility,
            images=images,
            post_anyway=post_anyway,
        )
        db.session.commit()
        return item

    return build


class SmtpSink:
    """A real SMTP server on a free loopback port that keeps what it receives."""

    def __init__(self) -> None:
        from email import message_from_bytes, policy

        self.messages: list[Any] = []
        # The bytes as they arrived, for tests that parse them strictly themselves.
        self.raw: list[bytes] = []
        self._parse = lambda data: message_from_bytes(data, policy=policy.default)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        message = self._parse(data)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
            self.raw.append(data)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Any]:
        """Messages whose envelope recipient is this address."""
        return [m for m in self.messages if address in m["X-Envelope-To"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[SmtpSink]:
    """Start an SMTP server and point the app's mail at it for this test."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    sink.port = port  # type: ignore[attr-defined]
    try:
        yield sink
    finally:
        controller.stop()
        app.config.update(saved)


@pytest.fixture
def smtp_down(app: Flask) -> Iterator[int]:
    """Point the app's mail at a port where nothing listens (an SMTP outage)."""
    port = _free_port()
    saved = {k: app.config[k] for k in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield port
    finally:
        app.config.update(saved)


@pytest.fixture
def make_verified_user(make_user: Callable[..., User]) -> Callable[..., User]:
    """Like make_user, with a verified email address (only those get notifications)."""
    from datetime import UTC, datetime

    def build(**kwargs: Any) -> User:
        user = make_user(**kwargs)
        user.verified_at = datetime.now(UTC)
        db.session.commit()
        return user

    return build
