"""Figure 6: a hundred thousand traces. What reading one trace's summary, a thousand of them, and a table of
every trace costs when the store holds 100,000 traces in 50 minutes (33 a second).

The store is the one `xrayctl local serve` reads, written before it starts straight through `TraceStore`
(batches of 5,000 documents, no HTTP): the documents bench_many sends through PutTraceSegments, each trace an
AWS::Lambda segment and the function's, six annotation keys, some errors and faults.

- The summary of a trace found by its id (what `show-trace` and `invoke` read for the header): the
  GetTraceSummaries calls one id costs and the wall time of `XRayReader.get_summaries`, in this process
  through xrayctl's client, for 20 ids at random one at a time (most calls, median time), then for 1,000 ids
  at random at once (calls per id, and per second of the ids: each second's ids are looked up together;
  target at most 2 calls a second). Before: one id paged through 20 minutes of summaries, 65 calls.
- `xrayctl --local list-annotations` over the 50 minutes, text to /dev/null: wall time of the console script
  (median of 3 after a first run, whose time is printed: the store summarizes each trace at its first read,
  as X-Ray does once as it ingests it) and its peak RSS (os.wait4's rusage, the largest of the runs;
  `--output json`'s is printed too). Targets: 10 s, 300 MB. Before: 24 s and 690 MB.

Run: .venv/bin/python tests/bench/bench_scale.py
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_many import trace_documents
from benchlib import BENCH_DIR, XRAYCTL, Figure, Serve, emit, say, seconds

TRACES = 100_000
WINDOW = 50 * 60
BATCH = 5_000  # documents a write
ONE_BY_ONE = 20
MANY = 1_000
RUNS = 3


def build_store(home: Path) -> tuple[int, int, list[str]]:
    """Write the traces into the store `local serve` will read, in a process of its own; return the window
    and the trace ids. Not in this one: a command's peak RSS counts what it shares with this process when it
    is forked, and writing 200,000 documents leaves this one's heap large."""
    done = subprocess.run(
        [sys.executable, __file__, "--build", str(home)], stdout=subprocess.PIPE, check=True, text=True
    )
    built = json.loads(done.stdout)
    return built["start"], built["end"], built["ids"]


def write_store(home: Path) -> dict[str, Any]:
    """Write the traces into the store at `home`; the window and the trace ids."""
    from xrayctl.local.stack import STORE_FILE
    from xrayctl.local.xray.store import TraceStore

    rng = random.Random(6)
    end = int(time.time()) - 60
    start = end - WINDOW
    store = TraceStore(home / STORE_FILE)
    ids: list[str] = []
    pending: list[str] = []
    rejected = 0
    started = time.perf_counter()
    try:
        for _ in range(TRACES):
            documents = trace_documents(rng, rng.uniform(start + 1, end - 5))
            ids.append(documents[0]["trace_id"])
            pending += [json.dumps(document) for document in documents]
            if len(pending) >= BATCH:
                rejected += len(store.put_documents(pending))
                pending = []
        rejected += len(store.put_documents(pending))
    finally:
        store.close()
    took = seconds(time.perf_counter() - started)
    say(f"stored {TRACES:,} traces ({rejected} documents rejected) in {took}")
    return {"start": start, "end": end, "ids": ids}


def reader(serve: Serve) -> tuple[Any, list[dict[str, Any]]]:
    """xrayctl's reader of the serve's X-Ray, and the GetTraceSummaries requests it makes."""
    from xrayctl.aws.clients import AwsOptions, Clients
    from xrayctl.aws.reader import XRayReader

    options = AwsOptions(
        region=serve.env["AWS_REGION"],
        endpoint_url=serve.env["AWS_ENDPOINT_URL_XRAY"],
        credentials=(serve.env["AWS_ACCESS_KEY_ID"], serve.env["AWS_SECRET_ACCESS_KEY"]),
        isolated=True,
    )
    client = Clients(options).xray
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-call.xray.GetTraceSummaries", lambda params, **_: calls.append(params)
    )
    return XRayReader(client), calls


