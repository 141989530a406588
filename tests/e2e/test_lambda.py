"""The local Lambda service with real awslambdaric children, driven through boto3's own lambda client.

One handler module, written to a temporary directory, does what each test needs (`action` in the event); the
function's X-Ray SDK sends to a UDP socket the test reads, and Lambda's own segments go to a list.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.paths import FIXTURES
from tests.support.serve import running
from xrayctl.local.lambda_.runtime import RUNTIME_VARIABLE
from xrayctl.local.lambda_.segments import FunctionFailure, InvocationRecord, failure_cause, lambda_segments
from xrayctl.local.lambda_.service import InvocationReport, LambdaConfig, LambdaService

HANDLER = textwrap.dedent(
    """
    import logging, os, subprocess, sys, time
    from pathlib import Path

    print("handler module imported")

    def main(event, context):
        action = event.get("action", "ok")
        if action == "ok":
            print("hello", event.get("n"))
            logging.getLogger().warning("a warning")
            return {
                "n": event.get("n"),
                "pid": os.getpid(),
                "request_id": context.aws_request_id,
                "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                "secret": os.environ.get("AWS_SECRET_ACCESS_KEY"),
                "xrayctl_vars": sorted(k for k in os.environ if k.startswith("XRAYCTL_")),
                "greeting": os.environ.get("GREETING"),
            }
        if action == "fail":
            raise ValueError(f"bad input: {event.get('n')}")
        if action == "sleep":
            time.sleep(event["seconds"])
            return {"pid": os.getpid()}
        if action == "exit":
            os._exit(3)
        if action == "print":
            print("x" * event["size"])
            return {}
        if action == "spawn":
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            return {"pid": os.getpid(), "grandchild": child.pid}
        if action == "detach":
            # Daemons that shed all they can: a session of their own, no environment (so no sandbox mark),
            # and for the second, no parent (a double fork: the process that started it has exited).
            sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
            direct = subprocess.Popen(sleeper, env={}, start_new_session=True)
            starter = (
                "import subprocess, sys; "
                f"print(subprocess.Popen({sleeper!r}, env={{}}, start_new_session=True).pid)"
            )
            middle = subprocess.Popen(
                [sys.executable, "-c", starter], env={}, start_new_session=True, stdout=subprocess.PIPE
            )
            orphan = int(middle.stdout.readline())
            middle.wait()
            return {"pid": os.getpid(), "detached": [direct.pid, orphan]}
        if action == "rendezvous":
            # Both calls must be running at once for either to finish: proof that they run side by side.
            folder = Path(event["dir"])
            (folder / str(os.getpid())).touch()
            while len(list(folder.iterdir())) < event["count"]:
                time.sleep(0.01)
            return {"pid": os.getpid()}
        if action == "recurse":
            def down(depth):
                return down(depth + 1)
            return down(0)
        if action == "raise_long":
            raise ValueError("m" * event["size"])
        if action == "respond":
            return {"data": "x" * (event["size"] - len('{"data": ""}'))}
        if action == "runtime":
            return {"awslambdaric": "awslambdaric" in sys.modules, "pid": os.getpid()}
        if action == "trace":
            from aws_xray_sdk.core import xray_recorder
            with xray_recorder.in_subsegment("work") as subsegment:
                subsegment.put_annotation("step", "one")
            return {"traced": True}
        raise NotImplementedError(action)
    """
)

TRACE_ROOT = "1-6500aaaa-0123456789abcdef01234567"
CALLER_PARENT = "1111222233334444"


@dataclass
class Harness:
    service: LambdaService
    documents: list[str]
    udp: socket.socket
    client: Any
    trace_header: list[str | None] = field(default_factory=lambda: [None])

    def invoke(
        self, event: dict[str, Any], *, trace_header: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        self.trace_header[0] = trace_header
        response = self.client.invoke(FunctionName="xrayctl-demo", Payload=json.dumps(event), **kwargs)
        if "Payload" in response:
            response["Payload"] = json.loads(response["Payload"].read() or b"null")
        return dict(response)

    def segments(self, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The AWS::Lambda and AWS::Lambda::Function documents recorded for one invocation."""
        parsed = [json.loads(text) for text in self.documents]
        service = next(
            d for d in parsed if d["origin"] == "AWS::Lambda" and d["aws"]["request_id"] == request_id
        )
        function = next(d for d in parsed if d.get("parent_id") == service["id"])
        return service, function


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])


