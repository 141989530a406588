"""Self time: the part of a node's interval that no descendant, at any depth, covers.

A child is not always inside its parent: Lambda's Initialization starts before its `AWS::Lambda::Function`
segment (X-Ray records it so), yet it lies inside the `AWS::Lambda` root. Subtracting only the children's
intervals would credit the root with the Initialization's time, which the Initialization also shows: the
same milliseconds counted twice. So each node's interval is measured against the union of every interval
below it.

The unions are built bottom-up without recursion. Nearly always a subtree covers one interval (children nest
in their parents), kept as a pair and merged in one pass over a node's children. Otherwise it is a sorted run
of disjoint intervals (in blocks, so that an insertion moves a bounded number of entries): a node takes over
its largest child's union and inserts the other children's intervals into it (small into large: each
interval is inserted O(log n) times), then its own interval, whose uncovered part is its self time. An
insertion is a bisection (an append when children come in time order, as they are sorted): O(n log² n) at
worst for n nodes, and O(n) when intervals nest, as they nearly always do.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

from xrayctl.trace.model import Node

# Intervals a block of a union holds before it is split: an insertion moves at most this many entries, so a
# union of 20,000 disjoint intervals costs what a short list does (a single sorted list made a chain of
# disjoint levels quadratic: each parent's interval went in at the front).
_BLOCK = 256


class _Union:
    """Disjoint intervals in time order, touching ones merged, kept in blocks of sorted lists (each block's
    `starts[i] <= ends[i] < starts[i + 1]`, and every block after the one before it)."""

    __slots__ = ("blocks", "count", "last_ends")

    def __init__(self) -> None:
        self.blocks: list[tuple[list[float], list[float]]] = []  # (starts, ends)
        self.last_ends: list[float] = []  # each block's last end, to find a block by bisection
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[float, float]]:
        for starts, ends in self.blocks:
            yield from zip(starts, ends, strict=True)

    def add(self, start: float, end: float) -> float:
        """Add [start, end]; return how much of it was covered already."""
        blocks, last_ends = self.blocks, self.last_ends
        # The first block holding an interval that ends at or after `start`, the first that can overlap or
        # touch [start, end]. Children come sorted by start, so this is usually past the end: an append.
        first = bisect_left(last_ends, start)
        if first == len(blocks):
            if not blocks or len(blocks[-1][0]) >= _BLOCK:
                blocks.append(([], []))
                last_ends.append(end)
            starts, ends = blocks[-1]
            starts.append(start)
            ends.append(end)
            last_ends[-1] = end
            self.count += 1
            return 0.0
        index = bisect_left(blocks[first][1], start)
        # From there, every interval that starts at or before `end` overlaps or touches [start, end]; they may
        # run on into the next blocks. They are replaced by one interval: their union with [start, end].
        covered = 0.0
        merged_start, merged_end = min(start, blocks[first][0][index]), end
        runs: list[tuple[int, int, int]] = []  # (block, from, to) of the intervals taken out
        block = first
        while block < len(blocks):
            starts, ends = blocks[block]
            position = index if block == first else 0
            stop = bisect_right(starts, end, position)
            for at in range(position, stop):
                overlap = min(ends[at], end) - max(starts[at], start)
                if overlap > 0:
                    covered += overlap
            if stop > position:
                merged_end = max(merged_end, ends[stop - 1])
                runs.append((block, position, stop))
            if stop < len(starts):
                break  # the next interval starts after `end`: nothing further can overlap
            block += 1
        for taken, position, stop in reversed(runs):
            starts, ends = blocks[taken]
            del starts[position:stop], ends[position:stop]
            self.count -= stop - position
        starts, ends = blocks[first]
        starts.insert(index, merged_start)
        ends.insert(index, merged_end)
        self.count += 1
        # Blocks emptied after the first go; the first and the one where the run ended get their last end.
        if runs and runs[-1][0] > first:
            emptied = [b for b, _, _ in runs[1:] if not blocks[b][0]]
            for b in reversed(emptied):
                del blocks[b], last_ends[b]
            after = first + 1
            if after < len(blocks):
                last_ends[after] = blocks[after][1][-1]
        last_ends[first] = ends[-1]
        if len(starts) > 2 * _BLOCK:
            blocks[first : first + 1] = [(starts[:_BLOCK], ends[:_BLOCK]), (starts[_BLOCK:], ends[_BLOCK:])]
            last_ends[first : first + 1] = [ends[_BLOCK - 1], ends[-1]]
        return covered

    def absorb(self, other: _Union) -> None:
        for start, end in other:
            self.add(start, end)


def _interval(node: Node) -> tuple[float, float] | None:
    low, high = node.start_time, node.end_time
    if low is None or high is None or high < low:
        return None
    return low, high


# What lies below a node once it is done: nothing, one interval (nearly always: children nest in their
# parents), or a `_Union` of several disjoint ones.
_Below = tuple[float, float] | _Union | None


def set_self_times(roots: Iterable[Node]) -> None:
    """Set `self_time` on every node under `roots`: its duration minus what its descendants cover of it
    (None when the node has no usable interval). Nodes without one add nothing to their ancestors' unions."""
    # Post-order over an explicit stack: a node is finished once all its children are.
    done: dict[Node, _Below] = {}
    stack: list[tuple[Node, bool]] = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if not expanded and node.children:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children)
            continue
        below = _below(node, [done.pop(child) for child in node.children])
        if node.parent is not None:  # a root's union is not needed once its self time is known
            done[node] = below


def _below(node: Node, children: list[_Below]) -> _Below:
    """Set the node's self time from what its children's subtrees cover; return what its own subtree
    covers."""
    interval = _interval(node)
    if not children:  # a leaf, most nodes: all of it is its own
        node.self_time = None if interval is None else interval[1] - interval[0]
        return interval
    unions = [child for child in children if isinstance(child, _Union)]
    if not unions:
        # Only single intervals below (or none): merged in one pass over them, no union to keep.
        pieces = sorted(child for child in children if isinstance(child, tuple))
        if interval is None:
            node.self_time = None
        else:
            low, high = interval
            node.self_time = max(0.0, (high - low) - _covered(pieces, low, high))
            pieces.append(interval)
            pieces.sort()
        runs = _runs(pieces)
        if len(runs) <= 1:
            return runs[0] if runs else None
        union = _Union()
        for start, end in runs:
            union.add(start, end)
        return union
    union = max(unions, key=len)
    for child in children:
        if child is union or child is None:
            continue
        if isinstance(child, _Union):
            union.absorb(child)
        else:
            union.add(*child)
    if interval is None:
        node.self_time = None
    else:
        low, high = interval
        node.self_time = max(0.0, (high - low) - union.add(low, high))
    return union


def _covered(pieces: list[tuple[float, float]], low: float, high: float) -> float:
    """How much of [low, high] the pieces (sorted by start) cover together."""
    covered = 0.0
    run_start = run_end = low
    for start, end in pieces:
        start, end = max(start, low), min(end, high)
        if end <= start:
            continue
        if start > run_end:
            covered += run_end - run_start
            run_start = start
        run_end = max(run_end, end)
    return covered + (run_end - run_start)


def _runs(pieces: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted intervals merged where they overlap or touch."""
    runs: list[tuple[float, float]] = []
    for start, end in pieces:
        if runs and start <= runs[-1][1]:
            if end > runs[-1][1]:
                runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs
