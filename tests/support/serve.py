"""A `xrayctl local serve` child process for the load and crash tests, and /proc views of processes.

`Serve(home)` starts serve as a user does (`python -m xrayctl local serve`), reads the environment lines it
prints, and gives boto3 clients for its endpoints. `descendants(pid)` and `processes_with(marker)` read /proc
(Linux; psutil is not a dependency) to find every process a serve left behind, even one that was reparented.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

XRAYCTL = [sys.executable, "-m", "xrayctl"]


def serve_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRAYCTL_"))}
    env.update({"XRAYCTL_HOME": str(home), "COLUMNS": "140", "NO_COLOR": "1", **extra})
    return env


def run(
    home: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`xrayctl ARGS` in a process of its own, as a user runs it, with `home` as XRAYCTL_HOME."""
    return subprocess.run(
        [*XRAYCTL, *args],
        env={**serve_env(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Serve:
    """A `xrayctl local serve` child process and the environment lines it printed."""

    def __init__(
        self, home: Path, *args: str, preexec_fn: Callable[[], None] | None = None, **env: str
    ) -> None:
        self.home = home
        self.stderr = ""
        self.process = subprocess.Popen(
            [*XRAYCTL, "local", "serve", *args],
            env=serve_env(home, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=preexec_fn,
        )
        # serve logs a line per invocation: its stderr is read as it comes, or a full pipe would block serve.
        self._stderr_lines: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.env: dict[str, str] = {}
        assert self.process.stdout is not None
        while "AWS_XRAY_DAEMON_ADDRESS" not in self.env:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(timeout=30)
                self._reader.join(timeout=30)
                raise AssertionError(f"local serve exited: {''.join(self._stderr_lines)}")
            name, _, value = line.strip().partition("=")
            self.env[name] = value

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr_lines.append(line)

    def lines_so_far(self) -> list[str]:
        """What serve has written to stderr until now, a line each."""
        return [line.rstrip("\n") for line in list(self._stderr_lines)]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def daemon(self) -> tuple[str, int]:
        host, _, port = self.env["AWS_XRAY_DAEMON_ADDRESS"].rpartition(":")
        return host, int(port)

    def client(self, service: str, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.env[f"AWS_ENDPOINT_URL_{service.upper()}"],
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(**config) if config else None,
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal serve, wait for it, and keep its stderr in `self.stderr`."""
        self.process.send_signal(sig)
        self.process.wait(timeout=60)
        self._reader.join(timeout=30)
        self.stderr = "".join(self._stderr_lines)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no signal handler, no finally, no atexit runs in serve."""
        self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, their children, ...), zombies excluded."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                children = {int(child) for child in task.read_text().split()}
            except OSError:
                continue
            for child in children - found:
                if running(child):
                    found.add(child)
                pending.append(child)
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def processes_with(marker: str) -> set[int]:
    """Live processes whose command line or environment holds `marker`, wherever they were reparented to."""
    needle = marker.encode()
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in text and running(int(entry.name)):
            found.add(int(entry.name))
    return found
