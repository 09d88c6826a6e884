"""The portal's benchmark, in one command: `make bench` or `.venv/bin/python bench/run.py`.

1. Seeds a database (SQLite file under bench/results/, or `--db postgres`) with N items and
   what hangs off them, schema from the project's migrations, data by bulk inserts.
2. Serves the portal, bench/minimal_app.py (the framework's floor) and two floors that do a
   page's or a signed-in write's job with nothing but the stack (bench/page_floor_app.py,
   bench/write_floor_app.py), all with gunicorn under the same settings.
3. Drives them, endpoint by endpoint, with wrk (or a Python fallback).
4. Prints per endpoint: throughput, p50/p99, share of the minimal app's and of the fitting
   floor's throughput, status codes, cost growth from N=1,000 to N, SQL statements per
   request, each worker's memory after warm-up and after the run, and the targets.
Results go to bench/results/<timestamp>-<db>.{txt,json}.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
sys.path.insert(0, str(BENCH_DIR))

from loadgen import (  # noqa: E402
    LoadResult,
    Request,
    fetch,
    have_wrk,
    paired_medians,
    run_python,
    run_wrk,
    sequential_median,
)
from seed import (  # noqa: E402
    CUSTOMER_EMAIL,
    FILTER_CATEGORY,
    PASSWORD,
    SEARCH_WORD,
    SECRET_KEY,
    SeedStats,
    customer_email,
    seed_database,
    verify_counters,
)

# Both apps run under exactly these settings. gthread rather than sync: it keeps connections
# alive (wrk and browsers behind a proxy reuse them), and 2 workers x 4 threads gives the 8
# connections a thread each while the GIL still limits each worker to one core.
GUNICORN_WORKERS = 2
GUNICORN_WORKER_CLASS = "gthread"
GUNICORN_THREADS = 4
GUNICORN_SETTINGS = (
    f"{GUNICORN_WORKERS} workers, -k {GUNICORN_WORKER_CLASS} --threads {GUNICORN_THREADS}, "
    "gunicorn.conf.py, no recycling"
)
BOARD_PAGE_SIZE = 20
GROWTH_ITEMS = 1000
READY_TIMEOUT_S = 60
WARMUP_REQUESTS = 20
GROWTH_BUDGET_S = 45.0
# A load run where one worker did this share of the work ran on one core; it is repeated.
ONE_WORKER_SHARE = 0.8
UNBALANCED_RETRIES = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
TX_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


def log(msg: str) -> None:
    print(msg, flush=True)


class SetupError(RuntimeError):
    """The benchmark could not be set up (database, server, sign-in): exit non-zero."""


# --- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One thing to measure, with the targets from the issue that apply to it."""

    name: str
    kind: str  # board, filtered, deep, trending, answered, item, resolutions, feed, ..., vote
    ratio_target: float | None
    sql_target: int | None
    growth_target: float | None
    expected: tuple[str, ...] = ("200",)
    # Visitors get this from the page cache (portal/page_cache.py): it is measured again
    # with the cache off, to show what rendering it costs.
    cached: bool = True
    # The floor that does the same job with nothing but the stack: "page" (the board's page
    # from one query through plain Jinja), "write" (a signed-in UPDATE and a fragment),
    # "write-hot" (the same with many people at once), or none. Compared with the uncached
    # run where there is one.
    floor: str | None = None
    floor_target: float | None = None
    # The uncached run against the minimal app (the cached run has ratio_target).
    uncached_target: float | None = None
    # Sent as the signed-in customer (the vote's): never from the page cache.
    signed_in: bool = False


ENDPOINTS = [
    Endpoint(
        "board page 1",
        "board",
        0.50,
        6,
        1.25,
        floor="page",
        floor_target=0.50,
        uncached_target=0.15,
    ),
    Endpoint("board filtered+sorted", "filtered", 0.50, 6, 1.25, floor="page"),
    Endpoint("board last page", "deep", 0.50, 6, 1.25, floor="page"),
    # The two orders that list only some items: the last fortnight's votes, the answers.
    Endpoint("board trending", "trending", 0.50, 6, 1.25, floor="page"),
    Endpoint("board recently answered", "answered", 0.50, 6, 1.25, floor="page"),
    Endpoint(
        "item page", "item", 0.50, 6, 1.25, floor="page", floor_target=0.50, uncached_target=0.15
    ),
    Endpoint(
        "you said, we did",
        "resolutions",
        0.50,
        6,
        1.25,
        floor="page",
        floor_target=0.50,
        uncached_target=0.15,
    ),
    Endpoint("feed (fresh)", "feed", None, 6, 1.25, floor="page"),
    Endpoint("feed (304)", "feed304", 0.80, 6, 1.25, expected=("304",)),
    Endpoint(
        "search", "search", 0.30, 6, 1.25, floor="page", floor_target=0.50, uncached_target=0.15
    ),
    Endpoint(
        "vote (htmx, signed in)",
        "vote",
        0.20,
        None,
        None,
        cached=False,
        floor="write",
        floor_target=0.50,
        signed_in=True,
    ),
    # A digest sends everyone to one item: HOT_CUSTOMERS people vote on it at once, each
    # toggling their own vote (on PostgreSQL the target is half the SQLite vote's rate:
    # --compare-with).
    Endpoint(
        "vote, hot item",
        "hotvote",
        None,
        None,
        None,
        cached=False,
        floor="write-hot",
        signed_in=True,
    ),
    # The board as every signed-in customer gets it: rendered for them (a vote form on each
    # open card, their name and updates in the header), never from the page cache.
    Endpoint(
        "board page 1, signed in",
        "signedboard",
        None,
        None,
        None,
        cached=False,
        floor="page",
        signed_in=True,
    ),
]
# Customers signed in for the hot item: two per connection, shared out among wrk's threads.
HOT_CUSTOMERS = 16
# The issue's target for the hot item on PostgreSQL, as a share of the SQLite vote.
HOT_VS_SQLITE_TARGET = 0.50
# Each worker's resident memory may grow this much from warm-up to the end of the run.
RSS_GROWTH_TARGET = 0.10
# A worker's memory keeps growing for a while under concurrent load after the warm-up's
# requests: every thread's malloc arena and database connection (with its page cache) fills
# as all of them serve at once. The warm figure is read once that has settled: load runs of
# SETTLE_SECONDS per request, in rounds, until a round grows no worker by more than
# SETTLE_GROWTH (at most SETTLE_ROUNDS). What the measured run adds after that is growth.
SETTLE_SECONDS = 2
SETTLE_GROWTH = 0.02
SETTLE_ROUNDS = 4
# Insights at N: each figure set within this many ms, and growing at most this much from
# N=1,000 (the daily roll-ups make them independent of history).
INSIGHTS_MS_TARGET = 150.0
INSIGHTS_GROWTH_TARGET = 2.0
INSIGHTS_WITH_TARGETS = (
    "staff insights page",
    "public figures, 30 days",
    "public figures, 365 days",
)


@dataclass
class SiteFacts:
    """What the requests point at in one seeded database."""

    items: int
    public_items: int
    last_page: int
    item_id: int
    item_votes: int
    category: str
    search_word: str
    # The vote's item: the most voted one still open to votes (item_id, the most voted public
    # item, is resolved in the seeded data, and resolved items take no more votes).
    vote_item_id: int


@dataclass
class Session:
    """A signed-in customer: the cookie and the CSRF token from the page's meta tag."""

    cookie: str
    csrf_token: str

    def headers(self) -> dict[str, str]:
        """What a request sends to act as this person."""
        return {"Cookie": self.cookie, "X-CSRFToken": self.csrf_token}


