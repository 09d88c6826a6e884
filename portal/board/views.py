"""The public board at /."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import Blueprint, current_app, make_response, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from portal.extensions import htmx
from portal.i18n import PageLanguages, WrittenIn, markup_gettext, page_languages, written_in_page
from portal.models import Feedback, FeedbackKind, FeedbackState
from portal.services.board import (
    SEARCH_COUNT_LIMIT,
    TRENDING_DAYS,
    BoardFilters,
    BoardSort,
    board_page,
)
from portal.services.search import SearchQuery, highlight, snippet
from portal.services.site import cached_categories
from portal.services.votes import voted_item_ids
from portal.templating import (
    PageClock,
    VoteFormParts,
    age_tag,
    around_item_number,
    page_clock,
    shown_excerpt,
    shown_title,
    vote_form_parts,
)

bp = Blueprint("board", __name__)


@dataclass(frozen=True)
class Labels:
    """The states', kinds' and orders' names in the page's language, as `_(state.label)`
    gives them: looked up once a page (the filters list each, and every card names two)."""

    states: dict[FeedbackState, Markup]
    kinds: dict[FeedbackKind, Markup]
    sorts: dict[BoardSort, Markup]


def page_labels() -> Labels:
    """The board page's Labels, in the request's language."""
    return Labels(
        states={state: markup_gettext(state.label) for state in FeedbackState},
        kinds={kind: markup_gettext(kind.label) for kind in FeedbackKind},
        sorts={sort: markup_gettext(sort.label) for sort in BoardSort},
    )


class CardWords(NamedTuple):
    """What one board card shows of its item, made in one call a card (each call from a
    template costs more than the work of a small one)."""

    written: WrittenIn | None  # the item's language, when not the page's
    title: str  # the title as this reader may read it
    heading: str | Markup  # the title as the card shows it: the searched words marked
    text: str | Markup  # its one line of body, or on a search the marked snippet
    href: str  # the item's page
    age: Markup  # its age, with its local date and time as the tooltip


@dataclass(frozen=True)
class CardLinks:
    """What every card of one board page makes alike, made once for the page (twenty url_for
    calls were a tenth of the page's cost), and each card's words (`card`)."""

    item_path: str  # an item's page without its number: "/feedback/"
    login: str | None  # a visitor's "Sign in to vote", back to this page (None: signed in)
    sign_in: Markup  # "Sign in to vote", a visitor's vote link's tooltip and words
    # _macros/ui.html's state_badge and kind_tag for each state and kind, written once a page.
    badges: dict[FeedbackState, Markup]
    tags: dict[FeedbackKind, Markup]
    reader: Any  # who reads the page (Flask-Login's current user, or its anonymous one)
    languages: PageLanguages
    clock: PageClock
    vote_form: VoteFormParts | None  # a signed-in reader's vote forms' shared parts
    search: SearchQuery | None = None  # the words searched for: a snippet, not an excerpt

    def card(self, item: Feedback) -> CardWords:
        """The card's words: its title as shown (highlight() marks the searched words), its
        excerpt or snippet, its address as url_for("feedback.detail") writes it, and its age
        as `time_tag(moment, moment|timeago, title=moment|localtime)` writes it."""
        title = shown_title(item, self.reader)
        if self.search:
            heading: str | Markup = highlight(title, self.search)
            text: str | Markup = snippet(item.body_source, self.search)
        else:
            heading, text = title, shown_excerpt(item, self.reader)
        return CardWords(
            written_in_page(item.language, self.languages),
            title,
            heading,
            text,
            f"{self.item_path}{item.id}",
            age_tag(item.created_at, self.clock),
        )


def card_links(
    next_url: str,
    signed_in: bool,
    search: SearchQuery | None = None,
    labels: Labels | None = None,
) -> CardLinks:
    """The board's cards' links and words made once a page (templates/board/_results.html);
    `search`: the words searched for, whose cards show a snippet instead of an excerpt."""
    login = None if signed_in else url_for("accounts.login", next=next_url)
    labels = labels or page_labels()
    item_path, _ = around_item_number("feedback.detail")
    return CardLinks(
        item_path,
        login,
        sign_in=markup_gettext("Sign in to vote"),
        # The labels are Markup already, the states' and kinds' values plain words:
        # written with f-strings (Markup.format escapes through a formatter, costlier than
        # a page of few cards saves).
        badges={
            state: Markup(
                f'<span class="badge badge--{state.value}"><span class="badge__dot" '
                f'aria-hidden="true"></span>{label}</span>'
            )
            for state, label in labels.states.items()
        },
        tags={
            kind: Markup(f'<span class="tag tag--{kind.value}">{label}</span>')
            for kind, label in labels.kinds.items()
        },
        reader=current_user._get_current_object(),
        languages=page_languages(),
        clock=page_clock(),
        vote_form=vote_form_parts() if signed_in else None,
        search=search or None,  # a search of no words shows excerpts
    )


@bp.get("/")
def index() -> Response:
    filters = BoardFilters.from_args(request.args)
    page = board_page(
        filters,
        per_page=current_app.config["BOARD_PAGE_SIZE"],
        search_count_limit=SEARCH_COUNT_LIMIT,
    )
    context = {
        "filters": filters,
        "page": page,
        "voted_ids": voted_item_ids(current_user, [item.id for item in page.items]),
        "sorts": list(BoardSort),
        "trending_days": TRENDING_DAYS,
        "card_links": card_links,
        "labels": page_labels(),
    }
    if htmx and htmx.target == "board-results":
        response = make_response(render_template("board/_results.html", **context))
    else:
        response = make_response(
            render_template("board/index.html", categories=cached_categories(), **context)
        )
    response.headers["Vary"] = "HX-Request"
    return response
