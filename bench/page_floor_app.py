"""The page floor: the board's first page, 20 cards with the fields the portal's card shows,
from ONE SQL query through plain Jinja, in the same layout (bench/templates/page_floor.html is
a copy of a rendered board page's markup).

What the portal does on top (sessions, languages, permissions, filters, the page cache,
notifications...) is what the benchmark's "vs page floor" column measures. The board's total
and the category names are read once at start-up: the portal keeps its count and its
categories in its own short caches, so neither is part of a page's cost there either.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, render_template, request
from floor_db import aware, make_engine

PER_PAGE = 20
EXCERPT_CHARS = 80
ZONE = ZoneInfo("Europe/London")
STATES = {
    "received": "Received",
    "acknowledged": "Acknowledged",
    "investigating": "Looking into it",
    "planned": "Planned",
    "in_progress": "In progress",
    "resolved": "Done",
    "declined": "Not planned",
    "duplicate": "Merged",
}
KINDS = {"complaint": "Complaint", "idea": "Idea", "question": "Question", "praise": "Praise"}
CLOSED = ("resolved", "declined", "duplicate")
LANGUAGES = [("en", "English"), ("ar", "العربية"), ("de", "Deutsch"), ("es", "Español")]
LANGUAGES += [("fr", "Français")]
VISIBLE = "f.visibility = 'public' AND f.hidden = false AND f.awaiting_review = false"
# The board's default order (most votes), as the portal's index on it serves it.
CARDS = sa.text(
    "SELECT f.id, f.title, f.body_source, f.state, f.kind, f.vote_count, f.comment_count, "
    "f.created_at, f.resolved_at, c.name AS category "
    f"FROM feedback f JOIN categories c ON c.id = f.category_id WHERE {VISIBLE} "
    "ORDER BY f.vote_count DESC, f.id DESC LIMIT :limit OFFSET :offset"
)

app = Flask(__name__, template_folder=str(Path(__file__).resolve().parent / "templates"))
engine = make_engine()
with engine.connect() as _conn:
    TOTAL = _conn.scalar(sa.text(f"SELECT count(*) FROM feedback f WHERE {VISIBLE}")) or 0
    SITE = _conn.execute(
        sa.text(
            "SELECT organisation_name, contact_email, contact_phone, contact_address "
            "FROM site_settings WHERE id = 1"
        )
    ).one()
    CATEGORIES = _conn.execute(sa.text("SELECT name, slug FROM categories ORDER BY position")).all()


def excerpt(text: str) -> str:
    """The start of a body on one line, cut after a whole word (as the portal's card)."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    cut = flat[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "\u2026"


def ago(value: datetime, now: datetime) -> str:
    """ "2 years ago": the largest whole unit."""
    seconds = int((now - value).total_seconds())
    for size, unit in ((31_536_000, "year"), (2_592_000, "month"), (604_800, "week")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


def card(row: Any, now: datetime) -> dict[str, Any]:
    """What the template shows of one row."""
    created = aware(row.created_at).astimezone(ZONE)  # type: ignore[union-attr]
    closed = ""
    if row.state == "resolved":
        done = aware(row.resolved_at)
        closed = (
            f"Voting has closed: this was done on {done.astimezone(ZONE):%-d %B %Y}."
            if done
            else "Voting has closed: this was done."
        )
    elif row.state == "declined":
        closed = "Voting has closed: we decided not to do this."
    elif row.state == "duplicate":
        closed = "Voting has closed: this was merged into another item."
    return {
        "id": row.id,
        "title": row.title,
        "excerpt": excerpt(row.body_source),
        "state": row.state,
        "state_label": STATES[row.state],
        "kind": row.kind,
        "kind_label": KINDS[row.kind],
        "category": row.category,
        "votes": row.vote_count,
        "comments": row.comment_count,
        "closed": closed,
        "machine_time": created.isoformat(timespec="seconds"),
        "local_time": f"{created:%-d %b %Y, %H:%M}",
        "ago": ago(created, now),
    }


@app.get("/")
def board() -> str:
    """The board's page (?page=N), most votes first."""
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    with engine.connect() as conn:
        rows = conn.execute(CARDS, {"limit": PER_PAGE, "offset": (page - 1) * PER_PAGE}).all()
    now = datetime.now(UTC)
    return render_template(
        "page_floor.html",
        cards=[card(row, now) for row in rows],
        total=TOTAL,
        page=page,
        pages=math.ceil(TOTAL / PER_PAGE),
        site=SITE,
        categories=CATEGORIES,
        states=STATES,
        kinds=KINDS,
        languages=LANGUAGES,
    )


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Answers once the worker is up (the benchmark waits for it)."""
    return {"status": "ok"}
