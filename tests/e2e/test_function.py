"""The Lambda function in function/, run for real: aws-xray-sdk in Lambda mode, S3 served by moto's server.

The SDK decides Lambda mode at import and `patch(['boto3'])` is process-wide, so the handler runs in a child
process, never in pytest's. One child runs a sequence of invocations, each with its own trace header in
`_X_AMZN_TRACE_ID` (as the Lambda runtime sets it), and the test collects what the SDK sent to a UDP socket
standing in for the X-Ray daemon.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support.paths import FIXTURES as TEST_FIXTURES
from tests.support.paths import ROOT

FUNCTION_DIR = ROOT / "function"
FIXTURES = TEST_FIXTURES / "sdk-captured"
DAEMON_HEADER = b'{"format":"json","version":1}\n'
BUCKET = "demo-bucket"
MAX_BODY_BYTES = 256 * 1024  # the limit function/README.md documents

# What the Lambda runtime does between invocations: set the trace header, call the handler.
DRIVER = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import lambda_function
for line in sys.stdin:
    invocation = json.loads(line)
    os.environ["_X_AMZN_TRACE_ID"] = invocation["trace_header"]
    print(json.dumps(lambda_function.lambda_handler(invocation["event"], None)), flush=True)
"""


@dataclass
class Invocation:
    event: object
    root: str
    parent: str
    result: dict[str, Any] | None = None

    @property
    def trace_header(self) -> str:
        return f"Root={self.root};Parent={self.parent};Sampled=1"


@dataclass
class Run:
    invocations: list[Invocation]
    documents: list[dict[str, Any]]
    stderr: str

    def documents_of(self, invocation: Invocation) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if doc["trace_id"] == invocation.root]


def new_invocation(event: object) -> Invocation:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return Invocation(event=event, root=root, parent=secrets.token_hex(8))


