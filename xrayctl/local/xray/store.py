"""The local X-Ray's trace store: segment documents in SQLite, summaries kept current as they arrive.

Each document is stored as received, keyed by (trace id, id), so a later version (the SDKs send `in_progress`
first, then the complete one) replaces the earlier. Every trace has one row holding its window columns (start,
end, the epoch in its id) and the `TraceAggregate` its documents folded into, so a write costs what its own
documents cost and a summary read costs one row. Stitching (independent subsegments into parents, inferred
segments) happens when a trace is read: writes stay proportional to the batch, and a read parses only the
trace it returns. Filters are evaluated on the summaries of the rows in the window, in key order, until a page
is full.

Each trace also records where it went (X-Ray, or CloudWatch Logs with Transaction Search on) and whether it
is indexed, decided by the settings in effect when its first document arrives (`destination`; the settings are
a row of the store, so they persist with it): only indexed traces have summaries, BatchGetTraces reads X-Ray's
traces, and `retrieve` (a trace retrieval) those of CloudWatch Logs, with the documents in its window.

An `in_progress` version that arrives after the complete one of the same id (datagrams keep no order) is
acknowledged and set aside: it never replaces what it precedes.

A document that replaces a stored one (the complete version of an `in_progress` segment, or a resend) makes
its trace's aggregate be folded again from the trace's current documents, so a summary never keeps what a
replaced version said (its annotations, flags, or times): the service summarizes the latest versions only.

One connection behind a lock serves every thread; WAL and a busy timeout let a second process (another
`xrayctl local serve`) read while this one writes, and write after it. A batch is acknowledged only after
its transaction commits, and a commit survives the process being killed (`kill -9` in the middle of a write:
the WAL is in the OS's hands); with synchronous=NORMAL only a power loss or an OS crash could roll back the
last commits, which for a local store is worth not paying an fsync per batch (FULL: ~4x the cost of a small
write). SQLite's failures (a full disk, a read-only directory, a lock held too long) become
`StoreError`, a LocalStackError that names the file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xrayctl.errors import LocalStackError, UsageError
from xrayctl.local.xray.destination import XRAY, SearchSettings
from xrayctl.local.xray.filters import parse_filter
from xrayctl.local.xray.rootcauses import root_causes
from xrayctl.local.xray.stitch import dumps, stitch, walk
from xrayctl.local.xray.summaries import ServiceKey, TraceAggregate, doc_facts, epoch_time

# 2: traces_by_span; 3: Transaction Search (traces.destination, traces.indexed, settings); 4: summaries
SCHEMA_VERSION = 4
MAX_DOCUMENT_BYTES = 64 * 1024
DEFAULT_PAGE_SIZE = 100
_READ_CACHE_TRACES = 16  # more than the 5 ids one BatchGetTraces call pages through
_SUMMARY_CACHE_TRACES = 20_000  # a busy day of summaries (~3 KB each in memory)
TIME_RANGE_TYPES = ("Event", "TraceId", "Service")
_STORE_DOCUMENTS = "store segment documents"

TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}\Z")
SEGMENT_ID = re.compile(r"[0-9a-f]{16}\Z")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    start_time REAL NOT NULL,
    end_time REAL,
    aggregate TEXT NOT NULL,
    destination TEXT NOT NULL DEFAULT 'XRay',
    indexed INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS traces_by_start ON traces (start_time, trace_id);
CREATE INDEX IF NOT EXISTS traces_by_end ON traces (end_time);
CREATE INDEX IF NOT EXISTS traces_by_epoch ON traces (epoch);
CREATE INDEX IF NOT EXISTS traces_by_span ON traces ((end_time - start_time));
CREATE TABLE IF NOT EXISTS documents (
    trace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id TEXT,
    is_segment INTEGER NOT NULL,
    service TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (trace_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS summaries (
    trace_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);
"""
# Columns added after the first schema, for a store written by an older xrayctl: (name, definition).
_ADDED_COLUMNS = {
    "traces": (
        ("destination", "TEXT NOT NULL DEFAULT 'XRay'"),
        ("indexed", "INTEGER NOT NULL DEFAULT 1"),
    ),
}
_SEARCH_SETTINGS = "transaction_search"

