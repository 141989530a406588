"""Fixtures every test may ask for (helpers to import are in tests/support)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.fakeaws import FakeAws
from xrayctl.local.lambda_.runtime import IO_VARIABLE, RUNTIME_VARIABLE


@pytest.fixture
def fake_aws() -> Iterator[FakeAws]:
    # One per test: a command that gives up leaves its calls on other threads to end with the process, and
    # in a test the process goes on; a shared server would count their late requests in the next test.
    server = FakeAws()
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


def pytest_report_header(config: pytest.Config) -> str:
    from xrayctl.local.lambda_.runtime import runtime_client

    io = os.environ.get(IO_VARIABLE) or "default"
    return f"local Lambda runtime client: {runtime_client()}, sandbox output: {io}"
