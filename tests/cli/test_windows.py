"""The window `list-annotations` reads, as users type it: bounded by what X-Ray keeps (30 days back, nothing
from the future), said on stderr; and refused in one line when what was typed is not a time.

Each case is one the tool was found to mishandle: `--since 1000d` made 4,113 calls, `--since 100000d` and
`--start 0` never finished, `--start 0001-01-01` crashed with OverflowError, fullwidth digits were read as
a number. The calls are counted at a fake X-Ray that has no traces.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.fakeaws import FakeAws
from xrayctl.errors import ExitCode

# 30 days of 6 h slices; one more when the window's ends fall between whole slices.
MOST_CALLS = 30 * 4 + 1


def list_annotations(fake_aws: FakeAws, *window: str) -> CliResult:
    return run_cli(["--endpoint-url", fake_aws.url, "-o", "json", "list-annotations", *window])


def summary_calls(fake_aws: FakeAws) -> int:
    return sum(1 for request in fake_aws.seen if request.path == "/TraceSummaries")


@pytest.mark.parametrize(
    "window",
    [["--since", "1000d"], ["--since", "100000d"], ["--start", "0"], ["--start", "0001-01-01"]],
    ids=["since 1000d", "since 100000d", "start 0", "start year 1"],
)
def test_a_window_reaching_past_retention_is_read_from_30_days_ago(
    fake_aws: FakeAws, window: list[str]
) -> None:
    result = list_annotations(fake_aws, *window)
    assert result.exit_code == 0, result.stderr
    (note,) = result.stderr.splitlines()
    assert note.startswith("⚠ X-Ray keeps traces 30 days: reading from ")
    read = result.json()
    start, end = datetime.fromisoformat(read["start"]), datetime.fromisoformat(read["end"])
    assert timedelta(days=30) - timedelta(seconds=5) <= end - start <= timedelta(days=30)
    assert read["traces"] == []
    assert 0 < summary_calls(fake_aws) <= MOST_CALLS


def test_a_window_that_ended_before_retention_costs_no_call(fake_aws: FakeAws) -> None:
    result = list_annotations(fake_aws, "--start", "2023-11-14", "--end", "2023-11-15")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"⚠ X-Ray keeps traces 30 days: the window ends at 2023-11-15 00:00:00 UTC, before {_bound(result)} "
        "UTC; there is nothing to read."
    ]
    assert result.json()["traces"] == [] and summary_calls(fake_aws) == 0


def test_a_window_ending_in_the_future_is_read_to_now(fake_aws: FakeAws) -> None:
    result = list_annotations(fake_aws, "--start", "2h ago", "--end", "9999-12-31")
    assert result.exit_code == 0, result.stderr
    (note,) = result.stderr.splitlines()
    assert note.startswith("⚠ The window ends in the future (9999-12-31 00:00:00 UTC): reading to ")
    assert summary_calls(fake_aws) == 1


def test_the_text_output_says_the_window_read(fake_aws: FakeAws) -> None:
    result = run_cli(["--endpoint-url", fake_aws.url, "list-annotations", "--since", "1000d"])
    assert result.exit_code == 0, result.stderr
    note, total = result.stderr.splitlines()
    assert note.startswith("⚠ X-Ray keeps traces 30 days: reading from ")
    start = note.removeprefix("⚠ X-Ray keeps traces 30 days: reading from ").split(" UTC")[0]
    assert total.startswith(f"0 traces from {start} to ")


@pytest.mark.parametrize(
    "window",
    [["--start", "１７００００００００"], ["--since", "１d"], ["--end", "２０２６-11-23"]],
    ids=["fullwidth epoch", "fullwidth duration", "fullwidth year"],
)
def test_fullwidth_digits_are_refused_in_one_line(fake_aws: FakeAws, window: list[str]) -> None:
    result = list_annotations(fake_aws, *window)
    assert result.exit_code == ExitCode.USAGE
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"xrayctl: {window[1]!r} is not a ")
    assert result.stdout == "" and fake_aws.seen == []


def _bound(result: CliResult) -> str:
    """The retention bound the command used (the empty window sits on it)."""
    return datetime.fromisoformat(result.json()["start"]).strftime("%Y-%m-%d %H:%M:%S")
