"""Figure 2 of the performance issue: a big trace, built and drawn.

A generated trace of 10,000 nodes (segments of several services, nested and independent subsegments, AWS and
HTTP calls with the segments X-Ray infers for them, annotations, errors, faults and throttles with exceptions)
is saved as BatchGetTraces output, exactly as the local X-Ray returns it (stitched by
`xrayctl.local.xray.stitch`).

- build + draw in-process: `load_batch` of the file's text and the tree printed to a 160-column console with
  colour off, timed in a fresh child process (imports excluded, median of 5) so the bench's own heap does not
  slow the garbage collector;
- `xrayctl show-trace --input FILE`: wall time of the console script and its peak RSS (os.wait4's rusage of
  that one child);
- linear growth: the same for 20,000 nodes, as a ratio to 10,000;
- deep nesting: one segment with subsegments 5,000 levels deep, built and drawn in-process, and by
  `show-trace --input`, without raising the recursion limit.

Run: .venv/bin/python tests/bench/bench_bigtrace.py
"""

from __future__ import annotations

import gc
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: tests.support

from benchlib import BENCH_DIR, XRAYCTL, Figure, clean_env, emit, ratio, say, seconds

WIDTH = 160
RUNS = 5
DEEP_LEVELS = 5000


def batch_file(nodes: int) -> Path:
    """The BatchGetTraces output for a generated trace of `nodes` nodes (written once, then reused)."""
    from tests.support.docs import BIG_TRACE_ID, big_trace_documents
    from xrayctl.local.xray.stitch import dumps, stitch

    path = BENCH_DIR / "bigtrace" / f"trace-{nodes}.json"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    segments = stitch(BIG_TRACE_ID, big_trace_documents(nodes))
    trace = {
        "Id": BIG_TRACE_ID,
        "Duration": 10.0,
        "LimitExceeded": False,
        "Segments": [{"Id": segment["id"], "Document": dumps(segment)} for segment in segments],
    }
    path.write_text(json.dumps({"Traces": [trace], "UnprocessedTraceIds": []}))
    return path


def deep_file() -> Path:
    from tests.support.docs import TRACE_ID, deep_document

    path = BENCH_DIR / "bigtrace" / f"deep-{DEEP_LEVELS}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        segment = {"Id": "0000000000000001", "Document": deep_document(DEEP_LEVELS)}
        path.write_text(json.dumps({"Traces": [{"Id": TRACE_ID, "Segments": [segment]}]}))
    return path


