"""The command line as a user meets it: help, option placement, exit codes, stdout vs stderr."""

from __future__ import annotations

import json
import platform
import re
import socket
from pathlib import Path
from typing import Any

import botocore
import click
import pytest

from tests.support.cli import all_commands, run_cli
from tests.support.fakeaws import FakeAws
from tests.support.paths import fixture_path
from xrayctl import __version__
from xrayctl.cli import cli
from xrayctl.errors import ExitCode

LAMBDA_TRACE = fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json")


def test_help_lists_exactly_these_commands() -> None:
    assert set(all_commands(cli)) == {
        ("show-trace",),
        ("list-annotations",),
        ("compare",),
        ("service-map",),
        ("browse",),
        ("tail",),
        ("invoke",),
        ("local",),
        ("local", "serve"),
        ("local", "env"),
        ("local", "reset"),
    }


@pytest.mark.parametrize("path", all_commands(cli), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Usage: xrayctl" in result.stdout
    assert "--debug" in result.stdout  # global options are accepted after every command name
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)  # type: ignore[assignment]
    summary = command.get_short_help_str(limit=200)
    assert summary and summary in " ".join(result.stdout.split())  # it says what the command does


AWS_OPTIONS = ("--profile", "--region", "--endpoint-url", "--max-concurrency", "--local")


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        (("local",), (*AWS_OPTIONS, "--output", "--no-color")),
        (("local", "serve"), (*AWS_OPTIONS, "--output")),
        (("local", "env"), (*AWS_OPTIONS, "--no-color")),
        (("local", "reset"), (*AWS_OPTIONS, "--output", "--no-color")),
    ],
    ids=" ".join,
)
def test_local_commands_list_no_option_they_ignore(path: tuple[str, ...], ignored: tuple[str, ...]) -> None:
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0, result.stderr
    listed = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", result.stdout, re.MULTILINE))
    assert listed and not listed & set(ignored)
    refused = run_cli([*path, ignored[0], "x", "--help"])
    assert refused.exit_code == 2 and "No such option" in refused.stderr


@pytest.mark.parametrize("path", [("show-trace",), ("list-annotations",), ("invoke",)], ids=" ".join)
def test_aws_commands_list_every_global_option(path: tuple[str, ...]) -> None:
    result = run_cli([*path, "--help"])
    listed = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", result.stdout, re.MULTILINE))
    assert listed >= {*AWS_OPTIONS, "--output", "--no-color", "--debug"}


def test_version_names_botocore_and_python() -> None:
    result = run_cli(["--version"])
    assert result.exit_code == 0
    python = f"Python {platform.python_version()} on {platform.system()}"
    assert result.stdout == f"xrayctl {__version__} (botocore {botocore.__version__}, {python})\n"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_invalid_trace_id_is_rejected_before_any_call() -> None:
    # The endpoint refuses connections: reaching it would exit 7 (unreachable), not 2.
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli(["show-trace", "not-a-trace", "--endpoint-url", endpoint, "--no-wait"])
    assert result.exit_code == 2
    assert "not-a-trace" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "pasted",
    [
        "Root=1-654c0557-5611b044040fc7224c4790b6;Parent=53995c3f42cd8ad8;Sampled=1",
        "00-654c05575611b044040fc7224c4790b6-53995c3f42cd8ad8-01",
    ],
)
def test_show_trace_takes_a_trace_header_or_a_traceparent_as_pasted(pasted: str) -> None:
    result = run_cli(["-o", "json", "show-trace", pasted, "--input", str(LAMBDA_TRACE)])
    assert result.exit_code == 0, result.stderr
    assert [t["trace_id"] for t in result.json()["traces"]] == ["1-654c0557-5611b044040fc7224c4790b6"]


def test_control_characters_in_a_bad_id_do_not_reach_the_terminal() -> None:
    result = run_cli(["show-trace", "1-\x1b]52;c;aGk=\x07-evil"])
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_unreachable_endpoint_is_one_line_and_exit_7() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli(
        ["show-trace", "1-654c0557-5611b044040fc7224c4790b6", "--no-wait", "--endpoint-url", endpoint]
    )
    assert result.exit_code == 7, result.stderr
    assert endpoint.split("//")[1] in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli(
        [
            "--debug",
            "show-trace",
            "1-654c0557-5611b044040fc7224c4790b6",
            "--no-wait",
            "--endpoint-url",
            endpoint,
        ]
    )
    assert result.exit_code == 7
    assert "Traceback" in result.stderr


def test_no_region_is_a_config_error() -> None:
    result = run_cli(
        ["show-trace", "1-654c0557-5611b044040fc7224c4790b6", "--no-wait"],
        env={"AWS_REGION": None, "AWS_DEFAULT_REGION": None},
    )
    assert result.exit_code == 4, result.stderr
    assert "--region" in result.stderr


