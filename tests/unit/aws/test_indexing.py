"""What share of traces the summaries cover (GetIndexingRules), asked only with Transaction Search on, and the
sentence that says so."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from xrayctl.aws.indexing import Coverage
from xrayctl.aws.reader import XRayReader


def destination(stubber: Stubber, name: str) -> None:
    stubber.add_response("get_trace_segment_destination", {"Destination": name, "Status": "ACTIVE"}, {})


def rule(name: str, desired: float, actual: float | None = None) -> dict[str, Any]:
    probabilistic: dict[str, float] = {"DesiredSamplingPercentage": desired}
    if actual is not None:
        probabilistic["ActualSamplingPercentage"] = actual
    return {"Name": name, "Rule": {"Probabilistic": probabilistic}}


def test_with_transaction_search_off_nothing_more_is_asked(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    destination(stubber, "XRay")
    assert XRayReader(client).summary_coverage() is None


def test_with_transaction_search_on_the_rules_are_read_to_their_last_page(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    destination(stubber, "CloudWatchLogs")
    stubber.add_response(
        "get_indexing_rules", {"IndexingRules": [rule("Default", 1.0)], "NextToken": "n"}, {}
    )
    stubber.add_response(
        "get_indexing_rules", {"IndexingRules": [rule("Other", 5.0, 4.5)]}, {"NextToken": "n"}
    )
    coverage = XRayReader(client).summary_coverage()
    assert coverage == Coverage((("Default", 1.0), ("Other", 4.5)))  # the applied percentage when given
    assert "(Default 1%, Other 4.5%)" in coverage.note()


def test_a_denied_rule_read_says_nothing_rather_than_fail_the_list(xray: tuple[Any, Stubber]) -> None:
    client, stubber = xray
    destination(stubber, "CloudWatchLogs")
    stubber.add_client_error("get_indexing_rules", "AccessDeniedException", "no", 403)
    assert XRayReader(client).summary_coverage() is None


def test_the_note_says_the_share_and_that_it_is_a_sample() -> None:
    assert Coverage((("Default", 1.0),)).note() == (
        "Transaction Search is on: only about 1% of traces become trace summaries (indexing rule Default), "
        "so this list is a sample of the traffic, not all of it; show-trace still reads any trace by id."
    )
    assert "indexing is at 0% (indexing rule Default): no trace recorded while it is so" in (
        Coverage((("Default", 0.0),)).note()
    )