# Event: every trace active in the window, including one that started before it and ended after it. Bounding
# its start by the store's longest trace keeps that a range scan of traces_by_start instead of a full scan.
_WINDOWS = {
    "Event": (
        "start_time BETWEEN :start - :span AND :end "
        "AND max(start_time, coalesce(end_time, start_time)) >= :start"
    ),
    "TraceId": "epoch BETWEEN :start AND :end",
    "Service": "end_time BETWEEN :start AND :end",
}


class StoreVersionError(LocalStackError):
    """The database was written by a newer xrayctl."""


class StoreError(LocalStackError):
    """SQLite failed: a full disk, a read-only directory, a damaged file, a lock held too long."""


class InvalidNextToken(UsageError):
    pass


class _Rejected(Exception):
    def __init__(self, segment_id: str, code: str, message: str) -> None:
        super().__init__(message)
        self.entry = {"Id": segment_id, "ErrorCode": code, "Message": message}


def _text(raw: str | bytes) -> tuple[str, int]:
    """The document as text and its size in UTF-8 bytes; `_Rejected` when it is not Unicode text.

    Bytes must be UTF-8 (json.loads would also take UTF-16, which the stored text would then misrepresent),
    and text must hold no lone surrogate (SQLite stores UTF-8, which cannot spell one)."""
    try:
        if isinstance(raw, bytes):
            return raw.decode("utf-8"), len(raw)
        return raw, len(raw) if raw.isascii() else len(raw.encode("utf-8"))
    except UnicodeError as exc:
        raise _Rejected("", "InvalidSegment", f"Segment document is not UTF-8 text: {exc}.") from None


# How long a process opening the store waits for another one that is switching a new store to WAL.
_WAL_SWITCH_WAIT = 30.0


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the store in WAL mode, waiting for another process that is doing the same.

    Two processes opening a new store at once both ask for WAL; SQLite answers the one that loses the race
    "database is locked" at once, without calling the busy handler (measured: 8 of 60 such races failed).
    The switch takes milliseconds, so the loser tries again until the winner is done.
    """
    deadline = time.monotonic() + _WAL_SWITCH_WAIT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


_DECODER = json.JSONDecoder()


def _parse(text: str) -> Any:
    """json.loads(text), a quarter faster for the usual document (no whitespace around it): json.loads also
    matches whitespace before and after the value, which costs as much as the rest of its bookkeeping. Any
    other text goes to json.loads, so what it accepts and its error messages are json.loads' own."""
    try:
        document, end = _DECODER.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return document if end == len(text) else json.loads(text)


@functools.lru_cache(maxsize=256)
def _service_json(service: ServiceKey) -> str:
    """A segment's service as its `documents.service` column holds it: a trace's documents name a few
    services, written again with each of their segments."""
    return json.dumps(service)


