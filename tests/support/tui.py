"""Driving `browse` headless with Textual's own Pilot, and reading what it shows.

`drive(app, scenario, size)` runs the app under `App.run_test` and awaits `scenario(pilot)`;
`screen_text(app)` is the screen as plain text, drawn by the same compositor that `App.export_screenshot` uses
(no colour, so a test reads characters). The traces come from the demo function's real SDK documents
(`demo_traces`), put together by the local store's stitching, as BatchGetTraces gives them."""

from __future__ import annotations

import asyncio
import io
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

from tests.unit.local.test_xray_api import demo_documents
from xrayctl.local.xray.stitch import dumps, stitch
from xrayctl.trace.build import build_trace
from xrayctl.trace.model import Trace

# The demo documents' traces: an invocation that succeeded, another, and one whose event was refused.
OK, OTHER, FAILED = (
    "1-6b04c914-ea7beef5edbcb95e43b8d27c",
    "1-6b04c914-91775299041e3fbda0c19501",
    "1-6b04c914-c05b7aa443a4ff42f3feb14e",
)


def batch(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The BatchGetTraces answer X-Ray would give for `documents` (stitched as the local store does)."""
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in documents:
        by_trace[document["trace_id"]].append(document)
    traces = []
    for trace_id, docs in by_trace.items():
        segments = stitch(trace_id, docs)
        traces.append({"Id": trace_id, "Segments": [{"Id": s["id"], "Document": dumps(s)} for s in segments]})
    return {"Traces": traces, "UnprocessedTraceIds": []}


def traces_of(answer: dict[str, Any]) -> list[Trace]:
    return [build_trace(trace["Id"], trace["Segments"]) for trace in answer["Traces"]]


def demo_traces() -> list[Trace]:
    """The demo function's two traces: put_object and get_object, each with its S3 call."""
    return traces_of(batch(demo_documents()))


def write_batch(path: Path, documents: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(batch(documents)))
    return path


def screen_text(app: App[Any]) -> str:
    """The screen as it is drawn, as text."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, color_system=None, legacy_windows=False
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text()


def drive(
    app: App[Any], scenario: Callable[[Pilot[Any]], Awaitable[None]], size: tuple[int, int] = (120, 40)
) -> None:
    """Run `app` headless at `size` and play `scenario` on it."""

    async def play() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(play())


async def settle(pilot: Pilot[Any], seconds: float = 0.05) -> None:
    """Let the app's workers and timers run, then redraw."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(seconds)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def fresh(documents: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """`documents` as if recorded just now: their times moved to end at `now`, and their trace ids stamped
    with it (X-Ray takes a trace whose id is old as long complete)."""
    import copy

    documents = copy.deepcopy(documents)
    entities: list[dict[str, Any]] = []
    pending = list(documents)
    while pending:
        entity = pending.pop()
        entities.append(entity)
        pending.extend(entity.get("subsegments") or [])
    ends = [e[key] for e in entities for key in ("start_time", "end_time") if isinstance(e.get(key), float)]
    shift = now - max(ends)
    for entity in entities:
        for key in ("start_time", "end_time"):
            if isinstance(entity.get(key), float):
                entity[key] += shift
        if isinstance(entity.get("trace_id"), str):
            entity["trace_id"] = restamp(entity["trace_id"], now)
    return documents


def restamp(trace_id: str, now: float) -> str:
    return f"1-{int(now):08x}-{trace_id.split('-')[2]}"


async def type_at_once(pilot: Pilot[Any], keys: str) -> None:
    """Send `keys` as a terminal does when someone types fast (or tmux sends them): every key event queued
    before the app handles the first, with no pause between them (`Pilot.press` waits after each key)."""
    from textual import events
    from textual.app import _character_to_key  # type: ignore[attr-defined]

    driver = pilot.app._driver
    assert driver is not None
    for char in keys:
        key = char if char.isalnum() else _character_to_key(char)
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await pilot.pause()


def of_trace(trace_id: str, now: float) -> list[dict[str, Any]]:
    """The demo documents of one of its traces (`trace_id` as in the fixtures), recorded just now."""
    return [d for d in fresh(demo_documents(), now) if d["trace_id"] == restamp(trace_id, now)]


def put(store: Any, documents: list[dict[str, Any]]) -> None:
    """Store `documents` as the daemon stores what the SDK sends (a `TraceStore`); none refused."""
    assert store.put_documents([json.dumps(document) for document in documents]) == []
