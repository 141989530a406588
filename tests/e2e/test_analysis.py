"""Answers on the real local stack: `invoke --count 3` ends with a comparison of its invocations (the cold
one marked), `compare` gives the same pairs, and `service-map` counts what was invoked, as the AWS CLI's
get-service-graph does against the same serve. Each command runs in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.serve import Serve, run, serve_env

pytestmark = pytest.mark.e2e
COUNT = 3
AWS_CLI = [sys.executable, "-m", "awscli", "xray"]  # the dev extra installs it


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    server = Serve(tmp_path_factory.mktemp("analysis-home"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def invoked(serve: Serve) -> dict[str, Any]:
    """`invoke --count 3` on a serve that has run nothing yet: its first sandbox starts cold."""
    started = int(time.time()) - 1
    result = run(serve.home, "--local", "invoke", "--count", str(COUNT), "-o", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    [comparison] = answer["comparisons"]  # one function invoked: one comparison
    assert comparison["function_name"] == "xrayctl-demo"
    return {**answer, "comparison": comparison, "window": (started, int(time.time()) + 2)}


def _pairs(comparison: dict[str, Any], path: tuple[str, ...]) -> list[float | None]:
    [node] = [node for node in comparison["nodes"] if tuple(node["path"]) == path]
    return list(node["durations"])


def test_invoke_count_ends_with_a_comparison_where_only_the_cold_one_initializes(
    invoked: dict[str, Any],
) -> None:
    comparison = invoked["comparison"]
    ids = [invocation["trace_id"] for invocation in invoked["invocations"]]
    assert [trace["trace_id"] for trace in comparison["traces"]] == ids
    # Cold by its REPORT line (Init Duration), not by coming first: the two agree here.
    cold = ["Init Duration" in invocation["log_tail"] for invocation in invoked["invocations"]]
    assert [trace["cold"] for trace in comparison["traces"]] == cold == [True, False, False]
    [initialization] = [node for node in comparison["nodes"] if node["path"][-1] == "Initialization"]
    assert initialization["present"] == [True, False, False]
    assert initialization["durations"][0] > 0 and initialization["durations"][1:] == [None, None]
    invocation = next(node for node in comparison["nodes"] if node["path"][-1] == "Invocation")
    assert all(duration is not None for duration in invocation["durations"])


def test_compare_of_two_of_those_traces_gives_the_same_pairs(serve: Serve, invoked: dict[str, Any]) -> None:
    cold_id, warm_id = (trace["trace_id"] for trace in invoked["comparison"]["traces"][:2])
    result = run(serve.home, "--local", "compare", cold_id, warm_id, "-o", "json")
    assert result.returncode == 0, result.stderr
    compared = json.loads(result.stdout)
    for node in compared["nodes"]:
        assert _pairs(invoked["comparison"], tuple(node["path"]))[:2] == node["durations"]
    assert len(compared["nodes"]) == len(invoked["comparison"]["nodes"])
    text = run(serve.home, "--local", "compare", cold_id, warm_id)
    [line] = [line for line in text.stdout.splitlines() if "Initialization" in line]
    assert "only in A" in line


def _graph(services: list[dict[str, Any]], name: str, kind: str, target: tuple[str, str]) -> tuple[int, int]:
    """(requests of the service, requests on its edge to `target`) from -o json of service-map."""
    by_id = {service["id"]: service for service in services}
    [service] = [s for s in services if (s["name"], s["type"]) == (name, kind)]
    [edge] = [e for e in service["edges"] if (by_id[e["to"]]["name"], by_id[e["to"]]["type"]) == target]
    return (service["statistics"] or {}).get("requests"), edge["statistics"]["requests"]


def test_service_map_counts_the_invocations_and_the_aws_cli_reads_the_same_graph(
    serve: Serve, invoked: dict[str, Any]
) -> None:
    start, end = invoked["window"]
    window = ["--start", str(start), "--end", str(end)]
    result = run(serve.home, "--local", "service-map", *window, "-o", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    # Each invocation is one request on the function, which calls S3 twice (put, then get).
    function = ("xrayctl-demo", "AWS::Lambda::Function")
    assert _graph(services, *function, ("S3", "AWS::S3::Bucket")) == (COUNT, 2 * COUNT)
    assert _graph(services, "xrayctl-demo", "AWS::Lambda", function) == (COUNT, COUNT)
    assert _graph(services, "xrayctl-demo", "client", ("xrayctl-demo", "AWS::Lambda"))[1] == COUNT

    aws = subprocess.run(
        [
            *AWS_CLI,
            "get-service-graph",
            "--start-time",
            str(start),
            "--end-time",
            str(end),
            "--output",
            "json",
        ],
        env={**serve_env(serve.home), **serve.env, "AWS_PAGER": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert aws.returncode == 0, aws.stderr
    theirs = json.loads(aws.stdout)["Services"]
    names = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in theirs}
    their_counts = {
        (names[s["ReferenceId"]], names[e["ReferenceId"]]): e["SummaryStatistics"]["TotalCount"]
        for s in theirs
        for e in s["Edges"]
    }
    by_id = {s["id"]: (s["name"], s["type"]) for s in services}
    our_counts = {
        (by_id[s["id"]], by_id[e["to"]]): e["statistics"]["requests"] for s in services for e in s["edges"]
    }
    assert our_counts == their_counts and len(our_counts) == 3
    their_totals = {names[s["ReferenceId"]]: s.get("SummaryStatistics", {}).get("TotalCount") for s in theirs}
    our_totals = {by_id[s["id"]]: (s["statistics"] or {}).get("requests") for s in services}
    assert our_totals == their_totals
