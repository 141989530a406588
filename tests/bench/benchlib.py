"""What every benchmark script shares: how it reports a figure, times commands, and runs `local serve`.

A benchmark script (`tests/bench/bench_*.py`) is a program, not a test: it measures and prints, it asserts
nothing. It writes progress for a human to stderr and one JSON object per figure to stdout (`emit`), which
`tests/bench/run.py` gathers into the one table `make bench` prints.

Timings of commands are wall clock of a fresh process, as a user at a shell sees them. Commands compared with
each other are run alternately (a, b, a, b, ...) so that a slow moment of the machine falls on both, and the
median is quoted.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
XRAYCTL = str(BIN / "xrayctl")  # the console script a user runs, not `python -m`
BENCH_DIR = ROOT / ".bench"  # scratch space (gitignored): stores, generated traces, the peers' venv


@dataclass(frozen=True)
class Figure:
    """One row of the table: a measured figure, the peer's figure when there is one, and the target."""

    figure: str
    xrayctl: str
    target: str
    peer: str = ""
    ratio: str = ""
    met: bool | None = None  # None: no target to meet, or it could not be measured


def emit(figure: Figure) -> None:
    """Report one figure to run.py (stdout, one JSON line) and to the human watching (stderr)."""
    print(json.dumps(asdict(figure)), flush=True)
    mark = {True: "met", False: "MISSED", None: "-"}[figure.met]
    say(
        f"{figure.figure}: {figure.xrayctl} (peer {figure.peer or '-'}, ratio {figure.ratio or '-'}) "
        f"target {figure.target}: {mark}"
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}x" if theirs > 0 else ""


def clean_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without AWS_* and XRAYCTL_* (the user's), colour off, a fixed width."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRAYCTL_"))}
    # An installed package has its bytecode (pip compiles it, as it did the peers'); with this set, every run
    # of the editable xrayctl would compile its modules from source again, which no user pays for.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"NO_COLOR": "1", "COLUMNS": "160"})
    if home is not None:
        env["XRAYCTL_HOME"] = str(home)
    env.update(extra)
    return env


def wall(argv: Sequence[str], env: Mapping[str, str], *, check: bool = True) -> float:
    """Wall seconds of one run of `argv` to its exit, output discarded (as if drawn to a fast terminal)."""
    started = time.perf_counter()
    completed = subprocess.run(
        list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if check and completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {completed.returncode}: {completed.stderr.decode()[-2000:]}"
        )
    return elapsed


def alternate(runs: Mapping[str, Callable[[], float]], *, repeat: int, warmup: int = 1) -> dict[str, float]:
    """Median of `repeat` measurements of each callable, the callables taking turns; warm-up runs dropped."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for index in range(warmup + repeat):
        for name, measure in runs.items():
            value = measure()
            if index >= warmup:
                samples[name].append(value)
    return {name: statistics.median(values) for name, values in samples.items()}


class Serve:
    """`xrayctl local serve` in a child process, for the `with` block; `env` points clients at it."""

    def __init__(self, home: Path, *args: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self._argv = [XRAYCTL, "local", "serve", *args]
        self.env: dict[str, str] = {}
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Serve:
        self.process = subprocess.Popen(
            self._argv, env=clean_env(self.home), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        while "AWS_XRAY_DAEMON_ADDRESS" not in self.env:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"local serve exited with {self.process.wait()}")
            name, _, value = line.strip().partition("=")
            self.env[name] = value
        return self

    def client_env(self, **extra: str) -> dict[str, str]:
        """The environment of a client of this stack: xrayctl, the AWS CLI or sam, with no --local needed."""
        return clean_env(self.home, **self.env, **extra)

    def boto3_client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.env[f"AWS_ENDPOINT_URL_{service.upper()}"],
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