def build_request(
    ep: Endpoint,
    facts: SiteFacts,
    etag: str | None = None,
    session: Session | None = None,
    crowd: list[Session] | None = None,
) -> Request:
    """The HTTP request for an endpoint against one database."""
    paths = {
        "board": "/",
        "filtered": "/?"
        + urlencode({"category": facts.category, "state": "planned", "sort": "new"}),
        "deep": f"/?page={facts.last_page}",
        "trending": "/?sort=trending",
        "answered": "/?sort=answered",
        "item": f"/feedback/{facts.item_id}",
        "resolutions": "/you-said-we-did",
        "feed": "/feeds/resolutions.atom",
        "feed304": "/feeds/resolutions.atom",
        "search": "/?" + urlencode({"q": facts.search_word}),
        "signedboard": "/",
        "vote": f"/feedback/{facts.vote_item_id}/vote",
        "hotvote": f"/feedback/{facts.vote_item_id}/vote",
    }
    if ep.kind == "feed304":
        if not etag:
            raise SetupError("the feed sent no ETag")
        return Request("GET", paths["feed304"], {"If-None-Match": etag})
    if ep.kind in ("vote", "hotvote"):
        people = [session] if ep.kind == "vote" and session else crowd
        if not people:
            raise SetupError(f"{ep.name} needs signed-in sessions")
        return vote_request(paths[ep.kind], people)
    if ep.signed_in:
        if not session:
            raise SetupError(f"{ep.name} needs a signed-in session")
        return Request("GET", paths[ep.kind], {"Cookie": session.cookie})
    return Request("GET", paths[ep.kind])


def vote_request(path: str, people: list[Session]) -> Request:
    """The htmx vote as one person, or as many in turn (each with their own session)."""
    base = {"HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"}
    if len(people) == 1:
        return Request("POST", path, {**base, **people[0].headers()})
    return Request("POST", path, base, rotate=tuple(p.headers() for p in people))


# --- databases -------------------------------------------------------------------------------


@dataclass
class BenchDb:
    """One benchmark database: how the bench reaches it and how the served app does."""

    label: str
    items: int
    sa_url: str  # SQLAlchemy URL used in this process
    env_url: str  # DATABASE_URL for gunicorn
    admin_url: str | None = None  # PostgreSQL: where to CREATE/DROP it
    name: str = ""
    seed: SeedStats | None = None
    reused: bool = False
    verify: dict[str, int] = field(default_factory=dict)


def make_db(kind: str, label: str, items: int, pg_url: str) -> BenchDb:
    """Describe the database for one size (created later)."""
    if kind == "sqlite":
        path = RESULTS / f"portal_bench_{items}.sqlite3"
        url = f"sqlite:///{path}"
        return BenchDb(label, items, url, url, name=str(path))
    parts = urlsplit(pg_url)
    name = "portal_bench" if label == "main" else "portal_bench_small"
    server = f"{parts.scheme}://{parts.netloc}"
    return BenchDb(
        label,
        items,
        sa_url=f"postgresql+psycopg://{parts.netloc}/{name}",
        env_url=f"{server}/{name}",
        admin_url=f"postgresql+psycopg://{parts.netloc}{parts.path or '/postgres'}",
        name=name,
    )


def make_app(db_url: str, **overrides: Any) -> Any:
    """The portal app in this process, configured like the served one (`overrides` change
    its config further)."""
    from portal import create_app

    return create_app(
        "production",
        overrides={
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_ALLOW_HTTP": True,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DELIVER_AFTER_COMMIT": False,
            # Statement counts are what rendering a page costs, not a cache hit's zero.
            "PAGE_CACHE_SECONDS": 0,
            **overrides,
        },
    )


def _dispose(app: Any) -> None:
    from portal.extensions import db

    with app.app_context():
        db.engine.dispose()


def _exists(bdb: BenchDb) -> bool:
    if bdb.admin_url is None:
        return Path(bdb.name).exists()
    engine = sa.create_engine(bdb.admin_url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": bdb.name}
                )
            )
    finally:
        engine.dispose()