def run_function(events: list[object], s3_endpoint: str, bucket_default: str | None) -> Run:
    """Run the handler on each event in one child process; return results and the UDP documents sent."""
    invocations = [new_invocation(event) for event in events]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LAMBDA_TASK_ROOT": str(FUNCTION_DIR),
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            "AWS_ENDPOINT_URL_S3": s3_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            # Keep the developer's own AWS configuration out of the child.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if bucket_default is not None:
            env["BUCKET_NAME"] = bucket_default
        stdin = "".join(
            json.dumps({"trace_header": inv.trace_header, "event": inv.event}) + "\n" for inv in invocations
        )
        child = subprocess.run(
            [sys.executable, "-c", DRIVER, str(FUNCTION_DIR)],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert child.returncode == 0, child.stderr
        # Loopback UDP is queued on the receiving socket by the time sendto returns, so once the child has
        # exited everything it sent is already here.
        daemon.setblocking(False)
        datagrams = []
        while True:
            try:
                datagrams.append(daemon.recv(70_000))
            except BlockingIOError:
                break
    results = [json.loads(line) for line in child.stdout.splitlines()]
    assert len(results) == len(invocations), child.stdout + child.stderr
    for invocation, result in zip(invocations, results, strict=True):
        invocation.result = result
    documents = []
    for datagram in datagrams:
        assert datagram.startswith(DAEMON_HEADER), datagram[:80]
        documents.append(json.loads(datagram[len(DAEMON_HEADER) :]))
    return Run(invocations, documents, child.stderr)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3(s3_endpoint: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def objects_in(s3: Any, bucket: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listing.get("Contents", [])
    }


# --- a traced round trip ----------------------------------------------------------------------------------

GOOD_EVENTS: list[object] = [
    {"bucket_name": BUCKET, "bucket_key": "hello.txt", "body": "hello, x-ray"},
    # No bucket_name: the function's BUCKET_NAME applies. Sizes count UTF-8 bytes, not characters.
    {"bucket_key": "notes/ünïcödé ✓.txt", "body": "héllo wörld ✓"},
    # Exactly at the limits: a 1,024-byte key (512 two-byte characters) and a 256 KiB body.
    {"bucket_key": "é" * 512, "body": "x" * MAX_BODY_BYTES},
]


@pytest.fixture(scope="module")
def good_run(s3: Any, s3_endpoint: str) -> Run:
    return run_function(GOOD_EVENTS, s3_endpoint, bucket_default=BUCKET)


def test_round_trip_results(good_run: Run) -> None:
    assert [inv.result for inv in good_run.invocations] == [
        {
            "ok": True,
            "bucket": BUCKET,
            "key": "hello.txt",
            "put_status": 200,
            "get_status": 200,
            "bytes_written": 12,
            "bytes_read": 12,
            "round_trip_ok": True,
        },
        {
            "ok": True,
            "bucket": BUCKET,
            "key": "notes/ünïcödé ✓.txt",
            "put_status": 200,
            "get_status": 200,
            "bytes_written": 17,
            "bytes_read": 17,
            "round_trip_ok": True,
        },
        {
            "ok": True,
            "bucket": BUCKET,
            "key": "é" * 512,
            "put_status": 200,
            "get_status": 200,
            "bytes_written": MAX_BODY_BYTES,
            "bytes_read": MAX_BODY_BYTES,
            "round_trip_ok": True,
        },
    ]


def test_round_trip_objects_are_in_the_bucket(good_run: Run, s3: Any) -> None:
    stored = objects_in(s3, BUCKET)
    for event in GOOD_EVENTS:
        assert isinstance(event, dict)
        assert stored[event["bucket_key"]] == event["body"].encode()


def test_a_round_trip_records_put_and_get_subsegments_annotated_with_their_status(good_run: Run) -> None:
    for invocation in good_run.invocations:
        assert isinstance(invocation.event, dict)
        key = invocation.event["bucket_key"]
        documents = good_run.documents_of(invocation)
        assert len(documents) == 4, documents
        by_id = {doc["id"]: doc for doc in documents}
        for doc in documents:
            assert doc["type"] == "subsegment"
            assert doc["in_progress"] is False
            assert doc["start_time"] <= doc["end_time"]
            assert not {"error", "fault", "throttle", "cause"} & doc.keys(), doc

        for name, operation, annotation in (
            ("put_object", "PutObject", "put_response"),
            ("get_object", "GetObject", "get_response"),
        ):
            [parent] = [doc for doc in documents if doc["name"] == name]
            # Directly under the facade segment: the Parent= of the invocation's trace header.
            assert parent["parent_id"] == invocation.parent
            assert parent["namespace"] == "local"
            assert parent["annotations"] == {annotation: 200}
            [call] = [doc for doc in documents if doc.get("parent_id") == parent["id"]]
            assert call["name"] == "s3"
            assert call["namespace"] == "aws"
            assert call["http"] == {"response": {"status": 200}}
            assert call["aws"]["operation"] == operation
            assert call["aws"]["bucket_name"] == BUCKET
            assert call["aws"]["key"] == key
            assert by_id[call["parent_id"]] is parent


def _shape(doc: dict[str, Any]) -> tuple[object, ...]:
    return (
        doc["name"],
        doc["namespace"],
        sorted(doc),
        sorted(doc.get("aws", {})),
        doc.get("annotations"),
        doc.get("http"),
    )


def test_documents_have_the_shape_of_the_captured_fixtures(good_run: Run) -> None:
    # Other tests (the local stack, the renderers) stand on tests/fixtures/sdk-captured: they must show what
    # this function really emits, datagram for datagram and in the same order (children before parents).
    captured = []
    for path in sorted(FIXTURES.glob("0[0-3]_*.json")):
        raw = path.read_bytes()
        assert raw.startswith(DAEMON_HEADER)
        captured.append(json.loads(raw[len(DAEMON_HEADER) :]))
    emitted = good_run.documents_of(good_run.invocations[0])
    assert [_shape(doc) for doc in emitted] == [_shape(doc) for doc in captured]


# --- events the function refuses, and S3 failures ---------------------------------------------------------

UNTOUCHED = "untouched-bucket"
OK_KEY = {"bucket_key": "hello.txt", "body": "hello"}
# (event, the whole InvalidEvent message). The function runs without a BUCKET_NAME default here.
BAD_EVENTS: list[tuple[object, str]] = [
    ("hello", "the event must be a JSON object with the fields bucket_name, bucket_key, body"),
    (["bucket_name"], "the event must be a JSON object with the fields bucket_name, bucket_key, body"),
    (
        {},
        "bucket_name: missing, and the function has no BUCKET_NAME default; "
        "bucket_key: missing; body: missing",
    ),
    (
        {"bucket_name": None, "bucket_key": 7, "body": {"text": "hi"}},
        "bucket_name: must be a string, not null; bucket_key: must be a string, not a number; "
        "body: must be a string, not an object",
    ),
    (
        {"bucket": UNTOUCHED, "bucket_name": UNTOUCHED, **OK_KEY},
        "bucket: unknown field",
    ),
    (None, "the event must be a JSON object with the fields bucket_name, bucket_key, body"),
    (7, "the event must be a JSON object with the fields bucket_name, bucket_key, body"),
    (
        {"bucket_name": UNTOUCHED, "bucket_key": ["k"], "body": True},
        "bucket_key: must be a string, not an array; body: must be a string, not a boolean",
    ),
    # However many unknown fields, and however long their names, the message stays short: it is the result
    # (Lambda answers at most 6 MB) and the cause in a segment document (X-Ray takes at most 64 KB).
    (
        {"bucket_name": UNTOUCHED, **OK_KEY, **{f"x{i}": i for i in range(100_000)}},
        "x0: unknown field; x1: unknown field; x2: unknown field; x3: unknown field; x4: unknown field; "
        "99995 more unknown fields",
    ),
    (
        {"bucket_name": UNTOUCHED, **OK_KEY, "n" * 100_000: 1},
        f"{'n' * 64}... (100000 characters): unknown field",
    ),
]
_NAME_RULES = "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
for name, rule in [
    ("ab", f"must be {_NAME_RULES}"),
    ("a" * 64, f"must be {_NAME_RULES}"),
    ("Demo-Bucket", f"must be {_NAME_RULES}"),
    ("demo_bucket", f"must be {_NAME_RULES}"),
    ("-demo-bucket", f"must be {_NAME_RULES}"),
    ("demo-bucket.", f"must be {_NAME_RULES}"),
    ("", f"must be {_NAME_RULES}"),
    ("demo..bucket", "must not contain two adjacent dots"),
    ("192.168.5.4", "must not look like an IP address"),
    ("xn--demo-bucket", "uses a prefix or suffix S3 reserves"),
    ("demo-bucket-s3alias", "uses a prefix or suffix S3 reserves"),
]:
    BAD_EVENTS.append(({"bucket_name": name, **OK_KEY}, f"bucket_name: not a valid S3 bucket name ({rule})"))
for key, problem in [
    ("", "must not be empty"),
    ("line\nbreak", "must not contain a control character (U+000A at position 4)"),
    ("nul\x00", "must not contain a control character (U+0000 at position 3)"),
    ("del\x7f", "must not contain a control character (U+007F at position 3)"),
    ("c1\x85", "must not contain a control character (U+0085 at position 2)"),
    ("half\ud800", "must not contain an unpaired surrogate (U+D800 at position 4)"),
    ("é" * 513, "must be at most 1024 bytes in UTF-8, not 1026"),
]:
    BAD_EVENTS.append(
        ({"bucket_name": UNTOUCHED, "bucket_key": key, "body": "hello"}, f"bucket_key: {problem}")
    )
for body, problem in [
    ("", "must not be empty"),
    (
        "x" * (MAX_BODY_BYTES + 1),
        f"must be at most {MAX_BODY_BYTES} bytes in UTF-8, not {MAX_BODY_BYTES + 1}",
    ),
    (
        "é" * (MAX_BODY_BYTES // 2 + 1),
        f"must be at most {MAX_BODY_BYTES} bytes in UTF-8, not {MAX_BODY_BYTES + 2}",
    ),
    ("ok\udfff", "must be valid Unicode text (unpaired surrogate at position 2)"),
]:
    BAD_EVENTS.append(({"bucket_name": UNTOUCHED, "bucket_key": "k", "body": body}, f"body: {problem}"))

MISSING_BUCKET = "no-such-bucket-here"


@pytest.fixture(scope="module")
def bad_run(s3: Any, s3_endpoint: str) -> Run:
    s3.create_bucket(Bucket=UNTOUCHED)
    events = [event for event, _ in BAD_EVENTS]
    events.append({"bucket_name": MISSING_BUCKET, "bucket_key": "hello.txt", "body": "hello"})
    return run_function(events, s3_endpoint, bucket_default=None)


@pytest.mark.parametrize(("index", "message"), [(i, message) for i, (_, message) in enumerate(BAD_EVENTS)])
def test_invalid_event_is_refused_with_a_clear_message(bad_run: Run, index: int, message: str) -> None:
    result = bad_run.invocations[index].result
    assert result == {"ok": False, "error": {"type": "InvalidEvent", "message": message}}


def test_invalid_events_write_nothing_and_their_trace_says_why(bad_run: Run, s3: Any) -> None:
    assert objects_in(s3, UNTOUCHED) == {}
    for invocation in bad_run.invocations[: len(BAD_EVENTS)]:
        assert invocation.result is not None
        # One subsegment and no S3 call: the refusal, a client error (not a fault) caused by the problems.
        [refusal] = bad_run.documents_of(invocation)
        assert refusal["name"] == "parse_event" and refusal["parent_id"] == invocation.parent
        assert refusal["error"] is True and refusal.get("fault") is not True
        assert refusal["in_progress"] is False and refusal["start_time"] <= refusal["end_time"]
        [exception] = refusal["cause"]["exceptions"]
        assert exception["type"] == "InvalidEvent"
        assert exception["message"] == invocation.result["error"]["message"]
        assert exception["stack"][-1]["label"] == "parse_event"
    assert "Traceback" not in bad_run.stderr


def test_missing_bucket_is_an_error_result_and_a_failed_subsegment(bad_run: Run) -> None:
    invocation = bad_run.invocations[-1]
    assert invocation.result == {
        "ok": False,
        "bucket": MISSING_BUCKET,
        "key": "hello.txt",
        "put_status": None,
        "error": {
            "type": "S3Error",
            "operation": "PutObject",
            "code": "NoSuchBucket",
            "status": 404,
            "message": "The specified bucket does not exist",
        },
    }
    documents = bad_run.documents_of(invocation)
    assert [doc["name"] for doc in documents] == ["s3", "put_object"]  # GetObject never ran
    call, put = documents
    assert call["parent_id"] == put["id"] and put["parent_id"] == invocation.parent
    assert call["http"] == {"response": {"status": 404}}
    assert call["error"] is True and call["fault"] is True
    [exception] = call["cause"]["exceptions"]
    assert exception["type"] == "NoSuchBucket" and exception["remote"] is True
    assert "The specified bucket does not exist" in exception["message"]
    # The exception propagated out of put_object too: marked failed, its cause pointing at the same exception.
    assert put["fault"] is True
    assert put["cause"] == exception["id"]
    assert "annotations" not in put


def test_unreachable_s3_is_an_error_result_and_a_failed_subsegment() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody_listens = f"http://127.0.0.1:{closed.getsockname()[1]}"
    run = run_function([{"bucket_key": "hello.txt", "body": "hello"}], nobody_listens, bucket_default=BUCKET)
    [invocation] = run.invocations
    assert invocation.result is not None
    error = invocation.result.pop("error")
    assert invocation.result == {"ok": False, "bucket": BUCKET, "key": "hello.txt", "put_status": None}
    assert error["type"] == "S3RequestFailed"
    assert error["code"] == "EndpointConnectionError"
    assert nobody_listens in error["message"]
    [put] = [doc for doc in run.documents_of(invocation) if doc["name"] == "put_object"]
    assert put["fault"] is True
    assert [exc["type"] for exc in put["cause"]["exceptions"]] == ["EndpointConnectionError"]


ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
    b"<RequestId>4442587FB7D0A2F9</RequestId></Error>"
)


@contextmanager
def s3_that_denies_reads(s3_endpoint: str) -> Iterator[str]:
    """An S3 endpoint that passes writes on to moto and answers every read 403 AccessDenied, as S3 does to
    a role that may s3:PutObject but not s3:GetObject."""
    upstream = urlsplit(s3_endpoint)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(ACCESS_DENIED)))
            self.end_headers()
            self.wfile.write(ACCESS_DENIED)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            forward = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
            forward.request("PUT", self.path, body, dict(self.headers.items()))
            answer = forward.getresponse()
            payload = answer.read()
            forward.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "server",
                    "date",
                ):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_denied_read_is_an_error_result_and_a_failed_get_object(s3: Any, s3_endpoint: str) -> None:
    with s3_that_denies_reads(s3_endpoint) as endpoint:
        run = run_function(
            [{"bucket_key": "write-only.txt", "body": "hello"}], endpoint, bucket_default=BUCKET
        )
    [invocation] = run.invocations
    assert invocation.result == {
        "ok": False,
        "bucket": BUCKET,
        "key": "write-only.txt",
        "put_status": 200,  # written before the failure: the result says so
        "error": {
            "type": "S3Error",
            "operation": "GetObject",
            "code": "AccessDenied",
            "status": 403,
            "message": "Access Denied",
        },
    }
    assert objects_in(s3, BUCKET)["write-only.txt"] == b"hello"
    documents = {doc["name"]: doc for doc in run.documents_of(invocation) if doc["name"] != "s3"}
    put, get = documents["put_object"], documents["get_object"]
    assert put["annotations"] == {"put_response": 200} and not {"error", "fault", "cause"} & put.keys()
    # The decorated get_object: failed, no get_response, its cause the exception of the S3 call inside it.
    [call] = [doc for doc in run.documents_of(invocation) if doc.get("parent_id") == get["id"]]
    assert call["error"] is True and call["http"] == {"response": {"status": 403}}
    [exception] = call["cause"]["exceptions"]
    assert exception["type"] == "AccessDenied" and exception["remote"] is True
    assert get["fault"] is True and get["cause"] == exception["id"]
    assert "annotations" not in get