def summaries_by_id(serve: Serve, ids: list[str]) -> None:
    rng = random.Random(9)
    xray, calls = reader(serve)
    xray.get_summaries(rng.sample(ids, 5))  # warm-up: the connection, and the summaries of those seconds

    counts, times = [], []
    for trace_id in rng.sample(ids, ONE_BY_ONE):
        calls.clear()
        started = time.perf_counter()
        found = xray.get_summaries([trace_id])
        times.append(time.perf_counter() - started)
        counts.append(len(calls) if trace_id in found else -1)
    say(f"one id at a time: calls {counts}")
    most = max(counts)
    emit(
        Figure(
            figure=f"summary of 1 trace among {TRACES:,} in {WINDOW // 60} min: GetTraceSummaries calls, "
            f"wall (most of {ONE_BY_ONE} ids, median)",
            xrayctl=f"{most} call{'s' if most != 1 else ''}, {seconds(statistics.median(times))}",
            target="<= 2 calls",
            met=min(counts) > 0 and most <= 2,
        )
    )

    many = rng.sample(ids, MANY)
    seconds_asked = len({trace_id[2:10] for trace_id in many})
    calls.clear()
    started = time.perf_counter()
    found = xray.get_summaries(many)
    elapsed = time.perf_counter() - started
    emit(
        Figure(
            figure=f"summaries of {MANY:,} traces at random among {TRACES:,}: calls per id, wall "
            f"({seconds_asked} seconds asked)",
            xrayctl=f"{len(calls) / MANY:.2f} ({len(calls)} calls, "
            f"{len(calls) / seconds_asked:.2f} a second), {seconds(elapsed)}",
            target="<= 2 calls a second",
            met=len(found) == MANY and len(calls) <= 2 * seconds_asked,
        )
    )


def list_annotations(serve: Serve, start: int, end: int, *args: str) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in bytes and exit code of one `xrayctl list-annotations` over the window."""
    argv = [XRAYCTL, "list-annotations", "--start", str(start), "--end", str(end + 1), *args]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=serve.client_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if process.returncode != 0:
        say(f"{' '.join(argv)} exited {process.returncode}: {stderr.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024, process.returncode


def listed(serve: Serve, start: int, end: int) -> int:
    """How many traces the command lists (its JSON output, read once to check nothing is lost)."""
    argv = [XRAYCTL, "-o", "json", "list-annotations", "--start", str(start), "--end", str(end + 1)]
    out = subprocess.run(argv, env=serve.client_env(), capture_output=True, text=True, check=True).stdout
    return len(json.loads(out)["traces"])


def whole_window(serve: Serve, start: int, end: int) -> None:
    """list-annotations' wall time and peak RSS. Measured before this process reads anything big: a child
    started with vfork (as subprocess does) reports this process's peak RSS as its own if it is larger."""
    first, _, _ = list_annotations(serve, start, end)
    say(f"first run (the store summarizes each trace once): {seconds(first)}")
    runs = [list_annotations(serve, start, end) for _ in range(RUNS)]
    wall = statistics.median(run[0] for run in runs)
    rss = max(run[1] for run in runs)
    json_wall, json_rss, json_code = list_annotations(serve, start, end, "--output", "json")
    say(f"--output json: {seconds(json_wall)}, peak RSS {rss_mb(json_rss)} (exit {json_code})")
    count = listed(serve, start, end)
    say(f"list-annotations lists {count:,} traces")
    ok = all(run[2] == 0 for run in runs) and count == TRACES
    emit(
        Figure(
            figure=f"list-annotations, {TRACES:,} traces in {WINDOW // 60} min (local serve): wall",
            xrayctl=seconds(wall),
            target="<= 10 s",
            met=ok and wall <= 10.0,
        )
    )
    emit(
        Figure(
            figure=f"list-annotations, {TRACES:,} traces: peak RSS (text; --output json)",
            xrayctl=f"{rss_mb(rss)}; {rss_mb(json_rss)}",
            target="<= 300 MB",
            met=ok and json_code == 0 and max(rss, json_rss) <= 300e6,
        )
    )


def rss_mb(value: int) -> str:
    return f"{value / 1e6:.0f} MB"


def main() -> None:
    from xrayctl.cli import tune_collector

    tune_collector()  # the reader runs in this process, as it does in the console script's
    home = BENCH_DIR / "scale"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    start, end, ids = build_store(home)
    with Serve(home) as serve:
        whole_window(serve, start, end)
        summaries_by_id(serve, ids)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        print(json.dumps(write_store(Path(sys.argv[2]))))
    else:
        main()
