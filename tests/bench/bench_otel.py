"""Figure 6: OpenTelemetry data, as fast as X-Ray SDK data.

- OTLP/HTTP ingestion into the local store: a `local serve`, protobuf ExportTraceServiceRequests of 512
  spans each (the OTel SDK's BatchSpanProcessor default), posted one after another on one keep-alive
  connection, as the upstream exporter does; spans stored per second, the store's commit included;
- `xrayctl show-trace --input FILE` of a 10,000-span OTLP/JSON file (one trace: a SERVER span, nested
  INTERNAL and CLIENT spans with annotations and AWS SDK attributes), wall time of the console script;
- cold `xrayctl --local invoke --sdk otel`: enter to the complete tree on screen, a fresh XRAYCTL_HOME each
  run (the stack, the runtime child's OpenTelemetry start-up as the ADOT layer does it, the invocation, the
  wait for the trace).

Run: .venv/bin/python tests/bench/bench_otel.py
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout

from benchlib import BENCH_DIR, XRAYCTL, Figure, Serve, clean_env, emit, say, seconds, wall

SCRATCH = BENCH_DIR / "otel"
BATCH = 512
BATCHES = 40  # 20,480 spans
FILE_SPANS = 10_000
RUNS = 3
TARGET_RATE = 20_000
TARGET_INPUT = 2.0
TARGET_COLD = 3.0


def otlp_spans(trace_number: int, count: int) -> list[dict[str, object]]:
    """`count` spans of one trace in OTLP/JSON: a SERVER root, then INTERNAL spans five to a parent, every
    other one with an AWS SDK CLIENT call below it."""
    trace_id = f"6b{trace_number:06x}" + "f14fec967f9786633c368d55"
    start = 1_797_000_000_000_000_000 + trace_number * 10_000_000_000

    def span(
        index: int, parent: int | None, kind: int, name: str, attributes: dict[str, object]
    ) -> dict[str, object]:
        value = [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attributes.items()
        ]
        entry: dict[str, object] = {
            "traceId": trace_id, "spanId": f"{index + 1:016x}", "name": name, "kind": kind,
            "startTimeUnixNano": str(start + index * 1000),
            "endTimeUnixNano": str(start + index * 1000 + 500_000), "attributes": value,
        }  # fmt: skip
        if parent is not None:
            entry["parentSpanId"] = f"{parent + 1:016x}"
        return entry

    spans = [span(0, None, 2, "GET /orders", {"http.method": "GET", "http.status_code": 200})]
    for index in range(1, count):
        if index % 2:
            spans.append(span(index, (index - 1) // 5, 1, f"step {index}", {"step": index}))
            spans[-1]["attributes"].append(
                {
                    "key": "aws.xray.annotations",
                    "value": {"arrayValue": {"values": [{"stringValue": "step"}]}},
                }
            )  # type: ignore[union-attr]
        else:
            attributes = {
                "rpc.system": "aws-api",
                "rpc.service": "S3",
                "rpc.method": "GetObject",
                "http.status_code": 200,
            }
            spans.append(span(index, index - 1, 3, "S3.GetObject", attributes))
    return spans


def request_json(spans: list[dict[str, object]]) -> dict[str, object]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "orders"}}]}
    return {
        "resourceSpans": [
            {"resource": resource, "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}
        ]
    }


def ingestion() -> None:
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    bodies = []
    for number in range(BATCHES):
        data = request_json(otlp_spans(number, BATCH))
        # OTLP/JSON ids are hex; ParseDict expects protobuf's base64: convert for the protobuf body.
        for span in data["resourceSpans"][0]["scopeSpans"][0]["spans"]:  # type: ignore[index]
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in span:
                    import base64

                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        bodies.append(ParseDict(data, ExportTraceServiceRequest()).SerializeToString())
    home = SCRATCH / "serve"
    shutil.rmtree(home, ignore_errors=True)
    with Serve(home) as serve:
        url = urlsplit(serve.env["AWS_ENDPOINT_URL_XRAY"])
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
        headers = {"Content-Type": "application/x-protobuf"}
        rejected = 0
        started = time.perf_counter()
        for body in bodies:
            connection.request("POST", "/v1/traces", body, headers)
            answer = connection.getresponse()
            payload = answer.read()
            if answer.status != 200 or payload:
                rejected += 1
        elapsed = time.perf_counter() - started
        connection.close()
    rate = BATCH * BATCHES / elapsed
    say(f"OTLP/HTTP: {rate:,.0f} spans/s")
    emit(
        Figure(
            f"OTLP/HTTP protobuf into local serve, batches of {BATCH} "
            f"({BATCH * BATCHES:,} spans, one client)",
            f"{rate:,.0f} spans/s" + (f" ({rejected} batches with rejections)" if rejected else ""),
            f">= {TARGET_RATE:,} spans/s",
            met=rate >= TARGET_RATE and not rejected,
        )
    )


def input_file() -> None:
    path = SCRATCH / f"otlp-{FILE_SPANS}.json"
    path.write_text(json.dumps(request_json(otlp_spans(1, FILE_SPANS))))
    argv = [XRAYCTL, "show-trace", "--input", str(path)]
    check = subprocess.run(
        [*argv, "--output", "json"], env=clean_env(), capture_output=True, text=True, check=False
    )
    drawn = check.returncode == 0 and json.loads(check.stdout)["traces"][0]["node_count"] >= FILE_SPANS
    median = statistics.median(wall(argv, clean_env()) for _ in range(RUNS))
    emit(
        Figure(
            f"xrayctl show-trace --input of a {FILE_SPANS:,}-span OTLP/JSON file, drawn (median of {RUNS})",
            seconds(median) + ("" if drawn else " (no tree)"),
            f"<= {TARGET_INPUT:g} s",
            met=drawn and median <= TARGET_INPUT,
        )
    )


def cold_invoke() -> None:
    times = []
    drawn = True
    for run in range(RUNS):
        home = SCRATCH / f"cold-{run}"
        started = time.perf_counter()
        completed = subprocess.run(
            [XRAYCTL, "--local", "invoke", "--sdk", "otel"],
            env=clean_env(home),
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - started)
        out = completed.stdout
        drawn = drawn and completed.returncode == 0 and "put_object" in out and "get_object" in out
        shutil.rmtree(home, ignore_errors=True)
    median = statistics.median(times)
    emit(
        Figure(
            f"cold xrayctl --local invoke --sdk otel: enter to the complete tree (median of {RUNS})",
            seconds(median) + ("" if drawn else " (no tree drawn)"),
            f"<= {TARGET_COLD:g} s",
            met=drawn and median <= TARGET_COLD,
        )
    )


def main() -> None:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    say("bench_otel")
    ingestion()
    input_file()
    cold_invoke()
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
