"""The whole local stack, started for real and driven through boto3 as the CLI drives it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from xrayctl.errors import LocalStackError
from xrayctl.local.endpoints import LocalEndpoints
from xrayctl.local.options import FunctionOptions, StackOptions
from xrayctl.local.running import local_endpoints, serving
from xrayctl.local.servefile import SERVE_FILE, find_running
from xrayctl.local.stack import LocalStack

HEADER = b'{"format":"json","version":1}\n'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LocalStack]]:
    home = tmp_path_factory.mktemp("home")
    with serving(home, StackOptions()) as stack:
        yield home, stack


def client(endpoints: LocalEndpoints, service: str) -> Any:
    access_key, secret_key = endpoints.credentials
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=endpoints.region
    )
    return session.client(service, endpoint_url=endpoints.endpoints[service])  # type: ignore[call-overload]


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 15.0) -> Any:
    """Poll like every X-Ray client does: ingestion is asynchronous, even locally."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def names_in(documents: list[dict[str, Any]]) -> set[str]:
    names, pending = set(), list(documents)
    while pending:
        entity = pending.pop()
        names.add(entity["name"])
        pending.extend(entity.get("subsegments", []))
    return names


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def test_a_segment_sent_to_the_daemon_is_read_back_through_the_xray_api(
    served: tuple[Path, LocalStack],
) -> None:
    _, stack = served
    trace_id, now = new_trace_id(), time.time()
    segment = {"name": "checkout", "id": secrets.token_hex(8), "trace_id": trace_id, "start_time": now}
    segment["end_time"] = now + 0.25
    host, port = stack.daemon_address.split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(HEADER + json.dumps(segment).encode(), (host, int(port)))
    xray = client(stack.local_endpoints, "xray")
    traces = eventually(lambda: xray.batch_get_traces(TraceIds=[trace_id])["Traces"], bool)
    xray.close()
    assert [trace["Id"] for trace in traces] == [trace_id]
    (stored,) = [json.loads(s["Document"]) for s in traces[0]["Segments"]]
    assert (stored["id"], stored["name"], stored["end_time"]) == (segment["id"], "checkout", now + 0.25)


def test_the_function_runs_against_s3_and_its_whole_trace_comes_back(served: tuple[Path, LocalStack]) -> None:
    _, stack = served
    endpoints = stack.local_endpoints
    functions, xray = client(endpoints, "lambda"), client(endpoints, "xray")
    answer = functions.invoke(
        FunctionName=endpoints.function_name, Payload=b'{"bucket_key": "stack.txt", "body": "hi"}'
    )
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer and payload["round_trip_ok"] is True
    assert payload["bucket"] == "xrayctl-demo-bucket"
    trace_id = (
        answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")
    )

    def documents() -> list[dict[str, Any]]:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        return [json.loads(s["Document"]) for trace in traces for s in trace["Segments"]]

    # The function's own subsegments travel from the SDK in the Lambda child through the daemon.
    expected = {"Invocation", "put_object", "get_object"}
    found = eventually(documents, lambda docs: expected <= names_in(docs))
    functions.close()
    xray.close()
    assert expected <= names_in(found)
    assert {"AWS::Lambda", "AWS::Lambda::Function"} <= {doc.get("origin") for doc in found}
    assert stack.daemon_stats.rejected == 0


def test_the_function_bucket_exists(served: tuple[Path, LocalStack]) -> None:
    _, stack = served
    s3 = client(stack.local_endpoints, "s3")
    buckets = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    s3.close()
    assert stack.bucket in buckets


def test_the_printed_environment_points_boto3_at_the_stack(served: tuple[Path, LocalStack]) -> None:
    _, stack = served
    lines = stack.env_lines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "AWS_ENDPOINT_URL_XRAY",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_XRAY_DAEMON_ADDRESS",
    ]
    # A fresh process configured by nothing but those lines reaches the local X-Ray API.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}
    env.update(line.partition("=")[::2] for line in lines)
    script = "import boto3; print(boto3.client('xray').get_trace_segment_destination()['Destination'])"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "XRay"


