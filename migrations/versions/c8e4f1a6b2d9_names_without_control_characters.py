"""names: clean the stored ones of line breaks, controls and invisible characters

Revision ID: c8e4f1a6b2d9
Revises: a7c9e1b3d5f2
Create Date: 2026-12-06 21:00:00

Names could be stored with CR/LF, NUL and the like (the account forms refused only direction
overrides): a display name "Owen\r\nBcc: ..." left every email naming that person pending, the
mail library refusing the header. The name rule now refuses them at every way in
(portal/validation.py, name_problem); this cleans what is stored as clean_name does: users'
display and preferred names, and the names and subject of emails still waiting in the outbox.
The rule is copied here, as it stands today, so this migration means the same thing whenever it
runs.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c8e4f1a6b2d9"
down_revision = "a7c9e1b3d5f2"
branch_labels = None
depends_on = None

BATCH = 500
_FORMAT_CHARACTERS_KEPT = frozenset("\u200c\u200d\u200e\u200f\u061c")

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("display_name", sa.String),
    sa.column("preferred_name", sa.String),
)
outbox_messages = sa.table(
    "outbox_messages",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("to_name", sa.String),
    sa.column("from_name", sa.String),
    sa.column("subject", sa.String),
)


def _breaks_a_line(character: str) -> bool:
    return unicodedata.category(character) in {"Cc", "Zl", "Zp"}


def _invisible(character: str) -> bool:
    # Format characters (direction overrides and isolates among them) but the joiners and marks.
    return unicodedata.category(character) == "Cf" and character not in _FORMAT_CHARACTERS_KEPT


def clean_name(name: str) -> str:
    kept = "".join(" " if _breaks_a_line(c) else "" if _invisible(c) else c for c in name)
    return " ".join(kept.split())


def clean_line(text: str) -> str:
    """A subject on one line: each run of line breaks and controls becomes one space."""
    kept: list[str] = []
    for character in text:
        if not _breaks_a_line(character):
            kept.append(character)
        elif not kept or kept[-1] != " ":
            kept.append(" ")
    return "".join(kept)


def _clean_users(connection: sa.Connection) -> None:
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.display_name, users.c.preferred_name)
            .where(users.c.id > last_id)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for user_id, display_name, preferred_name in rows:
            display = clean_name(display_name or "")
            preferred = clean_name(preferred_name or "")
            # A name of nothing but such characters: the other name, as registration does.
            display = display or preferred or "a customer"
            if preferred_name and not preferred:
                preferred = display
            if (display, preferred) != (display_name, preferred_name or ""):
                connection.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(display_name=display, preferred_name=preferred)
                )
        last_id = rows[-1][0]


def _clean_waiting_emails(connection: sa.Connection) -> None:
    # Only waiting emails: a sent one went out with its names, and the mail library refused
    # every one that held a line break.
    rows = connection.execute(
        sa.select(
            outbox_messages.c.id,
            outbox_messages.c.to_name,
            outbox_messages.c.from_name,
            outbox_messages.c.subject,
        ).where(outbox_messages.c.status.in_(("pending", "sending")))
    ).all()
    for message_id, to_name, from_name, subject in rows:
        cleaned = (clean_name(to_name or ""), clean_name(from_name or ""), clean_line(subject))
        if cleaned != (to_name or "", from_name or "", subject):
            connection.execute(
                outbox_messages.update()
                .where(outbox_messages.c.id == message_id)
                .values(to_name=cleaned[0], from_name=cleaned[1], subject=cleaned[2])
            )


def upgrade():
    connection = op.get_bind()
    _clean_users(connection)
    _clean_waiting_emails(connection)


def downgrade():
    # Nothing to undo: a cleaned name is a valid name to the code before this revision too, and
    # putting the line breaks back would only stop that person's emails again.
    pass
