"""Seed a benchmark database: schema from the project's migrations, data by bulk loads.

Rows are built in Python with explicit ids, so related rows can point at each other without
reading anything back, and written straight through the driver, one transaction per chunk:
`executemany` of tuples on SQLite (values in the form SQLAlchemy stores them), `COPY` on
PostgreSQL. The secondary indexes of the big tables (and SQLite's full-text triggers) are
dropped for the load and built again after it, from the definitions the migrations made, and
SQLite writes without a journal or fsync meanwhile (a seed that stops half-way is seeded
again). The stored counters are kept exact: `vote_count` is the number of vote rows and
`comment_count` the number of public, shown comments of each item.
"""

from __future__ import annotations

import html
import math
import random
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from flask import Flask

SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
PASSWORD = "bench-password-1"
CUSTOMER_EMAIL = "customer@bench.example"
STAFF_EMAIL = "staff@bench.example"
N_STAFF = 5
N_CUSTOMERS = 3000
SEARCH_WORD = "refund"
FILTER_CATEGORY = "delivery"
ITEM_CHUNK = 10_000
# The tables loaded in bulk, whose secondary indexes are built after the load.
BULK_TABLES = ("feedback", "votes", "comments", "timeline_events")
RANDOM_SEED = 20261124

CATEGORIES = [
    ("Billing", "billing", 24, ["refund", "invoice", "direct debit", "promo code", "price"]),
    ("Delivery", "delivery", 24, ["courier", "tracking page", "delivery slot", "parcel", "van"]),
    ("Website and app", "website-and-app", 48, ["checkout", "search", "login", "basket", "app"]),
    ("Customer service", "customer-service", 24, ["phone line", "chat", "email reply", "agent"]),
    ("Products", "products", 72, ["kettle", "packaging", "cleaning spray", "oat milk", "toaster"]),
    ("Returns", "returns", 48, ["returns label", "drop-off point", "exchange", "refund"]),
    ("Stores", "stores", 72, ["opening hours", "car park", "self-checkout", "queue", "till"]),
    ("Accessibility", "accessibility", 24, ["screen reader", "font size", "contrast", "captions"]),
]

TITLE_PATTERNS = [
    "{T} is not working",
    "Problem with the {t}",
    "Please improve the {t}",
    "Idea: a better {t}",
    "Question about the {t}",
    "Thank you for the {t}",
    "{T} keeps failing for me",
    "Can you fix the {t}?",
    "The {t} is far too slow",
    "Confusing {t}",
]
KINDS = ["complaint", "idea", "question", "praise"]
KIND_WEIGHTS = [45, 30, 15, 10]

SENTENCES = [
    "I tried the {t} again on {day} and it still went wrong.",
    "The {t} has been like this for {n} weeks now.",
    "It would help a lot if the {t} were {adj}.",
    "My neighbour has the same trouble with the {t}.",
    "Last time I called, the agent said the {t} would be sorted by {day}.",
    "Please make the {t} {adj}; it matters to people like me.",
    "I have been a customer for {n} years and the {t} used to be {adj}.",
    "Could you tell me when the {t} will change?",
]
REFUND_SENTENCE = "In the end I asked for a refund, which took {n} days."
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ADJECTIVES = ["quicker", "clearer", "simpler", "cheaper", "kinder", "more reliable", "tidier"]
FIRST_NAMES = ["Nia", "Owen", "Marta", "Li", "Jo", "Ravi", "Ada", "Sam", "Priya", "Tomasz", "Ife"]

STATES = [
    "received",
    "acknowledged",
    "investigating",
    "planned",
    "in_progress",
    "resolved",
    "declined",
    "duplicate",
]
STATE_WEIGHTS = [20, 14, 12, 10, 8, 22, 9, 5]
FORWARD = ["received", "acknowledged", "investigating", "planned", "in_progress", "resolved"]


@dataclass
class SeedStats:
    """What was written, for the report."""

    items: int = 0
    votes: int = 0
    comments: int = 0
    timeline_events: int = 0
    resolutions: int = 0
    customers: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class _Item:
    id: int
    created_at: datetime
    category: int
    state: str
    kind: str
    title: str
    body: str
    author_id: int
    public: bool
    hidden: bool
    acknowledged_at: datetime | None = None
    resolution_id: int | None = None
    resolved_at: datetime | None = None


