"""Jinja helpers: site settings on every page, local time, ages and state labels."""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from flask import Flask, request
from flask import url_for as flask_url_for
from flask.globals import _cv_app, _cv_request
from flask_login import current_user
from markupsafe import Markup, escape

from portal.i18n import gettext, locale, ngettext, translations
from portal.models import Feedback, FeedbackKind, FeedbackState
from portal.security import csrf_field
from portal.services import environment
from portal.services.item_data import excerpt_for, public_title, title_for
from portal.services.site import site_zone
from portal.services.states import next_states
from portal.services.visibility import can_view
from portal.services.votes import CLOSED_FOR_VOTES, voting_closed_reason
from portal.site_settings import current_settings

# English keeps the site's own British forms ("4 December 2026", "4 Dec 2026, 14:05"): the
# CLDR "en" patterns are American. Every other language gets its CLDR form (or, for "day", the
# same fields in its own words).
_PATTERNS = {
    # form: (English, other languages)
    "date": ("d MMMM y", "long"),
    "datetime": ("d MMM y, HH:mm", "medium"),
    # A moment within the coming days, as a promise to answer names it: Monday 7 December, 14:00.
    "day": ("EEEE d MMMM, HH:mm", "EEEE d MMMM, HH:mm"),
    # When a person will answer, on the hour: Tuesday 8 December, 2 pm (reply_promise).
    "answer": ("EEEE d MMMM, h a", "EEEE d MMMM, HH:mm"),
}
# English says "2 pm" as the site writes it (CLDR "en" says "2 PM").
_BRITISH = Locale("en", "GB")


def _pattern(form: str, reader: Locale | None) -> str:
    english, other = _PATTERNS[form]
    return english if reader is None or reader.language == "en" else other


_ZONES: dict[str, ZoneInfo] = {}


def _site_zone() -> ZoneInfo:
    # site_zone(current_settings()), kept per zone name: every date on a page asks.
    settings = current_settings()
    zone = _ZONES.get(settings.time_zone)
    if zone is None:
        zone = _ZONES[settings.time_zone] = site_zone(settings)
    return zone


# Babel's formatting of one moment or day, kept: parsing the locale, the pattern and reading
# the locale's month and day names is most of a date's cost, and a page shows the same items'
# dates to every reader. What Flask-Babel's format_datetime(value, pattern, rebase=False) and
# format_date(value, pattern) return; the moment's zone and fold are part of the key (aware
# datetimes in one zone compare equal across a fold).
@lru_cache(maxsize=8192)
def _formatted_moment(
    value: datetime, zone: Any, fold: int, pattern: str, reader: Locale | None
) -> str:
    return str(dates.format_datetime(value, pattern, locale=reader or "en"))


@lru_cache(maxsize=4096)
def formatted_day(value: date, pattern: str, reader: Locale | None) -> str:
    """A day in `pattern` (or "full", "long"...) in `reader`'s language, kept once formatted."""
    return str(dates.format_date(value, pattern, locale=reader or "en"))


@lru_cache(maxsize=1024)
def _formatted_age(seconds: int, reader: Locale | None) -> str:
    # flask_babel.format_timedelta(-whole, threshold=1, add_direction=True).
    return str(
        dates.format_timedelta(
            timedelta(seconds=-seconds),
            "second",
            threshold=1,
            add_direction=True,
            locale=reader or "en",
        )
    )


def localtime(value: datetime | None, form: str = "datetime") -> str:
    """A UTC datetime in the site's time zone, in the reader's language: 4 Dec 2026, 14:05
    (form "datetime"), or Monday 7 December, 14:00 (form "day")."""
    if value is None:
        return ""
    local = value.astimezone(_site_zone())
    reader = locale()
    return _formatted_moment(local, local.tzinfo, local.fold, _pattern(form, reader), reader)


@dataclass(frozen=True)
class ReplyPromise:
    """When a person will first answer an item, in the reader's words: the one place the
    thank-you page, the item page and the receipt email take them from."""

    due: datetime  # the acknowledgement due time, rounded up to the site's next whole hour
    within: str  # "24 hours", "72 hours (3 days)"
    by: str  # "Tuesday 8 December, 2 pm"

    @property
    def passed(self) -> bool:
        """Whether the time has come and gone (still unanswered, the page says sorry)."""
        return self.due < datetime.now(UTC)