def subsegment_names(function_document: dict[str, Any]) -> list[str]:
    return [sub["name"] for sub in function_document.get("subsegments", [])]


def log_of(response: dict[str, Any]) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def lambda_client(url: str, trace_header: list[str | None], event: str = "before-sign.lambda.Invoke") -> Any:
    client = boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )

    def add_header_to_request(request: Any, **_: Any) -> None:  # before-sign: the AWSRequest
        if trace_header[0] is not None:
            request.headers["X-Amzn-Trace-Id"] = trace_header[0]

    def add_header_to_params(params: dict[str, Any], **_: Any) -> None:  # before-call: the request dict
        if trace_header[0] is not None:
            params["headers"]["X-Amzn-Trace-Id"] = trace_header[0]

    client.meta.events.register(event, add_header_to_request if "sign" in event else add_header_to_params)
    return client


@pytest.fixture(scope="module")
def function_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("function")
    (folder / "handler.py").write_text(HANDLER)
    return folder


@contextmanager
def running_service(
    function_dir: Path,
    handler: str = "handler.main",
    failure: Exception | None = None,
    on_invocation: Callable[[InvocationReport], None] | None = None,
) -> Iterator[Harness]:
    """The service on the test's function; Lambda's segments go to `harness.documents`, or, given `failure`,
    to a store that raises it."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    documents: list[str] = []

    def sink(batch: list[str]) -> list[dict[str, Any]]:
        if failure is not None:
            raise failure
        documents.extend(batch)
        return []

    config = LambdaConfig(code_dir=function_dir, handler=handler, timeout=1.0, environment={"GREETING": "hi"})
    # The caller's own credentials and settings must not reach the function.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_SECRET_ACCESS_KEY", "the-callers-secret")
        env.setenv("XRAYCTL_PROFILE", "the-callers-profile")
        address = f"127.0.0.1:{udp.getsockname()[1]}"
        service = LambdaService(config, sink, daemon_address=address, on_invocation=on_invocation).start()
    harness = Harness(service, documents, udp, None)
    harness.client = lambda_client(service.url, harness.trace_header)
    try:
        yield harness
    finally:
        service.stop()
        udp.close()


@pytest.fixture(scope="module")
def lam(function_dir: Path) -> Iterator[Harness]:
    with running_service(function_dir) as harness:
        yield harness


def test_cold_then_warm_invocation_payload_log_and_segments(lam: Harness) -> None:
    header = f"Root={TRACE_ROOT};Parent={CALLER_PARENT};Sampled=1"
    cold = lam.invoke({"n": 1}, trace_header=header, LogType="Tail")

    assert cold["StatusCode"] == 200 and "FunctionError" not in cold
    assert cold["ExecutedVersion"] == "$LATEST"
    assert cold["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"] == header
    payload = cold["Payload"]
    assert payload["n"] == 1 and payload["request_id"] == request_id(cold)
    assert payload["greeting"] == "hi"
    assert payload["secret"] != "the-callers-secret" and payload["xrayctl_vars"] == []

    log = log_of(cold)
    assert log.startswith(f"START RequestId: {request_id(cold)} Version: $LATEST\n")
    assert "handler module imported\nhello 1\n" in log and "a warning" in log
    assert f"END RequestId: {request_id(cold)}\nREPORT RequestId: {request_id(cold)}\tDuration: " in log
    assert "Memory Size: 128 MB" in log and "Init Duration: " in log
    assert f"XRAY TraceId: {TRACE_ROOT}" in log

    service_doc, function_doc = lam.segments(request_id(cold))
    assert service_doc["trace_id"] == function_doc["trace_id"] == TRACE_ROOT
    assert service_doc["parent_id"] == CALLER_PARENT
    assert service_doc["http"] == {"response": {"status": 200}}
    assert service_doc["resource_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:xrayctl-demo"
    assert function_doc["origin"] == "AWS::Lambda::Function" and "fault" not in function_doc
    assert subsegment_names(function_doc) == ["Initialization", "Invocation", "Overhead"]
    initialization, invocation = function_doc["subsegments"][:2]
    # The function's init runs when the cold request arrives (not when the stack started): Initialization
    # lies within the request, and Invocation follows it.
    assert service_doc["start_time"] <= initialization["start_time"] < initialization["end_time"]
    assert initialization["end_time"] <= invocation["start_time"] <= service_doc["end_time"]
    # The function is told to parent its own subsegments on the Invocation subsegment.
    assert payload["trace"] == f"Root={TRACE_ROOT};Parent={invocation['id']};Sampled=1"

    warm = lam.invoke({"n": 2}, trace_header=header, LogType="Tail")
    assert warm["Payload"]["pid"] == payload["pid"]
    assert "Init Duration" not in log_of(warm) and "handler module imported" not in log_of(warm)
    assert subsegment_names(lam.segments(request_id(warm))[1]) == ["Invocation", "Overhead"]


def test_sdk_subsegment_nests_under_invocation(lam: Harness) -> None:
    response = lam.invoke({"action": "trace"}, trace_header=f"Root={TRACE_ROOT};Sampled=1")
    assert response["Payload"] == {"traced": True}
    service_doc, function_doc = lam.segments(request_id(response))
    assert "parent_id" not in service_doc  # the caller gave no parent: the trace starts at Lambda
    invocation = next(sub for sub in function_doc["subsegments"] if sub["name"] == "Invocation")

    while True:
        datagram, _ = lam.udp.recvfrom(65536)
        header, _, body = datagram.partition(b"\n")
        document = json.loads(body)
        if document["name"] == "work":
            break
    assert json.loads(header) == {"format": "json", "version": 1}
    assert document["parent_id"] == invocation["id"] and document["trace_id"] == TRACE_ROOT
    assert document["type"] == "subsegment" and document["annotations"] == {"step": "one"}


def test_function_error_is_unhandled_with_fault_marks(lam: Harness) -> None:
    response = lam.invoke({"action": "fail", "n": 7}, LogType="Tail")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    error = response["Payload"]
    assert error["errorMessage"] == "bad input: 7" and error["errorType"] == "ValueError"
    assert error["requestId"] == request_id(response) and "handler.py" in error["stackTrace"][0]
    assert "[ERROR] ValueError: bad input: 7\nTraceback (most recent call last):\n" in log_of(response)

    service_doc, function_doc = lam.segments(request_id(response))
    assert "fault" not in service_doc  # the Invoke call itself succeeded
    assert function_doc["fault"] is True
    (exception,) = function_doc["cause"]["exceptions"]
    assert exception["message"] == "bad input: 7" and exception["type"] == "ValueError"
    assert any(frame["label"] == "main" for frame in exception["stack"])  # the runtime's own X-Ray cause
    invocation = next(sub for sub in function_doc["subsegments"] if sub["name"] == "Invocation")
    assert invocation["fault"] is True and invocation["cause"] == exception["id"]


@pytest.mark.parametrize(
    ("event", "error_type"),
    [({"action": "recurse"}, "RecursionError"), ({"action": "raise_long", "size": 100_000}, "ValueError")],
)
def test_an_exception_with_an_xray_cause_over_64_kb_is_the_functions_error(
    lam: Harness, event: dict[str, Any], error_type: str
) -> None:
    # The runtime sends the cause in one header (RecursionError: a thousand frames); Lambda's Runtime API
    # takes up to 1 MiB there. The exception is the error, and the runtime stays warm.
    before = lam.invoke({"n": 1})["Payload"]["pid"]
    response = lam.invoke(event, trace_header=f"Root={TRACE_ROOT};Sampled=1")
    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"]["errorType"] == error_type
    (exception,) = lam.segments(request_id(response))[1]["cause"]["exceptions"]
    assert exception["type"] == error_type and exception["stack"]  # the runtime's own cause, not a stand-in
    assert lam.invoke({"n": 2})["Payload"]["pid"] == before


def test_a_response_up_to_lambdas_limit_is_returned(lam: Harness) -> None:
    response = lam.client.invoke(
        FunctionName="xrayctl-demo", Payload=b'{"action": "respond", "size": 6291556}'
    )
    assert "FunctionError" not in response and len(response["Payload"].read()) == 6291556


def test_a_response_over_lambdas_limit_is_a_function_error(lam: Harness) -> None:
    before = lam.invoke({"n": 1})["Payload"]["pid"]
    response = lam.invoke(
        {"action": "respond", "size": 7 * 1024 * 1024}, trace_header=f"Root={TRACE_ROOT};Sampled=1"
    )
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert response["Payload"] == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert lam.segments(request_id(response))[1]["fault"] is True
    # The Runtime API refuses the runtime's post, and the runtime exits on that, as in Lambda.
    assert lam.invoke({"n": 2})["Payload"]["pid"] != before


def test_the_sandbox_runs_the_runtime_client_asked_for(lam: Harness) -> None:
    wanted = os.environ.get(RUNTIME_VARIABLE) or ("awslambdaric" if find_spec("awslambdaric") else "builtin")
    assert lam.invoke({"action": "runtime"})["Payload"]["awslambdaric"] is (wanted == "awslambdaric")


def test_timeout_kills_the_runtime_and_the_next_call_is_cold(lam: Harness) -> None:
    before = lam.invoke({"n": 3})["Payload"]["pid"]
    response = lam.invoke({"action": "sleep", "seconds": 30}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"] == {
        "errorMessage": f"RequestId: {request_id(response)} Error: Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert "Status: timeout" in log_of(response)
    assert not running(before)
    assert lam.segments(request_id(response))[1]["fault"] is True

    after = lam.invoke({"n": 4})
    assert after["Payload"]["pid"] != before
    assert subsegment_names(lam.segments(request_id(after))[1])[0] == "Initialization"


def test_crash_reports_exit_error_and_the_runtime_restarts(lam: Harness) -> None:
    before = lam.invoke({"n": 5})["Payload"]["pid"]
    response = lam.invoke({"action": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"] == {
        "errorMessage": f"RequestId: {request_id(response)} Error: Runtime exited with error: exit status 3",
        "errorType": "Runtime.ExitError",
    }
    assert not running(before)
    after = lam.invoke({"n": 6})
    assert after["Payload"]["n"] == 6 and after["Payload"]["pid"] != before


def test_overlapping_invocations_run_in_separate_runtimes(lam: Harness, tmp_path: Path) -> None:
    results: list[dict[str, Any]] = []

    def call() -> None:  # one client per thread: boto3 clients are not meant to be shared across threads
        client = lambda_client(lam.service.url, [None])
        event = {"action": "rendezvous", "dir": str(tmp_path), "count": 2}
        response = client.invoke(FunctionName="xrayctl-demo", Payload=json.dumps(event))
        results.append(json.loads(response["Payload"].read()))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({result["pid"] for result in results}) == 2


def test_event_invocation_answers_202_and_records_an_async_trace(lam: Harness) -> None:
    response = lam.invoke({"n": 8}, InvocationType="Event")
    assert response["StatusCode"] == 202
    assert wait_for(lambda: any(request_id(response) in text for text in lam.documents))
    service_doc, function_doc = lam.segments(request_id(response))
    assert service_doc["http"] == {"response": {"status": 202}}
    assert subsegment_names(service_doc) == ["Dwell Time", "Attempt #1"]
    assert "Invocation" in subsegment_names(function_doc)


def test_dry_run_and_unsampled_calls_record_nothing(lam: Harness) -> None:
    dry = lam.invoke({"n": 9}, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    unsampled_root = "1-6500bbbb-0123456789abcdef01234567"
    response = lam.invoke({"n": 10}, trace_header=f"Root={unsampled_root};Sampled=0")
    assert response["Payload"]["trace"].endswith(";Sampled=0")
    assert not any(request_id(dry) in text or unsampled_root in text for text in lam.documents)


def test_a_call_without_a_trace_header_starts_a_new_trace(lam: Harness) -> None:
    response = lam.invoke({"n": 11})
    root = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")
    service_doc, _ = lam.segments(request_id(response))
    assert service_doc["trace_id"] == root and root.startswith("1-") and root != TRACE_ROOT
    assert response["Payload"]["trace"].startswith(f"Root={root};Parent=")


def test_log_tail_is_the_last_4_kb(lam: Harness) -> None:
    response = lam.invoke({"action": "print", "size": 10_000}, LogType="Tail")
    log = base64.b64decode(response["LogResult"])
    assert len(log) == 4096
    assert log.startswith(b"xxx") and log.decode().endswith("Sampled: true\n")


@pytest.mark.parametrize(
    "name", ["arn:aws:lambda:us-east-1:000000000000:function:xrayctl-demo", "xrayctl-demo:$LATEST"]
)
def test_the_function_answers_to_its_arn_and_latest(lam: Harness, name: str) -> None:
    response = lam.client.invoke(FunctionName=name, Payload=b'{"n": 12}')
    assert json.loads(response["Payload"].read())["n"] == 12


@pytest.mark.parametrize(
    "name",
    ["other-function", "xrayctl-demo:v1", "arn:aws:lambda:eu-west-1:000000000000:function:xrayctl-demo"],
)
def test_unknown_function_is_resource_not_found(lam: Harness, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        lam.client.invoke(FunctionName=name, Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("event", ["before-sign.lambda.Invoke", "before-call.lambda.Invoke"])
def test_the_trace_header_can_be_added_on_either_botocore_event(lam: Harness, event: str) -> None:
    header: list[str | None] = ["Root=1-6500cccc-0123456789abcdef01234567;Parent=5555666677778888;Sampled=1"]
    response = lambda_client(lam.service.url, header, event).invoke(
        FunctionName="xrayctl-demo", Payload=b"{}"
    )
    service_doc, _ = lam.segments(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
    assert service_doc["trace_id"] == "1-6500cccc-0123456789abcdef01234567"
    assert service_doc["parent_id"] == "5555666677778888"


def test_init_error_is_reported_on_initialization(function_dir: Path) -> None:
    with running_service(function_dir, handler="missing_module.main") as harness:
        response = harness.invoke({})
        assert response["FunctionError"] == "Unhandled"
        assert response["Payload"]["errorType"] == "Runtime.ImportModuleError"
        assert "No module named 'missing_module'" in response["Payload"]["errorMessage"]
        _, function_doc = harness.segments(request_id(response))
        assert subsegment_names(function_doc) == ["Initialization"]
        assert function_doc["fault"] is True and function_doc["subsegments"][0]["fault"] is True


def test_segments_the_store_cannot_take_are_logged_and_the_call_still_answers(
    function_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="xrayctl.local.lambda_.service")
    with running_service(function_dir, failure=OSError("disk full")) as harness:
        response = harness.invoke({"n": 1}, trace_header=f"Root={TRACE_ROOT};Sampled=1")
    assert response["StatusCode"] == 200 and response["Payload"]["n"] == 1
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [f"Lambda's segment (all) of trace {TRACE_ROOT} was not stored: OSError: disk full"]


def test_a_report_that_fails_does_not_fail_the_invocation(
    function_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[InvocationReport] = []

    def closed_stderr(report: InvocationReport) -> None:
        reports.append(report)
        raise OSError("stderr is closed")

    caplog.set_level(logging.ERROR, logger="xrayctl.local.lambda_.service")
    with running_service(function_dir, on_invocation=closed_stderr) as harness:
        response = harness.invoke({"n": 1}, trace_header=f"Root={TRACE_ROOT};Sampled=1")
    assert response["StatusCode"] == 200 and response["Payload"]["n"] == 1
    assert {json.loads(d)["origin"] for d in harness.documents} >= {"AWS::Lambda", "AWS::Lambda::Function"}
    [report] = reports
    assert report.trace_id == TRACE_ROOT and report.failure is None and report.cold
    assert [record.getMessage() for record in caplog.records] == ["reporting an invocation failed"]


def test_stop_kills_the_runtime_and_what_the_function_started(function_dir: Path) -> None:
    with running_service(function_dir) as harness:
        pids = harness.invoke({"action": "spawn"})["Payload"]
        assert running(pids["pid"]) and running(pids["grandchild"])
    assert not running(pids["pid"])
    assert wait_for(lambda: not running(pids["grandchild"]))  # killed with the group, then reaped by init


def test_stop_kills_what_the_function_detached(function_dir: Path) -> None:
    with running_service(function_dir) as harness:
        pids = harness.invoke({"action": "detach"})["Payload"]
        assert all(running(pid) for pid in pids["detached"])
    assert wait_for(lambda: not any(running(pid) for pid in [pids["pid"], *pids["detached"]]))


PARENT_SCRIPT = """
import json, sys, time, boto3
from pathlib import Path
from xrayctl.local.lambda_.runtime import RUNTIME_VARIABLE
from xrayctl.local.lambda_.service import InvocationReport, LambdaConfig, LambdaService
service = LambdaService(LambdaConfig(code_dir=Path(sys.argv[1]), handler="handler.main"), lambda docs: [],
                        daemon_address="127.0.0.1:9").start()
