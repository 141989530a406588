"""Which trace file a user gave `show-trace --input`, and its traces: the format detected, or named.

- `batch`: a BatchGetTraces response (`aws xray batch-get-traces`), one of its Traces, or a list of either;
  read by `build.load_batch`.
- `otlp`: OTLP/JSON (`{"resourceSpans": [...]}`), one object or one per line (the collector's file exporter,
  otel-tui); read by `otlp` and converted by `otelxray`, as the local stack converts what it receives.
- `retrieved`: a ListRetrievedTraces response (`Traces[].Spans[].Document`), TraceFormat XRAY (segment
  documents) or OTEL (spans), each document read as what it is.
- `xrayctl`: xrayctl's own `--output json` (`{"traces": [{"roots": ...}]}`); read by `build.load_batch`.

Detection looks at the top-level keys only, so it costs nothing beside the parse. A format named with
`--format` is checked the same way: a file without that format's keys is refused as not in it, naming the
format it looks like (xrayctl's `-o json` read as OTLP holds no span, which read as a missing trace).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from xrayctl.errors import InputError, TraceNotFound
from xrayctl.text import jsonload
from xrayctl.trace import otelxray, otlp
from xrayctl.trace.build import build_trace, load_batch
from xrayctl.trace.fields import describe
from xrayctl.trace.model import Trace

FORMATS = ("auto", "batch", "otlp", "retrieved", "xrayctl")
NAMES = {
    "batch": "a BatchGetTraces response",
    "otlp": "OTLP/JSON (resourceSpans)",
    "retrieved": "a ListRetrievedTraces response",
    "xrayctl": "xrayctl's --output json",
}


def detect(data: Any) -> str | None:
    """The format of parsed JSON `data` (one of FORMATS but auto), or None when it is none of them."""
    first = data[0] if isinstance(data, list) and data else data
    if not isinstance(first, Mapping):
        return None
    if "resourceSpans" in first or "resource_spans" in first:
        return "otlp"
    traces = first.get("Traces")
    if "RetrievalStatus" in first or (
        isinstance(traces, list) and traces and isinstance(traces[0], Mapping) and "Spans" in traces[0]
    ):
        return "retrieved"
    listed = first.get("traces")
    if isinstance(listed, list) and listed and isinstance(listed[0], Mapping) and "roots" in listed[0]:
        return "xrayctl"
    if ("roots" in first and "trace_id" in first) or "invocations" in first:  # one trace, or invoke's
        return "xrayctl"
    if "Traces" in first or "Segments" in first or "traces" in first:
        return "batch"
    return None


def load_traces_file(path: str, *, fmt: str = "auto", only: Sequence[str] | None = None) -> list[Trace]:
    """`load_traces` of the file at `path` (`-`: standard input), read within `inputs.INPUT_LIMIT` and
    decoded as JSON may be (UTF-8, UTF-16 or UTF-32); InputError when it is larger or is not text."""
    from xrayctl.text import inputs

    source = "standard input" if path == "-" else path
    what = f"--input {source}"
    fix = "Save fewer traces in one file, and draw them file by file."
    data = inputs.read_limited(path, inputs.INPUT_LIMIT, what=what, fix=fix)
    return load_traces(inputs.json_text(data, what=what), source=source, fmt=fmt, only=only)


def load_traces(
    text: str, *, source: str, fmt: str = "auto", only: Sequence[str] | None = None
) -> list[Trace]:
    """The traces in `text` (read from `source`), in format `fmt` ("auto": detected), or only those in `only`.

    Raises InputError when the text is not JSON or not the format, TraceNotFound as `build.load_batch` does.
    """
    data = _parse(text, source)
    looks = detect(data)
    if fmt != "auto" and not _fits(data, fmt, looks):
        raise InputError(
            f"{source} is not {NAMES[fmt]} (--format {fmt}): "
            + (f"it looks like {NAMES[looks]}." if looks else f"it is {describe(data)}."),
            f"Leave out --format to read it as {NAMES[looks]}." if looks else "Give the file --format names.",
        )
    found = looks if fmt == "auto" else fmt
    if found is None:
        raise InputError(
            f"{source} is {describe(data)} in no trace format xrayctl reads.",
            "Give a BatchGetTraces or ListRetrievedTraces response, OTLP/JSON (resourceSpans) or xrayctl's "
            "--output json; --format names the format.",
        )
    if found in ("batch", "xrayctl"):
        return load_batch(text, source=source, only=only)
    traces = _otlp_traces(data, source) if found == "otlp" else _retrieved_traces(data, source)
    return _only(traces, source, only)


def _fits(data: Any, fmt: str, looks: str | None) -> bool:
    """Whether `data` has the top-level keys of format `fmt` (`looks`: what `detect` found). BatchGetTraces
    answers and xrayctl's own JSON share one reader, and either name reads both."""
    if fmt in ("batch", "xrayctl"):
        return looks in ("batch", "xrayctl")
    first = data[0] if isinstance(data, list) and data else data
    if not isinstance(first, Mapping):
        return False
    if fmt == "otlp":
        return "resourceSpans" in first or "resource_spans" in first
    return "Traces" in first or "RetrievalStatus" in first  # retrieved