def reply_promise(item: Feedback) -> ReplyPromise | None:
    """What we promise about the first personal answer to an item (None: no due time). The
    time is rounded up to the whole hour in the site's time zone, so it is said as people say
    a time ("by 2 pm") and is never earlier than the category's target."""
    if item.ack_due_at is None:
        return None
    local = item.ack_due_at.astimezone(_site_zone())
    if (local.minute, local.second, local.microsecond) != (0, 0, 0):
        local = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        local = local.astimezone(_site_zone())  # across a change of the clocks
    hours = max(1, round((item.ack_due_at - item.created_at).total_seconds() / 3600))
    within = ngettext("%(num)d hour", "%(num)d hours", hours)
    if hours >= 48:
        days = ngettext("%(num)d day", "%(num)d days", round(hours / 24))
        within = gettext("%(hours)s (%(days)s)", hours=within, days=days)
    reader = locale()
    pattern = _pattern("answer", reader)
    speaker = _BRITISH if reader is None or reader.language == "en" else reader
    by = _formatted_moment(local, local.tzinfo, local.fold, pattern, speaker)
    return ReplyPromise(due=local, within=str(within), by=by)


def machine_time(value: date | datetime) -> str:
    """A moment as a <time datetime> value, in the site's time zone: to the second, with its
    offset (HTML allows at most three digits of a second; isoformat() writes six)."""
    if isinstance(value, datetime):
        return value.astimezone(_site_zone()).isoformat(timespec="seconds")
    return value.isoformat()


@dataclass(frozen=True)
class PageClock:
    """What every age on one page shares, found once: the site's zone, the reader's language
    and the page's moment (a board shows twenty)."""

    zone: ZoneInfo
    reader: Locale | None
    now: datetime


def page_clock() -> PageClock:
    """This request's PageClock."""
    return PageClock(_site_zone(), locale(), datetime.now(UTC))


@lru_cache(maxsize=8192)
def _time_opening(local: datetime, zone: Any, fold: int, reader: Locale | None) -> str:
    # The <time> element's opening tag for a moment, escaped (its date and tooltip stay; only
    # the age under it moves). The zone and fold are part of the key, as in _formatted_moment.
    title = _formatted_moment(local, zone, fold, _pattern("datetime", reader), reader)
    machine = local.isoformat(timespec="seconds")
    return f'<time datetime="{escape(machine)}" title="{escape(title)}">'


def age_tag(value: datetime, clock: PageClock) -> Markup:
    """What _macros/ui.html's `time_tag(value, value|timeago, title=value|localtime)` writes, made
    in Python: each board card shows one. `clock`: the page's, found once for all its cards."""
    local = value.astimezone(clock.zone)
    opening = _time_opening(local, local.tzinfo, local.fold, clock.reader)
    return Markup(f"{opening}{escape(_age(value, clock.now, clock.reader))}</time>")


def day_tag(value: datetime) -> Markup:
    """What _macros/ui.html's `time_tag(value, value|longdate)` writes (a day people read, the
    moment for machines), in one call: a "You said, we did" page shows ten."""
    local = value.astimezone(_site_zone())
    reader = locale()
    day = formatted_day(local.date(), _pattern("date", reader), reader)
    return Markup(
        f'<time datetime="{escape(local.isoformat(timespec="seconds"))}">{escape(day)}</time>'
    )


def longdate(value: date | datetime | None) -> str:
    """A date as people write it, in the reader's language: 4 December 2026."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_site_zone()).date()
    reader = locale()
    return formatted_day(value, _pattern("date", reader), reader)


def localdate(value: datetime) -> date:
    """The day a UTC datetime falls on in the site's time zone."""
    return value.astimezone(_site_zone()).date()


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    """A short age such as "3 days ago", in the reader's language (whole units, rounded
    down: an item 47 hours old is "1 day ago")."""
    if value is None:
        return ""
    return _age(value, now or datetime.now(UTC), locale())


def _age(value: datetime, now: datetime, reader: Locale | None) -> str:
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return str(gettext("just now"))
    for size in (31_536_000, 2_592_000, 604_800, 86_400, 3_600, 60):
        if seconds >= size:
            return _formatted_age(seconds // size * size, reader)
    return str(gettext("just now"))


_AFTER_GREETING = re.compile(r"$|[ \t]*[,!:;.]|[ \t]*\r?\n|[ \t]+[-\u2013\u2014][ \t]")
# Up to the first full stop (or ! or ?) that ends a sentence: "version 2.1" goes on.
_FIRST_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=\S))*[.!?]?")
_GREETING = re.compile(r"\s*(?:(?:dear|hi|hello|good (?:morning|afternoon|evening))\s+)?", re.I)


