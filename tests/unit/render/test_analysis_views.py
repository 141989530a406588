"""The views that answer questions: the critical-path column, a comparison, a service map, and exports.

Golden text at fixed widths, colour off (rewrite with XRAYCTL_UPDATE_GOLDEN=1 and read the diff), and exports
read back as what they are (SVG as XML)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from tests.support.paths import FIXTURES
from tests.unit.render.test_render import assert_fits, assert_golden, lambda_trace, render
from xrayctl.render.compare import comparison_to_dict, comparison_view
from xrayctl.render.export import render_export
from xrayctl.render.servicemap import service_map_to_dict, service_map_view
from xrayctl.render.tree import trace_view
from xrayctl.trace.build import traces_from_batch
from xrayctl.trace.compare import merge
from xrayctl.trace.critical import critical_path
from xrayctl.trace.model import Trace
from xrayctl.trace.servicemap import build_map

LAMBDA = FIXTURES / "xray-real" / "traces" / "iatk-lambda-traceWithLinks01.json"
GUIDE_GRAPH = json.loads(
    (FIXTURES / "xray-real" / "derived" / "doc-source__xray-api-gettingdata__block1.json").read_text()
)
# What would end an SVG text element, open a script, close CDATA, or is no XML character at all.
XMLISH = "</text><script>alert(1)</script> &amp; ]]> <!-- \ufffe\uffff \x1b[31m"


def warm_twin(data: dict[str, Any], suffix: str = "7") -> dict[str, Any]:
    """The real cold Lambda trace without its Initialization, under another id: a warm invocation."""
    warm = copy.deepcopy(data)
    warm["Id"] = warm["Id"][:-1] + suffix
    for segment in warm["Segments"]:
        segment["trace_id"] = warm["Id"]
        segment["subsegments"] = [s for s in segment.get("subsegments", []) if s["name"] != "Initialization"]
    return warm


def cold_and_warm() -> list[Trace]:
    data = json.loads(LAMBDA.read_text())
    return traces_from_batch({"Traces": [data, warm_twin(data)]})


@pytest.mark.parametrize("width", [120, 70])
def test_critical_path_column_marks_each_node_with_its_time(width: int) -> None:
    trace = lambda_trace()
    text = render(trace_view(trace, critical=critical_path(trace)), width)
    assert_fits(text, width)
    assert_golden(f"lambda_trace_critical_{width}", text)


def test_every_node_on_the_critical_path_is_marked_and_counted_even_with_no_time_of_its_own() -> None:
    """`S3 PutObject` and the S3 segment X-Ray infers under it share one interval: the call adds 0 ms of its
    own, and the path still goes through it (unmarked, the path looked broken there)."""
    from tests.unit.trace.test_critical import _entity, _trace

    put = _entity(2, "S3 PutObject", 1, 4, {**_entity(3, "S3", 1, 4), "inferred": True})
    trace = _trace(_entity(1, "function", 0, 5, put, _entity(4, "aside", 2, 3)))
    text = render(trace_view(trace, critical=critical_path(trace)), 120)
    lines = {line.lstrip("├└│─ ").split("  ")[0]: line.rstrip() for line in text.splitlines()[7:]}
    assert lines["function"].endswith("◆   2.00 s") and lines["S3 (inferred)"].endswith("◆   3.00 s")
    assert lines["S3 PutObject"].endswith("◆     0 ms")
    assert "◆" not in lines["aside"]
    assert "◆ critical path  3 nodes · 5.00 s of 5.00 s" in text


def test_comparison_of_a_cold_and_a_warm_invocation() -> None:
    text = render(comparison_view(merge(cold_and_warm())), 120)
    assert_fits(text, 120)
    assert_golden("compare_cold_warm_120", text)
    [initialization] = [line for line in text.splitlines() if "Initialization" in line]
    assert "only in A" in initialization and " A " in initialization


@pytest.mark.parametrize(
    ("width", "second_lines"),
    [(80, ["     OK  5 nodes  cold start", "     OK  4 nodes"]), (100, ["     cold start"])],
)
def test_a_comparison_header_too_wide_for_one_line_wraps_under_its_id(
    width: int, second_lines: list[str]
) -> None:
    text = render(comparison_view(merge(cold_and_warm()), function="xray-stuff-ProducerA"), width)
    assert_fits(text, width)
    header = [line.rstrip() for line in text.split("\n\n")[0].splitlines()]
    assert header[0].startswith("Compare 2 traces of xray-stuff-ProducerA  ·  ")
    traces = [line for line in header if line.startswith(("  A  1-", "  B  1-"))]
    assert len(traces) == 2
    # What does not fit on a trace's line continues under its id (column 5), never at the left edge.
    assert [line for line in header[1:] if line not in traces and not line.startswith("Δ")] == second_lines


def test_a_narrow_comparison_drops_the_timeline_not_the_numbers() -> None:
    text = render(comparison_view(merge(cold_and_warm())), 50)
    assert_fits(text, 50)
    assert "█" not in text and "355 ms" in text and "0" in text


def test_comparison_json_has_a_path_and_a_duration_per_trace() -> None:
    cold, warm = cold_and_warm()
    data = comparison_to_dict(merge([cold, warm]))
    assert [t["cold"] for t in data["traces"]] == [True, False]
    rows = {tuple(node["path"]): node["durations"] for node in data["nodes"]}
    name = cold.roots[0].name
    assert rows[(name, name, "Initialization")] == [pytest.approx(0.3547144), None]
    assert rows[(name, name, "Invocation")][0] == rows[(name, name, "Invocation")][1]


def test_service_map_of_the_documented_graph() -> None:
    service_map = build_map([GUIDE_GRAPH["Services"]])
    text = render(service_map_view(service_map), 120)
    assert_fits(text, 120)
    assert_golden("service_map_guide_120", text)


def _headers(text: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith("service")).split()[1:]


@pytest.mark.parametrize(
    ("width", "shown", "said"),
    [
        (200, ["requests", "ok", "error", "fault", "throttle", "p50", "p90", "p99"], []),
        # Columns of zeros go before a name is cut: they say nothing the note cannot.
        (120, ["requests", "ok", "error", "p50", "p90", "p99"], ["fault, throttle (0 on every line)"]),
        # Then names are cut down to 24 cells, then the least useful columns go: ok, then p90, ...
        (60, ["requests", "error", "p50", "p99"], ["fault, throttle (0 on every line), ok, p90"]),
    ],
)
def test_a_narrow_service_map_gives_up_the_least_useful_columns_first_and_says_which(
    width: int, shown: list[str], said: list[str]
) -> None:
    view = service_map_view(build_map([GUIDE_GRAPH["Services"]]))
    text = render(view, width)
    assert_fits(text, width)
    assert _headers(text) == shown
    assert [note.removeprefix("columns left out: ") for note in view.notes if "left out" in note] == said


def test_the_service_column_is_as_wide_as_the_names_need() -> None:
    """At 200 columns the figures stay two cells from the longest name, not 130 columns away."""
    lines = render(service_map_view(build_map([GUIDE_GRAPH["Services"]])), 200).splitlines()
    longest = "   ├─ awseb-e-dixzws4s9p-stack-StartupSignupsTable-4IMSMHAYX2BA  AWS::DynamoDB::Table"
    [row] = [line for line in lines if line.startswith(longest)]
    assert row[len(longest) :].split() == ["2", "2", "0", "0", "0", "44", "ms", "76", "ms", "76", "ms"]
    header = next(line for line in lines if line.startswith("service"))
    assert header.index("requests") == len(longest) + 2  # the name column ends with the longest name


def test_service_map_json_points_edges_at_services() -> None:
    data = service_map_to_dict(build_map([GUIDE_GRAPH["Services"]]))
    by_id = {service["id"]: service for service in data["services"]}
    root = next(s for s in data["services"] if s["root"])
    assert sorted(by_id[edge["to"]]["type"] for edge in root["edges"]) == ["AWS::DynamoDB::Table", "AWS::SNS"]
    assert root["statistics"]["response_time"]["p50"] == 0.015 and root["statistics"]["error"] == 1


def _hostile_trace() -> Trace:
    data = json.loads(LAMBDA.read_text())
    data["Segments"][1]["subsegments"][1]["name"] = XMLISH
    (trace,) = traces_from_batch(data)
    return trace


def test_exported_svg_parses_and_holds_names_and_hostile_text_as_inert_text() -> None:
    trace = _hostile_trace()
    svg = render_export(trace_view(trace, critical=critical_path(trace)), "svg", width=120, title=XMLISH)
    root = ElementTree.fromstring(svg)  # parses: nothing in the trace broke the XML
    assert not [element for element in root.iter() if element.tag.endswith("script")]
    text = "".join(root.itertext()).replace("\xa0", " ")
    assert "Initialization" in text and "xray-stuff-ProducerA-LbbjYUkcchrB" in text
    # The hostile name is there, as text a reader sees: escapes visible, nothing interpreted.
    assert "</text><script>alert(1)</script> &amp; ]]> <!--" in text
    assert "\\ufffe\\uffff \\x1b[31m" in text and "\x1b" not in svg and "\ufffe" not in svg


def test_exported_html_and_text_escape_the_same_way() -> None:
    view = trace_view(_hostile_trace())
    html = render_export(view, "html", width=120, title="t")
    assert "<script>" not in html and "&lt;/text&gt;&lt;script&gt;alert(1)" in html
    text = render_export(view, "text", width=120, title="t")
    assert "</text><script>alert(1)</script>" in text and "\x1b" not in text and "\\x1b[31m" in text
