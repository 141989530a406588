"""A trace's status as X-Ray reports it: from its GetTraceSummaries entry when there is one, else from its
segments, as X-Ray flags them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xrayctl.trace.model import STATUS_SEVERITY, Status, Trace


def summary_statuses(summary: Mapping[str, Any]) -> list[Status]:
    """The statuses a GetTraceSummaries entry flags, worst first; `["ok"]` when none is flagged."""
    flagged: list[Status] = []
    if summary.get("HasFault"):
        flagged.append("fault")
    if summary.get("HasThrottle"):
        flagged.append("throttle")
    if summary.get("HasError"):
        flagged.append("error")
    return flagged or ["ok"]


_BY_SEVERITY: dict[int, Status] = {0: "ok", 1: "error", 2: "throttle", 3: "fault"}


def worst_status(statuses: Iterable[str]) -> Status:
    return _BY_SEVERITY[max((STATUS_SEVERITY.get(status, 0) for status in statuses), default=0)]


def trace_status(trace: Trace) -> Status | None:
    """The trace's one status, the worst it is flagged with (None: nothing in it could be read)."""
    if not trace.node_count and trace.summary is None:
        return None
    return worst_status(trace_statuses(trace, trace.summary))


def trace_statuses(trace: Trace, summary: Mapping[str, Any] | None) -> list[Status]:
    if summary is not None:
        return summary_statuses(summary)
    # X-Ray flags error and fault from the root segment, throttle from any segment: do the same.
    flagged = {worst_status(root.status for root in trace.roots if root.status != "throttle")}
    if any(node.status == "throttle" for node in trace.walk()):
        flagged.add("throttle")
    flagged.discard("ok")
    return sorted(flagged, key=STATUS_SEVERITY.__getitem__, reverse=True) or ["ok"]