# --- the SAM template --------------------------------------------------------------------------------------

TEMPLATE = FUNCTION_DIR / "template.yaml"


def test_template_passes_cfn_lint() -> None:
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_template_grants_only_put_and_get_on_the_bucket_objects() -> None:
    from cfnlint.decode import decode_str

    template, problems = decode_str(TEMPLATE.read_text())
    assert problems == []
    function = template["Resources"]["Function"]["Properties"]
    assert function["Tracing"] == "Active"
    assert function["Environment"]["Variables"]["BUCKET_NAME"] == {"Ref": "Bucket"}
    module, handler = function["Handler"].split(".")
    assert f"\ndef {handler}(" in (FUNCTION_DIR / f"{module}.py").read_text()
    [policy] = function["Policies"]
    assert [dict(statement) for statement in policy["Statement"]] == [
        {
            "Sid": "PutAndGetObjectsInTheDemoBucket",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"},
        }
    ]
    bucket = template["Resources"]["Bucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")


# --- the same failures through the local stack: what the daemon passed on and the store kept ---------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from xrayctl.local.stack import LocalStack

    with LocalStack(tmp_path_factory.mktemp("function-home")) as running:
        yield running


def _client(stack: Any, service: str) -> Any:
    endpoints = stack.local_endpoints
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoints.endpoints[service],
        region_name=endpoints.region,
        aws_access_key_id=endpoints.credentials[0],
        aws_secret_access_key=endpoints.credentials[1],
    )


