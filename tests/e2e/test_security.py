"""Security of the local stack and the CLI, checked from the outside as an attacker or an auditor would.

Every server of a running `xrayctl local serve` is found in the kernel's socket tables (not in our config) and
must be bound to 127.0.0.1; `--debug` output of real CLI processes must not hold the secret key, the session
token or any request signature that went over the wire; the SAM template must grant the function exactly the
S3 actions its code calls, on its own bucket; and the local HTTP APIs must refuse an oversized or unbounded
body before reading it.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest

from tests.support.paths import ROOT
from xrayctl.errors import ExitCode

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform != "linux", reason="reads the kernel's socket tables in /proc"),
]

XRAYCTL = [sys.executable, "-m", "xrayctl"]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XRAYCTL_"))}
    env.update(
        {"XRAYCTL_HOME": str(home), "NO_COLOR": "1", "AWS_CONFIG_FILE": os.devnull, **extra},
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@dataclass
class Serve:
    process: subprocess.Popen[str]
    env: dict[str, str]  # the NAME=value lines it printed

    def port(self, name: str) -> int:
        value = self.env[name]
        return int((urlsplit(value).port if "://" in value else value.rpartition(":")[2]) or 0)


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("security-home")
    errors = home / "serve.stderr"  # a file, not a pipe: nobody reads it while serve runs
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [*XRAYCTL, "local", "serve"], env=_env(home), stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    env: dict[str, str] = {}
    assert process.stdout is not None
    while "AWS_XRAY_DAEMON_ADDRESS" not in env:
        line = process.stdout.readline()
        assert line, f"local serve exited: {errors.read_text()}"
        name, _, value = line.strip().partition("=")
        env[name] = value
    try:
        yield Serve(process, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a stack behind, even when the test found it broken
            process.wait(timeout=30)


def invoke_once(serve: Serve) -> None:
    """One invocation, so the runtime API, the daemon and S3 have all served something."""
    client = boto3.client(
        "lambda",
        endpoint_url=serve.env["AWS_ENDPOINT_URL_LAMBDA"],
        region_name=serve.env["AWS_REGION"],
        aws_access_key_id=serve.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=serve.env["AWS_SECRET_ACCESS_KEY"],
    )
    answer = client.invoke(FunctionName="xrayctl-demo", Payload=b'{"bucket_key": "s.txt", "body": "s"}')
    assert "FunctionError" not in answer, answer["Payload"].read()
    client.close()


# --- every server on 127.0.0.1 ------------------------------------------------------------------------------

TCP_LISTEN = "0A"


@dataclass(frozen=True)
class BoundSocket:
    protocol: str  # tcp, tcp6, udp, udp6
    address: str
    port: int
    state: str


def _address(hex_address: str) -> str:
    # /proc/net/* prints addresses as the kernel holds them: 32-bit words in host byte order.
    raw = bytes.fromhex(hex_address)
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    return str(ipaddress.ip_address(b"".join(struct.pack(">I", word) for word in words)))


def sockets_of(pid: int) -> list[BoundSocket]:
    """The TCP and UDP sockets process `pid` holds, read from the kernel's tables."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed while we looked
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(match.group(1))
    found = []
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{protocol}").read_text().splitlines()[1:]
        for fields in (line.split() for line in lines):
            if fields[9] in inodes:
                address, port = fields[1].split(":")
                found.append(BoundSocket(protocol, _address(address), int(port, 16), fields[3]))
    return found


