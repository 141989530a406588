"""Figure 4 of the performance issue: local invocations.

- Cold: `xrayctl --local invoke --no-show` with a fresh XRAYCTL_HOME and no `local serve`, so the command
  starts the whole stack (X-Ray API, daemon, moto's S3, the Lambda sandbox) and the function's first init;
  wall time of the process, median of COLD_RUNS.
- Cold, to the tree: the same without --no-show, i.e. from pressing enter until the complete trace is drawn
  (the command waits for every document, then draws); runs alternate with the above. One captured run first
  checks that it drew the tree.
- Warm overhead through `local serve`: what an invocation costs the caller beyond the handler's own time.
  Measured two ways, both after one (cold) invocation has warmed the sandbox:
  1. in this process, `xrayctl.aws.invoke.invoke` (the code `xrayctl invoke` runs: boto3 Invoke with our trace
     header, LogType=Tail, the payload read) timed with perf_counter around the call, minus the REPORT line's
     Duration (the time from the runtime receiving the event to its posting the result, as Lambda reports
     it); median over WARM_INVOKES invocations;
  2. `xrayctl --local invoke --count 21 --no-show` (text, unbuffered): each invocation's `Invoked ...` line
     is timed as it reaches the pipe; the gap between two such lines, minus the later invocation's REPORT
     Duration (printed in its log tail), is the overhead as seen through the CLI, printing included and
     start-up (the first gap) excluded; median of the 20 gaps.

Run: .venv/bin/python tests/bench/bench_invoke.py
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchlib import BENCH_DIR, XRAYCTL, Figure, Serve, alternate, clean_env, emit, say, seconds, wall

COLD_RUNS = 5
WARM_INVOKES = 40
COUNT = 20
TARGET_COLD = 2.5
TARGET_TREE = 3.0
TARGET_OVERHEAD = 0.030
_DURATION = re.compile(r"REPORT RequestId: \S+\s+Duration: ([\d.]+) ms")
SCRATCH = BENCH_DIR / "invoke"


def main() -> None:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    cold()
    with Serve(SCRATCH / "serve-home") as serve:
        warm_in_process(serve)
        warm_through_cli(serve)
    shutil.rmtree(SCRATCH, ignore_errors=True)


def cold() -> None:
    homes = iter(range(1000))

    def fresh(*args: str) -> float:
        home = SCRATCH / f"cold-{next(homes)}"
        try:
            return wall([XRAYCTL, "--local", "invoke", *args], clean_env(home))
        finally:
            shutil.rmtree(home, ignore_errors=True)

    drew = draws_tree(SCRATCH / "cold-check")
    say(f"cold invokes, a fresh XRAYCTL_HOME each: {COLD_RUNS} runs each of --no-show and drawing, in turn")
    medians = alternate({"no-show": lambda: fresh("--no-show"), "tree": lambda: fresh()}, repeat=COLD_RUNS)
    emit(
        Figure(
            f"cold xrayctl --local invoke --no-show, no serve (median of {COLD_RUNS})",
            seconds(medians["no-show"]),
            f"< {TARGET_COLD} s",
            met=medians["no-show"] < TARGET_COLD,
        )
    )
    emit(
        Figure(
            f"cold xrayctl --local invoke: enter to the complete tree on screen (median of {COLD_RUNS})",
            seconds(medians["tree"]) + ("" if drew else " (no tree drawn)"),
            f"< {TARGET_TREE} s",
            met=drew and medians["tree"] < TARGET_TREE,
        )
    )


def draws_tree(home: Path) -> bool:
    completed = subprocess.run(
        [XRAYCTL, "--local", "invoke"], env=clean_env(home), capture_output=True, text=True, check=False
    )
    shutil.rmtree(home, ignore_errors=True)
    out = completed.stdout
    ok = completed.returncode == 0 and "Trace 1-" in out and "Initialization" in out and "└─" in out
    if not ok:
        say(f"cold invoke drew no tree (exit {completed.returncode}):")
        say(out[-1500:] + completed.stderr[-1500:])
    return ok


def warm_in_process(serve: Serve) -> None:
    from xrayctl.aws import invoke

    client = serve.boto3_client("lambda")
    name = _function_name(serve)
    payload = invoke.encode_event(invoke.build_event(None, "hello.txt", "Hello from xrayctl"))
    invoke.invoke(client, name, payload)  # the cold start, and boto3's connection, out of the way
    say(f"warm invokes through local serve, in-process: {WARM_INVOKES} calls")
    walls, handler = [], []
    for _ in range(WARM_INVOKES):
        started = time.perf_counter()
        result = invoke.invoke(client, name, payload)
        walls.append(time.perf_counter() - started)
        handler.append(_handler_seconds(result.log_tail or ""))
    overheads = [elapsed - duration for elapsed, duration in zip(walls, handler, strict=True)]
    overhead = statistics.median(overheads)
    say(
        f"  caller wall median {seconds(statistics.median(walls))}, "
        f"handler (REPORT Duration) median {seconds(statistics.median(handler))}, "
        f"overhead p10 {seconds(_quantile(overheads, 0.1))} / median {seconds(overhead)} / "
        f"p90 {seconds(_quantile(overheads, 0.9))}"
    )
    emit(
        Figure(
            f"warm invoke through local serve: caller's wall - REPORT Duration (boto3 in-process, "
            f"median of {WARM_INVOKES})",
            seconds(overhead),
            f"<= {TARGET_OVERHEAD * 1000:.0f} ms",
            met=overhead <= TARGET_OVERHEAD,
        )
    )


def warm_through_cli(serve: Serve) -> None:
    """`xrayctl invoke --count`: the gap between two invocations' headers as they reach the pipe is one
    invocation as the CLI sees it (and prints it), from which its REPORT Duration is taken."""
    argv = [XRAYCTL, "--local", "invoke", "--no-show", "--count", str(COUNT + 1)]
    say(f"xrayctl --local invoke --no-show --count {COUNT + 1} through local serve, lines timed as they come")
    process = subprocess.Popen(
        argv, env=serve.client_env(PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert process.stdout is not None
    arrivals: list[float] = []
    durations: list[float] = []
    for line in process.stdout:
        now = time.perf_counter()
        if line.startswith("Invoked "):
            arrivals.append(now)
        match = _DURATION.search(line)
        if match:
            durations.append(float(match[1]) / 1000)
    code = process.wait()
    if code != 0 or len(arrivals) != COUNT + 1 or len(durations) != COUNT + 1:
        say(
            f"  {' '.join(argv[1:])} exited {code} with {len(arrivals)} invocations, {len(durations)} REPORTs"
        )
        emit(Figure(f"warm invoke, xrayctl invoke --count {COUNT}", "not measured", "", met=False))
        return
    # The first gap would be start-up; each later one is invoke + print of the invocation it ends with.
    overheads = [
        later - earlier - duration
        for earlier, later, duration in zip(arrivals[:-1], arrivals[1:], durations[1:], strict=True)
    ]
    overhead = statistics.median(overheads)
    say(
        f"  handler (REPORT Duration) median {seconds(statistics.median(durations[1:]))}, "
        f"overhead p10 {seconds(_quantile(overheads, 0.1))} / median {seconds(overhead)} / "
        f"p90 {seconds(_quantile(overheads, 0.9))}"
    )
    emit(
        Figure(
            f"warm invoke through local serve, xrayctl invoke --count {COUNT}: gap between invocations "
            f"- REPORT Duration (median of {COUNT})",
            seconds(overhead),
            f"<= {TARGET_OVERHEAD * 1000:.0f} ms",
            met=overhead <= TARGET_OVERHEAD,
        )
    )


def _function_name(serve: Serve) -> str:
    completed = subprocess.run(
        [XRAYCTL, "--local", "-o", "json", "invoke", "--no-show"],
        env=serve.client_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    name: str = json.loads(completed.stdout)["invocations"][0]["function_name"]
    return name


def _handler_seconds(log_tail: str) -> float:
    match = _DURATION.search(log_tail)
    if match is None:
        raise RuntimeError(f"no REPORT Duration in the log tail: {log_tail[-500:]!r}")
    return float(match[1]) / 1000


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    main()
