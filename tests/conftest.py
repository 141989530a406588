"""Fixtures every test may ask for (helpers to import are in tests/support)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fakeaws import FakeAws
from xrayctl.local.lambda_.runtime import IO_VARIABLE, RUNTIME_VARIABLE
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

_SESSION_HOME = tempfile.mkdtemp(prefix="xrayctl-test-home-")


@pytest.fixture
def fake_aws() -> Iterator[FakeAws]:
    # One per test: a command that gives up leaves its calls on other threads to end with the process, and
    # in a test the process goes on; a shared server would count their late requests in the next test.
    server = FakeAws()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    """An empty trace store of the test's own (a module may define its own `store`, which wins)."""
    store = TraceStore(tmp_path / "traces.db")
    yield store
    store.close()


@pytest.fixture
def api(store: TraceStore) -> Iterator[XRayApiServer]:
    """The local X-Ray API over `store`, on 127.0.0.1."""
    server = XRayApiServer(store).start()
    yield server
    server.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xrayctl local stack")
    group.addoption(
        "--lambda-runtime",
        choices=("awslambdaric", "builtin"),
        help="the runtime client of the local Lambda's sandboxes (default: awslambdaric where installed); "
        "sets XRAYCTL_LAMBDA_RUNTIME, which child processes inherit",
    )
    group.addoption(
        "--sandbox-io",
        choices=("select", "poll"),
        help="how a sandbox reads its runtime's output: poll is the path of platforms whose pipes cannot be "
        "selected (Windows); sets XRAYCTL_SANDBOX_IO",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Set for the whole session, so that every `xrayctl local serve` a test starts inherits them too.
    for option, variable in (("--lambda-runtime", RUNTIME_VARIABLE), ("--sandbox-io", IO_VARIABLE)):
        if config.getoption(option):
            os.environ[variable] = config.getoption(option)
    # A test that does not name a home of its own must not read or write the user's store (another version
    # of xrayctl may have left one there that this one cannot read).
    if "XRAYCTL_HOME" not in os.environ:
        os.environ["XRAYCTL_HOME"] = _SESSION_HOME


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    from xrayctl.local.lambda_.runtime import runtime_client

    io = os.environ.get(IO_VARIABLE) or "default"
    return f"local Lambda runtime client: {runtime_client()}, sandbox output: {io}"
