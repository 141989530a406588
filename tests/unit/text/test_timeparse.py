"""--since / --start / --end as users type them, and the window they make."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from xrayctl.errors import ExitCode, UsageError
from xrayctl.text.timeparse import parse_since, parse_time, resolve_window

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
        ("1w", timedelta(days=7)),
    ],
)
def test_since_takes_weeks_days_hours_minutes_seconds_in_any_case(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize(
    "bad", ["", "15", "m", "-15m", "15 minutes", "1.5h", "0m", "1h-30m", "9" * 5000 + "s"]
)
def test_bad_durations_name_the_value_and_the_forms(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_since(bad)
    assert repr(bad)[:40] in caught.value.message
    assert caught.value.fix is not None and "1h30m" in caught.value.fix
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        ("2026-11-23T10:00", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("2026-11-23T10:00:05Z", datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)),
        ("2026-11-23 10:00:00+02:00", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("2026-11-23T10:00:00.250-05:00", datetime(2026, 11, 23, 15, 0, 0, 250000, tzinfo=UTC)),
        # Forms Python 3.10's datetime.fromisoformat refuses:
        ("2026-11-23T10:00:00.5Z", datetime(2026, 11, 23, 10, 0, 0, 500000, tzinfo=UTC)),
        ("20261123T100000Z", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("20261123T1000", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("2026-11-23t10:00:00,25+0530", datetime(2026, 11, 23, 4, 30, 0, 250000, tzinfo=UTC)),
        ("2026-11-23T10:00:00.1234567z", datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-23T10+02", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("2026-11-23Z", datetime(2026, 11, 23, tzinfo=UTC)),
        ("now", NOW),
        ("NOW", NOW),
        ("2h ago", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("15m ago", datetime(2026, 11, 23, 11, 45, tzinfo=UTC)),
        ("1499473411", datetime(2017, 7, 8, 0, 23, 31, tzinfo=UTC)),
        ("1499473411.5", datetime(2017, 7, 8, 0, 23, 31, 500000, tzinfo=UTC)),
    ],
)
def test_times_are_iso_8601_naive_as_utc_epoch_seconds_or_ago(text: str, expected: datetime) -> None:
    parsed = parse_time(text, NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2026-13-01",
        "2026-02-30",
        "2026-11-23T24:00",
        "2026-11-23T10:00+24:00",
        "2026-11-23T10:00:00.Z",
        "10:00",
        "2h",
        "ago",
        "99999999999999999999",
        "1e9",
    ],
)
def test_bad_times_name_the_value_and_the_forms(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_time(bad, NOW)
    assert repr(bad) in caught.value.message
    assert caught.value.fix is not None and "ISO 8601" in caught.value.fix and "ago" in caught.value.fix


def test_default_window_is_the_last_15_minutes() -> None:
    assert resolve_window(None, None, None, NOW) == (NOW - timedelta(minutes=15), NOW)


def test_since_counts_back_from_end() -> None:
    assert resolve_window("1h", None, "2026-11-23T06:00Z", NOW) == (
        datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
    )


def test_start_and_end_take_a_date_and_an_ago() -> None:
    assert resolve_window(None, "2026-11-22", "2h ago", NOW) == (
        datetime(2026, 11, 22, tzinfo=UTC),
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )


def test_start_alone_runs_until_now() -> None:
    assert resolve_window(None, "3h ago", None, NOW) == (NOW - timedelta(hours=3), NOW)


def test_since_with_start_is_refused() -> None:
    with pytest.raises(UsageError, match="--since and --start"):
        resolve_window("1h", "2026-11-22", None, NOW)


@pytest.mark.parametrize(("start", "end"), [("2026-11-23T11:00Z", "2026-11-23T10:00Z"), ("now", "now")])
def test_start_at_or_after_end_is_refused(start: str, end: str) -> None:
    with pytest.raises(UsageError, match=r"starts .* at or after it ends") as caught:
        resolve_window(None, start, end, NOW)
    assert caught.value.fix == "Give a start before the end."


def test_a_refused_window_shows_its_times_to_the_second_in_utc() -> None:
    now = datetime(2026, 11, 23, 22, 47, 27, 564172, tzinfo=UTC)
    with pytest.raises(UsageError) as caught:
        resolve_window(None, "2026-11-24T00:47:27.9+02:00", None, now)
    assert caught.value.message == (
        "The window starts (2026-11-23 22:47:27 UTC) at or after it ends (2026-11-23 22:47:27 UTC)."
    )


def _python_3_10() -> str | None:
    candidates = [
        shutil.which("python3.10"),
        *sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")),
    ]
    for candidate in filter(None, candidates):
        # A pyenv shim is on PATH even when that version is not selected: only one that runs will do.
        if subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
            return str(candidate)
    return None


PYTHON_3_10 = _python_3_10()


@pytest.mark.skipif(PYTHON_3_10 is None, reason="no Python 3.10 on this machine")
def test_the_same_times_parse_on_python_3_10() -> None:
    # timeparse needs only the standard library, so the oldest supported Python can run it from the tree.
    code = (
        "import sys; from datetime import datetime, timezone; from xrayctl.text.timeparse import parse_time; "
        "now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc); "
        "print([parse_time(t, now).isoformat() for t in sys.argv[1:]])"
    )
    inputs = ["2026-11-23T10:00:00.5Z", "20261123T100000Z", "2026-11-23t10:00:00,25+0530", "2026-11-23"]
    repo = ROOT
    out = subprocess.run(
        [str(PYTHON_3_10), "-c", code, *inputs], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str([parse_time(text, NOW).isoformat() for text in inputs])


def test_since_reaching_before_year_one_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="before year 1"):
        resolve_window("999999999d", None, None, NOW)


@pytest.mark.parametrize(
    "pasted",
    ["１７００００００００", "2026-１１-23", "١٧٠٠٠٠٠٠٠٠", "1700000000.５"],
    ids=["fullwidth epoch", "fullwidth month", "arabic-indic epoch", "fullwidth fraction"],
)
def test_digits_of_other_scripts_are_not_a_time(pasted: str) -> None:
    """`int` and `float` read any script's digits; a time is typed in ASCII ones, anything else was pasted
    from somewhere it meant something else."""
    with pytest.raises(UsageError) as caught:
        parse_time(pasted, NOW)
    assert caught.value.message == f"{pasted!r} is not a time."


@pytest.mark.parametrize("pasted", ["１d", "1０m", "٣h"])
def test_digits_of_other_scripts_are_not_a_duration(pasted: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_since(pasted)
    assert caught.value.message == f"{pasted!r} is not a duration."


@pytest.mark.parametrize("typed", ["99999999999999d", "1h1234567890m"])
def test_a_duration_with_too_many_digits_is_said_to_be_too_large_not_to_be_no_duration(typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_since(typed)
    assert caught.value.message == f"{typed!r} is too large a duration: at most 9 digits before each unit."


def test_epoch_seconds_with_too_many_digits_are_said_to_have_too_many() -> None:
    with pytest.raises(UsageError) as caught:
        parse_time("1" * 16, NOW)
    assert caught.value.message == (
        f"{'1' * 16!r} has too many digits for epoch seconds: at most 15 before the point, 9 after it."
    )
