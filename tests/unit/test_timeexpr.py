"""Time expressions as an operator types them (`logs --since/--until`), each form in the table."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from feedbackctl.errors import UsageError
from feedbackctl.timeexpr import describe_range, parse_time

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", datetime(2026, 11, 25, 9, 50, tzinfo=UTC)),
        ("1h", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
        ("30s", datetime(2026, 11, 25, 9, 59, 30, tzinfo=UTC)),
        ("2d", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("1w", datetime(2026, 11, 18, 10, 0, tzinfo=UTC)),
        ("5 minutes", datetime(2026, 11, 25, 9, 55, tzinfo=UTC)),
        ("5 Minutes", datetime(2026, 11, 25, 9, 55, tzinfo=UTC)),
        ("10min ago", datetime(2026, 11, 25, 9, 50, tzinfo=UTC)),
        ("10 mins ago", datetime(2026, 11, 25, 9, 50, tzinfo=UTC)),
        ("1 minute", datetime(2026, 11, 25, 9, 59, tzinfo=UTC)),
        ("2 hours ago", datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        ("3hrs", datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),
        ("1 day", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        ("2 weeks ago", datetime(2026, 11, 11, 10, 0, tzinfo=UTC)),
        ("45 seconds", datetime(2026, 11, 25, 9, 59, 15, tzinfo=UTC)),
        ("now", NOW),
        ("today", datetime(2026, 11, 25, tzinfo=UTC)),
        ("yesterday", datetime(2026, 11, 24, tzinfo=UTC)),
        ("Yesterday", datetime(2026, 11, 24, tzinfo=UTC)),
        ("2026-11-25T08:15:00Z", datetime(2026, 11, 25, 8, 15, tzinfo=UTC)),
        ("2026-11-25T08:15:00z", datetime(2026, 11, 25, 8, 15, tzinfo=UTC)),
        ("2026-11-25T08:15:00+01:00", datetime(2026, 11, 25, 7, 15, tzinfo=UTC)),
        ("2026-11-25 08:15", datetime(2026, 11, 25, 8, 15, tzinfo=UTC)),
        ("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC)),
        ("1764064800", datetime(2025, 11, 25, 10, 0, tzinfo=UTC)),
        ("1764064800123", datetime(2025, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)),
    ],
)
def test_every_accepted_form_names_its_moment(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(
    "text", ["ten minutes", "10x", "5 parsecs", "2026-13-01", "", "ago", "176406480", "-5m"]
)
def test_a_time_that_does_not_parse_says_the_accepted_forms(text):
    with pytest.raises(UsageError) as caught:
        parse_time(text, NOW, option="--since")
    assert f"--since {text!r} is not a time I can read" in str(caught.value)
    assert "'5 minutes', '10min ago'), now, today, yesterday, ISO-8601" in str(caught.value)


@pytest.fixture
def zone_utc_plus_5():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Karachi"  # UTC+5, no daylight saving
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_local_days_and_zone_less_times_are_the_machines(zone_utc_plus_5):
    late = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)  # already the 26th in UTC+5
    assert parse_time("today", late, local=True) == datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    assert parse_time("today", late) == datetime(2026, 11, 25, tzinfo=UTC)
    assert parse_time("2026-11-25 08:15", NOW, local=True) == datetime(
        2026, 11, 25, 3, 15, tzinfo=UTC
    )


def test_the_echoed_range_says_what_was_understood():
    start = parse_time("yesterday", NOW)
    assert describe_range(start, None, NOW, False) == "2026-11-24 00:00:00 UTC → now (34h 0m)"
    end = parse_time("10min ago", NOW)
    assert describe_range(parse_time("25m", NOW), end, NOW, False) == (
        "2026-11-25 09:35:00 UTC → 2026-11-25 09:50:00 UTC (15m 0s)"
    )
