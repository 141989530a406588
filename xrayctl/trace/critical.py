"""The critical path of a trace: which nodes the trace's duration was spent in, and how much in each.

Jaeger's algorithm (jaeger-ui, `TracePage/CriticalPath`): each child is trimmed to its parent's interval
(dropped when wholly outside it); from the root, take the child that finished last before the current
cut-off, credit the parent the gap between that child's end and the cut-off, descend into the child, and on
return move the cut-off to the child's start; a node with no such child is credited from its start to the
cut-off. Each node's credit is the time of its own on the path (`critical_time` in the JSON output), and the
credits add up to the root's duration. Being on the path is apart from the credit: a node the walk goes
through is on it even when its children cover its whole interval and its own time is 0 (an S3 call and the
segment X-Ray infers under it share one interval), or the path would look broken there.

What X-Ray adds:
- Lambda's `Initialization` (and SnapStart's `Restore`) runs before the `AWS::Lambda::Function` segment
  starts, and X-Ray draws it there, under the function. Trimmed to the function's interval it would vanish
  and its time would be credited to the `AWS::Lambda` segment, as if the service had been slow to start the
  function. Instead the function's interval is taken to begin where its Initialization begins (then trimmed
  to its own parent as usual), so a cold start is on the path as Initialization, where the console shows it.
- A trace can have several roots (a caller outside the trace, orphans): they hang under a virtual root that
  spans the trace, and the time no root covers is credited to no node.
- A node still in progress runs to its parent's end (the root's: to the trace's end), as it is drawn; a node
  with no start time is left off, with its subtree.

- A child that ends exactly at the cut-off is taken. Jaeger takes only one that ends strictly before it,
  which keeps it from taking the same child again; here a per-node cursor does that. X-Ray's Lambda
  segments follow one another to the microsecond (Overhead starts where Invocation ends), and a strict test
  skipped Invocation and credited its time to the function segment.

Iterative throughout (trees can be 100,000 nodes and 5,000 levels): each node's children are sorted once by
end time, and a per-node cursor only moves forward, because the cut-offs at a node only decrease. O(n log n).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from xrayctl.trace.model import Node, Trace

# The subsegments Lambda records before the function segment's own start: they extend its interval.
BEFORE_PARENT = frozenset({"Initialization", "Restore"})
LAMBDA_FUNCTION = "AWS::Lambda::Function"


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The nodes on the critical path, each with the seconds of its own time on it (0 for a node whose
    children cover it), and the path's total. `in`, `len` and iteration are about the nodes on the path."""

    times: Mapping[Node, float]
    total: float

    def time(self, node: Node) -> float:
        """Seconds of `node`'s own time on the path; 0 when it is off it, or adds none of its own."""
        return self.times.get(node, 0.0)

    def __contains__(self, node: object) -> bool:
        return node in self.times

    def __iter__(self) -> Iterator[Node]:
        return iter(self.times)

    def __len__(self) -> int:
        return len(self.times)


def _extended_start(node: Node, start: float) -> float:
    """The start of `node`'s interval as X-Ray draws it: an AWS::Lambda::Function segment begins with its
    Initialization (or Restore), which Lambda records before the segment's own start_time."""
    if node.kind == "subsegment":
        return start
    for child in node.children:
        if child.name in BEFORE_PARENT and child.start_time is not None and child.start_time < start:
            start = child.start_time
    return start


def critical_path(trace: Trace) -> CriticalPath:
    """The trace's critical path (see the module's docstring). Never raises on odd times."""
    timed_roots = [root for root in trace.roots if root.start_time is not None]
    if not timed_roots or trace.start_time is None:
        return CriticalPath({}, 0.0)
    # Placed nodes by number, their intervals and parents in flat lists: a 100,000-node trace is then a few
    # lists of numbers, not dictionaries keyed by objects scattered in memory.
    nodes: list[Node | None] = []
    starts: list[float] = []
    ends: list[float] = []
    parents: list[int] = []
    children: list[list[int] | None] = []
    top = 0
    above = -1  # what a root hangs under: nothing for the one root, or the virtual root spanning the trace
    if len(timed_roots) > 1:
        span_end = trace.end_time if trace.end_time is not None else trace.start_time
        nodes.append(None)
        starts.append(trace.start_time)
        ends.append(max(span_end, trace.start_time))
        parents.append(-1)
        children.append([])
        above = top

    # Place each node: its interval as drawn, trimmed to its parent's; a node outside it is left off, with
    # its subtree. Two parallel stacks (the node, its parent's number): no tuple per node.
    pending: list[Node] = list(timed_roots)
    pending_parents: list[int] = [above] * len(timed_roots)
    while pending:
        node, parent = pending.pop(), pending_parents.pop()
        start = node.start_time
        if start is None:
            continue
        end = node.end_time
        if end is None:  # in progress: it runs to its parent's end
            end = ends[parent] if parent >= 0 else trace.end_time
            end = start if end is None else end
        if end < start:
            end = start
        if node.origin == LAMBDA_FUNCTION:
            start = _extended_start(node, start)
        number = len(nodes)
        if parent >= 0:
            low, high = starts[parent], ends[parent]
            if end < low or start > high:
                continue
            start, end = max(start, low), min(end, high)
            siblings = children[parent]
            assert siblings is not None  # a parent placed with children was given a list
            siblings.append(number)
        nodes.append(node)
        starts.append(start)
        ends.append(end)
        parents.append(parent)
        if node.children:
            children.append([])
            pending.extend(node.children)
            pending_parents.extend([number] * len(node.children))
        else:
            children.append(None)

    # Children by end, latest first; stable, so of those that end together the earliest (longest) leads.
    for placed in children:
        if placed:
            placed.sort(key=ends.__getitem__, reverse=True)

    credit = [0.0] * len(nodes)
    on_path = [False] * len(nodes)
    on_path[top] = True
    cursor = [0] * len(nodes)
    current, cutoff = top, ends[top]
    no_children: list[int] = []
    while True:
        kids = children[current] or no_children
        index = cursor[current]
        while index < len(kids) and ends[kids[index]] > cutoff:  # the child that ended last by the cut-off
            index += 1
        if index < len(kids):
            child = kids[index]
            cursor[current] = index + 1  # never taken again: the cursor only moves on
            credit[current] += cutoff - ends[child]
            current, cutoff = child, ends[child]
            on_path[current] = True
            continue
        cursor[current] = index
        credit[current] += cutoff - starts[current]
        if current == top:
            break
        cutoff = starts[current]
        current = parents[current] if parents[current] >= 0 else top

    times = {
        node: seconds
        for node, seconds, on in zip(nodes, credit, on_path, strict=True)
        if node is not None and on
    }
    return CriticalPath(times, sum(times.values()))
