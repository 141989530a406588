"""Figure 3 of the performance issue: many traces, read as summaries over a day.

The store of a `xrayctl local serve` is filled through the X-Ray API (PutTraceSegments, batches of 50) with
10,000 traces spread at random over the last 24 hours, each shaped like the function's: an AWS::Lambda
segment and its AWS::Lambda::Function segment, whose `put_object` and `get_object` subsegments carry the
`put_response` and `get_response` annotations, plus a few other keys (tenant, cold_start, payload_bytes,
region) and some errors and faults.

- `xrayctl --local list-annotations` over that 24 h window: wall time of the console script, fresh process,
  median of 5 (target: under 3 s);
- with 100 ms added to every API call (`local serve --api-delay 0.1`): the same command as it runs (time
  slices read concurrently) against the same command with `--max-concurrency 1` (one request at a time,
  each slice's NextToken pages followed one after another), run alternately (target: at least 4x faster).
  The time of a plain NextToken walk of the whole window in this process (boto3's paginator, no process
  start) is printed too, as a floor for any one-at-a-time client;
- the bound: the local API's `peak_in_flight` (from `/health`) after a run with `--max-concurrency 2`, and
  after the runs with the default (target: at most the setting, and the default at most 5).

Run: .venv/bin/python tests/bench/bench_many.py
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchlib import BENCH_DIR, XRAYCTL, Figure, Serve, alternate, emit, ratio, say, seconds, wall

TRACES = 10_000
WINDOW = 24 * 3600
BATCH = 50
DELAY = 0.1
RUNS = 5
DEFAULT_CONCURRENCY = 5  # what the README and --help promise
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")
REGIONS = ("eu-west-1", "us-east-1")


def trace_documents(rng: random.Random, start: float) -> list[dict[str, Any]]:
    """The two segments Lambda and the function's SDK send for one invocation starting at `start`."""
    trace_id = f"1-{int(start):08x}-{rng.getrandbits(96):024x}"
    lambda_id, function_id = f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}"
    fault = rng.random() < 0.03
    error = not fault and rng.random() < 0.05
    put_status = 500 if fault else 200
    get_status = 404 if error else 200
    duration = rng.uniform(0.05, 1.5)
    put_end = start + duration * 0.4
    cold = rng.random() < 0.1

    def call(name: str, begin: float, end: float, key: str, status: int) -> dict[str, Any]:
        return {
            "id": f"{rng.getrandbits(64):016x}",
            "name": name,
            "start_time": begin,
            "end_time": end,
            "annotations": {key: status},
            "fault": status >= 500,
            "error": 400 <= status < 500,
            "subsegments": [
                {
                    "id": f"{rng.getrandbits(64):016x}",
                    "name": "S3",
                    "namespace": "aws",
                    "start_time": begin + 0.001,
                    "end_time": end - 0.001,
                    "http": {"response": {"status": status}},
                    "aws": {"operation": "PutObject" if key == "put_response" else "GetObject"},
                    "fault": status >= 500,
                    "error": 400 <= status < 500,
                }
            ],
        }

    function = {
        "id": function_id,
        "trace_id": trace_id,
        "parent_id": lambda_id,
        "name": "xrayctl-demo",
        "origin": "AWS::Lambda::Function",
        "start_time": start + 0.002,
        "end_time": start + duration - 0.002,
        "annotations": {
            "tenant": rng.choice(TENANTS),
            "cold_start": cold,
            "payload_bytes": rng.choice((12, 512, 4096, 65536)),
            "region": rng.choice(REGIONS),
        },
        "fault": fault,
        "error": error,
        "subsegments": [
            call("put_object", start + 0.003, put_end, "put_response", put_status),
            *(
                []
                if fault
                else [call("get_object", put_end, start + duration - 0.003, "get_response", get_status)]
            ),
        ],
    }
    lambda_segment = {
        "id": lambda_id,
        "trace_id": trace_id,
        "name": "xrayctl-demo",
        "origin": "AWS::Lambda",
        "start_time": start,
        "end_time": start + duration,
        "http": {"response": {"status": 200}},
        "aws": {"request_id": f"{rng.getrandbits(128):032x}"},
        "fault": fault,
    }
    return [lambda_segment, function]


