"""The renderers: what a user sees for real traces, hostile traces, deep traces, and JSON at any depth.

Golden files (tests/golden/*.txt) hold the exact text at a fixed width with colour off, each line with its
trailing spaces removed. After a deliberate change to the output, rewrite them with

    XRAYCTL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/unit/render/test_render.py

and read the diff: it is what users will see.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console, RenderableType

from tests.support.docs import START, TRACE_ID, deep_document
from tests.support.paths import FIXTURES, GOLDEN
from xrayctl.aws.invoke import InvocationResult, read_report
from xrayctl.render.format import counted, fmt_duration, fmt_time
from xrayctl.render.invocation import invocation_view, invocations_table, invocations_view
from xrayctl.render.schema import invocation_to_dict, trace_to_dict
from xrayctl.render.tables import annotations_summary, annotations_table, listing_view
from xrayctl.render.tree import TraceTree, trace_view, traces_view
from xrayctl.text.jsonwrite import dumps, preview
from xrayctl.trace import annotations as rows_module
from xrayctl.trace.build import build_trace, traces_from_batch
from xrayctl.trace.model import Trace

UPDATE = os.environ.get("XRAYCTL_UPDATE_GOLDEN") == "1"
# Any C0/C1 control but newline, line separators, invisible and BiDi format characters, lone surrogates:
# none may reach the terminal from trace data.
CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff"
    "\U000e0000-\U000e007f]"
)
SGR = re.compile("\x1b\\[[0-9;]*m")  # the only escape rich itself writes for styles


def render(renderable: RenderableType, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, no_color=True, force_terminal=False).print(renderable)
    return out.getvalue()


def render_colour(renderable: RenderableType, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=True, color_system="truecolor").print(renderable)
    return out.getvalue()


def assert_golden(name: str, text: str) -> None:
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden {path.name}: run with XRAYCTL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide[:3]


def load_batch(name: str) -> list[Trace]:
    return traces_from_batch(json.loads((FIXTURES / "xray-real" / "traces" / name).read_text()))


def lambda_trace() -> Trace:
    return load_batch("iatk-lambda-traceWithLinks01.json")[0]


def sdk_trace() -> Trace:
    """The function's own subsegments as aws-xray-sdk sent them (their Lambda segments were not captured)."""
    docs = json.loads((FIXTURES / "sdk-captured" / "udp_documents_awslambdaric.json").read_text())
    trace_id = docs[0]["trace_id"]
    return build_trace(trace_id, [doc for doc in docs if doc["trace_id"] == trace_id])


def segment_file_trace(name: str) -> Trace:
    text = (FIXTURES / "xray-real" / "segments" / name).read_text()
    return build_trace(json.loads(text)["trace_id"], [text])


# --- golden text on real traces ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", [160, 120, 80])
def test_bars_of_one_duration_are_the_same_glyph_wherever_they_start(width: int) -> None:
    # A 376 ms Lambda trace with S3 calls of 2.1 and 2.2 ms at many offsets: each bar is under a cell.
    root = {"id": "a" * 16, "name": "fn", "start_time": 1000.0, "end_time": 1000.376, "subsegments": []}
    for number in range(40):
        start = 1000.0 + 0.0091 * number
        root["subsegments"].append(
            {"id": f"{number:016x}", "name": f"call {number}", "start_time": start,
             "end_time": start + (0.0021 if number % 2 else 0.0022)}
        )  # fmt: skip
    text = render(TraceTree(build_trace("1-654c0557-5611b044040fc7224c4790b6", [root])), width)
    glyphs: dict[str, set[str]] = {"2.1 ms": set(), "2.2 ms": set()}
    for line in text.splitlines():
        if "call" in line:
            bar = "".join(char for char in line if char in "▏▎▍▌▋▊▉█▐▕")
            glyphs[line.split()[-2] + " ms"].add(bar)
    [short], [long] = glyphs["2.1 ms"], glyphs["2.2 ms"]
    # The glyph is the duration's: a longer duration is never drawn shorter.
    assert len(short) == len(long) == 1 and "▏▎▍▌▋▊▉█".index(short) <= "▏▎▍▌▋▊▉█".index(long)