def test_every_local_server_listens_on_127_0_0_1_only(serve: Serve) -> None:
    invoke_once(serve)
    runtimes = [
        int(pid)
        for pid in Path(f"/proc/{serve.process.pid}/task/{serve.process.pid}/children").read_text().split()
    ]
    assert runtimes, "the Lambda runtime child is not running"
    [runtime_api] = {
        entry.partition("=")[2]
        for pid in runtimes
        for entry in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        if entry.startswith("AWS_LAMBDA_RUNTIME_API=")
    }
    expected = {
        ("tcp", serve.port("AWS_ENDPOINT_URL_XRAY")),  # the X-Ray API
        ("tcp", serve.port("AWS_ENDPOINT_URL_LAMBDA")),  # the Lambda Invoke API
        ("tcp", serve.port("AWS_ENDPOINT_URL_S3")),  # moto's S3
        ("tcp", int(runtime_api.rpartition(":")[2])),  # the Lambda Runtime API the runtime child polls
        ("udp", serve.port("AWS_XRAY_DAEMON_ADDRESS")),  # the X-Ray daemon
    }
    held = sockets_of(serve.process.pid)
    servers = [s for s in held if s.protocol.startswith("udp") or s.state == TCP_LISTEN]
    # The tables really show our servers (so the check below looks at the right sockets) ...
    assert expected <= {(s.protocol, s.port) for s in servers}
    # ... and nothing the stack holds, listening or connected, is on another address or on IPv6's any.
    assert {(s.protocol, s.address) for s in held} == {("tcp", "127.0.0.1"), ("udp", "127.0.0.1")}
    # The runtime children (awslambdaric running the function) only connect out: no server of their own.
    # (Their X-Ray SDK sends from an unbound UDP socket, which the kernel binds to 0.0.0.0 on the first send,
    # as on Lambda; nothing ever reads from it.)
    for pid in runtimes:
        assert [s for s in sockets_of(pid) if s.state == TCP_LISTEN] == []


# --- --debug shows no secret --------------------------------------------------------------------------------

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLETOKENTAIL="
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEKEYID",
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_SESSION_TOKEN": SESSION_TOKEN,
    "AWS_REGION": "us-east-1",
}


class RecordingProxy:
    """A TCP proxy on 127.0.0.1 that keeps every byte clients sent, so the test knows the real signatures.

    With no upstream it reads the request and drops the connection, or with `echo` answers it with a 400
    whose message quotes the request, headers and all, as a debugging endpoint or a careless proxy would:
    an endpoint that always fails.
    """

    def __init__(self, upstream: tuple[str, int] | None, *, echo: bool = False) -> None:
        self.upstream = upstream
        self.echo = echo
        self.sent = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def signatures(self) -> set[str]:
        with self._lock:
            return set(re.findall(r"Signature=([0-9a-f]{64})", self.sent.decode("latin-1")))

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream) if self.upstream else None
        peers = {client: server, server: client} if server else {client: None}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [], 30)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if sock is client:
                        with self._lock:
                            self.sent += data
                        if server is None and b"\r\n\r\n" in data:
                            if self.echo:
                                client.sendall(_echo_response(data))
                            return  # the failing endpoint: the whole request read
                    if not data:
                        return
                    target = peers[sock]
                    if target is not None:
                        target.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            if server is not None:
                server.close()


