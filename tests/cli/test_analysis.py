"""The commands that answer questions, driven in-process: show-trace --critical-path and --export, compare,
service-map and list-annotations --status/--sort/--limit, against saved traces and the local X-Ray API."""

from __future__ import annotations

import copy
import json
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.paths import fixture_path
from xrayctl.errors import ExitCode
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

LAMBDA = fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json")


def _walk(roots: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    pending = list(reversed(roots))
    while pending:
        node = pending.pop()
        yield node
        pending.extend(reversed(node["children"]))


@pytest.fixture
def cold_and_warm(tmp_path: Path) -> tuple[Path, str, str]:
    """A saved BatchGetTraces answer with the real cold Lambda trace and a warm twin (no Initialization)."""
    cold = json.loads(LAMBDA.read_text())
    warm = copy.deepcopy(cold)
    warm["Id"] = cold["Id"][:-1] + "7"
    for segment in warm["Segments"]:
        segment["trace_id"] = warm["Id"]
        segment["subsegments"] = [s for s in segment.get("subsegments", []) if s["name"] != "Initialization"]
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"Traces": [warm, cold]}))
    return path, cold["Id"], warm["Id"]


# ------------------------------------------------------------------------------- show-trace --critical-path


def test_critical_path_marks_each_node_and_json_sums_to_the_duration() -> None:
    text = run_cli(["show-trace", "--input", str(LAMBDA), "--critical-path"])
    assert text.exit_code == 0, text.stderr
    [initialization] = [line for line in text.stdout.splitlines() if "Initialization" in line]
    assert initialization.rstrip().endswith("◆   355 ms")
    plain = run_cli(["show-trace", "--input", str(LAMBDA)]).stdout
    assert "◆" not in plain
    [trace] = run_cli(["-o", "json", "show-trace", "--input", str(LAMBDA)]).json()["traces"]
    assert sum(node["critical_time"] for node in _walk(trace["roots"])) == pytest.approx(trace["duration"])


# ------------------------------------------------------------------------------------------------ --export


def test_export_writes_the_view_to_a_file_by_its_suffix(tmp_path: Path) -> None:
    svg, text = tmp_path / "trace.svg", tmp_path / "trace.txt"
    result = run_cli(["show-trace", "--input", str(LAMBDA), "--export", str(svg), "--width", "100"])
    assert (
        result.exit_code == 0 and result.stdout == "" and f"wrote {svg} (SVG, 100 columns)" in result.stderr
    )
    root = ElementTree.parse(svg).getroot()
    assert "Initialization" in "".join(root.itertext())
    run_cli(["show-trace", "--input", str(LAMBDA), "--export", str(text), "--width", "100"])
    lines = text.read_text().splitlines()
    assert lines[0].startswith("Trace 1-654c0557") and max(map(len, lines)) <= 100
    assert all(line == line.rstrip() for line in lines)  # no padding for an editor or a diff to keep


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--export", "trace.png"], ".svg, .html or .txt"),
        (["--export", "trace.svg", "-o", "json"], "--output json prints data"),
        (["--width", "5"], "--width"),
    ],
)
def test_an_export_that_cannot_work_is_a_usage_error(tmp_path: Path, args: list[str], said: str) -> None:
    args = [str(tmp_path / arg) if arg.startswith("trace.") else arg for arg in args]
    result = run_cli(["show-trace", "--input", str(LAMBDA), *args])
    assert result.exit_code == ExitCode.USAGE and said in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------------- compare


def test_compare_names_traces_in_the_order_given_and_marks_what_only_one_has(
    cold_and_warm: tuple[Path, str, str],
) -> None:
    path, cold, warm = cold_and_warm
    result = run_cli(["compare", cold, warm, "--input", str(path)])
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[1:3]
    assert header[0].split()[:2] == ["A", cold] and "cold start" in header[0]
    assert header[1].split()[:2] == ["B", warm] and "cold start" not in header[1]
    [initialization] = [line for line in result.stdout.splitlines() if "Initialization" in line]
    assert "only in A" in initialization
    data = run_cli(["-o", "json", "compare", warm, cold, "--input", str(path)]).json()
    assert [t["trace_id"] for t in data["traces"]] == [warm, cold]
    [row] = [node for node in data["nodes"] if node["path"][-1] == "Initialization"]
    assert row["durations"][0] is None and row["durations"][1] == pytest.approx(0.3547144)
    assert row["present"] == [False, True] and row["differences"] == [None, None]


@pytest.mark.parametrize(
    "ids",
    [[], ["1-654c0557-5611b044040fc7224c4790b6"], ["1-654c0557-5611b044040fc7224c4790b6"] * 2],
    ids=["none", "one", "the same twice"],
)
def test_compare_needs_two_different_traces(ids: list[str]) -> None:
    result = run_cli(["compare", *ids])
    assert result.exit_code == ExitCode.USAGE and "two traces or more" in result.stderr


