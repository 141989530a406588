"""JSON text to Python values at any nesting depth.

`json.loads` recurses once per nesting level and raises RecursionError past about 1,000 levels. Segment
documents and saved BatchGetTraces responses come from outside and can nest deeper (a 5,000-level chain of
subsegments is valid X-Ray data), so `loads` falls back to a parser that keeps its open containers on a list:
depth costs memory, not stack.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Decodes one scalar (string, number, constant) at a position; containers are the iterative parser's job.
_SCALARS = json.JSONDecoder()


def _skip(doc: str, pos: int) -> int:
    match = _WHITESPACE.match(doc, pos)
    return match.end() if match else pos


def _key(doc: str, pos: int) -> tuple[str, int]:
    """Read `"key" :` at `pos` and return the key and the position of its value."""
    if not doc.startswith('"', pos):
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", doc, pos)
    key, pos = _SCALARS.raw_decode(doc, pos)
    pos = _skip(doc, pos)
    if not doc.startswith(":", pos):
        raise json.JSONDecodeError("Expecting ':' delimiter", doc, pos)
    return key, _skip(doc, pos + 1)


def _loads_iterative(doc: str) -> Any:
    """json.loads without recursion: open containers live on a list, so depth costs memory, not stack."""
    open_containers: list[dict[str, Any] | list[Any]] = []
    keys: list[str] = []  # the pending key of each open object, in step with the objects on the stack
    pos = _skip(doc, 0)
    while True:
        # Read one value at `pos`: an opening bracket starts a container and reads its first value next.
        value: Any
        if doc.startswith("{", pos):
            pos = _skip(doc, pos + 1)
            if not doc.startswith("}", pos):
                key, pos = _key(doc, pos)
                open_containers.append({})
                keys.append(key)
                continue
            value, pos = {}, pos + 1
        elif doc.startswith("[", pos):
            pos = _skip(doc, pos + 1)
            if not doc.startswith("]", pos):
                open_containers.append([])
                continue
            value, pos = [], pos + 1
        else:
            value, pos = _SCALARS.raw_decode(doc, pos)
        # Store the value in its container; a closing bracket completes the container, which is stored next.
        while True:
            pos = _skip(doc, pos)
            if not open_containers:
                if pos != len(doc):
                    raise json.JSONDecodeError("Extra data", doc, pos)
                return value
            container = open_containers[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[keys[-1]] = value
            closing = "]" if isinstance(container, list) else "}"
            if doc.startswith(",", pos):
                pos = _skip(doc, pos + 1)
                if isinstance(container, dict):
                    keys[-1], pos = _key(doc, pos)
                break
            if not doc.startswith(closing, pos):
                raise json.JSONDecodeError(f"Expecting ',' delimiter or '{closing}'", doc, pos)
            value, pos = open_containers.pop(), pos + 1
            if isinstance(value, dict):
                keys.pop()


def loads(text: str) -> Any:
    """`json.loads(text)`, also for text nested deeper than the recursion limit allows.

    Raises json.JSONDecodeError (a ValueError) as `json.loads` does. Most text takes the C decoder; only
    text that makes it recurse too deep is read again by the iterative parser, which is slower but takes
    any depth.
    """
    try:
        return json.loads(text)
    except RecursionError:
        return _loads_iterative(text)