def _echo_response(request: bytes) -> bytes:
    body = json.dumps({"message": f"bad request: {request.decode('latin-1')}"}).encode()
    head = (
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n"
        "x-amzn-ErrorType: InvalidRequestException\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _debug_run(
    home: Path, args: list[str], *, debug: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*XRAYCTL, *(["--debug"] if debug else []), *args],
        env=_env(home, **CREDENTIALS, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_no_secret(stderr: str, signatures: set[str], *, debug: bool = True) -> None:
    if debug:
        assert "botocore" in stderr and "Authorization" in stderr  # the requests were logged ...
    assert SECRET_KEY not in stderr  # ... without the secret key,
    assert SESSION_TOKEN not in stderr and SESSION_TOKEN[:20] not in stderr  # the token or a part of it,
    for signature in signatures:  # the signatures that went over the wire,
        assert signature not in stderr
    assert set(re.findall(r"Signature=([^\s,'\"\\]*)", stderr)) <= {"<redacted>"}  # or any other.


def test_debug_against_the_local_stack_shows_no_secret(serve: Serve, tmp_path: Path) -> None:
    xray = RecordingProxy(("127.0.0.1", serve.port("AWS_ENDPOINT_URL_XRAY")))
    lambda_ = RecordingProxy(("127.0.0.1", serve.port("AWS_ENDPOINT_URL_LAMBDA")))
    endpoints = {"AWS_ENDPOINT_URL_XRAY": xray.url, "AWS_ENDPOINT_URL_LAMBDA": lambda_.url}
    try:
        # Invoke, then wait for and draw the trace: Lambda and X-Ray calls, signed with the session token.
        invoked = _debug_run(
            tmp_path, ["invoke", "--function", "xrayctl-demo", "--timeout", "30"], **endpoints
        )
        assert invoked.returncode == ExitCode.OK, invoked.stderr
        listed = _debug_run(tmp_path, ["list-annotations", "--since", "5m"], **endpoints)
        assert listed.returncode == ExitCode.OK, listed.stderr
        # A call the service refuses: botocore logs the error response as well.
        refused = _debug_run(tmp_path, ["list-annotations", "--filter", "annotation.k = = 1"], **endpoints)
        assert refused.returncode == ExitCode.USAGE, refused.stderr
    finally:
        xray.close()
        lambda_.close()
    signatures = xray.signatures() | lambda_.signatures()
    assert len(signatures) >= 4
    assert SESSION_TOKEN.encode() in bytes(lambda_.sent)  # the token was really used on the wire
    for result in (invoked, listed, refused):
        _assert_no_secret(result.stderr, signatures)


def test_debug_against_a_failing_endpoint_shows_no_secret(tmp_path: Path) -> None:
    failing = RecordingProxy(None)
    try:
        result = _debug_run(
            tmp_path,
            ["show-trace", "1-5759e988-bd862e3fe1be46a994272793", "--no-wait", "--endpoint-url", failing.url],
            AWS_MAX_ATTEMPTS="3",
        )
    finally:
        failing.close()
    assert result.returncode == ExitCode.UNREACHABLE, result.stderr
    # Each attempt of each call was signed and sent (in the same second, an attempt's signature repeats).
    assert bytes(failing.sent).count(b"\r\nAuthorization: ") >= 3
    signatures = failing.signatures()
    assert "Retry needed" in result.stderr or "retry" in result.stderr.lower()
    _assert_no_secret(result.stderr, signatures)


# --- the template grants what the code uses, on its own bucket ----------------------------------------------

FUNCTION_DIR = ROOT / "function"


def s3_actions_in_code(module: str = "lambda_function.py") -> set[str]:
    """The IAM actions behind every `s3.<method>(...)` call in a function's code."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("s3")
    operations = {xform_name(name): name for name in model.operation_names}
    tree = ast.parse((FUNCTION_DIR / module).read_text())
    methods = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "s3"
    }
    return {f"s3:{operations[method]}" for method in methods}


@pytest.mark.parametrize(
    "function_id, module", [("Function", "lambda_function.py"), ("OtelFunction", "otel_function.py")]
)
def test_the_template_grants_exactly_the_s3_actions_the_code_calls_on_its_own_bucket(
    function_id: str, module: str
) -> None:
    from cfnlint.decode import decode_str  # a YAML loader that knows CloudFormation's !Ref, !Sub, !GetAtt

    template, problems = decode_str((FUNCTION_DIR / "template.yaml").read_text())
    assert problems == []
    resources = template["Resources"]
    assert s3_actions_in_code(module) == {"s3:PutObject", "s3:GetObject"}  # the code really is what we think

    # Each function's only grants are its inline policy (plus the X-Ray write access Tracing: Active adds):
    # no role of its own, no managed policy, no SAM policy template, no other IAM resource; a bucket policy
    # only denies.
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert functions == {"Function", "OtelFunction"}
    function = resources[function_id]["Properties"]
    assert function["Handler"] == f"{module.removesuffix('.py')}.lambda_handler"
    assert "Role" not in function and "PermissionsBoundary" not in function
    assert not [v["Type"] for v in resources.values() if v["Type"].startswith("AWS::IAM::")]
    bucket_policies = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::S3::BucketPolicy"]
    assert all(
        statement["Effect"] == "Deny"
        for policy in bucket_policies
        for statement in policy["PolicyDocument"]["Statement"]
    )
    assert all(
        isinstance(policy, dict) and set(policy) == {"Version", "Statement"}
        for policy in function["Policies"]
    )

    # Its own bucket: the one the template creates, the one BUCKET_NAME names.
    [bucket_id] = [k for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket"]
    assert function["Environment"]["Variables"]["BUCKET_NAME"] == {"Ref": bucket_id}
    objects = {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{bucket_id}}}/*"}

    statements = [statement for policy in function["Policies"] for statement in policy["Statement"]]
    assert {statement["Effect"] for statement in statements} == {"Allow"}
    granted = set()
    for statement in statements:
        assert not {"NotAction", "NotResource", "Principal"} & set(statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources_of = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert resources_of == [objects]  # object ARNs of that bucket only: no "*", no other bucket
        granted |= set(actions)
    assert granted == s3_actions_in_code(module)  # nothing the code does not call, no wildcard


def test_the_bucket_refuses_plain_http_and_the_logs_expire() -> None:
    from cfnlint.decode import decode_str

    template, _ = decode_str((FUNCTION_DIR / "template.yaml").read_text())
    resources = template["Resources"]
    [bucket_id] = [k for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket"]
    [policy] = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::S3::BucketPolicy"]
    assert policy["Bucket"] == {"Ref": bucket_id}
    assert {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": [bucket_id, "Arn"]}, {"Fn::Sub": f"${{{bucket_id}.Arn}}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }.items() <= policy["PolicyDocument"]["Statement"][0].items()
    functions = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Serverless::Function"]
    groups = {k: v for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"}
    assert len(functions) == len(groups) == 2  # each function logs to a group of its own
    for function in functions:
        group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
        assert "RetentionInDays" in groups[group_id]["Properties"]
        assert groups[group_id]["DeletionPolicy"] == "Delete"


# --- bodies over the limit are refused before they are read ------------------------------------------------

LIMITS = [
    pytest.param("AWS_ENDPOINT_URL_XRAY", "/TraceSummaries", 16 * 1024 * 1024, id="xray"),
    pytest.param(
        "AWS_ENDPOINT_URL_LAMBDA",
        "/2015-03-31/functions/xrayctl-demo/invocations",
        6 * 1024 * 1024,
        id="lambda",
    ),
]


def exchange(port: int, request: bytes) -> tuple[bytes, bool]:
    """Send `request` (headers and the start of a body), read until the server closes or goes quiet.

    Returns what came back and whether the server closed the connection.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                return received, False
            except ConnectionResetError:
                return received, True
            if not data:
                return received, True
            received += data


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


@pytest.mark.parametrize(("endpoint", "path", "limit"), LIMITS)
def test_a_body_over_the_limit_is_refused_before_it_is_sent(
    serve: Serve, endpoint: str, path: str, limit: int
) -> None:
    # Only 64 KB of the announced limit + 1 bytes are ever sent: the answer cannot have waited for the body.
    request = _head(path, f"Content-Length: {limit + 1}", "Content-Type: application/json") + b" " * 65536
    response, closed = exchange(serve.port(endpoint), request)
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    assert b"x-amzn-ErrorType: RequestEntityTooLarge" in response
    assert f"body over {limit} bytes".encode() in response
    assert closed  # the unread rest is never taken for a request


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        # rfile.read(-1) would read until the client stops sending: no limit at all.
        (["Content-Length: -1"], b"400"),
        (["Content-Length: 5", "Content-Length: 500"], b"400"),
        (["Content-Length: 0x10"], b"400"),
        # A chunked body cannot be bounded by its header; left unread, its chunks would be parsed as requests.
        (["Transfer-Encoding: chunked"], b"411"),
    ],
    ids=["negative", "twice", "hex", "chunked"],
)
@pytest.mark.parametrize(("endpoint", "path", "limit"), LIMITS)
def test_a_body_of_unbounded_length_is_refused(
    serve: Serve, endpoint: str, path: str, limit: int, headers: list[str], status: bytes
) -> None:
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    response, closed = exchange(serve.port(endpoint), _head(path, *headers) + chunk)
    assert response.startswith(b"HTTP/1.1 " + status + b" "), response[:200]
    assert response.count(b"HTTP/1.1 ") == 1 and closed  # one answer, and nothing of the body parsed


