"""Segment documents -> one tree per trace (`build_trace`); BatchGetTraces output -> traces
(`traces_from_batch`, and `load_batch` for a saved response).

A trace arrives as separate documents in any order: segments with their subsegments embedded, independent
subsegments and inferred segments that name their parent by `parent_id`, segments whose parent is a subsegment
of another segment. The builder reads every entity into a `Node`, links the `parent_id`s once all are read,
and derives timing and status. Real documents are messy, so nothing here raises on bad data: each problem
becomes a warning on the node and on the trace, and every entity that was read is in the tree exactly once.

Documents can nest thousands deep and come from outside: the builder never recurses, and documents are
read with `xrayctl.text.jsonload`, which takes any depth.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from xrayctl.errors import InputError, TraceNotFound
from xrayctl.text import jsonload
from xrayctl.trace import fields, labels
from xrayctl.trace.fields import Warn, describe, text
from xrayctl.trace.model import ExceptionInfo, Kind, Node, Trace
from xrayctl.trace.saved import is_saved_json, traces_from_saved
from xrayctl.trace.selftime import set_self_times

# ---------------------------------------------------------------------------------------------- parsing


def _strip_daemon_header(doc: str) -> str:
    """Drop the `{"format":"json","version":1}` line the SDKs put before a document sent to the daemon."""
    header, newline, rest = doc.lstrip().partition("\n")
    if not newline or not header.startswith('{"format"'):
        return doc
    try:
        parsed = json.loads(header)
    except ValueError:
        return doc
    return rest if isinstance(parsed, dict) and parsed.get("format") == "json" else doc


def parse_document(text: str) -> dict[str, Any]:
    """Load one segment document (as BatchGetTraces returns it, or a daemon datagram with its header line).

    Raises ValueError (json.JSONDecodeError for bad JSON) when the text is not one JSON object.
    """
    value = jsonload.loads(_strip_daemon_header(text))
    if not isinstance(value, dict):
        raise ValueError(f"a segment document is a JSON object, not {describe(value)}")
    return value


# ------------------------------------------------------------------------------------------- entities

_ID_IN_TEXT = re.compile(r'"id"\s*:\s*"([^"\\]{1,64})"')


def _synthetic_id(parent_key: str | None, name: str, origin: str | None, start: float | None) -> str:
    """An id for an entity that has none, derived from what it holds so it does not depend on the order of
    the documents (the same trace read twice gets the same ids)."""
    digest = hashlib.blake2b(repr((parent_key, name, origin, start)).encode(), digest_size=6).hexdigest()
    return f"synthetic-{digest}"


# The fields `_read_entity` reads into a Node's own attributes (or into its place in the tree); the rest go to
# `Node.extra`, so nothing a document holds is lost.
_READ_FIELDS = frozenset(
    (
        "id", "name", "origin", "namespace", "start_time", "end_time", "in_progress", "fault", "error",
        "throttle", "http", "aws", "sql", "annotations", "metadata", "cause", "links", "subsegments",
        "parent_id", "trace_id", "type", "inferred",
    )
)  # fmt: skip


def _extra(doc: dict[str, Any]) -> dict[str, Any]:
    extra = {key: value for key, value in doc.items() if key not in _READ_FIELDS}
    cause = doc.get("cause")
    if isinstance(cause, dict) and cause.keys() - {"exceptions"}:
        extra["cause"] = {key: value for key, value in cause.items() if key != "exceptions"}
    return extra


def _kind(doc: dict[str, Any], embedded: bool, warn: Warn) -> Kind:
    if fields.flag(doc, "inferred", warn):
        return "inferred"
    kind = doc.get("type")
    if kind is not None and kind != "subsegment":
        # X-Ray knows one type: anything else is a mistake a reader should hear of, not a silent segment.
        warn(f'type is {describe(kind)}, not "subsegment": ignored')
    return "subsegment" if embedded or kind == "subsegment" else "segment"


_DIGITS = re.compile(r"([0-9]+)")


def _order_key(node: Node) -> tuple[bool, float, list[Any], str]:
    """Siblings by start time; those that start together (Step Functions' Map iterations, a batch of calls)
    by name in natural order (Iteration 5 before Iteration 24), then id: the same drawing every time."""
    # re.split with a group alternates text and digit runs, so like compares with like; a digit run is
    # compared by length then text, which orders numbers of any size without int() (and its digit limit).
    parts = _DIGITS.split(node.name.casefold())
    natural = [(len(part.lstrip("0")), part.lstrip("0")) if i % 2 else part for i, part in enumerate(parts)]
    return (node.start_time is None, node.start_time or 0.0, natural, node.id)


# ----------------------------------------------------------------------------------------------- building


class _Builder:
    """Reads documents into nodes, then links, orders and measures them (`finish`)."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.nodes: list[Node] = []
        self.by_id: dict[str, Node] = {}  # the first node read with each id
        self.parent_ids: dict[Node, str] = {}  # top-level entities' `parent_id`, linked once all are read
        # Causes given only as the id of an exception recorded in another entity of the trace.
        self.cause_ids: list[tuple[Node, str]] = []
        self.exceptions_by_id: dict[str, ExceptionInfo] = {}
        # Causes with their exceptions, and the full paths every cause lists: a frame's file is named in full
        # once all are read (`_name_files`).
        self.causes: list[tuple[Node, dict[str, Any]]] = []
        self.paths = fields.PathIndex()

    def warn(self, node: Node, message: str) -> None:
        node.warnings.append(message)
        self.trace.warnings.append(f"{node.name} [{node.id}]: {message}")

    def add(self, item: Any, index: int) -> None:
        """Read one element of a trace's `Segments`: a document (text or object) or `{"Id", "Document"}`."""
        known_id = None
        if isinstance(item, Mapping) and "Document" in item and "id" not in item:
            known_id, item = item.get("Id"), item["Document"]
        if isinstance(item, str):
            try:
                item = parse_document(item)
            except (ValueError, RecursionError) as error:
                found = _ID_IN_TEXT.search(item[:4096])
                which = known_id or (found.group(1) if found else None)
                name = f"segment {which}" if which else f"segment #{index + 1}"
                self.trace.warnings.append(f"{name}: document left out, it is not a JSON object: {error}")
                return
        if not isinstance(item, Mapping):
            self.trace.warnings.append(f"segment #{index + 1}: {describe(item)} is not a segment document")
            return
        self._read_document(item if isinstance(item, dict) else dict(item))

    def _read_document(self, doc: dict[str, Any]) -> None:
        if not self.trace.id and isinstance(doc.get("trace_id"), str):
            self.trace.id = doc["trace_id"]
        pending: list[tuple[dict[str, Any], Node | None]] = [(doc, None)]
        while pending:
            entity, parent = pending.pop()
            node, subsegments = self._read_entity(entity, parent)
            if subsegments:
                pending.extend((sub, node) for sub in reversed(subsegments))

    def _read_entity(self, doc: dict[str, Any], parent: Node | None) -> tuple[Node, list[dict[str, Any]]]:
        problems: list[str] = []
        warn = problems.append
        origin = fields.text_field(doc, "origin", warn)
        kind = _kind(doc, parent is not None, warn)
        self._check_trace_id(doc, warn)
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            warn("no name" if name in (None, "") else f"name is {describe(name)}, not a string")
            name = (text(name) if isinstance(name, (int, float)) else "") or origin or kind
        start = fields.time_field(doc, "start_time", warn)
        parent_id = doc.get("parent_id") if parent is None else None
        if parent_id is not None and not isinstance(parent_id, str):
            warn(f"parent_id is {describe(parent_id)}, not an id: ignored")
            parent_id = None
        ident = doc.get("id")
        if not isinstance(ident, str) or not ident:
            given = ident
            ident = self._unused_id(_synthetic_id(parent.id if parent else parent_id, name, origin, start))
            warn(f"no id: called {ident} here" if given is None else f"id is {describe(given)}, not an id")
        in_progress = fields.flag(doc, "in_progress", warn)
        end = (
            fields.time_field(doc, "end_time", warn)
            if doc.get("end_time") is not None or not in_progress
            else None
        )
        if start is not None and end is not None and end < start:
            warn("end_time is before start_time")
        if kind == "subsegment" and parent is None and parent_id is None:
            warn("independent subsegment without parent_id: shown as a root")
        http = fields.http_field(doc, warn)
        code = fields.http_status(http)
        cause = doc.get("cause")
        exceptions, cause_id = fields.exceptions(cause, warn)
        node = Node(
            id=ident,
            name=name,
            kind=kind,
            origin=origin,
            namespace=fields.text_field(doc, "namespace", warn),
            start_time=start,
            end_time=end,
            in_progress=in_progress,
            status=fields.status(doc, code, warn),
            http_status=code,
            annotations=fields.annotation_field(doc, warn),
            metadata=fields.object_field(doc, "metadata", warn),
            http=http,
            aws=fields.object_field(doc, "aws", warn),
            sql=fields.object_field(doc, "sql", warn),
            exceptions=exceptions,
            links=fields.link_field(doc, warn),
            extra=_extra(doc),
            parent=parent,
            warnings=problems,
        )
        node.label = labels.label(node)
        subsegments = self._subsegments(doc, warn)
        if problems:
            self.trace.warnings.extend(f"{name} [{ident}]: {problem}" for problem in problems)
        self._register(node, parent_id, cause_id)
        if exceptions and isinstance(cause, dict):
            self.causes.append((node, cause))
            self.paths.add(cause)
        return node, subsegments

    def _check_trace_id(self, doc: dict[str, Any], warn: Warn) -> None:
        """A `trace_id` that is not this trace's: a document filed under the wrong trace, or ids that collide
        across traces. It is shown here (where it was given), with a warning."""
        value = doc.get("trace_id")
        if value is None or value == self.trace.id:
            return
        if not isinstance(value, str):
            warn(f"trace_id is {describe(value)}, not a trace id: ignored")
        elif self.trace.id:
            warn(f"trace_id {describe(value)} is not this trace's ({describe(self.trace.id)})")

    def _subsegments(self, doc: dict[str, Any], warn: Warn) -> list[dict[str, Any]]:
        value = doc.get("subsegments")
        if value is None:
            return []
        if isinstance(value, dict):
            warn("subsegments is one object, not a list of them: read as a list of one")
            return [value]
        if not isinstance(value, list):
            warn(f"subsegments is {describe(value)}, not a list: ignored")
            return []
        kept = [entry for entry in value if isinstance(entry, dict)]
        if len(kept) < len(value):
            for entry in value:
                if not isinstance(entry, dict):
                    warn(f"subsegments holds {describe(entry)}, not a subsegment: ignored")
        return kept

    def _unused_id(self, candidate: str) -> str:
        ident, count = candidate, 1
        while ident in self.by_id:
            count += 1
            ident = f"{candidate}-{count}"
        return ident

    def _register(self, node: Node, parent_id: str | None, cause_id: str | None) -> None:
        self.nodes.append(node)
        if node.parent is not None:
            node.parent.children.append(node)
        elif parent_id is not None:
            self.parent_ids[node] = parent_id
        first = self.by_id.setdefault(node.id, node)
        if first is not node:
            self.warn(node, f"duplicate id: {first.name!r} has the same id; both are shown")
        if cause_id is not None:
            self.cause_ids.append((node, cause_id))
        for exception in node.exceptions:
            if exception.id:
                self.exceptions_by_id.setdefault(exception.id, exception)

    def finish(self) -> Trace:
        self._link_parents()
        self._break_cycles()
        self._name_files()
        self._resolve_causes()
        trace = self.trace
        if not trace.id:
            trace.id = "unknown"
            trace.warnings.append("no trace id: none was given and no document has a trace_id")
        for node in self.parent_ids:
            if node.parent is not None:
                node.parent.children.append(node)
        trace.roots = sorted((node for node in self.nodes if node.parent is None), key=_order_key)
        pending = list(trace.roots)
        while pending:
            node = pending.pop()
            node.children.sort(key=_order_key)
            for child in node.children:
                child.depth = node.depth + 1
            pending.extend(node.children)
        set_self_times(trace.roots)
        starts = [node.start_time for node in self.nodes if node.start_time is not None]
        ends = [node.end_time for node in self.nodes if node.end_time is not None]
        trace.start_time = min(starts, default=None)
        trace.end_time = max(ends, default=None)
        trace.node_count = len(self.nodes)
        trace.max_depth = max((node.depth for node in self.nodes), default=0)
        trace.in_progress = any(node.in_progress for node in self.nodes)
        return trace

    def _link_parents(self) -> None:
        for node, parent_id in self.parent_ids.items():
            parent = self.by_id.get(parent_id)
            if parent is None:
                self.warn(node, f"parent {parent_id} is not in this trace: shown as a root")
            else:
                node.parent = parent

    def _break_cycles(self) -> None:
        """Cut each loop of `parent_id`s at the member with the smallest id, which becomes a root.

        Every loop holds at least one `parent_id` link: embedded subsegments only point to entities read
        before them. The cut does not depend on the order of the documents."""
        done: set[Node] = set()
        for start in self.parent_ids:
            path: list[Node] = []
            on_path: set[Node] = set()
            node: Node | None = start
            while node is not None and node not in done and node not in on_path:
                path.append(node)
                on_path.add(node)
                node = node.parent
            if node is not None and node in on_path:
                loop = path[path.index(node) :]
                cut = min((member for member in loop if member in self.parent_ids), key=lambda n: n.id)
                cut.parent = None
                self.warn(cut, f"parent {self.parent_ids[cut]} leads back to this entity: shown as a root")
            done.update(path)

    def _name_files(self) -> None:
        """Each stack frame's file named in full where a cause of the trace lists it (`fields.PathIndex`)."""
        paths = self.paths.resolved()
        if not paths:
            return
        for node, cause in self.causes:
            for info, entry in zip(node.exceptions, cause["exceptions"], strict=False):
                stack = entry.get("stack") if isinstance(entry, dict) else None
                if isinstance(stack, list):
                    info.stack = [fields.frame_text(frame, paths) for frame in stack]

    def _resolve_causes(self) -> None:
        for node, exception_id in self.cause_ids:
            recorded = self.exceptions_by_id.get(exception_id)
            if recorded is None:
                node.exceptions.append(ExceptionInfo(message=f"exception {exception_id}", id=exception_id))
                self.warn(node, f"cause names exception {exception_id}, which is not in this trace")
            else:
                node.exceptions.append(replace(recorded))


def build_trace(
    trace_id: str, documents: Iterable[str | Mapping[str, Any]], *, limit_exceeded: bool = False
) -> Trace:
    """One tree from a trace's segment documents, in any order.

    `documents` are JSON texts or parsed objects (also `{"Id", "Document"}` as BatchGetTraces lists them).
    An empty `trace_id` is read from the first document that has one. Never raises on bad data: problems are
    `Trace.warnings` (and `Node.warnings`), and every entity read is in the tree once.
    """
    builder = _Builder(Trace(id=trace_id, limit_exceeded=limit_exceeded))
    for index, document in enumerate(documents):
        builder.add(document, index)
    return builder.finish()


def _trace(entry: Mapping[str, Any]) -> Trace:
    trace_id = entry.get("Id")
    segments = entry.get("Segments")
    documents = segments if isinstance(segments, list) else []
    trace = build_trace(
        trace_id if isinstance(trace_id, str) else "",
        documents,
        limit_exceeded=entry.get("LimitExceeded") is True,
    )
    if not isinstance(segments, list):
        trace.warnings.append(f"Segments is {describe(segments)}, not a list of documents")
    return trace


def _trace_list(data: Any) -> list[Any] | None:
    """The traces an output object holds: BatchGetTraces' `Traces`, or `traces` as harnesses save them."""
    if not isinstance(data, Mapping):
        return None
    for key in ("Traces", "traces"):
        if isinstance(data.get(key), list):
            return list(data[key])
    return None


def traces_from_batch(data: Any) -> list[Trace]:
    """The traces in BatchGetTraces output as `aws xray batch-get-traces` prints it (`{"Traces": [...]}`),
    a list of such outputs or of traces, or one trace (`{"Id", "Segments"}`).

    Raises InputError when `data` (or an element of a list) is none of these.
    """
    if isinstance(data, Mapping) and "Segments" in data:
        return [_trace(data)]
    entries = data if isinstance(data, list) else _trace_list(data)
    if entries is None:
        raise InputError(
            f"The input is {describe(data)} without traces, not BatchGetTraces output.",
            "Give the JSON that `aws xray batch-get-traces --trace-ids ...` prints, or one of its Traces.",
        )
    if isinstance(data, list):  # a list of whole outputs, as saved page by page
        entries = [trace for entry in entries for trace in (_trace_list(entry) or [entry])]
    traces = []
    for position, entry in enumerate(entries):
        if not (isinstance(entry, Mapping) and "Segments" in entry):
            raise InputError(
                f"Trace {position + 1} of the input is {describe(entry)} without Segments, not a trace.",
                "Each trace is an object with Id and Segments, as BatchGetTraces returns it.",
            )
        traces.append(_trace(entry))
    return traces


def load_batch(text: str, *, source: str, only: Sequence[str] | None = None) -> list[Trace]:
    """The traces in a saved BatchGetTraces response or in xrayctl's own `--output json` (`text`, read from
    `source`), or only those in `only`.

    Raises InputError when the text is not JSON or not a BatchGetTraces answer, TraceNotFound when it holds
    no trace at all (X-Ray answers `"Traces": []` for a trace it does not have yet) or when an id in `only` is
    not in it (carrying the ones that are).
    """
    try:
        data = jsonload.loads(text)
    except ValueError as error:
        raise InputError(
            f"{source} is not JSON: {error}.", "Give the JSON that `aws xray batch-get-traces` prints."
        ) from None
    try:
        traces = traces_from_saved(data) if is_saved_json(data) else traces_from_batch(data)
    except InputError as error:
        raise InputError(f"{source}: {error.message}", error.fix) from None
    if only is None:
        if not traces:
            unprocessed = data.get("UnprocessedTraceIds") if isinstance(data, dict) else None
            said = f" (X-Ray could not return {', '.join(map(str, unprocessed))})" if unprocessed else ""
            raise TraceNotFound(
                f"{source} holds no trace{said}.",
                "X-Ray answers with no trace while it is still ingesting one: fetch it again later.",
            )
        return traces
    wanted = [trace for trace in traces if trace.id in only]
    present = {trace.id for trace in wanted}
    missing = [trace_id for trace_id in only if trace_id not in present]
    if missing:
        raise TraceNotFound(
            f"{source} has no trace {', '.join(missing)}.",
            "Leave out the trace ids to draw every trace in the file.",
            found=wanted,
        )
    return wanted