def customer_email(n: int) -> str:
    """The n-th seeded customer's email address (all share PASSWORD)."""
    return CUSTOMER_EMAIL if n == 0 else f"customer{n}@bench.example"


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _title(rng: random.Random, topic: str) -> str:
    pattern = rng.choice(TITLE_PATTERNS)
    return pattern.format(t=topic, T=topic[:1].upper() + topic[1:])


def _body(rng: random.Random, topic: str) -> str:
    parts = []
    for _ in range(rng.randint(2, 4)):
        parts.append(
            rng.choice(SENTENCES).format(
                t=topic, day=rng.choice(DAYS), n=rng.randint(2, 9), adj=rng.choice(ADJECTIVES)
            )
        )
    if rng.random() < 0.05:
        parts.append(REFUND_SENTENCE.format(n=rng.randint(3, 30)))
    return " ".join(parts)


def _lognormal_votes(rng: random.Random, cap: int) -> int:
    # Heavy-tailed like real boards: most items a handful, a few hundreds. Mean about 10.5, so
    # that with merged duplicates at zero (their votes moved) the board averages about 10.
    return max(1, min(cap, round(rng.lognormvariate(math.log(10.5) - 0.5, 1.0))))


def _is_type(column: sa.Column[Any], kind: type) -> bool:
    return isinstance(getattr(column.type, "impl", column.type), kind)


def _sqlite_converters(table: sa.Table, columns: list[str]) -> list[Callable[[Any], Any] | None]:
    """Per column, what turns a Python value into what SQLAlchemy would store on SQLite (None:
    the driver's own value is it)."""

    def when(v: datetime | None) -> str | None:
        # The seed's datetimes are all UTC already; isoformat is several times quicker than
        # strftime, and its first 26 characters are what SQLAlchemy stores.
        return None if v is None else v.isoformat(" ", "microseconds")[:26]

    def day(v: date | None) -> str | None:
        return None if v is None else v.isoformat()

    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        column = table.c[name]
        if _is_type(column, sa.DateTime):
            out.append(when)
        elif _is_type(column, sa.Date):
            out.append(day)
        else:
            out.append(None)
    return out


