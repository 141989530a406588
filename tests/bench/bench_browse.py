"""Figure 11: browse and tail, on the local stack.

- browse's first screen, cold: `xrayctl --local browse` in a fresh process on a pseudo-terminal (120 x 40),
  a `local serve` holding three invocations; the wall time from the process's start to the list drawn with
  its three traces (the title's `3 traces` written to the terminal). Median of 5; and the same with no serve
  (the command starts its own stack), for information.
- Opening a 10,000-node trace: the generated trace of figure 2, stored in the serve; in-process, Textual
  headless (160 x 50), the time from the trace screen being pushed to its tree drawn (BatchGetTraces of every
  page, the build, the layout, the first frame). Median of 3.
- A key press on it redrawn: `j` (the cursor down a line), `-` then `+` (fold everything, unfold
  everything: every line of the 10,000 shown again), each timed from the key sent to the screen redrawn
  (Pilot.press waits for both). Median of 30 for `j`, of 5 for the folds; `c` (the critical path's column:
  a new layout) for information.
- tail's delay: `xrayctl --local tail -o json` running, the function invoked through the serve (boto3 in this
  process); the time from Invoke's answer to tail's line for that trace. Median of 5.
- tail's memory: the ids it remembers (`SeenIds`, at its bound of 100,000) measured with tracemalloc.

Run: .venv/bin/python tests/bench/bench_browse.py
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: tests.support

from benchlib import BENCH_DIR, XRAYCTL, Figure, Serve, clean_env, emit, say, seconds

RUNS = 5
COLUMNS, ROWS = 120, 40


class Terminal:
    """A command on a pseudo-terminal of COLUMNS x ROWS: keys in, and the time until some text comes out."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = (COLUMNS, ROWS)) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            argv,
            env={**env, "TERM": "xterm-256color"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, marker: bytes, since: float, timeout: float = 10.0) -> float:
        """Seconds from `since` until `marker` is written to the terminal (NaN at the timeout); what was
        written before is forgotten first."""
        while time.perf_counter() - since < timeout:
            if marker in self.seen:
                elapsed = time.perf_counter() - since
                self.seen = self.seen[self.seen.index(marker) + len(marker) :]
                return elapsed
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if ready:
                try:
                    self.seen += os.read(self.master, 1 << 20)
                except OSError:
                    break
        return float("nan")

    def press(self, key: bytes, marker: bytes) -> float:
        """Seconds from sending `key` until `marker` is drawn."""
        self.drain()
        sent = time.perf_counter()
        os.write(self.master, key)
        return self.wait_for(marker, sent)

    def drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                break
            try:
                os.read(self.master, 1 << 20)
            except OSError:
                break
        self.seen = b""

    def quit(self) -> None:
        os.write(self.master, b"q")
        deadline = time.perf_counter() + 20
        while self.process.poll() is None and time.perf_counter() < deadline:  # a full pty blocks it
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    os.read(self.master, 1 << 20)
                except OSError:
                    break
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.master)


def first_screen(env: dict[str, str], marker: bytes) -> float:
    """Wall seconds from starting `xrayctl --local browse` on a pseudo-terminal to `marker` on it."""
    terminal = Terminal([XRAYCTL, "--local", "browse"], env)
    try:
        return terminal.wait_for(marker, terminal.started)
    finally:
        terminal.quit()


def bench_first_screen(serve: Serve, home: Path) -> None:
    say("browse's first screen: fresh processes on a pseudo-terminal (median of 5)")
    env = serve.client_env()
    first_screen(env, b"3 traces")  # warm-up: the page cache, .pyc files
    times = [first_screen(env, b"3 traces") for _ in range(RUNS)]
    median = statistics.median(times)
    emit(
        Figure(
            f"browse's first screen, cold process, local serve with 3 traces ({COLUMNS}x{ROWS}, median of 5)",
            seconds(median),
            "<= 1.5 s",
            met=median <= 1.5,
        )
    )
    own = clean_env(home / "own-stack")
    (home / "own-stack").mkdir(exist_ok=True)
    alone = statistics.median(first_screen(own, b"0 traces") for _ in range(3))
    emit(
        Figure(
            "browse's first screen with no serve: the command starts a stack (for information, median of 3)",
            seconds(alone),
            "-",
        )
    )


def store_big_trace(serve: Serve) -> Any:
    """The 10,000-node trace of figure 2, put into the serve; its tree as browse builds it."""
    from tests.support.docs import BIG_TRACE_ID, big_trace_documents
    from tests.support.tui import batch, traces_of

    client = serve.boto3_client("xray")
    documents = big_trace_documents(10_000)
    texts = [json.dumps(document) for document in documents]
    for offset in range(0, len(texts), 50):
        answer = client.put_trace_segments(TraceSegmentDocuments=texts[offset : offset + 50])
        assert not answer["UnprocessedTraceSegments"], answer
    (trace,) = [trace for trace in traces_of(batch(documents)) if trace.id == BIG_TRACE_ID]
    return trace