@pytest.mark.parametrize("width", [120, 80])
def test_lambda_trace_golden(width: int) -> None:
    text = render(trace_view(lambda_trace()), width)
    assert_golden(f"lambda_trace_{width}", text)
    assert_fits(text, width)


def test_lambda_trace_details_golden() -> None:
    assert_golden("lambda_trace_details_120", render(trace_view(lambda_trace(), details=True), 120))


def test_sdk_trace_shows_labels_annotations_and_orphan_warnings() -> None:
    text = render(trace_view(sdk_trace()), 120)
    assert_golden("sdk_trace_120", text)
    assert "└─ S3 PutObject demo-bucket/hello.txt" in text  # the service once, not `s3  S3 PutObject`
    assert "put_response=200" in text
    assert "⚠ put_object" in text  # the orphan warning is listed, not lost


def test_step_functions_trace_golden() -> None:
    text = render(trace_view(load_batch("iatk-stepfunctions-trace01.json")[0]), 120)
    assert_golden("stepfunctions_trace_120", text)
    assert "PARTIAL" in text and "⏸ in progress" in text and "(inferred)" in text


def test_exceptions_sql_and_http_details_golden() -> None:
    names = ["serverSample.txt", "minCauseIsExceptionId.txt", "indepSubsegmentWithSql.txt"]
    text = render(traces_view([segment_file_trace(name) for name in names], details=True), 120)
    assert_golden("segments_details_120", text)
    assert "sanitized_query=SELECT  *  FROM  customers" in text
    assert "GET http://localhost:8000/ → 200" in text


def test_links_show_by_default_and_the_entity_s_other_fields_with_details_and_in_json() -> None:
    arn = "arn:aws:lambda:us-west-2:123456789012:function:xray-stuff-ProducerA-LbbjYUkcchrB"
    plain = render(trace_view(lambda_trace()), 120)
    assert "→ child trace 1-654c0558-630340be09e985eb352a72e6: xray-stuff-ConsumerA-kWsiXtT2gOdW" in plain
    assert "resource_arn" not in plain
    assert f"resource_arn  {arn}" in render(trace_view(lambda_trace(), details=True), 120)
    [root] = trace_to_dict(lambda_trace())["roots"]
    invocation = root["children"][0]["children"][1]
    assert root["extra"] == {"resource_arn": arn} and invocation["links"][0]["id"] == "2acd99f6ce4d0822"


def test_narrow_console_drops_the_timeline() -> None:
    text = render(trace_view(lambda_trace()), 50)
    assert_golden("lambda_trace_50", text)
    assert "█" not in text
    assert_fits(text, 50)


def test_a_fault_mark_survives_a_narrow_line() -> None:
    doc = {
        "id": "1111111111111111",
        "name": "checkout-service-with-a-long-name",
        "origin": "AWS::Lambda::Function",
        "start_time": START,
        "end_time": START + 1,
        "fault": True,
        "trace_id": TRACE_ID,
    }
    text = render(trace_view(build_trace(TRACE_ID, [doc])), 60)
    line = next(line for line in text.splitlines() if line.startswith("checkout-service"))
    assert "✗" in line


@pytest.mark.parametrize("width", [30, 59, 60, 61, 100, 200])
def test_every_line_fits_the_width(width: int) -> None:
    traces = [lambda_trace(), sdk_trace(), load_batch("iatk-stepfunctions-trace01.json")[0]]
    assert_fits(render(traces_view(traces, details=True), width), width)


def test_several_traces_are_separated_by_a_rule() -> None:
    text = render(traces_view([lambda_trace(), sdk_trace()]), 80)
    assert text.count("Trace 1-") == 2
    assert "─" * 40 in text