def addressed_to(message: str | None, name: str) -> bool:
    """Whether a message opens by greeting this person ("Nia, I am so sorry...", "Hi Nia"),
    or its first sentence speaks to them by name ("Sorry this took so long, Nia.", "Sorry,
    Nia, this took too long."). An email that carries such a message does not open with
    "Dear Nia," as well: one greeting is a letter, two are a form wrapped round one."""
    name = name.strip()
    message = (message or "").lstrip()
    if not message or not name:
        return False
    rest = message[_GREETING.match(message).end() :]  # type: ignore[union-attr]
    if rest.casefold().startswith(name.casefold()):
        # "Nia, ...", "Nia! ...", "Nia - ..." or the name alone on its line; not "Nia's
        # parcel" or "Nia-Rose and I".
        return _AFTER_GREETING.match(rest[len(name) :]) is not None
    first = _FIRST_SENTENCE.match(message).group(0)  # type: ignore[union-attr]
    named = re.escape(name)
    # ", Nia." closing the first sentence, or one word and then ", Nia," ("Sorry, Nia,"); not
    # "Our engineer, Sam, will call" (an aside about someone of the same name).
    return (
        re.search(rf",\s*{named}\s*[.!?]?\s*$", first, re.I) is not None
        or re.match(rf"\w+,\s*{named}\s*,", first, re.I) is not None
    )


def shown_title(item: Feedback, reader: Any = None) -> str:
    """An item's title on a page: a stand-in once staff redacted or hid it, except for staff
    and its author (item_data.title_for). `reader`: the current user, when found already."""
    reader = reader or _reader()
    if reader.is_authenticated:
        return title_for(item, reader)
    return public_title(item)


def shown_excerpt(item: Feedback, reader: Any = None) -> str:
    """The one line of an item's body on its card, as this reader may read it."""
    return excerpt_for(item, reader or _reader())


def money(cents: int | None) -> str:
    """Cents in the site's currency, as the reader's language writes money ("$1,234.50");
    for customer value on staff pages only."""
    if cents is None:
        return ""
    currency = environment.current().settings.currency
    try:
        return numbers.format_currency(Decimal(cents) / 100, currency, locale=locale() or "en")
    except (ValueError, numbers.UnknownCurrencyError):
        return f"{Decimal(cents) / 100:,.2f} {currency}"


def _reader() -> Any:
    # Flask-Login's current_user, read from g where Flask-Login keeps it once loaded (the
    # board asks once per item; the proxy looks up the request and the app again each time).
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        user = app_ctx.g.__dict__.get("_login_user")
        if user is not None:
            return user
    return current_user._get_current_object()


_REASONS_KEPT = 1024
_reasons: dict[tuple[Any, ...], str] = {}


def closed_reason(item: Feedback) -> str:
    """Why a Done, Not planned or Merged item takes no more votes, in the reader's words
    (votes.voting_closed_reason). Kept per state, day and language: a board page says it on
    every closed card, twice (its tooltip and its hidden words), and a Done item's sentence
    writes a date."""
    zone = _site_zone()
    day = None
    if item.state is FeedbackState.RESOLVED and item.resolved_at is not None:
        day = item.resolved_at.astimezone(zone).date()
    key = (item.state, day, zone, locale(), translations())
    said = _reasons.get(key)
    if said is None:
        said = str(voting_closed_reason(item.state, item.resolved_at, zone))
        if len(_reasons) >= _REASONS_KEPT:
            _reasons.clear()
        _reasons[key] = said
    return said


_FRAGMENTS_KEPT = 256


def layout_part(*key: Any, caller: Callable[[], str], keep: bool = True) -> Markup:
    """`{% call layout_part("footer", site, ...) %}...{% endcall %}`: the layout's parts that
    are the same for everyone reading in one language (the head's links, a visitor's header,
    the footer), rendered once per key, language and script root and then reused. The key names
    everything else the part shows (the site's settings, a page's address); `keep` false: a
    part that is someone's own this time (a signed-in header), rendered and not kept."""
    if not keep:
        return Markup(caller())
    req_ctx = _cv_request.get(None)
    root = None if req_ctx is None else req_ctx.request.script_root
    # Kept per app: two apps in one process (tests, a site mounted twice) may offer other
    # languages or serve static files elsewhere with equal settings.
    fragments: dict[tuple[Any, ...], Markup] = _cv_app.get().app.extensions.setdefault(
        "portal_layout_parts", {}
    )
    full = (key, root, locale(), translations())
    part = fragments.get(full)
    if part is None:
        part = Markup(caller())
        if len(fragments) >= _FRAGMENTS_KEPT:
            fragments.clear()
        fragments[full] = part
    return part


class _TemplateGlobals(ChainMap[str, Any]):
    """A template's globals (Jinja's ChainMap of its own over the environment's), whose keys
    come as a set: Jinja subtracts them from the importing page's at every {% import %} and
    {% from %}, and a ChainMap's keys view asks each map for each of ~40 names in Python
    (20 microseconds an import, nine imports on an item page)."""

    def keys(self) -> set[str]:  # type: ignore[override]
        return set().union(*self.maps)