@pytest.mark.parametrize(
    "endpoint", ["AWS_ENDPOINT_URL_XRAY", "AWS_ENDPOINT_URL_LAMBDA"], ids=["xray", "lambda"]
)
@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:{port}", "127.0.0.1.nip.io", "[::1", "x.localhost"]
)
def test_a_request_for_another_host_is_refused(serve: Serve, endpoint: str, host: str) -> None:
    """DNS rebinding: a web page whose name resolves to 127.0.0.1 reaches the port, but sends its own Host."""
    port = serve.port(endpoint)
    request = (
        f"POST /TraceSummaries HTTP/1.1\r\nHost: {host.format(port=port)}\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    response, _ = exchange(port, request.encode())
    assert response.startswith(b"HTTP/1.1 403 "), response[:200]
    assert b"x-amzn-ErrorType: AccessDeniedException" in response


@pytest.mark.parametrize("host", ["attacker.example", "127.0.0.1.nip.io:{port}", "[::1"])
def test_the_local_s3_refuses_a_request_for_another_host(serve: Serve, host: str) -> None:
    """moto's S3 too: a page reaching it by DNS rebinding could otherwise read and write the local bucket."""
    port = serve.port("AWS_ENDPOINT_URL_S3")
    request = f"GET / HTTP/1.1\r\nHost: {host.format(port=port)}\r\nConnection: close\r\n\r\n"
    response, _ = exchange(port, request.encode())
    assert response.startswith(b"HTTP/1.1 403 "), response[:200]
    assert b"<Code>AccessDenied</Code>" in response


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "demo-bucket.localhost:{port}"])
def test_the_local_s3_answers_a_loopback_name(serve: Serve, host: str) -> None:
    port = serve.port("AWS_ENDPOINT_URL_S3")
    request = f"GET / HTTP/1.1\r\nHost: {host.format(port=port)}\r\nConnection: close\r\n\r\n"
    response, _ = exchange(port, request.encode())
    assert not response.startswith(b"HTTP/1.1 403 "), response[:300]
    assert b"this server answers only" not in response


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"])
def test_a_request_for_a_loopback_name_is_answered(serve: Serve, host: str) -> None:
    port = serve.port("AWS_ENDPOINT_URL_XRAY")
    body = b'{"TraceIds": []}'
    head = f"POST /Traces HTTP/1.1\r\nHost: {host.format(port=port)}\r\nContent-Length: {len(body)}\r\n"
    response, _ = exchange(port, head.encode() + b"Connection: close\r\n\r\n" + body)
    assert response.startswith(b"HTTP/1.1 200 "), response[:200]


