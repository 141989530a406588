"""Property tests: PutTraceSegments with garbage of every kind, mixed with valid documents.

Every document drawn is either one the service must take (valid, or valid where it is checked and junk
everywhere else) or one it must refuse (not JSON, not an object, a required field missing or of the wrong
type, a bad id or trace id, a non-finite start, over 64 KB, text that is not Unicode). Whatever the mix, the
store never raises; each refused document is one UnprocessedTraceSegments entry with an ErrorCode and a
Message; each taken document is stored and comes back from BatchGetTraces, and GetTraceSummaries still
answers for its trace. The property runs call `TraceStore.put_documents`; the examples at the end go through
the real local API over HTTP with boto3, as an SDK or the daemon would.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.graph import service_graph
from xrayctl.local.xray.stitch import walk
from xrayctl.local.xray.store import TraceStore
from xrayctl.text.jsonload import loads
from xrayctl.trace.annotations import listing
from xrayctl.trace.build import build_trace

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
START = 1_795_475_538.0
# Three traces, so that segment ids collide across traces; a TraceId window reads the epoch in their ids.
TRACE_IDS = [f"1-6b04c851-{n:024x}" for n in (1, 2, 3)]
EPOCH = 0x6B04C851
ERROR_CODES = {"InvalidSegment", "InvalidTraceId", "DocumentTooLarge"}

JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from([10**400, "\x1b[2J", "\u202e", "[bold]"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4,
)
# Fields the service does not check: junk there is stored as it came.
LOOSE_FIELDS = {
    key: JUNK
    for key in (
        "end_time", "in_progress", "fault", "error", "throttle", "http", "aws", "sql", "annotations",
        "metadata", "cause", "links", "origin", "namespace", "inferred", "user", "resource_arn",
    )
}  # fmt: skip
LOOSE_FIELDS["end_time"] = JUNK | st.sampled_from([math.nan, math.inf, 10**400, 1e308, -1.0, START + 1])
LOOSE_FIELDS["subsegments"] = JUNK | st.lists(
    st.fixed_dictionaries({}, optional={"id": JUNK, **LOOSE_FIELDS})
)


def base(number: int, trace: int) -> dict[str, Any]:
    return {
        "id": f"{number:016x}",
        "trace_id": TRACE_IDS[trace],
        "name": f"doc-{number}",
        "start_time": START + number / 10,
    }


def encode(document: Any) -> str:
    return json.dumps(document)


# Each kind makes (raw document, accepted?) from the document's number, trace and a drawn value.
KINDS: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "valid": (
        st.fixed_dictionaries({}, optional=LOOSE_FIELDS),
        lambda d, extra: (encode({**d, **extra}), True),
    ),
    "valid-bytes": (st.just(None), lambda d, _: (encode(d).encode(), True)),
    "independent": (
        st.sampled_from([0, 1, 2, 999]),
        lambda d, parent: (encode({**d, "type": "subsegment", "parent_id": f"{parent:016x}"}), True),
    ),
    "negative-start": (st.floats(-1e9, -1e-3), lambda d, start: (encode({**d, "start_time": start}), True)),
    "not-json": (
        st.text(max_size=20).filter(lambda text: not _parses(text)),
        lambda d, text: (text, False),
    ),
    "not-object": (
        JUNK.filter(lambda value: not isinstance(value, dict)),
        lambda d, value: (encode(value), False),
    ),
    "missing": (
        st.sampled_from(["id", "trace_id", "name", "start_time"]),
        lambda d, key: (encode({k: v for k, v in d.items() if k != key}), False),
    ),
    "bad-id": (
        st.sampled_from(["", "abc", "0000000000000000a", "ABCDEF0123456789", "000000000000000g"]) | JUNK,
        lambda d, value: (encode({**d, "id": value}), False),
    ),
    "bad-trace-id": (
        st.sampled_from(["", "1-xyz", "1-6b04c851-00", "2-6b04c851-000000000000000000000001"]) | JUNK,
        lambda d, value: (encode({**d, "trace_id": value}), False),
    ),
    "bad-name": (
        st.just("") | JUNK.filter(lambda v: not isinstance(v, str)),
        lambda d, v: (encode({**d, "name": v}), False),
    ),
    "bad-start": (
        # Past the year 9999 (or before the year 1) a time is a number no client can read as a timestamp.
        st.sampled_from([math.nan, math.inf, -math.inf, 10**400, 1e12, 1e308, -1e14, "1.5", True, None, [1]]),
        lambda d, value: (encode({**d, "start_time": value}), False),
    ),
    "orphan-subsegment": (st.just(None), lambda d, _: (encode({**d, "type": "subsegment"}), False)),
    "too-large": (st.just(None), lambda d, _: (encode({**d, "metadata": {"pad": "x" * 70_000}}), False)),
    "too-deep": (st.just(None), lambda d, _: ('{"a":' * 3000 + "1" + "}" * 3000, False)),
    "not-utf8": (st.just(None), lambda d, _: (encode(d).encode()[:-1] + b"\xff}", False)),
    "lone-surrogate": (
        st.just(None),
        lambda d, _: (encode(d).replace('"doc-', '"\ud800doc-'), False),
    ),
}


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[str | bytes, bool, dict[str, Any]]]:
    """A PutTraceSegments batch: (raw document, accepted?, the document it was made from)."""
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), max_size=8))
    batch = []
    for number, kind in enumerate(kinds):
        values, make = KINDS[kind]
        document = base(number, draw(st.integers(0, 2)))
        raw, accepted = make(document, draw(values))
        batch.append((raw, accepted, document))
    return batch


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceStore]:
    trace_store = TraceStore(tmp_path_factory.mktemp("props") / "traces.db")
    yield trace_store
    trace_store.close()


def stored_ids(store: TraceStore, trace_id: str) -> set[str]:
    """The ids of every entity BatchGetTraces returns for the trace, at any depth."""
    traces, unprocessed = store.batch_get([trace_id])
    assert unprocessed == [] and len(traces) == 1
    ids = set()
    for segment in traces[0]["Segments"]:
        ids.update(node["id"] for node in walk(loads(segment["Document"])) if isinstance(node.get("id"), str))
    return ids


def assert_unprocessed_entries(unprocessed: list[dict[str, Any]], expected: int) -> None:
    assert len(unprocessed) == expected, unprocessed
    for entry in unprocessed:
        assert set(entry) == {"Id", "ErrorCode", "Message"}
        assert isinstance(entry["Id"], str) and entry["ErrorCode"] in ERROR_CODES
        assert isinstance(entry["Message"], str) and entry["Message"]


@PROPERTY
@given(batch=batches())
def test_garbage_is_unprocessed_and_valid_documents_in_the_batch_are_stored(
    store: TraceStore, batch: list[tuple[str | bytes, bool, dict[str, Any]]]
) -> None:
    store.reset()
    unprocessed = store.put_documents([raw for raw, _, _ in batch])
    assert_unprocessed_entries(unprocessed, sum(not accepted for _, accepted, _ in batch))

    accepted = [document for _, ok, document in batch if ok]
    for trace_id in {document["trace_id"] for document in accepted}:
        ids = stored_ids(store, trace_id)
        assert {d["id"] for d in accepted if d["trace_id"] == trace_id} <= ids
        summary = store.summary(trace_id)
        assert summary is not None and summary["Id"] == trace_id
        traces, _ = store.batch_get([trace_id])
        trace = build_trace(trace_id, traces[0]["Segments"])
        assert {d["id"] for d in accepted if d["trace_id"] == trace_id} <= {node.id for node in trace.walk()}
    # Every trace with a stored document is listed in a window by trace id, whatever times its documents hold.
    summaries = store.summaries(EPOCH - 1, EPOCH + 1, time_range_type="TraceId")
    assert {s["Id"] for s in summaries} == {document["trace_id"] for document in accepted}
    assert store.stats()["documents"] == len({(d["trace_id"], d["id"]) for d in accepted})
    listing([summaries])  # what list-annotations makes of them (one page)
    traces, _ = store.batch_get([summary["Id"] for summary in summaries])
    graph = service_graph([[loads(s["Document"]) for s in trace["Segments"]] for trace in traces])
    assert json.loads(json.dumps(graph, allow_nan=False)) == graph  # GetServiceGraph's answer is plain JSON
    # Every time an answer carries is one botocore can parse into a datetime.
    times = [s["StartTime"] for s in summaries] + [
        entry[key]
        for service in graph
        for entry in (service, *service["Edges"])
        for key in ("StartTime", "EndTime")
        if key in entry
    ]
    assert all(-62_135_596_800 <= time <= 253_402_300_799 for time in times)
    store.summaries(START - 100, START + 100)  # the Event window answers too


@PROPERTY
@given(batch=batches(), again=batches())
def test_a_second_batch_of_garbage_leaves_what_the_first_stored(
    store: TraceStore,
    batch: list[tuple[str | bytes, bool, dict[str, Any]]],
    again: list[tuple[str | bytes, bool, dict[str, Any]]],
) -> None:
    store.reset()
    store.put_documents([raw for raw, _, _ in batch])
    before = {
        trace_id: stored_ids(store, trace_id) for trace_id in {d["trace_id"] for _, ok, d in batch if ok}
    }
    rejected = [raw for raw, ok, _ in again if not ok]
    assert_unprocessed_entries(store.put_documents(rejected), len(rejected))
    assert {trace_id: stored_ids(store, trace_id) for trace_id in before} == before


# ------------------------------------------------------------------------------------- over HTTP, boto3


@pytest.fixture(scope="module")
def xray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    store = TraceStore(tmp_path_factory.mktemp("api") / "traces.db")
    api = XRayApiServer(store).start()
    yield boto3.client(
        "xray",
        endpoint_url=api.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt: a document that made the service fail must show up here, not be retried away.
        config=Config(retries={"total_max_attempts": 1}),
    )
    api.stop()
    store.close()


def every_kind(number: int, trace: int) -> list[tuple[str, bool, dict[str, Any]]]:
    """One document of each kind, with a fixed draw for each; raw bytes cannot travel in a JSON request."""
    draws = {
        "valid": {"annotations": {"k": "\x1b[2J"}, "subsegments": {"id": 5}, "end_time": math.nan},
        "independent": 999,
        "negative-start": -5.0,
        "not-json": "{not json",
        "not-object": [1, 2],
        "missing": "start_time",
        "bad-id": 12,
        "bad-trace-id": "1-xyz",
        "bad-name": None,
        "bad-start": math.inf,
    }
    batch = []
    for offset, kind in enumerate(sorted(KINDS)):
        if kind in ("valid-bytes", "not-utf8"):
            continue
        document = base(number + offset, trace)
        raw, accepted = KINDS[kind][1](document, draws.get(kind))
        assert isinstance(raw, str)
        batch.append((raw, accepted, document))
    return batch


def test_every_kind_of_garbage_over_http_is_unprocessed_and_the_rest_is_readable(xray: Any) -> None:
    batch = every_kind(100, 0) + every_kind(200, 1)
    answer = xray.put_trace_segments(TraceSegmentDocuments=[raw for raw, _, _ in batch])
    assert_unprocessed_entries(answer["UnprocessedTraceSegments"], sum(not ok for _, ok, _ in batch))
    accepted = [document for _, ok, document in batch if ok]
    traces = xray.batch_get_traces(TraceIds=TRACE_IDS[:2])["Traces"]
    ids = {
        node["id"]
        for trace in traces
        for segment in trace["Segments"]
        for node in walk(loads(segment["Document"]))
        if isinstance(node.get("id"), str)
    }
    assert {document["id"] for document in accepted} <= ids
    summaries = xray.get_trace_summaries(StartTime=EPOCH - 1, EndTime=EPOCH + 1, TimeRangeType="TraceId")
    assert {s["Id"] for s in summaries["TraceSummaries"]} == set(TRACE_IDS[:2])


@pytest.mark.parametrize("kind", ["lone-surrogate", "bad-start", "too-deep", "too-large"])
def test_one_bad_document_over_http_never_fails_the_batch(xray: Any, kind: str) -> None:
    good = base(7, 2)
    raw, _ = KINDS[kind][1](base(8, 2), math.nan if kind == "bad-start" else None)
    answer = xray.put_trace_segments(TraceSegmentDocuments=[raw, encode(good)])
    assert_unprocessed_entries(answer["UnprocessedTraceSegments"], 1)
    [trace] = xray.batch_get_traces(TraceIds=[TRACE_IDS[2]])["Traces"]
    assert good["id"] in {loads(segment["Document"])["id"] for segment in trace["Segments"]}


def test_summaries_and_graphs_over_http_stay_readable_whatever_times_documents_hold(xray: Any) -> None:
    """botocore parses StartTime and EndTime into datetimes: a time past the year 9999 in one document made
    every GetTraceSummaries or GetServiceGraph answer that held it fail to parse (a ValueError)."""
    trace_id = "1-6b04c852-000000000000000000000009"
    ends = ["NaN", "Infinity", "1e308", "1e12", repr(START + 2)]
    documents = [
        f'{{"id":"00000000000000c{n}","trace_id":"{trace_id}","name":"n","start_time":{START!r},"end_time":{end}}}'
        for n, end in enumerate(ends)
    ]
    far = {
        "id": "00000000000000d1",
        "trace_id": trace_id,
        "name": "far",
        "start_time": 1e12,
        "end_time": 1e12,
    }
    answer = xray.put_trace_segments(TraceSegmentDocuments=[*documents, encode(far)])
    assert [entry["Id"] for entry in answer["UnprocessedTraceSegments"]] == [far["id"]]
    answer = xray.get_trace_summaries(StartTime=0x6B04C852, EndTime=0x6B04C852, TimeRangeType="TraceId")
    [summary] = answer["TraceSummaries"]
    assert summary["Id"] == trace_id and summary["StartTime"].timestamp() == START
    for key in ("Duration", "ResponseTime"):
        assert key not in summary or math.isfinite(summary[key])
    graph = xray.get_service_graph(StartTime=START - 10, EndTime=START + 10)["Services"]
    assert any(service["Name"] == "n" for service in graph)
    assert xray.get_trace_graph(TraceIds=[trace_id])["Services"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"TraceSegmentDocuments": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"\xff\xfe{",
        b"NaN",
        b"[]",
        b'{"TraceSegmentDocuments": "one"}',
        b'{"TraceSegmentDocuments": [1, null, {}]}',
    ],
    ids=["deep", "not-utf8", "nan", "array", "string", "not-strings"],
)
def test_a_garbage_request_body_is_a_400_naming_the_problem(xray: Any, body: bytes) -> None:
    """What an SDK never sends but a hand-made client can: refused as the client's fault, never a 500."""
    request = urllib.request.Request(xray.meta.endpoint_url + "/TraceSegments", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert refused.value.headers["x-amzn-ErrorType"] in ("SerializationException", "InvalidRequestException")
    assert json.loads(refused.value.read())["message"]
    assert xray.get_trace_summaries(StartTime=EPOCH - 1, EndTime=EPOCH + 1)["TraceSummaries"] is not None
