"""The schema comes from the migrations alone, and they run forward and back."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.database import include_object
from portal.extensions import db
from tests.conftest import make_test_app


def _user_tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_upgrade_an_empty_database_and_downgrade_to_base(database_uri, tmp_path) -> None:
    url = sa.make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        uri = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        cleanup = None
    else:
        name = f"{url.database}_mig"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        uri = url.set(database=name).render_as_string(hide_password=False)

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    app = make_test_app(uri, tmp_path)
    try:
        with app.app_context():
            upgrade()
            assert {"users", "feedback", "votes", "comments", "timeline_events"} <= _user_tables(
                db.engine
            )
            downgrade(revision="base")
            assert _user_tables(db.engine) == set()
            upgrade()
            assert "feedback" in _user_tables(db.engine)
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            cleanup()


def test_models_and_migrations_agree(app) -> None:
    with db.engine.connect() as conn, warnings.catch_warnings():
        # Alembic cannot reflect expression indexes on SQLite and says so.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


@contextmanager
def _fresh_database(database_uri: str, tmp_path: Path, suffix: str) -> Iterator[str]:
    """The URI of an empty database of its own, on the suite's backend, dropped afterwards."""
    url = sa.make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / f'{suffix}.sqlite3'}"
        return
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


BEFORE_NAMES = "a7c9e1b3d5f2"
NAMES_CLEANED = "c8e4f1a6b2d9"


def test_the_names_migration_cleans_stored_names_and_waiting_emails_forward_and_back(
    database_uri: str, tmp_path: Path
) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    people = {
        # email: (display_name, preferred_name) as stored before, and as cleaned
        "owen@example.com": (
            ("Owen\r\nBcc: all@example.com", "Mr\tOwen"),
            ("Owen Bcc: all@example.com", "Mr Owen"),
        ),
        "eve@example.com": (("Eve \u202egnp.exe", "Eve\x1b"), ("Eve gnp.exe", "Eve")),
        "nia@example.com": (("Nia", "Nia J."), ("Nia", "Nia J.")),
        "ada@example.com": (
            ("\u200b", "Ada \U0001f469\u200d\U0001f4bb"),
            ("Ada \U0001f469\u200d\U0001f4bb", "Ada \U0001f469\u200d\U0001f4bb"),
        ),
        "gone@example.com": (("a former customer", ""), ("a former customer", "")),
    }
    with _fresh_database(database_uri, tmp_path, "names") as uri:
        app = make_test_app(uri, tmp_path)
        with app.app_context():
            upgrade(revision=BEFORE_NAMES)
            with db.engine.begin() as conn:
                meta = sa.MetaData()
                users = sa.Table("users", meta, autoload_with=conn)
                outbox = sa.Table("outbox_messages", meta, autoload_with=conn)
                for email, ((display, preferred), _) in people.items():
                    conn.execute(
                        users.insert().values(
                            email=email,
                            password_hash="x",
                            display_name=display,
                            preferred_name=preferred,
                            role="customer",
                            active=True,
                            session_version=1,
                            notification_preference="all",
                            created_at=now,
                        )
                    )
                for number, status in enumerate(["pending", "sent"]):
                    conn.execute(
                        outbox.insert().values(
                            message_id=f"<{number}@portal.example>",
                            kind="reopened",
                            to_email="owner@example.com",
                            to_name="Sam\r\n",
                            from_name="Owen\r\nBcc: all@example.com",
                            subject="Not fixed yet, says Mr\r\nOwen: #1 Lift",
                            text_body="",
                            html_body="",
                            headers={},
                            status=status,
                            attempts=0,
                            next_attempt_at=now,
                            last_error="",
                            created_at=now,
                        )
                    )

            def stored() -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
                with db.engine.connect() as conn:
                    names = conn.execute(
                        sa.text("SELECT email, display_name, preferred_name FROM users")
                    ).all()
                    emails = conn.execute(
                        sa.text(
                            "SELECT to_name, from_name, subject FROM outbox_messages ORDER BY id"
                        )
                    ).all()
                return {e: (d, p) for e, d, p in names}, [tuple(row) for row in emails]

            upgrade(revision=NAMES_CLEANED)
            names, emails = stored()
            assert names == {email: after for email, (_, after) in people.items()}
            assert emails == [
                ("Sam", "Owen Bcc: all@example.com", "Not fixed yet, says Mr Owen: #1 Lift"),
                # A sent email is history: it is left as it went (or failed to go).
                (
                    "Sam\r\n",
                    "Owen\r\nBcc: all@example.com",
                    "Not fixed yet, says Mr\r\nOwen: #1 Lift",
                ),
            ]
            downgrade(revision=BEFORE_NAMES)
            assert stored() == (names, emails)  # nothing to restore: clean names stay clean
            upgrade()
            assert stored() == (names, emails)
            db.session.remove()
            db.engine.dispose()


BEFORE_DURATIONS_SPLIT = "c3f1a9e7d2b5"
DURATIONS_SPLIT = "d5b8f2a4c6e1"


def test_the_durations_migration_turns_rows_per_pair_into_rows_per_category_and_per_owner(
    database_uri: str, tmp_path: Path
) -> None:
    """Upgraded, the durations are the rows the roll-ups now keep for the same items; downgraded,
    the rows per (category, owner) the former roll-ups kept, counted again from the ledger."""
    from collections import Counter

    from portal.services.insights import rollups

    all_ = rollups.ALL
    # Items across a month's end and a week's: (category, owner, created day, ack seconds,
    # resolved day, resolve seconds). Day 20513 is Sunday 1 March 2026.
    items = [
        (1, 7, 20513, 600, 20515, 86400),
        (1, 8, 20513, 600, None, None),
        (2, 7, 20512, 3600, 20513, 7200),
        (2, 0, 20520, None, 20540, 864000),
        (1, 7, 20541, 600, 20541, 600),
    ]
    ledger = [
        {
            "feedback_id": n,
            "created_day": created,
            "category_id": cat,
            "kind": "complaint",
            "channel": "web",
            "owner_id": owner,
            "ack_outcome": 0,
            "ack_seconds": ack,
            "unacknowledged_due_at": None,
            "resolved_day": resolved,
            "resolve_seconds": resolve,
            "declined_day": None,
            "kept_day": None,
            "broken_day": None,
            "open": False,
            "waiting": False,
            "ack_due_day": None,
        }
        for n, (cat, owner, created, ack, resolved, resolve) in enumerate(items, start=1)
    ]
    pairs: Counter[tuple[int, str, int, int, int]] = Counter()  # as kept before the split
    for cat, owner, created, ack, resolved, resolve in items:
        for measure, day, seconds in (("ack", created, ack), ("resolve", resolved, resolve)):
            if day is None or seconds is None:
                continue
            pairs[(day, measure, cat, owner, seconds)] += 1
            for span in ("m", "w"):
                start = rollups.span_start(span, day)
                pairs[(start, f"{measure}/{span}", cat, owner, seconds)] += 1
            for span in ("m", "w", "d"):
                start = rollups.span_start(span, day)
                pairs[(start, f"{measure}/{span}", all_, all_, seconds)] += 1
    now = rollups.Delta.empty()
    for row in ledger:
        now.add(row, 1)

    with _fresh_database(database_uri, tmp_path, "durations") as uri:
        app = make_test_app(uri, tmp_path)
        with app.app_context():
            upgrade(revision=BEFORE_DURATIONS_SPLIT)
            with db.engine.begin() as conn:
                conn.execute(rollups.LEDGER.insert(), ledger)
                columns = ("day", "measure", "category_id", "owner_id", "seconds")
                conn.execute(
                    rollups.DURATIONS.insert(),
                    [dict(zip(columns, k, strict=True)) | {"count": n} for k, n in pairs.items()],
                )

            def stored() -> Counter[tuple[int, str, int, int, int]]:
                with db.engine.connect() as conn:
                    rows = conn.execute(
                        sa.text(
                            "SELECT day, measure, category_id, owner_id, seconds, count "
                            "FROM insight_durations"
                        )
                    ).all()
                return Counter({tuple(r[:5]): r[5] for r in rows if r[5]})

            upgrade(revision=DURATIONS_SPLIT)
            assert stored() == +now.durations
            assert (20513, "ack/m", 1, all_, 600) in stored()  # two items, one row
            assert stored()[(20513, "ack/m", 1, all_, 600)] == 3
            downgrade(revision=BEFORE_DURATIONS_SPLIT)
            assert stored() == pairs
            upgrade()
            assert stored() == +now.durations
            db.session.remove()
            db.engine.dispose()


