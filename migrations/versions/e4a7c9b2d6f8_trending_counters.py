"""trending counters: each item's votes of the trending window (feedback.recent_votes), the
window's start (trending_window), kept by triggers on votes, and the trending sort's index

Revision ID: e4a7c9b2d6f8
Revises: d5b8f2a4c6e1
Create Date: 2026-12-08 09:00:00

The board's trending sort grouped every vote of the last 14 days on each request: 243 ms a
page at a million items (372,407 such votes). Each item now keeps its count of the votes given
since the window's start, which the sweep (portal/services/trending.py) moves up as time
passes, and the sort reads a partial index of the items that have any, in its order.

Triggers, not session events, as for the insights roll-ups (b7d2e5f8a3c1): votes are cast,
moved, taken back and imported by plain SQL. On PostgreSQL a trigger for a vote given more
than a day ago takes the window's row FOR SHARE, as the sweep takes it FOR UPDATE before it
subtracts: a sweep and the vote then never both count it, or both miss it. A vote given within
the day needs no lock, as no sweep's range (up to 14 days ago) reaches it.

Plain ADD/DROP COLUMN and CREATE/DROP INDEX, no batch rebuild: rebuilding `feedback` on SQLite
would drop the full-text index's triggers (c3f1a9d27e55).
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e4a7c9b2d6f8"
down_revision = "d5b8f2a4c6e1"
branch_labels = None
depends_on = None

TRENDING_DAYS = 14
SINCE = "(SELECT starts_at FROM trending_window WHERE id = 1)"
# Per trigger: its event, when it runs, and per side (OLD takes a vote away, NEW adds one).
TRIGGERS = {
    "ins": ("INSERT", "true", ("NEW",)),
    "del": ("DELETE", "true", ("OLD",)),
    "upd": (
        "UPDATE OF feedback_id, created_at",
        "NEW.feedback_id IS NOT OLD.feedback_id OR NEW.created_at IS NOT OLD.created_at",
        ("OLD", "NEW"),
    ),
}


def _step(side: str, since: str) -> str:
    sign = "-" if side == "OLD" else "+"
    return (
        f"UPDATE feedback SET recent_votes = recent_votes {sign} 1 "
        f"WHERE id = {side}.feedback_id AND {side}.created_at >= {since}"
    )


def _postgresql_function(name: str, sides: tuple[str, ...]) -> str:
    old = " OR ".join(f"{side}.created_at < statement_timestamp() - interval '1 day'" for side in sides)
    steps = ";\n".join(_step(side, "since") for side in sides)
    return (
        f"CREATE FUNCTION trending_votes_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE since timestamptz;\n"
        "BEGIN\n"
        f"IF {old} THEN\n"
        "  SELECT starts_at INTO since FROM trending_window WHERE id = 1 FOR SHARE;\n"
        "ELSE\n"
        "  SELECT starts_at INTO since FROM trending_window WHERE id = 1;\n"
        "END IF;\n"
        f"{steps};\n"
        "RETURN NULL;\n"
        "END $$"
    )


def create_triggers(dialect: str) -> None:
    for name, (event, guard, sides) in TRIGGERS.items():
        if dialect == "postgresql":
            guard = guard.replace("IS NOT OLD", "IS DISTINCT FROM OLD")
            op.execute(_postgresql_function(name, sides))
            op.execute(
                f"CREATE TRIGGER trending_votes_{name} AFTER {event} ON votes FOR EACH ROW "
                f"WHEN ({guard}) EXECUTE FUNCTION trending_votes_{name}()"
            )
        else:
            body = ";\n".join(_step(side, SINCE) for side in sides)
            op.execute(
                f"CREATE TRIGGER trending_votes_{name} AFTER {event} ON votes FOR EACH ROW "
                f"WHEN {guard} BEGIN\n{body};\nEND"
            )


def upgrade() -> None:
    op.add_column(
        "feedback", sa.Column("recent_votes", sa.Integer(), server_default="0", nullable=False)
    )
    window = op.create_table(
        "trending_window",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trending_window")),
    )
    # The UTC wall time: SQLite stores it as the portal's UTCDateTime does, to compare as text.
    since = datetime.now(UTC) - timedelta(days=TRENDING_DAYS)
    dialect = op.get_bind().dialect.name
    op.bulk_insert(
        window, [{"id": 1, "starts_at": since.replace(tzinfo=None) if dialect == "sqlite" else since}]
    )
    op.execute(
        "UPDATE feedback SET recent_votes = recent.n FROM ("
        "SELECT feedback_id, count(*) AS n FROM votes "
        f"WHERE created_at >= {SINCE} GROUP BY feedback_id"
        ") AS recent WHERE feedback.id = recent.feedback_id"
    )
    op.create_index(
        "ix_feedback_trending",
        "feedback",
        [
            "recent_votes",
            "vote_count",
            "id",
            "visibility",
            "hidden",
            "awaiting_review",
            "category_id",
            "state",
            "kind",
        ],
        sqlite_where=sa.text("recent_votes > 0"),
        postgresql_where=sa.text("recent_votes > 0"),
    )
    create_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS trending_votes_{name} ON votes")
            op.execute(f"DROP FUNCTION IF EXISTS trending_votes_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trending_votes_{name}")
    op.drop_index("ix_feedback_trending", table_name="feedback")
    op.drop_table("trending_window")
    # DROP COLUMN without a rebuild (SQLite 3.35+), so the FTS triggers on feedback stay.
    op.drop_column("feedback", "recent_votes")
