"""Full-text search over feedback, the same interface on both databases, each using its own
index: SQLite FTS5 (bm25) and PostgreSQL tsvector (ts_rank_cd). Titles weigh more than bodies.
On PostgreSQL each item is indexed in its own language's configuration, and a search asks in
each of them (services/languages.py).

User input never reaches the database's query syntax as typed: it is reduced to plain words,
so quotes, operators, NEAR(, SQL fragments and very long input are just words or nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

import sqlalchemy as sa
from markupsafe import Markup, escape

from portal.database import not_indexed
from portal.extensions import db
from portal.models import Feedback, FeedbackState
from portal.services.languages import PLAIN_CONFIGURATION, SEARCH_CONFIGURATIONS
from portal.services.visibility import visible_items_clause, words_public_clause

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
# Words too common to say anything about similarity ("is it one of these?" uses any-word
# matching, where these would match everything). Plain searches keep them on SQLite, and
# PostgreSQL's configuration for each language drops that language's itself.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)

# The columns a SELECT returns, which narrowing it to a search leaves as they were.
Ts = TypeVarTuple("Ts")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# The FTS5 table is not a model: it is created in a migration and kept in step by triggers.
_fts = sa.table("feedback_fts", sa.column("rowid"))
_FTS: sa.ColumnClause[Any] = sa.literal_column("feedback_fts")
# PostgreSQL's generated tsvector column: not mapped either (see database.SEARCH_INDEX_COLUMN).
_SEARCH_VECTOR: sa.ColumnClause[Any] = sa.literal_column("feedback.search_vector")


@dataclass(frozen=True)
class SearchQuery:
    """A search reduced to plain words; empty when nothing searchable was typed."""

    text: str
    terms: tuple[str, ...]

    @classmethod
    def parse(cls, raw: str | None) -> SearchQuery:
        """Keep the words of what was typed, nothing else."""
        text = (raw or "").strip()[:MAX_QUERY_CHARS]
        terms = tuple(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:MAX_TERMS]
        return cls(text=text, terms=terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def meaningful_terms(self) -> tuple[str, ...]:
        """The terms without stop words (for similarity, where any word may match)."""
        return tuple(t for t in self.terms if t not in STOP_WORDS)


def _dialect() -> str:
    return db.engine.dialect.name


# A word shorter than this is not searched as the start of longer words: the index folds
# accents, so a lone "ö" ran as the prefix "o*" and matched unrelated items by the dozen.
MIN_PREFIX_CHARS = 3


def _as_prefix(terms: tuple[str, ...], prefix_last: bool) -> bool:
    return prefix_last and bool(terms) and len(terms[-1]) >= MIN_PREFIX_CHARS


def can_widen(search: SearchQuery) -> bool:
    """Whether reading the last word as the start of longer words may find more items than
    the words as typed (both find the same ones when it is too short to be a prefix)."""
    return _as_prefix(search.terms, True)


def _sqlite_words(terms: tuple[str, ...], prefix_last: bool) -> list[str]:
    quoted = [f'"{t}"' for t in terms]  # terms are letters and digits only: safe to quote
    if _as_prefix(terms, prefix_last):
        quoted[-1] += "*"
    return quoted


def _sqlite_match(terms: tuple[str, ...], any_term: bool, prefix_last: bool) -> str:
    return (" OR " if any_term else " ").join(_sqlite_words(terms, prefix_last))


def _postgres_tsquery(terms: tuple[str, ...], any_term: bool, prefix_last: bool) -> str:
    parts = list(terms)
    if _as_prefix(terms, prefix_last):
        parts[-1] += ":*"
    return (" | " if any_term else " & ").join(parts)


# Each item is indexed with its language's configuration (migration 59925e5c8a93): the
# search is asked in each of them, so "quejas" finds a Spanish item's "queja" and
# "Lieferungen" a German item's "Lieferung". A language's own stop words drop out of its own
# question only, so "the delivery" still finds an English item that says "delivery".
_QUERY_CONFIGURATIONS = (*SEARCH_CONFIGURATIONS.values(), PLAIN_CONFIGURATION)


# Bound parameters of a search, for a statement built once and run with each search's words
# (search_parameters gives their values): building the board's statement cost as much as
# running it.
_MATCH = "search_match"
_TSQUERY = "search_tsquery"
_CANDIDATES = "search_candidates"
_MATCH_PARAMETER: sa.BindParameter[str] = sa.bindparam(_MATCH, type_=sa.String)
_TSQUERY_PARAMETER: sa.BindParameter[str] = sa.bindparam(_TSQUERY, type_=sa.String)
# A limit for newest_matches_ranked that is a bound parameter (search_parameters' candidates).
CANDIDATES_LIMIT: sa.BindParameter[int] = sa.bindparam(_CANDIDATES, type_=sa.Integer)


def _title_word(n: int) -> str:
    return f"search_title_{n}"


def search_parameters(
    search: SearchQuery, prefix_last: bool, candidates: int | None = None
) -> dict[str, Any]:
    """The values of the bound parameters a statement built with `bound=True` takes for this
    search (apply_search, newest_matches_ranked), of which each database uses its own."""
    terms = search.terms
    values: dict[str, Any] = {
        _MATCH: _sqlite_match(terms, False, prefix_last),
        _TSQUERY: _postgres_tsquery(terms, False, prefix_last),
        _CANDIDATES: candidates,
    }
    for n, word in enumerate(_sqlite_words(terms, prefix_last)):
        values[_title_word(n)] = f"title : {word}"  # FTS5: the word in the title column only
    return values


def _tsquery(
    terms: tuple[str, ...], any_term: bool, prefix_last: bool, bound: bool = False
) -> sa.ColumnElement[Any]:
    text: Any = _TSQUERY_PARAMETER if bound else _postgres_tsquery(terms, any_term, prefix_last)
    asked = [
        sa.func.to_tsquery(sa.literal_column(f"'{configuration}'::regconfig"), text)
        for configuration in _QUERY_CONFIGURATIONS
    ]
    return functools.reduce(lambda one, other: one.op("||")(other), asked)


def _terms(search: SearchQuery, any_term: bool) -> tuple[str, ...]:
    return search.meaningful_terms if any_term else search.terms


def apply_search(
    query: sa.Select[*Ts],
    search: SearchQuery,
    *,
    any_term: bool = False,
    prefix_last: bool = False,
    order_by_rank: bool = True,
    bound: bool = False,
) -> sa.Select[*Ts]:
    """Narrow a SELECT over Feedback to items matching the search, best matches first unless
    the caller orders it otherwise. An empty search matches nothing. `bound`: the words are
    bound parameters (see search_parameters; every word must match)."""
    terms = _terms(search, any_term)
    if not terms:
        return query.where(sa.false())
    if _dialect() == "postgresql":
        asked = _tsquery(terms, any_term, prefix_last, bound)
        query = query.where(_SEARCH_VECTOR.op("@@")(asked))
    else:
        match: Any = _MATCH_PARAMETER if bound else _sqlite_match(terms, any_term, prefix_last)
        query = query.join(_fts, _fts.c.rowid == Feedback.id).where(_FTS.op("MATCH")(match))
    if order_by_rank:
        query = query.order_by(search_rank(search, any_term=any_term, prefix_last=prefix_last))
        query = query.order_by(Feedback.id.desc())
    return query


def search_rank(
    search: SearchQuery, *, any_term: bool = False, prefix_last: bool = False
) -> sa.ColumnElement[Any]:
    """How well an item matches, lower is better, for a query that apply_search() narrowed:
    SQLite's bm25 (a title hit counts ten times a body hit) or PostgreSQL's ts_rank_cd,
    negated (titles carry weight A there)."""
    terms = _terms(search, any_term) or ("",)
    if _dialect() == "postgresql":
        return -sa.func.ts_rank_cd(_SEARCH_VECTOR, _tsquery(terms, any_term, prefix_last))
    return sa.func.bm25(_FTS, 10.0, 1.0)


def newest_matches_ranked(
    search: SearchQuery,
    conditions: Sequence[sa.ColumnElement[bool]],
    limit: int | sa.BindParameter[int] | None,
    *,
    ranked: bool = True,
) -> sa.Subquery:
    """The newest `limit` items matching the search and the `conditions` (all of them
    without a limit), with their rank (lower is better), as a subquery with columns id and
    rank: the board's search ranks these candidates only, so past `limit` matches its cost
    does not grow with the board. Not `ranked`, the column id only (for another order).

    The conditions (what the visitor may see, the board's filters) apply before the limit,
    not after: each candidate is one of the visitor's results, so a page is never short
    of items because the newest matches were hidden, private or in another category. Each
    database reads its index newest first, checks each match's row by its primary key and
    stops at the limit: FTS5 walks its doclists by rowid, PostgreSQL reads the id index
    backwards and tests each row against the GIN match (or, for a rare word, sorts its GIN
    matches), and ranks only the rows kept: PostgreSQL with ts_rank_cd, SQLite by how many
    of the words each title holds (see _title_hits).

    The words are bound parameters (search_parameters gives them, the last word read as a
    prefix or not), so the statement serves every search with as many words; CANDIDATES_LIMIT
    is a bound `limit`."""
    terms = search.terms
    if _dialect() == "postgresql":
        query = _tsquery(terms, False, False, bound=True)
        newest = (
            sa.select(Feedback.id)
            .where(_SEARCH_VECTOR.op("@@")(query), *conditions)
            .order_by(Feedback.id.desc())
            .limit(limit)
            .subquery("newest")
        )
        if not ranked:
            return newest
        # Ranked outside the limited SELECT, so a plan that sorts the matches ranks none.
        return (
            sa.select(Feedback.id, (-sa.func.ts_rank_cd(_SEARCH_VECTOR, query)).label("rank"))
            .join(newest, newest.c.id == Feedback.id)
            .subquery("matches")
        )
    newest_sqlite = (
        sa.select(_fts.c.rowid.label("id"))
        .select_from(_fts)
        .join(Feedback, Feedback.id == _fts.c.rowid)
        .where(_FTS.op("MATCH")(_MATCH_PARAMETER), *conditions)
        .order_by(_fts.c.rowid.desc())
        .limit(limit)
    )
    if not ranked:
        return newest_sqlite.subquery("matches")
    candidates = newest_sqlite.cte("candidates")
    return sa.select(
        candidates.c.id, (-_title_hits(candidates, len(terms))).label("rank")
    ).subquery("matches")


def _title_hits(candidates: sa.CTE, words: int) -> sa.ColumnElement[int]:
    """How many of the words each candidate's title holds, on SQLite. Not bm25: it weighs each
    word by how many items hold it, counted over the word's whole list in the index on every
    search (15 ms for a common word at a million items), so its cost grows with the board.
    Each word's title matches (bound as search_title_<n>) are read from the oldest candidate
    on only."""
    oldest = sa.select(sa.func.min(candidates.c.id)).scalar_subquery()
    asked = [sa.bindparam(_title_word(n), type_=sa.String) for n in range(words)]
    hits = [
        sa.cast(
            candidates.c.id.in_(
                sa.select(_fts.c.rowid).where(_FTS.op("MATCH")(title), _fts.c.rowid >= oldest)
            ),
            sa.Integer,
        )
        for title in asked
    ]
    return functools.reduce(lambda one, other: one + other, hits)


SUGGESTION_STATES = (
    FeedbackState.RECEIVED,
    FeedbackState.ACKNOWLEDGED,
    FeedbackState.INVESTIGATING,
    FeedbackState.PLANNED,
    FeedbackState.IN_PROGRESS,
    FeedbackState.RESOLVED,
)


def similar_items(title: str, limit: int = 5) -> list[Feedback]:
    """Up to `limit` public open or resolved items that look like this title ("Is it one of
    these?"), best first."""
    search = SearchQuery.parse(title)
    if not search.meaningful_terms:
        return []
    query = (
        sa.select(Feedback)
        .where(
            visible_items_clause(None, narrower_index_first=True),
            not_indexed(Feedback.state).in_(SUGGESTION_STATES),
            words_public_clause(),
        )
        .limit(limit)
    )
    query = apply_search(query, search, any_term=True, prefix_last=True)
    return list(db.session.scalars(query))


@functools.lru_cache(maxsize=256)
def _marked_words(terms: tuple[str, ...]) -> re.Pattern[str]:
    # Made once per search, for the rare text whose case folding changes its length.
    return re.compile(
        r"\b(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*",
        re.IGNORECASE | re.UNICODE,
    )


_WORD_TAIL = re.compile(r"\w*")
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"


@functools.lru_cache(maxsize=256)
def _folded_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    # The terms as the texts they are looked for in are folded, once per search.
    return tuple(term.casefold() for term in terms)


def _is_word_char(char: str) -> bool:
    # What the pattern's \w and \b take for a word character.
    return char.isalnum() or char == "_"


def _marked(text: str, terms: tuple[str, ...]) -> Markup:
    """The text escaped, each word that starts with a searched term marked to the word's end.

    A page marks twenty titles and snippets, most of which hold the words once or not at
    all: finding the terms in the case-folded text costs a fraction of running the pattern
    over every position of it. That needs the folded text's positions to be the text's, so a
    text whose folding changes its length ("ß" folds to "ss") is left to the pattern.
    """
    folded = text.casefold()
    if len(folded) != len(text):
        spans = [m.span() for m in _marked_words(terms).finditer(text)]
    else:
        found: set[tuple[int, int]] = set()
        for term in _folded_terms(terms):
            start = folded.find(term)
            while start >= 0:
                if start == 0 or not _is_word_char(text[start - 1]):
                    tail = _WORD_TAIL.match(text, start + len(term))
                    found.add((start, tail.end() if tail else start + len(term)))
                start = folded.find(term, start + 1)
        # Each mark runs from a word's start to its end, whichever term found it: a word
        # holds one mark.
        spans = sorted(found)
    if not spans:
        return escape(text)
    # Marked with two control characters and escaped in one go (each escape makes a Markup,
    # which costs more than the escaping), unless the text holds them itself.
    sentinels = _MARK_OPEN not in text and _MARK_CLOSE not in text
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        if sentinels:
            pieces += (text[last:start], _MARK_OPEN, text[start:end], _MARK_CLOSE)
        else:
            pieces += (escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>")
        last = end
    if not sentinels:
        return Markup("".join([*pieces, escape(text[last:])]))
    pieces.append(text[last:])
    escaped = str(escape("".join(pieces)))
    return Markup(escaped.replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>"))


def highlight(text: str, search: SearchQuery) -> Markup:
    """Escape the text and mark the searched words in it (as whole words or word starts)."""
    return _marked(text, search.terms) if search.terms else escape(text)


def snippet(text: str, search: SearchQuery, width: int = 160) -> Markup:
    """A short window of the text around the first searched word, highlighted."""
    folded = text.casefold()
    positions = [p for p in (folded.find(t) for t in _folded_terms(search.terms)) if p >= 0]
    # Where folding changes the text's length these positions are near the words rather
    # than at them: enough to choose the window, which the marks do not depend on.
    start = max(0, min(positions) - width // 3) if positions else 0
    window = text[start : start + width]
    shown = highlight(window, search)
    prefix = "\u2026" if start > 0 else ""
    suffix = "\u2026" if start + width < len(text) else ""
    return Markup(f"{prefix}{shown}{suffix}")
