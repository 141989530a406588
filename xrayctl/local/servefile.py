"""serve.json: how `xrayctl local serve` tells other commands where it runs.

`local serve` runs a stack in the foreground for a long time and writes `home / "serve.json"` (atomically)
while it runs; every other command given --local reads it, checks that the process is alive and that its
X-Ray endpoint answers, and uses that stack instead of starting its own. A file left by a killed serve is
removed the first time it is found stale.

One serve per home: before it starts anything, a serve takes an exclusive lock on `home / "serve.lock"`
(`claim`), which it holds until it ends and which the system releases when its process dies, however it
dies. Two serves started at the same instant cannot both pass a check of serve.json (neither has written
it yet); only one can hold the lock. flock on POSIX, msvcrt.locking on Windows: both are released with the
process, and neither leaves anything to clean up (the lock file stays, empty).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from xrayctl.errors import LocalStackError
from xrayctl.local.endpoints import LocalEndpoints
from xrayctl.local.options import ResolvedFunction

SERVE_FILE = "serve.json"
LOCK_FILE = "serve.lock"
# 2: `function` is a ResolvedFunction; 3: it has `sdk`. A file of another format is from another version
# of xrayctl.
_FORMAT = 3
_HEALTH_TIMEOUT = 1.0  # seconds: the stack is on loopback, so a live one answers at once


def find_running(home: Path) -> LocalEndpoints | None:
    """The endpoints of a `local serve` running for `home`, or None (a stale serve file is removed)."""
    found = find(home)
    return found[0] if found else None


def write_record(path: Path, endpoints: LocalEndpoints, function: ResolvedFunction) -> None:
    record = {
        "format": _FORMAT,
        "pid": os.getpid(),
        "endpoints": dict(endpoints.endpoints),
        "daemon_address": endpoints.daemon_address,
        "function_name": endpoints.function_name,
        "bucket": endpoints.bucket,
        "region": endpoints.region,
        "credentials": list(endpoints.credentials),
        "function": function.to_json(),
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


def find(home: Path) -> tuple[LocalEndpoints, ResolvedFunction] | None:
    """The running serve's endpoints and the function it runs; removes a serve file that leads nowhere."""
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
        function = ResolvedFunction.from_json(record["function"])
    except (KeyError, TypeError, ValueError):
        path.unlink(missing_ok=True)  # damaged, or from another version: no serve can be reached through it
        return None
    if _alive(pid) and _answers(parsed.endpoints["xray"]):
        return parsed, function
    remove_if_unchanged(path, pid)
    return None


@contextlib.contextmanager
def claim(home: Path) -> Iterator[None]:
    """Hold `home`'s serve lock for the block; LocalStackError if another serve holds it."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LocalStackError(
            f"Cannot create the local stack's directory {home}: {exc.strerror}.",
            "Set XRAYCTL_HOME to a directory you can write to.",
        ) from exc
    try:
        if not _try_lock(fd):
            running = find_running(home)
            where = f" (X-Ray API at {running.endpoints['xray']})" if running else " (it is starting)"
            raise LocalStackError(
                f"A local stack is already serving {home}{where}.",
                "Use it (commands given --local find it), stop it, or set XRAYCTL_HOME to another directory.",
            )
        yield  # the lock goes with the descriptor, closed below (or by the system, with the process)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    if os.name == "nt":  # pragma: no cover - Windows: a lock on the file's first byte
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there: the health check alone decides
        return True
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


def remove_if_unchanged(path: Path, pid: int) -> None:
    """Remove the serve file if it still names `pid`: a new serve may have replaced it meanwhile."""
    record = _load(path)
    if record is not None and record.get("pid") in (pid, None):
        path.unlink(missing_ok=True)
