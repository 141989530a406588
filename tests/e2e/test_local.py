"""End to end on the local stack: the real commands, each in its own process, as a user runs them.

One `xrayctl local serve` runs for the module; `--local` commands in new processes find it through the store
folder, so what one command stored, the next one reads. Tests that need their own function (errors,
timeouts) start a stack for one command, as `xrayctl --local invoke` does on a fresh machine.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import json_nodes
from tests.support.paths import fixture_path
from tests.support.serve import XRAYCTL, Serve, run, serve_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xrayctl-home")


@pytest.fixture(scope="module")
def serve(home: Path) -> Iterator[Serve]:
    server = Serve(home)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def invoked(serve: Serve) -> dict[str, Any]:
    result = run(
        serve.home, "--local", "invoke", "--output", "json", "--key", "e2e.txt", "--body", "e2e body"
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_invoke_returns_the_function_result_and_its_complete_trace(invoked: dict[str, Any]) -> None:
    (invocation,) = invoked["invocations"]
    assert invocation["status_code"] == 200
    assert invocation["function_error"] is None
    assert json.loads(invocation["payload"])["ok"] is True
    # The log tail is Lambda's own lines: the function prints nothing, and the runtime must add no noise.
    log = invocation["log_tail"].splitlines()
    assert [line.split(" ")[0] for line in log] == ["START", "END", "REPORT", "XRAY"]
    assert "Init Duration" in log[2]
    (trace,) = invoked["traces"]
    assert trace["trace_id"] == invocation["trace_id"]
    assert trace["in_progress"] is False
    names = [node["name"] for node in json_nodes(trace["roots"])]
    for expected in ("Invocation", "Overhead", "put_object", "get_object", "s3", "S3"):
        assert expected in names


def test_serve_says_a_line_for_each_invocation(serve: Serve, invoked: dict[str, Any]) -> None:
    (invocation,) = invoked["invocations"]
    wanted = f"request {invocation['request_id']}, trace {invocation['trace_id']}, function returned"
    deadline = time.monotonic() + 10  # the line is written as the answer leaves: it may trail it a little
    while not any(wanted in line for line in serve.lines_so_far()) and time.monotonic() < deadline:
        time.sleep(0.05)
    (line,) = [line for line in serve.lines_so_far() if wanted in line]
    assert line.startswith("invoked xrayctl-demo: ") and line.endswith(" ms, cold start")


def test_cold_starts_are_read_from_lambda_not_assumed_first(serve: Serve, invoked: dict[str, Any]) -> None:
    # The module's first invocation started the serve's runtime: these two find it warm.
    first = invoked["invocations"][0]
    assert first["cold_start"] is True and first["init_duration"] > 0 and first["duration"] > 0
    result = run(serve.home, "--local", "invoke", "--count", "2", "-o", "json", "--key", "warm.txt")
    assert result.returncode == 0, result.stderr
    invocations = json.loads(result.stdout)["invocations"]
    assert [i["cold_start"] for i in invocations] == [False, False]
    assert [i["init_duration"] for i in invocations] == [None, None]
    assert all(i["duration"] > 0 and i["trace_status"] == "ok" for i in invocations)
    text = run(serve.home, "--local", "invoke", "--count", "2", "--key", "warm.txt")
    assert text.returncode == 0, text.stderr
    assert "cold start" not in text.stdout and text.stdout.count("  warm, ran ") == 2


def test_a_failure_the_function_caught_is_no_success(serve: Serve) -> None:
    # The function answers 200 with {"ok": false}; its trace is faulted (the S3 call failed).
    args = ["--local", "invoke", "--bucket", "no-such-bucket-for-xrayctl"]
    result = run(serve.home, *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    [invocation] = json.loads(result.stdout)["invocations"]
    assert (invocation["status_code"], invocation["function_error"]) == (200, None)
    assert invocation["trace_status"] == "fault"
    text = run(serve.home, *args)
    [row] = [line for line in text.stdout.splitlines() if line.split()[:3] == ["1", "200", "FAULT"]]
    assert row.endswith(text.stdout.split("trace ", 1)[1].split()[0])  # its trace id
    deadline = time.monotonic() + 10
    wanted = f"request {invocation['request_id']}"
    while not any(wanted in line for line in serve.lines_so_far()) and time.monotonic() < deadline:
        time.sleep(0.05)
    [line] = [line for line in serve.lines_so_far() if wanted in line]
    assert "function returned" in line and ", ok" not in line


def test_show_trace_in_a_new_process_draws_the_stored_tree(serve: Serve, invoked: dict[str, Any]) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    result = run(serve.home, "--local", "show-trace", trace_id)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    def indent(name: str) -> int:
        line = next(line for line in lines if name in line)
        return line.index(name)

    assert indent("AWS::Lambda::Function") > indent("AWS::Lambda ")
    assert indent("put_object") > indent("Invocation")
    assert indent("S3 PutObject") > indent("put_object")
    assert "put_response=200" in result.stdout and "get_response=200" in result.stdout


def test_show_traces_json_reads_back_to_the_same_bytes_and_the_same_view(
    serve: Serve, invoked: dict[str, Any], tmp_path: Path
) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    written = run(serve.home, "--local", "show-trace", trace_id, "-o", "json")
    assert written.returncode == 0, written.stderr
    saved = tmp_path / "trace.json"
    saved.write_text(written.stdout)
    again = run(serve.home, "show-trace", "--input", str(saved), "-o", "json")
    assert again.returncode == 0, again.stderr
    assert again.stdout == written.stdout  # the summary included, its times as X-Ray gave them
    drawn = run(serve.home, "--local", "show-trace", trace_id)
    assert run(serve.home, "show-trace", "--input", str(saved)).stdout == drawn.stdout


def test_show_trace_draws_what_it_found_and_names_what_it_did_not(
    serve: Serve, invoked: dict[str, Any]
) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    unknown = trace_id[:-4] + "beef"
    result = run(serve.home, "--local", "show-trace", trace_id, unknown, "--timeout", "1", "-o", "json")
    assert result.returncode == 3
    assert [t["trace_id"] for t in json.loads(result.stdout)["traces"]] == [trace_id]
    assert unknown in result.stderr and "not found" in result.stderr


def test_list_annotations_in_a_new_process(serve: Serve, invoked: dict[str, Any]) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    result = run(serve.home, "--local", "list-annotations", "--since", "15m", "--output", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["trace_id"]: row for row in json.loads(result.stdout)["traces"]}
    assert rows[trace_id]["annotations"] == {"put_response": [200], "get_response": [200]}

    filtered = run(
        serve.home, "--local", "list-annotations", "--since", "15m", "-o", "json",
        "--filter", "annotation.put_response = 404",
    )  # fmt: skip
    assert filtered.returncode == 0, filtered.stderr
    assert trace_id not in {row["trace_id"] for row in json.loads(filtered.stdout)["traces"]}


def test_a_key_no_trace_has_is_said_so_not_no_traces(serve: Serve, invoked: dict[str, Any]) -> None:
    result = run(serve.home, "--local", "list-annotations", "--since", "15m", "--key", "nosuchkey")
    assert result.returncode == 0, result.stderr
    scanned = int(result.stderr.split(" trace")[0])
    assert scanned >= 1
    assert result.stdout.strip() == f"(none of the {scanned:,} traces has nosuchkey)"
    assert "(no traces)" not in result.stdout


def test_list_annotations_at_60_columns_cuts_no_number_and_says_what_it_left_out(
    serve: Serve, invoked: dict[str, Any]
) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    result = run(serve.home, "--local", "list-annotations", "--since", "15m", env={"COLUMNS": "60"})
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith(trace_id[:16])]
    assert len(row) <= 60
    cells = row.split()
    # The duration, the status and the one annotation kept (the most common key) are whole.
    assert cells[-4:] == [cells[-4], "ms", "OK", "200"] and cells[-4].replace(".", "").isdigit()
    assert ":" in cells[1] and "-" not in cells[1]  # the start's time of day, its date given up first
    [note] = [line for line in result.stderr.splitlines() if line.startswith("to fit 60 columns")]
    assert "start without its date" in note
    assert "column left out: put_response" in note and "trace id" in note


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["invoke", "--function", "no-such-function", "--no-show"], 2),
        (["show-trace", "1-6b04d87a-00000000000000000000beef", "--no-wait"], 3),
    ],
    ids=["no such function", "no such trace"],
)
def test_local_errors_give_no_aws_advice(serve: Serve, args: list[str], code: int) -> None:
    result = run(serve.home, "--local", *args)
    assert result.returncode == code, result.stderr
    [line] = result.stderr.splitlines()
    for aws_only in ("--region", "--profile", "--stack", "account"):
        assert aws_only not in line
    assert "local" in line


def test_local_mode_ignores_the_users_aws_configuration(
    serve: Serve, invoked: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-3\nmax_attempts = nonsense\n")
    user_env = {"AWS_PROFILE": "no-such-profile", "AWS_CONFIG_FILE": str(config), "AWS_REGION": "ap-south-1"}
    result = run(serve.home, "--local", "list-annotations", "--since", "15m", "-o", "json", env=user_env)
    assert result.returncode == 0, result.stderr
    listed = {row["trace_id"] for row in json.loads(result.stdout)["traces"]}
    assert invoked["invocations"][0]["trace_id"] in listed  # the same stack, reached as without the config


def test_bad_event_is_a_clear_error_result(serve: Serve) -> None:
    result = run(
        serve.home, "--local", "invoke", "-o", "json", "--payload", '{"bucket_key": "", "body": "x"}'
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(json.loads(result.stdout)["invocations"][0]["payload"])
    assert payload["ok"] is False
    assert payload["error"]["type"] == "InvalidEvent"
    assert "bucket_key" in payload["error"]["message"]
    # Its trace has no annotations (nothing reached S3), and list-annotations still lists it: the failed
    # requests are the ones a reader is looking for.
    trace_id = json.loads(result.stdout)["invocations"][0]["trace_id"]
    listed = run(serve.home, "--local", "list-annotations", "--since", "15m", "-o", "json")
    rows = {row["trace_id"]: row for row in json.loads(listed.stdout)["traces"]}
    assert rows[trace_id]["annotations"] == {}
    keyed = run(
        serve.home, "--local", "list-annotations", "--since", "15m", "-o", "json", "--key", "put_response"
    )
    assert trace_id not in {row["trace_id"] for row in json.loads(keyed.stdout)["traces"]}


def test_stored_lambda_trace_has_the_shape_of_a_real_one(serve: Serve, invoked: dict[str, Any]) -> None:
    """Same segments, parentage and fields as the real 2023 Lambda trace in the fixtures."""
    real = json.loads(fixture_path("xray-real", "traces", "iatk-lambda-traceWithLinks01.json").read_text())
    trace_id = invoked["invocations"][0]["trace_id"]
    (ours,) = serve.client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
    docs = [json.loads(segment["Document"]) for segment in ours["Segments"]]

    def by_origin(documents: list[dict[str, Any]], origin: str) -> dict[str, Any]:
        return next(d for d in documents if d.get("origin") == origin)

    for documents in (real["Segments"], docs):
        service, function = by_origin(documents, "AWS::Lambda"), by_origin(documents, "AWS::Lambda::Function")
        assert function["parent_id"] == service["id"]
        assert [s["name"] for s in function["subsegments"]] == ["Initialization", "Invocation", "Overhead"]
    real_service, real_function = (
        by_origin(real["Segments"], "AWS::Lambda"),
        by_origin(real["Segments"], "AWS::Lambda::Function"),
    )
    our_service, our_function = by_origin(docs, "AWS::Lambda"), by_origin(docs, "AWS::Lambda::Function")
    assert set(real_service) - {"links"} <= set(our_service)
    assert set(real_service["aws"]) <= set(our_service["aws"])
    assert set(real_function["aws"]) <= set(our_function["aws"])
    # The function's own subsegments hang under Invocation, as the SDK's parent id says.
    invocation = next(s for s in our_function["subsegments"] if s["name"] == "Invocation")
    assert {s["name"] for s in invocation["subsegments"]} == {"put_object", "get_object"}
    # X-Ray's inferred S3 segment sits under the s3 subsegment.
    s3_ids = {
        sub["id"]
        for top in invocation["subsegments"]
        for sub in top.get("subsegments", [])
        if sub["name"] == "s3"
    }
    inferred = [d for d in docs if d.get("inferred")]
    assert {d["parent_id"] for d in inferred} == s3_ids
    assert {d["origin"] for d in inferred} == {"AWS::S3::Bucket"}


def test_aws_cli_reads_the_local_api(serve: Serve, invoked: dict[str, Any]) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    aws = str(Path(sys.executable).with_name("aws"))
    # What a user pastes into a shell: eval "$(xrayctl local env)".
    exported = run(serve.home, "local", "env")
    assert exported.returncode == 0, exported.stderr
    unset, *lines = [shlex.split(line) for line in exported.stdout.splitlines()]
    assert unset == ["unset", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"]  # a profile would send aws to ~/.aws
    assert all(words[0] == "export" for words in lines)
    env = {**serve_env(serve.home), **dict(words[1].split("=", 1) for words in lines)}
    got = subprocess.run(
        [aws, "xray", "batch-get-traces", "--trace-ids", trace_id, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Traces"][0]["Id"] == trace_id
    summaries = subprocess.run(
        [aws, "xray", "get-trace-summaries", "--start-time", str(int(time.time()) - 900),
         "--end-time", str(int(time.time()) + 60), "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert summaries.returncode == 0, summaries.stderr
    assert trace_id in {s["Id"] for s in json.loads(summaries.stdout)["TraceSummaries"]}


def test_restarted_serve_keeps_its_traces(home: Path, serve: Serve, invoked: dict[str, Any]) -> None:
    trace_id = invoked["invocations"][0]["trace_id"]
    other_home = home.parent / "restart-home"
    first = Serve(other_home)
    try:
        result = run(other_home, "--local", "invoke", "--no-show", "-o", "json")
        assert result.returncode == 0, result.stderr
        kept = json.loads(result.stdout)["invocations"][0]["trace_id"]
    finally:
        assert first.stop() == 0
    assert not (other_home / "serve.json").exists()
    # The function's four subsegments (put_object, get_object and their s3 calls) all reached the store.
    assert "daemon: received 4, stored 4, rejected 0" in first.stderr
    second = Serve(other_home)
    try:
        shown = run(other_home, "--local", "show-trace", kept, "-o", "json", "--no-wait")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["traces"][0]["trace_id"] == kept
        # The other store never saw the module's trace.
        missing = run(other_home, "--local", "show-trace", trace_id, "--no-wait")
        assert missing.returncode == 3
    finally:
        assert second.stop(signal.SIGINT) == 0  # Ctrl-C is the normal way to stop serve


def _handler_dir(tmp_path: Path, source: str) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text(textwrap.dedent(source))
    return code


def test_another_handler_gets_its_own_stack_and_says_so(serve: Serve, tmp_path: Path) -> None:
    code = _handler_dir(tmp_path, "def handler(event, context):\n    return {'mine': True}\n")
    result = run(
        serve.home,
        "--local",
        "invoke",
        "--no-show",
        "-o",
        "json",
        "--code",
        str(code),
        "--handler",
        "handler.handler",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["invocations"][0]["payload"]) == {"mine": True}
    assert "starts a local stack of its own" in result.stderr


def test_function_error_is_reported_and_marks_the_trace(tmp_path: Path) -> None:
    code = _handler_dir(
        tmp_path,
        """
        def handler(event, context):
            raise ValueError("the function failed on purpose")
        """,
    )
    result = run(tmp_path / "home", "--local", "invoke", "-o", "json", "--code", str(code), "--handler",
                 "handler.handler")  # fmt: skip
    assert result.returncode == 8, result.stderr
    assert "xrayctl: The invocation failed (Unhandled)." in result.stderr  # not "1 of 1 invocations"
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    invocation = data["invocations"][0]
    assert invocation["function_error"] == "Unhandled"
    assert "the function failed on purpose" in invocation["payload"]
    statuses = {node["name"]: node["status"] for node in json_nodes(data["traces"][0]["roots"])}
    assert statuses["Invocation"] == "fault"


def test_function_timeout_is_task_timed_out(tmp_path: Path) -> None:
    code = _handler_dir(
        tmp_path,
        """
        import time

        def handler(event, context):
            time.sleep(30)
        """,
    )
    result = run(tmp_path / "home", "--local", "invoke", "-o", "json", "--code", str(code), "--handler",
                 "handler.handler", "--function-timeout", "1")  # fmt: skip
    assert result.returncode == 8, result.stderr
    invocation = json.loads(result.stdout)["invocations"][0]
    assert "Task timed out after 1.00 seconds" in invocation["payload"]


def test_reset_empties_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    invoked = run(home, "--local", "invoke", "--no-show", "-o", "json")
    assert invoked.returncode == 0, invoked.stderr
    trace_id = json.loads(invoked.stdout)["invocations"][0]["trace_id"]
    reset = run(home, "local", "reset")
    assert reset.returncode == 0, reset.stderr
    assert "(1 trace removed)" in reset.stderr
    assert run(home, "--local", "show-trace", trace_id, "--no-wait").returncode == 3


def test_of_two_serves_started_at_once_one_runs_and_the_other_says_why(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serves = [
        subprocess.Popen(
            [*XRAYCTL, "local", "serve"],
            env=serve_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while all(serve.poll() is None for serve in serves) and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = [serve for serve in serves if serve.poll() is not None]
        assert len(ended) == 1, "both serves ran (or neither did)"
        loser = ended[0]
        winner = next(serve for serve in serves if serve is not loser)
        assert loser.returncode == 1
        assert f"A local stack is already serving {home}" in loser.communicate(timeout=30)[1]
        assert winner.poll() is None
    finally:
        for serve in serves:
            if serve.poll() is None:
                serve.send_signal(signal.SIGTERM)
            serve.communicate(timeout=60)
    assert winner.returncode == 0
