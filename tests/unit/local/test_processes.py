"""Finding and killing a sandbox's process tree (xrayctl/local/lambda_/processes.py), on real processes.

Both ways of reading the tree run here: /proc (Linux) and `ps` (macOS and the other POSIX systems, whose path
this is), so the portable one is exercised on Linux too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xrayctl.local.lambda_ import processes

# A process that starts a grandchild which sheds what it can (its own session, an empty environment), prints
# the grandchild's pid, and sleeps.
_TREE = (
    "import subprocess, sys, time; "
    "sleeper = [sys.executable, '-c', 'import time; time.sleep(60)']; "
    "g = subprocess.Popen(sleeper, env={}, start_new_session=True); "
    "print(g.pid, flush=True); time.sleep(60)"
)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def tree() -> Iterator[tuple[int, int]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True, **processes.popen_options()
    )
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    try:
        yield child.pid, grandchild
    finally:
        processes.kill_tree(child.pid)
        child.wait(timeout=30)


@pytest.mark.parametrize("source", ["proc", "ps"])
def test_the_tree_holds_the_grandchild_that_left_its_session(tree: tuple[int, int], source: str) -> None:
    child, grandchild = tree
    assert processes.descendants(child, processes.parent_table(source=source)) == {grandchild}


@pytest.mark.parametrize("source", ["proc", "ps"])
def test_kill_tree_kills_what_left_the_group_and_the_environment(tree: tuple[int, int], source: str) -> None:
    child, grandchild = tree
    processes.kill_tree(child, source=source)
    deadline = time.monotonic() + 10
    while (_running(child) or _running(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _running(child) and not _running(grandchild)


def test_descendants_walks_a_deep_tree_without_recursion() -> None:
    chain = {pid: pid - 1 for pid in range(2, 20_002)}  # 1 <- 2 <- 3 ... 20,001 levels
    assert len(processes.descendants(1, chain)) == 20_000


def test_pending_bytes_counts_what_waits_in_a_pipe() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"hello")
        assert processes.pending_bytes(read_end) == 5
    finally:
        os.close(read_end)
        os.close(write_end)