def test_show_trace_needs_an_id_or_input() -> None:
    result = run_cli(["show-trace"])
    assert result.exit_code == 2
    assert "--input" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--output", "json", "show-trace", "--input", str(LAMBDA_TRACE)],
        ["show-trace", "--input", str(LAMBDA_TRACE), "--output", "json"],
        ["-o", "json", "show-trace", "--input", str(LAMBDA_TRACE)],
    ],
    ids=["before", "after", "short-before"],
)
def test_global_options_before_or_after_the_command(args: list[str]) -> None:
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [t["trace_id"] for t in data["traces"]] == ["1-654c0557-5611b044040fc7224c4790b6"]


def test_json_output_of_many_megabytes_is_written_whole(tmp_path: Path) -> None:
    """JSON is written a megabyte at a time (the text of 100,000 listed traces is never held at once): what
    spans several writes reads back as one document, every character in its place."""
    saved = json.loads(LAMBDA_TRACE.read_text())
    document = saved["Segments"][0]
    long = "".join(f"{n:07d}é\u202e" for n in range(400_000))  # 3.6 MB, escapes included
    document.setdefault("metadata", {})["default"] = {"long": long}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(saved))
    result = run_cli(["-o", "json", "show-trace", "--input", str(path)])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout) > 3 * (1 << 20) and result.stdout.endswith("}\n")
    (trace,) = json.loads(result.stdout)["traces"]
    nodes = [*trace["roots"]]
    while nodes:
        node = nodes.pop()
        if node["id"] == document["id"]:
            assert node["metadata"]["default"]["long"] == long
            return
        nodes.extend(node["children"])
    raise AssertionError("the segment is not in the output")


def test_show_trace_input_from_stdin_draws_the_tree() -> None:
    result = run_cli(["--no-color", "show-trace", "--input", "-"], stdin=LAMBDA_TRACE.read_text())
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("1-654c0557-5611b044040fc7224c4790b6" in line for line in lines)
    invocation = next(line for line in lines if "Invocation" in line)
    function = next(line for line in lines if "AWS::Lambda::Function" in line)
    # Invocation is drawn under the function segment: deeper indentation.
    assert invocation.index("Invocation") > function.index("xray-stuff")


def test_input_file_that_is_not_a_trace_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_cli(["show-trace", "--input", str(bad)])
    assert result.exit_code == 1
    assert "bad.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_input_without_traces_is_not_found(tmp_path) -> None:
    saved = tmp_path / "empty.json"
    saved.write_text('{"Traces": [], "UnprocessedTraceIds": ["1-6b04d87a-00000000000000000000beef"]}')
    result = run_cli(["show-trace", "--input", str(saved)])
    assert result.exit_code == 3
    assert "1-6b04d87a-00000000000000000000beef" in result.stderr
    assert result.stdout == ""


def test_found_traces_are_drawn_when_another_is_missing() -> None:
    missing = "1-6b04d87a-00000000000000000000beef"
    result = run_cli(
        [
            "-o",
            "json",
            "show-trace",
            "1-654c0557-5611b044040fc7224c4790b6",
            missing,
            "--input",
            str(LAMBDA_TRACE),
        ]
    )
    assert result.exit_code == 3
    assert [t["trace_id"] for t in result.json()["traces"]] == ["1-654c0557-5611b044040fc7224c4790b6"]
    assert missing in result.stderr


def test_payload_and_event_fields_together_are_a_usage_error() -> None:
    result = run_cli(["invoke", "--function", "f", "--payload", "{}", "--key", "k"])
    assert result.exit_code == 2
    assert "--payload replaces --key" in result.stderr


def test_a_trace_with_no_readable_segment_claims_no_status(tmp_path) -> None:
    saved = tmp_path / "broken.json"
    trace_id = "1-654c0557-5611b044040fc7224c4790b6"
    saved.write_text(
        json.dumps({"Traces": [{"Id": trace_id, "Segments": [{"Id": "a", "Document": "{not json"}]}]})
    )
    result = run_cli(["--no-color", "show-trace", "--input", str(saved)])
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert trace_id in header and "OK" not in header
    assert "segment a: document left out" in result.stderr


def test_invoke_json_keeps_the_invocations_when_the_trace_is_not_found(fake_aws: FakeAws) -> None:
    result = run_cli(
        ["invoke", "--function", "f", "-o", "json", "--timeout", "0", "--endpoint-url", fake_aws.url]
    )
    assert result.exit_code == 3, result.stderr
    (invocation,) = result.json()["invocations"]
    assert invocation["payload_json"] == {"ok": True}
    assert invocation["trace_id"] in result.stderr  # the trace the error is about is the one invoked


def test_local_only_options_need_local(fake_aws: FakeAws) -> None:
    result = run_cli(["invoke", "--function", "f", "--handler", "m.h", "--endpoint-url", fake_aws.url])
    assert result.exit_code == 2
    assert "--local" in result.stderr


