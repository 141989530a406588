"""Several traces' trees merged into one, to compare them node by node (`xrayctl compare`, `invoke --count`).

Nodes are matched by their path of (name, origin) from the root; siblings with the same name and origin (a
loop's calls, Step Functions' iterations) are matched in order: the second `put_object` of one trace with the
second of the other. A node present in only some of the traces stays in the merged tree, with no node for the
others (Lambda's Initialization in a cold invocation and not in the warm ones). The merged children keep the
first trace's order; a child that only a later trace has is placed after the sibling it follows in that trace
(first, when it is first there: a cold start's Initialization stays before Invocation).

A Lambda invocation is cold when its REPORT line has an `Init Duration` (SnapStart: `Restore Duration`) or its
trace has an Initialization (Restore) node under the function segment: not because it came first.

Everything is iterative and linear in the nodes (plus each level's sort by start, done by the builder).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from xrayctl.trace.critical import BEFORE_PARENT, LAMBDA_FUNCTION
from xrayctl.trace.model import Node, Trace

MAX_TRACES = 10  # side by side, a letter each, A to J: more would not be read
_REPORT = re.compile(r"^REPORT RequestId:", re.MULTILINE)
_COLD_FIELDS = re.compile(r"\b(?:Init|Restore) Duration:")


@dataclass(slots=True, eq=False)
class MergedNode:
    """One node of the merged tree: the matching node of each trace (None where a trace has none)."""

    name: str
    origin: str | None
    occurrence: int  # among its siblings of the same name and origin, from 0
    depth: int
    parent: MergedNode | None
    nodes: list[Node | None]
    children: list[MergedNode] = field(default_factory=list, repr=False)
    # While merging: children by (name, origin, occurrence), and the children's order as a linked list.
    _by_key: dict[tuple[str, str | None, int], MergedNode] = field(default_factory=dict, repr=False)
    _head: MergedNode | None = field(default=None, repr=False)
    _next: MergedNode | None = field(default=None, repr=False)

    @property
    def path(self) -> list[str]:
        """The names from the root down to this node."""
        names: list[str] = []
        node: MergedNode | None = self
        while node is not None and node.depth >= 0:
            names.append(node.name)
            node = node.parent
        names.reverse()
        return names

    @property
    def durations(self) -> list[float | None]:
        """Each trace's duration of this node, seconds; None where the trace has no such node (or no end)."""
        return [node.duration if node is not None else None for node in self.nodes]

    @property
    def differences(self) -> list[float | None]:
        """Each duration minus the first trace's; None where either is unknown."""
        durations = self.durations
        base = durations[0]
        return [None if base is None or value is None else value - base for value in durations]

    @property
    def present(self) -> list[bool]:
        return [node is not None for node in self.nodes]


@dataclass(slots=True, eq=False)
class Comparison:
    traces: list[Trace]
    roots: list[MergedNode]
    cold: list[bool]
    node_count: int = 0

    @property
    def span(self) -> float | None:
        """The one time scale: the longest of the traces' durations."""
        durations = [trace.duration for trace in self.traces if trace.duration is not None]
        return max(durations, default=None)

    def walk(self) -> Iterator[MergedNode]:
        """Every merged node, depth first in display order, without recursion."""
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def merge(traces: Sequence[Trace], cold: Sequence[bool] | None = None) -> Comparison:
    """The traces' trees merged (see the module's docstring); `cold`: which traces are cold starts (by
    default, read from each trace's nodes)."""
    count = len(traces)
    top = MergedNode(name="", origin=None, occurrence=0, depth=-1, parent=None, nodes=[None] * count)
    made = 0
    for position, trace in enumerate(traces):
        pending: list[tuple[MergedNode, list[Node]]] = [(top, trace.roots)]
        while pending:
            parent, nodes = pending.pop()
            seen: dict[tuple[str, str | None], int] = {}
            previous: MergedNode | None = None  # the merged sibling this trace's previous node matched
            for node in nodes:
                name_origin = (node.name, node.origin)
                occurrence = seen.get(name_origin, 0)
                seen[name_origin] = occurrence + 1
                key = (node.name, node.origin, occurrence)
                merged = parent._by_key.get(key)
                if merged is None:
                    merged = MergedNode(
                        name=node.name,
                        origin=node.origin,
                        occurrence=occurrence,
                        depth=parent.depth + 1,
                        parent=parent,
                        nodes=[None] * count,
                    )
                    parent._by_key[key] = merged
                    made += 1
                    if previous is None:
                        merged._next, parent._head = parent._head, merged
                    else:
                        merged._next, previous._next = previous._next, merged
                if merged.nodes[position] is None:
                    merged.nodes[position] = node
                previous = merged
                if node.children:
                    pending.append((merged, node.children))
    # The linked lists become lists, top down.
    unlinked = [top]
    while unlinked:
        merged = unlinked.pop()
        child = merged._head
        while child is not None:
            merged.children.append(child)
            child = child._next
        for child in merged.children:
            child.parent = None if merged is top else merged
            child._next = None
        merged._by_key, merged._head = {}, None
        unlinked.extend(merged.children)
    cold_starts = list(cold) if cold is not None else [is_cold(trace) for trace in traces]
    return Comparison(list(traces), top.children, cold_starts, made)


def is_cold(trace: Trace) -> bool:
    """Whether the trace holds a Lambda cold start: an Initialization (or SnapStart Restore) under a function
    segment."""
    return any(
        node.name in BEFORE_PARENT and node.parent is not None and node.parent.origin == LAMBDA_FUNCTION
        for node in trace.walk()
    )


def cold_in_log(log_tail: str | None) -> bool | None:
    """Whether an invocation's log tail reports a cold start (its REPORT line has an Init or Restore
    Duration); None when there is no REPORT line to tell."""
    if not log_tail:
        return None
    starts = [found.start() for found in _REPORT.finditer(log_tail)]
    if not starts:
        return None
    line_end = log_tail.find("\n", starts[-1])  # Lambda's own REPORT line is the last one
    line = log_tail[starts[-1] : line_end if line_end >= 0 else len(log_tail)]
    return bool(_COLD_FIELDS.search(line))


def letter(position: int) -> str:
    """A, B, C, ...: how the views name the traces compared."""
    return chr(ord("A") + position)


def compare_invocations(
    traces: Sequence[Trace], invocations: Sequence[tuple[str, str | None, str]]
) -> list[tuple[str, Comparison]]:
    """The comparisons `invoke --count N` ends with, one per function invoked (`--sdk both` invokes two,
    whose trees share no name: each is compared with itself), in the order the functions were first
    invoked: the traces of its `invocations` ((trace id, log tail, function name) each, in the order they
    ran; the first MAX_TRACES of them), a trace cold when its REPORT line or its nodes say so. A function
    with fewer than two traces has none."""
    by_id = {trace.id: trace for trace in traces}
    chosen: dict[str, tuple[list[Trace], list[bool]]] = {}
    for trace_id, log_tail, function in invocations:
        trace = by_id.pop(trace_id, None)
        picked, cold = chosen.setdefault(function, ([], []))
        if trace is None or len(picked) == MAX_TRACES:
            continue
        picked.append(trace)
        cold.append(bool(cold_in_log(log_tail)) or is_cold(trace))
    return [(function, merge(picked, cold)) for function, (picked, cold) in chosen.items() if len(picked) > 1]
