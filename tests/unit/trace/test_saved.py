"""xrayctl's own --output json read back: the same traces, the same bytes written again, the same view."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.docs import TRACE_ID, deep_document
from tests.support.paths import FIXTURES
from xrayctl.errors import InputError
from xrayctl.render.schema import trace_to_dict
from xrayctl.render.tree import traces_view
from xrayctl.text.jsonwrite import dumps
from xrayctl.trace.build import build_trace, load_batch, traces_from_batch
from xrayctl.trace.model import Trace

TRACES = FIXTURES / "xray-real" / "traces"


def written(traces: list[Trace]) -> str:
    """What `show-trace -o json` prints for `traces`."""
    return dumps({"traces": [trace_to_dict(trace) for trace in traces]})


def drawn(traces: list[Trace]) -> str:
    out = io.StringIO()
    Console(file=out, width=140, color_system=None).print(traces_view(traces, details=True))
    return out.getvalue()


def fixture_traces() -> list[tuple[str, list[Trace]]]:
    cases = []
    for path in sorted(TRACES.glob("*.json")):
        data = json.loads(path.read_text())
        entries = [t for run in data for t in run["traces"]][:40] if isinstance(data, list) else data
        cases.append((path.name, traces_from_batch(entries)))
    sdk = json.loads((FIXTURES / "sdk-captured" / "udp_documents_awslambdaric.json").read_text())
    cases.append(("sdk-captured", [build_trace("", [d for d in sdk if d["trace_id"] == sdk[0]["trace_id"]])]))
    for path in sorted((FIXTURES / "xray-real" / "segments").glob("*.txt")):
        cases.append((path.name, [build_trace("", [path.read_text()])]))
    cases.append(("5,000 levels", [build_trace(TRACE_ID, [deep_document(5000)])]))
    return cases


@pytest.mark.parametrize(("name", "traces"), fixture_traces(), ids=lambda v: v if isinstance(v, str) else "")
def test_reading_xrayctls_json_and_writing_it_again_gives_the_same_bytes(
    name: str, traces: list[Trace]
) -> None:
    first = written(traces)
    read_back = load_batch(first, source=name)
    assert written(read_back) == first
    assert drawn(read_back) == drawn(traces)


def test_a_summary_reads_back_with_its_times(tmp_path: Path) -> None:
    [trace] = traces_from_batch(json.loads((TRACES / "iatk-lambda-traceWithLinks01.json").read_text()))
    started = datetime(2023, 11, 8, 22, 1, 59, 389000, tzinfo=timezone.utc)
    trace.summary = {"Id": trace.id, "StartTime": started, "Duration": 0.781, "HasFault": True, "Revision": 3}
    first = written([trace])
    [read_back] = load_batch(first, source="saved.json")
    assert read_back.summary is not None and read_back.summary["StartTime"] == started
    assert written([read_back]) == first
    assert drawn([read_back]) == drawn([trace])  # the header's FAULT and start come from the summary


def test_invokes_json_reads_back_as_its_traces() -> None:
    [trace] = traces_from_batch(json.loads((TRACES / "iatk-lambda-traceWithLinks01.json").read_text()))
    invoked = dumps({"invocations": [{"function_name": "f"}], "traces": [trace_to_dict(trace)]})
    assert written(load_batch(invoked, source="invoked.json")) == written([trace])


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda t: t["roots"][0]["children"][0].update(start_time="soon"),
            "traces[0].roots[0].children[0].start_time",
        ),
        (lambda t: t["roots"][0].update(kind="segmentish"), "traces[0].roots[0].kind"),
        (lambda t: t["roots"][0]["children"][0].pop("children"), "traces[0].roots[0].children[0].children"),
        (lambda t: t["roots"][0].update(annotations={"k": [1]}), "traces[0].roots[0].annotations.k"),
        (lambda t: t.update(warnings=[1]), "traces[0].warnings[0]"),
        (lambda t: t["roots"][0].update(http_status=True), "traces[0].roots[0].http_status"),
    ],
)
def test_a_file_that_is_not_xrayctls_json_names_the_first_wrong_field(change, where: str) -> None:  # type: ignore[no-untyped-def]
    [trace] = traces_from_batch(json.loads((TRACES / "iatk-lambda-traceWithLinks01.json").read_text()))
    data = json.loads(written([trace]))
    change(data["traces"][0])
    with pytest.raises(InputError) as caught:
        load_batch(json.dumps(data), source="edited.json")
    assert caught.value.message.startswith(f"edited.json: {where} is")
