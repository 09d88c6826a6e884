"""The production configuration: secrets, proxies, request ids and JSON logs."""

from __future__ import annotations

import json
import logging

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
    app = _production(
        database_uri, tmp_path, monkeypatch, SECRET_KEY=STRONG, PROXY_FIX_HOPS=1, LOG_JSON=False
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
