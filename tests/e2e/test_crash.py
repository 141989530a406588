"""The local stack when things go wrong: a killed serve, two writers, a read-only or full disk, garbage on the
daemon's port, and functions that crash or hang.

Everything runs as a user runs it: `xrayctl local serve` in a child process, boto3 clients, datagrams on the
daemon's UDP port, and /proc to see which processes are left (tests/support/serve.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import secrets
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.support.serve import XRAYCTL, Serve, descendants, processes_with, running, serve_env
from xrayctl.errors import ExitCode
from xrayctl.local.xray.store import TraceStore

pytestmark = pytest.mark.e2e

HEADER = b'{"format":"json","version":1}\n'


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def segment(trace_id: str | None = None, **extra: Any) -> dict[str, Any]:
    now = time.time()
    return {
        "name": "crash-test",
        "id": secrets.token_hex(8),
        "trace_id": trace_id or new_trace_id(),
        "start_time": now,
        "end_time": now + 0.01,
        **extra,
    }


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stored_ids(store_path: Path, trace_ids: list[str]) -> set[str]:
    """The ids of the documents the store holds for `trace_ids` (read directly, in this process)."""
    store = TraceStore(store_path)
    try:
        found: set[str] = set()
        for offset in range(0, len(trace_ids), 100):
            traces, _ = store.batch_get(trace_ids[offset : offset + 100])
            found.update(segment["Id"] for trace in traces for segment in trace["Segments"])
        return found
    finally:
        store.close()


# -- kill -9 in the middle of ingestion --


def test_every_acknowledged_segment_survives_kill_9_of_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    serve = Serve(home)
    runtimes = descendants(serve.pid)
    acknowledged: list[dict[str, Any]] = []
    sent_batches = threading.Event()
    stop = threading.Event()
    failures: list[str] = []

    def ingest() -> None:
        client = serve.client("xray", retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10)
        while not stop.is_set():
            batch = [segment() for _ in range(20)]
            try:
                answer = client.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc) for doc in batch])
            except (BotoCoreError, ClientError) as exc:
                failures.append(type(exc).__name__)
                return  # serve is gone: what it never answered was never acknowledged
            if "UnprocessedTraceSegments" not in answer:  # the answer was cut off (urllib3 1.x lets it pass)
                failures.append("truncated answer")
                return
            refused = {entry["Id"] for entry in answer["UnprocessedTraceSegments"]}
            acknowledged.extend(doc for doc in batch if doc["id"] not in refused)
            if len(acknowledged) >= 600:
                sent_batches.set()

    writers = [threading.Thread(target=ingest) for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        assert sent_batches.wait(60), f"ingestion stalled: {failures}"
        serve.kill()  # while three writers are in the middle of their requests
        for writer in writers:
            writer.join(timeout=30)
    finally:
        stop.set()
    assert failures, "no request was cut off by the kill"
    assert runtimes and wait_for(lambda: not any(running(pid) for pid in runtimes)), "orphaned runtime"

    # A new serve on the same home: the stale serve.json is replaced, and the database opens.
    again = Serve(home)
    try:
        xray = again.client("xray")
        assert xray.get_trace_summaries(StartTime=time.time() - 300, EndTime=time.time())["TraceSummaries"]
        xray.close()
    finally:
        assert again.stop() == 0
    trace_ids = [doc["trace_id"] for doc in acknowledged]
    missing = {doc["id"] for doc in acknowledged} - stored_ids(home / "traces.sqlite3", trace_ids)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged segments were lost"


# -- two writers on one store --

WRITER = textwrap.dedent(
    """
    import json, secrets, sys, time
    from pathlib import Path
    from xrayctl.local.xray.store import TraceStore

    path, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    while not go.exists():
        time.sleep(0.001)
    store = TraceStore(path)  # both open the new file at the same moment
    written = []
    for batch in range(100):
        docs = [{"name": name, "id": secrets.token_hex(8), "trace_id": f"1-6b04c914-{secrets.token_hex(12)}",
                 "start_time": time.time(), "end_time": time.time()} for _ in range(10)]
        assert store.put_documents([json.dumps(doc) for doc in docs]) == []
        written += [doc["trace_id"] + "/" + doc["id"] for doc in docs]
        if batch % 50 == 0:
            store.summaries(0, time.time() + 1)  # a reader in the middle of the other's writes
    store.close()
    print(json.dumps(written))
    """
)


def test_two_processes_writing_one_store_at_once_lose_nothing(tmp_path: Path) -> None:
    for round_ in range(2):  # opening a new store at the same moment is its own race: try it twice
        path, go = tmp_path / f"traces-{round_}.db", tmp_path / f"go-{round_}"
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(path), str(go), name],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("one", "two")
        ]
        go.touch()
        results = [writer.communicate(timeout=120) for writer in writers]
        for writer, (_, stderr) in zip(writers, results, strict=True):
            assert writer.returncode == 0, stderr
        written = [key for stdout, _ in results for key in json.loads(stdout)]
        assert len(written) == 2000
        ids = [key.split("/")[0] for key in written]
        assert stored_ids(path, ids) == {key.split("/")[1] for key in written}


# -- a read-only or full disk --


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[bool]:
    """A real tmpfs of `size` at `where` where we may mount one (root, Linux); yields whether it is one."""
    where.mkdir()
    mounted = False
    if os.geteuid() == 0 and sys.platform == "linux":
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
            ).returncode
            == 0
        )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=True)


def make_read_only(folder: Path, mounted: bool) -> None:
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:  # not root: permissions are enough
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def run_xrayctl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*XRAYCTL, *args], env=serve_env(home), capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("existing_store", [False, True], ids=["new-home", "existing-store"])
def test_a_read_only_home_is_one_clear_line_and_exit_1(tmp_path: Path, existing_store: bool) -> None:
    disk = tmp_path / "disk"
    with tmpfs(disk, "4m") as mounted:
        home = disk / "home"
        if existing_store:
            home.mkdir()
            store = TraceStore(home / "traces.sqlite3")
            assert store.put_documents([json.dumps(segment())]) == []
            store.close()
        make_read_only(disk, mounted)
        commands = [["local", "serve"], ["--local", "invoke", "--no-show"]]
        if existing_store:  # with no store there is nothing to reset, and reset says so
            commands.append(["local", "reset", "--yes"])
        for args in commands:
            result = run_xrayctl(home, *args)
            assert result.returncode == ExitCode.ERROR, (args, result.stderr)
            (line,) = result.stderr.splitlines()  # one line: no traceback, no second message
            assert line.startswith("xrayctl: ") and str(home) in line, line
            assert re.search(r"[Rr]ead-only|writable directory", line), line


@pytest.mark.parametrize("full", ["tmpfs", "file-size-limit"])
def test_a_full_disk_is_an_error_answer_never_an_acknowledgement(tmp_path: Path, full: str) -> None:
    disk = tmp_path / "disk"
    with tmpfs(disk, "1m") if full == "tmpfs" else contextlib.nullcontext(False) as mounted:
        if full == "tmpfs" and not mounted:
            pytest.skip("mounting a tmpfs takes root: the file-size-limit case fills the disk without one")
        home = disk / "home"
        limit: Callable[[], None] | None = None
        if not mounted:  # the file-size limit makes the disk "full" for serve alone, for real (EFBIG)

            def limit() -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))

        serve = Serve(home, preexec_fn=limit)
        acknowledged: list[dict[str, Any]] = []
        try:
            xray = serve.client("xray", retries={"max_attempts": 1})
            with pytest.raises(ClientError) as refused:
                for _ in range(1000):
                    batch = [segment(annotations={"pad": "x" * 3000}) for _ in range(10)]
                    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc) for doc in batch])
                    assert answer["UnprocessedTraceSegments"] == []
                    acknowledged.extend(batch)
            error = refused.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
            assert error["Error"]["Code"] == "ServiceException"
            message = error["Error"]["Message"]
            assert message.startswith(f"The local trace store {home / 'traces.sqlite3'} could not store"), (
                message
            )
            assert "full" in message or "disk I/O error" in message, message
            # Serve goes on: reads still work, and it stops cleanly.
            assert xray.batch_get_traces(TraceIds=[acknowledged[0]["trace_id"]])["Traces"]
            with contextlib.suppress(ClientError):  # fill what is left with small segments
                for _ in range(10_000):
                    doc = segment()
                    assert xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc)])
                    acknowledged.append(doc)
            # A nearly full disk can still take a small write now and then (SQLite rewrites the frames a
            # rolled-back transaction left in the WAL), and one CI run stored the whole invocation that way.
            # From here the disk takes nothing at all, so what follows is the same on every run.
            resource.prlimit(serve.pid, resource.RLIMIT_FSIZE, (0, 0))
            # A command that waits for a trace the store could not take says why at once, in one line, instead
            # of waiting out its --timeout and calling the trace "not found".
            xray.close()
            result = run_xrayctl(home, "--local", "invoke", "--timeout", "60", "-o", "json")
            assert result.returncode == ExitCode.UNREACHABLE, result.stderr
            last = result.stderr.splitlines()[-1]
            assert last.startswith("xrayctl: BatchGetTraces failed") and "could not store segment" in last
            # The call itself worked, and its result is shown.
            assert json.loads(result.stdout)["invocations"][0]["payload_json"]["ok"] is True
        finally:
            assert serve.stop() == 0, serve.stderr
        assert acknowledged
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
        trace_ids = [doc["trace_id"] for doc in acknowledged]
        assert stored_ids(home / "traces.sqlite3", trace_ids) == {doc["id"] for doc in acknowledged}


# -- malformed datagrams --


def test_malformed_datagrams_are_counted_and_reported_and_the_good_ones_stored(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "home")
    good = [segment() for _ in range(8)]
    largest = segment(annotations={"pad": ""})
    # The largest datagram UDP over IPv4 carries (65,507 bytes): a valid document, under X-Ray's 64 KB.
    largest["annotations"]["pad"] = "x" * (65_507 - len(HEADER) - len(json.dumps(largest).encode()))
    garbage = {
        "no header": [json.dumps(segment()).encode(), b"", secrets.token_bytes(512).replace(b"\n", b"")],
        "bad header": [b"\xff\xfe\x00garbage\n" + json.dumps(segment()).encode(), b'{"format":"xml"}\n{}'],
        "bad JSON": [HEADER, HEADER + b'{"id": ', HEADER + b"\xc3\x28{}", HEADER + secrets.token_bytes(300)],
        "unprocessed by the store": [
            HEADER + b"[1, 2]",
            HEADER + b'"text"',
            HEADER + b"{}",
            HEADER + b"null",
        ],
    }
    bad = [datagram for datagrams in garbage.values() for datagram in datagrams]
    sequence: list[bytes] = []
    for index, datagram in enumerate(bad):  # good and bad interleaved
        if index < len(good):
            sequence.append(HEADER + json.dumps(good[index]).encode())
        sequence.append(datagram)
    sequence.append(HEADER + json.dumps(largest).encode())
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in sequence:
                sender.sendto(datagram, serve.daemon)
        xray = serve.client("xray")
        # The daemon is still up after all that: the last valid document is stored.
        assert wait_for(lambda: bool(xray.batch_get_traces(TraceIds=[largest["trace_id"]])["Traces"]))
        xray.close()
    finally:
        assert serve.stop() == 0, serve.stderr
    lines = serve.stderr.splitlines()
    (summary,) = [line for line in lines if line.startswith("daemon:")]
    stored, rejected = len(good) + 1, len(bad)
    # Counted, with the reason for each (the store's refusals included), and each one logged as it happened.
    by_reason = ", ".join(f"{len(datagrams)} {reason}" for reason, datagrams in garbage.items())
    assert (
        summary == f"daemon: received {stored + rejected}, stored {stored}, rejected {rejected} ({by_reason})"
    )
    warnings = [line for line in lines if line.startswith("xrayctl: warning: rejected")]
    assert len(warnings) == rejected
    assert not any("\x1b" in line or "Traceback" in line for line in lines)
    found = stored_ids(tmp_path / "home" / "traces.sqlite3", [doc["trace_id"] for doc in [*good, largest]])
    assert found == {doc["id"] for doc in [*good, largest]}


# -- functions that crash or hang --

HANDLER = textwrap.dedent(
    """
    import ctypes, os, signal, subprocess, sys, time
    from pathlib import Path

    SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"

    def main(event, context):
        Path(event["pidfile"]).write_text(str(os.getpid()))
        action = event["action"]
        if action == "ok":
            return {"pid": os.getpid()}
        if action == "exit":
            os._exit(7)
        if action == "segfault":
            ctypes.string_at(0)
        if action == "system_exit":
            raise SystemExit(3)
        if action == "hang":
            time.sleep(120)
        if action == "ignore_sigterm":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(120)
        if action == "spawn_then_exit":
            subprocess.Popen([sys.executable, "-c", SLEEPER])
            os._exit(1)
        if action == "spawn_then_hang":
            subprocess.Popen([sys.executable, "-c", SLEEPER])
            time.sleep(120)
        if action == "spawn_new_session_then_hang":
            subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
            time.sleep(120)
        raise NotImplementedError(action)
    """
)

CRASHES = {
    "exit": "Runtime.ExitError",
    "segfault": "Runtime.ExitError",
    "system_exit": "Runtime.ExitError",
    "spawn_then_exit": "Runtime.ExitError",
    "hang": "Sandbox.Timedout",
    "ignore_sigterm": "Sandbox.Timedout",
    "spawn_then_hang": "Sandbox.Timedout",
    "spawn_new_session_then_hang": "Sandbox.Timedout",
}


@pytest.fixture(scope="module")
def crashing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Serve, Path]]:
    code = tmp_path_factory.mktemp("crashing-code")
    (code / "handler.py").write_text(HANDLER)
    serve = Serve(
        tmp_path_factory.mktemp("crash-home"),
        "--code",
        str(code),
        "--handler",
        "handler.main",
        "--function-timeout",
        "1",
    )
    try:
        yield serve, code
    finally:
        serve.stop()


@pytest.mark.parametrize("action", list(CRASHES))
def test_a_crashing_or_hanging_function_leaves_no_process_behind(
    crashing: tuple[Serve, Path], action: str, tmp_path: Path
) -> None:
    serve, code = crashing
    functions = serve.client("lambda", retries={"max_attempts": 1}, read_timeout=60)
    pidfile = tmp_path / "pid"
    answer = functions.invoke(
        FunctionName="xrayctl-demo", Payload=json.dumps({"action": action, "pidfile": str(pidfile)})
    )
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == CRASHES[action]
    runtime = int(pidfile.read_text())
    assert not running(runtime)

    # What is left of the function's processes (they all carry its code directory in their environment) is
    # serve's pool of runtimes, each a direct child of serve and nothing below it.
    def only_the_pool() -> bool:
        left = processes_with(str(code)) - {serve.pid}
        children = descendants(serve.pid)
        return left <= children and all(not descendants(pid) for pid in left)

    assert wait_for(only_the_pool, 10), processes_with(str(code))
    after = json.loads(
        functions.invoke(
            FunctionName="xrayctl-demo", Payload=json.dumps({"action": "ok", "pidfile": str(pidfile)})
        )["Payload"].read()
    )
    assert after["pid"] != runtime
    functions.close()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_no_function_process_outlives_serve(tmp_path: Path, how: str) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text(HANDLER)
    serve = Serve(
        tmp_path / "home", "--code", str(code), "--handler", "handler.main", "--function-timeout", "30"
    )
    pidfile = tmp_path / "pid"
    calls: list[threading.Thread] = []
    try:
        # Several runtimes busy at once, each with a child that ignores SIGTERM, when serve is told to stop.
        for action in ("spawn_then_hang", "ignore_sigterm", "spawn_new_session_then_hang"):
            functions = serve.client("lambda", retries={"max_attempts": 1}, read_timeout=60)
            event = json.dumps({"action": action, "pidfile": str(pidfile) + action})
            calls.append(
                threading.Thread(
                    target=_ignore_errors(functions.invoke),
                    kwargs={"FunctionName": "xrayctl-demo", "Payload": event},
                )
            )
            calls[-1].start()
        assert wait_for(
            lambda: all(
                Path(str(pidfile) + a).exists()
                for a in ("spawn_then_hang", "ignore_sigterm", "spawn_new_session_then_hang")
            )
        )
        assert wait_for(lambda: len(processes_with(str(code)) - {serve.pid}) >= 5)
    finally:
        if how == "SIGKILL":  # serve cannot stop anything: the runtimes' watchdogs must
            serve.kill()
        else:
            assert serve.stop() == 0, serve.stderr
        for call in calls:
            call.join(timeout=30)
    assert wait_for(lambda: not processes_with(str(code)), 10), processes_with(str(code))


def _ignore_errors(function: Callable[..., Any]) -> Callable[..., None]:
    def call(**kwargs: Any) -> None:
        with contextlib.suppress(BotoCoreError, ClientError):
            function(**kwargs)

    return call
