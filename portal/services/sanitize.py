"""The one place user text becomes HTML: Markdown first, then bleach with an allowlist.

Cleaning after rendering matters: Markdown can turn harmless-looking text into markup, so
only the final HTML is trusted to bleach. Bare addresses become links in the same pass
(bleach's LinkifyFilter, after its sanitizing filter), so the HTML is parsed and written out
once and code shows its characters once. Callers use render_markdown() and nothing else, so
the cleaner can be swapped (bleach is no longer developed upstream) without touching them.

Every `*_html` column is render_markdown() of the source beside it, as it was when the row was
written. When these rules change, `rerender_stored_text()` (`flask rerender-text`) writes the
stored HTML again from the stored source, so older rows read as new ones do.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import bleach
import sqlalchemy as sa
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt
from sqlalchemy.orm import InstrumentedAttribute

from portal.extensions import db
from portal.models import Comment, Feedback, Resolution, TextVersion, TimelineEvent

# Never svg, math, noscript, style, iframe, form or any event attribute.
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "abbr": ["title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# Raw HTML in the source is shown as text, never passed through; headings start at h3 so user
# text never outranks the page's own headings. A line break is kept as typed ("breaks"): people
# write comments as they would an email, not Markdown, and two lines must not run together.
_markdown = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True}
)
# Images would let any post load third-party content; the CSP would block them anyway.
_markdown.disable(["image"])


# bleach's linkifier callbacks see a link's attributes keyed by (namespace, name).
LinkAttributes = MutableMapping[tuple[str | None, str], str]


def _set_rel(attrs: LinkAttributes, new: bool = False) -> LinkAttributes:
    attrs[(None, "rel")] = LINK_REL
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    # Runs on the sanitized stream; a separate linkify() over the cleaned HTML would parse it
    # again and write the text of skipped tags escaped twice (`<b>` shown as "&lt;b&gt;").
    filters=[
        partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, parse_email=False)
    ],
)


def _demote_headings(html: str) -> str:
    for level in (2, 1):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    return html


def render_markdown(source: str) -> str:
    """Turn a user's Markdown into safe HTML: links are nofollow, nothing executable survives."""
    html = _demote_headings(_markdown.render(source or ""))
    return _cleaner.clean(html)


# Stored HTML ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedColumn:
    """A column of HTML rendered from the column of source text beside it."""

    label: str
    id: InstrumentedAttribute[int]
    source: InstrumentedAttribute[str]
    html: InstrumentedAttribute[str]


RENDERED_COLUMNS = (
    RenderedColumn("items", Feedback.id, Feedback.body_source, Feedback.body_html),
    RenderedColumn("comments", Comment.id, Comment.body_source, Comment.body_html),
    RenderedColumn(
        "timeline messages", TimelineEvent.id, TimelineEvent.message, TimelineEvent.message_html
    ),
    RenderedColumn("resolutions", Resolution.id, Resolution.we_did_source, Resolution.we_did_html),
    # Words their author has since changed, which staff still read.
    RenderedColumn(
        "earlier versions", TextVersion.id, TextVersion.body_source, TextVersion.body_html
    ),
)


def rerender_stored_text(batch_size: int = 500) -> dict[str, int]:
    """Render every stored text again with today's rules and store the HTML where it differs
    (a resolution's change also moves its updated_at, so feeds announce the new text). Returns
    how many rows changed, by column; a second run finds nothing to do."""
    changed: dict[str, int] = {}
    for column in RENDERED_COLUMNS:
        changed[column.label] = 0
        last_id = 0
        while True:
            rows = db.session.execute(
                sa.select(column.id, column.source, column.html)
                .where(column.id > last_id)
                .order_by(column.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            for row_id, source, stored in rows:
                html = render_markdown(source)
                if html != stored:
                    values: dict[Any, str] = {column.html: html}
                    db.session.execute(
                        sa.update(column.id.class_).where(column.id == row_id).values(values)
                    )
                    changed[column.label] += 1
            last_id = rows[-1][0]
    db.session.flush()
    return changed
