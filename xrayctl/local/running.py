"""How commands find a running `xrayctl local serve`, and the endpoints they get either way.

`local serve` runs a stack in the foreground for a long time and writes `home / "serve.json"` (atomically)
while it runs; every other command given --local reads it, checks that the process is alive and that its
X-Ray endpoint answers, and uses that stack instead of starting its own. A file left by a killed serve is
removed the first time it is found stale.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from xrayctl.errors import LocalStackError

if TYPE_CHECKING:
    from xrayctl.local.stack import LocalStack

logger = logging.getLogger(__name__)

SERVE_FILE = "serve.json"
_FORMAT = 1
# The LocalStack options that decide what `invoke` runs; the others (api_delay) do not matter to a caller.
_FUNCTION_OPTIONS = ("code_dir", "handler", "timeout", "memory_mb", "function_name", "bucket")
_HEALTH_TIMEOUT = 1.0  # seconds: the stack is on loopback, so a live one answers at once


@dataclass(frozen=True)
class LocalEndpoints:
    """Where a local stack listens, and the fixed identity to reach it with: all a boto3 session needs."""

    endpoints: Mapping[str, str]  # service ("xray", "lambda", "s3") -> http://127.0.0.1:port
    region: str
    credentials: tuple[str, str]  # (access key id, secret access key): dummy values, the same everywhere
    function_name: str
    bucket: str
    daemon_address: str  # 127.0.0.1:port, for AWS_XRAY_DAEMON_ADDRESS

    def env_lines(self) -> list[str]:
        """`NAME=value` lines that point the AWS CLI, boto3 and the X-Ray SDK at this stack."""
        access_key, secret_key = self.credentials
        return [
            f"AWS_ENDPOINT_URL_XRAY={self.endpoints['xray']}",
            f"AWS_ENDPOINT_URL_LAMBDA={self.endpoints['lambda']}",
            f"AWS_ENDPOINT_URL_S3={self.endpoints['s3']}",
            f"AWS_ACCESS_KEY_ID={access_key}",
            f"AWS_SECRET_ACCESS_KEY={secret_key}",
            f"AWS_REGION={self.region}",
            f"AWS_DEFAULT_REGION={self.region}",  # the name boto3 and the AWS CLI v1 read
            f"AWS_XRAY_DAEMON_ADDRESS={self.daemon_address}",
        ]


def find_running(home: Path) -> LocalEndpoints | None:
    """The endpoints of a `local serve` running for `home`, or None (a stale serve file is removed)."""
    found = _find(home)
    return found[0] if found else None


@contextlib.contextmanager
def local_endpoints(home: Path, **stack_options: Any) -> Iterator[LocalEndpoints]:
    """Yield the running serve's endpoints, or run a LocalStack(home, **stack_options) for the block.

    A serve whose function differs from what `stack_options` ask for (another --code, --handler...) is not
    used: the command gets its own stack, as it would have without the serve.
    """
    found = _find(home)
    if found is not None:
        endpoints, serving_function = found
        wanted = _comparable(stack_options)
        if all(serving_function.get(key) == value for key, value in wanted.items()):
            yield endpoints
            return
        # Say so: the user may expect the serve's warm runtime, or to see this call in its window.
        logger.warning("`local serve` runs another function: this command starts a local stack of its own")
    from xrayctl.local.stack import LocalStack

    with LocalStack(home, **stack_options) as stack:
        yield stack.local_endpoints


@contextlib.contextmanager
def serving(home: Path, **stack_options: Any) -> Iterator[LocalStack]:
    """Run a LocalStack for `local serve`: advertised in serve.json for as long as the block runs."""
    running = find_running(home)
    if running is not None:
        raise LocalStackError(
            f"A local stack is already serving {home} (X-Ray API at {running.endpoints['xray']}).",
            "Use it (commands given --local find it), stop it, or set XRAYCTL_HOME to another directory.",
        )
    from xrayctl.local.stack import LocalStack

    with LocalStack(home, **stack_options) as stack:
        path = home / SERVE_FILE
        _write_record(path, stack.local_endpoints, _comparable(stack.options))
        try:
            yield stack
        finally:
            _remove_if_unchanged(path, os.getpid())


def _write_record(path: Path, endpoints: LocalEndpoints, function: Mapping[str, Any]) -> None:
    record = {
        "format": _FORMAT,
        "pid": os.getpid(),
        "endpoints": dict(endpoints.endpoints),
        "daemon_address": endpoints.daemon_address,
        "function_name": endpoints.function_name,
        "bucket": endpoints.bucket,
        "region": endpoints.region,
        "credentials": list(endpoints.credentials),
        "function": dict(function),
    }
    # Written beside the target and renamed over it, so a reader never sees half a file.
    fd, temporary = tempfile.mkstemp(prefix=".serve-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(record, stream, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: treated as stale
    return record if isinstance(record, dict) else {}


def _find(home: Path) -> tuple[LocalEndpoints, dict[str, Any]] | None:
    """The running serve's endpoints and function options; removes a serve file that leads nowhere."""
    path = home / SERVE_FILE
    record = _load(path)
    if record is None:
        return None
    try:
        if record["format"] != _FORMAT:
            raise ValueError(f"serve file format {record['format']!r}")
        endpoints = record["endpoints"]
        access_key, secret_key = record["credentials"]
        parsed = LocalEndpoints(
            endpoints=MappingProxyType({name: str(endpoints[name]) for name in ("xray", "lambda", "s3")}),
            region=str(record["region"]),
            credentials=(str(access_key), str(secret_key)),
            function_name=str(record["function_name"]),
            bucket=str(record["bucket"]),
            daemon_address=str(record["daemon_address"]),
        )
        pid = int(record["pid"])
        function = dict(record.get("function") or {})
    except (KeyError, TypeError, ValueError):
        path.unlink(missing_ok=True)  # damaged, or from another version: no serve can be reached through it
        return None
    if _alive(pid) and _answers(parsed.endpoints["xray"]):
        return parsed, function
    _remove_if_unchanged(path, pid)
    return None


def _comparable(function: Mapping[str, Any]) -> dict[str, Any]:
    """The function-shaping options among `function`, as they compare after a trip through JSON."""
    return {
        key: str(Path(value).resolve()) if key == "code_dir" else value
        for key, value in function.items()
        if key in _FUNCTION_OPTIONS
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else; the health check decides
    return True


def _answers(xray_url: str) -> bool:
    """Whether an xrayctl X-Ray API answers at `xray_url` (and not some other program that took the port)."""
    parts = urlsplit(xray_url)
    if parts.hostname is None or parts.port is None:
        return False
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=_HEALTH_TIMEOUT)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _remove_if_unchanged(path: Path, pid: int) -> None:
    """Remove the serve file if it still names `pid`: a new serve may have replaced it meanwhile."""
    record = _load(path)
    if record is not None and record.get("pid") in (pid, None):
        path.unlink(missing_ok=True)
