"""The service map from X-Ray's graph: the real documented answer, percentiles from histograms, graphs read
in several calls joined by identity, and the tree drawn from the entry points with each service once."""

from __future__ import annotations

import json
from typing import Any

from tests.support.paths import fixture_path
from xrayctl.trace.servicemap import Stats, build_map

# The developer guide's GetServiceGraph answer: a client, an EC2 root calling DynamoDB and SNS.
GUIDE = json.loads(
    fixture_path("xray-real", "derived", "doc-source__xray-api-gettingdata__block1.json").read_text()
)["Services"]


def _service(
    ref: int, name: str, kind: str, edges: list[tuple[int, int]], *, root: bool = False
) -> dict[str, Any]:
    """A Service entry with `requests` OK requests per edge (target reference id, count)."""
    return {
        "ReferenceId": ref,
        "Name": name,
        "Names": [name],
        "Type": kind,
        "Root": root,
        "SummaryStatistics": {"OkCount": 1, "TotalCount": 1, "TotalResponseTime": 0.1},
        "ResponseTimeHistogram": [{"Value": 0.1, "Count": 1}],
        "Edges": [
            {
                "ReferenceId": target,
                "SummaryStatistics": {"OkCount": count, "TotalCount": count},
                "ResponseTimeHistogram": [{"Value": 0.05, "Count": count}],
            }
            for target, count in edges
        ],
    }


def test_the_documented_answer_reads_as_a_client_in_front_of_its_root() -> None:
    service_map = build_map([GUIDE])
    rows = [(row.depth, row.service.name, row.service.type, row.repeated) for row in service_map.walk()]
    assert rows == [
        (0, "xray-sample.elasticbeanstalk.com", "client", False),
        (1, "xray-sample.elasticbeanstalk.com", "AWS::EC2::Instance", False),
        (2, "awseb-e-dixzws4s9p-stack-StartupSignupsTable-4IMSMHAYX2BA", "AWS::DynamoDB::Table", False),
        (2, "SNS", "AWS::SNS", False),
    ]
    root = service_map.services[("xray-sample.elasticbeanstalk.com", "AWS::EC2::Instance", None)]
    assert root.stats is not None
    assert (root.stats.requests, root.stats.ok, root.stats.error, root.stats.fault) == (4, 3, 1, 0)
    # Nearest rank over the four response times 5, 15, 96 and 157 ms.
    assert root.stats.percentiles() == {0.5: 0.015, 0.9: 0.157, 0.95: 0.157, 0.99: 0.157}
    client = service_map.services[("xray-sample.elasticbeanstalk.com", "client", None)]
    assert client.stats is None and client.edges[root.key].stats.requests == 4


def test_percentiles_weigh_each_value_by_its_count() -> None:
    stats = Stats()
    stats.add(
        {
            "ResponseTimeHistogram": [
                {"Value": 0.9, "Count": 1},
                {"Value": 0.1, "Count": 98},
                {"Value": 0.5, "Count": 1},
            ]
        }
    )
    assert stats.percentiles() == {0.5: 0.1, 0.9: 0.1, 0.95: 0.1, 0.99: 0.5}
    assert Stats().percentiles() == {0.5: None, 0.9: None, 0.95: None, 0.99: None}


def test_graphs_of_several_calls_join_by_identity_not_reference_id() -> None:
    """GetTraceGraph is read five traces a call, and each call numbers its services its own way."""
    first = [
        _service(0, "api", "AWS::Lambda", [(1, 2)], root=True),
        _service(1, "table", "AWS::DynamoDB::Table", []),
    ]
    second = [
        _service(7, "table", "AWS::DynamoDB::Table", []),
        _service(3, "api", "AWS::Lambda", [(7, 5)], root=True),
    ]
    service_map = build_map([first, second])
    assert len(service_map.services) == 2
    api = service_map.services[("api", "AWS::Lambda", None)]
    assert api.stats is not None and api.stats.requests == 2
    (edge,) = api.edges.values()
    assert (edge.target, edge.stats.requests, edge.stats.histogram) == (
        ("table", "AWS::DynamoDB::Table", None),
        7,
        {0.05: 7},
    )


def test_a_service_reached_twice_is_drawn_once_then_referenced_and_cycles_end() -> None:
    services = [
        _service(0, "front", "AWS::EC2::Instance", [(1, 1), (2, 1)], root=True),
        _service(1, "orders", "AWS::Lambda", [(3, 1)]),
        _service(2, "users", "AWS::Lambda", [(3, 1)]),
        _service(3, "table", "AWS::DynamoDB::Table", [(1, 1)]),  # a cycle back to orders
        _service(4, "island", "remote", [(5, 1)]),  # reached by nothing: drawn after
        _service(5, "island-b", "remote", [(4, 1)]),
    ]
    rows = [("  " * row.depth + row.service.name, row.repeated) for row in build_map([services]).walk()]
    assert rows == [
        ("front", False),
        ("  orders", False),
        ("    table", False),
        ("      orders", True),
        ("  users", False),
        ("    table", True),
        ("island", False),
        ("  island-b", False),
        ("    island", True),
    ]


def test_an_edge_to_a_service_not_in_the_answer_is_a_warning() -> None:
    service_map = build_map([[_service(0, "api", "AWS::Lambda", [(9, 1)], root=True)]])
    assert service_map.services[("api", "AWS::Lambda", None)].edges == {}
    assert service_map.warnings == ["api: an edge to ReferenceId 9, which the graph does not hold: left out"]
