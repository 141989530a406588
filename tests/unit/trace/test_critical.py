"""The critical path: Jaeger's algorithm on traces whose path is known by construction, and on real Lambda."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.docs import TRACE_ID, deep_document
from tests.support.paths import fixture_path
from xrayctl.render.schema import trace_to_dict
from xrayctl.trace.build import build_trace, load_batch
from xrayctl.trace.critical import critical_path
from xrayctl.trace.model import Trace

T0 = 1_795_475_538.0


def _entity(
    ident: int, name: str, start: float, end: float | None, *children: dict[str, Any]
) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": f"{ident:016x}", "name": name, "start_time": T0 + start}
    if end is None:
        entity["in_progress"] = True
    else:
        entity["end_time"] = T0 + end
    if children:
        entity["subsegments"] = list(children)
    return entity


def _trace(*segments: dict[str, Any]) -> Trace:
    return build_trace(TRACE_ID, [{**segment, "trace_id": TRACE_ID} for segment in segments])


def _by_name(trace: Trace) -> dict[str, float]:
    path = critical_path(trace)
    return {node.name: round(path.time(node), 9) for node in trace.walk()}


def _json_times(trace: Trace) -> dict[str, float]:
    """critical_time of every node as `show-trace -o json` writes it."""
    times = {}
    pending = list(trace_to_dict(trace)["roots"])
    while pending:
        node = pending.pop()
        times[node["name"]] = round(node["critical_time"], 9)
        pending.extend(node["children"])
    return times


def test_overlapping_nested_children_give_the_path_known_by_construction() -> None:
    # root [0, 10]: A [1, 6] and B [2, 8] overlap, C [8.5, 9.5] ends last; inside B, B1 [2.5, 4] and
    # B2 [3, 7] overlap. From the end: root 9.5-10, C 8.5-9.5, root 8-8.5, B 7-8, B2 3-7 (B1 ends after B2
    # starts: off the path), B 2-3, A ends after B starts (off), root 0-2.
    trace = _trace(
        _entity(
            1,
            "root",
            0,
            10,
            _entity(2, "A", 1, 6),
            _entity(3, "B", 2, 8, _entity(5, "B1", 2.5, 4), _entity(6, "B2", 3, 7)),
            _entity(4, "C", 8.5, 9.5),
        )
    )
    expected = {"root": 3.0, "A": 0.0, "B": 2.0, "B1": 0.0, "B2": 4.0, "C": 1.0}
    assert _by_name(trace) == expected
    assert _json_times(trace) == expected
    assert sum(expected.values()) == pytest.approx(trace.duration)
    assert critical_path(trace).total == pytest.approx(10.0)


def test_a_child_that_ends_where_the_next_starts_is_on_the_path() -> None:
    """As Lambda records them: Invocation ends at the very time Overhead starts."""
    trace = _trace(
        _entity(1, "function", 0, 5.25, _entity(2, "Invocation", 1, 5), _entity(3, "Overhead", 5, 5.25))
    )
    assert _by_name(trace) == {"function": 1.0, "Invocation": 4.0, "Overhead": 0.25}


def test_children_are_trimmed_to_their_parent_and_dropped_outside_it() -> None:
    # `late` runs 2 s past its parent and `early` starts half a second before it: only their parts inside
    # count. `outside` is wholly after it: never on the path, though it ends last of all.
    parent = _entity(
        2, "parent", 1, 5, _entity(3, "early", 0.5, 2), _entity(4, "late", 4, 7), _entity(5, "outside", 6, 9)
    )
    trace = _trace(_entity(1, "root", 0, 10, parent))
    times = _by_name(trace)
    assert times == {"root": 6.0, "parent": 2.0, "early": 1.0, "late": 1.0, "outside": 0.0}
    assert sum(times.values()) == pytest.approx(10.0)


def test_lambda_initialization_before_its_function_is_on_the_path_as_x_ray_draws_it() -> None:
    """The real trace: Initialization ends before the function segment starts. Trimmed to the function, its
    355 ms would be credited to AWS::Lambda; taken as the function's start, it is a cold start on the path."""
    (trace,) = load_batch(
        fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json").read_text(), source="fixture"
    )
    path = critical_path(trace)
    nodes = {(node.name, node.origin): node for node in trace.walk()}
    initialization = nodes[("Initialization", None)]
    invocation = nodes[("Invocation", None)]
    service = next(node for node in trace.roots if node.origin == "AWS::Lambda")
    assert initialization.end_time is not None and initialization.start_time is not None
    assert path.time(initialization) == pytest.approx(initialization.end_time - initialization.start_time)
    assert path.time(invocation) == pytest.approx(invocation.end_time - invocation.start_time)  # type: ignore[operator]
    # What is left to the service: from its start to Initialization's, and after the function ended.
    assert path.time(service) == pytest.approx(0.1635, abs=1e-3)
    assert sum(path.time(node) for node in trace.walk()) == pytest.approx(trace.duration)


def test_a_node_in_progress_runs_to_its_parents_end() -> None:
    trace = _trace(_entity(1, "root", 0, 10, _entity(2, "open", 4, None)))
    assert _by_name(trace) == {"root": 4.0, "open": 6.0}


def test_several_roots_share_the_trace_and_the_gap_between_them_is_nobodys() -> None:
    trace = _trace(_entity(1, "first", 0, 3), _entity(2, "second", 5, 9, _entity(3, "inner", 6, 7)))
    times = _by_name(trace)
    assert times == {"first": 3.0, "second": 3.0, "inner": 1.0}
    assert sum(times.values()) == pytest.approx(trace.duration - 2.0)


def test_a_5000_level_trace_has_its_path_without_recursion() -> None:
    trace = build_trace(TRACE_ID, [deep_document(5000)])
    path = critical_path(trace)
    assert len(path) == 5000  # every level is on the path: each ends before its parent
    assert path.total == pytest.approx(trace.duration)


def test_no_times_no_path() -> None:
    trace = _trace({"id": "0000000000000001", "name": "no-time"})
    assert critical_path(trace).total == 0 and _json_times(trace) == {"no-time": 0.0}


def test_a_node_on_the_path_whose_child_covers_it_is_on_the_path_with_no_time_of_its_own() -> None:
    """As X-Ray records an S3 call: `S3 PutObject` and the `S3` segment inferred under it share one
    interval. The path goes through both; the call adds nothing of its own, and it is still on the path."""
    put = _entity(2, "put", 1, 4, {**_entity(3, "S3", 1, 4), "inferred": True})
    trace = _trace(_entity(1, "root", 0, 5, put, _entity(4, "aside", 2, 3)))  # aside: under put, off the path
    path = critical_path(trace)
    nodes = {node.name: node for node in trace.walk()}
    assert [name for name in ("root", "put", "S3", "aside") if nodes[name] in path] == ["root", "put", "S3"]
    assert len(path) == 3  # membership, apart from credit: `put` adds 0 s and is counted
    assert _by_name(trace) == {"root": 2.0, "put": 0.0, "S3": 3.0, "aside": 0.0}
    assert _json_times(trace)["put"] == 0.0  # JSON's critical_time stays the node's own seconds
