"""Scale-out, proven: two gunicorn instances over one PostgreSQL database and one Redis.

A customer signed in on one instance is signed in on the other; votes sent to both at once
end exact; a rate limit counts requests across both; two outbox deliverers and two digest
senders running at once deliver each message once."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import SmtpSink, _free_port, _server_reachable
from tests.helpers import require

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A fresh PostgreSQL database, migrated and seeded, and two gunicorn instances on it."""
    from portal.config import database_url

    raw = os.environ.get("DATABASE_URL") or ""
    if os.environ.get("CI") and not raw.startswith("postgres"):
        pytest.skip("in CI the scale test runs once, in the PostgreSQL pass of the suite")
    server = sa.make_url(database_url(raw if raw.startswith("postgres") else DEFAULT_SERVER, None))
    require(
        _server_reachable(server.render_as_string(hide_password=False)),
        "the scale test needs PostgreSQL at 127.0.0.1:5432",
    )
    require(_redis_up(), "the scale test needs Redis at 127.0.0.1:6379")
    name = f"portal_scale_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    instance = tmp_path_factory.mktemp("scale-instance")
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),  # one key shared by every process
        "DATABASE_URL": url,
        "PORTAL_INSTANCE_PATH": str(instance),
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"scale-{uuid.uuid4().hex[:8]}",
        "SESSION_COOKIE_SECURE": "false",  # plain http on loopback
        "PORTAL_ALLOW_HTTP": "1",  # on purpose, for the same reason
        "OUTBOX_DELIVER_AFTER_COMMIT": "false",
        "LOG_JSON": "false",
        "FORM_MIN_FILL_SECONDS": "0",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True)
    ports = [_free_port(), _free_port()]
    # gunicorn's logs go to a file: an unread pipe would fill up and stall the servers.
    log = (instance / "gunicorn.log").open("wb")
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    try:
        for port in ports:
            _wait_until_up(f"http://127.0.0.1:{port}/healthz")
        yield {
            "urls": [f"http://127.0.0.1:{p}" for p in ports],
            "env": env,
            "db": url,
            "flask": flask,
        }
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            proc.wait(timeout=15)
        log.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


SEED = f"""
from datetime import UTC, datetime
from portal import create_app
from portal.extensions import db
from portal.models import Category, Role
from portal.services.accounts import register_user
from portal.services.feedback import submit_feedback
app = create_app()
with app.app_context():
    category = Category(name="Delivery", slug="delivery", ack_target_hours=24)
    db.session.add(category)
    db.session.flush()
    author = register_user(email="author@example.com", password={PASSWORD!r},
                           display_name="Author", preferred_name="Ann")
    for n in range(12):
        register_user(email=f"voter{{n}}@example.com", password={PASSWORD!r},
                      display_name=f"Voter {{n}}")
    submit_feedback(author, kind="complaint", category_id=category.id,
                    title="Parcels arrive late", body="Every week it is late.")
    db.session.commit()
"""


def _wait_until_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def _token(html: str) -> str:
    # A signed-in page's meta tag, or a form's hidden field (the sign-in page).
    return re.search(
        r'name="csrf(?:-token" content|_token" type="hidden" value)="([^"]+)"', html
    ).group(1)


def _sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = _token(session.get(f"{base}/account/login", timeout=10).text)
    response = session.post(
        f"{base}/account/login",
        timeout=10,
        allow_redirects=False,
        data={"csrf_token": token, "email": email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.text[:300]
    return session


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request: pytest.FixtureRequest) -> None:
    """Each test starts with empty rate-limit counters (they live in Redis, shared)."""
    if "cluster" not in request.fixturenames:
        return
    import redis

    prefix = request.getfixturevalue("cluster")["env"]["RATELIMIT_KEY_PREFIX"]
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_customer_signed_in_on_one_instance_is_signed_in_on_the_other(cluster) -> None:
    first, second = cluster["urls"]
    session = _sign_in(first, "author@example.com")
    page = session.get(f"{second}/account/", timeout=10, allow_redirects=False)
    assert page.status_code == 200 and "Hello, Ann" in page.text


def test_votes_sent_to_both_instances_at_once_end_exact(cluster) -> None:
    urls = cluster["urls"]
    # Eight sign-ins stay under the sign-in rate limit (ten a minute from one address).
    sessions = [_sign_in(urls[n % 2], f"voter{n}@example.com") for n in range(8)]
    barrier = threading.Barrier(len(sessions))
    failures: list[str] = []

    def vote(n: int, session: requests.Session) -> None:
        base = urls[(n + 1) % 2]  # vote on the instance they did not sign in on
        token = _token(session.get(f"{base}/", timeout=10).text)
        barrier.wait()
        for _ in range(3):  # vote, unvote, vote: everyone ends with a vote
            r = session.post(
                f"{base}/feedback/1/vote",
                timeout=20,
                headers={"HX-Request": "true", "X-CSRFToken": token},
            )
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=vote, args=(n, s)) for n, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    engine = sa.create_engine(cluster["db"])
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM votes WHERE feedback_id = 1")).scalar()
        stored = conn.execute(sa.text("SELECT vote_count FROM feedback WHERE id = 1")).scalar()
    engine.dispose()
    assert rows == stored == 9  # the author and eight voters


def test_a_rate_limit_counts_requests_across_both_instances(cluster) -> None:
    urls = cluster["urls"]
    statuses = []
    for n in range(14):  # sign-in allows 10 per minute per address
        session = requests.Session()
        base = urls[n % 2]
        token = _token(session.get(f"{base}/account/login", timeout=10).text)
        statuses.append(
            session.post(
                f"{base}/account/login",
                timeout=10,
                allow_redirects=False,
                data={"csrf_token": token, "email": "nobody@example.com", "password": "wrong"},
            ).status_code
        )
    assert statuses[:10] == [200] * 10  # wrong password: the form again
    assert statuses[10:] == [429] * 4


def test_two_outbox_deliverers_and_two_digest_senders_deliver_each_message_once(cluster) -> None:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**cluster["env"], "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port)}
    engine = sa.create_engine(cluster["db"])
    now = datetime.now(UTC)
    last_week = now - timedelta(days=7)
    try:
        with engine.begin() as conn:
            for n in range(60):
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox_messages (message_id, kind, to_email, to_name, "
                        "from_name, subject, text_body, html_body, headers, status, attempts, "
                        "next_attempt_at, last_error, created_at) VALUES (:mid, 'test', :to, "
                        "'', '', 'Hello', 'Hi', '', '{}', 'pending', 0, :now, '', :now)"
                    ),
                    {"mid": f"<scale-{n}@portal.test>", "to": f"r{n}@example.com", "now": now},
                )
            for n in range(8):
                conn.execute(
                    sa.text(
                        "INSERT INTO digest_subscriptions (email, frequency, confirm_token, "
                        "unsubscribe_token, confirmed_at, created_at) "
                        "VALUES (:e, 'weekly', :c, :u, :now, :now)"
                    ),
                    {
                        "e": f"sub{n}@example.com",
                        "c": uuid.uuid4().hex,
                        "u": uuid.uuid4().hex,
                        "now": now - timedelta(days=30),
                    },
                )
            conn.execute(
                sa.text(
                    "INSERT INTO resolutions (you_said, we_did_source, we_did_html, category_id, "
                    "published_at, updated_at) VALUES ('Late parcels', 'New courier', "
                    "'<p>New courier</p>', 1, :t, :t)"
                ),
                {"t": last_week},
            )

        def run_pair(*args: str) -> None:
            procs = [
                subprocess.Popen(
                    [*cluster["flask"], *args],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                for _ in range(2)
            ]
            for proc in procs:
                _out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err.decode()[-2000:]

        run_pair("digest", "send", "--period", "weekly")
        run_pair("outbox", "deliver", "--batch-size", "5")
        run_pair("outbox", "deliver", "--batch-size", "5")  # nothing left: sends nothing
        received = [m["Message-ID"] for m in sink.messages]
        assert len(received) == len(set(received)) == 60 + 8
        for n in range(8):
            assert len(sink.to(f"sub{n}@example.com")) == 1
    finally:
        controller.stop()
        engine.dispose()