def test_header_takes_status_entry_point_and_times_from_the_summary() -> None:
    trace = lambda_trace()
    trace.summary = {
        "Id": trace.id,
        "StartTime": datetime(2023, 11, 8, 22, 1, 59, 389000, tzinfo=timezone.utc),
        "Duration": 0.781,
        "ResponseTime": 0.5,
        "HasFault": True,
        "HasError": False,
        "HasThrottle": True,
        "IsPartial": True,
        "EntryPoint": {"Name": "xray-stuff-ProducerA", "Type": "AWS::Lambda"},
        "Http": {"HttpMethod": "POST", "HttpURL": "https://example.com/x", "HttpStatus": 502},
    }
    trace.limit_exceeded = True
    header = render(trace_view(trace), 120).split("\n\n")[0]
    assert_golden("summary_header_120", header)
    assert "FAULT  THROTTLE" in header and "response 500 ms" in header and "LIMIT EXCEEDED" in header


# --- untrusted text ---------------------------------------------------------------------------------------

HOSTILE = (
    "[bold red]x[/] [link=http://x]y[/link] \x1b[31mred\x1b[0m \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ "
    "\x1b]52;c;aGk=\x07 \x9b31m \u202egnp.exe \u200bzw \u2028ls \U000e0041tag \ud800lone"
)


def hostile_trace() -> Trace:
    """Hostile text in every field a view shows, 10 MB strings, and broken fields whose warnings quote it."""
    big = "A" * 10_000_000
    link = {
        "trace_id": HOSTILE,
        "attributes": {f"aws.xray.reserved.{key}": HOSTILE for key in ("names", "type")},
    }
    segment = {
        "trace_id": TRACE_ID,
        "id": "00000000000000a1",
        "name": "svc " + HOSTILE,
        "origin": HOSTILE,
        "start_time": START,
        "end_time": START + 1,
        "fault": True,
        "http": {"request": {"method": "GET", "url": "http://h/" + HOSTILE}, "response": {"status": 500}},
        "annotations": {"k": HOSTILE, "big": big, HOSTILE: 1},
        "metadata": {"default": {"m": HOSTILE, "deep": [[[HOSTILE]]]}, HOSTILE: big},
        "cause": {
            "working_directory": HOSTILE,
            "exceptions": [
                {"id": "e1", "type": "E" + HOSTILE, "message": HOSTILE + big, "stack": [{"path": HOSTILE}]}
            ],
        },
        "links": [link],
        "resource_arn": HOSTILE,
        HOSTILE: big,
        "subsegments": [
            {"id": "00000000000000b2", "name": big, "start_time": START, "end_time": START + 0.5},
            {"id": "00000000000000b3", "name": HOSTILE, "start_time": START + 0.5, "end_time": START + 0.9},
            {
                "id": "00000000000000b4",
                "name": "s3",
                "namespace": "aws",
                "aws": {"operation": HOSTILE, "bucket_name": HOSTILE, "key": big, HOSTILE: HOSTILE},
                "sql": {"url": HOSTILE, "sanitized_query": HOSTILE},
                "start_time": HOSTILE,  # a warning quotes it
                "end_time": START + 0.5,
            },
        ],
    }
    orphan = {"id": HOSTILE, "name": HOSTILE, "parent_id": HOSTILE, "type": "subsegment", "start_time": START}
    trace = build_trace(TRACE_ID, [json.dumps(segment), json.dumps(orphan)])
    trace.summary = {"EntryPoint": {"Name": HOSTILE, "Type": HOSTILE}, "Http": {"HttpURL": HOSTILE}}
    return trace


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("width", [120, 1000])
def test_hostile_text_reaches_the_terminal_inert(colour: bool, width: int) -> None:
    trace = hostile_trace()
    assert len(trace.warnings) >= 3  # warnings quote the hostile values too
    view = traces_view([trace, trace], details=True)  # header, tree, details and warnings
    output = render_colour(view, width) if colour else render(view, width)
    plain = SGR.sub("", output)
    assert not CONTROL.search(plain)
    assert "\x1b]" not in output  # no OSC sequence at all: no planted link, no clipboard write
    assert "\u202e" not in plain and "\u200b" not in plain
    # Markup is shown as typed, not interpreted: the brackets are there to read.
    assert "[bold red]x[/]" in plain and "[link=http://x]" in plain
    if width == 1000:
        # What was there stays visible, escaped.
        assert "\\x1b]52;c;aGk=\\x07" in plain and "\\u202egnp.exe" in plain and "\\x9b31m" in plain
        assert "\\u2028ls" in plain and "\\U000e0041tag" in plain and "\\ud800lone" in plain
    assert_fits(plain, width)


