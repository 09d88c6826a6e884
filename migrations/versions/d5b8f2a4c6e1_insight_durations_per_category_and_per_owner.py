"""insight durations per category and per owner, not per pair

Revision ID: d5b8f2a4c6e1
Revises: c3f1a9e7d2b5
Create Date: 2026-12-07 19:40:00

The staff report's times to acknowledge and to resolve are shown per category and per owner,
never per pair of them, but insight_durations kept a row per (category, owner, bucket) and the
report summed them twice in SQL: at a million items a month of acknowledgements was 10,454
rows to read where the two sums are 6,158. The rows per pair become one row per category
(owner_id -1, the roll-ups' "all") and one per owner (category_id -1). The rows over all items
(both -1) are unchanged. Both directions are plain SQL over the table and the item ledger, so
no `flask insights rebuild` is needed either way.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd5b8f2a4c6e1'
down_revision = 'c3f1a9e7d2b5'
branch_labels = None
depends_on = None

ALL = -1
PAIRS = f"category_id != {ALL} AND owner_id != {ALL}"


def upgrade():
    for group, kept in (("category_id", f"category_id, {ALL}"), ("owner_id", f"{ALL}, owner_id")):
        op.execute(
            "INSERT INTO insight_durations (day, measure, category_id, owner_id, seconds, count) "
            f"SELECT day, measure, {kept}, seconds, sum(count) FROM insight_durations "
            f"WHERE {PAIRS} GROUP BY day, measure, {group}, seconds HAVING sum(count) != 0"
        )
    op.execute(f"DELETE FROM insight_durations WHERE {PAIRS}")


def _month_start(dialect: str) -> str:
    # The day number of the first of the month of day number `day` (days since 1970-01-01).
    if dialect == "postgresql":
        return "(date_trunc('month', DATE '1970-01-01' + day)::date - DATE '1970-01-01')"
    return (
        "CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) "
        "- julianday('1970-01-01') AS INTEGER)"
    )


def downgrade():
    # Rows per pair cannot be had from the sums: count them again from each item's ledger row.
    op.execute(f"DELETE FROM insight_durations WHERE NOT (category_id = {ALL} AND owner_id = {ALL})")
    dialect = op.get_bind().dialect.name
    week_start = "day - (day - 4) % 7"  # the Monday of the week (day 4 was a Monday)
    durations = (
        "SELECT created_day AS day, 'ack' AS measure, category_id, owner_id, ack_seconds AS seconds "
        "FROM insight_items WHERE ack_seconds IS NOT NULL "
        "UNION ALL SELECT resolved_day, 'resolve', category_id, owner_id, resolve_seconds "
        "FROM insight_items WHERE resolved_day IS NOT NULL AND resolve_seconds IS NOT NULL"
    )
    for day, suffix in (("day", ""), (week_start, "/w"), (_month_start(dialect), "/m")):
        op.execute(
            "INSERT INTO insight_durations (day, measure, category_id, owner_id, seconds, count) "
            f"SELECT {day}, measure || '{suffix}', category_id, owner_id, seconds, count(*) "
            f"FROM ({durations}) AS d GROUP BY {day}, measure, category_id, owner_id, seconds"
        )