def populate(serve: Serve) -> tuple[int, int]:
    """Send the traces through PutTraceSegments; return the window (epoch seconds) that holds them all."""
    rng = random.Random(4)
    end = int(time.time())
    start = end - WINDOW
    documents = [
        json.dumps(document)
        for _ in range(TRACES)
        for document in trace_documents(rng, rng.uniform(start + 1, end - 5))
    ]
    batches = [documents[i : i + BATCH] for i in range(0, len(documents), BATCH)]
    client = serve.boto3_client("xray")
    started = time.perf_counter()

    def put(batch: list[str]) -> int:
        return len(client.put_trace_segments(TraceSegmentDocuments=batch)["UnprocessedTraceSegments"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        rejected = sum(pool.map(put, batches))
    say(
        f"stored {TRACES} traces ({len(documents)} documents, {rejected} rejected) in "
        f"{seconds(time.perf_counter() - started)}"
    )
    return start, end


def list_annotations(start: int, end: int, *args: str) -> list[str]:
    return [XRAYCTL, "--local", *args, "list-annotations", "--start", str(start), "--end", str(end)]


def listed(serve: Serve, argv: list[str]) -> int:
    """How many traces the command lists (its JSON output, read once to check nothing is lost)."""
    out = subprocess.run(
        [*argv, "-o", "json"], env=serve.client_env(), capture_output=True, text=True, check=True
    ).stdout
    return len(json.loads(out)["traces"])


def peak_in_flight(serve: Serve) -> int:
    with urllib.request.urlopen(f"{serve.env['AWS_ENDPOINT_URL_XRAY']}/health", timeout=10) as response:
        return int(json.loads(response.read())["peak_in_flight"])


def paginate(serve: Serve, start: int, end: int) -> tuple[float, int]:
    """A plain NextToken walk over the whole window, one request at a time, in this process."""
    client = serve.boto3_client("xray")
    started = time.perf_counter()
    count = 0
    for page in client.get_paginator("get_trace_summaries").paginate(StartTime=start, EndTime=end):
        count += len(page["TraceSummaries"])
    return time.perf_counter() - started, count


def main() -> None:
    home = BENCH_DIR / "many"
    shutil.rmtree(home, ignore_errors=True)
    with Serve(home) as serve:
        start, end = populate(serve)
        argv = list_annotations(start, end)
        count = listed(serve, argv)
        say(f"list-annotations lists {count} traces")
        times = [wall(argv, serve.client_env()) for _ in range(RUNS + 1)][1:]
        median = statistics.median(times)
        emit(
            Figure(
                figure="list-annotations, 10,000 traces in 24 h (local serve)",
                xrayctl=seconds(median),
                target="< 3 s",
                met=median < 3.0 and count == TRACES,
            )
        )

    # The same store, with latency added to every call.
    with Serve(home, "--api-delay", str(DELAY)) as serve:
        env = serve.client_env()
        two = list_annotations(start, end, "--max-concurrency", "2")
        wall(two, env)
        peak_two = peak_in_flight(serve)
        concurrent, one_at_a_time = argv, list_annotations(start, end, "--max-concurrency", "1")
        counts = {listed(serve, concurrent), listed(serve, one_at_a_time)}
        medians = alternate(
            {"concurrent": lambda: wall(concurrent, env), "sequential": lambda: wall(one_at_a_time, env)},
            repeat=3,
        )
        peak_default = peak_in_flight(serve)
        walk, walked = paginate(serve, start, end)
        say(f"in-process NextToken walk of the whole window: {seconds(walk)} for {walked} summaries")
        emit(
            Figure(
                figure=f"10,000 summaries, {DELAY * 1000:.0f} ms per call: time slices vs NextToken one at a time",
                xrayctl=seconds(medians["concurrent"]),
                peer=seconds(medians["sequential"]),
                ratio=ratio(medians["concurrent"], medians["sequential"]),
                target="<= 0.25x (4x faster)",
                met=medians["concurrent"] * 4 <= medians["sequential"] and counts == {TRACES},
            )
        )
        emit(
            Figure(
                figure="GetTraceSummaries calls in flight at once (server side)",
                xrayctl=f"{peak_default} (default), {peak_two} (--max-concurrency 2)",
                target=f"<= setting, default <= {DEFAULT_CONCURRENCY}",
                met=1 < peak_two <= 2 and 2 < peak_default <= DEFAULT_CONCURRENCY,
            )
        )


if __name__ == "__main__":
    main()