def test_hostile_invocation_payload_and_log_are_inert() -> None:
    result = Invocation(payload=json.dumps({"errorMessage": HOSTILE}).encode(), log_tail=HOSTILE + "\nend")
    output = render_colour(invocation_view(result), 100)
    assert not CONTROL.search(SGR.sub("", output))
    assert "[bold red]x[/]" in output


def test_hostile_annotation_table_is_inert() -> None:
    row = rows_module.AnnotatedTrace(TRACE_ID, None, 1.0, None, "ok", {"k": [HOSTILE]})
    output = render_colour(annotations_table([row], ["k"]), 200)
    assert not CONTROL.search(SGR.sub("", output))
    assert "[bold red]x[/]" in output


# --- deep trees -------------------------------------------------------------------------------------------


def test_a_5000_level_tree_renders_with_compressed_guides() -> None:
    trace = build_trace(TRACE_ID, [deep_document(5000)])
    assert trace.node_count == 5000
    text = render(trace_view(trace), 120)
    lines = text.splitlines()
    assert any(line.startswith("⋮[depth 4999] ") and "level5000" in line for line in lines)
    assert_fits(text, 120)


def test_json_of_a_5000_level_tree_round_trips() -> None:
    trace = build_trace(TRACE_ID, [deep_document(5000)])
    text = dumps(trace_to_dict(trace))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(50_000)  # json.loads recurses per level: only the test needs to read it back
    try:
        data = json.loads(text)
    finally:
        sys.setrecursionlimit(limit)
    names = []
    nodes = data["roots"]
    while nodes:
        (node,) = nodes
        names.append(node["name"])
        nodes = node["children"]
    assert names == ["deep"] + [f"level{level}" for level in range(2, 5001)]
    assert data["node_count"] == 5000


def test_json_matches_the_standard_library_on_a_real_trace() -> None:
    trace = load_batch("iatk-stepfunctions-trace01.json")[0]
    data = trace_to_dict(trace)
    assert dumps(data) == json.dumps(data, indent=2, ensure_ascii=False)
    assert json.loads(dumps(data, indent=None)) == data


def test_json_keeps_the_data_intact_and_valid() -> None:
    trace = hostile_trace()
    trace.summary = {"StartTime": datetime(2023, 11, 8, tzinfo=timezone.utc), "Duration": float("nan")}
    text = dumps(trace_to_dict(trace))
    assert not CONTROL.search(text.replace("\n", ""))  # JSON \\u-escapes what a terminal would act on
    data = json.loads(text)
    (segment,) = (root for root in data["roots"] if root["id"] == "00000000000000a1")
    assert segment["annotations"]["k"] == HOSTILE  # and the data is intact
    assert data["summary"] == {"StartTime": "2023-11-08T00:00:00+00:00", "Duration": None}
    lone_surrogate = json.loads('"\\ud800x"')
    assert json.loads(dumps({"s": lone_surrogate})) == {"s": lone_surrogate}
    dumps({"s": lone_surrogate}).encode("utf-8")  # writable to a UTF-8 stdout


def test_preview_stops_early_on_deep_metadata() -> None:
    value: Any = "leaf"
    for _ in range(100_000):
        value = [value]
    assert preview(value, 20) == "[" * 19 + "…"


# --- tables and invocations -------------------------------------------------------------------------------


