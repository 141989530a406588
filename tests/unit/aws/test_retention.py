"""A window of time bounded by what X-Ray keeps: 30 days back, nothing past a few minutes from now."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from xrayctl.aws.retention import FUTURE_SKEW, RETENTION, Window, retained

UTC = timezone.utc
NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
OLDEST = NOW - RETENTION
NEWEST = NOW + timedelta(seconds=FUTURE_SKEW)


def window(start: datetime, end: datetime) -> Window:
    return retained(start, end, NOW.timestamp())


def test_a_window_within_retention_is_kept_as_asked_and_says_nothing() -> None:
    asked = (NOW - timedelta(days=29), NOW)
    assert window(*asked) == Window(*asked)


def test_a_start_before_retention_moves_to_its_bound_and_says_so() -> None:
    got = window(datetime(1, 1, 1, tzinfo=UTC), NOW)
    assert (got.start, got.end) == (OLDEST, NOW)
    assert got.notes == (
        "X-Ray keeps traces 30 days: reading from 2026-11-06 12:00:00 UTC, not 0001-01-01 00:00:00 UTC.",
    )


def test_since_30_days_resolved_a_moment_earlier_says_nothing() -> None:
    got = window(OLDEST - timedelta(milliseconds=20), NOW - timedelta(milliseconds=20))
    assert got.start == OLDEST and not got.notes


def test_a_window_that_ended_before_retention_is_empty_and_says_so() -> None:
    got = window(datetime(2023, 11, 14, tzinfo=UTC), datetime(2023, 11, 15, tzinfo=UTC))
    assert got.empty and got.start == got.end == OLDEST
    assert got.notes == (
        "X-Ray keeps traces 30 days: the window ends at 2023-11-15 00:00:00 UTC, before 2026-11-06 12:00:00 "
        "UTC; there is nothing to read.",
    )


def test_an_end_in_the_future_moves_to_now_and_a_few_minutes() -> None:
    got = window(NOW - timedelta(hours=1), datetime(9999, 12, 31, tzinfo=UTC))
    assert (got.start, got.end) == (NOW - timedelta(hours=1), NEWEST)
    assert got.notes == (
        "The window ends in the future (9999-12-31 00:00:00 UTC): reading to 2026-12-06 12:05:00 UTC.",
    )


def test_an_end_a_little_ahead_is_kept_for_clocks_that_run_ahead() -> None:
    asked = (NOW - timedelta(hours=1), NOW + timedelta(minutes=2))
    assert window(*asked) == Window(*asked)


def test_a_window_in_the_future_is_empty_and_says_so() -> None:
    got = window(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))
    assert got.empty
    assert got.notes == (
        "The window starts in the future (2030-01-01 00:00:00 UTC): there is nothing to read.",
    )
