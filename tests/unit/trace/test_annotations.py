"""Annotation rows and per-value statistics from GetTraceSummaries responses parsed by botocore itself.

The string annotations are the X-Ray developer guide's real response; the number and boolean ones are what the
documented S3 function really records (`put_response: 200`, captured from aws-xray-sdk), put in the shape the
service answers with.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import botocore.session
from botocore.parsers import create_parser

from tests.support.paths import FIXTURES
from xrayctl.trace.annotations import (
    AnnotatedTrace,
    ValueStats,
    all_keys,
    from_summary,
    listing,
    row_to_dict,
    select_keys,
    stats_to_dict,
    summarize,
)

GUIDE_RESPONSE = FIXTURES / "xray-real" / "derived" / "doc-source__xray-api-gettingdata__block2.json"


def parse_summaries(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What `client.get_trace_summaries` returns for this response body."""
    model = botocore.session.get_session().get_service_model("xray")
    output_shape = model.operation_model("GetTraceSummaries").output_shape
    response = {"status_code": 200, "headers": {}, "body": json.dumps(body).encode()}
    assert output_shape is not None
    parsed: dict[str, Any] = create_parser("rest-json").parse(response, output_shape)
    return parsed["TraceSummaries"]


def captured_annotations() -> dict[str, Any]:
    documents = json.loads((FIXTURES / "sdk-captured" / "udp_documents_awslambdaric.json").read_text())
    found: dict[str, Any] = {}
    for document in documents:
        found.update(document.get("annotations", {}))
    return found


def summary(
    trace_id: str, duration: float, annotations: dict[str, list[Any]], **flags: bool
) -> dict[str, Any]:
    members = {bool: "BooleanValue", int: "NumberValue", float: "NumberValue", str: "StringValue"}
    return {
        "Id": trace_id,
        "StartTime": 1795475732.616,
        "Duration": duration,
        "ResponseTime": duration / 2,
        "HasFault": flags.get("fault", False),
        "HasError": flags.get("error", False),
        "HasThrottle": flags.get("throttle", False),
        "Annotations": {
            key: [{"AnnotationValue": {members[type(v)]: v}, "ServiceIds": []} for v in values]
            for key, values in annotations.items()
        },
    }


def test_rows_from_the_guides_real_response() -> None:
    rows = [from_summary(s) for s in parse_summaries(json.loads(GUIDE_RESPONSE.read_text()))]
    assert [row.trace_id for row in rows] == [
        "1-59602606-a43a1ac52fc7ee0eea12a82c",
        "1-59602603-23fc5b688855d396af79b496",
    ]
    assert rows[0].annotations == {}
    assert rows[1].annotations == {"UserID": ("5M388M1E",), "Name": ("Ola",)}
    assert (rows[1].duration, rows[1].response_time, rows[1].status) == (3.232, 3.232, "ok")
    assert rows[1].start_time is None  # the 2017 response predates StartTime in summaries


def test_numbers_stay_readable_and_types_survive() -> None:
    captured = captured_annotations()
    assert captured == {"put_response": 200, "get_response": 200}
    body = {
        "TraceSummaries": [
            summary(
                "1-6b04c914-ea7beef5edbcb95e43b8d27c",
                0.05,
                {**{k: [v] for k, v in captured.items()}, "ratio": [0.25], "cold": [True], "who": ["a"]},
            )
        ]
    }
    (row,) = [from_summary(s) for s in parse_summaries(body)]
    assert row.annotations == {
        "put_response": (200,),
        "get_response": (200,),
        "ratio": (0.25,),
        "cold": (True,),
        "who": ("a",),
    }
    assert type(row.annotations["put_response"][0]) is int
    assert row.annotations["cold"][0] is True
    assert row.start_time == datetime.fromtimestamp(1795475732.616, tz=timezone.utc)
    assert row_to_dict(row)["start_time"] == "2026-11-23T23:15:32.616000+00:00"