def summary_rows() -> list[rows_module.AnnotatedTrace]:
    """Rows from botocore-shaped GetTraceSummaries entries."""
    summaries = []
    cases = [("ok", "demo-bucket"), ("fault", "demo-bucket"), ("ok", "other")]
    for index, (status, bucket) in enumerate(cases):
        summaries.append(
            {
                "Id": f"1-654c0557-5611b044040fc7224c4790b{index}",
                "StartTime": datetime(2023, 11, 8, 22, 1, 57 + index, tzinfo=timezone.utc),
                "Duration": 0.25 * (index + 1),
                "HasFault": status == "fault",
                "Annotations": {
                    "put_response": [{"AnnotationValue": {"NumberValue": 200.0}}],
                    "bucket": [{"AnnotationValue": {"StringValue": bucket}}],
                    "cold": [{"AnnotationValue": {"BooleanValue": index == 0}}],
                },
            }
        )
    return [rows_module.from_summary(summary) for summary in summaries]


@pytest.mark.parametrize("width", [120, 60])
def test_annotations_table_golden(width: int) -> None:
    text = render(annotations_table(summary_rows(), ["put_response", "bucket", "cold"]), width)
    assert_golden(f"annotations_table_{width}", text)
    assert_fits(text, width)


@pytest.mark.parametrize("width", range(50, 121))
def test_numbers_durations_and_statuses_are_never_cut_at_any_width(width: int) -> None:
    table = annotations_table(summary_rows(), ["put_response", "bucket", "cold"])
    lines = render(table, width).splitlines()
    assert_fits("\n".join(lines), width)
    header, rows = lines[0].split(), [line.split("  ") for line in lines[1:]]
    for row in rows:
        cells = [cell.strip() for cell in row if cell.strip()]
        assert cells[2] in ("250 ms", "500 ms", "750 ms") and cells[3] in ("OK", "FAULT")
        if "put_response" in header:
            assert cells[4] == "200"
        if "cold" in header:
            assert cells[-1] in ("true", "false")
    # Given up in order: the date, then annotation columns from the right, then the trace id's end. A column
    # is left out only when it would not fit even without the dates (at its floor: 10 cells, `false` 5).
    notes = "; ".join(table.notes)
    used = max(len(line.rstrip()) for line in lines)
    dated = "2023-11-08" in lines[1]
    assert dated == ("start without its date" not in notes)
    said = [note.split(": ", 1)[1] for note in table.notes if "left out" in note]
    left_out = said[0].split(", ") if said else []
    assert all(key in header for key in ("put_response", "bucket", "cold") if key not in left_out) or (
        "cut with …" in notes  # a key's header cut (`put_respo…`) is there, cut
    )
    if left_out:
        floor = {"put_response": 10, "bucket": 10, "cold": 5}[left_out[0]]
        # Without dates, the column is as wide as its header, `start (UTC)`: 8 cells saved.
        assert used - (len("2023-11-08 22:01:57") - len("start (UTC)") if dated else 0) + 2 + floor > width
    if "cut with …: trace id" in notes:
        assert not dated and left_out[-2:] == ["bucket", "cold"]
    # The first annotation column goes only once the id is cut to its floor: 12 cells, then the start column
    # (its header, 11), duration (8), status (6) and put_response at its floor (10), with their gaps.
    assert ("put_response" in left_out) == (width < 12 + 11 + 8 + 6 + 10 + 4 * len("  "))


def test_annotations_summary_golden() -> None:
    keys = ["bucket", "cold"]
    text = render(annotations_summary(rows_module.summarize(summary_rows(), keys)), 100)
    assert_golden("annotations_summary_100", text)


def test_cells_shared_between_rows_show_each_value_as_its_type() -> None:
    """Rows with the same values share a cell; true, 1 and 1.0 are equal in Python and read differently."""
    values = [{"BooleanValue": True}, {"NumberValue": 1.0}, {"NumberValue": 1.5}, {"StringValue": "1"}]
    rows = [
        rows_module.from_summary(
            {
                "Id": f"1-654c0557-5611b044040fc7224c4790b{index}",
                "Annotations": {"k": [{"AnnotationValue": v}]},
            }
        )
        for index, v in enumerate(values + values)
    ]
    lines = render(annotations_table(rows, ["k"]), 120).splitlines()[1:]
    assert [line.split()[-1] for line in lines] == ["true", "1", "1.5", "1"] * 2


