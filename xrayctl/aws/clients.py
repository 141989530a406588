"""The botocore session and clients xrayctl talks through.

botocore is imported only when a client is first needed: `xrayctl --help` must not pay ~0.15 s for it, and
boto3 is not imported at all: its session adds only resources and S3 transfers (s3transfer, multiprocessing),
which xrayctl never uses, for ~25 ms of every command's start. Profile,
region, endpoint and credentials come from the standard AWS chain (AWS_PROFILE, AWS_REGION /
AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_XRAY, ~/.aws/config) unless an option overrides them;
the local stack is just other endpoints and fixed credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from xrayctl import __version__
from xrayctl.aws.errors import CONFIG_FIX, translate_errors
from xrayctl.aws.resilience import retry_cut_answers, timeout_setting
from xrayctl.errors import ConfigError

if TYPE_CHECKING:
    import botocore.session
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_xray import XRayClient

# A function may run for up to 15 minutes and Invoke answers only when it is done.
LAMBDA_READ_TIMEOUT = 900.0
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class AwsOptions:
    """Where and as whom to call AWS. None means: whatever the standard AWS chain says."""

    profile: str | None = None
    region: str | None = None
    # Applies to every service; `service_endpoints` (the local stack's, one port per service) wins over it.
    endpoint_url: str | None = None
    service_endpoints: Mapping[str, str] = field(default_factory=dict)
    credentials: tuple[str, str] | None = None  # (access key id, secret key), for the local stack
    # The local stack's calls: the user's profile and config files play no part (a bad AWS_PROFILE, or a
    # profile's settings, must not break or change a stack that needs no account).
    isolated: bool = False
    # None: XRAYCTL_CONNECT_TIMEOUT / XRAYCTL_READ_TIMEOUT (seconds) if set, else the defaults below.
    connect_timeout: float | None = None
    read_timeout: float | None = None
    # Attempts in all, the first included (as AWS_MAX_ATTEMPTS counts them, which wins when set); botocore's
    # "standard" mode retries throttles, 5xx and connection errors with its own back-off.
    max_attempts: int = 5


def _isolated_botocore_session() -> Any:
    import botocore.session

    # botocore's own table of session variables: (config key, env vars, default, converter). No env var and
    # no file: nothing of the user's AWS configuration is read.
    return botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


class Clients:
    """One botocore session and one cached client per service, all created on first use.

    botocore clients are thread-safe, so one client serves the concurrent summary reads.
    """

    def __init__(self, options: AwsOptions) -> None:
        self.options = options
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @cached_property
    def session(self) -> botocore.session.Session:
        import botocore.session

        from xrayctl.aws import botodata

        options = self.options
        with _reading_config():
            session = _isolated_botocore_session() if options.isolated else botocore.session.Session()
            botodata.install(session)
            if options.profile:
                session.set_config_variable("profile", options.profile)
            # botocore reads only AWS_DEFAULT_REGION; the AWS CLI v2 and other SDKs read AWS_REGION first.
            region = options.region or os.environ.get("AWS_REGION")
            if region:
                session.set_config_variable("region", region)
            if options.credentials is not None:
                session.set_credentials(*options.credentials)
            return session

    def client(self, service: str, api_version: str | None = None) -> Any:
        key = service if api_version is None else f"{service} {api_version}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._create(service, api_version)
            return self._clients[key]

    @property
    def xray(self) -> XRayClient:
        return self.client("xray")

    @property
    def xray_rows(self) -> XRayClient:
        """An X-Ray client whose trace summaries hold only what annotation rows show (`botodata`'s rows
        model): for reading many summaries at once, at less than half the parsing."""
        from xrayctl.aws.botodata import ROWS_API_VERSION

        return self.client("xray", ROWS_API_VERSION)

    @property
    def lambda_(self) -> LambdaClient:
        return self.client("lambda")

    @property
    def cloudformation(self) -> CloudFormationClient:
        return self.client("cloudformation")

    def _create(self, service: str, api_version: str | None = None) -> Any:
        from botocore.config import Config

        options = self.options
        # botocore reads the user's configuration here (region, endpoints, retry settings, credential
        # sources): a bad value in it is the user's to fix, not a bug.
        with _reading_config():
            # Invoke is not idempotent: a retry after a read timeout or a 5xx can run the function twice (and
            # write to S3 twice). A failed invoke is reported instead; the user decides whether to run it
            # again. Other calls take the user's AWS_MAX_ATTEMPTS (or max_attempts in the profile) if set,
            # else ours; the retry mode is botocore's choice (AWS_RETRY_MODE, the profile, or "standard").
            try:
                configured = self.session.get_config_variable("max_attempts")
            except ValueError as exc:
                raise ConfigError(
                    f"AWS_MAX_ATTEMPTS (or max_attempts in the profile) is not a whole number: {exc}.",
                    "Set it to the number of attempts, such as 3, or unset it.",
                ) from exc
            attempts = (
                1 if service == "lambda" else options.max_attempts if configured is None else configured
            )
            # Read for every client, Lambda's too: a bad value stops `invoke` before the function runs.
            read_timeout = timeout_setting(options.read_timeout, "XRAYCTL_READ_TIMEOUT", READ_TIMEOUT)
            config = Config(
                retries={"total_max_attempts": attempts},
                connect_timeout=timeout_setting(
                    options.connect_timeout, "XRAYCTL_CONNECT_TIMEOUT", CONNECT_TIMEOUT
                ),
                # Invoke's answer takes as long as the function runs, whatever the other calls are allowed.
                read_timeout=LAMBDA_READ_TIMEOUT if service == "lambda" else read_timeout,
                user_agent_extra=f"xrayctl/{__version__}",
            )
            # None lets botocore apply AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL and the config file.
            endpoint_url = options.service_endpoints.get(service) or options.endpoint_url
            client = self.session.create_client(
                service, endpoint_url=endpoint_url, config=config, api_version=api_version
            )
            retry_cut_answers(client, attempts)
            return client


@contextmanager
def _reading_config() -> Iterator[None]:
    """Translate what botocore raises while it reads the configuration and builds a session or a client.

    Most bad settings raise a botocore error (`translate` knows them); a few raise a bare ValueError: an
    endpoint that is not a URL, a number setting that is not a number (AWS_METADATA_SERVICE_TIMEOUT=abc).
    """
    try:
        with translate_errors():
            yield
    except ValueError as exc:
        message = str(exc)
        if message.startswith("Invalid endpoint: "):
            raise ConfigError(
                f"{message.removeprefix('Invalid endpoint: ')!r} is not an endpoint URL.",
                "Give a whole URL, such as https://xray.us-east-1.amazonaws.com or http://127.0.0.1:4566, "
                "to --endpoint-url (or AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_XRAY, AWS_ENDPOINT_URL_LAMBDA).",
            ) from exc
        raise ConfigError(f"A setting of the AWS configuration is not valid: {message}.", CONFIG_FIX) from exc