def test_status_is_the_worst_mark() -> None:
    body = {
        "TraceSummaries": [
            summary("1-6b04c914-00000000000000000000000a", 1, {}, error=True),
            summary("1-6b04c914-00000000000000000000000b", 1, {}, error=True, throttle=True),
            summary("1-6b04c914-00000000000000000000000c", 1, {}, error=True, fault=True, throttle=True),
            summary("1-6b04c914-00000000000000000000000d", 1, {}),
        ]
    }
    assert [from_summary(s).status for s in parse_summaries(body)] == ["error", "throttle", "fault", "ok"]


def rows_for_stats() -> list[AnnotatedTrace]:
    body = {
        "TraceSummaries": [
            summary("1-6b04c914-000000000000000000000001", 0.1, {"put_response": [200], "bucket": ["a"]}),
            summary("1-6b04c914-000000000000000000000002", 0.2, {"put_response": [200]}),
            summary("1-6b04c914-000000000000000000000003", 0.9, {"put_response": [200]}),
            summary("1-6b04c914-000000000000000000000004", 0.4, {"put_response": [200]}),
            summary(
                "1-6b04c914-000000000000000000000005",
                3.0,
                {"put_response": [403], "bucket": ["b"]},
                fault=True,
            ),
            summary("1-6b04c914-000000000000000000000006", 0.3, {"flag": [True], "bucket": ["1"]}),
            summary("1-6b04c914-000000000000000000000007", 0.5, {"flag": [1], "bucket": ["a", "b"]}),
            summary("1-6b04c914-000000000000000000000008", 0.5, {}),
        ]
    }
    return [from_summary(s) for s in parse_summaries(body)]


def test_keys_by_frequency_then_name() -> None:
    assert all_keys(rows_for_stats()) == ["put_response", "bucket", "flag"]


def test_select_keys_keeps_the_rows_that_carry_them() -> None:
    selected = select_keys(rows_for_stats(), ["bucket", "flag"])
    assert [row.trace_id[-1] for row in selected] == ["1", "5", "6", "7"]
    assert selected[2].annotations == {"bucket": ("1",), "flag": (True,)}
    assert list(selected[2].annotations) == ["bucket", "flag"]
    assert selected[0].duration == 0.1 and selected[1].status == "fault"


def test_summary_per_key_and_value() -> None:
    stats = summarize(rows_for_stats(), ["put_response", "flag", "bucket"])
    assert stats[:2] == [
        ValueStats("put_response", 200, 4, 0.1, 0.30000000000000004, 0.9, 0.9),
        ValueStats("put_response", 403, 1, 3.0, 3.0, 3.0, 3.0),
    ]
    # true and 1 are different values even though Python says True == 1.
    assert [(s.key, s.value, s.traces) for s in stats[2:4]] == [("flag", True, 1), ("flag", 1, 1)]
    assert isinstance(stats[2].value, bool) and not isinstance(stats[3].value, bool)
    # A trace carrying two values counts under each; "1" the string is not 1 the number.
    assert [(s.value, s.traces) for s in stats[4:]] == [("a", 2), ("b", 2), ("1", 1)]


def test_p90_is_a_duration_some_trace_had() -> None:
    durations = [0.1 * n for n in range(1, 11)]
    body = {
        "TraceSummaries": [summary(f"1-6b04c914-{n:024x}", d, {"k": ["v"]}) for n, d in enumerate(durations)]
    }
    (stats,) = summarize([from_summary(s) for s in parse_summaries(body)], ["k"])
    assert stats.p90 == durations[8] and stats.max == durations[9] and stats.min == durations[0]


def test_stats_without_durations() -> None:
    row = AnnotatedTrace("1-6b04c914-000000000000000000000001", None, None, None, "ok", {"k": ["v"]})
    (stats,) = summarize([row], ["k"])
    assert stats_to_dict(stats) == {
        "key": "k",
        "value": "v",
        "traces": 1,
        "duration": {"min": None, "median": None, "p90": None, "max": None},
    }