def test_stack_and_local_do_not_mix() -> None:
    result = run_cli(["--local", "invoke", "--stack", "s", "--no-show"])
    assert result.exit_code == 2
    assert "--stack" in result.stderr


def test_the_command_line_wins_over_the_environment() -> None:
    args = ["--output", "text", "show-trace", "--input", str(LAMBDA_TRACE), "--no-color"]
    result = run_cli(args, env={"XRAYCTL_OUTPUT": "json"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Trace 1-654c0557")


def test_stack_on_the_command_line_wins_over_xrayctl_function(fake_aws: FakeAws) -> None:
    result = run_cli(
        ["invoke", "--stack", "demo", "--no-show", "--endpoint-url", fake_aws.url],
        env={"XRAYCTL_FUNCTION": "other"},
    )
    assert result.exit_code == 0, result.stderr
    assert "Invoked from-the-stack" in result.stdout


def test_a_terminal_that_is_not_utf8_gets_escapes_not_a_crash() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", "xrayctl", "show-trace", "--input", str(LAMBDA_TRACE)],
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"xray-stuff-ProducerA" in done.stdout and b"\\u2514" in done.stdout


def _on_a_terminal(extra_env: dict[str, str]) -> bytes:
    """Run show-trace with stdout on a pseudo-terminal, as a shell gives it; return what it wrote."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "100", **extra_env})
    process = subprocess.Popen(
        [sys.executable, "-m", "xrayctl", "show-trace", "--input", str(LAMBDA_TRACE)],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks)


COLOUR = re.compile(rb"\x1b\[[0-9;]*(3[0-9]|9[0-7])(;[0-9;]*)?m")


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert COLOUR.search(_on_a_terminal({}))  # a terminal gets colour (the status, the bars)
    assert not COLOUR.search(_on_a_terminal({"NO_COLOR": "1"}))
    assert "\x1b" not in run_cli(["show-trace", "--input", str(LAMBDA_TRACE)]).stdout  # a pipe gets none


# ------------------------------------------------------------------------------------ --max-concurrency


def _serve_summaries(tmp_path: Path, traces: int) -> tuple[Any, Any, int]:
    """The local X-Ray API (pages of 5, 0.5 s a call) holding a trace every hour of the last 12 h."""
    import time

    from xrayctl.local.xray.api import XRayApiServer
    from xrayctl.local.xray.store import TraceStore

    store = TraceStore(tmp_path / "traces.sqlite3")
    end = int(time.time()) - 60
    documents = [
        json.dumps(
            {
                "id": f"{n + 1:016x}",
                "trace_id": f"1-{end - n * 3600:08x}-{n:024x}",
                "name": "svc",
                "start_time": float(end - n * 3600),
                "end_time": end - n * 3600 + 0.5,
                "annotations": {"put_response": 200},
            }
        )
        for n in range(traces)
    ]
    assert store.put_documents(documents) == []
    api = XRayApiServer(store, page_size=5, delay=0.5).start()
    return store, api, end


def _peak(api: Any) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{api.url}/health", timeout=5) as response:
        return int(json.loads(response.read())["peak_in_flight"])


@pytest.mark.parametrize(
    ("args", "env", "most"),
    [(["--max-concurrency", "2"], {}, 2), ([], {"XRAYCTL_MAX_CONCURRENCY": "1"}, 1)],
)
def test_max_concurrency_bounds_the_calls_in_flight(
    tmp_path: Path, args: list[str], env: dict[str, str], most: int
) -> None:
    """Counted by the X-Ray API itself; the listing is the same whatever the bound."""
    store, api, end = _serve_summaries(tmp_path, 12)
    try:
        window = ["--start", str(end - 12 * 3600), "--end", str(end + 1)]
        result = run_cli(["--endpoint-url", api.url, "-o", "json", *args, "list-annotations", *window], env)
        peak = _peak(api)
    finally:
        api.stop()
        store.close()
    assert result.exit_code == 0, result.stderr
    ids = [row["trace_id"] for row in result.json()["traces"]]
    assert len(ids) == len(set(ids)) == 12
    assert ids == sorted(ids, key=lambda i: int(i[2:10], 16), reverse=True)
    assert peak == most


def test_max_concurrency_must_be_between_1_and_10() -> None:
    for value in ("0", "11", "many"):
        result = run_cli(["list-annotations", "--max-concurrency", value])
        assert result.exit_code == ExitCode.USAGE
        assert "--max-concurrency" in result.stderr
    result = run_cli(["list-annotations"], {"XRAYCTL_MAX_CONCURRENCY": "0"})
    assert result.exit_code == ExitCode.USAGE


def test_help_documents_max_concurrency() -> None:
    result = run_cli(["list-annotations", "--help"])
    assert "--max-concurrency N" in result.stdout and "XRAYCTL_MAX_CONCURRENCY" in result.stdout
