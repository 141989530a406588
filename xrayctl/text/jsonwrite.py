"""JSON out at any depth: a serializer with an explicit stack, safe to print to a terminal.

`json.dumps` recurses once per nesting level and raises RecursionError past about 1,000 levels; a trace tree
can be 5,000+ levels deep (two JSON levels per tree level), and metadata values from a document can be deep
too. `dumps` and `iter_json` write with an explicit stack instead: no recursion. The data stays intact:
characters a terminal would act on are written as JSON `\\u` escapes, never cut or replaced.

Numbers JSON cannot hold (NaN, Infinity: a hand-written input file may have them) are written as `null`;
values that are not JSON types (datetimes) are written as strings. Beyond 64 levels, indentation stops
growing, so a 5,000-level tree stays a few megabytes instead of gigabytes of spaces; the JSON is the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from xrayctl.text.sanitize import UNSAFE

MAX_INDENT_LEVELS = 64


def json_safe(value: Any) -> Any:
    """A copy of `value` holding only JSON types: datetimes become ISO 8601 strings, tuples lists."""
    if not isinstance(value, (dict, list, tuple)):
        return _safe_scalar(value)
    root: Any = {} if isinstance(value, dict) else []
    # (source container, its copy): each container is copied once, children pushed as they are met.
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, copy = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, (dict, list, tuple)):
                child: Any = {} if isinstance(item, dict) else []
                stack.append((item, child))
                item = child
            else:
                item = _safe_scalar(item)
            if isinstance(copy, dict):
                copy[key] = item
            else:
                copy.append(item)
    return root


def _safe_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def dumps(obj: Any, indent: int | None = 2) -> str:
    """`obj` as JSON text, like `json.dumps(obj, indent=indent, ensure_ascii=False)` but at any depth."""
    return "".join(iter_json(obj, indent))


def preview(obj: Any, max_len: int) -> str:
    """Compact one-line JSON of `obj`, cut to `max_len` characters with `…`; encodes no more than that."""
    out: list[str] = []
    length = 0
    for chunk in iter_json(obj, None):
        out.append(chunk)
        length += len(chunk)
        if length > max_len:
            return "".join(out)[: max_len - 1] + "…"
    return "".join(out)


class _Frame:
    __slots__ = ("first", "is_dict", "items")

    def __init__(self, items: Iterator[Any], is_dict: bool) -> None:
        self.items = items
        self.is_dict = is_dict
        self.first = True


_END: Any = object()


def iter_json(obj: Any, indent: int | None = 2) -> Iterator[str]:
    """JSON text of `obj` in chunks, written with an explicit stack of open containers."""
    item_sep = "," if indent is not None else ", "
    stack: list[_Frame] = []
    value = obj
    pending = True  # `value` has yet to be written
    while True:
        if pending:
            pending = False
            if isinstance(value, dict):
                if value:
                    yield "{"
                    stack.append(_Frame(iter(value.items()), True))
                else:
                    yield "{}"
            elif isinstance(value, (list, tuple)):
                if value:
                    yield "["
                    stack.append(_Frame(iter(value), False))
                else:
                    yield "[]"
            else:
                yield _scalar(value)
        if not stack:
            return
        frame = stack[-1]
        item: Any = next(frame.items, _END)
        if item is _END:
            stack.pop()
            closer = "}" if frame.is_dict else "]"
            yield closer if indent is None else _newline(indent, len(stack)) + closer
            continue
        separator = "" if frame.first else item_sep
        frame.first = False
        if indent is not None:
            separator += _newline(indent, len(stack))
        if frame.is_dict:
            key, value = item
            yield separator + _key(key) + ": "
        else:
            value = item
            if separator:
                yield separator
        pending = True


def _newline(indent: int, level: int) -> str:
    return "\n" + " " * (indent * min(level, MAX_INDENT_LEVELS))


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    if isinstance(value, datetime):
        return encode_basestring(value.isoformat())
    return _string(str(value))


def _string(value: str) -> str:
    """A JSON string, UTF-8 as it is, but for the characters a terminal would act on (C1 controls, BiDi
    overrides, lone surrogates that UTF-8 cannot even write, ...): those as `\\u` escapes."""
    text = encode_basestring(value)  # escapes C0 controls, quote and backslash
    if value.isascii() and "\x7f" not in value:
        return text
    return UNSAFE.sub(lambda match: encode_basestring_ascii(match.group())[1:-1], text)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is None or isinstance(key, (bool, int, float)):
        # JSON keys are strings; these become what `json.dumps` makes of them.
        return _string(_scalar(key))
    return _string(str(key))