def validate(raw: str | bytes) -> tuple[dict[str, Any], str]:
    """The parsed document and its text, or `_Rejected` saying which rule it breaks."""
    text, size = _text(raw)
    if size > MAX_DOCUMENT_BYTES:
        raise _Rejected("", "DocumentTooLarge", f"Segment document is {size} bytes; the limit is 64 KB.")
    try:
        document = _parse(text)
    except RecursionError:
        raise _Rejected("", "InvalidSegment", "Segment document is nested too deeply.") from None
    except ValueError as exc:
        raise _Rejected("", "InvalidSegment", f"Segment document is not valid JSON: {exc}.") from None
    if not isinstance(document, dict):
        raise _Rejected("", "InvalidSegment", "Segment document is not a JSON object.")
    segment_id = document.get("id")
    reported_id = segment_id if isinstance(segment_id, str) else ""
    if not isinstance(segment_id, str) or not SEGMENT_ID.match(segment_id):
        raise _Rejected(reported_id, "InvalidSegment", "Segment document has no valid id (16 hex digits).")
    trace_id = document.get("trace_id")
    if not isinstance(trace_id, str) or not TRACE_ID.match(trace_id):
        raise _Rejected(
            segment_id, "InvalidTraceId", "Segment document has no valid trace_id (1-8hex-24hex)."
        )
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise _Rejected(segment_id, "InvalidSegment", "Segment document has no name.")
    start = document.get("start_time")
    if not isinstance(start, (int, float)) or isinstance(start, bool):
        raise _Rejected(segment_id, "InvalidSegment", "Segment document has no numeric start_time.")
    # json.loads reads NaN, Infinity and 400-digit numbers; none is a time, and a NaN start would even make
    # the trace's row unwritable (SQLite stores NaN as NULL), failing the whole batch. A start past the year
    # 9999 is a number, but no client could read a summary that carries it.
    if epoch_time(start) is None:
        message = "Segment document's start_time is not a time between the years 1 and 9999."
        raise _Rejected(segment_id, "InvalidSegment", message)
    if document.get("type") == "subsegment" and not isinstance(document.get("parent_id"), str):
        raise _Rejected(segment_id, "InvalidSegment", "Independent subsegment has no parent_id.")
    return document, text


@dataclass(frozen=True, slots=True)
class SummaryPage:
    bodies: list[str]  # each summary as the JSON text the API sends
    next_token: str | None
    processed: int  # traces in the window looked at, matched or not (TracesProcessedCount)
    # How far back in time this page's scan reached (ApproximateTime, "the start time of this page of
    # results"): the window's start on the last page, else the start of the oldest trace returned.
    scanned_to: float

    @property
    def summaries(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.bodies]


def _in_progress(document: dict[str, Any]) -> bool:
    """Whether a document is a segment's in-progress version (sent when it opened), not its complete one."""
    return document.get("in_progress") is True or document.get("end_time") is None


