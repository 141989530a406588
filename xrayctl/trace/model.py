"""The trace model: one tree per trace, built from X-Ray segment documents (see `xrayctl.trace.build`).

These types are what every renderer and command reads. They hold derived, display-ready facts (status, label,
self time) next to the raw fields, so a renderer never re-parses a document. Trees can be thousands of levels
deep: walk them with `Trace.walk`, never with recursion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["segment", "subsegment", "inferred"]
# Worst first: when a node has several marks, the one shown is the most severe (fault > throttle > error).
Status = Literal["ok", "error", "throttle", "fault"]
STATUS_SEVERITY: dict[str, int] = {"ok": 0, "error": 1, "throttle": 2, "fault": 3}

AnnotationValue = str | int | float | bool


@dataclass(slots=True, eq=False)
class ExceptionInfo:
    """One entry of a document's `cause.exceptions`, or a cause given only as an exception id."""

    message: str
    type: str | None = None
    id: str | None = None
    remote: bool = False
    # Each frame as "path:line in label", outermost last, as the SDKs record them.
    stack: list[str] = field(default_factory=list)
    truncated: int = 0  # frames the SDK left out


@dataclass(slots=True, eq=False)
class Node:
    id: str
    name: str
    kind: Kind
    origin: str | None = None
    namespace: str | None = None  # "aws" | "remote" | "local" | None
    start_time: float | None = None
    end_time: float | None = None
    in_progress: bool = False
    status: Status = "ok"
    http_status: int | None = None
    # One readable line: "S3 PutObject my-bucket/key", "GET https://example.com/x", "SQL mydb: SELECT ...".
    label: str = ""
    annotations: dict[str, AnnotationValue] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)
    aws: dict[str, Any] = field(default_factory=dict)
    sql: dict[str, Any] = field(default_factory=dict)
    exceptions: list[ExceptionInfo] = field(default_factory=list)
    # Span links to other traces (an SQS consumer's trace, the caller of an async invoke), as recorded.
    links: list[dict[str, Any]] = field(default_factory=list)
    # Every other field of the entity, as recorded (resource_arn, service, user, precursor_ids, unknown
    # keys), and under "cause" the cause's fields besides its exceptions (working_directory, paths).
    extra: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list, repr=False)  # a deep tree would recurse
    parent: Node | None = field(default=None, repr=False)
    depth: int = 0
    # The part of this node's interval that no descendant, at any depth, covers (`xrayctl.trace.selftime`).
    self_time: float | None = None
    # Problems found while placing this node (orphan, duplicate id, cycle, bad field): also in Trace.warnings.
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass(slots=True, eq=False)
class Trace:
    id: str
    roots: list[Node] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    start_time: float | None = None  # earliest start of any node
    end_time: float | None = None  # latest end of any node
    node_count: int = 0
    max_depth: int = 0
    limit_exceeded: bool = False  # BatchGetTraces' LimitExceeded: X-Ray returned only part of the trace
    in_progress: bool = False  # some node has no end yet
    # The trace's GetTraceSummaries entry, when one was fetched (a botocore-parsed dict).
    summary: dict[str, Any] | None = None

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    def offset(self, node: Node) -> float | None:
        """Seconds from the trace's start to `node`'s start."""
        if node.start_time is None or self.start_time is None:
            return None
        return node.start_time - self.start_time

    def walk(self) -> Iterator[Node]:
        """Every node, depth first in display order, without recursion."""
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))
