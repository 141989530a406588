"""JSON loading at any depth: the values `json.loads` gives, also past its recursion limit."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.support.docs import nested_json
from tests.support.paths import FIXTURES
from xrayctl.text.jsonload import loads

SEGMENTS = FIXTURES / "xray-real" / "segments"
LEVELS = 3000  # well past json.loads' limit (about 1,000)


def unnest(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = value["k"][0]
    return value


def test_deep_text_defeats_json_loads() -> None:
    with pytest.raises(RecursionError):
        json.loads(nested_json("1", LEVELS))


def test_reads_real_documents_nested_deep_exactly_as_json_loads_reads_them() -> None:
    samples = [path.read_text() for path in sorted(SEGMENTS.glob("*.txt"))]
    samples += [
        r'{"s": "tab\t\u00e9\ud83d\ude00\"\\/", "n": [-0, 1e5, -2.5E-3, 12345678901234567890],'
        r' "c": [true, false, null, {}, []], " spaced " : [ 1 , { } ] }',
        '{"nan": NaN, "inf": [Infinity, -Infinity]}',
        '[[], {}, "x", 1]',
    ]
    limit = sys.getrecursionlimit()
    for sample in samples:
        parsed = loads(nested_json(sample, LEVELS))
        assert json.dumps(unnest(parsed, LEVELS), sort_keys=True) == json.dumps(
            json.loads(sample), sort_keys=True
        )
    assert sys.getrecursionlimit() == limit


def test_shallow_text_and_top_level_scalars_read_as_json_loads_reads_them() -> None:
    for text in ('{"a": [1, {"b": null}]}', "[]", '"text"', " 3 ", "true"):
        assert loads(text) == json.loads(text)


@pytest.mark.parametrize(
    "broken", ['{"k": [1, 2', '{"k": [1,]}', '{"k" 1}', '{"k": [1]} x', '{"k": tru}', "{k: 1}", "[1 2]"]
)
def test_rejects_broken_json_at_any_depth(broken: str) -> None:
    for levels in (0, LEVELS):
        with pytest.raises(json.JSONDecodeError):
            loads(nested_json(broken, levels))
