"""Service graph reads on a real botocore client (Stubber checks each request against the model): every
page is followed, GetTraceGraph takes the ids five at a time, and a denied call names its IAM action."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.support.paths import fixture_path
from xrayctl.aws.graphs import service_graph, trace_graph
from xrayctl.errors import AccessDenied

GUIDE = json.loads(
    fixture_path("xray-real", "derived", "doc-source__xray-api-gettingdata__block1.json").read_text()
)["Services"]
START = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "xray", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_service_graph_follows_every_page(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    window = {"StartTime": START, "EndTime": END}
    stubber.add_response("get_service_graph", {"Services": GUIDE[:2], "NextToken": "p2", **window}, window)
    stubber.add_response(
        "get_service_graph", {"Services": GUIDE[2:], **window}, {**window, "NextToken": "p2"}
    )
    answer = service_graph(client, START, END)
    assert [[service["ReferenceId"] for service in call] for call in answer.calls] == [[0, 1, 2, 3]]
    assert (answer.start, answer.end) == (START, END)


def test_trace_graph_asks_five_ids_a_call_each_call_its_own_graph(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    ids = [f"1-6b04c914-{n:024x}" for n in range(7)]
    stubber.add_response("get_trace_graph", {"Services": GUIDE}, {"TraceIds": ids[:5]})
    stubber.add_response("get_trace_graph", {"Services": GUIDE[:1]}, {"TraceIds": ids[5:]})
    answer = trace_graph(client, ids + ids[:2])  # repeated ids are asked once
    assert [len(call) for call in answer.calls] == [4, 1]


def test_a_denied_graph_names_the_iam_action(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("get_service_graph", "AccessDeniedException", "not allowed", 403)
    with pytest.raises(AccessDenied, match="xray:GetServiceGraph"):
        service_graph(client, START, END)
