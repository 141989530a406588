"""OpenTelemetry on the local stack, end to end: the OTel twin and a user's handler run as Lambda runs them
with the ADOT layer, OTLP/HTTP into a running serve, and the two SDKs side by side."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from tests.support.serve import Serve, run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xrayctl-otel-home")


@pytest.fixture(scope="module")
def serve(home: Path) -> Iterator[Serve]:
    server = Serve(home, "--sdk", "otel")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def invoked(serve: Serve) -> dict[str, Any]:
    result = run(serve.home, "--local", "invoke", "--sdk", "otel", "--output", "json", "--key", "otel.txt")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shape(node: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    """(depth, name, origin) of every node, depth first."""
    rows: list[tuple[int, str, str | None]] = []
    stack = [(node, 0)]
    while stack:
        item, depth = stack.pop()
        rows.append((depth, item["name"], item["origin"]))
        stack.extend((child, depth + 1) for child in reversed(item["children"]))
    return rows


def find(node: dict[str, Any], name: str) -> dict[str, Any]:
    stack = [node]
    while stack:
        item = stack.pop()
        if item["name"] == name:
            return item
        stack.extend(item["children"])
    raise AssertionError(f"no node {name}")


def test_the_otel_twin_draws_one_tree_under_the_lambda_service_segment(invoked: dict[str, Any]) -> None:
    (invocation,) = invoked["invocations"]
    assert json.loads(invocation["payload"])["ok"] is True
    (trace,) = invoked["traces"]
    (root,) = trace["roots"]
    assert (root["name"], root["origin"]) == ("xrayctl-demo-otel", "AWS::Lambda")
    invocation_node = find(root, "Invocation")
    (function_span,) = invocation_node["children"]
    assert function_span["kind"] == "segment" and function_span["extra"]["otel"]["kind"] == "SERVER"
    put, get = function_span["children"]
    assert (put["name"], put["annotations"]) == ("put_object", {"put_response": 200})
    assert (get["name"], get["annotations"]) == ("get_object", {"get_response": 200})
    for span, operation in ((put, "PutObject"), (get, "GetObject")):
        (s3_call,) = span["children"]
        assert (s3_call["name"], s3_call["namespace"], s3_call["aws"]["operation"]) == (
            "S3",
            "aws",
            operation,
        )
        assert [child["origin"] for child in s3_call["children"]] == ["AWS::S3::Bucket"]
    assert trace["warnings"] == []


def test_the_twins_annotations_are_listed_and_filtered_on(serve: Serve, invoked: dict[str, Any]) -> None:
    trace_id = invoked["traces"][0]["trace_id"]
    listed = run(serve.home, "--local", "list-annotations", "--since", "15m", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["trace_id"]: row for row in json.loads(listed.stdout)["traces"]}
    assert rows[trace_id]["annotations"] == {"get_response": [200], "put_response": [200]}
    filtered = run(
        serve.home, "--local", "list-annotations", "--since", "15m", "--output", "json",
        "--filter", "annotation.put_response = 200",
    )  # fmt: skip
    assert trace_id in {row["trace_id"] for row in json.loads(filtered.stdout)["traces"]}
    none = run(
        serve.home, "--local", "list-annotations", "--since", "15m", "--output", "json",
        "--filter", "annotation.put_response = 500",
    )  # fmt: skip
    assert trace_id not in {row["trace_id"] for row in json.loads(none.stdout)["traces"]}


def test_an_otlp_http_post_to_local_serve_draws_as_a_tree(serve: Serve) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    endpoint = serve.env["AWS_ENDPOINT_URL_XRAY"] + "/v1/traces"
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    tracer = provider.get_tracer("tests")
    charge = {"kind": SpanKind.CLIENT, "attributes": {"peer.service": "payments"}}
    with (
        tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root,
        tracer.start_as_current_span("charge", **charge),  # type: ignore[arg-type]
    ):
        pass
    provider.shutdown()
    w3c = format(root.get_span_context().trace_id, "032x")
    shown = run(serve.home, "--local", "show-trace", w3c, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    (trace,) = json.loads(shown.stdout)["traces"]
    (tree,) = trace["roots"]
    # The CLIENT span is a remote call: X-Ray (and the local store) infers the remote service below it.
    assert shape(tree) == [(0, "checkout", None), (1, "payments", None), (2, "payments", "remote")]


def test_a_serve_is_reused_only_by_a_command_asking_for_its_sdk(
    serve: Serve, invoked: dict[str, Any]
) -> None:
    same = run(serve.home, "--local", "invoke", "--no-show")
    assert same.returncode == 0 and "another function" not in same.stderr
    other = run(serve.home, "--local", "invoke", "--sdk", "xray", "--no-show")
    assert other.returncode == 0 and "runs another function" in other.stderr


def test_a_users_handler_runs_under_the_same_auto_instrumentation(tmp_path: Path) -> None:
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(
        textwrap.dedent(
            """
            from opentelemetry import trace

            tracer = trace.get_tracer("app")

            def handler(event, context):
                with tracer.start_as_current_span("work") as span:
                    span.set_attribute("items", 3)
                    span.set_attribute("aws.xray.annotations", ["items"])
                return {"done": True}
            """
        )
    )
    result = run(
        tmp_path / "home", "--local", "invoke", "--sdk", "otel", "--code", str(code),
        "--handler", "app.handler", "--output", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (trace,) = json.loads(result.stdout)["traces"]
    (function_span,) = find(trace["roots"][0], "Invocation")["children"]
    (work,) = function_span["children"]
    assert (work["name"], work["annotations"]) == ("work", {"items": 3})


def test_both_sdks_are_invoked_with_the_same_event_and_drawn_on_one_scale(tmp_path: Path) -> None:
    result = run(tmp_path / "home", "--local", "invoke", "--sdk", "both", "--output", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [i["function_name"] for i in data["invocations"]] == ["xrayctl-demo", "xrayctl-demo-otel"]
    payloads = [json.loads(i["payload"]) for i in data["invocations"]]
    assert payloads[0] == payloads[1] and payloads[0]["ok"] is True
    roots = [trace["roots"][0] for trace in data["traces"]]
    for root in roots:
        put = find(root, "put_object")
        assert put["annotations"] == {"put_response": 200}
        # The X-Ray SDK names the call by botocore's endpoint prefix (s3), OpenTelemetry by the service (S3).
        assert [child["name"].lower() for child in put["children"]] == ["s3"]


def test_both_sdks_at_80_columns_name_each_table_and_comparison_and_keep_the_ids_whole(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path / "home", "--local", "invoke", "--sdk", "both", "--count", "2", env={"COLUMNS": "80"}
    )
    assert result.returncode == 0, result.stderr
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    trace_ids = [line.split()[1] for line in lines if line.startswith("  trace ")]
    assert len(trace_ids) == 4
    for name in ("xrayctl-demo", "xrayctl-demo-otel"):
        title = lines.index(name)  # the function's own table, under its name
        assert lines[title + 1].split()[0] == "#"
        for row in lines[title + 2 : title + 4]:
            assert row.split()[-1] in trace_ids  # whole: what a user copies into show-trace
        assert f"Compare 2 traces of {name}" in result.stdout
    assert max(len(line) for line in lines) <= 80