def _encode_token(start_time: float, trace_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([start_time, trace_id]).encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        start_time, trace_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return float(start_time), str(trace_id)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidNextToken(f"NextToken {token[:40]!r} was not issued by this service.") from None


class TraceStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Why the latest write failed (a full disk), until one succeeds: a trace that is not found meanwhile
        # may be one the store could not take, and a reader is told so (see xray.api) instead of "not yet".
        self.write_failure: StoreError | None = None
        self._lock = threading.Lock()
        # Recently read traces as BatchGetTraces returns them, by trace id: (revision, trace). A client pages
        # through a large trace a call per 100 segments, and each call would otherwise stitch and encode the
        # whole trace again. Valid while the trace's revision (bumped by each of our writes) and SQLite's
        # data_version (changed by another connection's commit, e.g. `local reset`) stay what they were.
        self._read_cache: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        self._data_version: int | None = None
        # The summaries filters are evaluated on (the fold's, before `_finished`), by trace id: (revision,
        # summary). Valid on the same terms as the read cache. The finished summaries, as GetTraceSummaries
        # sends them, are kept in the `summaries` table instead (see `_bodies`).
        self._summary_cache: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        with self._errors("open"):
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
            try:
                _use_wal(self._db)
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._migrate(path)
            except BaseException:
                self._db.close()
                raise

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            error = StoreError(
                f"The local trace store {self.path} could not {doing}: {exc}.",
                "Check that XRAYCTL_HOME is a writable directory on a disk with free space, or point it at "
                "another one.",
            )
            if doing == _STORE_DOCUMENTS:
                self.write_failure = error
            raise error from exc

    def _migrate(self, path: Path) -> None:
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"Trace store {path} has schema version {version}; this xrayctl reads {SCHEMA_VERSION}.",
                    "Upgrade xrayctl, or give the local stack another data directory.",
                )
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                # A store from before Transaction Search: its traces went to X-Ray, every one of them indexed.
                for table, columns in _ADDED_COLUMNS.items():
                    present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                    for name, definition in columns:
                        if name not in present:
                            self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
                settings = SearchSettings(rule_modified_at=time.time())
                self._db.execute(
                    "INSERT OR IGNORE INTO settings VALUES (?, ?)", (_SEARCH_SETTINGS, settings.to_json())
                )
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def put_documents(self, docs: Sequence[str | bytes]) -> list[dict[str, str]]:
        """Store the valid documents in one transaction; return the rejected as UnprocessedTraceSegments."""
        unprocessed: list[dict[str, str]] = []
        by_trace: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for raw in docs:
            try:
                document, body = validate(raw)
            except _Rejected as rejected:
                unprocessed.append(rejected.entry)
                continue
            by_trace.setdefault(document["trace_id"], []).append((document, body))
        if not by_trace:
            return unprocessed
        with self._lock, self._errors(_STORE_DOCUMENTS), self._transaction():
            existing = self._trace_rows(list(by_trace))
            # A new trace goes where the destination in effect sends it (read only when a batch has one).
            settings = self._search_settings() if len(existing) < len(by_trace) else None
            now = time.time()
            document_rows: list[tuple[Any, ...]] = []
            trace_rows: list[tuple[Any, ...]] = []
            for trace_id, entries in by_trace.items():
                if trace_id in existing:
                    revision, aggregate, destination, indexed = existing[trace_id]
                else:
                    assert settings is not None
                    revision, aggregate = 0, TraceAggregate()
                    destination, indexed = settings.route(trace_id, now)
                ids = [document["id"] for document, _ in entries]
                if self._replaces(trace_id, ids, stored=trace_id in existing):
                    aggregate = TraceAggregate()
                    entries = self._current_documents(trace_id, entries)
                for document, body in entries:
                    facts = doc_facts(document)
                    aggregate.add(facts)
                    service = _service_json(facts.service) if facts.service else None
                    parent_id = document["parent_id"] if facts.has_parent else None
                    document_rows.append((trace_id, facts.id, parent_id, facts.is_segment, service, body))
                epoch = int(trace_id[2:10], 16)
                trace_rows.append(
                    (
                        trace_id,
                        revision + 1,
                        epoch,
                        aggregate.start,
                        aggregate.end,
                        aggregate.to_json(),
                        destination,
                        indexed,
                    )
                )
            self._db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)", document_rows)
            self._db.executemany(
                "INSERT OR REPLACE INTO traces (trace_id, revision, epoch, start_time, end_time, aggregate, "
                "destination, indexed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                trace_rows,
            )
        self.write_failure = None
        return unprocessed

    def _replaces(self, trace_id: str, ids: list[str], *, stored: bool) -> bool:
        """Whether storing documents `ids` of the trace replaces one already stored or repeats one. A trace
        not `stored` yet (no row) has no documents, and costs no query: the usual case of a new trace."""
        if len(set(ids)) < len(ids):
            return True
        if not stored:
            return False
        for offset in range(0, len(ids), 500):  # stay under SQLite's bound on query parameters
            chunk = ids[offset : offset + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT 1 FROM documents WHERE trace_id = ? AND id IN ({marks}) LIMIT 1"
            if self._db.execute(query, [trace_id, *chunk]).fetchone() is not None:
                return True
        return False

    def _current_documents(
        self, trace_id: str, entries: Iterable[tuple[dict[str, Any], str]]
    ) -> list[tuple[dict[str, Any], str]]:
        """The trace's documents once `entries` are stored: the stored ones, each replaced by a newer version
        of the same id (the latest in `entries` wins), and the new ones."""
        current: dict[str, tuple[dict[str, Any], str]] = {}
        for doc_id, body in self._db.execute(
            "SELECT id, body FROM documents WHERE trace_id = ?", (trace_id,)
        ):
            # Stored documents passed validate() when they arrived (and so parse without recursion trouble).
            current[doc_id] = (json.loads(body), body)
        for document, body in entries:
            known = current.get(document["id"])
            if known is not None and _in_progress(document) and not _in_progress(known[0]):
                # The in-progress version sent when the segment opened, arriving (UDP keeps no order) after
                # the complete one: it says less, and taking it would leave the trace in progress for good.
                continue
            current.pop(document["id"], None)  # a replacement folds in at the end, as it arrived last
            current[document["id"]] = (document, body)
        return list(current.values())

    def _trace_rows(self, trace_ids: list[str]) -> dict[str, tuple[int, TraceAggregate, str, bool]]:
        """Stored traces of `trace_ids`: revision, aggregate, destination and whether it is indexed."""
        rows: dict[str, tuple[int, TraceAggregate, str, bool]] = {}
        for offset in range(0, len(trace_ids), 500):  # stay under SQLite's bound on query parameters
            chunk = trace_ids[offset : offset + 500]
            marks = ",".join("?" * len(chunk))
            query = (
                "SELECT trace_id, revision, aggregate, destination, indexed FROM traces "
                f"WHERE trace_id IN ({marks})"
            )
            for trace_id, revision, aggregate, destination, indexed in self._db.execute(query, chunk):
                rows[trace_id] = (revision, TraceAggregate.from_json(aggregate), destination, bool(indexed))
        return rows

    # ------------------------------------------------------------------------------ Transaction Search

    def _search_settings(self) -> SearchSettings:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (_SEARCH_SETTINGS,)).fetchone()
        return SearchSettings.from_json(row[0] if row else None)

    def search_settings(self) -> SearchSettings:
        """The segment destination and indexing rule (see `destination`), as stored now."""
        with self._lock, self._errors("read its settings"):
            return self._search_settings()

    def update_search_settings(self, change: Callable[[SearchSettings], SearchSettings]) -> SearchSettings:
        """Store `change(settings)` in one transaction (another process changing them waits its turn)."""
        with self._lock, self._errors("store its settings"), self._transaction():
            settings = change(self._search_settings())
            self._db.execute(
                "INSERT OR REPLACE INTO settings VALUES (?, ?)", (_SEARCH_SETTINGS, settings.to_json())
            )
        return settings

    def retrieve(self, trace_ids: Sequence[str], start: float, end: float) -> list[dict[str, Any]]:
        """What a trace retrieval finds: the traces of `trace_ids` that went to CloudWatch Logs, each with
        only its documents that start in [start, end] (a Logs query sees the spans in its window), stitched,
        in BatchGetTraces' shape. A trace with no document in the window is not found."""
        found: list[dict[str, Any]] = []
        for trace_id in dict.fromkeys(trace_ids):
            with self._lock, self._errors("read a trace"):
                row = self._db.execute(
                    "SELECT 1 FROM traces WHERE trace_id = ? AND destination != ?", (trace_id, XRAY)
                ).fetchone()
                bodies = (
                    []
                    if row is None
                    else [
                        b
                        for (b,) in self._db.execute(
                            "SELECT body FROM documents WHERE trace_id = ?", (trace_id,)
                        )
                    ]
                )
            documents = [json.loads(body) for body in bodies]
            kept = [d for d in documents if start <= (epoch_time(d.get("start_time")) or -1.0) <= end]
            if not kept:
                continue
            times = [
                value
                for d in kept
                for t in (d.get("start_time"), d.get("end_time"))
                if (value := epoch_time(t)) is not None
            ]
            segments = stitch(trace_id, kept)
            found.append(
                {
                    "Id": trace_id,
                    "Duration": round(max(times) - min(times), 6),
                    "LimitExceeded": False,
                    "Segments": [{"Id": segment["id"], "Document": dumps(segment)} for segment in segments],
                }
            )
        return found

    def batch_get(
        self, ids: Sequence[str], *, destination: str | None = None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Traces in BatchGetTraces' shape, and the ids with no stored trace; with `destination`, only the
        traces that went there (BatchGetTraces sees X-Ray's, not those of Transaction Search)."""
        traces: list[dict[str, Any]] = []
        unprocessed: list[str] = []
        for trace_id in dict.fromkeys(ids):
            with self._lock, self._errors("read a trace"):
                self._check_data_version()
                row = self._db.execute(
                    "SELECT revision, aggregate FROM traces WHERE trace_id = ? AND destination = "
                    "coalesce(?, destination)",
                    (trace_id, destination),
                ).fetchone()
                cached = self._read_cache.get(trace_id)
                if row is not None and cached is not None and cached[0] == row[0]:
                    self._read_cache.move_to_end(trace_id)
                    traces.append(cached[1])
                    continue
                bodies = [
                    b
                    for (b,) in self._db.execute("SELECT body FROM documents WHERE trace_id = ?", (trace_id,))
                ]
            if row is None:
                unprocessed.append(trace_id)
                continue
            segments = stitch(trace_id, [json.loads(body) for body in bodies])
            aggregate = TraceAggregate.from_json(row[1])
            trace = {
                "Id": trace_id,
                "Duration": aggregate.duration if aggregate.duration is not None else 0.0,
                "LimitExceeded": False,
                "Segments": [{"Id": segment["id"], "Document": dumps(segment)} for segment in segments],
            }
            traces.append(trace)
            with self._lock:
                self._read_cache[trace_id] = (row[0], trace)
                while len(self._read_cache) > _READ_CACHE_TRACES:
                    self._read_cache.popitem(last=False)
        return traces, unprocessed

    def stitched(self, ids: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
        """The stitched segments of each stored trace of `ids`, a trace at a time, parsed and not encoded
        (what a service graph reads: no JSON text made only to be parsed again); ids with no stored trace
        are skipped."""
        for trace_id in dict.fromkeys(ids):
            with self._lock, self._errors("read a trace"):
                rows = self._db.execute(
                    "SELECT body FROM documents WHERE trace_id = ?", (trace_id,)
                ).fetchall()
            if rows:
                yield stitch(trace_id, [json.loads(body) for (body,) in rows])

    def _check_data_version(self) -> None:
        """Forget the read cache if another connection has committed since the last look (lock held)."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._read_cache.clear()
            self._summary_cache.clear()
            self._data_version = version

    def summaries_page(
        self,
        start: float,
        end: float,
        *,
        time_range_type: str = "Event",
        filter_expression: str | None = None,
        next_token: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> SummaryPage:
        """One page of summaries in the window, newest first. The token is the key of the last row returned,
        so traces that arrive while a client pages appear before its position, never twice or in its place."""
        if time_range_type not in _WINDOWS:
            raise UsageError(f"TimeRangeType must be one of {', '.join(TIME_RANGE_TYPES)}.")
        matches = parse_filter(filter_expression) if filter_expression and filter_expression.strip() else None
        position = _decode_token(next_token) if next_token else None
        page: list[tuple[str, int, str | None, str | None]] = []
        processed = 0
        last = (0.0, "")
        token: str | None = None
        with self._errors("read trace summaries"):
            with self._lock:
                self._check_data_version()
            # page_size + 1 rows: the one after a full page tells whether there is a next page.
            rows = self._scan(time_range_type, start, end, position, chunk=page_size + 1)
            for trace_id, revision, start_time, text, body in rows:
                processed += 1
                if matches is not None and not matches(self._filtered(trace_id, revision, text)):
                    continue
                if len(page) == page_size:
                    token = _encode_token(*last)
                    break
                page.append((trace_id, revision, text, body))
                last = (start_time, trace_id)
            scanned_to = start if token is None else max(start, last[0])
            return SummaryPage(self._bodies(page), token, processed, scanned_to)

    def summary(self, trace_id: str) -> dict[str, Any] | None:
        """The trace's summary, or None if no document of it is stored or it is not indexed."""
        with self._errors("read a trace summary"):
            with self._lock:
                row = self._db.execute(
                    "SELECT revision, aggregate FROM traces WHERE trace_id = ? AND indexed", (trace_id,)
                ).fetchone()
            if row is None:
                return None
            return self._finished(trace_id, row[0], TraceAggregate.from_json(row[1]))

    def summaries(
        self,
        start: float,
        end: float,
        *,
        time_range_type: str = "Event",
        filter_expression: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every summary in the window, newest first."""
        result: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.summaries_page(
                start,
                end,
                time_range_type=time_range_type,
                filter_expression=filter_expression,
                next_token=token,
            )
            result.extend(page.summaries)
            if page.next_token is None:
                return result
            token = page.next_token

    def _scan(
        self,
        time_range_type: str,
        start: float,
        end: float,
        position: tuple[float, str] | None,
        chunk: int = 500,
    ) -> Iterator[tuple[str, int, float, str | None, str | None]]:
        """Rows in the window from `position` on, newest first, fetched a chunk at a time: trace id, revision,
        start, and either the trace's finished summary as kept (`_bodies`) or, when none is kept for this
        revision, its aggregate as stored. The first chunk is `chunk` rows (what a page needs when no filter
        skips any: more would be read and thrown away on every page), later ones up to 500."""
        with self._lock:  # max() of an indexed expression reads one index entry
            span = self._db.execute("SELECT max(end_time - start_time) FROM traces").fetchone()[0]
        while True:
            params: dict[str, Any] = {"start": start, "end": end, "span": max(span or 0.0, 0.0)}
            after = ""
            if position is not None:
                after = "AND (start_time < :pos_start OR (start_time = :pos_start AND trace_id < :pos_id))"
                params.update(pos_start=position[0], pos_id=position[1])
            kept = "summaries.revision IS traces.revision"
            # Only indexed traces have summaries (Transaction Search indexes a fraction of its traces).
            query = (
                f"SELECT trace_id, traces.revision, start_time, "
                f"CASE WHEN {kept} THEN NULL ELSE aggregate END, CASE WHEN {kept} THEN body END "
                "FROM traces LEFT JOIN summaries USING (trace_id) "
                f"WHERE {_WINDOWS[time_range_type]} {after} AND indexed "
                f"ORDER BY start_time DESC, trace_id DESC LIMIT {chunk}"
            )
            with self._lock:
                rows = self._db.execute(query, params).fetchall()
            yield from rows
            if len(rows) < chunk:
                return
            position = (rows[-1][2], rows[-1][0])
            chunk = min(chunk * 4, 500)

    def _filtered(self, trace_id: str, revision: int, text: str | None) -> dict[str, Any]:
        """The summary a filter is evaluated on: the fold's, as `TraceAggregate.summary` makes it."""
        with self._lock:
            cached = self._summary_cache.get(trace_id)
        if cached is not None and cached[0] == revision:
            return cached[1]
        aggregate = TraceAggregate.from_json(text if text is not None else self._aggregate_text(trace_id))
        summary = aggregate.summary(trace_id, revision)
        # Cached dicts are shared by every later read: nothing may change them once they are here.
        with self._lock:
            self._summary_cache[trace_id] = (revision, summary)
            self._summary_cache.move_to_end(trace_id)
            while len(self._summary_cache) > _SUMMARY_CACHE_TRACES:
                self._summary_cache.popitem(last=False)
        return summary

    def _bodies(self, page: list[tuple[str, int, str | None, str | None]]) -> list[str]:
        """The page's finished summaries as JSON text: as kept, or made now (`_finished`) and kept.

        A summary is a pure function of the trace's documents, and every write of a document gives its trace
        a new revision: a summary kept for the trace's revision is its summary. So a trace is summarized once,
        at its first read after a write, as the service summarizes it once as it ingests it; the reads after
        that send the text as kept. Without it each page folded, resolved and stitched its traces again, and
        100,000 traces cost the local X-Ray 15 s of CPU at every read (no cache in memory holds that many:
        kept in memory, their summaries took 800 MB).
        """
        bodies: list[str] = []
        made: list[tuple[str, int, str]] = []
        for trace_id, revision, text, body in page:
            if body is None:
                aggregate = TraceAggregate.from_json(
                    text if text is not None else self._aggregate_text(trace_id)
                )
                body = dumps(self._finished(trace_id, revision, aggregate))
                made.append((trace_id, revision, body))
            bodies.append(body)
        if made:
            try:
                with self._lock, self._transaction():
                    self._db.executemany("INSERT OR REPLACE INTO summaries VALUES (?, ?, ?)", made)
            except sqlite3.Error:
                pass  # not kept (a full disk, a read-only store): made again at the next read, nothing lost
        return bodies

    def _finished(self, trace_id: str, revision: int, aggregate: TraceAggregate) -> dict[str, Any]:
        """The trace's summary, completed from its documents where the fold cannot say it all: the ServiceIds
        of annotations and users that came from independent subsegments (their segment is found only by
        following parent ids), and the root causes of a trace with a fault or an error (found only in the
        stitched tree). A trace with neither, the usual case, costs no document read."""
        summary = aggregate.summary(trace_id, revision)
        sources = [s for values in aggregate.annotations.values() for v in values for s in v[2]]
        sources += [source for _, source in aggregate.users]
        unresolved = any(isinstance(source, str) for source in sources)
        if unresolved or aggregate.fault or aggregate.error:
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, parent_id, is_segment, service, body FROM documents WHERE trace_id = ?",
                    (trace_id,),
                ).fetchall()
            if unresolved:
                summary = aggregate.summary(trace_id, revision, _resolver(rows))
            if aggregate.fault or aggregate.error:
                summary.update(root_causes(stitch(trace_id, [json.loads(row[4]) for row in rows])))
        return summary

    def _aggregate_text(self, trace_id: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT aggregate FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
        return str(row[0]) if row is not None else ""

    def reset(self) -> int:
        """Delete every trace; return how many there were."""
        with self._lock, self._errors("empty itself"), self._transaction():
            removed = int(self._db.execute("SELECT count(*) FROM traces").fetchone()[0])
            self._db.execute("DELETE FROM documents")
            self._db.execute("DELETE FROM traces")
            self._db.execute("DELETE FROM summaries")
            self._read_cache.clear()  # revisions start again at 1
            self._summary_cache.clear()
        return removed

    def stats(self) -> dict[str, int]:
        with self._lock, self._errors("count its traces"):
            traces = self._db.execute("SELECT count(*) FROM traces").fetchone()[0]
            documents = self._db.execute("SELECT count(*) FROM documents").fetchone()[0]
        return {"traces": traces, "documents": documents}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def empty_store(path: Path) -> int:
    """Delete every trace of the store at `path` (none there: nothing to do); return how many there were."""
    if not path.exists():
        return 0
    store = TraceStore(path)
    try:
        return store.reset()
    finally:
        store.close()


def _resolver(rows: list[Any]) -> Callable[[str], ServiceKey | None]:
    """Document id -> the service of the segment it is nested under, from the trace's document rows."""
    parents: dict[str, str] = {}
    segment_of: dict[str, ServiceKey] = {}
    for doc_id, parent_id, is_segment, service, body in rows:
        if not is_segment:
            parents[doc_id] = parent_id
            continue
        name, type_, account = json.loads(service)
        key: ServiceKey = (name, type_, account)
        for node in walk(json.loads(body)):
            if isinstance(node.get("id"), str):
                segment_of[node["id"]] = key

    def resolve(doc_id: str) -> ServiceKey | None:
        current: str | None = doc_id
        for _ in range(len(parents) + 1):  # bounded: parent ids can form a cycle
            parent_id = parents.get(current or "")
            if parent_id is None:
                return None
            if parent_id in segment_of:
                return segment_of[parent_id]
            current = parent_id
        return None

    return resolve


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: take the write lock up front, so two writers wait in turn (busy timeout)
    instead of one failing when it tries to upgrade a read lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
            self._db.execute("ROLLBACK")