def test_other_commands_find_the_running_serve_instead_of_starting_a_stack(
    served: tuple[Path, LocalStack],
) -> None:
    home, stack = served
    assert find_running(home) == stack.local_endpoints
    with local_endpoints(home, StackOptions()) as endpoints:
        assert endpoints == stack.local_endpoints
    same = FunctionOptions(code_dir=stack.function.code_dir, timeout=3.0)
    with local_endpoints(home, StackOptions(same)) as endpoints:
        assert endpoints == stack.local_endpoints


def test_a_second_serve_on_the_same_home_is_refused(served: tuple[Path, LocalStack]) -> None:
    home, _ = served
    with pytest.raises(LocalStackError) as raised, serving(home, StackOptions()):
        pass
    assert raised.value.fix and "XRAYCTL_HOME" in raised.value.fix


def test_a_serve_running_another_handler_is_not_used(served: tuple[Path, LocalStack]) -> None:
    home, stack = served
    other = FunctionOptions(handler="lambda_function.other_handler")
    with local_endpoints(home, StackOptions(other)) as endpoints:
        assert endpoints.endpoints["xray"] != stack.local_endpoints.endpoints["xray"]


@pytest.mark.parametrize("staleness", ["process gone", "nothing answers", "damaged"])
def test_a_stale_serve_file_is_ignored_and_removed(
    served: tuple[Path, LocalStack], tmp_path: Path, staleness: str
) -> None:
    record = json.loads((served[0] / SERVE_FILE).read_text())
    if staleness == "process gone":
        finished = subprocess.Popen([sys.executable, "-c", "pass"])
        finished.wait()
        record["pid"] = finished.pid
    elif staleness == "nothing answers":
        record["endpoints"]["xray"] = f"http://127.0.0.1:{closed_port()}"
    (tmp_path / SERVE_FILE).write_text("{not json" if staleness == "damaged" else json.dumps(record))
    assert find_running(tmp_path) is None
    assert not (tmp_path / SERVE_FILE).exists()


def test_everything_is_closed_after_the_stack_exits(tmp_path: Path) -> None:
    threads_before, children_before = thread_names(), child_pids()
    with serving(tmp_path, StackOptions()) as stack:
        endpoints = stack.local_endpoints
        assert (tmp_path / SERVE_FILE).exists()
        assert child_pids() - children_before  # the Lambda runtime
    assert not (tmp_path / SERVE_FILE).exists() and find_running(tmp_path) is None
    for url in endpoints.endpoints.values():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(port_of(url), timeout=5).close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(port_of(endpoints.daemon_address))  # EADDRINUSE if the daemon held on to it
    assert not leftover_threads(threads_before)
    assert not child_pids() - children_before


def test_a_part_failing_to_start_stops_the_others_and_says_how_to_fix_it(tmp_path: Path) -> None:
    threads_before, children_before = thread_names(), child_pids()
    with (
        pytest.raises(LocalStackError) as raised,
        LocalStack(tmp_path, StackOptions(FunctionOptions(code_dir=tmp_path / "missing"))),
    ):
        pass
    assert "missing" in raised.value.message and raised.value.fix
    assert not leftover_threads(threads_before)
    assert not child_pids() - children_before


def port_of(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "//" in address else f"//{address}")
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    return parts.hostname, parts.port


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def thread_names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def leftover_threads(before: set[str]) -> set[str]:
    """Threads started since `before` that still run (names are unique: they carry a port or a counter)."""
    return thread_names() - before


def child_pids() -> set[int]:
    """This process's live children (Linux; elsewhere an empty set, and the check is vacuous)."""
    children: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        children.update(int(pid) for pid in task.read_text().split())
    return children
