"""The durations the roll-ups keep: the words shown are those of the exact duration up to
9.9 days, and at most 10% (a day, or ten days) less beyond; in order, so percentiles agree."""

from __future__ import annotations

from portal.services.insights.figures import format_duration
from portal.services.insights.rollups import duration_bucket

DAY = 86400
SECONDS = [*range(0, 3 * DAY, 11), *range(3 * DAY, 12 * DAY, 97), *range(12 * DAY, 900 * DAY, 9973)]


def test_a_bucket_reads_as_the_exact_duration_up_to_ten_days() -> None:
    for seconds in SECONDS:
        if float(f"{seconds / DAY:.1f}") < 10:
            assert str(format_duration(duration_bucket(seconds))) == str(format_duration(seconds))


def test_longer_durations_are_at_most_a_tenth_off() -> None:
    for seconds in SECONDS:
        if seconds >= 10 * DAY:
            assert abs(seconds - duration_bucket(seconds)) <= max(DAY, seconds / 10)
    assert str(format_duration(duration_bucket(12 * DAY + 7 * 3600))) == "12 days"


def test_buckets_keep_the_order_of_durations() -> None:
    buckets = [duration_bucket(s) for s in SECONDS]
    assert buckets == sorted(buckets)
