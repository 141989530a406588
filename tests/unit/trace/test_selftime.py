"""Self time: the part of a node's interval that no descendant, at any depth, covers."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from xrayctl.trace.build import build_trace, traces_from_batch
from xrayctl.trace.model import Node, Trace

TRACES = FIXTURES / "xray-real" / "traces"


def covered(intervals: list[tuple[float, float]], low: float, high: float) -> float:
    """How much of [low, high] the intervals cover: the union measured the plain way, for comparison."""
    clipped = sorted((max(a, low), min(b, high)) for a, b in intervals if min(b, high) > max(a, low))
    total, run_start, run_end = 0.0, None, None
    for start, end in clipped:
        if run_end is None or start > run_end:
            if run_end is not None and run_start is not None:
                total += run_end - run_start
            run_start, run_end = start, end
        else:
            run_end = max(run_end, end)
    if run_end is not None and run_start is not None:
        total += run_end - run_start
    return total


def descendants(node: Node) -> list[Node]:
    found, stack = [], list(node.children)
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.children)
    return found


def expected_self_time(node: Node) -> float | None:
    if node.start_time is None or node.end_time is None or node.end_time < node.start_time:
        return None
    below = [
        (d.start_time, d.end_time)
        for d in descendants(node)
        if d.start_time is not None and d.end_time is not None and d.end_time >= d.start_time
    ]
    return (node.end_time - node.start_time) - covered(below, node.start_time, node.end_time)


def lambda_trace() -> Trace:
    [trace] = traces_from_batch(json.loads((TRACES / "iatk-lambda-traceWithLinks01.json").read_text()))
    return trace


def test_root_self_time_leaves_out_an_initialization_outside_the_function_segment() -> None:
    trace = lambda_trace()
    [service] = trace.roots
    [function] = service.children
    initialization = function.children[0]
    assert initialization.name == "Initialization"
    assert initialization.start_time < function.start_time  # type: ignore[operator]
    assert service.self_time is not None and initialization.duration is not None
    # The root's own time is what neither the function segment nor its Initialization covers.
    assert service.self_time == pytest.approx(expected_self_time(service))
    assert service.self_time < service.duration - function.duration - 0.9 * initialization.duration  # type: ignore[operator]


def test_self_times_of_one_request_never_add_up_to_more_than_its_trace() -> None:
    # Nothing in this Lambda trace runs concurrently: every instant belongs to one node's self time at most.
    trace = lambda_trace()
    total = sum(node.self_time or 0.0 for node in trace.walk())
    assert trace.duration is not None
    assert total <= trace.duration + 1e-9


def random_documents(rng: random.Random, count: int, *, mean: float = 10.0) -> list[dict[str, Any]]:
    """A random tree whose children may start before, end after, or lie wholly outside their parents, with
    some nodes in progress or without times; short intervals (`mean`) make unions of many pieces."""
    docs: list[dict[str, Any]] = []
    chain = rng.random() < 0.5  # deep trees as well as bushy ones
    for number in range(count):
        start = rng.uniform(0, 100)
        entity: dict[str, Any] = {"id": f"{number:016x}", "name": f"n{number}", "start_time": start}
        roll = rng.random()
        if roll < 0.05:
            entity["in_progress"] = True
        elif roll < 0.08:
            entity["end_time"] = start - 1  # ends before it starts: no interval
        else:
            entity["end_time"] = start + rng.expovariate(1 / mean)
        if number:
            parent = number - 1 if chain and rng.random() < 0.9 else rng.randrange(number)
            entity["parent_id"] = f"{parent:016x}"
            entity["type"] = "subsegment"
        docs.append(entity)
    return docs


@pytest.mark.parametrize("seed", range(24))
def test_self_time_is_what_no_descendant_covers_on_random_trees(seed: int) -> None:
    rng = random.Random(seed)
    # Every fourth tree is large, of short intervals: unions of hundreds of disjoint pieces.
    size, mean = (rng.randrange(1500, 2500), 0.02) if seed % 4 == 3 else (rng.randrange(2, 80), 10.0)
    trace = build_trace("t", random_documents(rng, size, mean=mean))
    for node in trace.walk():
        expected = expected_self_time(node)
        if expected is None:
            assert node.self_time is None
        else:
            assert node.self_time == pytest.approx(expected, abs=1e-9)


def test_a_5000_level_chain_of_disjoint_intervals_is_measured_without_recursion() -> None:
    # The root spans the whole trace; each level below it lies after its parent, outside its interval. The
    # root's own time is what none of the 4,999 levels below covers, however deep they sit.
    levels = 5000
    docs = [{"id": f"{0:016x}", "name": "root", "start_time": 0.0, "end_time": 2.0 * levels}]
    docs += [
        {
            "id": f"{level:016x}",
            "name": f"level {level}",
            "start_time": 2.0 * level,
            "end_time": 2.0 * level + 1.0,
            "parent_id": f"{level - 1:016x}",
            "type": "subsegment",
        }
        for level in range(1, levels)
    ]
    limit = sys.getrecursionlimit()
    trace = build_trace("t", docs)
    assert sys.getrecursionlimit() == limit and trace.max_depth == levels - 1
    [root, *below] = list(trace.walk())
    assert root.self_time == pytest.approx(2.0 * levels - (levels - 1))
    assert all(node.self_time == 1.0 for node in below)
