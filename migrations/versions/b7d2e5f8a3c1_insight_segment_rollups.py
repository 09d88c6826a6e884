"""insight roll-ups of items and votes per customer: per day and customer, and per day and the
customer's segment now, kept by triggers on feedback, votes and users.segment

Revision ID: b7d2e5f8a3c1
Revises: a7c3e9d1b4f2
Create Date: 2026-12-07 12:30:00

Triggers, not session events: votes are cast by plain SQL (services/votes.py), and a change of
a customer's segment moves their whole history to the new segment, as the recount sees it.
The tables are filled here from the existing items and votes. On SQLite every roll-up table is
made WITHOUT ROWID (clustered on its key). Run ``flask insights rebuild`` after upgrading:
durations per category and owner are now also kept per month and week.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d2e5f8a3c1"
down_revision = 'a7c3e9d1b4f2'
branch_labels = None
depends_on = None


CLUSTERED = ("insight_days", "insight_durations", "insight_backlog", "insight_waiting")


def _day(dialect: str, column: str) -> str:
    """The UTC day number of a timestamp column, as rollups.day_number counts it."""
    if dialect == "postgresql":
        return f"(({column} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"
    return f"(CAST(strftime('%s', date({column})) AS INTEGER) / 86400)"


def _bump(user: str, day: str, items: str, votes: str) -> list[str]:
    """Add items and votes of one customer on one day to both tables (nothing for no one)."""
    return [
        "INSERT INTO insight_user_days (user_id, day, items, votes) "
        f"SELECT {user}, {day}, {items}, {votes} WHERE {user} IS NOT NULL "
        "ON CONFLICT (user_id, day) DO UPDATE SET "
        "items = insight_user_days.items + excluded.items, "
        "votes = insight_user_days.votes + excluded.votes",
        "INSERT INTO insight_segment_days (day, segment, items, votes) "
        f"SELECT {day}, COALESCE((SELECT segment FROM users WHERE id = {user}), ''), "
        f"{items}, {votes} WHERE {user} IS NOT NULL "
        "ON CONFLICT (day, segment) DO UPDATE SET "
        "items = insight_segment_days.items + excluded.items, "
        "votes = insight_segment_days.votes + excluded.votes",
    ]


def _move(segment: str, sign: str) -> str:
    """Add (sign 1) or take away (sign -1) one customer's history to or from a segment."""
    return (
        "INSERT INTO insight_segment_days (day, segment, items, votes) "
        f"SELECT day, COALESCE({segment}, ''), {sign} * items, {sign} * votes "
        "FROM insight_user_days WHERE user_id = OLD.id "
        "ON CONFLICT (day, segment) DO UPDATE SET "
        "items = insight_segment_days.items + excluded.items, "
        "votes = insight_segment_days.votes + excluded.votes"
    )


def _bodies(dialect: str) -> dict[str, tuple[str, list[str]]]:
    """Per trigger: its table and event, and its statements."""
    fday_new, fday_old = _day(dialect, "NEW.created_at"), _day(dialect, "OLD.created_at")
    return {
        "feedback_ins": ("INSERT ON feedback", _bump("NEW.author_id", fday_new, "1", "0")),
        "feedback_del": ("DELETE ON feedback", _bump("OLD.author_id", fday_old, "-1", "0")),
        "feedback_upd": (
            "UPDATE OF author_id, created_at ON feedback",
            _bump("OLD.author_id", fday_old, "-1", "0")
            + _bump("NEW.author_id", fday_new, "1", "0"),
        ),
        "votes_ins": ("INSERT ON votes", _bump("NEW.user_id", fday_new, "0", "1")),
        "votes_del": ("DELETE ON votes", _bump("OLD.user_id", fday_old, "0", "-1")),
        "votes_upd": (
            "UPDATE OF user_id, created_at ON votes",
            _bump("OLD.user_id", fday_old, "0", "-1") + _bump("NEW.user_id", fday_new, "0", "1"),
        ),
        "users_segment": (
            "UPDATE OF segment ON users",
            [_move("OLD.segment", "-1"), _move("NEW.segment", "1")],
        ),
    }


def _guard(name: str) -> str:
    """When the trigger has something to count (NULL authors are nobody's)."""
    return {
        "feedback_ins": "NEW.author_id IS NOT NULL",
        "feedback_del": "OLD.author_id IS NOT NULL",
        "votes_ins": "true",
        "votes_del": "true",
        "feedback_upd": (
            "NEW.author_id IS NOT OLD.author_id OR NEW.created_at IS NOT OLD.created_at"
        ),
        "votes_upd": "NEW.user_id IS NOT OLD.user_id OR NEW.created_at IS NOT OLD.created_at",
        "users_segment": "COALESCE(NEW.segment, '') <> COALESCE(OLD.segment, '')",
    }[name]


def create_triggers(dialect: str) -> None:
    for name, (event, statements) in _bodies(dialect).items():
        guard = _guard(name)
        if dialect == "postgresql":
            guard = guard.replace("IS NOT OLD", "IS DISTINCT FROM OLD")
            body = ";\n".join(statements)
            op.execute(
                f"CREATE FUNCTION insight_acts_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n{body};\nRETURN NULL;\nEND $$"
            )
            op.execute(
                f"CREATE TRIGGER insight_acts_{name} AFTER {event} FOR EACH ROW "
                f"WHEN ({guard}) EXECUTE FUNCTION insight_acts_{name}()"
            )
        else:
            body = ";\n".join(statements)
            op.execute(
                f"CREATE TRIGGER insight_acts_{name} AFTER {event} FOR EACH ROW "
                f"WHEN {guard} BEGIN\n{body};\nEND"
            )


def fill(dialect: str) -> None:
    op.execute(
        "INSERT INTO insight_user_days (user_id, day, items, votes) "
        "SELECT user_id, day, SUM(i), SUM(v) FROM ("
        f"SELECT author_id AS user_id, {_day(dialect, 'created_at')} AS day, 1 AS i, 0 AS v "
        "FROM feedback WHERE author_id IS NOT NULL UNION ALL "
        f"SELECT user_id, {_day(dialect, 'created_at')}, 0, 1 FROM votes"
        ") AS acts GROUP BY user_id, day"
    )
    op.execute(
        "INSERT INTO insight_segment_days (day, segment, items, votes) "
        "SELECT d.day, COALESCE(u.segment, ''), SUM(d.items), SUM(d.votes) "
        "FROM insight_user_days d JOIN users u ON u.id = d.user_id "
        "GROUP BY d.day, COALESCE(u.segment, '')"
    )


def upgrade() -> None:
    op.create_table(
        "insight_user_days",
        sa.Column("user_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("votes", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", name="pk_insight_user_days"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "insight_segment_days",
        sa.Column("day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("segment", sa.String(length=80), nullable=False),
        sa.Column("items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("votes", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "segment", name="pk_insight_segment_days"),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # Clustered on the primary key: a period's rows are read without a look-up each.
        for name in CLUSTERED:
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_with_rowid": False}
            ):
                pass
    fill(dialect)
    create_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, (event, _) in _bodies(dialect).items():
        table = event.rsplit(" ", 1)[-1]
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS insight_acts_{name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS insight_acts_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS insight_acts_{name}")
    if dialect == "sqlite":
        for name in CLUSTERED:
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_with_rowid": True}
            ):
                pass
    op.drop_table("insight_segment_days")
    op.drop_table("insight_user_days")