def test_compare_takes_at_most_ten() -> None:
    ids = [f"1-654c0557-{n:024x}" for n in range(11)]
    result = run_cli(["compare", *ids])
    assert result.exit_code == ExitCode.USAGE and "at most 10" in result.stderr


def test_compare_of_a_file_holding_one_trace_says_so() -> None:
    result = run_cli(["compare", "--input", str(LAMBDA)])
    assert result.exit_code == ExitCode.USAGE and "holds 1 trace;" in result.stderr


# ------------------------------------------------------------------------- the local X-Ray API, in-process


T0 = float(int(time.time()) - 600)


def _trace(number: int, duration: float, *, fault: bool = False) -> list[str]:
    """An AWS::Lambda segment and its function segment, which calls S3 once."""
    trace_id = f"1-{int(T0) + number:08x}-{number:024x}"
    start = T0 + number
    service = {
        "id": f"{number:08x}00000001",
        "trace_id": trace_id,
        "name": "fn",
        "origin": "AWS::Lambda",
        "start_time": start,
        "end_time": start + duration,
        "http": {"response": {"status": 200}},
        "fault": fault,
    }
    function = {
        "id": f"{number:08x}00000002",
        "trace_id": trace_id,
        "parent_id": service["id"],
        "name": "fn",
        "origin": "AWS::Lambda::Function",
        "start_time": start + 0.001,
        "end_time": start + duration - 0.001,
        "fault": fault,
        # Every trace but the third carries a tenant: 1, 5 blue; 2, 4 red.
        "annotations": {} if number == 3 else {"tenant": "blue" if number % 2 else "red"},
        "subsegments": [
            {
                "id": f"{number:08x}00000003",
                "name": "s3",
                "namespace": "aws",
                "start_time": start + 0.002,
                "end_time": start + duration / 2,
                "aws": {"operation": "PutObject", "bucket_name": "b"},
                "http": {"response": {"status": 200}},
            }
        ],
    }
    return [json.dumps(service), json.dumps(function)]


DURATIONS = {1: 0.5, 2: 2.0, 3: 0.1, 4: 1.0, 5: 3.0}
FAULTS = {2, 5}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = TraceStore(tmp_path_factory.mktemp("analysis") / "traces.db")
    documents = [doc for n, d in DURATIONS.items() for doc in _trace(n, d, fault=n in FAULTS)]
    assert store.put_documents(documents) == []
    server = XRayApiServer(store, page_size=2, graph_page_size=2).start()
    yield server.url
    server.stop()
    store.close()


WINDOW = ["--start", str(int(T0) - 60), "--end", str(int(T0) + 60)]


def _ids(result: Any) -> list[int]:
    return [int(row["trace_id"][-24:], 16) for row in result.json()["traces"]]


def test_list_annotations_sorts_limits_and_filters_by_status(api: str) -> None:
    base = ["-o", "json", "--endpoint-url", api, "list-annotations", *WINDOW]
    assert _ids(run_cli([*base, "--sort", "duration"])) == [5, 2, 4, 1, 3]
    assert _ids(run_cli([*base, "--sort", "duration", "--limit", "2"])) == [5, 2]
    assert _ids(run_cli([*base, "--limit", "2"])) == [5, 4]  # newest first, as listed without --sort
    assert _ids(run_cli([*base, "--status", "fault", "--sort", "duration"])) == [5, 2]
    assert _ids(run_cli([*base, "--status", "ok"])) == [4, 3, 1]
    assert _ids(run_cli([*base, "--status", "fault", "--filter", "duration < 2.5"])) == [2]
    text = run_cli(["--endpoint-url", api, "list-annotations", *WINDOW, "--sort", "duration", "--limit", "1"])
    assert text.stderr.startswith("5 traces from")  # the window held five; one is shown


def test_a_limit_keeps_rows_and_the_counts_stay_the_windows(api: str) -> None:
    """--limit N: the first N rows in --sort's order; the line on stderr counts the window's traces and
    those with annotations, and says which rows the limit kept."""
    base = ["--endpoint-url", api, "list-annotations", *WINDOW]
    listed = run_cli([*base, "--limit", "2"])
    assert [line.split()[-1] for line in listed.stdout.splitlines()[1:]] == ["blue", "red"]  # traces 5, 4
    assert ", 4 with annotations; the table shows the 2 newest (--limit 2)" in listed.stderr
    assert listed.stderr.startswith("5 traces from")
    slowest = run_cli([*base, "--sort", "duration", "--limit", "1"])
    assert "5 traces from" in slowest.stderr and "the table shows the 1 longest (--limit 1)" in slowest.stderr
    everything = run_cli([*base, "--limit", "5"])  # no candidate left out: nothing to say about the limit
    assert "--limit" not in everything.stderr and ", 4 with annotations\n" in everything.stderr
    # With --key, the rows are the traces that carry the key: the first N of those.
    keyed = run_cli(["-o", "json", *base, "--key", "tenant", "--limit", "3"])
    assert _ids(keyed) == [5, 4, 2]  # the newest three with a tenant: trace 3 has none


