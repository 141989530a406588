"""A thread pool whose threads never hold the process: what the concurrent AWS reads run on.

Leaving a `with ThreadPoolExecutor` waits for every call in flight, and the interpreter joins its workers at
exit. A call to an endpoint that stalls lasts its read timeout times its attempts (minutes with the
defaults), so Ctrl-C, or an error met on another thread, left xrayctl waiting that long before it could say
so and exit. Here each task runs on a daemon thread, at most `max_workers` at a time; whoever gives up on
the results just stops waiting, and the calls still running end with the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class ThreadPool:
    def __init__(self, max_workers: int, name: str) -> None:
        self._slots = threading.BoundedSemaphore(max(1, max_workers))
        self._name = name
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            with self._slots:
                if not future.set_running_or_notify_cancel():
                    return  # cancelled while it waited for a slot
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the result
                    future.set_exception(exc)

        self._futures.append(future)
        threading.Thread(target=run, name=f"{self._name}-{len(self._futures)}", daemon=True).start()
        return future

    def map(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
        """`fn` over `items` concurrently; the results in order, or the first error (the rest cancelled)."""
        futures = [self.submit(fn, item) for item in items]
        try:
            return [future.result() for future in futures]
        finally:
            self.cancel_pending()

    def cancel_pending(self) -> None:
        """Cancel the tasks still waiting for a slot; those running are left to end on their own."""
        for future in self._futures:
            future.cancel()
