"""Typed fields of one entity of a segment document, read without ever raising on bad data.

Each reader takes a document (a segment, subsegment or inferred segment) and a `warn` callback: a field of the
wrong type is passed to `warn` and the entity keeps what could be read. Strings are returned as they are in
the trace; renderers clean them for the terminal (`xrayctl.text.sanitize`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from xrayctl.trace.model import AnnotationValue, ExceptionInfo, Status

Warn = Callable[[str], None]


def time_field(doc: dict[str, Any], key: str, warn: Warn) -> float | None:
    """A time in epoch seconds, or None when missing or unusable (non-finite, negative, not a number)."""
    value = doc.get(key)
    if type(value) is float and 0.0 <= value < math.inf:  # nearly always; NaN fails the comparison
        return value
    if value is None:
        warn(f"no {key}")
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            warn(f"{key} {describe(value)} is not a number: treated as missing")
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        warn(f"{key} is {describe(value)}, not a number: treated as missing")
        return None
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        warn(f"{key} {describe(value)} is not a time: treated as missing")
        return None
    return seconds


def text_field(doc: dict[str, Any], key: str, warn: Warn) -> str | None:
    value = doc.get(key)
    if value is None or isinstance(value, str):
        return value
    warn(f"{key} is {describe(value)}, not a string")
    return text(value)


def object_field(doc: dict[str, Any], key: str, warn: Warn) -> dict[str, Any]:
    """A field that must be an object. Kept as it is, not copied: the model never modifies it."""
    value = doc.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    warn(f"{key} is {describe(value)}, not an object: ignored")
    return {}


def annotation_field(doc: dict[str, Any], warn: Warn) -> dict[str, AnnotationValue]:
    given = object_field(doc, "annotations", warn)
    kept: dict[str, AnnotationValue] = {}
    for key, value in given.items():
        if isinstance(value, (str, int, float)):  # bool is an int
            kept[key] = value
        else:
            # X-Ray indexes only strings, numbers and booleans; the SDKs drop the rest the same way.
            warn(f"annotation {key!r} is {describe(value)}, not a string, number or boolean: dropped")
    return kept


def link_field(doc: dict[str, Any], warn: Warn) -> list[dict[str, Any]]:
    """The entity's span links: objects naming another trace (`trace_id`) and span (`id`)."""
    value = doc.get("links")
    if value is None:
        return []
    if not isinstance(value, list):
        warn(f"links is {describe(value)}, not a list: ignored")
        return []
    kept = [link for link in value if isinstance(link, dict)]
    if len(kept) < len(value):
        warn(f"links holds {len(value) - len(kept)} entries that are not objects: ignored")
    return kept


def http_field(doc: dict[str, Any], warn: Warn) -> dict[str, Any]:
    http = object_field(doc, "http", warn)
    response = http.get("response")
    if isinstance(response, dict) and isinstance(response.get("content_length"), str):
        # Some SDKs write the header's text as it came; a number is what every reader expects.
        try:
            length = int(response["content_length"])
        except ValueError:
            warn(f"http.response.content_length {describe(response['content_length'])} is not a number")
        else:
            http = {**http, "response": {**response, "content_length": length}}
    return http


def http_status(http: dict[str, Any]) -> int | None:
    """The response status in an entity's `http` field, if it is a number (or a string of digits)."""
    response = http.get("response")
    if not isinstance(response, dict):
        return None
    value = response.get("status")
    if isinstance(value, str):
        return _small_int(value)
    return integer(value)


def integer(value: object) -> int | None:
    """`value` as an int when it is one, or a float with no fraction (JSON's 200.0); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _small_int(text: str) -> int | None:
    """`text` as an integer if it is ASCII digits, and not too many: `str.isdigit` also says yes to `²`, which
    int() refuses, and int() refuses more than 4,300 digits. No count or status has 19 digits."""
    digits = text.strip()
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def flag(doc: dict[str, Any], key: str, warn: Warn) -> bool:
    """A boolean field (`fault`, `error`, `throttle`, `in_progress`...); anything but true/false is warned."""
    value = doc.get(key)
    if value is None or value is True or value is False:
        return value is True
    if value in ("true", "false"):
        return value == "true"
    warn(f"{key} is {describe(value)}, not true or false: taken as false")
    return False


def status(doc: dict[str, Any], code: int | None, warn: Warn) -> Status:
    """The worst of the entity's marks: fault (or 5xx), then throttle (or 429), then error (or 4xx)."""
    code = code or 0
    if flag(doc, "fault", warn) or 500 <= code <= 599:
        return "fault"
    if flag(doc, "throttle", warn) or code == 429:
        return "throttle"
    if flag(doc, "error", warn) or 400 <= code <= 499:
        return "error"
    return "ok"