def bench_big_trace(serve: Serve) -> None:
    say("storing the 10,000-node trace in the serve")
    trace = store_big_trace(serve)
    nodes = list(trace.walk())
    window = ["--start", f"{trace.start_time - 60:.0f}", "--end", f"{trace.end_time + 60:.0f}"]
    terminal = Terminal([XRAYCTL, "--local", "browse", *window], serve.client_env(), size=(160, 50))
    opened, moves, folds, unfolds, critical = [], [], [], [], []
    try:
        terminal.wait_for(b"1 trace", terminal.started)
        say("opening it: Enter on the list until its header and tree are drawn, 3 times")
        for _ in range(3):
            opened.append(terminal.press(b"\r", f"{len(nodes):,} nodes".encode()))
            time.sleep(0.5)
            if len(opened) < 3:
                terminal.press(b"\x1b", b"1 trace")
        say("keys on it: j (30 times), - and + (5 times each), c (twice)")
        for index in range(1, 31):
            moves.append(terminal.press(b"j", nodes[index].id.encode()))
        shown_again = next(node.name for node in nodes[1:40] if node.name.startswith("step")).encode()
        for _ in range(5):
            terminal.press(b"j", nodes[31].id.encode())
            folds.append(terminal.press(b"-", nodes[0].id.encode()))
            unfolds.append(terminal.press(b"+", shown_again))
            terminal.press(b"g", b"")
        for _ in range(2):
            critical.append(terminal.press(b"c", b"critical"))
            terminal.press(b"c", b"")
    finally:
        terminal.quit()
    median = statistics.median(opened)
    emit(
        Figure(
            f"browse: opening a {len(nodes):,}-node trace from the local serve, Enter to drawn (a terminal "
            "160x50; median of 3)",
            seconds(median),
            "<= 1 s",
            met=median <= 1.0,
        )
    )
    for name, values in (("j, the cursor a line down", moves), ("-, fold all", folds)):
        value = statistics.median(values)
        emit(
            Figure(
                f"browse: a key press on it redrawn: {name} (median of {len(values)})",
                seconds(value),
                "<= 50 ms",
                met=value <= 0.05,
            )
        )
    value = statistics.median(unfolds)
    emit(
        Figure(
            f"browse: +, unfold all: {len(nodes):,} lines shown again (median of {len(unfolds)})",
            seconds(value),
            "<= 50 ms",
            met=value <= 0.05,
        )
    )
    emit(
        Figure(
            "browse: c on it, the critical path's column (computed, a new layout; for information)",
            seconds(statistics.median(critical)),
            "-",
        )
    )


def bench_tail(serve: Serve) -> None:
    say("tail: the delay from Invoke's answer to tail's line (median of 5)")
    lambda_ = serve.boto3_client("lambda")
    process = subprocess.Popen(
        [XRAYCTL, "--local", "tail", "-o", "json"],
        env=serve.client_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    delays = []
    try:
        time.sleep(2)  # started
        for _ in range(RUNS + 1):
            answer = lambda_.invoke(
                FunctionName="xrayctl-demo",
                Payload=b"{}",  # the function's defaults: its bucket, hello.txt
            )
            answered = time.perf_counter()
            answer["Payload"].read()
            line = process.stdout.readline()
            delays.append(time.perf_counter() - answered)
            json.loads(line)
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=20)
    delay = statistics.median(delays[1:])  # the first: a cold sandbox's
    emit(
        Figure(
            "tail -o json: a trace printed after Invoke answered, local serve (median of 5)",
            seconds(delay),
            "<= 1 s",
            met=delay <= 1.0,
        )
    )


def bench_seen_ids() -> None:
    from xrayctl.aws.follow import MAX_SEEN, SeenIds

    tracemalloc.start()
    seen = SeenIds()
    before = tracemalloc.get_traced_memory()[0]
    for number in range(MAX_SEEN * 2):
        seen.put(f"1-6b04c914-{number:024x}", number)
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    emit(
        Figure(
            f"tail: ids remembered after {MAX_SEEN * 2:,} traces (bounded at {MAX_SEEN:,})",
            f"{len(seen):,} ids, {size / 1e6:.1f} MB",
            f"<= {MAX_SEEN:,} ids",
            met=len(seen) <= MAX_SEEN,
        )
    )


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="browse-", dir=BENCH_DIR if BENCH_DIR.exists() else None))
    with Serve(home / "serve") as serve:
        say("three invocations through the serve")
        completed = subprocess.run(
            [XRAYCTL, "--local", "invoke", "--count", "3", "--no-show"],
            env=serve.client_env(),
            capture_output=True,
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(completed.stderr.decode())
        bench_first_screen(serve, home)
        bench_tail(serve)
        bench_big_trace(serve)
    bench_seen_ids()


if __name__ == "__main__":
    main()
