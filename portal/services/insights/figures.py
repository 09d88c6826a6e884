"""What the insights figures are, and the arithmetic done on what the queries return.

No database and no Flask here: the week and date-range arithmetic, the figures as typed values
(with the shares worked out from their counts), the weekly volume arranged into series, rising
title words counted from titles, the digest's week-by-week running total, and the words people
read for a duration or a share. ``queries`` fills these from SQL; ``report`` puts them together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from portal.models import FeedbackChannel, FeedbackKind, FeedbackState, Visibility
from portal.services.wording import Text, t

# How the duration figures are grouped: over all items, per category or per owner.
Grouping = Literal["all", "category", "owner"]

# Weeks and periods ----------------------------------------------------------------------------


# Monday 5 January 1970: weeks are numbered from here (day 4 after the Unix epoch).
WEEK_EPOCH = date(1970, 1, 5)


def week_start(index: int) -> date:
    """The Monday that begins week number ``index`` (as ``queries.week_index`` counts them)."""
    return WEEK_EPOCH + timedelta(weeks=index)


def week_of(moment: datetime | date) -> int:
    """The week number of a moment (its UTC date) or a date, as the database counts it."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return (day - WEEK_EPOCH).days // 7


def weeks_between(start: datetime, end: datetime) -> list[date]:
    """The Mondays of every week that overlaps the period, oldest first."""
    if end <= start:
        return []
    first, last = week_of(start), week_of(end - timedelta(microseconds=1))
    return [week_start(i) for i in range(first, last + 1)]


def weeks_back(now: datetime, count: int) -> datetime:
    """The start (Monday, midnight UTC) of a run of ``count`` weeks ending with this one."""
    monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    return datetime.combine(monday - timedelta(weeks=count - 1), time(), UTC)


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before this one."""
    return start - (end - start), start


# Date ranges ----------------------------------------------------------------------------------


DEFAULT_WEEKS = 12
MAX_RANGE_DAYS = 731
# Nothing can be older than the portal; this also keeps date arithmetic far from year 1.
EARLIEST_DAY = date(2000, 1, 3)


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days, first and last included, as the staff page's date picker shows them."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), UTC)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """Start and end of the period, the end no later than now (figures are as at now)."""
        return self.start, max(self.start, min(self.end, now))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def default_range(today: date) -> DateRange:
    """The last twelve weeks: eleven whole weeks and this one so far."""
    monday = today - timedelta(days=today.weekday())
    return DateRange(monday - timedelta(weeks=DEFAULT_WEEKS - 1), today)


def parse_date_range(
    raw_from: str | None, raw_to: str | None, *, today: date
) -> tuple[DateRange, list[Text]]:
    """Read the picker's two dates (YYYY-MM-DD), mending what cannot be used, and say what
    was changed."""
    notes: list[Text] = []
    default = default_range(today)

    def parse(raw: str | None, fallback: date, which: str) -> date:
        if not raw:
            return fallback
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            notes.append(
                t("The start date was not a date; showing the default instead.")
                if which == "start"
                else t("The end date was not a date; showing the default instead.")
            )
            return fallback

    first = parse(raw_from, default.first_day, "start")
    last = parse(raw_to, default.last_day, "end")
    if max(first, last) > today:
        first, last = min(first, today), min(last, today)
        notes.append(t("The range cannot reach into the future; it ends today."))
    if first > last:
        first, last = last, first
        notes.append(t("The dates were the wrong way round; they have been swapped."))
    if first < EARLIEST_DAY:
        first, last = EARLIEST_DAY, max(last, EARLIEST_DAY)
        notes.append(t("The range starts no earlier than %(date)s.", date=EARLIEST_DAY.isoformat()))
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        first = last - timedelta(days=MAX_RANGE_DAYS - 1)
        notes.append(t("A range is at most %(days)s days; it starts later.", days=MAX_RANGE_DAYS))
    return DateRange(first, last), notes


# Counts, shares and durations -----------------------------------------------------------------


def percent_of(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole``; None when there is no whole to share."""
    return None if whole == 0 else 100.0 * part / whole


@dataclass(frozen=True)
class ChannelCount:
    """Items that reached us one way (web, email, API, staff) in the period."""

    channel: FeedbackChannel
    count: int
    percent: float | None


@dataclass(frozen=True)
class RecordedCount:
    """What staff recorded for customers heard one way in the period: new items, and "me
    too"s on items."""

    channel: FeedbackChannel
    items: int
    me_too: int