def describe(value: Any) -> str:
    """A short account of an unexpected value for a warning. Containers are only named: their repr would
    recurse, and a hostile document can nest them thousands deep."""
    if value is None or isinstance(value, (bool, int, float, str)):
        shown = repr(value)
        return shown if len(shown) <= 40 else shown[:39] + "…"
    if isinstance(value, Mapping):
        return "an object"
    return "an array" if isinstance(value, list) else f"a {type(value).__name__}"


def text(value: Any) -> str:
    """A field as display text: strings as they are, scalars as JSON writes them, a list of strings joined."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    return describe(value)


def frame_text(frame: Any, paths: Mapping[str, str] | None = None) -> str:
    """`path:line in label` for one stack frame; its path replaced by the file `paths` maps it to (see
    `PathIndex`)."""
    if not isinstance(frame, dict):
        return text(frame)
    where = text(frame.get("path")) or "?"
    if paths:
        where = paths.get(where.replace("\\", "/"), where)
    line = frame.get("line")
    if line is not None:
        where = f"{where}:{text(line)}"
    name = frame.get("label")
    return f"{where} in {text(name)}" if name else where


_MAX_PATHS = 1000
_MAX_PATH = 4096
_MAX_TAIL = 8  # the directories of a frame's relative path that are matched


class PathIndex:
    """The files a trace's causes list in full (X-Ray's `cause.paths`), by the relative paths that name them.

    A stack frame names its file by a relative path, and the Python SDK keeps only the file's name
    (`client.py`); the runtime's cause of the same failure (on Lambda's function segment) lists the files in
    full. A frame whose path ends exactly one listed file is shown with that file's full path; the others
    stay as recorded (of two `client.py`, which one would be a guess)."""

    def __init__(self) -> None:
        self._by_tail: dict[str, set[str]] = {}

    def add(self, cause: Any) -> None:
        listed = cause.get("paths") if isinstance(cause, dict) else None
        if not isinstance(listed, list):
            return
        # Bounded, as a document is untrusted: a real cause lists tens of files, a few directories deep.
        for path in listed[:_MAX_PATHS]:
            if not isinstance(path, str) or not path or len(path) > _MAX_PATH:
                continue
            parts = path.replace("\\", "/").split("/")
            for depth in range(1, min(len(parts), _MAX_TAIL + 1)):
                self._by_tail.setdefault("/".join(parts[-depth:]), set()).add(path)

    def resolved(self) -> dict[str, str]:
        """Relative path -> the one full path it names."""
        return {tail: next(iter(found)) for tail, found in self._by_tail.items() if len(found) == 1}


def _exception(entry: dict[str, Any], warn: Warn) -> ExceptionInfo:
    stack = entry.get("stack")
    if stack is None:
        stack = []
    elif not isinstance(stack, list):
        warn(f"exception stack is {describe(stack)}, not a list: shown as one frame")
        stack = [stack]
    truncated = entry.get("truncated")
    if isinstance(truncated, str) and _small_int(truncated) is not None:
        truncated = _small_int(truncated)
    if truncated is not None and (isinstance(truncated, bool) or not isinstance(truncated, int)):
        warn(f"exception truncated count {describe(truncated)} is not a number: ignored")
        truncated = None
    kind, ident = entry.get("type"), entry.get("id")
    return ExceptionInfo(
        message=text(entry.get("message")),
        type=None if kind is None else text(kind),
        id=None if ident is None else text(ident),
        remote=entry.get("remote") is True,
        stack=[frame_text(frame) for frame in stack],
        truncated=truncated or 0,
    )


def exceptions(cause: Any, warn: Warn) -> tuple[list[ExceptionInfo], str | None]:
    """The exceptions in an entity's `cause`, and the exception id the cause refers to when it is only an id
    (the exception is then recorded in another entity of the trace: the caller looks it up)."""
    if cause is None:
        return [], None
    if isinstance(cause, str):
        return [], cause
    if not isinstance(cause, dict):
        warn(f"cause is {describe(cause)}, neither an exception id nor an object: ignored")
        return [], None
    entries = cause.get("exceptions")
    if entries is None:
        return [], None
    if not isinstance(entries, list):
        warn(f"cause.exceptions is {describe(entries)}, not a list: ignored")
        return [], None
    found = []
    for entry in entries:
        if isinstance(entry, dict):
            found.append(_exception(entry, warn))
        else:
            warn(f"cause.exceptions holds {describe(entry)}, not an exception object")
            found.append(ExceptionInfo(message=text(entry)))
    return found, None
