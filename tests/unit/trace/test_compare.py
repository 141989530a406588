"""Traces merged for comparison: matching by path of names and origins, repeated siblings in order, nodes only
some traces have, and which invocation was a cold start."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.support.paths import fixture_path
from xrayctl.trace.build import build_trace, traces_from_batch
from xrayctl.trace.compare import MAX_TRACES, cold_in_log, compare_invocations, is_cold, merge
from xrayctl.trace.model import Trace

T0 = 1_795_475_538.0
REPORT_COLD = (
    "START RequestId: r1 Version: $LATEST\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: 17.04 ms\t"
    "Billed Duration: 18 ms\tMemory Size: 128 MB\tMax Memory Used: 55 MB\tInit Duration: 275.59 ms\t\n"
)
REPORT_WARM = "END RequestId: r2\nREPORT RequestId: r2\tDuration: 3.10 ms\tBilled Duration: 4 ms\t\n"


def _trace(number: int, calls: list[tuple[str, float]], *, origin: str = "AWS::Lambda::Function") -> Trace:
    """A function segment whose Invocation makes `calls` (name, duration), one after another."""
    trace_id = f"1-6b04c914-{number:024x}"
    start, subsegments = T0 + 0.001, []
    for index, (name, duration) in enumerate(calls):
        subsegments.append(
            {
                "id": f"{number:08x}{index:08x}",
                "name": name,
                "start_time": start,
                "end_time": start + duration,
            }
        )
        start += duration
    invocation = {"id": f"{number:08x}ffffffff", "name": "Invocation", "start_time": T0, "end_time": start}
    invocation["subsegments"] = subsegments
    segment = {
        "id": f"{number:016x}",
        "name": "fn",
        "origin": origin,
        "trace_id": trace_id,
        "start_time": T0,
        "end_time": start + 0.001,
        "subsegments": [invocation],
    }
    return build_trace(trace_id, [segment])


def _rows(traces: list[Trace]) -> list[tuple[tuple[str, ...], list[float | None]]]:
    return [
        (tuple(node.path), [None if d is None else round(d, 6) for d in node.durations])
        for node in merge(traces).walk()
    ]


def test_repeated_siblings_are_matched_in_order_and_missing_ones_are_none() -> None:
    first = _trace(1, [("put", 0.010), ("get", 0.020), ("put", 0.030)])
    second = _trace(2, [("put", 0.011), ("get", 0.015)])
    rows = _rows([first, second])
    assert rows[2:] == [
        (("fn", "Invocation", "put"), [0.01, 0.011]),
        (("fn", "Invocation", "get"), [0.02, 0.015]),
        (("fn", "Invocation", "put"), [0.03, None]),  # the second put: only the first trace made it
    ]
    merged = list(merge([first, second]).walk())
    assert [m.occurrence for m in merged[2:]] == [0, 0, 1]
    assert merged[3].differences == [0.0, pytest.approx(-0.005, abs=1e-6)]
    assert merged[4].present == [True, False] and merged[4].differences == [0.0, None]


def test_a_node_only_a_later_trace_has_follows_its_sibling_from_that_trace() -> None:
    first = _trace(1, [("put", 0.01), ("get", 0.01)])
    second = _trace(2, [("put", 0.01), ("retry", 0.02), ("get", 0.01)])
    assert [path[-1] for path, _ in _rows([first, second])[2:]] == ["put", "retry", "get"]


def test_nodes_match_by_origin_too() -> None:
    """Two segments of one name but different origins (a Lambda service and its function) are not one."""
    lambda_fn = _trace(1, [("put", 0.01)])
    other = _trace(2, [("put", 0.01)], origin="AWS::EC2::Instance")
    roots = merge([lambda_fn, other]).roots
    # The second trace's root is first in its trace, so it comes first (as Initialization would).
    assert [(root.origin, root.present) for root in roots] == [
        ("AWS::EC2::Instance", [False, True]),
        ("AWS::Lambda::Function", [True, False]),
    ]


def _lambda_pair() -> tuple[Trace, Trace]:
    """The real cold Lambda trace, and the same trace without its Initialization (a warm one)."""
    data = json.loads(fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json").read_text())
    warm: dict[str, Any] = copy.deepcopy(data)
    warm["Id"] = warm["Id"][:-1] + "7"
    for segment in warm["Segments"]:
        segment["trace_id"] = warm["Id"]
        segment["subsegments"] = [s for s in segment.get("subsegments", []) if s["name"] != "Initialization"]
    (cold,) = traces_from_batch(data)
    (warm_trace,) = traces_from_batch(warm)
    return cold, warm_trace


def test_initialization_is_only_under_the_cold_trace() -> None:
    cold, warm = _lambda_pair()
    comparison = merge([cold, warm])
    assert comparison.cold == [True, False]
    initialization = next(node for node in comparison.walk() if node.name == "Initialization")
    assert initialization.present == [True, False] and initialization.durations[1] is None
    assert comparison.span == cold.duration


def test_cold_starts_are_read_from_the_report_line_or_the_trace_not_from_the_order() -> None:
    cold, warm = _lambda_pair()
    assert (is_cold(cold), is_cold(warm)) == (True, False)
    assert (cold_in_log(REPORT_COLD), cold_in_log(REPORT_WARM), cold_in_log("no report here")) == (
        True,
        False,
        None,
    )
    # The function may print anything, even a REPORT-like line: Lambda's own is the last one.
    assert cold_in_log("REPORT RequestId: x Init Duration: 1 ms\n" + REPORT_WARM) is False
    # Warm first, cold second (a second sandbox started): the cold mark follows the cold one.
    # Warm first, cold second (a second sandbox started): the cold mark follows the cold one.
    invocations = [(warm.id, REPORT_WARM, "f"), (cold.id, REPORT_COLD, "f")]
    [(_, comparison)] = compare_invocations([cold, warm], invocations)
    assert [trace.id for trace in comparison.traces] == [warm.id, cold.id]
    assert comparison.cold == [False, True]
    # With no log tail to read, the trace's Initialization says it.
    [(_, by_trace)] = compare_invocations([cold, warm], [(cold.id, None, "f"), (warm.id, None, "f")])
    assert by_trace.cold == [True, False]


def test_invocations_compare_per_function_when_two_have_traces_and_at_most_max_traces() -> None:
    traces = [_trace(n, [("put", 0.01)]) for n in range(1, MAX_TRACES + 3)]
    assert compare_invocations(traces[:1], [(traces[0].id, None, "f")]) == []
    [(name, comparison)] = compare_invocations(traces, [(t.id, None, "f") for t in traces])
    assert name == "f" and [t.id for t in comparison.traces] == [t.id for t in traces[:MAX_TRACES]]
    # --sdk both: each function's invocations are compared among themselves, in the order first invoked.
    alternating = [(t.id, None, "xray" if n % 2 else "otel") for n, t in enumerate(traces[:6])]
    compared = compare_invocations(traces, alternating)
    assert [(name, [t.id for t in c.traces]) for name, c in compared] == [
        ("otel", [traces[0].id, traces[2].id, traces[4].id]),
        ("xray", [traces[1].id, traces[3].id, traces[5].id]),
    ]


def test_merging_is_linear_and_iterative_on_deep_trees() -> None:
    from tests.support.docs import TRACE_ID, deep_document

    deep = build_trace(TRACE_ID, [deep_document(5000)])
    comparison = merge([deep, deep])
    nodes = list(comparison.walk())
    assert len(nodes) == 5000 and nodes[-1].depth == 4999
    assert nodes[-1].path[-1] == "level5000" and len(nodes[-1].path) == 5000