def _recreate(bdb: BenchDb) -> None:
    if bdb.admin_url is None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(bdb.name + suffix).unlink(missing_ok=True)
        return
    engine = sa.create_engine(bdb.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{bdb.name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{bdb.name}"'))
    finally:
        engine.dispose()


def prepare_db(
    bdb: BenchDb, keep: bool, resolutions: int | None, log: Callable[[str], None]
) -> None:
    """Create, migrate and seed the database, or reuse it with --keep when it has N items."""
    import flask_migrate

    from portal.extensions import db

    if keep and _exists(bdb):
        app = make_app(bdb.sa_url)
        try:
            with app.app_context():
                flask_migrate.upgrade()
                count = db.session.scalar(sa.text("SELECT count(*) FROM feedback"))
        finally:
            _dispose(app)
        if count == bdb.items:
            bdb.reused = True
            log(f"Reusing the {bdb.label} database ({bdb.items:,} items): {bdb.name}")
            rebuild_rollups_if_behind(bdb, log)
            sweep_trending(bdb)
            return
        log(f"The {bdb.label} database has {count:,} items, not {bdb.items:,}: seeding it again")
    _recreate(bdb)
    app = make_app(bdb.sa_url)
    try:
        t0 = time.perf_counter()
        with app.app_context():
            flask_migrate.upgrade()
        migrate_s = time.perf_counter() - t0
        log(f"Seeding the {bdb.label} database: {bdb.items:,} items into {bdb.name}")
        bdb.seed = seed_database(app, bdb.items, resolutions, log=log)
        bdb.seed.phases["migrate"] = migrate_s
        s = bdb.seed
        log(
            f"Seeded in {s.seconds:.1f}s: {s.items:,} items, {s.votes:,} votes "
            f"({s.votes / max(1, s.items):.1f} per item), {s.comments:,} comments, "
            f"{s.timeline_events:,} timeline events, {s.resolutions:,} resolutions, "
            f"{s.customers:,} customers"
        )
        bdb.verify = verify_counters(app)
        bad = {k: v for k, v in bdb.verify.items() if v}
        log("Counters verified: all exact" if not bad else f"Seed checks FAILED: {bad}")
        if bad:
            raise SetupError(f"seeded data breaks its own rules: {bad}")
    finally:
        _dispose(app)


def sweep_trending(bdb: BenchDb) -> None:
    """A kept database's trending window is as old as its last run, where a live site's votes
    keep it current (the board counts the votes themselves an hour after the last sweep):
    move it up, as a vote would (`flask sweep-trending`)."""
    app = make_app(bdb.sa_url)
    try:
        result = app.test_cli_runner().invoke(args=["sweep-trending"])
        if result.exit_code != 0:
            raise SetupError(f"flask sweep-trending failed: {result.output}")
    finally:
        _dispose(app)


def rebuild_rollups_if_behind(bdb: BenchDb, log: Callable[[str], None]) -> None:
    """A kept database seeded before a migration added the insights roll-ups has empty ones
    (bulk inserts bypass what keeps them): count them once, as `flask insights rebuild` does,
    so the insights timings read real roll-ups."""
    from portal.extensions import db
    from portal.services.insights import rollups

    app = make_app(bdb.sa_url)
    try:
        with app.app_context():
            counted = db.session.scalar(sa.text("SELECT count(*) FROM insight_items"))
            if counted == bdb.items:
                return
            log(f"The insights roll-ups count {counted:,} of {bdb.items:,} items: rebuilding")
            t0 = time.perf_counter()
            rollups.rebuild(db.session())
            db.session.commit()
            log(f"Roll-ups rebuilt in {time.perf_counter() - t0:.1f}s")
    finally:
        _dispose(app)


def site_facts(bdb: BenchDb) -> SiteFacts:
    """Read what the requests point at: a popular public item, the last board page..."""
    from portal.extensions import db

    visible = "visibility = 'public' AND hidden = false AND awaiting_review = false"
    app = make_app(bdb.sa_url)
    try:
        with app.app_context():
            q = db.session.execute
            items = q(sa.text("SELECT count(*) FROM feedback")).scalar_one()
            public = q(sa.text(f"SELECT count(*) FROM feedback WHERE {visible}")).scalar_one()
            row = q(
                sa.text(
                    f"SELECT id, vote_count FROM feedback WHERE {visible} "
                    "AND state NOT IN ('declined', 'duplicate') "
                    "ORDER BY vote_count DESC, id DESC LIMIT 1"
                )
            ).one()
            vote_item_id = q(
                sa.text(
                    f"SELECT id FROM feedback WHERE {visible} "
                    "AND state NOT IN ('resolved', 'declined', 'duplicate') "
                    "ORDER BY vote_count DESC, id DESC LIMIT 1"
                )
            ).scalar_one()
    finally:
        _dispose(app)
    return SiteFacts(
        items=items,
        public_items=public,
        last_page=max(1, math.ceil(public / BOARD_PAGE_SIZE)),
        item_id=row[0],
        item_votes=row[1],
        category=FILTER_CATEGORY,
        search_word=SEARCH_WORD,
        vote_item_id=vote_item_id,
    )


# --- SQL statements per request (test client) ------------------------------------------------


def _page_csrf(page: str) -> str:
    # A signed-in page carries the token in a meta tag, the sign-in form in a hidden field.
    match = re.search(r'name="csrf(?:-token" content|_token" type="hidden" value)="([^"]+)"', page)
    if not match:
        raise SetupError("no CSRF token on the page")
    return html.unescape(match.group(1))


def sign_in_test_client(client: Any, origin: str, item_id: int) -> Session:
    """Sign the seeded customer in through the login form of a Flask test client; the CSRF
    token comes from the item page (the cookie stays in the client)."""
    page = client.get("/account/login").get_data(as_text=True)
    resp = client.post(
        "/account/login",
        data={
            "csrf_token": _page_csrf(page),
            "email": CUSTOMER_EMAIL,
            "password": PASSWORD,
            "next": "",
        },
        headers={"Referer": f"{origin}/account/login"},
    )
    if resp.status_code != 302:
        raise SetupError(f"test client sign-in answered {resp.status_code}")
    page = client.get(f"/feedback/{item_id}").get_data(as_text=True)
    return Session(cookie="", csrf_token=_page_csrf(page))


def count_sql(bdb: BenchDb, facts: SiteFacts) -> dict[str, dict[str, Any]]:
    """Run each URL through the app's test client and count the SQL statements it sends
    (transaction control such as BEGIN is not counted). Each URL is requested once to warm
    per-process caches, then once more with the counter on."""
    from portal.extensions import db

    app = make_app(bdb.sa_url)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    results: dict[str, dict[str, Any]] = {}
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    # The test client speaks the configured scheme (https in production), where Flask-WTF also
    # wants a same-origin Referer on POSTs, as a browser sends.
    origin = f"{app.config.get('PREFERRED_URL_SCHEME', 'http')}://localhost"
    try:
        client = app.test_client()
        etag = client.get("/feeds/resolutions.atom").headers.get("ETag")
        session: Session | None = None
        for ep in ENDPOINTS:
            if ep.kind == "hotvote":
                continue  # the same request as the vote, by other people
            if ep.signed_in and session is None:
                # The client keeps the cookie: every endpoint after this one is signed in too
                # (the signed-in ones come last).
                session = sign_in_test_client(client, origin, facts.item_id)
            req = build_request(ep, facts, etag=etag, session=session)
            headers = {k: v for k, v in req.headers.items() if k != "Cookie"}
            if req.method == "POST":
                headers["Referer"] = f"{origin}/feedback/{facts.vote_item_id}"
            # GETs: one warm request, then one counted. The vote: both toggles are counted
            # (on, then off again) and the larger count is reported.
            runs: list[tuple[int, list[str]]] = []
            for n in range(2):
                statements.clear()
                resp = client.open(req.path, method=req.method, headers=headers, data=req.body)
                if n or ep.kind == "vote":
                    runs.append((resp.status_code, list(statements)))
            counted = [[s for s in stmts if not TX_CONTROL.match(s)] for _, stmts in runs]
            results[ep.name] = {
                "count": max(len(q) for q in counted),
                "status": [code for code, _ in runs],
                "statements": [[" ".join(s.split()) for s in stmts] for _, stmts in runs],
            }
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        _dispose(app)
    return results


# --- insights aggregates (in-process) --------------------------------------------------------

INSIGHT_CALLS = 5


def measure_insights(bdb: BenchDb) -> dict[str, dict[str, float | int]]:
    """Time each insights figure set as the pages compute it (the public page caches its
    figures for minutes; these are the uncached costs): median ms of a few calls and the SQL
    statements of one call."""
    from datetime import UTC, datetime

    from portal.extensions import db
    from portal.services import insights
    from portal.services.insights.report import week_on_week

    app = make_app(bdb.sa_url)
    now = datetime.now(UTC)
    # What /admin/insights computes when opened: its default range (eleven whole weeks and
    # this one so far), then this week against last.
    date_range, _ = insights.parse_date_range(None, None, today=now.date())
    start, end = date_range.bounds(now)
    work: dict[str, Callable[[], object]] = {
        "staff insights page": lambda: (
            insights.staff_report(start, end, now),
            week_on_week(now),
        ),
        "public figures, 30 days": lambda: insights.public_figures(now, 30),
        "public figures, 365 days": lambda: insights.public_figures(now, 365),
        "weekly received, 26 weeks": lambda: insights.weekly_received(
            insights.weeks_back(now, 26), now
        ),
    }
    statements: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    figures: dict[str, dict[str, float | int]] = {}
    try:
        with app.app_context():
            engine = db.engine
            for name, call in work.items():
                call()  # warm: compiled statements, connections
                statements.clear()
                sa.event.listen(engine, "before_cursor_execute", on_execute)
                try:
                    call()
                finally:
                    sa.event.remove(engine, "before_cursor_execute", on_execute)
                sql = len([q for q in statements if not TX_CONTROL.match(q)])
                times = []
                for _ in range(INSIGHT_CALLS):
                    t0 = time.perf_counter()
                    call()
                    times.append((time.perf_counter() - t0) * 1000)
                    db.session.rollback()
                times.sort()
                figures[name] = {"ms": times[len(times) // 2], "sql": sql}
    finally:
        _dispose(app)
    return figures


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Every server started, by address, so a load run can read its workers' CPU time.
SERVERS: dict[str, Server] = {}


class Server:
    """A gunicorn master we started, in its own process group, stopped by its id."""

    def __init__(self, name: str, app_spec: str, chdir: Path, env: dict[str, str], log: Path):
        self.name, self.app_spec, self.chdir, self.env, self.log_path = (
            name,
            app_spec,
            chdir,
            env,
            log,
        )
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_cpu_seconds(self) -> dict[int, float]:
        """CPU seconds (user + system) each of this master's workers has used so far, read
        from /proc; empty where there is no /proc."""
        if self.proc is None:
            return {}
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return {}
        seconds: dict[int, float] = {}
        for pid in map(int, children.split()):
            try:
                # Fields after the command (which may hold spaces): utime and stime are the
                # 12th and 13th.
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return seconds

    def worker_pids(self) -> list[int]:
        """This master's workers, from /proc (empty where there is none)."""
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def worker_rss_kb(self) -> dict[int, int]:
        """Each worker's resident memory in kB (VmRSS in /proc/<pid>/status)."""
        rss: dict[int, int] = {}
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                rss[pid] = int(match.group(1))
        return rss

    def start(self) -> None:
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(GUNICORN_WORKERS),
            "--worker-class",
            GUNICORN_WORKER_CLASS,
            "--threads",
            str(GUNICORN_THREADS),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(self.chdir),
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            # Both apps run under the repository's production settings (access log and all),
            # with the flags above on top. Without this only the portal, started in the
            # repository, would pick up gunicorn.conf.py.
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            self.app_spec,
        ]
        # No worker recycling in the middle of a 10-second run (production recycles after
        # thousands of requests; a restart mid-run shows up as socket errors).
        env = {**self.env, "GUNICORN_MAX_REQUESTS": "0"}
        SERVERS[self.url] = self
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Wait until /healthz answers 200; fail early if gunicorn exits."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise SetupError(f"gunicorn for {self.name} exited:\n{self._log_tail()}")
            try:
                status, _, _ = fetch(self.url, Request("GET", "/healthz"), timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SetupError(f"gunicorn for {self.name} did not answer /healthz:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers); SIGKILL to our group if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        # Anything left in the group (a stuck worker) goes too; the group is this master's own.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.proc = None


def portal_env(
    bdb: BenchDb, redis_url: str | None = None, page_cache: bool = True
) -> dict[str, str]:
    """The served portal's environment.

    PORTAL_ENV=production: the benchmark measures the configuration that is deployed. Its
    session cookies carry the Secure attribute, but that is an instruction to browsers; our
    load generators (wrk, http.client) send the Cookie header we give them over plain http on
    loopback, and the server does not check the scheme, so the signed-in vote works without
    weakening the production settings (PORTAL_ENV=development would change more than cookies).
    """
    env = dict(os.environ)
    env.update(
        PORTAL_ENV="production",
        # Served over plain http on loopback, on purpose: production refuses that otherwise.
        PORTAL_ALLOW_HTTP="1",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=bdb.env_url,
        RATELIMIT_ENABLED="false",
        OUTBOX_DELIVER_AFTER_COMMIT="false",
        PORTAL_INSTANCE_PATH=str(RESULTS / "instance"),
        PYTHONUNBUFFERED="1",
    )
    if not page_cache:
        env["PAGE_CACHE_SECONDS"] = "0"
    if redis_url:
        # Several instances share what they must through Redis, as deployed (docs/deploy.md);
        # limits stay off for the run, but the storage is configured as in production.
        env["RATELIMIT_STORAGE_URI"] = redis_url
    return env


def sign_in(base_url: str, item_id: int, email: str = CUSTOMER_EMAIL) -> Session:
    """Sign in through the real login form; return the session cookie and the CSRF token."""

    def cookie_from(headers: Any, current: str) -> str:
        for value in headers.get_all("Set-Cookie") or []:
            pair = value.split(";", 1)[0]
            if pair.startswith("session="):
                return pair
        return current

    status, headers, body = fetch(base_url, Request("GET", "/account/login"))
    if status != 200:
        raise SetupError(f"GET /account/login answered {status}")
    cookie = cookie_from(headers, "")
    form = {"csrf_token": _page_csrf(body.decode()), "email": email, "password": PASSWORD}
    status, headers, _ = fetch(
        base_url,
        Request(
            "POST",
            "/account/login",
            {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
            urlencode({**form, "next": ""}).encode(),
        ),
    )
    cookie = cookie_from(headers, cookie)
    if status != 302:
        raise SetupError(f"sign-in answered {status}, not a redirect")
    status, _, body = fetch(base_url, Request("GET", f"/feedback/{item_id}", {"Cookie": cookie}))
    page = body.decode()
    if status != 200 or "/account/logout" not in page:
        raise SetupError(f"the item page does not show the customer as signed in ({status})")
    return Session(cookie=cookie, csrf_token=_page_csrf(page))


def sign_in_floor(base_url: str, email: str) -> Session:
    """Sign in to the write floor through its own form (its session is its own)."""
    status, headers, body = fetch(
        base_url,
        Request(
            "POST",
            "/login",
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode({"email": email, "password": PASSWORD}).encode(),
        ),
    )
    cookies = [v.split(";", 1)[0] for v in headers.get_all("Set-Cookie") or []]
    cookie = next((c for c in cookies if c.startswith("session=")), "")
    if status != 200 or not cookie:
        raise SetupError(f"the write floor's sign-in answered {status}")
    return Session(cookie=cookie, csrf_token=json.loads(body)["csrf_token"])


def warm_up(
    server: Server, reqs: list[Request], rounds: int = WARMUP_REQUESTS, clients: int = 4
) -> None:
    """Send each request `rounds` times from `clients` threads (as many as the load runs'
    connections: each worker then serves from every one of its threads, so each of their
    database connections has read its pages before the memory is read), each on fresh
    connections, so that both workers serve some (a kept-alive connection stays with one
    worker). Rotating requests go out as each of their people; votes toggle an even number of
    times."""
    work = [r.variant(n) for r in reqs for n in range(max(1, len(r.rotate))) for _ in range(rounds)]

    def run(part: list[Request]) -> None:
        for r in part:
            fetch(server.url, r)

    threads = [threading.Thread(target=run, args=(work[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def settle(server: Server, reqs: list[Request], tool: str, args: argparse.Namespace) -> int:
    """Short load runs of each of `reqs` against `server`, in rounds, until a round grows no
    worker's resident memory by more than SETTLE_GROWTH; returns the rounds it took."""
    short = argparse.Namespace(**{**vars(args), "duration": SETTLE_SECONDS})
    before = server.worker_rss_kb()
    for rounds in range(1, SETTLE_ROUNDS + 1):
        for n, req in enumerate(reqs):
            load(tool, [server.url], req, short, f"settle-{server.name}-{n}")
        after = server.worker_rss_kb()
        if all(kb <= before.get(pid, 0) * (1 + SETTLE_GROWTH) for pid, kb in after.items()):
            return rounds
        before = after
    return SETTLE_ROUNDS


# --- measuring -------------------------------------------------------------------------------


def _load_one(
    tool: str, base_url: str, req: Request, args: argparse.Namespace, name: str, connections: int
) -> LoadResult:
    """One load run against one server. Kept-alive connections sometimes all land on one
    gunicorn worker, and then one core serves the whole run at about half the rate: such a
    run (one worker doing ONE_WORKER_SHARE of the work) is measured again, up to twice."""
    sequential_median(base_url, req, WARMUP_REQUESTS, 10.0)  # warm the workers
    server = SERVERS.get(base_url)
    for attempt in range(1 + UNBALANCED_RETRIES):
        before = server.worker_cpu_seconds() if server else {}
        if tool == "wrk":
            scripts = RESULTS / "lua"
            scripts.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            result = run_wrk(base_url, req, args.duration, connections, scripts, slug)
        else:
            result = run_python(base_url, req, args.duration, connections)
        after = server.worker_cpu_seconds() if server else {}
        used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        total = sum(used.values())
        if len(used) < 2 or total <= 0:
            return result
        result.worker_shares = sorted((u / total for u in used.values()), reverse=True)
        if result.worker_shares[0] < ONE_WORKER_SHARE or attempt == UNBALANCED_RETRIES:
            return result
        log(
            f"  {name}: one worker did {result.worker_shares[0]:.0%} of the work "
            f"({result.rps:,.0f} req/s); measuring again"
        )
    return result


def load(
    tool: str, base_urls: list[str], req: Request, args: argparse.Namespace, name: str
) -> LoadResult:
    """One load run with the chosen generator. With several instances (as behind a load
    balancer), one generator per instance runs at the same time with an equal share of the
    connections; throughput is the sum, p50 the request-weighted mean of the instances' p50s
    and p99 the worst instance's (an approximation: wrk reports percentiles, not samples)."""
    if len(base_urls) == 1:
        return _load_one(tool, base_urls[0], req, args, name, args.connections)
    share = max(1, args.connections // len(base_urls))
    results: list[LoadResult | None] = [None] * len(base_urls)

    def run(i: int) -> None:
        results[i] = _load_one(tool, base_urls[i], req, args, f"{name}-{i + 1}", share)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(base_urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in results if r is not None]
    if len(done) != len(base_urls):
        raise SetupError(f"a load generator for {name} failed")
    total = sum(r.requests for r in done) or 1
    statuses: dict[str, int] = {}
    for r in done:
        for code, n in r.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    return LoadResult(
        tool=done[0].tool,
        requests=sum(r.requests for r in done),
        seconds=max(r.seconds for r in done),
        rps=sum(r.rps for r in done),
        p50_ms=sum(r.p50_ms * r.requests for r in done) / total,
        p99_ms=max(r.p99_ms for r in done),
        statuses=statuses,
        errors=sum(r.errors for r in done),
    )


def check_insights(figures: dict[str, dict[str, dict[str, float | int]]]) -> dict[str, Any]:
    """The insights targets: each figure set within INSIGHTS_MS_TARGET at N, and growing at
    most INSIGHTS_GROWTH_TARGET times from N=1,000 (where that was measured)."""
    checks: dict[str, Any] = {}
    big, small = figures.get("main") or {}, figures.get("small") or {}
    for name in INSIGHTS_WITH_TARGETS:
        if name not in big:
            continue
        ms = float(big[name]["ms"])
        base = small.get(name)
        growth = ms / float(base["ms"]) if base and base["ms"] else None
        checks[name] = {
            "ms": ms,
            "growth": growth,
            "pass": ms <= INSIGHTS_MS_TARGET
            and (growth is None or growth <= INSIGHTS_GROWTH_TARGET),
        }
    return checks


def compare_hot_vote(
    rows: list[dict[str, Any]], db: str, other: Path | None
) -> dict[str, Any] | None:
    """The hot item's votes on this run's database against the vote of a SQLite run (its
    JSON); on a SQLite run without one, against this run's own vote."""
    mine = {r["name"]: r for r in rows}
    hot = mine.get("vote, hot item", {}).get("load")
    if not hot:
        return None
    if other is not None:
        theirs = {r["name"]: r for r in json.loads(other.read_text())["endpoints"]}
        source = str(other)
    elif db == "sqlite":
        theirs, source = mine, "this run"
    else:
        return None
    vote = theirs.get("vote (htmx, signed in)", {}).get("load")
    if not vote or not vote.get("rps"):
        return None
    ratio = hot["rps"] / vote["rps"]
    return {
        "hot_rps": hot["rps"],
        "sqlite_vote_rps": vote["rps"],
        "ratio": ratio,
        "source": source,
        # The target is PostgreSQL's; on SQLite the ratio is shown for reading across runs.
        "pass": ratio >= HOT_VS_SQLITE_TARGET if db == "postgres" else None,
    }


def _fmt(value: float | None, spec: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def render(report: dict[str, Any]) -> str:
    """The report as a text table."""
    m = report["meta"]
    lines = [
        f"Portal benchmark {m['timestamp']}  db={m['db']}  N={m['items']:,} items  "
        f"({m['public_items']:,} public, last board page {m['last_page']:,})",
        f"server: gunicorn {m['gunicorn']} x {m.get('instances', 1)} instance(s), "
        f"PORTAL_ENV=production; load: {m['load']}; "
        f"host: {m['cpus']} CPUs, Python {m['python']}, load average at start "
        f"{m['loadavg_start'][0]:.1f}, at end {m['loadavg_end'][0]:.1f}",
    ]
    for label, s in report["seed"].items():
        if s:
            phases = ", ".join(f"{k} {v:.1f}s" for k, v in s["phases"].items())
            lines.append(
                f"seed ({label}): {s['seconds']:.1f}s for {s['items']:,} items, {s['votes']:,} "
                f"votes, {s['comments']:,} comments, {s['timeline_events']:,} events, "
                f"{s['resolutions']:,} resolutions ({phases})"
            )
        else:
            lines.append(f"seed ({label}): reused (--keep)")
    mini = report.get("minimal")
    rows = report["endpoints"]
    if mini:
        lines += [
            "",
            f"Minimal Flask app: {mini['rps']:,.0f} req/s (before {mini['before']['rps']:,.0f}, "
            f"after {mini['after']['rps']:,.0f}), p50 {mini['before']['p50_ms']:.2f} ms, "
            f"p99 {mini['before']['p99_ms']:.2f} ms",
        ]
        for kind, fl in (report.get("floors") or {}).items():
            runs = " / ".join(f"{r['rps']:,.0f}" for r in fl["runs"])
            lines.append(
                f"{kind + ' floor:':<17}{fl['rps']:>8,.0f} req/s ({runs}; {fl['path']}, "
                f"{fl['people']} signed-in {'person' if fl['people'] == 1 else 'people'})"
                if kind != "page"
                else f"{'page floor:':<17}{fl['rps']:>8,.0f} req/s ({runs}; the board's page "
                "from one query through plain Jinja)"
            )
        lines += [
            "",
            f"{'endpoint':<24}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'vs min':>8}  "
            f"{'target':<12}{'uncached':>9}{'vs min':>8}{'p50 ms':>9}  {'target':<12}"
            f"{'vs floor':>9}  {'target':<12}statuses",
        ]
        for r in rows:
            ld = r.get("load")
            if not ld:
                continue
            target = (
                f">={r['ratio_target']:.0%} {_mark(r['ratio_pass'])}" if r["ratio_target"] else ""
            )
            codes = " ".join(f"{k}:{v}" for k, v in ld["statuses"].items())
            if ld["errors"]:
                codes += f" errors:{ld['errors']}"
            if not r["statuses_ok"]:
                codes += f"  UNEXPECTED (want {'/'.join(r['expected'])})"
            shares = ld.get("worker_shares") or [0.0]
            if shares[0] >= ONE_WORKER_SHARE:
                codes += f"  one worker did {shares[0]:.0%}"
            un = r.get("uncached")
            uncached_cols = (
                f"{un['rps']:>9,.0f}{r['uncached_ratio']:>8.1%}{_fmt(un['p50_ms'], '.2f'):>9}"
                if un
                else f"{'-':>9}{'-':>8}{'-':>9}"
            )
            ut = (
                f">={r['uncached_target']:.0%} {_mark(r.get('uncached_pass'))}"
                if r.get("uncached_target") and un
                else ""
            )
            ft = (
                f">={r['floor_target']:.0%} {_mark(r.get('floor_pass'))}"
                if r.get("floor_target") and "floor_ratio" in r
                else ""
            )
            fr = f"{r['floor_ratio']:.1%}" if "floor_ratio" in r else "-"
            uncached_cols += f"  {ut:<12}{fr:>9}  {ft:<12}"
            lines.append(
                f"{r['name']:<24}{ld['rps']:>8,.0f}{_fmt(ld['p50_ms'], '.2f'):>9}"
                f"{_fmt(ld['p99_ms'], '.2f'):>9}{r['ratio']:>8.1%}  {target:<12}"
                f"{uncached_cols}  {codes}"
            )
    big = f"N={m['items']:,} ms"
    lines += [
        "",
        f"{'endpoint':<24}{'N=' + format(m['growth_items'], ',') + ' ms':>11}{big:>15}"
        f"{'growth':>8}  {'target':<14}{'SQL':>4}  target",
    ]
    for r in rows:
        g = r.get("growth") or {}
        sql = r.get("sql") or {}
        gt = f"<={r['growth_target']}x {_mark(g.get('pass'))}" if g else ""
        if g and not g.get("statuses_ok", True):
            gt += " !codes"
        st = f"<={r['sql_target']} {_mark(sql.get('pass'))}" if r["sql_target"] else ""
        lines.append(
            f"{r['name']:<24}{_fmt(g.get('small_ms'), '.2f'):>11}{_fmt(g.get('big_ms'), '.2f'):>15}"
            f"{_fmt(g.get('ratio'), '.2f') + ('x' if g else ''):>8}  {gt:<14}"
            f"{sql.get('count', '-'):>4}  {st}"
        )
    lines += [
        "",
        "vs min: the endpoint's req/s over the minimal app's (mean of a run before and after).",
        "vs floor: the uncached req/s (the votes: their req/s) over the floor that does the same"
        "\njob with the stack alone: pages against the page floor, the vote against the write "
        "floor\n(one person), the hot item against the write floor with as many people.",
        "uncached: the same requests with the page cache off (PAGE_CACHE_SECONDS=0): what"
        "\nrendering costs when a visitor's page is not in the cache, or for a signed-in user.",
        f"growth (page cache off): median time at N over median at N={m['growth_items']:,}, up to "
        f"{m['growth_requests']} sequential requests each, alternating between the two servers."
        "\nSQL: statements per request after one warm request (transaction control not "
        "counted; the vote: the larger of toggling on and off).",
    ]
    ins = report.get("insights") or {}
    if ins.get("main"):
        small_ins = ins.get("small") or {}
        lines += [
            "",
            f"{'insights aggregate':<28}{'N=' + format(m['growth_items'], ',') + ' ms':>11}"
            f"{big:>15}{'growth':>8}{'SQL':>6}",
        ]
        for name, fig in ins["main"].items():
            small_fig = small_ins.get(name)
            growth = fig["ms"] / small_fig["ms"] if small_fig and small_fig["ms"] else None
            lines.append(
                f"{name:<28}{_fmt(small_fig['ms'] if small_fig else None, '.1f'):>11}"
                f"{fig['ms']:>15.1f}{_fmt(growth, '.1f') + ('x' if growth else ''):>8}"
                f"{fig['sql']:>6}"
            )
        for name, c in (report.get("insight_checks") or {}).items():
            lines.append(
                f"  target {name}: <={INSIGHTS_MS_TARGET:.0f} ms at N and growth "
                f"<={INSIGHTS_GROWTH_TARGET:.0f}x: {_mark(c['pass'])}"
            )
        lines.append(
            "insights: in-process, uncached, median of "
            f"{INSIGHT_CALLS} calls; aggregates in SQL (their own, larger, fixed statement budget)."
        )
    memory = report.get("memory") or {}
    if memory:
        lines += [
            "",
            f"{'worker memory (RSS)':<36}{'warm MB':>9}{'end MB':>9}{'growth':>8}  target",
        ]
        for name, mem in memory.items():
            for w in mem["workers"]:
                end = w["end_kb"]
                lines.append(
                    f"{name + ' pid ' + str(w['pid']):<36}{w['warm_kb'] / 1024:>9.1f}"
                    f"{_fmt(None if end is None else end / 1024, '.1f'):>9}"
                    f"{_fmt(None if w['growth'] is None else w['growth'] * 100, '+.1f') + '%':>8}"
                    f"  <={RSS_GROWTH_TARGET:.0%} {_mark(mem['pass'])}"
                )
        rounds = sorted({m["settle_rounds"] for m in memory.values() if m.get("settle_rounds")})
        settled = f"{rounds[0]}-{rounds[-1]}" if rounds else "no"
        if rounds and rounds[0] == rounds[-1]:
            settled = str(rounds[0])
        lines.append(
            "memory: each gunicorn worker's VmRSS after a warm-up (every request it serves, "
            f"{WARMUP_REQUESTS} times, then {SETTLE_SECONDS}-second load runs of each until a "
            f"round grows no worker by more than {SETTLE_GROWTH:.0%}: "
            f"{settled} round(s)) "
            "and after the whole run."
        )
    hot = report.get("hot_vs_sqlite")
    if hot:
        lines += [
            "",
            f"hot item on {m['db']}: {hot['hot_rps']:,.0f} req/s = {hot['ratio']:.0%} of the "
            f"SQLite vote ({hot['sqlite_vote_rps']:,.0f} req/s, {hot['source']}); target on "
            f"PostgreSQL >={HOT_VS_SQLITE_TARGET:.0%} {_mark(hot['pass'])}",
        ]
    misses = report["misses"]
    lines.append("MISSES: " + ("; ".join(misses) if misses else "none"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=100_000, help="items to seed (N)")
    parser.add_argument("--resolutions", type=int, default=None, help="default N/10")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--keep", action="store_true", help="reuse a seeded database of size N")
    parser.add_argument("--skip-growth", action="store_true", help="no N=1,000 comparison")
    parser.add_argument("--skip-load", action="store_true", help="no load runs")
    parser.add_argument(
        "--skip-uncached",
        action="store_true",
        help="no second load run of the cached pages with the page cache off",
    )
    parser.add_argument(
        "--growth-requests", type=int, default=200, help="sequential requests per endpoint"
    )
    parser.add_argument(
        "--only",
        default="",
        help="measure only these endpoint kinds, comma-separated: "
        + ",".join(ep.kind for ep in ENDPOINTS),
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--compare-with",
        type=Path,
        default=None,
        help="a SQLite run's JSON (bench/results/...-sqlite.json): print the hot item's votes "
        "on this run's database against that run's vote",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="gunicorn instances of each app, on their own ports (scale-out; use with postgres)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="shared rate-limit storage when --instances > 1",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a database on the PostgreSQL server, used to create and drop the bench ones",
    )
    args = parser.parse_args(argv)
    if args.items < 1 or args.duration < 1 or args.connections < 1 or args.instances < 1:
        parser.error("--items, --duration, --connections and --instances must be positive")
    if args.instances > 1 and args.db == "sqlite":
        parser.error("--instances > 1 needs --db postgres: SQLite is for one machine's processes")
    if args.only:
        kinds = set(args.only.split(","))
        if unknown := kinds - {ep.kind for ep in ENDPOINTS}:
            parser.error(f"--only: no endpoint of kind {', '.join(sorted(unknown))}")
        # For trying one change quickly; a full run measures them all.
        ENDPOINTS[:] = [ep for ep in ENDPOINTS if ep.kind in kinds]

    RESULTS.mkdir(parents=True, exist_ok=True)
    # Other work on the machine skews every figure: the load average goes into the report.
    load_start = os.getloadavg()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tool = args.loadgen
    if tool == "auto":
        tool = "wrk" if have_wrk() else "python"
    elif tool == "wrk" and not have_wrk():
        print(
            "wrk is not installed (apt-get install -y wrk); use --loadgen python", file=sys.stderr
        )
        return 2
    load_desc = (
        f"wrk -t{max(1, min(2, args.connections))} -c{args.connections} -d{args.duration}s"
        if tool == "wrk"
        else f"python http.client, {args.connections} threads, {args.duration}s"
    )

    # Ctrl-C and SIGTERM both unwind through the finally below, which stops the servers.
    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    servers: list[Server] = []
    logs = RESULTS / f"{stamp}-gunicorn.log"
    try:
        main_db = make_db(args.db, "main", args.items, args.pg_url)
        small_db = make_db(args.db, "small", GROWTH_ITEMS, args.pg_url)
        if args.items == GROWTH_ITEMS:
            small_db = main_db  # N is already 1,000: the growth compares it with itself
        dbs = [main_db] + ([] if args.skip_growth or small_db is main_db else [small_db])
        try:
            for bdb in dbs:
                prepare_db(bdb, args.keep, args.resolutions if bdb is main_db else None, log)
            facts = {bdb.label: site_facts(bdb) for bdb in dbs}
            facts.setdefault("small", facts["main"])
        except SetupError:
            raise
        except Exception as exc:
            raise SetupError(f"database set-up failed: {exc!r}") from exc
        f = facts["main"]
        log(
            f"Targets: item #{f.item_id} ({f.item_votes} votes), vote on #{f.vote_item_id}, "
            f"category {f.category}, last page {f.last_page}, search {f.search_word!r}"
        )

        log("Counting SQL statements per request (test client)...")
        sql = count_sql(main_db, f)

        log("Timing the insights aggregates (in-process)...")
        insight_figures = {
            bdb.label: measure_insights(bdb) for bdb in ([main_db] if args.skip_growth else dbs)
        }

        env = portal_env(main_db, redis_url=args.redis_url if args.instances > 1 else None)
        portals = [
            Server(f"portal #{n + 1}", "wsgi:app", ROOT, env, logs) for n in range(args.instances)
        ]
        minimals = [
            Server(f"minimal #{n + 1}", "minimal_app:app", BENCH_DIR, env, logs)
            for n in range(args.instances)
        ]
        portal = portals[0]
        # The same portal with the page cache off: what rendering costs, for the "uncached"
        # column and the growth comparison (a cache hit costs the same at any N).
        uncached_env = portal_env(
            main_db,
            redis_url=args.redis_url if args.instances > 1 else None,
            page_cache=False,
        )
        renderers = [
            Server(f"portal #{n + 1}, page cache off", "wsgi:app", ROOT, uncached_env, logs)
            for n in range(args.instances)
        ]
        small = Server(
            "portal N=1000, page cache off",
            "wsgi:app",
            ROOT,
            portal_env(small_db, page_cache=False),
            logs,
        )
        # The floors, as many instances as the portal has (the write floor's sessions are good
        # on every instance: they share its key).
        page_floors = [
            Server(f"page floor #{n + 1}", "page_floor_app:app", BENCH_DIR, env, logs)
            for n in range(args.instances)
        ]
        write_floors = [
            Server(f"write floor #{n + 1}", "write_floor_app:app", BENCH_DIR, env, logs)
            for n in range(args.instances)
        ]
        floors = page_floors + write_floors
        write_floor = write_floors[0]
        servers = portals + minimals + floors + renderers + ([] if args.skip_growth else [small])
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready()
        log(
            f"Serving with gunicorn ({GUNICORN_SETTINGS}) x {args.instances}: portal "
            + ", ".join(p.url for p in portals)
            + "; minimal "
            + ", ".join(m.url for m in minimals)
            + "; page floor "
            + ", ".join(p.url for p in page_floors)
            + "; write floor "
            + ", ".join(w.url for w in write_floors)
            + "; page cache off "
            + ", ".join(r.url for r in renderers)
            + ("" if args.skip_growth else f"; N=1,000 {small.url}")
        )

        def etag_of(server: Server) -> str:
            status, headers, _ = fetch(server.url, Request("GET", "/feeds/resolutions.atom"))
            if status != 200 or not headers.get("ETag"):
                raise SetupError(f"the feed answered {status} without an ETag")
            return headers["ETag"]

        session = sign_in(portal.url, f.item_id)
        # The hot item's crowd: the first customer (the vote's) and HOT_CUSTOMERS - 1 more.
        crowd = [session] + [
            sign_in(portal.url, f.item_id, customer_email(n)) for n in range(1, HOT_CUSTOMERS)
        ]
        floor_crowd = [
            sign_in_floor(write_floor.url, customer_email(n)) for n in range(HOT_CUSTOMERS)
        ]
        # Check every request once before measuring: wrong answers are set-up failures. The
        # vote is checked first, twice (on, then off again), and the ETag is read last: a vote
        # on a resolved item changes the feed (its entries show the items' state), and a
        # worker that read the feed before the vote would keep the old ETag for a few seconds
        # (READ_CACHE_SECONDS) while the other worker has the new one.
        reqs: dict[str, Request] = {}
        for ep in sorted(ENDPOINTS, key=lambda e: (e.kind != "vote", e.kind == "feed304")):
            etag = etag_of(portal) if ep.kind == "feed304" else None
            reqs[ep.name] = build_request(ep, f, etag=etag, session=session, crowd=crowd)
            people = max(1, len(reqs[ep.name].rotate))
            for n in range(2 * people if ep.kind in ("vote", "hotvote") else 1):
                status, _, _ = fetch(portal.url, reqs[ep.name].variant(n // 2))
                if str(status) not in ep.expected:
                    raise SetupError(f"{ep.name}: {reqs[ep.name].path} answered {status}")
        floor_reqs = {
            "page": Request("GET", "/"),
            "write": vote_request(f"/feedback/{f.vote_item_id}/vote", floor_crowd[:1]),
            "write-hot": vote_request(f"/feedback/{f.vote_item_id}/vote", floor_crowd),
        }
        floor_servers = {"page": page_floors, "write": write_floors, "write-hot": write_floors}
        for kind, req in floor_reqs.items():
            for server in floor_servers[kind]:
                status, _, _ = fetch(server.url, req.variant(0))
                if status != 200:
                    raise SetupError(f"the {kind} floor answered {status}")
        etag = next(
            (reqs[ep.name].headers["If-None-Match"] for ep in ENDPOINTS if ep.kind == "feed304"),
            None,
        )

        # Memory after warm-up: every server gets each of its requests a few times first.
        log("Warming up every server until its memory settles; reading each worker's (RSS)")
        served: dict[str, list[Request]] = {p.url: list(reqs.values()) for p in portals}
        cached_reqs = [reqs[ep.name] for ep in ENDPOINTS if ep.cached]
        served.update({r.url: cached_reqs for r in renderers})
        served.update({m.url: [Request("GET", "/")] for m in minimals})
        served.update({p.url: [floor_reqs["page"]] for p in page_floors})
        served.update({w.url: [floor_reqs["write-hot"]] for w in write_floors})
        if not args.skip_growth:
            fs = facts["small"]
            served[small.url] = [
                build_request(ep, fs, etag=etag_of(small))
                for ep in ENDPOINTS
                if ep.growth_target is not None
            ]
        # The cached portal answers the warm-up's pages from its page cache; signed in, the
        # same pages are rendered on every request, in every thread at once, as they are in
        # the measured run whenever a cached page expires.
        rendered = {
            p.url: [
                replace(r, headers={**r.headers, "Cookie": session.cookie})
                if r.method == "GET"
                else r
                for r in served[p.url]
            ]
            for p in portals
        }
        settle_rounds: dict[str, int] = {}
        for server in servers:
            warm_up(server, served.get(server.url, []), clients=args.connections)
            if not args.skip_load:
                settle_reqs = rendered.get(server.url, served.get(server.url, []))
                settle_rounds[server.name] = settle(server, settle_reqs, tool, args)
        rss_warm = {server.name: server.worker_rss_kb() for server in servers}

        rows: list[dict[str, Any]] = []
        vote_sql = sql.get(next((ep.name for ep in ENDPOINTS if ep.kind == "vote"), ""), {})
        for ep in ENDPOINTS:
            sql.setdefault(ep.name, {**vote_sql} if ep.kind == "hotvote" else {"count": None})
            rows.append(
                {
                    "name": ep.name,
                    "method": reqs[ep.name].method,
                    "path": reqs[ep.name].path,
                    "expected": list(ep.expected),
                    "ratio_target": ep.ratio_target,
                    "sql_target": ep.sql_target,
                    "growth_target": ep.growth_target,
                    "floor": ep.floor,
                    "floor_target": ep.floor_target,
                    "uncached_target": ep.uncached_target,
                    "sql": {
                        **sql[ep.name],
                        "pass": None
                        if ep.sql_target is None or sql[ep.name].get("count") is None
                        else sql[ep.name]["count"] <= ep.sql_target,
                    },
                }
            )

        minimal_report: dict[str, Any] | None = None
        floors_report: dict[str, Any] | None = None
        if not args.skip_load:
            log(f"Load: {load_desc} per endpoint")
            mini_req = Request("GET", "/")
            portal_urls = [p.url for p in portals]
            minimal_urls = [m.url for m in minimals]
            before = load(tool, minimal_urls, mini_req, args, "minimal-before")
            log(f"  minimal app          {before.rps:>8,.0f} req/s")
            # The floors, before and after the portal's runs too (their mean is the floor).
            floor_runs: dict[str, list[LoadResult]] = {k: [] for k in floor_reqs}

            def measure_floors(when: str) -> None:
                for kind, req in floor_reqs.items():
                    urls = [server.url for server in floor_servers[kind]]
                    r = load(tool, urls, req, args, f"{kind}-floor-{when}")
                    floor_runs[kind].append(r)
                    log(f"  {kind + ' floor':<21}{r.rps:>8,.0f} req/s  p50 {r.p50_ms:.1f} ms")

            measure_floors("before")
            renderer_urls = [r.url for r in renderers]
            results: dict[str, LoadResult] = {}
            uncached: dict[str, LoadResult] = {}
            for ep in ENDPOINTS:
                results[ep.name] = load(tool, portal_urls, reqs[ep.name], args, ep.name)
                r = results[ep.name]
                log(f"  {ep.name:<21}{r.rps:>8,.0f} req/s  p50 {r.p50_ms:.1f} ms  {r.statuses}")
                if ep.cached and not args.skip_uncached:
                    u = uncached[ep.name] = load(
                        tool, renderer_urls, reqs[ep.name], args, f"{ep.name}-uncached"
                    )
                    log(f"  {'  page cache off':<21}{u.rps:>8,.0f} req/s  p50 {u.p50_ms:.1f} ms")
            measure_floors("after")
            after = load(tool, minimal_urls, mini_req, args, "minimal-after")
            log(f"  minimal app (again)  {after.rps:>8,.0f} req/s")
            floor = (before.rps + after.rps) / 2
            floor_rps = {k: sum(r.rps for r in runs) / len(runs) for k, runs in floor_runs.items()}
            floors_report = {
                kind: {
                    "rps": floor_rps[kind],
                    "runs": [{k: v for k, v in asdict(r).items() if k != "raw"} for r in runs],
                    "path": floor_reqs[kind].path,
                    "people": max(1, len(floor_reqs[kind].rotate)),
                }
                for kind, runs in floor_runs.items()
            }
            minimal_report = {
                "rps": floor,
                "before": {k: v for k, v in asdict(before).items() if k != "raw"},
                "after": {k: v for k, v in asdict(after).items() if k != "raw"},
            }
            for ep, row in zip(ENDPOINTS, rows, strict=True):
                r = results[ep.name]
                row["load"] = {k: v for k, v in asdict(r).items() if k != "raw"}
                row["ratio"] = r.rps / floor if floor else 0.0
                if ep.name in uncached:
                    u = uncached[ep.name]
                    row["uncached"] = {k: v for k, v in asdict(u).items() if k != "raw"}
                    row["uncached_ratio"] = u.rps / floor if floor else 0.0
                row["ratio_pass"] = (
                    None if ep.ratio_target is None else row["ratio"] >= ep.ratio_target
                )
                # Against the floor: the uncached run where there is one (a page's rendering),
                # else the run itself (the votes).
                against = uncached.get(ep.name, r)
                if ep.uncached_target is not None and ep.name in uncached:
                    row["uncached_pass"] = row["uncached_ratio"] >= ep.uncached_target
                if ep.floor and floor_rps.get(ep.floor):
                    row["floor_ratio"] = against.rps / floor_rps[ep.floor]
                    row["floor_pass"] = (
                        None if ep.floor_target is None else row["floor_ratio"] >= ep.floor_target
                    )
                row["statuses_ok"] = r.errors == 0 and all(
                    code in ep.expected for code in r.statuses
                )

        if not args.skip_growth:
            log(f"Cost growth: up to {args.growth_requests} sequential requests per endpoint")
            fs = facts["small"]
            # Read again: the votes of the load runs may have changed the feed.
            renderer = renderers[0]
            small_etag, etag = etag_of(small), etag_of(renderer)
            for ep, row in zip(ENDPOINTS, rows, strict=True):
                if ep.growth_target is None:
                    continue
                pairs = [
                    (small.url, build_request(ep, fs, etag=small_etag)),
                    (renderer.url, build_request(ep, f, etag=etag)),
                ]
                paired_medians(pairs, 5, 10.0)  # warm
                measured = paired_medians(pairs, args.growth_requests, GROWTH_BUDGET_S)
                medians = {
                    label: {"ms": ms, "requests": n, "statuses": seen}
                    for label, (ms, n, seen) in zip(("small", "big"), measured, strict=True)
                }
                ratio = medians["big"]["ms"] / medians["small"]["ms"]
                row["growth"] = {
                    "small_ms": medians["small"]["ms"],
                    "big_ms": medians["big"]["ms"],
                    "ratio": ratio,
                    "pass": ratio <= ep.growth_target,
                    "statuses_ok": all(
                        code in ep.expected for m in medians.values() for code in m["statuses"]
                    ),
                    "detail": medians,
                }
                log(
                    f"  {ep.name:<21}{medians['small']['ms']:>8.2f} ms -> "
                    f"{medians['big']['ms']:>8.2f} ms  ({ratio:.2f}x)"
                )

        # Memory at the end: each worker's growth since warm-up.
        memory: dict[str, dict[str, Any]] = {}
        for server in servers:
            end = server.worker_rss_kb()
            workers = []
            for pid, warm_kb in rss_warm.get(server.name, {}).items():
                end_kb = end.get(pid)
                workers.append(
                    {
                        "pid": pid,
                        "warm_kb": warm_kb,
                        "end_kb": end_kb,
                        "growth": None if end_kb is None else end_kb / warm_kb - 1,
                    }
                )
            memory[server.name] = {
                "workers": workers,
                "settle_rounds": settle_rounds.get(server.name),
                "pass": bool(workers)
                and all(
                    w["growth"] is not None and w["growth"] <= RSS_GROWTH_TARGET for w in workers
                ),
            }

        misses = []
        for row in rows:
            if row.get("uncached_pass") is False:
                misses.append(
                    f"{row['name']} uncached {row['uncached_ratio']:.0%} of the minimal app "
                    f"< {row['uncached_target']:.0%}"
                )
            if row.get("floor_pass") is False:
                misses.append(
                    f"{row['name']} {row['floor_ratio']:.0%} of the {row['floor']} floor "
                    f"< {row['floor_target']:.0%}"
                )
            if row.get("ratio_pass") is False:
                misses.append(
                    f"{row['name']} throughput {row['ratio']:.0%} < {row['ratio_target']:.0%}"
                )
            if row.get("growth", {}).get("pass") is False:
                misses.append(f"{row['name']} growth {row['growth']['ratio']:.2f}x")
            if row["sql"]["pass"] is False:
                misses.append(f"{row['name']} {row['sql']['count']} SQL statements")
            if row.get("statuses_ok") is False:
                misses.append(f"{row['name']} unexpected statuses {row['load']['statuses']}")
            if row.get("growth", {}).get("statuses_ok") is False:
                seen = {k: v["statuses"] for k, v in row["growth"]["detail"].items()}
                misses.append(f"{row['name']} unexpected statuses in growth {seen}")
        for kind, fl in (floors_report or {}).items():
            for run in fl["runs"]:
                if run["errors"] or set(run["statuses"]) - {"200"}:
                    misses.append(f"{kind} floor unexpected statuses {run['statuses']}")
        for name, mem in memory.items():
            if not mem["pass"] and mem["workers"]:
                worst = max((w["growth"] or 0.0) for w in mem["workers"])
                misses.append(f"{name} worker memory grew {worst:.0%}")
        insight_checks = check_insights(insight_figures)
        misses += [
            f"{name} {c['ms']:.0f} ms at N"
            + ("" if c["growth"] is None else f" (growth {c['growth']:.1f}x)")
            for name, c in insight_checks.items()
            if not c["pass"]
        ]
        hot = compare_hot_vote(rows, args.db, args.compare_with)
        if hot and hot.get("pass") is False:
            misses.append(
                f"hot item on {args.db} {hot['ratio']:.0%} of the SQLite vote "
                f"< {HOT_VS_SQLITE_TARGET:.0%}"
            )

        import gunicorn

        report = {
            "meta": {
                "timestamp": stamp,
                "db": args.db,
                "items": args.items,
                "public_items": f.public_items,
                "last_page": f.last_page,
                "item_id": f.item_id,
                "vote_item_id": f.vote_item_id,
                "growth_items": GROWTH_ITEMS,
                "growth_requests": args.growth_requests,
                "duration": args.duration,
                "connections": args.connections,
                "load": "skipped" if args.skip_load else load_desc,
                "gunicorn": f"{gunicorn.__version__} ({GUNICORN_SETTINGS})",
                "instances": args.instances,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "loadavg_start": load_start,
                "loadavg_end": os.getloadavg(),
            },
            "seed": {bdb.label: (asdict(bdb.seed) if bdb.seed else None) for bdb in dbs},
            "seed_checks": {bdb.label: bdb.verify for bdb in dbs},
            "minimal": minimal_report,
            "floors": floors_report,
            "endpoints": rows,
            "memory": memory,
            "insights": insight_figures,
            "insight_checks": insight_checks,
            "hot_vs_sqlite": hot,
            "misses": misses,
        }
        text = render(report)
        print("\n" + text)
        base = RESULTS / f"{stamp}-{args.db}"
        base.with_suffix(".txt").write_text(text + "\n")
        base.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        log(f"\nWritten: {base}.txt and {base}.json (gunicorn log, without access lines: {logs})")
        return 0
    except SetupError as exc:
        print(f"\nbench: set-up failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        return 130
    finally:
        for s in servers:
            s.stop()
        drop_access_lines(logs)


def drop_access_lines(path: Path) -> None:
    """Keep the gunicorn log's errors, warnings and application lines, not its access lines:
    a run makes about a million requests, and their lines came to 250 MB a run."""
    if not path.exists():
        return
    kept = path.with_suffix(".kept")
    with path.open("rb") as source, kept.open("wb") as target:
        for line in source:
            if not (line.startswith(b'{"time": "') and b'"duration_us": ' in line):
                target.write(line)
    kept.replace(path)


if __name__ == "__main__":
    sys.exit(main())