client = boto3.client("lambda", endpoint_url=service.url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
response = client.invoke(FunctionName="xrayctl-demo", Payload=b'{"action": "detach"}')
print(json.dumps(json.loads(response["Payload"].read())), flush=True)
time.sleep(60)
"""


def test_the_runtime_and_what_it_detached_die_with_a_parent_that_never_stopped_it(function_dir: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, str(function_dir)], stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        everything = [pids["pid"], *pids["detached"]]
        assert all(running(pid) for pid in everything)
    finally:
        os.kill(parent.pid, signal.SIGKILL)  # no stop(), no finally, no atexit in the parent
        parent.wait()
    assert wait_for(lambda: not any(running(pid) for pid in everything))


# -- lambda_segments on its own --


def _record(**changes: Any) -> InvocationRecord:
    fields: dict[str, Any] = {
        "trace_id": "1-654c0557-5611b044040fc7224c4790b6",
        "caller_parent_id": None,
        "function_name": "fn",
        "region": "us-west-2",
        "request_id": "74ba6aea-2855-490a-a20d-d6dd1c39916c",
        "service_segment_id": "0285bf1261be05ff",
        "function_segment_id": "17e84e76450d1777",
        "invocation_id": "7869f11198c79dd1",
        "received": 100.0,
        "responded": 101.0,
        "init": (100.1, 100.5),
        "invocation": (100.6, 100.9),
        "overhead_end": 100.95,
    }
    fields.update(changes)
    return InvocationRecord(**fields)


def test_documents_have_the_fields_of_a_real_lambda_trace() -> None:
    real = json.loads((FIXTURES / "xray-real/traces/iatk-lambda-traceWithLinks01.json").read_text())
    real_service, real_function = real["Segments"]
    service_doc, function_doc = (json.loads(text) for text in lambda_segments(_record()))
    assert (
        service_doc.keys() == real_service.keys() and service_doc["aws"].keys() == real_service["aws"].keys()
    )
    assert function_doc.keys() == real_function.keys()
    assert function_doc["aws"].keys() == real_function["aws"].keys()
    assert subsegment_names(function_doc) == subsegment_names(real_function)
    for ours, theirs in zip(function_doc["subsegments"], real_function["subsegments"], strict=True):
        assert ours.keys() == theirs.keys() - {"links"}
    # Initialization starts before its parent segment, as in the real trace.
    assert function_doc["subsegments"][0]["start_time"] < function_doc["start_time"]


def test_a_hostile_cause_from_the_function_falls_back_to_type_and_message() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    cause = failure_cause(FunctionFailure("ValueError", "boom", xray_cause=deep))
    assert [(e["type"], e["message"]) for e in cause["exceptions"]] == [("ValueError", "boom")]
    odd = json.dumps(
        {"exceptions": [{"message": {"nested": [1]}, "type": 5, "stack": [{"path": "p", "line": True}]}]}
    )
    (exception,) = failure_cause(FunctionFailure("T", "m", xray_cause=odd))["exceptions"]
    assert exception["message"] == "" and exception["stack"] == [{"path": "p", "label": ""}]
    long = failure_cause(FunctionFailure("T", "y" * 10_000))["exceptions"][0]["message"]
    assert long.endswith("... [5904 more characters]")