def channel_shares(counts: Mapping[FeedbackChannel, int]) -> list[ChannelCount]:
    """Every channel in the channels' own order with its count (zero when absent) and its
    share of all of them."""
    total = sum(counts.values())
    return [
        ChannelCount(channel, counts.get(channel, 0), percent_of(counts.get(channel, 0), total))
        for channel in FeedbackChannel
    ]


@dataclass(frozen=True)
class Percentiles:
    """Median and 90th percentile of a duration, in whole seconds, for one group of items."""

    key: int | None
    label: str
    count: int
    median: int | None
    p90: int | None


@dataclass(frozen=True)
class TargetFigures:
    """Acknowledgement targets of the items received in the period."""

    key: int | None
    label: str
    met: int
    missed: int
    pending: int  # unacknowledged and not yet due: counted neither way

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        return percent_of(self.met, self.decided)


@dataclass(frozen=True)
class PromiseFigures:
    """Promised dates that came to a head in the period: kept or broken."""

    kept: int
    broken: int

    @property
    def total(self) -> int:
        return self.kept + self.broken

    @property
    def percent(self) -> float | None:
        return percent_of(self.kept, self.total)


@dataclass(frozen=True)
class PromiseMoves:
    """Promised dates moved in the period."""

    moves: int
    items: int
    items_moved_more_than_once: int


# Volume and recurring problems ----------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyCount:
    """Items of one kind in one category received in one week."""

    week: date
    category_id: int
    category: str
    kind: FeedbackKind
    count: int


@dataclass(frozen=True)
class VolumeSummary:
    """Weekly volume arranged for charts: per kind and per category, one number per week."""

    weeks: list[date]
    by_kind: dict[FeedbackKind, list[int]]
    by_category: list[tuple[str, list[int]]]
    totals: list[int]


def summarise_volume(rows: Iterable[WeeklyCount], weeks: list[date]) -> VolumeSummary:
    """Arrange ``weekly_volume`` rows into one series per kind and per category."""
    position = {week: i for i, week in enumerate(weeks)}
    by_kind = {kind: [0] * len(weeks) for kind in FeedbackKind}
    by_category: dict[tuple[str, int], list[int]] = {}
    totals = [0] * len(weeks)
    for row in rows:
        i = position[row.week]
        by_kind[row.kind][i] += row.count
        by_category.setdefault((row.category, row.category_id), [0] * len(weeks))[i] += row.count
        totals[i] += row.count
    categories = [(name, series) for (name, _), series in sorted(by_category.items())]
    return VolumeSummary(weeks, by_kind, categories, totals)


@dataclass(frozen=True)
class Trend:
    """A category or a word: how often it came up in the period and in the one before."""

    label: str
    current: int
    previous: int
    key: int | None = None

    @property
    def change(self) -> int:
        return self.current - self.previous


_COMMON_WORDS = """
    about after again all also and any are because been before being but can cannot could did
    does doing dont don't for from get gets getting got had has have having her here his how
    into its just like more most much not now off once only other our out over own please same
    she should some still such than that the their them then there these they this those too
    under until very was way were what when where which while who why will with would yet you
    your yours isn't can't won't didn't doesn't wasn't
    """


STOP_WORDS = frozenset(_COMMON_WORDS.split())


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def title_words(title: str) -> set[str]:
    """The words of a title that can say what it is about (each once)."""
    return {
        word
        for word in _WORD.findall(title.casefold())
        if len(word) >= 3 and not word.isdigit() and word not in STOP_WORDS
    }


def _titles_per_word(titles: Iterable[str]) -> Counter[str]:
    # Titles repeat ("Problem with the login"): each distinct title is split into words once.
    counts: Counter[str] = Counter()
    for title, n in Counter(titles).items():
        for word in title_words(title):
            counts[word] += n
    return counts


def rising_words(
    titles_now: Iterable[str],
    titles_before: Iterable[str],
    *,
    limit: int = 10,
    min_count: int = 2,
) -> list[Trend]:
    """Title words in at least ``min_count`` titles now and in more titles than before (each
    word once per title); the biggest rise first."""
    current, previous = _titles_per_word(titles_now), _titles_per_word(titles_before)
    trends = [
        Trend(word, count, previous[word])
        for word, count in current.items()
        if count >= min_count and count > previous[word]
    ]
    trends.sort(key=lambda t: (-t.change, -t.current, t.label))
    return trends[:limit]