def test_rows_serialise_to_json() -> None:
    rows = rows_for_stats()
    text = json.dumps([row_to_dict(row) for row in rows])
    assert json.loads(text)[4]["annotations"] == {"put_response": [403], "bucket": ["b"]}
    assert json.loads(text)[4]["status"] == "fault"


# ------------------------------------------------------------------------------ a listing, page by page


def page_of(*specs: tuple[int, float | None, dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """A parsed page: for each (number, start time, annotations) a trace summary."""
    summaries = []
    for number, start, values in specs:
        entry = summary(f"1-6b04c914-{number:024x}", 0.5, values)
        if start is None:
            del entry["StartTime"]
        else:
            entry["StartTime"] = start
        summaries.append(entry)
    return parse_summaries({"TraceSummaries": summaries})


def test_a_listing_is_newest_first_whatever_order_the_pages_came_in() -> None:
    pages = [
        page_of((1, 100.0, {"k": ["a"]}), (2, None, {})),
        page_of((3, 300.0, {"k": ["b"]}), (4, 100.0, {"j": [1]})),
        page_of((5, 200.0, {})),
    ]
    found = listing(pages)
    # The same start time: the ids as the service pages them (descending); no start time: last.
    assert [row.trace_id[-1] for row in found.rows] == ["3", "5", "4", "1", "2"]
    # The keys on most traces first, then by name.
    assert found.keys == ["k", "j"] and found.scanned == 5 and found.annotated == 3
    assert listing(reversed(pages)).rows == found.rows


def test_rows_sharing_values_keep_each_value_as_it_was() -> None:
    """Rows share the tuple of values they have in common; true, 1 and 1.0 are equal in Python, and each
    stays what it is (1.0 reads as the number 1, as X-Ray's doubles do)."""
    pages = [page_of((n, 100.0 + n, {"k": [value]})) for n, value in enumerate([True, 1, 1.5, True, "1", 1])]
    values = [row.annotations["k"] for row in sorted(listing(pages).rows, key=lambda row: row.trace_id)]
    assert values == [(True,), (1,), (1.5,), (True,), ("1",), (1,)]
    assert [type(value[0]) for value in values] == [bool, int, float, bool, str, int]
    assert values[0] is values[3] and values[1] is values[5]  # shared


def test_a_listing_holds_no_page_it_has_turned_into_rows() -> None:
    """A page of parsed summaries is turned into rows and dropped: 100,000 summaries held at once took 700 MB.
    Each page's summaries are watched: when a page is asked for, none of those of two pages back is alive (the
    last one may still be in the caller's hands while it asks)."""

    class Summary(dict):  # a dict that can be watched
        pass

    watched: list[list[weakref.ref[Summary]]] = []

    def pages() -> Iterator[list[dict[str, Any]]]:
        for first in range(0, 50, 10):
            alive = sum(1 for page in watched[:-1] for ref in page if ref() is not None)
            assert not alive, f"{alive} summaries of earlier pages are still held"
            page = [
                Summary(s) for s in page_of(*((n, 100.0 + n, {"k": [n]}) for n in range(first, first + 10)))
            ]
            watched.append([weakref.ref(entry) for entry in page])
            yield page
            del page

    found = listing(pages())
    assert len(found.rows) == 50


def test_a_limit_keeps_the_first_rows_and_the_counts_stay_the_windows() -> None:
    pages = [
        page_of((1, 100.0, {"k": ["a"]}), (2, 200.0, {})),
        page_of((3, 300.0, {"k": ["b"]}), (4, 400.0, {"j": [1]}), (5, 500.0, {})),
    ]
    found = listing(pages, limit=2)
    assert [row.trace_id[-1] for row in found.rows] == ["5", "4"]
    assert (found.scanned, found.annotated, found.candidates, found.limited) == (5, 3, 5, True)
    # With keys, the rows are the traces that carry one of them: the first two of those, not of all.
    keyed = listing(pages, ["k"], limit=2)
    assert [row.trace_id[-1] for row in keyed.rows] == ["3", "1"]
    assert (keyed.scanned, keyed.annotated, keyed.candidates, keyed.limited) == (5, 2, 2, False)
