"""Fixtures of the AWS tests: an X-Ray client whose answers a test scripts (botocore's Stubber)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber


@pytest.fixture
def xray() -> Iterator[tuple[Any, Stubber]]:
    """A real botocore X-Ray client and its Stubber: every request is checked against the service model and
    the scripted order; a test that leaves an answer unused fails."""
    client = boto3.client("xray", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
