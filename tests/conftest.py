"""Fixtures every test may ask for (helpers to import are in tests/support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fakeaws import FakeAws


@pytest.fixture
def fake_aws() -> Iterator[FakeAws]:
    # One per test: a command that gives up leaves its calls on other threads to end with the process, and
    # in a test the process goes on; a shared server would count their late requests in the next test.
    server = FakeAws()
    yield server
    server.stop()
