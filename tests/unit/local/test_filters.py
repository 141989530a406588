"""Filter expressions against a store of known traces: every operator, and errors that name the bad part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xrayctl.local.xray.filters import FilterError, parse_filter
from xrayctl.local.xray.store import TraceStore


def _segment(number: int, **fields: Any) -> str:
    document = {
        "id": f"{number:016x}",
        "name": fields.pop("name", "api"),
        "origin": "AWS::EC2::Instance",
        "trace_id": f"1-6b04c914-{number:024x}",
        "start_time": 1000.0 + number,
        "end_time": 1000.0 + number + fields.pop("seconds", 1.0),
        **fields,
    }
    return json.dumps(document)


# Trace n -> what it holds; the expected matches below are read off this table.
TRACES = [
    _segment(
        1,
        annotations={"user": "alice", "count": 3, "vip": True},
        http={
            "request": {
                "url": "https://shop.example/cart",
                "method": "GET",
                "user_agent": "curl/8.5",
                "client_ip": "10.0.0.1",
            },
            "response": {"status": 200},
        },
    ),
    _segment(
        2,
        annotations={"user": "bob", "count": 10},
        error=True,
        aws={"account_id": "123456789012"},
        http={"request": {"url": "https://shop.example/pay", "method": "POST"}, "response": {"status": 404}},
    ),
    _segment(3, name="worker", fault=True, seconds=5.0, http={"response": {"status": 500}}),
    _segment(4, throttle=True, error=True, annotations={"vip": False}),
    _segment(5, in_progress=True, end_time=None),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    trace_store = TraceStore(Path(tmp_path_factory.mktemp("filters")) / "traces.db")
    assert trace_store.put_documents(TRACES) == []
    yield trace_store
    trace_store.close()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('annotation.user = "alice"', {1}),
        ('annotation.user != "alice"', {2}),
        ("annotation.count > 3", {2}),
        ("annotation.count >= 3", {1, 2}),
        ("annotation.count < 10", {1}),
        ("annotation.count <= 10", {1, 2}),
        ("annotation.vip = true", {1}),
        ("annotation.vip = false", {4}),
        ("annotation.vip", {1, 4}),
        ('annotation.user BEGINSWITH "al"', {1}),
        ('annotation.user endswith "ob"', {2}),
        ('annotation.user CONTAINS "l"', {1}),
        ('annotation[user] = "bob"', {2}),
        ('service("worker")', {3}),
        ("service()", {1, 2, 3, 4, 5}),
        ('service(id(name: "worker"))', {3}),
        ('service(id(type: "AWS::EC2::Instance", name: "worker"))', {3}),
        ('service(id(name: "worker", type: "AWS::Lambda"))', set()),
        ('service(id(type:"AWS::EC2::Instance"))', {1, 2, 3, 4, 5}),
        ('service(id(account.id: "123456789012"))', {2}),
        ('!service(id(name: "api", account.id: "123456789012"))', {1, 3, 4, 5}),
        ('http.useragent BEGINSWITH "curl/"', {1}),
        ('http.clientip = "10.0.0.1"', {1}),
        ("http.status = 404", {2}),
        ("http.status >= 400", {2, 3}),
        ('http.url CONTAINS "/pay"', {2}),
        ('http.method = "GET"', {1}),
        ("responsetime > 2", {3}),
        ("duration <= 1", {1, 2, 4}),
        ("ok", {1, 5}),
        ("error", {2, 4}),
        ("fault", {3}),
        ("throttle", {4}),
        ("partial", {5}),
        ("partial = false", {1, 2, 3, 4}),
        ("error != true", {1, 3, 5}),
        ("!ok", {2, 3, 4}),
        ("error AND throttle", {4}),
        ("fault or THROTTLE", {3, 4}),
        ('(error OR fault) AND !service("worker")', {2, 4}),
        ("!(!(!(ok)))", {2, 3, 4}),
    ],
)
def test_each_operator_selects_the_traces_it_should(
    store: TraceStore, expression: str, expected: set[int]
) -> None:
    found = {int(s["Id"][-24:], 16) for s in store.summaries(0, 2e9, filter_expression=expression)}
    assert found == expected


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("annotation.user ==", "position 17, found '='"),
        ("colour = 1", "found 'colour'"),
        ('responsetime > "slow"', "responsetime compares with a number"),
        ('http.status CONTAINS "5"', "found 'CONTAINS'"),
        ("ok AND", "found 'end of expression'"),
        ("(ok", "found 'end of expression'"),
        ("ok )", "position 3, found ')'"),
        ("partial = 3", "partial compares only with true or false"),
        ("annotation.user = 'x'", "cannot read \"'x'\" at position 18"),
        ("(" * 101 + "ok" + ")" * 101, "nested more than 100 levels"),
        ('service(id(name: "a", name: "b"))', "position 22, found 'name'"),
        ('service(id(name "a"))', "expected ':' at position 16"),
        ('service(id(colour: "red"))', "position 11, found 'colour'"),
        ('edge("api", "worker") { error }', "'edge' at position 0 is X-Ray syntax"),
        ('service("api") { fault }', "({ ... } at position 15) is X-Ray syntax"),
        ('rootcause.fault.service { name = "x" }', "'rootcause.fault.service' at position 0 is X-Ray"),
        ('user CONTAINS ""', "'user' at position 0 is X-Ray syntax"),
        ("!" * 5000 + "ok", "nested more than 100 levels"),
    ],
)
def test_unreadable_expressions_name_the_part(expression: str, named: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(expression)
    assert named in caught.value.message


def test_long_flat_expressions_do_not_recurse(store: TraceStore) -> None:
    expression = " OR ".join(f"annotation.count = {n}" for n in range(5000))
    found = {int(s["Id"][-24:], 16) for s in store.summaries(0, 2e9, filter_expression=expression)}
    assert found == {1, 2}