def test_empty_tables_say_so() -> None:
    assert "(no traces)" in render(annotations_table([], ["k"]), 80)
    assert "(no annotations)" in render(annotations_summary([]), 80)


def Invocation(**fields: Any) -> InvocationResult:
    """An invocation result as `invoke` returns one, with the fields a test changes."""
    defaults: dict[str, Any] = {
        "function_name": "xray-stuff-ProducerA",
        "status_code": 200,
        "function_error": "Unhandled",
        "payload": b'{"errorType": "TypeError", "errorMessage": "boom", "stackTrace": ["a", "b"]}',
        "log_tail": "\n".join(f"log line {number}" for number in range(30)),
        "trace_id": "1-654c0557-5611b044040fc7224c4790b6",
        "request_id": "74ba6aea-2855-490a-a20d-d6dd1c39916c",
        "executed_version": "$LATEST",
    }
    defaults.update(fields)
    defaults.setdefault("report", read_report(defaults["log_tail"], defaults["request_id"]))
    return InvocationResult(**defaults)


def test_invocation_golden() -> None:
    text = render(invocation_view(Invocation()), 100)
    assert_golden("invocation_100", text)
    assert "… 10 earlier lines" in text and "log line 29" in text and "log line 9\n" not in text


def test_invocation_payload_and_log_wrap_instead_of_losing_their_end() -> None:
    message = "bucket_name: not a valid S3 bucket name " * 3 + "THE-END"
    result = Invocation(
        payload=json.dumps({"ok": False, "error": {"message": message}}),
        log_tail="REPORT RequestId: r\tDuration: 1.00 ms\tBilled Duration: 1 ms\tInit Duration: 99.99 ms",
    )
    text = render(invocation_view(result), 40)
    words = " ".join(text.split())
    assert 'THE-END"' in words and "Init Duration: 99.99 ms" in words
    assert all(len(line) <= 40 for line in text.splitlines())


REPORT = (
    "REPORT RequestId: 74ba6aea-2855-490a-a20d-d6dd1c39916c\tDuration: 17.04 ms\tBilled Duration: 18 ms\t"
    "Memory Size: 128 MB\tMax Memory Used: 55 MB\tInit Duration: 275.59 ms\t"
)


def test_the_invocation_says_which_was_a_cold_start_from_its_report_line() -> None:
    cold = render(invocation_view(Invocation(log_tail=REPORT)), 100).splitlines()[0]
    warm = render(invocation_view(Invocation(log_tail=REPORT.split("\tMax")[0])), 100).splitlines()[0]
    assert cold.endswith("status 200  cold start, init 276 ms, ran 17 ms")
    assert warm.endswith("status 200  warm, ran 17 ms")
    assert "cold" not in render(invocation_view(Invocation(log_tail=None)), 100)  # no REPORT, no claim
    assert invocation_to_dict(Invocation(log_tail=REPORT))["cold_start"] is True
    assert invocation_to_dict(Invocation(log_tail=REPORT))["init_duration"] == pytest.approx(0.27559)
    assert invocation_to_dict(Invocation(log_tail=REPORT))["duration"] == pytest.approx(0.01704)


def test_a_200_over_a_faulted_trace_shows_fault_beside_it() -> None:
    trace = lambda_trace()
    trace.summary = {"Id": trace.id, "HasFault": True, "HasError": False, "HasThrottle": False}
    ok = Invocation(function_error=None, trace_id=trace.id, log_tail=REPORT)
    unread = Invocation(function_error=None, trace_id="1-654c0557-00000000000000000000beef")
    [header, first, second] = render(invocations_table([ok, unread], [trace]), 100).splitlines()
    assert header.split() == ["#", "http", "trace", "start", "init", "ran", "trace", "id"]
    assert first.split() == ["1", "200", "FAULT", "cold", "276", "ms", "17", "ms", trace.id]
    assert second.split()[:4] == ["2", "200", "not", "read"]
    assert invocation_to_dict(ok, trace)["trace_status"] == "fault"
    assert invocation_to_dict(ok)["trace_status"] is None
    # The status line of the invocation itself does not colour a 200 as a success: its trace may say FAULT.
    assert "\x1b[32m" not in render_colour(invocation_view(ok), 100).splitlines()[0]