def _invoke_and_read_back(stack: Any, event: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Invoke through the local Lambda API; return the result and every entity of its stored trace."""
    answer = _client(stack, "lambda").invoke(
        FunctionName=stack.local_endpoints.function_name, Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in answer  # a clear result, not an unhandled exception
    result = json.loads(answer["Payload"].read())
    header = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"]
    trace_id = header.split(";")[0].removeprefix("Root=")
    xray = _client(stack, "xray")
    deadline = time.monotonic() + 20
    while True:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        entities = []
        pending = [json.loads(s["Document"]) for trace in traces for s in trace["Segments"]]
        while pending:
            entity = pending.pop()
            entities.append(entity)
            # The store nests each subsegment in its parent, as X-Ray does: give it its parent_id back.
            pending.extend({**child, "parent_id": entity["id"]} for child in entity.get("subsegments", []))
        names = {entity["name"] for entity in entities}
        # The function's subsegments come from the SDK in the runtime child through the UDP daemon.
        if {"parse_event", "put_object"} & names or time.monotonic() > deadline:
            return result, entities
        time.sleep(0.05)


def _objects(stack: Any) -> dict[str, str]:
    # moto keeps one S3 for the whole process: other tests' stacks may have written to the demo bucket too.
    listing = _client(stack, "s3").list_objects_v2(Bucket=stack.local_endpoints.bucket)
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def test_a_refused_event_reaches_the_store_as_an_error_subsegment(stack: Any) -> None:
    event = {"bucket_key": "", "body": "x", "bucket": "other"}
    before = _objects(stack)
    result, entities = _invoke_and_read_back(stack, event)
    message = "bucket: unknown field; bucket_key: must not be empty"
    assert result == {"ok": False, "error": {"type": "InvalidEvent", "message": message}}
    by_name = {entity["name"]: entity for entity in entities}
    refusal = by_name["parse_event"]
    assert refusal["error"] is True and refusal.get("fault") is not True
    assert [(e["type"], e["message"]) for e in refusal["cause"]["exceptions"]] == [("InvalidEvent", message)]
    # It hangs under Lambda's Invocation subsegment, and S3 was never called.
    assert refusal["parent_id"] == by_name["Invocation"]["id"]
    assert not {"put_object", "get_object", "s3", "S3"} & by_name.keys()
    assert _objects(stack) == before


def test_a_missing_bucket_reaches_the_store_as_a_faulted_put_object(stack: Any) -> None:
    event = {"bucket_name": MISSING_BUCKET, "bucket_key": "hello.txt", "body": "hello"}
    before = _objects(stack)
    result, entities = _invoke_and_read_back(stack, event)
    assert result["ok"] is False and result["put_status"] is None
    assert result["error"]["code"] == "NoSuchBucket"
    by_name: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        by_name.setdefault(entity["name"], []).append(entity)
    [put] = by_name["put_object"]
    [call] = by_name["s3"]
    assert "get_object" not in by_name
    assert call["parent_id"] == put["id"] and put["parent_id"] == by_name["Invocation"][0]["id"]
    assert call["fault"] is True and call["http"]["response"]["status"] == 404
    [exception] = call["cause"]["exceptions"]
    assert exception["type"] == "NoSuchBucket" and exception["remote"] is True
    assert put["fault"] is True and put["cause"] == exception["id"]
    # The segment the store infers for the bucket carries the failure too, as X-Ray's does.
    [inferred] = by_name["S3"]
    assert inferred["parent_id"] == call["id"] and inferred["fault"] is True
    buckets = [b["Name"] for b in _client(stack, "s3").list_buckets()["Buckets"]]
    assert MISSING_BUCKET not in buckets
    assert _objects(stack) == before