# The URLs a page builds, kept per app: the header, the footer and every card build the same
# few dozen, each through Flask's url_for (the request's adapter, URL defaults, the rule's
# converters). Only plain values are kept, and only a URL without a host (the same for every
# request of that script root): anything else is built each time.
_PLAIN_VALUES = (str, int, bool)
URLS_KEPT = 4096


class VoteFormParts(NamedTuple):
    """What every vote form on one page shares, made once a page: a signed-in board has one
    on each open card (templates/feedback/_vote_macros.html), and the CSRF field, the address
    and the words cost a tenth of that page when each form made its own."""

    action_start: str  # the vote's address before the item's number: "/feedback/"
    action_end: str  # and after it: "/vote"
    hidden: Markup  # the CSRF token's field
    take_back: str  # the pressed button's tooltip
    vote_for_this: str  # the button's tooltip
    voted: str  # the pressed button's word
    me_too: str  # the button's word


def around_item_number(endpoint: str) -> tuple[str, str]:
    """An item's address at `endpoint` (whose one number is the item's) before and after the
    number, as url_for writes it in this request: ("/feedback/", "/vote"). A page of items
    writes each address from these instead of building it through url_for."""
    return _around_item_number(endpoint, request.script_root)


@lru_cache(maxsize=64)
def _around_item_number(endpoint: str, script_root: str) -> tuple[str, str]:
    # The same for every request under one app root. The item's number is the last "/0".
    start, _, end = flask_url_for(endpoint, item_id=0).rpartition("/0")
    return f"{start}/", end


def vote_form_parts() -> VoteFormParts:
    """VoteFormParts for this request."""
    return VoteFormParts(
        *around_item_number("feedback.vote"),
        csrf_field(),
        gettext("Take back your vote"),
        gettext("Me too: vote for this"),
        gettext("Voted"),
        gettext("Me too"),
    )


def _kept_url_for(build: Callable[..., str]) -> Callable[..., str]:
    kept: dict[tuple[Any, ...], str] = {}

    def url_for(endpoint: str, /, **values: Any) -> str:
        req_ctx = _cv_request.get(None)
        adapter = None if req_ctx is None else req_ctx.url_adapter
        if adapter is None or endpoint[:1] == ".":
            return build(endpoint, **values)
        key: tuple[Any, ...] = (adapter.script_name, adapter.subdomain, endpoint)
        for name, value in values.items():
            if name[:1] == "_" or type(value) not in _PLAIN_VALUES:
                return build(endpoint, **values)
            key += (name, type(value), value)
        url = kept.get(key)
        if url is None:
            url = build(endpoint, **values)
            if url[:1] == "/":
                if len(kept) >= URLS_KEPT:
                    kept.clear()
                kept[key] = url
        return url

    return url_for


def register(app: Flask) -> None:
    """Attach filters and globals to the Jinja environment."""
    env = app.jinja_env

    def make_globals(d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # jinja2.Environment.make_globals, with the set of keys above.
        return _TemplateGlobals({} if d is None else d, env.globals)

    env.make_globals = make_globals  # type: ignore[method-assign]
    env.globals["url_for"] = _kept_url_for(app.url_for)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.filters["longdate"] = longdate
    app.jinja_env.filters["localdate"] = localdate
    app.jinja_env.filters["timeago"] = timeago
    app.jinja_env.filters["money"] = money
    app.jinja_env.tests["addressed_to"] = addressed_to
    app.jinja_env.globals["today"] = lambda: localdate(datetime.now(UTC))  # the site's day
    app.jinja_env.globals["can_view"] = can_view
    app.jinja_env.globals["shown_title"] = shown_title
    app.jinja_env.globals["reply_promise"] = reply_promise
    # Staff pages offer only the moves the workflow accepts.
    app.jinja_env.globals["next_states"] = next_states
    # Why a Done, Not planned or Merged item takes no more votes (said on its button and page).
    app.jinja_env.globals["voting_closed_reason"] = closed_reason
    app.jinja_env.globals["layout_part"] = layout_part
    app.jinja_env.globals["vote_form_parts"] = vote_form_parts
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["day_tag"] = day_tag
    # `item is closed_for_votes`: the votes service's rule, not a list of states per template.
    app.jinja_env.tests["closed_for_votes"] = lambda item: item.state in CLOSED_FOR_VOTES
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        return {
            "site": current_settings(),
            "FeedbackState": FeedbackState,
            "FeedbackKind": FeedbackKind,
        }
