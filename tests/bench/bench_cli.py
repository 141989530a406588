"""Figure 1 of the performance issue: one trace on screen, against the AWS CLI and the SAM CLI.

One `xrayctl local serve`; the function is invoked through it a few times (`xrayctl --local invoke`), and
one of those traces, once it is over a minute old, is read by three commands that take turns, all pointed at
the same endpoint by the same environment (AWS_ENDPOINT_URL_XRAY and friends, no --local):

- `xrayctl show-trace ID` (as typed; a trace that ended over a minute ago is complete by xrayctl's rules, so
  it is read once; a younger one is polled until it has stopped changing, reported apart for information),
- `aws xray batch-get-traces --trace-ids ID` (the AWS CLI v1),
- `sam traces --trace-id ID` (reads the trace and its service graph once; no --tail, so it does not poll).

Medians of RUNS runs each, output discarded; one captured run of each first checks that it printed the
trace. For information, `show-trace --no-wait ID` takes its turn too: what reading and drawing cost without
the completeness check. Also: wall time of `xrayctl --help` and `xrayctl --version`, how many BatchGetTraces
calls show-trace makes for a trace that is already complete (one is enough), and, on stderr only, the
heaviest imports of `--help`.

Run: .venv/bin/python tests/bench/bench_cli.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from functools import partial

import peers
from benchlib import (
    BENCH_DIR,
    XRAYCTL,
    Figure,
    Serve,
    alternate,
    clean_env,
    emit,
    ratio,
    say,
    seconds,
    wall,
)

from xrayctl.aws.wait import ENDED_AGE
from xrayctl.cli import HELP_BUDGET

RUNS = 7
START_RUNS = 15  # --help / --version are cheap: more runs, a steadier median
TRACES = 3
TARGET_AWS = 0.5
TARGET_SAM = 0.3
TARGET_START = HELP_BUDGET


def main() -> None:
    aws, sam = str(peers.aws()), str(peers.sam())
    with Serve(BENCH_DIR / "cli" / "home") as serve:
        env = serve.client_env()
        trace_id = make_trace(env)
        ended = time.time()
        # While the trace ages: the start-up figures, and a trace that has just ended, for information.
        start_up()
        import_offenders()
        fresh(env)
        # show-trace takes a trace as complete at once when it ended over ENDED_AGE ago (X-Ray has had time to
        # ingest every segment); a younger one must first stay unchanged for the settle time, which the peers
        # do not check. The figure is the everyday case, a trace from a minute or more ago.
        wait = ENDED_AGE + 2 - (time.time() - ended)
        if wait > 0:
            say(f"waiting {wait:.0f} s for the trace to be over {ENDED_AGE:.0f} s old")
            time.sleep(wait)
        commands = {
            "xrayctl": [XRAYCTL, "show-trace", trace_id],
            "no-wait": [XRAYCTL, "show-trace", "--no-wait", trace_id],
            "aws": [aws, "xray", "batch-get-traces", "--trace-ids", trace_id],
            "sam": [sam, "traces", "--trace-id", trace_id],
        }
        envs = {"xrayctl": env, "no-wait": env, "aws": env, "sam": peers.sam_env(env)}
        printed = {name: shows_trace(name, argv, envs[name], trace_id) for name, argv in commands.items()}
        calls = batch_get_calls(env, trace_id)
        say(f"show-trace vs aws vs sam on {trace_id}: {RUNS} runs each, alternating")
        medians = alternate(
            {name: partial(wall, argv, envs[name]) for name, argv in commands.items()}, repeat=RUNS
        )
    mine = medians["xrayctl"]
    for peer, target, label in (
        ("aws", TARGET_AWS, "aws xray batch-get-traces"),
        ("sam", TARGET_SAM, "sam traces --trace-id"),
    ):
        ok = printed["xrayctl"] and printed[peer]
        emit(
            Figure(
                f"show-trace ID vs {label} (a trace from a minute ago, same endpoint, median of {RUNS})",
                seconds(mine) + ("" if printed["xrayctl"] else " (no tree printed)"),
                f"<= {TARGET_AWS if peer == 'aws' else TARGET_SAM:.2f}x",
                peer=seconds(medians[peer]) + ("" if printed[peer] else " (printed no trace)"),
                ratio=ratio(mine, medians[peer]),
                met=ok and mine <= target * medians[peer],
            )
        )
    emit(
        Figure(
            f"show-trace --no-wait ID (for information: no completeness check, median of {RUNS})",
            seconds(medians["no-wait"]) + ("" if printed["no-wait"] else " (no tree printed)"),
            "-",
            peer=seconds(medians["aws"]),
            ratio=ratio(medians["no-wait"], medians["aws"]),
        )
    )
    emit(
        Figure(
            "show-trace of a complete trace: BatchGetTraces calls",
            str(calls),
            "1 (no polling)",
            met=calls == 1,
        )
    )


def fresh(env: dict[str, str]) -> None:
    """show-trace of a trace that ended a moment ago: it polls until the trace has been quiet a while."""
    trace_id = make_trace(env, count=1, settle=False)
    elapsed = wall([XRAYCTL, "show-trace", trace_id], env)
    emit(
        Figure(
            "show-trace of a trace that ended a moment ago (for information: waits until it stops changing)",
            seconds(elapsed),
            "-",
        )
    )


def start_up() -> None:
    """`xrayctl --help` and `--version`: the cost of starting the CLI at all."""
    env = clean_env()
    say(f"xrayctl --help / --version: {START_RUNS} runs each, alternating")
    medians = alternate(
        {
            "--help": lambda: wall([XRAYCTL, "--help"], env),
            "--version": lambda: wall([XRAYCTL, "--version"], env),
        },
        repeat=START_RUNS,
        warmup=2,
    )
    for flag, value in medians.items():
        emit(
            Figure(
                f"xrayctl {flag} wall (median of {START_RUNS})",
                seconds(value),
                f"< {TARGET_START * 1000:.0f} ms",
                met=value < TARGET_START,
            )
        )


def import_offenders(top: int = 12) -> None:
    """The imports `--help` pays for, heaviest first (cumulative), on stderr for whoever cuts them."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", XRAYCTL, "--help"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            rows.append((int(match[2]), int(match[1]), len(match[3]) // 2, match[4]))
    total = sum(cumulative for cumulative, _, depth, _ in rows if depth == 0)
    say(
        f"python -X importtime xrayctl --help: {total / 1000:.0f} ms of imports; heaviest (cumulative, self):"
    )
    for cumulative, own, depth, name in sorted(rows, reverse=True)[:top]:
        say(f"  {cumulative / 1000:7.1f} ms {own / 1000:7.1f} ms  {'  ' * depth}{name}")


def make_trace(env: dict[str, str], *, count: int = TRACES, settle: bool = True) -> str:
    """Invoke the function through serve `count` times; the id of the first (cold) trace, once complete."""
    say(f"invoking the function {count} times through local serve")
    completed = subprocess.run(
        [XRAYCTL, "--local", "-o", "json", "invoke", "--no-show", "--count", str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    trace_id: str = json.loads(completed.stdout)["invocations"][0]["trace_id"]
    if not settle:
        return trace_id
    # --local reads the stack's store with the local settle time: back only when the trace is complete.
    subprocess.run(
        [XRAYCTL, "--local", "show-trace", trace_id], env=env, stdout=subprocess.DEVNULL, check=True
    )
    return trace_id


def shows_trace(name: str, argv: list[str], env: dict[str, str], trace_id: str) -> bool:
    """One captured run: did the command print the trace (a tree, for xrayctl)?"""
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    out = completed.stdout
    checks = {
        "xrayctl": f"Trace {trace_id}" in out and "└─" in out and "Invocation" in out,
        "no-wait": f"Trace {trace_id}" in out and "└─" in out and "Invocation" in out,
        "aws": trace_id in out and '"Segments"' in out,
        "sam": trace_id in out and "Invocation" in out,
    }
    ok = completed.returncode == 0 and checks[name]
    if not ok:
        say(f"{name} did not print the trace (exit {completed.returncode}):")
        say(out[-1500:] + completed.stderr[-1500:])
    return ok


def batch_get_calls(env: dict[str, str], trace_id: str) -> int:
    """BatchGetTraces calls of one `show-trace --debug` on a complete trace (--debug logs each call)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [XRAYCTL, "--debug", "show-trace", trace_id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    stamps = [
        line[:23] for line in completed.stderr.splitlines() if "OperationModel(name=BatchGetTraces)" in line
    ]
    say(f"show-trace --debug of the complete trace: {len(stamps)} BatchGetTraces calls in {seconds(elapsed)}")
    if len(stamps) > 1:
        say("  calls made at " + ", ".join(stamp[11:] for stamp in stamps))
    return len(stamps)


if __name__ == "__main__":
    main()
