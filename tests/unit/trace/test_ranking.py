"""list-annotations --status, --sort, --limit: X-Ray's filter keywords, the largest first, a bounded keep."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from xrayctl.trace.annotations import AnnotatedTrace, from_summary
from xrayctl.trace.ranking import rank, status_filter


def test_status_is_x_rays_keyword_and_is_anded_with_the_filter() -> None:
    assert status_filter(["fault"], None) == "fault"
    assert status_filter(["fault", "throttle", "fault"], None) == "(fault OR throttle)"
    assert status_filter(["error"], "annotation.k = 1 OR ok") == "(annotation.k = 1 OR ok) AND error"
    assert status_filter([], "duration > 1") == "duration > 1"
    with pytest.raises(ValueError):
        status_filter(["broken"], None)


def _row(number: int, duration: float | None, response: float) -> AnnotatedTrace:
    start = datetime.fromtimestamp(1_795_000_000 + number, tz=timezone.utc)
    summary: dict[str, Any] = {
        "Id": f"t{number}",
        "Duration": duration,
        "ResponseTime": response,
        "StartTime": start,
    }
    return from_summary(summary)


ROWS = [_row(4, 0.2, 0.9), _row(3, 1.5, 0.1), _row(2, None, 0.5), _row(1, 0.7, 0.7)]


@pytest.mark.parametrize(
    ("sort", "limit", "expected"),
    [
        ("duration", None, ["t3", "t1", "t4", "t2"]),  # a summary without a duration goes last
        ("duration", 2, ["t3", "t1"]),
        ("response", 1, ["t4"]),
        ("start", 3, ["t4", "t3", "t2"]),
        (None, 2, ["t4", "t3"]),  # newest first
    ],
)
def test_sort_is_largest_first_and_limit_keeps_that_many(
    sort: str | None, limit: int | None, expected: list[str]
) -> None:
    for rows in (ROWS, ROWS[::-1]):  # the order the rows come in (their pages', which is none) does not count
        ranked = rank(iter(rows), sort=sort, limit=limit)
        assert [row.trace_id for row in ranked.rows] == expected
        assert ranked.scanned == len(ROWS)


def test_equal_figures_go_newest_first_then_by_id() -> None:
    start = datetime.fromtimestamp(1_795_000_000, tz=timezone.utc)
    rows = [
        from_summary({"Id": trace_id, "Duration": 1.0, "StartTime": start + timedelta(seconds=offset)})
        for trace_id, offset in [("a", 0), ("c", 1), ("b", 1), ("d", 0)]
    ]
    assert [row.trace_id for row in rank(rows, sort="duration", limit=None).rows] == ["c", "b", "d", "a"]