BEFORE_TRENDING_COUNTERS = "d5b8f2a4c6e1"


def _insert_filled(conn: sa.Connection, table: sa.Table, **values: object) -> int:
    """Insert a row with `values`, every other required column given a plain value."""
    now = datetime.now(UTC)
    plain = {sa.String: "x", sa.Text: "x", sa.Integer: 0, sa.Boolean: False}
    row: dict[str, object] = {}
    for column in table.columns:
        if column.primary_key or column.nullable or column.server_default is not None:
            continue
        if isinstance(column.type, sa.DateTime):
            row[column.name] = now
        elif isinstance(column.type, sa.Date):
            row[column.name] = now.date()
        else:
            row[column.name] = next(v for t, v in plain.items() if isinstance(column.type, t))
    row.update(values)
    return conn.execute(table.insert().values(row)).inserted_primary_key[0]


def test_the_trending_migration_counts_each_items_recent_votes_and_takes_them_away_again(
    database_uri: str, tmp_path: Path
) -> None:
    """Upgraded, each item counts its votes of the last 14 days, and votes given, moved and
    taken back after it keep the count; downgraded, the column, table and triggers are gone."""
    now = datetime.now(UTC)
    with _fresh_database(database_uri, tmp_path, "trending") as uri:
        app = make_test_app(uri, tmp_path)
        with app.app_context():
            upgrade(revision=BEFORE_TRENDING_COUNTERS)
            with db.engine.begin() as conn:
                meta = sa.MetaData()
                users, categories, feedback, votes = (
                    sa.Table(name, meta, autoload_with=conn)
                    for name in ("users", "categories", "feedback", "votes")
                )
                people = [_insert_filled(conn, users, email=f"p{n}@example.com") for n in range(3)]
                category = _insert_filled(conn, categories, slug="lifts")
                items = [
                    _insert_filled(conn, feedback, category_id=category, author_id=people[0])
                    for _ in range(3)
                ]
                for person, item, days in [
                    (people[0], items[0], 1),
                    (people[1], items[0], 13),
                    (people[2], items[0], 15),
                    (people[0], items[1], 30),
                    (people[1], items[2], 2),
                ]:
                    conn.execute(
                        votes.insert().values(
                            user_id=person, feedback_id=item, created_at=now - timedelta(days=days)
                        )
                    )

            def counted() -> dict[int, int]:
                with db.engine.connect() as conn:
                    rows = conn.execute(sa.text("SELECT id, recent_votes FROM feedback")).all()
                return {item_id: n for item_id, n in rows}

            upgrade(revision="e4a7c9b2d6f8")
            assert counted() == {items[0]: 2, items[1]: 0, items[2]: 1}
            with db.engine.begin() as conn:
                conn.execute(
                    votes.insert().values(user_id=people[2], feedback_id=items[1], created_at=now)
                )
                conn.execute(
                    votes.update()
                    .where(votes.c.feedback_id == items[2])
                    .values(feedback_id=items[1])
                )
                conn.execute(
                    votes.delete().where(
                        votes.c.user_id == people[0], votes.c.feedback_id == items[0]
                    )
                )
            assert counted() == {items[0]: 1, items[1]: 2, items[2]: 0}

            downgrade(revision=BEFORE_TRENDING_COUNTERS)
            inspector = sa.inspect(db.engine)
            assert "trending_window" not in inspector.get_table_names()
            assert "recent_votes" not in {c["name"] for c in inspector.get_columns("feedback")}
            with db.engine.begin() as conn:
                # The triggers went with them: a vote is written as before.
                conn.execute(
                    votes.insert().values(user_id=people[0], feedback_id=items[2], created_at=now)
                )
            upgrade()
            assert counted() == {items[0]: 1, items[1]: 2, items[2]: 1}
            db.session.remove()
            db.engine.dispose()
