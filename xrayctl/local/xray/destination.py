"""Where the local X-Ray puts what it receives: the trace segment destination and the indexing rule.

In AWS, `UpdateTraceSegmentDestination(Destination=CloudWatchLogs)` turns Transaction Search on: spans go to
the CloudWatch Logs group `aws/spans`, the destination reads PENDING until the switch has happened and ACTIVE
after; only the fraction of traces an indexing rule picks (the probabilistic rule `Default`, 1 % until it is
changed) becomes trace summaries, and BatchGetTraces finds none of those traces: StartTraceRetrieval and
ListRetrievedTraces read them.

Here the settings are one row of the trace store, so they persist with it and every process that opens the
store (a `local serve`, a command's own stack) honours them. A trace is routed once, when its first document
arrives, by the settings in effect then; while a change is PENDING the previous destination still receives.
Whether a trace is indexed is decided from a hash of its id, so every document of the trace, every process and
every read agree, and a percentage of p indexes about p % of traces.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

XRAY = "XRay"
CLOUDWATCH_LOGS = "CloudWatchLogs"
DESTINATIONS = (XRAY, CLOUDWATCH_LOGS)
ACTIVE = "ACTIVE"
PENDING = "PENDING"
# The one indexing rule an account has, named as AWS names it, and its default sampling percentage.
DEFAULT_RULE = "Default"
DEFAULT_PERCENTAGE = 1.0


def indexed_fraction(trace_id: str) -> float:
    """A number in [0, 1) that stands for the trace in the indexing draw: the same for every reader."""
    digest = hashlib.blake2b(trace_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class SearchSettings:
    """The account's segment destination and indexing rule, as the store keeps them."""

    destination: str = XRAY
    previous: str = XRAY  # what received before the latest change, until it is ACTIVE
    active_at: float = 0.0  # epoch seconds from which `destination` is ACTIVE
    percentage: float = DEFAULT_PERCENTAGE  # the Default rule's DesiredSamplingPercentage
    rule_modified_at: float = 0.0  # epoch seconds

    def status(self, now: float) -> str:
        return ACTIVE if now >= self.active_at else PENDING

    def receiving(self, now: float) -> str:
        """The destination that takes what arrives at `now`."""
        return self.destination if now >= self.active_at else self.previous

    def transaction_search(self, now: float) -> bool:
        """Transaction Search is on: segments go to CloudWatch Logs, and BatchGetTraces finds nothing."""
        return self.receiving(now) == CLOUDWATCH_LOGS

    def route(self, trace_id: str, now: float) -> tuple[str, bool]:
        """Where a new trace goes, and whether it becomes a trace summary."""
        destination = self.receiving(now)
        if destination == XRAY:
            return destination, True
        return destination, indexed_fraction(trace_id) * 100.0 < self.percentage

    def switched(self, destination: str, now: float, pending: float) -> SearchSettings:
        """After UpdateTraceSegmentDestination: PENDING for `pending` seconds, unless nothing changes (with
        no `pending`, ACTIVE now, even if a change to the same destination was still PENDING)."""
        if destination == self.destination:
            return self if pending else dataclasses.replace(self, active_at=min(self.active_at, now))
        return dataclasses.replace(
            self, destination=destination, previous=self.receiving(now), active_at=now + pending
        )

    def with_percentage(self, percentage: float, now: float) -> SearchSettings:
        return dataclasses.replace(self, percentage=percentage, rule_modified_at=now)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | None, *, default_modified_at: float = 0.0) -> SearchSettings:
        """What `to_json` wrote; a field that is missing or unreadable takes its default (a store written by
        another version, or edited by hand, still opens)."""
        fresh = cls(rule_modified_at=default_modified_at)
        try:
            data: Any = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return fresh
        values: dict[str, Any] = {}
        for name in ("destination", "previous"):
            if data.get(name) in DESTINATIONS:
                values[name] = data[name]
        for name in ("active_at", "percentage", "rule_modified_at"):
            number = data.get(name)
            if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
                continue
            if name != "percentage" or 0 <= number <= 100:
                values[name] = float(number)
        return dataclasses.replace(fresh, **values)
