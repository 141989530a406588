"""show-trace --input: every trace file a user has, the format detected or named (xrayctl.trace.formats)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.support.paths import FIXTURES
from xrayctl.errors import InputError, TraceNotFound
from xrayctl.trace.formats import detect, load_traces
from xrayctl.trace.model import Trace

PROTO_EXAMPLE = FIXTURES / "otel" / "opentelemetry-proto-examples-trace.json"
LAMBDA_TRACE = FIXTURES / "xray-real" / "traces" / "iatk-lambda-traceWithLinks01.json"


def names(trace: Trace) -> list[tuple[int, str]]:
    return [(node.depth, node.name) for node in trace.walk()]


def sdk_spans() -> Any:
    """Spans made by the real OpenTelemetry SDK: a SERVER span with an annotated INTERNAL child."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    attributes = {"rows": 3, "aws.xray.annotations": ["rows"]}
    with (
        tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER),
        tracer.start_as_current_span("load", attributes=attributes),
    ):
        pass
    return exporter.get_finished_spans()


def test_the_otlp_specs_own_example_draws_with_its_missing_parent_shown() -> None:
    (trace,) = load_traces(PROTO_EXAMPLE.read_text(), source="trace.json")
    assert trace.id == "1-5b8efff7-98038103d269b633813fc60c"
    (root,) = trace.roots
    assert (root.name, root.kind, root.id) == ("my.service", "segment", "eee19b7ec3c1b174")
    assert root.metadata["default"]["my.span.attr"] == "some value"
    assert root.extra["otel"]["scope"] == {
        "name": "my.library",
        "version": "1.0.0",
        "attributes": {"my.scope.attribute": "some scope attribute"},
    }
    assert any("parent eee19b7ec3c1b173 is not in this trace" in w for w in trace.warnings)


def test_protobufs_standard_json_mapping_reads_like_otlp_json() -> None:
    # MessageToJson writes ids in base64, enums by name and 64-bit numbers as strings.
    text = MessageToJson(encode_spans(sdk_spans()))
    assert "SPAN_KIND_SERVER" in text
    (trace,) = load_traces(text, source="export.json")
    assert names(trace) == [(0, "orders"), (1, "load")]
    assert trace.roots[0].children[0].annotations == {"rows": 3}


def test_one_export_a_line_as_the_collectors_file_exporter_writes_is_one_trace() -> None:
    data = json.loads(MessageToJson(encode_spans(sdk_spans())))
    first, second = json.loads(json.dumps(data)), json.loads(json.dumps(data))
    first["resourceSpans"][0]["scopeSpans"][0]["spans"] = first["resourceSpans"][0]["scopeSpans"][0]["spans"][
        :1
    ]
    second["resourceSpans"][0]["scopeSpans"][0]["spans"] = second["resourceSpans"][0]["scopeSpans"][0][
        "spans"
    ][1:]
    text = json.dumps(first) + "\n" + json.dumps(second) + "\n"
    (trace,) = load_traces(text, source="traces.jsonl")
    assert names(trace) == [(0, "orders"), (1, "load")] and not trace.warnings


def retrieved(spans: list[dict[str, Any]], trace_id: str = "") -> str:
    return json.dumps(
        {"RetrievalStatus": "COMPLETE", "TraceFormat": "XRAY", "Traces": [{"Id": trace_id, "Spans": spans}]}
    )


def test_list_retrieved_traces_in_xray_format_draws_as_batch_get_traces_would() -> None:
    trace = json.loads(LAMBDA_TRACE.read_text())
    from_batch = load_traces(json.dumps({"Traces": [trace]}), source="batch.json")
    # The fixture's documents are parsed; ListRetrievedTraces gives each as JSON text, as BatchGetTraces does.
    spans = [{"Id": doc["id"], "Document": json.dumps(doc)} for doc in trace["Segments"]]
    from_retrieval = load_traces(retrieved(spans, trace["Id"]), source="retrieved.json")
    assert [names(t) for t in from_retrieval] == [names(t) for t in from_batch]


def test_list_retrieved_traces_in_otel_format_reads_each_span_document() -> None:
    data = json.loads(MessageToJson(encode_spans(sdk_spans())))
    resource = data["resourceSpans"][0]["resource"]
    scope_spans = data["resourceSpans"][0]["scopeSpans"][0]
    documents = [
        {
            "Id": span["spanId"],
            "Document": json.dumps({**span, "resource": resource, "scope": scope_spans["scope"]}),
        }
        for span in scope_spans["spans"]
    ]
    (trace,) = load_traces(retrieved(documents), source="retrieved.json")
    assert names(trace) == [(0, "orders"), (1, "load")]


def test_a_retrieval_still_running_says_so() -> None:
    text = json.dumps({"RetrievalStatus": "RUNNING", "Traces": []})
    with pytest.raises(TraceNotFound, match="RUNNING"):
        load_traces(text, source="retrieved.json")


def test_each_format_is_detected_from_its_top_level_keys() -> None:
    assert detect(json.loads(PROTO_EXAMPLE.read_text())) == "otlp"
    assert detect({"Traces": [json.loads(LAMBDA_TRACE.read_text())]}) == "batch"
    assert detect({"RetrievalStatus": "COMPLETE", "Traces": []}) == "retrieved"
    assert detect({"traces": [{"trace_id": "1-x", "roots": []}]}) == "xrayctl"
    assert detect({"something": "else"}) is None


def test_a_named_format_that_does_not_fit_is_an_input_error() -> None:
    with pytest.raises(InputError):
        load_traces('{"something": "else"}', source="x.json")
    # Named as OTLP, a BatchGetTraces file is not OTLP, and says what it looks like.
    with pytest.raises(InputError) as caught:
        load_traces(json.dumps({"Traces": []}), source="x.json", fmt="otlp")
    assert caught.value.message == (
        "x.json is not OTLP/JSON (resourceSpans) (--format otlp): it looks like a BatchGetTraces response."
    )


def test_xrayctls_own_json_named_as_otlp_is_said_to_be_xrayctls_not_a_missing_trace() -> None:
    from xrayctl.render.schema import trace_to_dict
    from xrayctl.text.jsonwrite import dumps

    saved = dumps({"traces": [trace_to_dict(t) for t in load_traces(LAMBDA_TRACE.read_text(), source="x")]})
    with pytest.raises(InputError) as caught:
        load_traces(saved, source="saved.json", fmt="otlp")
    assert caught.value.exit_code == 1
    assert "it looks like xrayctl's --output json" in caught.value.message
    assert caught.value.fix == "Leave out --format to read it as xrayctl's --output json."
    # A name that fits the file still reads it: batch and xrayctl share one reader.
    (trace,) = load_traces(saved, source="saved.json", fmt="batch")
    assert trace.node_count == 5


def test_a_span_with_an_id_that_is_neither_hex_nor_base64_is_left_out_with_a_warning() -> None:
    data = json.loads(PROTO_EXAMPLE.read_text())
    spans = data["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append({**spans[0], "spanId": "not an id!", "name": "bad"})
    (trace,) = load_traces(json.dumps(data), source="trace.json")
    assert trace.node_count == 1
    assert any("not an OTLP span" in w for w in trace.warnings)
