"""Figure 7: a trace through Transaction Search, against the AWS CLI run by hand.

One `xrayctl local serve --transaction-search` with 0 % indexing, so that BatchGetTraces finds nothing and no
trace has a summary, as in an account with Transaction Search on; the function is invoked through it, and once
its traces are over a minute old (complete by xrayctl's rules, so read once), two ways to the same trace take
turns, pointed at the same endpoint by the same environment:

- `xrayctl show-trace ID` as typed (BatchGetTraces finds nothing; the destination says CloudWatchLogs; one
  trace retrieval, its status polled, its pages read; the tree drawn),
- the AWS CLI as a user runs it by hand: `aws xray start-trace-retrieval --trace-ids ID --start-time ...
  --end-time ...`, then `aws xray list-retrieved-traces --retrieval-token ...` again at once until it says
  COMPLETE (no pause between the commands: the fastest a script can do it, and it prints JSON, not a tree).

Medians of RUNS runs each, output discarded; a captured run of each first checks that it printed the trace.
Also: the calls one `show-trace --debug` makes (each AWS call is logged), for one trace and for five (one
retrieval holds up to 100 ids: the calls must not grow with the ids), and, for information, show-trace of a
trace that ended a moment ago (its retrievals repeat until it has stopped changing).

Run: .venv/bin/python tests/bench/bench_search.py
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from functools import partial

import peers
from benchlib import BENCH_DIR, XRAYCTL, Figure, Serve, alternate, emit, ratio, say, seconds, wall

from xrayctl.aws.wait import ENDED_AGE

RUNS = 7
TRACES = 5
RETRIEVAL_CALLS = ("StartTraceRetrieval", "ListRetrievedTraces", "CancelTraceRetrieval")


def main() -> None:
    aws = str(peers.aws())
    with Serve(BENCH_DIR / "search" / "home", "--transaction-search") as serve:
        serve.boto3_client("xray").update_indexing_rule(
            Name="Default", Rule={"Probabilistic": {"DesiredSamplingPercentage": 0}}
        )
        env = serve.client_env()
        trace_ids = invoke(env, TRACES)
        ended = time.time()
        fresh(env)
        wait = ENDED_AGE + 2 - (time.time() - ended)
        if wait > 0:
            say(f"waiting {wait:.0f} s for the traces to be over {ENDED_AGE:.0f} s old")
            time.sleep(wait)
        trace_id = trace_ids[0]
        mine = [XRAYCTL, "show-trace", trace_id]
        by_hand = partial(aws_by_hand, aws, env, trace_id)
        printed = shows_trace(mine, env, trace_id), by_hand()[1]
        one = calls(env, [trace_id])
        five = calls(env, trace_ids)
        say(f"show-trace vs the AWS CLI by hand on {trace_id}: {RUNS} runs each, alternating")
        medians = alternate({"xrayctl": partial(wall, mine, env), "aws": lambda: by_hand()[0]}, repeat=RUNS)
    emit(
        Figure(
            "show-trace ID through a trace retrieval vs aws xray start-trace-retrieval + "
            f"list-retrieved-traces until COMPLETE, by hand (a trace from a minute ago, same endpoint, "
            f"median of {RUNS})",
            seconds(medians["xrayctl"]) + ("" if printed[0] else " (no tree printed)"),
            "<= 0.50x",
            peer=seconds(medians["aws"]) + ("" if printed[1] else " (printed no trace)"),
            ratio=ratio(medians["xrayctl"], medians["aws"]),
            met=all(printed) and medians["xrayctl"] <= 0.5 * medians["aws"],
        )
    )
    for count, made in ((1, one), (TRACES, five)):
        listed = ", ".join(f"{name} {made[name]}" for name in sorted(made))
        emit(
            Figure(
                f"show-trace of {count} complete trace{'s' if count > 1 else ''} through retrieval: calls",
                listed,
                "1 StartTraceRetrieval, 1 destination, no cancel",
                met=made["StartTraceRetrieval"] == 1
                and made["GetTraceSegmentDestination"] == 1
                and made["CancelTraceRetrieval"] == 0,
            )
        )


def invoke(env: dict[str, str], count: int) -> list[str]:
    """Invoke the function through serve `count` times; the trace ids, once each trace is complete."""
    say(f"invoking the function {count} times through local serve (Transaction Search on)")
    completed = subprocess.run(
        [XRAYCTL, "--local", "-o", "json", "invoke", "--count", str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(completed.stdout)
    assert len(answer["traces"]) == count, completed.stderr
    return [invocation["trace_id"] for invocation in answer["invocations"]]


def fresh(env: dict[str, str]) -> None:
    """show-trace of a trace that ended a moment ago: retrievals repeat until it has stopped changing."""
    (trace_id,) = invoke_no_show(env)
    elapsed = wall([XRAYCTL, "show-trace", trace_id], env)
    emit(
        Figure(
            "show-trace through retrieval of a trace that ended a moment ago (for information: retrieves "
            "until it stops changing)",
            seconds(elapsed),
            "-",
        )
    )


def invoke_no_show(env: dict[str, str]) -> list[str]:
    completed = subprocess.run(
        [XRAYCTL, "--local", "-o", "json", "invoke", "--no-show"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [invocation["trace_id"] for invocation in json.loads(completed.stdout)["invocations"]]


def aws_by_hand(aws: str, env: dict[str, str], trace_id: str) -> tuple[float, bool]:
    """start-trace-retrieval, then list-retrieved-traces at once until COMPLETE: wall seconds, and whether the
    last answer held the trace."""
    window = ["--start-time", str(int(trace_id[2:10], 16) - 300), "--end-time", str(int(time.time()) + 1)]
    started = time.perf_counter()
    start = [aws, "xray", "start-trace-retrieval", "--trace-ids", trace_id, *window]
    token = json.loads(run(start, env))["RetrievalToken"]
    while True:
        answer = json.loads(run([aws, "xray", "list-retrieved-traces", "--retrieval-token", token], env))
        if answer["RetrievalStatus"] == "COMPLETE":
            break
    return time.perf_counter() - started, [t["Id"] for t in answer["Traces"]] == [trace_id]


def run(argv: list[str], env: dict[str, str]) -> str:
    return subprocess.run(
        argv, env={**env, "AWS_PAGER": ""}, capture_output=True, text=True, check=True
    ).stdout


def shows_trace(argv: list[str], env: dict[str, str], trace_id: str) -> bool:
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    out = completed.stdout
    ok = completed.returncode == 0 and f"Trace {trace_id}" in out and "Invocation" in out
    if not ok:
        say(f"show-trace did not draw the trace (exit {completed.returncode}):")
        say(out[-1500:] + completed.stderr[-1500:])
    return ok


def calls(env: dict[str, str], trace_ids: list[str]) -> Counter[str]:
    """The AWS calls of one `show-trace --debug` (botocore logs each with its operation model)."""
    completed = subprocess.run(
        [XRAYCTL, "--debug", "show-trace", *trace_ids],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    made: Counter[str] = Counter({name: 0 for name in RETRIEVAL_CALLS})
    for line in completed.stderr.splitlines():
        if "Making request for OperationModel(name=" in line:
            made[line.split("OperationModel(name=", 1)[1].split(")", 1)[0]] += 1
    say(f"show-trace --debug of {len(trace_ids)} traces (exit {completed.returncode}): {dict(made)}")
    return made


if __name__ == "__main__":
    main()