@pytest.mark.parametrize("width", range(40, 101, 4))
def test_the_invocation_table_never_cuts_the_trace_id_it_gives_up_other_columns_first(width: int) -> None:
    trace = lambda_trace()
    results = [Invocation(function_error=None, trace_id=trace.id, log_tail=REPORT) for _ in range(12)]
    table = invocations_table(results, [trace])
    text = render(table, width)
    assert_fits(text, width)
    rows = text.splitlines()[1:]
    assert len(rows) == 12 and all(row.rstrip().endswith(trace.id) for row in rows)
    if width >= 74:  # the row needs 74 cells: nothing is given up (it needed 83, and 80 cut the id)
        assert text.splitlines()[0].split() == ["#", "http", "trace", "start", "init", "ran", "trace", "id"]
        assert not table.notes
    else:
        assert table.notes and "…" not in text


def test_invocations_of_two_functions_are_a_table_each_under_its_name() -> None:
    trace = lambda_trace()
    xray, otel = "xrayctl-demo", "xrayctl-demo-otel"
    results = [
        Invocation(function_name=name, function_error=None, trace_id=trace.id, log_tail=REPORT)
        for _ in range(2)
        for name in (xray, otel)
    ]
    lines = [line.rstrip() for line in render(invocations_view(results, [trace]), 80).splitlines()]
    titles = [index for index, line in enumerate(lines) if line in (xray, otel)]
    assert [lines[index] for index in titles] == [xray, otel]
    for index in titles:  # each function's own table, its invocations numbered from 1
        assert lines[index + 1].split()[0] == "#"
        assert [line.split()[0] for line in lines[index + 2 : index + 4]] == ["1", "2"]
    one = render(invocations_view(results[::2], [trace]), 80).splitlines()
    assert one[0].split()[0] == "#"  # one function: its name is in every line above, no title


def test_invocation_json_parses_the_payload_when_it_is_json() -> None:
    assert invocation_to_dict(Invocation())["payload_json"]["errorType"] == "TypeError"
    assert invocation_to_dict(Invocation(payload="not json"))["payload_json"] is None


# --- formatting -------------------------------------------------------------------------------------------


def test_a_count_takes_its_noun_in_the_number_it_needs() -> None:
    assert [counted(n, "trace") for n in (0, 1, 2, 1000)] == [
        "0 traces",
        "1 trace",
        "2 traces",
        "1,000 traces",
    ]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"
    one = rows_module.listing([[{"Id": "1-654c0557-5611b044040fc7224c4790b6", "Annotations": {}}]], ["k"])
    assert "(the one trace has no k)" in render(listing_view(one, summary=False), 80)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0, "0 ms"),
        (0.000412, "412 µs"),
        (0.0085, "8.5 ms"),
        (0.781, "781 ms"),
        (0.9996, "1.00 s"),
        (1.234, "1.23 s"),
        (125, "2m 05s"),
        (11_040, "3h 04m"),
        (86_399, "23h 59m"),
        (6_908_400, "79d 23h"),  # a clock-skewed segment: the column still holds it
        (-0.005, "-5.0 ms"),
    ],
)
def test_durations_read_naturally(seconds: float | None, shown: str) -> None:
    assert fmt_duration(seconds) == shown


def test_times_are_utc_with_milliseconds() -> None:
    assert fmt_time(1699480919.389) == "2023-11-08 22:01:59.389 UTC"
    local = datetime(2023, 11, 8, 23, 1, 59, 389000).astimezone()
    assert fmt_time(local) == fmt_time(local.timestamp())
    assert fmt_time(datetime(2023, 11, 8, 22, 1, 59)) == "2023-11-08 22:01:59.000 UTC"
