"""list-annotations --status, --sort, --limit: X-Ray's filter keywords, the largest first, a bounded keep."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from xrayctl.trace.ranking import rank, status_filter


def test_status_is_x_rays_keyword_and_is_anded_with_the_filter() -> None:
    assert status_filter(["fault"], None) == "fault"
    assert status_filter(["fault", "throttle", "fault"], None) == "(fault OR throttle)"
    assert status_filter(["error"], "annotation.k = 1 OR ok") == "(annotation.k = 1 OR ok) AND error"
    assert status_filter([], "duration > 1") == "duration > 1"
    with pytest.raises(ValueError):
        status_filter(["broken"], None)


def _summary(number: int, duration: float | None, response: float) -> dict[str, Any]:
    start = datetime.fromtimestamp(1_795_000_000 + number, tz=timezone.utc)
    return {"Id": f"t{number}", "Duration": duration, "ResponseTime": response, "StartTime": start}


SUMMARIES = [_summary(4, 0.2, 0.9), _summary(3, 1.5, 0.1), _summary(2, None, 0.5), _summary(1, 0.7, 0.7)]


@pytest.mark.parametrize(
    ("sort", "limit", "expected"),
    [
        ("duration", None, ["t3", "t1", "t4", "t2"]),  # a summary without a duration goes last
        ("duration", 2, ["t3", "t1"]),
        ("response", 1, ["t4"]),
        ("start", 3, ["t4", "t3", "t2"]),
        (None, 2, ["t4", "t3"]),  # as they come (newest first)
    ],
)
def test_sort_is_largest_first_and_limit_keeps_that_many(
    sort: str | None, limit: int | None, expected: list[str]
) -> None:
    ranked = rank(iter(SUMMARIES), sort=sort, limit=limit)
    assert [summary["Id"] for summary in ranked.summaries] == expected
    assert ranked.scanned == len(SUMMARIES)
