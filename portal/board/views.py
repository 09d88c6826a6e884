"""The public board at /."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
from portal.services.site import cached_categories
from portal.services.votes import voted_item_ids
from portal.templating import PageClock, age_tag, page_clock, shown_excerpt, shown_title

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


@dataclass(frozen=True)
class CardLinks:
    """The links every card of one board page makes alike, made once for the page: twenty
    url_for calls were a tenth of the page's cost."""

    item_path: str  # an item's page without its number: "/feedback/"
    login: str | None  # a visitor's "Sign in to vote", back to this page (None: signed in)
    labels: Labels  # the states' and kinds' names
    sign_in: Markup  # "Sign in to vote", a visitor's vote link's tooltip and words
    # _macros/ui.html's state_badge and kind_tag for each state and kind, written once a page.
    badges: dict[FeedbackState, Markup]
    tags: dict[FeedbackKind, Markup]
    reader: Any  # who reads the page (Flask-Login's current user, or its anonymous one)
    languages: PageLanguages
    clock: PageClock
    searching: bool = False

    def item(self, item_id: int) -> str:
        """An item's page, as url_for("feedback.detail", item_id=...) writes it."""
        return f"{self.item_path}{item_id}"

    def words(self, item: Feedback) -> tuple[WrittenIn | None, str, str]:
        """A card's language (when not the page's), its title as shown and, off a search
        (which shows a snippet instead), its one line of body: one call a card, not three."""
        excerpt = "" if self.searching else shown_excerpt(item, self.reader)
        title = shown_title(item, self.reader)
        return written_in_page(item.language, self.languages), title, excerpt

    def when(self, moment: datetime) -> Markup:
        """A card's age ("3 days ago") with its local date and time as the tooltip, as
        `time_tag(moment, moment|timeago, title=moment|localtime)` writes it."""
        return age_tag(moment, self.clock)


def card_links(
    next_url: str, signed_in: bool, search: object = None, labels: Labels | None = None
) -> CardLinks:
    """The board's cards' links and words made once a page (templates/board/_results.html);
    `search`: the words searched for, whose cards show a snippet instead of an excerpt."""
    login = None if signed_in else url_for("accounts.login", next=next_url)
    labels = labels or page_labels()
    # The item's number is the address's last part (feedback.detail: /feedback/<int:item_id>).
    item_path = url_for("feedback.detail", item_id=0).removesuffix("0")
    return CardLinks(
        item_path,
        login,
        labels=labels,
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
        searching=bool(search),
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
