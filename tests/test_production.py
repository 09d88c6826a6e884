"""The production configuration: secrets, proxies, request ids and JSON logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal import create_app
from portal.logging_setup import JsonFormatter, RequestIdFilter
from tests.conftest import track_app

STRONG = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz"


def _production(database_uri: str, tmp_path, monkeypatch, **config: object):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_uri,
        # No delivery thread: this app shares the test database with the suite's app.
        "OUTBOX_DELIVER_AFTER_COMMIT": False,
        "PORTAL_BASE_URL": "https://feedback.example.org",
        **config,
    }
    return track_app(create_app("production", settings))


@pytest.mark.parametrize("weak", ["secret", "changeme", "short-key", "a" * 40])
def test_production_refuses_a_weak_secret_key(database_uri, tmp_path, monkeypatch, weak) -> None:
    with pytest.raises(RuntimeError, match="too weak"):
        _production(database_uri, tmp_path, monkeypatch, SECRET_KEY=weak)


def test_production_refuses_to_start_without_a_secret_key(database_uri, tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        _production(database_uri, tmp_path, monkeypatch, SECRET_KEY=None)


def test_production_starts_with_a_strong_key_and_secure_cookies(
    database_uri, tmp_path, monkeypatch
) -> None:
    app = _production(database_uri, tmp_path, monkeypatch, SECRET_KEY=STRONG)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


@pytest.mark.parametrize("base_url", ["http://feedback.example.org", "feedback.example.org", ""])
def test_production_refuses_a_base_url_that_is_not_https(
    database_uri, tmp_path, monkeypatch, base_url: str
) -> None:
    with pytest.raises(RuntimeError, match="PORTAL_BASE_URL must be the site's public https"):
        _production(
            database_uri, tmp_path, monkeypatch, SECRET_KEY=STRONG, PORTAL_BASE_URL=base_url
        )


def test_production_serves_over_http_when_told_it_is_on_purpose(
    database_uri, tmp_path, monkeypatch
) -> None:
    app = _production(
        database_uri,
        tmp_path,
        monkeypatch,
        SECRET_KEY=STRONG,
        PORTAL_BASE_URL="http://127.0.0.1:8000",
        PORTAL_ALLOW_HTTP=True,
    )
    assert app.test_client().get("/healthz").status_code == 200


def _start_production_process(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """Load wsgi.py as gunicorn would, with only the given settings in the environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "SECRET_KEY"))}
    env = {
        **clean,
        "PORTAL_ENV": "production",
        "SECRET_KEY": STRONG,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "OUTBOX_DELIVER_AFTER_COMMIT": "false",
        **environ,
    }
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_variables_refuse_and_allow_plain_http(tmp_path: Path) -> None:
    unset = _start_production_process(tmp_path)
    assert unset.returncode != 0 and "PORTAL_BASE_URL must be" in unset.stderr
    assert "PORTAL_ALLOW_HTTP=1" in unset.stderr, "the message says how to allow it"
    plain = _start_production_process(tmp_path, PORTAL_BASE_URL="http://127.0.0.1:8000")
    assert plain.returncode != 0 and "'http://127.0.0.1:8000'" in plain.stderr
    allowed = _start_production_process(
        tmp_path, PORTAL_BASE_URL="http://127.0.0.1:8000", PORTAL_ALLOW_HTTP="1"
    )
    assert allowed.returncode == 0, allowed.stderr
    secure = _start_production_process(tmp_path, PORTAL_BASE_URL="https://feedback.example.org")
    assert secure.returncode == 0, secure.stderr


def test_every_response_carries_a_request_id_and_keeps_a_sane_incoming_one(client) -> None:
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) >= 8
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    injected = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert "<" not in injected.headers["X-Request-ID"]


def test_behind_a_proxy_the_forwarded_scheme_turns_on_hsts(
    database_uri, tmp_path, monkeypatch
) -> None:
    # An https base URL sends HSTS on every response; an http one shows the scheme at work.
    app = _production(
        database_uri,
        tmp_path,
        monkeypatch,
        SECRET_KEY=STRONG,
        PROXY_FIX_HOPS=1,
        LOG_JSON=False,
        PORTAL_BASE_URL="http://localhost",
        PORTAL_ALLOW_HTTP=True,
    )
    http = "http://localhost"
    response = app.test_client().get(
        "/healthz", base_url=http, headers={"X-Forwarded-Proto": "https"}
    )
    assert "Strict-Transport-Security" in response.headers
    plain = app.test_client().get("/healthz", base_url=http)
    assert "Strict-Transport-Security" not in plain.headers


def test_json_log_lines_carry_the_request_id(app) -> None:
    record = logging.LogRecord("portal", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    with app.test_request_context("/x"):
        from flask import g

        g.request_id = "req-42"
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello there"
    assert line["request_id"] == "req-42" and line["path"] == "/x" and line["level"] == "INFO"


def test_production_keeps_a_statements_values_out_of_its_errors(
    database_uri, tmp_path, monkeypatch
) -> None:
    import sqlalchemy as sa

    from portal.extensions import db

    app = _production(database_uri, tmp_path, monkeypatch, SECRET_KEY=STRONG)
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError) as failed:
            db.session.execute(
                sa.text("SELECT * FROM no_such_table WHERE email = :email"),
                {"email": "nia@example.com"},
            )
        db.session.rollback()
    assert "no_such_table" in str(failed.value)
    assert "nia@example.com" not in str(failed.value)


def test_production_refuses_to_seed_demo_accounts(database_uri, tmp_path, monkeypatch) -> None:
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import User

    app = _production(database_uri, tmp_path, monkeypatch, SECRET_KEY=STRONG)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        db.session.rollback()
    with app.app_context():  # the command runs in the app whose context is current
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "Demo data is not for production" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before
        db.session.rollback()