def test_an_endpoint_that_quotes_the_request_back_shows_no_secret(tmp_path: Path) -> None:
    echo = RecordingProxy(None, echo=True)
    try:
        args = ["list-annotations", "--since", "5m", "--endpoint-url", echo.url]
        plain = _debug_run(tmp_path, args, debug=False)
        debug = _debug_run(tmp_path, args)
    finally:
        echo.close()
    signatures = echo.signatures()
    assert signatures and SESSION_TOKEN.encode() in bytes(echo.sent)
    for result, logged in ((plain, False), (debug, True)):
        assert result.returncode == ExitCode.USAGE, result.stderr
        assert "bad request: POST /TraceSummaries" in result.stderr  # the endpoint's message is shown ...
        _assert_no_secret(result.stderr, signatures, debug=logged)  # ... without our credentials in it


def test_the_otel_twin_is_deployed_as_aws_documents_the_adot_layer() -> None:
    from cfnlint.decode import decode_str

    template, _ = decode_str((FUNCTION_DIR / "template.yaml").read_text())
    twin = template["Resources"]["OtelFunction"]
    properties = twin["Properties"]
    assert properties["Tracing"] == "Active"
    assert properties["Layers"] == [{"Ref": "OtelLayerArn"}]
    assert properties["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"
    # The layer's ARN is the region's: a parameter, checked to name the ADOT Python layer.
    pattern = template["Parameters"]["OtelLayerArn"]["AllowedPattern"]
    assert re.fullmatch(
        pattern, "arn:aws:lambda:eu-central-1:615299751070:layer:AWSOpenTelemetryDistroPython:11"
    )
    assert not re.fullmatch(pattern, "arn:aws:lambda:eu-central-1:615299751070:layer:SomethingElse:11")
    assert twin["Condition"] == template["Outputs"]["OtelFunctionName"]["Condition"]