def _insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Write rows (dicts with the same keys) straight through the driver: executemany of
    tuples on SQLite, COPY on PostgreSQL. Much of a seed's time went into SQLAlchemy binding
    each value of millions of rows."""
    if not rows:
        return
    columns = list(rows[0])
    get = itemgetter(*columns)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name == "sqlite":
        convert = [(i, f) for i, f in enumerate(_sqlite_converters(table, columns)) if f]
        data: list[Any] = []
        for row in rows:
            values = list(get(row))
            for i, f in convert:
                values[i] = f(values[i])
            data.append(values)
        placeholders = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        raw.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({placeholders})', data)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(get(row))


def _defer_indexes(conn: sa.Connection) -> list[str]:
    """Drop the bulk tables' secondary indexes (and on SQLite the full-text index's insert
    trigger, the insights roll-up triggers and the trending counters' triggers, disabled on
    PostgreSQL); return the statements
    that make them again after the load. Indexes that back a constraint (primary keys, UNIQUE
    in a table's definition) stay."""
    tables = ", ".join(f"'{t}'" for t in BULK_TABLES)
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            f"AND tbl_name IN ({tables}) AND (type = 'index' OR (type = 'trigger' "
            "AND (name = 'feedback_fts_after_insert' OR name LIKE 'insight_acts_%' "
            "OR name LIKE 'trending_votes_%')))"
        ).all()
        for kind, name, _sql in found:
            conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
        return [sql for _kind, _name, sql in found]
    found = conn.exec_driver_sql(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
        f"current_schema() AND i.tablename IN ({tables}) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).all()
    for name, _sql in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    restore = [sql for _name, sql in found]
    # The insights roll-up triggers (per customer and day) and the trending counters' wait
    # too: rebuild() counts both after.
    triggers = conn.exec_driver_sql(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        f"WHERE c.relname IN ({tables}) AND (starts_with(t.tgname, 'insight_acts_') "
        "OR starts_with(t.tgname, 'trending_votes_'))"
    ).all()
    for table, name in triggers:
        conn.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
        restore.append(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
    return restore


def _restore_indexes(conn: sa.Connection, statements: list[str]) -> None:
    """Build the deferred indexes (and triggers) again, and on SQLite fill the full-text
    index from the loaded items in one pass, as its migration does."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
    for sql in statements:
        conn.exec_driver_sql(sql)
    if conn.dialect.name == "sqlite" and any("feedback_fts" in sql for sql in statements):
        conn.exec_driver_sql("INSERT INTO feedback_fts(feedback_fts) VALUES ('rebuild')")


def seed_database(
    app: Flask,
    items: int,
    resolutions: int | None,
    log: Callable[[str], None] = print,
) -> SeedStats:
    """Fill an empty, migrated database with `items` items and everything that hangs off them."""
    from werkzeug.security import generate_password_hash

    from portal.extensions import db
    from portal.models import (
        Category,
        Comment,
        Feedback,
        Resolution,
        SiteSettings,
        TimelineEvent,
        User,
        Vote,
    )

    rng = random.Random(RANDOM_SEED)
    stats = SeedStats()
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=3 * 365)
    first_at = now - span
    with app.app_context():
        engine = db.engine
        # One connection for the whole seed, one transaction per chunk. Profiling showed the
        # SQLite inserts slowing down as the votes' unique (user_id, feedback_id) index outgrew
        # the default 2 MB page cache (random user ids touch pages all over it): this
        # connection gets a 256 MB cache. The served app's connections are left as they are.
        # The served app's connections are left as they are. On SQLite this one writes with
        # no journal and no fsync (journal_mode=WAL again at the end), and no foreign-key
        # checks (the rows are made consistent; verify_counters checks what matters).
        engine.dispose()
        conn = engine.connect()
        if engine.dialect.name == "sqlite":
            # On the driver's connection: outside any transaction, as these must be.
            raw = conn.connection.dbapi_connection
            assert raw is not None
            for pragma in (
                "PRAGMA cache_size = -262144",
                "PRAGMA journal_mode = OFF",
                "PRAGMA synchronous = OFF",
                "PRAGMA foreign_keys = OFF",
            ):
                raw.execute(pragma)
        else:
            conn.exec_driver_sql("SET synchronous_commit = off")
        conn.commit()
        ft, vt, ct, tt, rt = (
            Feedback.__table__,
            Vote.__table__,
            Comment.__table__,
            TimelineEvent.__table__,
            Resolution.__table__,
        )

        # People, categories, settings --------------------------------------------------------
        t0 = time.perf_counter()
        # One scrypt hash (the production method) shared by everyone: all passwords are known.
        pw_hash = generate_password_hash(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
        users: list[dict[str, Any]] = []
        for i in range(N_STAFF):
            users.append(
                {
                    "id": i + 1,
                    "email": STAFF_EMAIL if i == 0 else f"staff{i}@bench.example",
                    "role": "staff",
                    "display_name": f"{FIRST_NAMES[i % len(FIRST_NAMES)]} from Support",
                    "preferred_name": FIRST_NAMES[i % len(FIRST_NAMES)],
                }
            )
        first_customer = N_STAFF + 1
        for i in range(N_CUSTOMERS):
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {i}"
            users.append(
                {
                    "id": first_customer + i,
                    "email": customer_email(i),
                    "role": "customer",
                    "display_name": name,
                    "preferred_name": name.split()[0],
                }
            )
        for row in users:
            row.update(
                password_hash=pw_hash,
                active=True,
                verified_at=first_at,
                session_version=1,
                notification_preference="all",
                created_at=first_at,
                deleted_at=None,
            )
        staff_ids = list(range(1, N_STAFF + 1))
        customer_ids = range(first_customer, first_customer + N_CUSTOMERS)
        with conn.begin():
            _insert(conn, User.__table__, users)
            _insert(
                conn,
                Category.__table__,
                [
                    {
                        "id": i + 1,
                        "name": name,
                        "slug": slug,
                        "description": f"Everything about {name.lower()}.",
                        "ack_target_hours": hours,
                        "response_guide": "Thank them by name and say what happens next.",
                        "position": i,
                    }
                    for i, (name, slug, hours, _topics) in enumerate(CATEGORIES)
                ],
            )
            _insert(
                conn,
                SiteSettings.__table__,
                [
                    {
                        "id": 1,
                        "organisation_name": "Bench Co",
                        "contact_email": "help@bench.example",
                        "contact_phone": "0100 000 000",
                        "contact_address": "1 Loopback Lane",
                        "time_zone": "Europe/London",
                        "pre_moderation": False,
                    }
                ],
            )
        stats.customers = N_CUSTOMERS
        stats.phases["users"] = time.perf_counter() - t0

        # Plan every item first: states, times, text (resolutions need their items' data) ---
        t0 = time.perf_counter()
        plans: list[_Item] = []
        for i in range(items):
            item_id = i + 1
            created = first_at + span * (i / items) + timedelta(minutes=rng.randint(0, 59))
            cat = rng.randrange(len(CATEGORIES))
            topic = rng.choice(CATEGORIES[cat][3])
            state = rng.choices(STATES, STATE_WEIGHTS)[0]
            plan = _Item(
                id=item_id,
                created_at=created,
                category=cat,
                state=state,
                kind=rng.choices(KINDS, KIND_WEIGHTS)[0],
                title=_title(rng, topic),
                body=_body(rng, topic),
                author_id=rng.choice(customer_ids),
                public=rng.random() < 0.9,
                hidden=rng.random() < 0.005,
            )
            if state != "received":
                hours = CATEGORIES[cat][2]
                plan.acknowledged_at = min(
                    now, created + timedelta(minutes=rng.randint(5, int(hours * 1.3 * 60)))
                )
            plans.append(plan)

        # Resolutions: resolved items grouped into themes, mostly within one category.
        resolved = [p for p in plans if p.state == "resolved"]
        n_res = resolutions if resolutions is not None else items // 10
        n_res = max(0, min(n_res, len(resolved)))
        if n_res < (resolutions if resolutions is not None else items // 10):
            log(f"  only {len(resolved)} resolved items: {n_res} resolutions")
        rng.shuffle(resolved)
        resolved.sort(key=lambda p: p.category)
        cuts = sorted(rng.sample(range(1, len(resolved)), n_res - 1)) if n_res > 1 else []
        bounds = [0, *cuts, len(resolved)] if n_res else [0]
        res_rows: list[dict[str, Any]] = []
        for r in range(n_res):
            group = sorted(resolved[bounds[r] : bounds[r + 1]], key=lambda p: p.id)
            latest = max(p.acknowledged_at or p.created_at for p in group)
            published = min(now, latest + timedelta(hours=rng.randint(1, 30 * 24)))
            public_titles = [p.title for p in group if p.public and not p.hidden]
            topic_name = CATEGORIES[group[0].category][0].lower()
            you_said = (
                public_titles[0] if public_titles else f"Several of you wrote about {topic_name}"
            )
            we_did = (
                f"We changed how {topic_name} works: {rng.choice(ADJECTIVES)} steps, clearer "
                f"wording, and a check every {rng.choice(DAYS)}. Thank you for telling us."
            )
            res_rows.append(
                {
                    "id": r + 1,
                    "you_said": you_said[:200],
                    "we_did_source": we_did,
                    "we_did_html": _p(we_did),
                    "category_id": group[0].category + 1,
                    "published_by_id": rng.choice(staff_ids),
                    "published_at": published,
                    "updated_at": published,
                }
            )
            for p in group:
                p.resolution_id = r + 1
                p.resolved_at = published
                if p.acknowledged_at is not None and p.acknowledged_at > published:
                    p.acknowledged_at = published
        # Resolved items left without a resolution (only when --resolutions is small) stay open.
        for p in resolved:
            if p.resolution_id is None:
                p.state = "in_progress"
        non_duplicates = [p.id for p in plans if p.state != "duplicate"]
        stats.phases["plan"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for chunk in _chunks(res_rows, 5000):
            with conn.begin():
                _insert(conn, rt, list(chunk))
        stats.resolutions = n_res
        stats.phases["resolutions"] = time.perf_counter() - t0

        # Items with their votes, comments and timelines: one transaction per chunk ---------
        t0 = time.perf_counter()
        with conn.begin():
            deferred = _defer_indexes(conn)
        vote_id = comment_id = event_id = 0
        today = now.date()
        for chunk in _chunks(plans, ITEM_CHUNK):
            item_rows: list[dict[str, Any]] = []
            vote_rows: list[dict[str, Any]] = []
            comment_rows: list[dict[str, Any]] = []
            event_rows: list[dict[str, Any]] = []
            for p in chunk:
                owner = rng.choice(staff_ids) if p.state != "received" else None
                merged_into: int | None = None
                state = p.state
                if state == "duplicate":
                    # Merge into an earlier item that is not itself a duplicate.
                    k = bisect_left(non_duplicates, p.id)
                    if k == 0:
                        state = p.state = "acknowledged"
                    else:
                        merged_into = non_duplicates[rng.randrange(k)]

                # Votes: the author's own plus others; a merged duplicate's moved to its target.
                votes: list[int] = []
                if state != "duplicate":
                    k = _lognormal_votes(rng, N_CUSTOMERS)
                    votes = rng.sample(customer_ids, k)
                    if p.author_id not in votes:
                        votes[0] = p.author_id
                window = max(60.0, (now - p.created_at).total_seconds())
                for user_id in votes:
                    vote_id += 1
                    vote_rows.append(
                        {
                            "id": vote_id,
                            "user_id": user_id,
                            "feedback_id": p.id,
                            "created_at": p.created_at
                            + timedelta(seconds=rng.random() * min(window, 90 * 86400)),
                        }
                    )

                # Timeline: "submitted", then each state change up to where the item is now.
                events = [
                    {
                        "kind": "submitted",
                        "actor_id": p.author_id,
                        "from_state": None,
                        "to_state": "received",
                        "message": "",
                        "target_date": None,
                        "created_at": p.created_at,
                    }
                ]
                target_date: date | None = None
                if state != "received":
                    if state in FORWARD:
                        end = FORWARD.index(state)
                        path = [s for s in FORWARD[1:end] if rng.random() < 0.6] + [state]
                    elif state == "declined":
                        path = [s for s in FORWARD[1:3] if rng.random() < 0.5] + [state]
                    else:
                        path = [state]
                    start_at = p.acknowledged_at or p.created_at
                    end_at = p.resolved_at or min(now, start_at + timedelta(days=60))
                    step = (end_at - start_at) / max(1, len(path))
                    previous = "received"
                    name = FIRST_NAMES[p.author_id % len(FIRST_NAMES)]
                    for n, to_state in enumerate(path):
                        at = start_at + step * n if n else start_at
                        if to_state == "resolved" and p.resolved_at is not None:
                            at = p.resolved_at
                        message = (
                            f"Thank you, {name}. We have moved this to {to_state.replace('_', ' ')}"
                            " and will keep you posted here."
                        )
                        events.append(
                            {
                                "kind": "state_changed",
                                "actor_id": owner,
                                "from_state": previous,
                                "to_state": to_state,
                                "message": message,
                                "target_date": None,
                                "created_at": at,
                            }
                        )
                        if to_state == "planned":
                            target_date = (
                                today + timedelta(days=rng.randint(7, 120))
                                if state == "planned"
                                else (at + timedelta(days=rng.randint(14, 60))).date()
                            )
                            events.append(
                                {
                                    "kind": "promise_set",
                                    "actor_id": owner,
                                    "from_state": None,
                                    "to_state": None,
                                    "message": "",
                                    "target_date": target_date,
                                    "created_at": at,
                                }
                            )
                        previous = to_state
                for event in events:
                    event_id += 1
                    event["id"] = event_id
                    event["feedback_id"] = p.id
                    event["message_html"] = _p(event["message"]) if event["message"] else ""
                    event_rows.append(event)
                updated_at = max(e["created_at"] for e in events)

                # Comments: about one per item; staff notes and hidden ones are not counted.
                public_comments = 0
                for _ in range(rng.choices((0, 1, 2, 3, 4), (40, 30, 16, 9, 5))[0]):
                    comment_id += 1
                    roll = rng.random()
                    internal = roll < 0.08
                    official = 0.08 <= roll < 0.20
                    hidden = 0.20 <= roll < 0.22
                    body = (
                        "Internal: checked the logs, see ticket."
                        if internal
                        else rng.choice(SENTENCES).format(
                            t=p.title.split()[-1].strip("?").lower(),
                            day=rng.choice(DAYS),
                            n=rng.randint(2, 9),
                            adj=rng.choice(ADJECTIVES),
                        )
                    )
                    if not internal and not hidden:
                        public_comments += 1
                    comment_rows.append(
                        {
                            "id": comment_id,
                            "feedback_id": p.id,
                            "author_id": rng.choice(staff_ids)
                            if internal or official
                            else rng.choice(customer_ids),
                            "body_source": body,
                            "body_html": _p(body),
                            "official": official,
                            "internal": internal,
                            "hidden": hidden,
                            "created_at": p.created_at
                            + timedelta(seconds=rng.random() * min(window, 30 * 86400)),
                        }
                    )

                item_rows.append(
                    {
                        "id": p.id,
                        "kind": p.kind,
                        "title": p.title,
                        "body_source": p.body,
                        "body_html": _p(p.body),
                        "category_id": p.category + 1,
                        "author_id": p.author_id,
                        "visibility": "public" if p.public else "private",
                        "state": state,
                        "owner_id": owner,
                        "vote_count": len(votes),
                        "comment_count": public_comments,
                        "target_date": target_date if state in ("planned", "in_progress") else None,
                        "merged_into_id": merged_into,
                        "hidden": p.hidden,
                        "awaiting_review": False,
                        "created_at": p.created_at,
                        "updated_at": updated_at,
                        "acknowledged_at": p.acknowledged_at,
                        "ack_due_at": p.created_at + timedelta(hours=CATEGORIES[p.category][2]),
                        "resolved_at": p.resolved_at,
                        "resolution_id": p.resolution_id,
                        "reopen_requested_at": None,
                        "fix_confirmed_at": None,
                        "redacted_at": None,
                    }
                )
            with conn.begin():
                _insert(conn, ft, item_rows)
                _insert(conn, vt, vote_rows)
                _insert(conn, ct, comment_rows)
                _insert(conn, tt, event_rows)
            stats.items += len(item_rows)
            if stats.items % 20_000 == 0 or stats.items == items:
                elapsed = time.perf_counter() - t0
                log(f"  {stats.items:>7,} items, {vote_id:>9,} votes ({elapsed:.1f}s)")
        stats.votes, stats.comments, stats.timeline_events = vote_id, comment_id, event_id
        stats.phases["items"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        with conn.begin():
            _restore_indexes(conn, deferred)
        stats.phases["indexes"] = time.perf_counter() - t0

        # Each resolution's categories, as publishing one records them.
        t0 = time.perf_counter()
        with conn.begin():
            conn.execute(
                sa.text(
                    "INSERT INTO resolution_categories (resolution_id, category_id) "
                    "SELECT id, category_id FROM resolutions WHERE category_id IS NOT NULL "
                    "UNION "
                    "SELECT resolution_id, category_id FROM feedback "
                    "WHERE resolution_id IS NOT NULL"
                )
            )

        # Explicit ids leave PostgreSQL's sequences at 1: move them past the seeded rows.
        if engine.dialect.name == "postgresql":
            with conn.begin():
                for table in (
                    "users",
                    "categories",
                    "site_settings",
                    "resolutions",
                    "feedback",
                    "votes",
                    "comments",
                    "timeline_events",
                ):
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))"
                        )
                    )
            # What autovacuum would soon do after a bulk load: statistics and visibility map.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
                # The tuning docs/deploy.md asks of a production database on SSD (PostgreSQL's
                # default of 4 assumes spinning disks and keeps full-text searches off the GIN
                # index). New connections (the served app's) pick it up.
                name = conn.scalar(sa.text("SELECT current_database()"))
                conn.execute(sa.text(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1'))
        if engine.dialect.name == "sqlite":
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA journal_mode = WAL")
        conn.close()
        stats.phases["finish"] = time.perf_counter() - t0
        # Bulk inserts bypass the session that keeps the insights roll-ups, and the triggers
        # were off: count them (and the trending counters) once.
        # (A tree from before the roll-ups, measured by bench/instructions.py --tree, has none.)
        try:
            from portal.services.insights import rollups
        except ImportError:
            rollups = None  # type: ignore[assignment]
        if rollups is not None:
            t0 = time.perf_counter()
            rollups.rebuild(db.session())
            db.session.commit()
            stats.phases["insight roll-ups"] = time.perf_counter() - t0
    stats.seconds = time.perf_counter() - started
    return stats


def verify_counters(app: Flask) -> dict[str, int]:
    """Count rows that break the seeding promises (all should be zero)."""
    from portal.extensions import db

    checks = {
        "vote_count != vote rows": """
            SELECT count(*) FROM feedback f WHERE f.vote_count !=
              (SELECT count(*) FROM votes v WHERE v.feedback_id = f.id)""",
        "comment_count != public comments": """
            SELECT count(*) FROM feedback f WHERE f.comment_count !=
              (SELECT count(*) FROM comments c WHERE c.feedback_id = f.id
                 AND c.internal = false AND c.hidden = false)""",
        "items without ack_due_at": "SELECT count(*) FROM feedback WHERE ack_due_at IS NULL",
        "resolved without resolution": """
            SELECT count(*) FROM feedback WHERE state = 'resolved'
              AND (resolution_id IS NULL OR resolved_at IS NULL)""",
        "items without a submitted event": """
            SELECT count(*) FROM feedback f WHERE NOT EXISTS (SELECT 1 FROM timeline_events t
              WHERE t.feedback_id = f.id AND t.kind = 'submitted')""",
    }
    with app.app_context():
        return {name: int(db.session.scalar(sa.text(sql)) or 0) for name, sql in checks.items()}