@dataclass(frozen=True)
class VotedItem:
    """An unresolved item and how many people said "me too"."""

    id: int
    title: str
    category: str
    state: FeedbackState
    visibility: Visibility
    votes: int
    created_at: datetime


@dataclass(frozen=True)
class Workload:
    """What one member of staff (or nobody, ``owner_id`` None) has open right now."""

    owner_id: int | None
    name: str
    open: int
    unacknowledged: int
    overdue: int
    oldest_unacknowledged_at: datetime | None


# The digest and the public page ---------------------------------------------------------------


@dataclass(frozen=True)
class DigestWeek:
    """One week of the email digest: subscribers, new sign-ups, confirmations, opt-outs."""

    week: date
    subscribers_at_start: int
    signups: int
    confirmations: int
    optouts: int
    notification_optouts: int

    @property
    def churn(self) -> float | None:
        """Opt-outs as a share of everyone who could opt out: subscribers at the start plus
        those who confirmed during the week."""
        return percent_of(self.optouts, self.subscribers_at_start + self.confirmations)


@dataclass(frozen=True)
class DigestActivity:
    """The digest over the whole period and week by week."""

    weeks: list[DigestWeek]
    subscribers_at_start: int
    signups: int
    confirmed_signups: int  # sign-ups of the period that are confirmed now
    confirmations: int
    optouts: int
    notification_optouts: int

    @property
    def subscribers_at_end(self) -> int:
        return self.subscribers_at_start + self.confirmations - self.optouts

    @property
    def churn(self) -> float | None:
        return percent_of(self.optouts, self.subscribers_at_start + self.confirmations)

    @property
    def confirmation_rate(self) -> float | None:
        return percent_of(self.confirmed_signups, self.signups)


DigestEvent = Literal["signup", "confirm", "optout", "notification"]


def digest_by_week(
    weeks: Iterable[date],
    subscribers_at_start: int,
    confirmed_signups: int,
    counts: Mapping[tuple[int, DigestEvent], int],
) -> DigestActivity:
    """The digest week by week from the subscribers at the start of the period and the events
    counted per week number: each week starts with the last one's subscribers plus its
    confirmations minus its opt-outs."""
    rows: list[DigestWeek] = []
    subscribers = subscribers_at_start
    for monday in weeks:
        w = week_of(monday)
        week = DigestWeek(
            monday,
            subscribers,
            counts.get((w, "signup"), 0),
            counts.get((w, "confirm"), 0),
            counts.get((w, "optout"), 0),
            counts.get((w, "notification"), 0),
        )
        rows.append(week)
        subscribers += week.confirmations - week.optouts
    return DigestActivity(
        weeks=rows,
        subscribers_at_start=subscribers_at_start,
        signups=sum(w.signups for w in rows),
        confirmed_signups=confirmed_signups,
        confirmations=sum(w.confirmations for w in rows),
        optouts=sum(w.optouts for w in rows),
        notification_optouts=sum(w.notification_optouts for w in rows),
    )


@dataclass(frozen=True)
class PublishedResolution:
    """A published "we did", as the public page shows it."""

    id: int
    you_said: str
    we_did_html: str
    published_at: datetime
    category: str | None


# Words for numbers ----------------------------------------------------------------------------


def format_duration(seconds: float | None) -> Text:
    """A duration as people say it: "40 min", "5.5 hours", "3 days" (the web layer's
    insight_duration filter says the same with the reader's decimal sign)."""
    if seconds is None:
        return t("no data")
    if seconds < 60:
        return t("under a minute")
    if seconds < 90 * 60:
        return t("%(minutes)s min", minutes=round(seconds / 60))
    if seconds < 48 * 3600:
        hours = f"{seconds / 3600:.1f}".removesuffix(".0")
        if hours == "1":
            return t("1 hour")
        return t("%(hours)s hours", hours=hours)
    days = f"{seconds / 86400:.1f}".removesuffix(".0")  # a value, not words: kept out of t()
    return t("%(days)s days", days=days)


def format_percent(value: float | None) -> Text:
    """A share as a whole percentage, or "no data"."""
    if value is None:
        return t("no data")
    percent = f"{value:.0f}"
    return t("%(percent)s%%", percent=percent)


@dataclass(frozen=True)
class SegmentFigures:
    """Items written and votes given in a period by the customers of one segment (None: no
    segment known), and how many customers that was."""

    segment: str | None
    items: int
    votes: int
    people: int