def test_a_summary_with_a_limit_is_of_the_traces_the_limit_keeps_and_says_so(api: str) -> None:
    base = ["--endpoint-url", api, "list-annotations", *WINDOW, "--summary"]
    whole = run_cli(base)
    first, second = (line.split() for line in whole.stdout.splitlines()[1:])
    assert first[:3] == ["tenant", "blue", "2"] and second[:2] == ["red", "2"]
    assert whole.stderr.startswith("5 traces from") and ", 4 with annotations\n" in whole.stderr
    limited = run_cli([*base, "--sort", "duration", "--limit", "2"])  # traces 5 (blue) and 2 (red)
    first, second = (line.split() for line in limited.stdout.splitlines()[1:])
    assert first[:3] == ["tenant", "blue", "1"] and second[:2] == ["red", "1"]
    assert ", 4 with annotations; the summary is of the 2 longest (--limit 2)" in limited.stderr


def test_a_status_no_trace_has_is_said_so(api: str) -> None:
    base = ["--endpoint-url", api, "list-annotations", *WINDOW]
    result = run_cli([*base, "--status", "throttle"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "(no traces with status throttle in the window)"
    assert result.stderr.startswith("0 traces with status throttle from")
    filtered = run_cli([*base, "--filter", "duration > 100"])
    assert filtered.stdout.strip() == "(no traces matching the filter in the window)"


def test_service_map_of_a_window_and_of_given_traces(api: str) -> None:
    result = run_cli(["-o", "json", "--endpoint-url", api, "service-map", *WINDOW])
    assert result.exit_code == 0, result.stderr
    services = {(s["name"], s["type"]): s for s in result.json()["services"]}
    assert set(services) == {
        ("fn", "client"),
        ("fn", "AWS::Lambda"),
        ("fn", "AWS::Lambda::Function"),
        ("S3", "AWS::S3::Bucket"),
    }
    function = services[("fn", "AWS::Lambda::Function")]
    assert (function["statistics"]["requests"], function["statistics"]["fault"]) == (5, 2)
    [edge] = function["edges"]
    assert (edge["name"], edge["type"], edge["statistics"]["requests"]) == ("S3", "AWS::S3::Bucket", 5)
    one = f"1-{int(T0) + 3:08x}-{3:024x}"
    traced = run_cli(["-o", "json", "--endpoint-url", api, "service-map", one]).json()
    assert {s["statistics"]["requests"] for s in traced["services"] if s["statistics"]} == {1}
    drawn = run_cli(["--endpoint-url", api, "service-map", *WINDOW])
    lines = drawn.stdout.splitlines()
    assert lines[3].startswith("fn  client") and lines[4].startswith("└─ fn  AWS::Lambda ")
    assert "↳ from fn (AWS::Lambda::Function)" in drawn.stdout


def test_a_service_map_too_wide_for_the_terminal_says_what_it_left_out(api: str) -> None:
    drawn = run_cli(["--endpoint-url", api, "service-map", *WINDOW], env={"COLUMNS": "60"})
    assert drawn.exit_code == 0 and max(len(line) for line in drawn.stdout.splitlines()) <= 60
    assert "to fit 60 columns: columns left out: error, throttle (0 on every line), ok" in drawn.stderr
    header = next(line for line in drawn.stdout.splitlines() if line.startswith("service"))
    assert "fault" in header  # 2 of the 5 traces faulted: that column stays


def test_service_map_takes_ids_or_a_window_not_both() -> None:
    result = run_cli(["service-map", "1-654c0557-5611b044040fc7224c4790b6", "--since", "1h"])
    assert result.exit_code == ExitCode.USAGE and "Give one of them" in result.stderr


def test_piped_output_carries_no_trailing_padding(api: str, cold_and_warm: tuple[Path, str, str]) -> None:
    """Lines are padded to the width on a terminal, where it shows as nothing; a pipe or a file keeps
    whatever is written (diffs, grep): no line ends in a space there."""
    path, cold, warm = cold_and_warm
    empty = ["--start", str(int(T0) - 7200), "--end", str(int(T0) - 3600)]
    commands = [
        ["show-trace", "--input", str(LAMBDA), "--critical-path"],
        ["compare", cold, warm, "--input", str(path)],
        ["--endpoint-url", api, "list-annotations", *WINDOW],
        ["--endpoint-url", api, "list-annotations", *empty],
        ["--endpoint-url", api, "service-map", *WINDOW],
    ]
    for command in commands:
        result = run_cli(command)
        assert result.exit_code == 0, result.stderr
        padded = [line for line in result.stdout.splitlines() if line != line.rstrip()]
        assert not padded, (command, padded[:2])
    assert run_cli(commands[3]).stdout == "(no traces in the window)\n"
