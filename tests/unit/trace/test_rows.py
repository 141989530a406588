"""A row per trace (`trace/rows`), from X-Ray's summaries and from trees, and browse's list of them
(`tui/source.TraceList`): sorted by any column, missing values last, the newest kept, a sliding window."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.support.docs import START, TRACE_ID
from tests.support.tui import demo_traces
from xrayctl.trace.build import build_trace
from xrayctl.trace.rows import TraceRow, row_from_summary, row_from_trace
from xrayctl.tui.source import TraceList

SUMMARY = {
    "Id": "1-6b04c914-ea7beef5edbcb95e43b8d27c",
    "StartTime": datetime(2026, 11, 23, 23, 15, 32, tzinfo=timezone.utc),
    "Duration": 0.063,
    "ResponseTime": 0.06,
    "HasFault": True,
    "IsPartial": True,
    "Revision": 3,
    "Http": {"HttpStatus": 502},
    "EntryPoint": {"Name": "s3-demo", "Type": "AWS::Lambda"},
    "Annotations": {
        "put_response": [{"AnnotationValue": {"NumberValue": 200.0}}],
        "tag": [{"AnnotationValue": {"StringValue": "a"}}, {"AnnotationValue": {"StringValue": "b"}}],
    },
}


def test_a_summary_row_holds_what_the_console_lists() -> None:
    row = row_from_summary(SUMMARY)
    assert row.start == SUMMARY["StartTime"].timestamp()  # type: ignore[attr-defined]
    assert (row.duration, row.response, row.status, row.partial, row.revision) == (
        0.063,
        0.06,
        "fault",
        True,
        3,
    )
    assert (row.entry, row.entry_type, row.http_status) == ("s3-demo", "AWS::Lambda", 502)
    assert row.annotations == {"put_response": (200,), "tag": ("a", "b")}


def test_a_tree_row_gathers_each_keys_distinct_values_and_the_entry_segment() -> None:
    rows = {trace.id: row_from_trace(trace) for trace in demo_traces()}
    row = rows["1-6b04c914-ea7beef5edbcb95e43b8d27c"]
    assert row.annotations == {"put_response": (200,), "get_response": (200,)}
    assert (row.entry, row.entry_type, row.http_status, row.status) == ("s3-demo", "AWS::Lambda", 200, "ok")
    assert row.response is not None and row.duration is not None and row.response <= row.duration


def test_a_tree_row_keeps_each_value_once_and_tells_1_from_the_string_1() -> None:
    segment = {
        "trace_id": TRACE_ID,
        "id": "00000000000000a1",
        "name": "svc",
        "start_time": START,
        "end_time": START + 1,
        "annotations": {"k": 1},
        "subsegments": [
            {
                "id": "00000000000000b1",
                "name": "a",
                "start_time": START,
                "end_time": START + 0.5,
                "annotations": {"k": 1},
            },
            {
                "id": "00000000000000b2",
                "name": "b",
                "start_time": START,
                "end_time": START + 0.5,
                "annotations": {"k": "1"},
            },
        ],
    }
    trace = build_trace(TRACE_ID, [{"Id": "a1", "Document": json.dumps(segment)}])
    assert row_from_trace(trace).annotations == {"k": (1, "1")}


def row(trace_id: str, start: float | None, duration: float | None, **more: object) -> TraceRow:
    return TraceRow(trace_id, start, duration, duration, "ok", **more)  # type: ignore[arg-type]


def test_the_list_sorts_by_a_column_largest_first_missing_last_and_reverses_on_the_same_column() -> None:
    listed = TraceList()
    listed.replace_all([row("a", 1.0, 0.5), row("b", 2.0, None), row("c", 3.0, 0.7), row("d", 4.0, 0.1)])
    assert [r.trace_id for r in listed.rows()] == ["d", "c", "b", "a"]  # newest first
    listed.sort_by("duration")
    assert [r.trace_id for r in listed.rows()] == ["c", "a", "d", "b"]
    listed.sort_by("duration")
    assert [r.trace_id for r in listed.rows()] == ["d", "a", "c", "b"]


def test_the_list_sorts_by_an_annotation_numbers_before_text() -> None:
    listed = TraceList()
    listed.replace_all(
        [
            row("a", 1.0, 0.1, annotations={"k": (5,)}),
            row("b", 2.0, 0.1, annotations={"k": ("x",)}),
            row("c", 3.0, 0.1),
            row("d", 4.0, 0.1, annotations={"k": (50,)}),
            row("e", 5.0, 0.1, annotations={"k": (7,)}),
        ]
    )
    listed.sort_by("annotation:k")  # largest first: text after numbers, numbers by value (50 > 7 > 5)
    assert [r.trace_id for r in listed.rows()] == ["b", "d", "e", "a", "c"]


def test_the_list_keeps_the_newest_limit_and_drops_what_the_window_slid_past() -> None:
    listed = TraceList(limit=2)
    listed.merge([row("a", 1.0, 0.1), row("b", 2.0, 0.1)])
    assert listed.merge([row("c", 3.0, 0.1)]) == ["c"]
    assert [r.trace_id for r in listed.rows()] == ["c", "b"]
    assert listed.drop_before(datetime.fromtimestamp(2.5, tz=timezone.utc)) == ["b"]
    assert [r.trace_id for r in listed.rows()] == ["c"]
