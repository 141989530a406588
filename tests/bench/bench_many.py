"""Figure 3 of the performance issue: many traces, read as summaries over a day.

The store of a `xrayctl local serve` is filled through the X-Ray API (PutTraceSegments, batches of 50) with
10,000 traces spread at random over the last 24 hours, each shaped like the function's: an AWS::Lambda
segment and its AWS::Lambda::Function segment, whose `put_object` and `get_object` subsegments carry the
`put_response` and `get_response` annotations, plus a few other keys (tenant, cold_start, payload_bytes,
region) and some errors and faults.

- `xrayctl --local list-annotations` over that 24 h window: wall time of the console script, fresh process,
  median of 5 after a first run, whose time is printed too (target: under 3 s);
- with 100 ms added to every API call (`local serve --api-delay 0.1`): fetching the window as
  `list-annotations` does (XRayReader.iter_summaries with the default concurrency: time slices read
  concurrently) against one request at a time (the same reader with one worker: each 6 h slice's NextToken
  pages followed one after another), timed in this process through xrayctl's own client (its botocore
  session and settings), alternately, median of 3 (target: at least 4x faster). Process start, listing
  and drawing are the same for both, so the CLI's wall times for both are printed too, for reference;
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


def fetch(serve: Serve, start: int, end: int, workers: int, counts: set[int]) -> float:
    """Seconds to read every summary of the window through xrayctl's reader with `workers` calls at once."""
    from datetime import datetime, timezone

    from xrayctl.aws.clients import AwsOptions, Clients
    from xrayctl.aws.reader import XRayReader

    # The client list-annotations reads through: xrayctl's botocore session and settings.
    options = AwsOptions(
        region=serve.env["AWS_REGION"],
        endpoint_url=serve.env["AWS_ENDPOINT_URL_XRAY"],
        credentials=(serve.env["AWS_ACCESS_KEY_ID"], serve.env["AWS_SECRET_ACCESS_KEY"]),
        isolated=True,
    )
    reader = XRayReader(Clients(options).xray, max_workers=workers)
    window = (datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc))
    started = time.perf_counter()
    counts.add(sum(1 for _ in reader.iter_summaries(*window)))
    return time.perf_counter() - started


def main() -> None:
    from xrayctl.cli import tune_collector

    tune_collector()  # `fetch` reads in this process, as list-annotations reads in the console script's
    home = BENCH_DIR / "many"
    shutil.rmtree(home, ignore_errors=True)
    with Serve(home) as serve:
        start, end = populate(serve)
        argv = list_annotations(start, end)
        # The first read of a trace's summary folds its documents; later reads find it remembered (as the
        # service summarizes a trace once, when it ingests it).
        say(f"first run on a fresh store: {seconds(wall(argv, serve.client_env()))}")
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
        counts: set[int] = set()
        medians = alternate(
            {
                "concurrent": lambda: fetch(serve, start, end, DEFAULT_CONCURRENCY, counts),
                "sequential": lambda: fetch(serve, start, end, 1, counts),
            },
            repeat=3,
        )
        cli = alternate(
            {
                "concurrent": lambda: wall(argv, env),
                "sequential": lambda: wall(list_annotations(start, end, "--max-concurrency", "1"), env),
            },
            repeat=1,
            warmup=0,
        )
        peak_default = peak_in_flight(serve)
        say(
            f"the whole command (list-annotations, fresh process): {seconds(cli['concurrent'])} as it runs, "
            f"{seconds(cli['sequential'])} with --max-concurrency 1"
        )
        emit(
            Figure(
                figure=f"10,000 summaries at {DELAY * 1000:.0f} ms a call: slices vs one page at a time",
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