def _parse(text: str, source: str) -> Any:
    try:
        return jsonload.loads(text)
    except ValueError as error:
        # One JSON object per line, as the collector's file exporter writes a batch at a time.
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            try:
                return [jsonload.loads(line) for line in lines]
            except ValueError:
                pass
        raise InputError(
            f"{source} is not JSON: {error}.", "Give the trace file as its tool saved it."
        ) from None


def traces_from_spans(spans: list[otlp.Span], problems: list[otlp.Problem]) -> list[Trace]:
    """One tree per trace id from OTLP spans; spans that could not be read are each a trace warning."""
    documents, more = otelxray.to_documents(spans)
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in documents:
        by_trace[document["trace_id"]].append(document)
    traces = [build_trace(trace_id, docs) for trace_id, docs in by_trace.items()]
    left_out = [f"span {p.span_id or '(no id)'} left out: {p.reason}" for p in [*problems, *more]]
    if left_out:
        if not traces:
            raise InputError(f"no span could be read: {left_out[0]}", "Check the file's span ids.")
        traces[0].warnings.extend(left_out)
    return traces


def _otlp_traces(data: Any, source: str) -> list[Trace]:
    spans: list[otlp.Span] = []
    problems: list[otlp.Problem] = []
    for part in data if isinstance(data, list) else [data]:
        read, failed = otlp.spans_from_json(part)
        spans.extend(read)
        problems.extend(failed)
    if not spans and not problems:
        raise TraceNotFound(f"{source} holds no span.", "Export the traces again once they have spans.")
    try:
        return traces_from_spans(spans, problems)
    except InputError as error:
        raise InputError(f"{source}: {error.message}", error.fix) from None


def _retrieved_traces(data: Any, source: str) -> list[Trace]:
    """ListRetrievedTraces: each trace's `Spans[].Document` is a segment document (XRAY) or a span (OTEL)."""
    pages = data if isinstance(data, list) else [data]
    traces: list[Trace] = []
    statuses: set[str] = set()
    for page in pages:
        if not isinstance(page, Mapping):
            raise InputError(f"{source}: a page is {describe(page)}, not a ListRetrievedTraces response.")
        if isinstance(page.get("RetrievalStatus"), str):
            statuses.add(page["RetrievalStatus"])
        for entry in page.get("Traces") or []:
            traces.extend(_retrieved_trace(entry, source))
    if not traces:
        running = statuses - {"COMPLETE"}
        said = f" (RetrievalStatus {', '.join(sorted(running))})" if running else ""
        raise TraceNotFound(
            f"{source} holds no trace{said}.",
            "ListRetrievedTraces answers with traces once the retrieval is COMPLETE: list them again then.",
        )
    return traces


def _retrieved_trace(entry: Any, source: str) -> list[Trace]:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("Spans"), list):
        raise InputError(f"{source}: a trace is {describe(entry)} without Spans, not a retrieved trace.")
    trace_id = str(entry["Id"]) if isinstance(entry.get("Id"), str) else ""
    xray_documents: list[Any] = []
    spans: list[otlp.Span] = []
    problems: list[otlp.Problem] = []
    for item in entry["Spans"]:
        document = item.get("Document") if isinstance(item, Mapping) else item
        try:
            parsed = jsonload.loads(document) if isinstance(document, str) else document
        except ValueError as error:
            problems.append(otlp.Problem(str(item.get("Id", "")), f"document is not JSON: {error}"))
            continue
        if isinstance(parsed, Mapping) and ("spanId" in parsed or "resourceSpans" in parsed):
            read, failed = otlp.spans_from_json(parsed)
            spans.extend(read)
            problems.extend(failed)
        else:
            xray_documents.append(document)
    if spans or (problems and not xray_documents):
        return traces_from_spans(spans, problems)
    return [build_trace(trace_id, xray_documents)]


def _only(traces: list[Trace], source: str, only: Sequence[str] | None) -> list[Trace]:
    if only is None:
        return traces
    wanted = [trace for trace in traces if trace.id in only]
    missing = [trace_id for trace_id in only if trace_id not in {trace.id for trace in wanted}]
    if missing:
        raise TraceNotFound(
            f"{source} has no trace {', '.join(missing)}.",
            "Leave out the trace ids to draw every trace in the file.",
            found=wanted,
        )
    return wanted