def draw(path: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds to build the file's traces and print them as `show-trace` does (colour off, WIDTH
    columns)."""
    from rich.console import Console

    from xrayctl.render.tree import traces_view
    from xrayctl.trace.build import load_batch

    out = io.StringIO()
    console = Console(file=out, width=WIDTH, color_system=None, highlight=False, soft_wrap=False)
    text = path.read_text()
    gc.collect()  # the last run's tree (parents and children: a cycle) goes now; a new process has none
    started, cpu = time.perf_counter(), time.process_time()
    traces = load_batch(text, source=str(path))
    console.print(traces_view(traces, with_warnings=False))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    facts = {
        "nodes": sum(trace.node_count for trace in traces),
        "depth": max(trace.max_depth for trace in traces),
        "lines": out.getvalue().count("\n"),
        "warnings": sum(len(trace.warnings) for trace in traces),
    }
    return elapsed, cpu, facts


def measure_in_child(path: Path, runs: int) -> dict[str, Any]:
    """`draw` in a fresh interpreter (this script with --draw), `runs` times after a warm-up: the median."""
    completed = subprocess.run(
        [sys.executable, __file__, "--draw", str(path), str(runs)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def child_main(path: Path, runs: int) -> None:
    from xrayctl.cli import tune_collector

    tune_collector()  # as the console script's process has it: the library leaves the collector alone
    limit = sys.getrecursionlimit()
    try:
        draw(path)  # warm-up: imports, rich's caches
        times, cpus = [], []
        for _ in range(runs):
            elapsed, cpu, facts = draw(path)
            times.append(elapsed)
            cpus.append(cpu)
        result: dict[str, Any] = {
            "seconds": statistics.median(times),
            "cpu": statistics.median(cpus),
            **facts,
        }
    except RecursionError as error:
        result = {"error": f"RecursionError: {error}"}
    result["recursion_limit_unchanged"] = sys.getrecursionlimit() == limit
    print(json.dumps(result))


def show_trace(path: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds, peak RSS in bytes and exit code of `xrayctl show-trace --input path`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [XRAYCTL, "show-trace", "--input", str(path)],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, process.returncode


def cli_median(path: Path, runs: int) -> tuple[float, float, int, int]:
    """Median wall and CPU seconds, the largest peak RSS and exit code of `runs` show-trace runs."""
    show_trace(path)  # warm-up: the page cache, .pyc files
    results = [show_trace(path) for _ in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        max(r[2] for r in results),
        max(r[3] for r in results),
    )


def main() -> None:
    say("bench_bigtrace: generating traces of 10,000 and 20,000 nodes")
    small, large, deep = batch_file(10_000), batch_file(20_000), deep_file()

    say("building and drawing in-process (fresh interpreter, median of 5)")
    ten = measure_in_child(small, RUNS)
    twenty = measure_in_child(large, RUNS)
    say(f"  10,000: {ten}")
    say(f"  20,000: {twenty}")
    if "seconds" in ten:
        emit(
            Figure(
                f"build + draw {ten['nodes']:,} nodes in-process (text, no colour, width {WIDTH})",
                f"{seconds(ten['seconds'])} (CPU {seconds(ten['cpu'])})",
                "< 1 s",
                met=ten["seconds"] < 1.0,
            )
        )
    else:
        emit(Figure("build + draw 10,000 nodes in-process", ten["error"], "< 1 s", met=False))

    say("xrayctl show-trace --input (median of 5; peak RSS the largest)")
    cli_ten, cli_cpu, rss, code = cli_median(small, RUNS)
    emit(
        Figure(
            "show-trace --input, 10,000-node trace: wall",
            f"{seconds(cli_ten)} (CPU {seconds(cli_cpu)})" + ("" if code == 0 else f" (exit {code})"),
            "< 2 s",
            met=code == 0 and cli_ten < 2.0,
        )
    )
    emit(
        Figure(
            "show-trace --input, 10,000-node trace: peak RSS",
            f"{rss / 1e6:.0f} MB",
            "< 200 MB",
            met=code == 0 and rss < 200e6,
        )
    )

    if "seconds" in ten and "seconds" in twenty:
        growth = twenty["seconds"] / ten["seconds"]
        both = f"{seconds(twenty['seconds'])} / {seconds(ten['seconds'])}"
        cpu_growth = f"CPU {ratio(twenty['cpu'], ten['cpu'])}"
        emit(
            Figure(
                "20,000 / 10,000 nodes, build + draw in-process",
                f"{both} = {ratio(twenty['seconds'], ten['seconds'])} ({cpu_growth})",
                "<= 2.3x",
                met=growth <= 2.3,
            )
        )
    cli_twenty, _, _, code20 = cli_median(large, 3)
    emit(
        Figure(
            "20,000 / 10,000 nodes, show-trace --input wall (start-up included: for information)",
            f"{seconds(cli_twenty)} / {seconds(cli_ten)} = {ratio(cli_twenty, cli_ten)}"
            + ("" if code20 == 0 else f" (exit {code20})"),
            "-",
        )
    )

    say(f"deep nesting: {DEEP_LEVELS:,} levels")
    deep_result = measure_in_child(deep, 1)
    deep_cli, _, _, deep_code = show_trace(deep)
    ok = (
        "seconds" in deep_result
        and deep_result["recursion_limit_unchanged"]
        and deep_result["depth"] == DEEP_LEVELS - 1
        and deep_code == 0
    )
    shown = (
        f"ok: depth {deep_result['depth']:,}, {seconds(deep_result['seconds'])} in-process, "
        f"{seconds(deep_cli)} show-trace, recursion limit {sys.getrecursionlimit()} unchanged"
        if ok
        else f"failed: {deep_result.get('error') or deep_result}, show-trace exit {deep_code}"
    )
    emit(Figure(f"{DEEP_LEVELS:,}-level nesting builds and draws", shown, "ok, limit unchanged", met=ok))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--draw":
        child_main(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
