"""Cutting time into the windows GetTraceSummaries is asked for.

One call may cover at most 6 hours (the X-Ray console reads 6 h at a time too), and a dense window is cut
again so that several calls can read it at once (see `XRayReader.summary_pages`). Traces asked for by id are
found in the seconds their ids name (`id_windows`, see `XRayReader.get_summaries`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

# The longest window one GetTraceSummaries call may cover (the X-Ray console reads 6 h at a time too).
SLICE_LENGTH = timedelta(hours=6)


def longest_first(
    start: datetime, end: datetime, longest: timedelta = SLICE_LENGTH
) -> list[tuple[datetime, datetime]]:
    """[start, end] as slices of `longest`, from the end: the oldest holds what is left. Newest first."""
    cut: list[tuple[datetime, datetime]] = []
    upper = end
    while upper > start:
        cut.append((max(start, upper - longest), upper))
        upper = cut[-1][0]
    return cut


def slices(start: datetime, end: datetime, longest: timedelta, parts: int) -> list[tuple[datetime, datetime]]:
    """[start, end] as at least `parts` slices of equal length, none longer than `longest`, newest first.

    Boundaries are whole seconds apart from `end`, none closer than a second: botocore sends the times in
    whole seconds (it drops the fraction), so shorter slices would be the same request. Neighbours share
    their boundary, which is truncated alike for both, so they always touch (the API includes both ends).
    """
    total = (end - start).total_seconds()
    if total <= 0:
        return [(start, end)] if total == 0 else []
    count = max(parts, math.ceil(total / longest.total_seconds()))
    # No slice shorter than a second: the boundaries could not tell them apart.
    count = max(1, min(count, int(total)))
    bounds = [end]
    for index in range(1, count):
        bound = end - timedelta(seconds=math.floor(total * index / count))
        if start < bound < bounds[-1]:
            bounds.append(bound)
    bounds.append(start)
    return list(zip(bounds[1:], bounds[:-1], strict=True))


def split_dense(
    dense: list[tuple[datetime, datetime]], parts: int, longest: timedelta
) -> list[tuple[datetime, datetime]]:
    """The slices `dense` (newest first) cut into about `parts` slices of equal length, newest first.

    Neighbouring dense slices are joined first, so the cuts need not fall on their old boundaries (four 6 h
    slices read by ten workers' worth of slices become ten of 2.4 h, not twelve of 2 h, which would leave
    workers idle while the last two finish).
    """
    runs: list[list[datetime]] = []
    for lower, upper in dense:
        if runs and runs[-1][0] == upper:
            runs[-1][0] = lower
        else:
            runs.append([lower, upper])
    total = sum((upper - lower).total_seconds() for lower, upper in runs)
    result: list[tuple[datetime, datetime]] = []
    for lower, upper in runs:
        share = max(1, round(parts * (upper - lower).total_seconds() / total)) if total > 0 else 1
        result += slices(lower, upper, longest, share)
    return result


def id_windows(epochs: Iterable[int], longest: int) -> list[tuple[int, int]]:
    """The seconds `epochs` as runs of consecutive seconds, none longer than `longest` seconds: (first, last)
    pairs, newest first. Seconds apart are never joined: the time between may hold any number of traces."""
    runs: list[tuple[int, int]] = []
    for second in sorted(set(epochs), reverse=True):
        if runs and runs[-1][0] == second + 1 and runs[-1][1] - second < longest:
            runs[-1] = (second, runs[-1][1])
        else:
            runs.append((second, second))
    return runs
