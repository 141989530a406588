"""show-trace --input with OpenTelemetry files, through the real CLI: deep, large, and broken ones."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.paths import FIXTURES
from xrayctl.errors import ExitCode
from xrayctl.text.jsonload import loads

TRACE_ID = "6b04c851f14fec967f9786633c368d55"


def chain(count: int) -> dict[str, object]:
    """One trace of `count` spans, each the parent of the next: a tree `count` levels deep."""
    spans = [
        {
            "traceId": TRACE_ID,
            "spanId": f"{index + 1:016x}",
            **({"parentSpanId": f"{index:016x}"} if index else {}),
            "name": f"level {index}",
            "kind": 2 if index == 0 else 1,
            "startTimeUnixNano": str(1_797_000_000_000_000_000 + index),
            "endTimeUnixNano": str(1_797_000_001_000_000_000 - index),
        }
        for index in range(count)
    ]
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}


def test_a_10000_span_trace_10000_levels_deep_is_drawn_and_serialised(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(chain(10_000)))
    result = run_cli(["show-trace", "--input", str(path), "--output", "json"])
    assert result.exit_code == 0, result.stderr
    (trace,) = loads(result.stdout)["traces"]  # 10,000 levels: json.loads itself would recurse too deep
    assert trace["node_count"] == 10_000 and trace["warnings"] == []
    drawn = run_cli(["show-trace", "--input", str(path), "--no-color"])
    assert drawn.exit_code == 0 and "level 9999" in drawn.stdout


def test_the_format_can_be_named(tmp_path: Path) -> None:
    example = FIXTURES / "otel" / "opentelemetry-proto-examples-trace.json"
    named = run_cli(["show-trace", "--input", str(example), "--format", "otlp", "--output", "json"])
    assert named.exit_code == 0 and named.json()["traces"][0]["roots"][0]["name"] == "my.service"
    wrong = run_cli(["show-trace", "--input", str(example), "--format", "batch"])
    assert wrong.exit_code == ExitCode.ERROR and "Traceback" not in wrong.stderr


def test_a_file_in_no_known_format_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}')
    result = run_cli(["show-trace", "--input", str(path)])
    assert result.exit_code == ExitCode.ERROR
    assert "no trace format xrayctl reads" in result.stderr and "Traceback" not in result.stderr
