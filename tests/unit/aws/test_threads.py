"""ThreadPool: results in order, the first error raised, at most max_workers tasks at once, no thread kept."""

from __future__ import annotations

import threading

import pytest

from xrayctl.aws.threads import ThreadPool


def test_map_keeps_the_order_and_never_runs_more_than_max_workers_at_once() -> None:
    lock = threading.Lock()
    running = peak = 0
    release = threading.Event()

    def task(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            if running == 2:  # both slots are taken: let them all go
                release.set()
        release.wait(5)
        with lock:
            running -= 1
        return n * n

    assert ThreadPool(2, "test").map(task, range(6)) == [n * n for n in range(6)]
    assert peak == 2


def test_the_first_error_is_raised_and_the_tasks_not_started_are_cancelled() -> None:
    started: list[int] = []
    gate = threading.Event()

    def task(n: int) -> int:
        started.append(n)
        if n == 0:
            raise ValueError("first")
        gate.wait(5)
        return n

    with pytest.raises(ValueError, match="first"):
        ThreadPool(1, "test").map(task, range(4))
    gate.set()
    # One slot: the error came from the first task. The next may have taken the slot it freed before the
    # caller cancelled; the ones behind that never ran.
    assert started in ([0], [0, 1])


def test_its_threads_are_daemons_that_do_not_hold_the_process() -> None:
    seen: list[bool] = []
    ThreadPool(1, "test").map(lambda _: seen.append(threading.current_thread().daemon), [None])
    assert seen == [True]
