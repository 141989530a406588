"""Clients built from options and the AWS environment, and what each botocore failure tells the user.

Failures are produced for real where a real cause is cheap (no credentials, no region, an unknown profile, a
closed port, a server that throttles or stalls on 127.0.0.1); botocore's Stubber produces the service error
codes, which it raises as the same ClientError a real response would.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore import exceptions as bx

from tests.support.cli import run_cli
from tests.support.fakeaws import FakeAws
from xrayctl.aws.clients import AwsOptions, Clients
from xrayctl.aws.errors import translate_errors
from xrayctl.errors import (
    ConfigError,
    ExitCode,
    Throttled,
    Unreachable,
)
from xrayctl.local.httpserver import Request, Response

TRACE_ID = "1-59602603-23fc5b688855d396af79b496"


@pytest.fixture(autouse=True)
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, region or endpoint from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def server(fake_aws: FakeAws) -> FakeAws:
    fake_aws.respond = lambda request: Response.json(200, {})
    return fake_aws


def _local(url: str, *, max_attempts: int = 5, read_timeout: float = 30.0) -> Clients:
    options = AwsOptions(
        region="us-east-1",
        endpoint_url=url,
        credentials=("x", "y"),
        max_attempts=max_attempts,
        read_timeout=read_timeout,
    )
    return Clients(options)


def test_importing_the_module_does_not_import_boto3() -> None:
    code = "import sys, xrayctl.aws.clients; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_clients_never_import_boto3() -> None:
    """boto3 adds s3transfer and multiprocessing to every command's start for nothing xrayctl uses."""
    code = (
        "import sys; from xrayctl.aws.clients import AwsOptions, Clients; "
        "c = Clients(AwsOptions(region='us-east-1', credentials=('a', 'b'))); c.xray; c.lambda_; "
        "print('boto3' in sys.modules, 's3transfer' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_clients_are_created_once_and_configured() -> None:
    clients = _local("http://127.0.0.1:1")
    assert clients.xray is clients.xray
    config: Any = clients.xray.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (config.connect_timeout, config.read_timeout) == (5.0, 30.0)
    lambda_config: Any = clients.lambda_.meta.config
    assert lambda_config.read_timeout == 900.0  # Invoke waits for the function to finish
    assert "xrayctl/0.1.0" in config.user_agent_extra
    assert clients.cloudformation.meta.service_model.service_name == "cloudformation"


def test_models_in_aws_data_path_are_used_as_botocore_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """xrayctl's own data loader skips botocore's scan of every service, not the user's AWS_DATA_PATH."""
    import botocore

    version = "2016-04-12"
    shipped = Path(botocore.__file__).parent / "data" / "xray" / version
    gzipped = shipped / "service-2.json.gz"  # how recent botocore ships its models
    raw = (
        gzip.decompress(gzipped.read_bytes())
        if gzipped.exists()
        else (shipped / "service-2.json").read_bytes()
    )
    model = json.loads(raw)
    model["operations"]["XrayctlProbe"] = {
        "name": "XrayctlProbe",
        "http": {"method": "POST", "requestUri": "/XrayctlProbe"},
    }
    (tmp_path / "xray" / version).mkdir(parents=True)
    (tmp_path / "xray" / version / "service-2.json").write_text(json.dumps(model))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    clients = _local("http://127.0.0.1:1")
    assert hasattr(clients.xray, "xrayctl_probe")
    assert not hasattr(clients.lambda_, "xrayctl_probe")


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set this process's local time zone (TZ), as a user's machine would have it; restored afterwards."""

    def set_zone(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_times_in_answers_are_read_as_the_same_instant_in_utc_whatever_the_machines_zone(
    server: FakeAws, local_zone: Callable[[str], None], zone: str
) -> None:
    local_zone(zone)
    started = datetime(2026, 11, 24, 3, 56, 30, 217535, tzinfo=timezone.utc)
    server.respond = lambda request: Response.json(
        200,
        {
            "TraceSummaries": [{"Id": TRACE_ID, "StartTime": started.timestamp(), "Duration": 0.3}],
            "ApproximateTime": 1795492600,  # an integer, as the service may send it
        },
    )
    answer = _local(server.url).xray.get_trace_summaries(StartTime=started, EndTime=started)
    start = answer["TraceSummaries"][0]["StartTime"]
    assert start == started
    # The offset is what JSON output prints: +00:00 on every machine, as xrayctl shows every time in UTC.
    assert start.utcoffset() == timedelta(0)
    assert answer["ApproximateTime"] == datetime(2026, 11, 24, 3, 56, 40, tzinfo=timezone.utc)
    assert answer["ApproximateTime"].utcoffset() == timedelta(0)


def test_endpoint_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_XRAY", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    clients = Clients(AwsOptions())
    assert clients.xray.meta.endpoint_url == "http://127.0.0.1:4566"
    assert clients.xray.meta.region_name == "eu-west-1"
    assert clients.lambda_.meta.endpoint_url == "https://lambda.eu-west-1.amazonaws.com"


def test_explicit_endpoint_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_XRAY", "http://127.0.0.1:4566")
    clients = Clients(AwsOptions(region="us-east-1", endpoint_url="http://127.0.0.1:9000"))
    assert clients.xray.meta.endpoint_url == "http://127.0.0.1:9000"


def test_service_endpoints_win_over_the_shared_endpoint() -> None:
    options = AwsOptions(
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9000",
        service_endpoints={"lambda": "http://127.0.0.1:9001"},
    )
    clients = Clients(options)
    assert clients.lambda_.meta.endpoint_url == "http://127.0.0.1:9001"
    assert clients.xray.meta.endpoint_url == "http://127.0.0.1:9000"


def test_aws_region_wins_over_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert Clients(AwsOptions()).xray.meta.region_name == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert Clients(AwsOptions()).xray.meta.region_name == "eu-central-1"
    assert Clients(AwsOptions(region="sa-east-1")).xray.meta.region_name == "sa-east-1"


def test_profile_from_the_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile dev]\nregion = ap-southeast-2\n")
    assert Clients(AwsOptions(profile="dev")).xray.meta.region_name == "ap-southeast-2"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert Clients(AwsOptions()).xray.meta.region_name == "ap-southeast-2"


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nope") as caught:
        Clients(AwsOptions(profile="nope")).client("xray")
    assert "list-profiles" in (caught.value.fix or "")
    assert isinstance(caught.value.__cause__, bx.ProfileNotFound)
    assert caught.value.exit_code == ExitCode.CONFIG


def test_no_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Clients(AwsOptions()).client("xray")
    assert caught.value.fix == "Pass --region or set AWS_REGION."


def test_no_credentials_is_a_config_error(server: FakeAws) -> None:
    clients = Clients(AwsOptions(region="us-east-1", endpoint_url=server.url))
    with pytest.raises(ConfigError) as caught, translate_errors():
        clients.xray.batch_get_traces(TraceIds=[TRACE_ID])
    assert "aws configure" in (caught.value.fix or "") and "AWS_PROFILE" in (caught.value.fix or "")
    assert isinstance(caught.value.__cause__, bx.NoCredentialsError)
    assert server.seen == []  # nothing unsigned left the machine


def test_partial_credentials_are_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    with pytest.raises(ConfigError, match="credentials"), translate_errors():
        Clients(AwsOptions(region="us-east-1")).session.get_credentials()


def test_closed_port_is_unreachable_naming_the_endpoint() -> None:
    with socket_port() as port:
        pass  # the port is free again: nothing listens on it
    clients = _local(f"http://127.0.0.1:{port}", max_attempts=1)
    with pytest.raises(Unreachable, match=f"127.0.0.1:{port}") as caught, translate_errors():
        clients.xray.batch_get_traces(TraceIds=[TRACE_ID])
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert isinstance(caught.value.__cause__, bx.EndpointConnectionError)
    assert "local stack" in (caught.value.fix or "")


def test_stalled_server_is_a_timeout(server: FakeAws) -> None:
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(5)
        return Response.json(200, {})

    server.respond = stall
    clients = _local(server.url, max_attempts=1, read_timeout=0.2)
    try:
        with pytest.raises(Unreachable, match="Timed out") as caught, translate_errors():
            clients.xray.batch_get_traces(TraceIds=[TRACE_ID])
    finally:
        release.set()
    assert isinstance(caught.value.__cause__, bx.ReadTimeoutError)


def test_throttled_after_botocore_retries(server: FakeAws) -> None:
    server.respond = lambda request: Response.aws_error(429, "ThrottledException", "Rate exceeded")
    clients = _local(server.url, max_attempts=2)
    with pytest.raises(Throttled, match="after 2 attempts") as caught, translate_errors():
        clients.xray.get_trace_summaries(
            StartTime=datetime.now(timezone.utc), EndTime=datetime.now(timezone.utc)
        )
    assert len(server.seen) == 2  # botocore retried before giving up
    assert caught.value.exit_code == ExitCode.THROTTLED


class socket_port:
    """A port number that was free a moment ago (bound, then released)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


# ----------------------------------------------------------------------------------------- retries, --debug


def test_the_users_max_attempts_win_but_invoke_is_never_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    clients = _local("http://127.0.0.1:1")
    assert clients.xray.meta.config.retries == {"total_max_attempts": 2, "mode": "adaptive"}
    assert clients.lambda_.meta.config.retries == {"total_max_attempts": 1, "mode": "adaptive"}


SECRET_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "SECRETSECRET",
    "AWS_SESSION_TOKEN": "TOKENTOKEN",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _signature(request: Request) -> str:
    authorization = {k.lower(): v for k, v in request.headers.items()}["authorization"]
    return authorization.rpartition("Signature=")[2]


def test_debug_log_shows_requests_without_secrets(server: FakeAws) -> None:

    server.respond = lambda request: Response.json(200, {"Traces": []})
    args = ["--debug", "show-trace", TRACE_ID, "--no-wait", "--endpoint-url", server.url]
    result = run_cli(args, env=SECRET_ENV)
    assert result.exit_code == ExitCode.NOT_FOUND, result.stderr
    assert "Sending http request" in result.stderr and "<redacted>" in result.stderr
    signatures = {_signature(request) for request in server.seen}
    for secret in ("SECRETSECRET", "TOKENTOKEN", *signatures):
        assert secret not in result.stderr


def test_a_later_command_without_debug_logs_nothing(server: FakeAws) -> None:
    server.respond = lambda request: Response.json(200, {"Traces": []})
    args = ["show-trace", TRACE_ID, "--no-wait", "--endpoint-url", server.url]
    assert "botocore" in run_cli(["--debug", *args], env=SECRET_ENV).stderr
    assert "botocore" not in run_cli(args, env=SECRET_ENV).stderr  # same process, as in these tests


ASSUME_ROLE_RESPONSE = b"""<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/reader/xrayctl</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:xrayctl</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAROLEKEYID</AccessKeyId>
      <SecretAccessKey>ROLESECRETROLESECRET</SecretAccessKey>
      <SessionToken>ROLETOKENROLETOKEN</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>"""


def test_debug_log_hides_the_credentials_of_an_assumed_role(server: FakeAws, tmp_path: Path) -> None:
    """A profile that assumes a role: STS's answer (logged whole by botocore) holds the role's keys."""

    def respond(request: Request) -> Response:
        if b"Action=AssumeRole" in request.body:
            return Response(200, ASSUME_ROLE_RESPONSE, {"Content-Type": "text/xml"})
        return Response.json(200, {"Traces": []})

    server.respond = respond
    config = tmp_path / "config"
    config.write_text(
        "[profile base]\nregion = us-east-1\n"
        "[profile reader]\nrole_arn = arn:aws:iam::123456789012:role/reader\nsource_profile = base\n"
        "region = us-east-1\n"
    )
    credentials = tmp_path / "credentials"
    credentials.write_text("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = BASESECRET\n")
    env = {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_ENDPOINT_URL_STS": server.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    args = [
        "--debug",
        "--profile",
        "reader",
        "show-trace",
        TRACE_ID,
        "--no-wait",
        "--endpoint-url",
        server.url,
    ]
    result = run_cli(args, env=env)
    assert result.exit_code == ExitCode.NOT_FOUND, result.stderr
    assert "OperationModel(name=AssumeRole)" in result.stderr  # the credential call is logged ...
    xray_calls = [r for r in server.seen if b"Action=AssumeRole" not in r.body]
    assert "ASIAROLEKEYID" in {k.lower(): v for k, v in xray_calls[0].headers.items()}["authorization"]
    for secret in ("BASESECRET", "ROLESECRETROLESECRET", "ROLETOKENROLETOKEN"):
        assert secret not in result.stderr  # ... but not the keys in it


# ---------------------------------------------------------------------- the client list-annotations reads


@pytest.fixture
def demo_api(tmp_path: Path) -> Iterator[str]:
    """The local X-Ray API holding the demo function's traces (annotations with their services, a fault)."""
    from tests.unit.local.test_xray_api import demo_documents
    from xrayctl.local.xray.api import XRayApiServer
    from xrayctl.local.xray.store import TraceStore

    store = TraceStore(tmp_path / "traces.sqlite3")
    assert store.put_documents([json.dumps(document) for document in demo_documents()]) == []
    api = XRayApiServer(store).start()
    try:
        yield api.url
    finally:
        api.stop()
        store.close()


def test_the_rows_client_reads_the_same_rows_and_parses_nothing_else(demo_api: str) -> None:
    """botocore parses a summary member by member of its model: the rows client's model has only what the
    annotation rows show (half the parsing), and its rows are the full client's."""
    from xrayctl.trace.annotations import listing

    clients = _local(demo_api)
    window = {"StartTime": datetime(2026, 1, 1), "EndTime": datetime(2027, 1, 1)}
    full = clients.xray.get_trace_summaries(**window)["TraceSummaries"]
    rows = clients.xray_rows.get_trace_summaries(**window)["TraceSummaries"]
    assert listing([rows]) == listing([full])
    assert len(rows) == 3 and any(summary["HasFault"] for summary in rows)
    assert set().union(*rows) == {
        "Id", "StartTime", "Duration", "ResponseTime", "HasFault", "HasError", "HasThrottle", "Annotations"
    }  # fmt: skip
    assert {"ServiceIds", "EntryPoint", "FaultRootCauses"} <= set().union(*full)
    values = [entry for summary in rows for entries in summary["Annotations"].values() for entry in entries]
    assert values and all(set(entry) == {"AnnotationValue"} for entry in values)
    # The full client is untouched by the other's model: it still reads every member.
    assert clients.xray.get_trace_summaries(**window)["TraceSummaries"] == full


def test_the_rows_client_is_x_ray_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_XRAY", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    rows = Clients(AwsOptions()).xray_rows
    assert rows.meta.endpoint_url == "http://127.0.0.1:4566" and rows.meta.region_name == "eu-west-1"
    assert rows.meta.service_model.service_id == "XRay"
    assert rows.meta.service_model.api_version == Clients(AwsOptions()).xray.meta.service_model.api_version
