"""Trace ids as users paste them: X-Ray and W3C forms, case and spaces; epochs; new ids; trace headers."""

from __future__ import annotations

import json

import pytest

from tests.support.paths import FIXTURES as TEST_FIXTURES
from xrayctl.errors import ExitCode, InvalidTraceId
from xrayctl.trace.ids import new_trace_id, normalize_trace_id, parse_trace_header, trace_epoch

FIXTURES = TEST_FIXTURES / "xray-real"


def _real_trace_ids() -> list[str]:
    data = json.loads((FIXTURES / "derived" / "doc-source__xray-api-gettingdata__block2.json").read_text())
    return [summary["Id"] for summary in data["TraceSummaries"]]


@pytest.mark.parametrize("trace_id", _real_trace_ids())
def test_real_ids_are_kept_as_they_are(trace_id: str) -> None:
    assert normalize_trace_id(trace_id) == trace_id


def test_case_and_surrounding_spaces_are_forgiven() -> None:
    assert (
        normalize_trace_id("  1-59602606-A43A1AC52FC7EE0EEA12A82C\n") == "1-59602606-a43a1ac52fc7ee0eea12a82c"
    )


def test_w3c_id_maps_to_the_xray_form() -> None:
    assert normalize_trace_id("5759e988bd862e3fe1be46a994272793") == "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    "pasted",
    [
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "Root=1-5759E988-BD862E3FE1BE46A994272793",
        "Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0",
        "X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
        "traceparent: 00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00",
        "01-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-future",
    ],
)
def test_trace_headers_and_traceparents_give_their_trace_id(pasted: str) -> None:
    assert normalize_trace_id(pasted) == "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1-5759e988",
        "2-5759e988-bd862e3fe1be46a994272793",
        "1-5759e98g-bd862e3fe1be46a994272793",
        "5759e988bd862e3fe1be46a99427279",
        "1-5759e988-bd862e3fe1be46a994272793-00",
        "Root=1-5759e988",
        "Parent=53995c3f42cd8ad8;Sampled=1",
        "ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
        "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-extra",
        "00-00000000000000000000000000000000-53995c3f42cd8ad8-01",
        "00000000000000000000000000000000",
    ],
)
def test_bad_ids_name_the_value_and_the_accepted_forms(bad: str) -> None:
    with pytest.raises(InvalidTraceId) as caught:
        normalize_trace_id(bad)
    assert repr(bad) in caught.value.message
    assert caught.value.fix is not None and "W3C" in caught.value.fix and "1-" in caught.value.fix
    assert caught.value.exit_code == ExitCode.USAGE


def test_epoch_is_when_the_trace_started() -> None:
    data = json.loads((FIXTURES / "derived" / "doc-source__xray-api-gettingdata__block3.json").read_text())
    trace = data["Traces"][0]
    first_start = min(json.loads(segment["Document"])["start_time"] for segment in trace["Segments"])
    assert trace_epoch(trace["Id"]) == int(first_start)


def test_new_ids_are_valid_distinct_and_carry_their_time() -> None:
    first, second = new_trace_id(1_700_000_000.9), new_trace_id(1_700_000_000.9)
    assert first != second
    assert normalize_trace_id(first) == first
    assert trace_epoch(first) == 1_700_000_000


def test_trace_header_fields() -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8; Sampled=1;Lineage=a87bd80c:0"
    assert parse_trace_header(header) == {
        "Root": "1-5759e988-bd862e3fe1be46a994272793",
        "Parent": "53995c3f42cd8ad8",
        "Sampled": "1",
        "Lineage": "a87bd80c:0",
    }


def test_trace_header_keeps_fields_without_a_value() -> None:
    assert parse_trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled;;") == {
        "Root": "1-5759e988-bd862e3fe1be46a994272793",
        "Sampled": "",
    }
