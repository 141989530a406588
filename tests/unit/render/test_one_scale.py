"""`invoke --sdk both` draws its traces on one time scale: equal durations, equal bars, wherever drawn."""

from __future__ import annotations

import io

from rich.console import Console

from xrayctl.render.tree import traces_view
from xrayctl.trace.build import build_trace
from xrayctl.trace.model import Trace


def trace(trace_id: str, seconds: float, name: str) -> Trace:
    document = {
        "id": "a" * 16,
        "trace_id": trace_id,
        "name": name,
        "start_time": 100.0,
        "end_time": 100 + seconds,
    }
    return build_trace(trace_id, [document])


def bar_cells(text: str, name: str) -> int:
    (line,) = [line for line in text.splitlines() if line.startswith(name)]
    return sum(line.count(block) for block in "█▉▊▋▌▍▎▏")


def drawn(traces: list[Trace], one_scale: bool) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(traces_view(traces, one_scale=one_scale))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_on_one_scale_a_trace_half_as_long_gets_half_the_bar() -> None:
    traces = [
        trace("1-6b04c851-f14fec967f9786633c368d55", 0.2, "xray-fn"),
        trace("1-6b04c852-f14fec967f9786633c368d55", 0.4, "otel-fn"),
    ]
    text = drawn(traces, one_scale=True)
    short, long = bar_cells(text, "xray-fn"), bar_cells(text, "otel-fn")
    assert abs(2 * short - long) <= 1
    # Each on its own scale, both bars fill the timeline.
    text = drawn(traces, one_scale=False)
    assert bar_cells(text, "xray-fn") == bar_cells(text, "otel-fn")
