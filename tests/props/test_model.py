"""Property tests: arbitrary JSON around the segment shape, through the builder and every renderer.

Each document is drawn field by field from "what X-Ray writes" or "any JSON value" (wrong types, nulls,
non-finite and negative times, 400-digit numbers, hostile text), nested at random, with ids drawn from a small
pool so that duplicates, cycles and orphans are common. Valid documents with ids of their own are mixed in:
whatever the rest holds, they must be in the tree as they were written. Every trace is then drawn at 20 and
300 columns, with and without --details, with and without colour, and written as JSON.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console, RenderableType

from tests.support.docs import START, TRACE_ID, deep_document
from xrayctl.errors import InputError, TraceNotFound
from xrayctl.render.header import header_view
from xrayctl.render.schema import trace_to_dict
from xrayctl.render.tables import annotations_summary, annotations_table
from xrayctl.render.tree import traces_view
from xrayctl.text.jsonwrite import dumps
from xrayctl.trace.annotations import listing, row_to_dict, stats_to_dict, summarize
from xrayctl.trace.build import build_trace, load_batch, traces_from_batch
from xrayctl.trace.model import Trace

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any C0/C1 control but newline, line separators, invisible and BiDi format characters, lone surrogates.
CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff"
    "\U000e0000-\U000e007f]"
)
SGR = re.compile("\x1b\\[[0-9;]*m")  # the only escape rich writes for styles

# ------------------------------------------------------------------------------------------- strategies

HOSTILE_CHARS = st.sampled_from(
    ["\x1b", "\x07", "\x9b", "\x00", "\r", "\n", "\u202e", "\u2066", "\u200b", "\ufeff", "[", "]", "\ud800"]
)
TEXT = st.text(st.characters() | HOSTILE_CHARS, max_size=12)
NUMBERS = (
    st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([10**400, -(10**400), 2**64, 1e308, -0.0, 5e-324])
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
IDS = st.sampled_from(["a", "b", "c", "", "1234567890abcdef"])
# Numbers as text: int() takes some digits that str.isdigit() says yes to (Arabic-Indic) and not others
# (superscripts), nor more than 4,300 of them.
DIGITS = st.sampled_from(["²", "①", "٣", "503", "5" * 5000]) | st.text(
    st.characters(categories=("Nd", "No")), min_size=1, max_size=4
)


def often(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` two times in three, else any JSON value."""
    return st.integers(0, 2).flatmap(lambda n: valid if n else JSON)


TIMES = (
    st.floats(START, START + 10)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["1.5", 1e308, 5e-324, -1.0, 10**400])
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": often(IDS),
    "name": often(TEXT),
    "trace_id": often(st.sampled_from([TRACE_ID, "1-00000000-000000000000000000000000"])),
    "parent_id": often(IDS),
    "type": often(st.just("subsegment")),
    "inferred": often(st.booleans()),
    "in_progress": often(st.booleans()),
    "start_time": often(TIMES),
    "end_time": often(TIMES),
    "fault": often(st.booleans()),
    "error": often(st.booleans()),
    "throttle": often(st.booleans()),
    "origin": often(TEXT),
    "namespace": often(st.sampled_from(["aws", "remote", "local"])),
    "http": often(
        st.fixed_dictionaries(
            {},
            optional={
                "request": often(st.fixed_dictionaries({}, optional={"url": often(TEXT), "method": JSON})),
                "response": often(
                    st.fixed_dictionaries(
                        {}, optional={"status": often(NUMBERS | DIGITS), "content_length": JSON | DIGITS}
                    )
                ),
            },
        )
    ),
    "aws": often(st.dictionaries(st.sampled_from(["operation", "bucket_name", "key", "table_name"]), JSON)),
    "sql": often(st.dictionaries(st.sampled_from(["url", "sanitized_query", "database_type"]), JSON)),
    "annotations": often(st.dictionaries(TEXT, JSON, max_size=3)),
    "metadata": often(st.dictionaries(TEXT, JSON, max_size=2)),
    "cause": often(
        IDS
        | st.fixed_dictionaries(
            {},
            optional={
                "exceptions": often(
                    st.lists(
                        often(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "id": often(IDS),
                                    "message": JSON,
                                    "type": JSON,
                                    "stack": often(st.lists(often(st.dictionaries(TEXT, JSON)), max_size=3)),
                                    "truncated": JSON | DIGITS,
                                    "remote": JSON,
                                },
                            )
                        ),
                        max_size=2,
                    )
                ),
                "working_directory": JSON,
            },
        )
    ),
    "links": often(
        st.lists(often(st.fixed_dictionaries({"trace_id": often(TEXT), "attributes": JSON})), max_size=2)
    ),
    "unknown": JSON,
}
ENTITY = st.fixed_dictionaries({}, optional=FIELDS)
DOCUMENT = st.recursive(
    ENTITY,
    lambda inner: st.tuples(ENTITY, often(st.lists(inner, max_size=3)) | inner).map(
        lambda pair: {**pair[0], "subsegments": pair[1]}
    ),
    max_leaves=8,
)


def valid_document(number: int, children: int) -> dict[str, Any]:
    """A document as the SDKs write it, with ids no generated document uses."""
    return {
        "trace_id": TRACE_ID,
        "id": f"{number:015x}f",
        "name": f"valid-{number}",
        "start_time": START + number,
        "end_time": START + number + 1,
        "subsegments": [
            {
                "id": f"{number:08x}{child:07x}e",
                "name": f"valid-{number}-{child}",
                "start_time": START + number,
                "end_time": START + number + 0.5,
            }
            for child in range(children)
        ],
    }


def as_item(document: Any, form: int) -> Any:
    """A document as a trace's `Segments` may hold it: parsed, JSON text, or `{"Id", "Document"}`."""
    if form == 0:
        return document
    text = json.dumps(document)
    return (
        text
        if form == 1
        else {"Id": document.get("id") if isinstance(document, dict) else 1, "Document": text}
    )


# ---------------------------------------------------------------------------------------------- checks


def render(renderable: RenderableType, width: int, colour: bool) -> str:
    out = io.StringIO()
    console = (
        Console(file=out, width=width, force_terminal=True, color_system="truecolor")
        if colour
        else Console(file=out, width=width, no_color=True, force_terminal=False)
    )
    console.print(renderable)
    return out.getvalue()


def assert_inert(output: str, width: int) -> None:
    """Every line fits, and nothing but rich's own SGR escapes could drive the terminal."""
    plain = SGR.sub("", output)
    assert not CONTROL.search(plain), CONTROL.search(plain)
    too_wide = [line for line in plain.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide[:2]


def finite(value: Any) -> Any:
    """What JSON output makes of a value: non-finite numbers become null (the data is small: recursion)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def check_views(traces: list[Trace]) -> None:
    for trace in traces:
        render(header_view(trace), 20, False)
        data = trace_to_dict(trace)
        assert json.loads(dumps(data)) == finite(data)  # JSON keeps every string and number as built
    for width in (20, 300):
        for details in (False, True):
            for colour in (False, True):
                assert_inert(render(traces_view(traces, details=details), width, colour), width)


# -------------------------------------------------------------------------------------------- properties


@PROPERTY
@given(
    junk=st.lists(DOCUMENT | JSON, max_size=5),
    forms=st.lists(st.integers(0, 2), min_size=8, max_size=8),
    valid=st.lists(st.integers(0, 3), max_size=3),
    data=st.data(),
)
def test_any_documents_build_and_draw_and_valid_ones_are_kept(
    junk: list[Any], forms: list[int], valid: list[int], data: st.DataObject
) -> None:
    good = [valid_document(number, children) for number, children in enumerate(valid)]
    documents = data.draw(st.permutations(junk + good))
    items = [as_item(document, form) for document, form in zip(documents, forms * 2, strict=False)]
    # The same documents under a second trace id: every id collides across the two traces.
    other = "1-00000000-000000000000000000000000"
    traces = traces_from_batch(
        {"Traces": [{"Id": TRACE_ID, "Segments": items}, {"Id": other, "Segments": items}]}
    )
    assert [trace.id for trace in traces] == [TRACE_ID, other]
    for trace in traces:
        by_id: dict[str, list[Any]] = {}
        for node in trace.walk():
            by_id.setdefault(node.id, []).append(node)
        for document in good:
            [node] = [node for node in by_id[document["id"]] if node.name == document["name"]]
            assert (node.start_time, node.end_time, node.status) == (
                document["start_time"],
                document["end_time"],
                "ok",
            )
            wanted = {(sub["id"], sub["name"]) for sub in document["subsegments"]}
            assert wanted <= {(child.id, child.name) for child in node.children}
            # Filed under another trace than its trace_id says: kept, and said.
            assert any("is not this trace's" in warning for warning in node.warnings) == (trace.id == other)
        assert trace.node_count == len(list(trace.walk()))
    check_views(traces[:1])


@settings(PROPERTY, max_examples=50)
@given(documents=st.lists(DOCUMENT, max_size=4))
def test_valid_documents_give_no_warning_and_each_node_s_warnings_are_the_trace_s(
    documents: list[Any],
) -> None:
    """A trace of valid documents has no warning; whatever is mixed in, a node's warnings are the trace's."""
    good = [valid_document(number, 2) for number in range(3)]
    assert build_trace(TRACE_ID, good).warnings == []
    trace = build_trace(TRACE_ID, [*good, *documents])
    for node in trace.walk():
        for warning in node.warnings:
            assert warning in " ".join(trace.warnings)


BROKEN_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.integers() | st.just("") | st.lists(TEXT, max_size=1) | st.booleans(),
    "name": st.integers() | st.just("") | st.dictionaries(TEXT, TEXT, max_size=1) | st.booleans(),
    "start_time": st.just(math.nan)
    | st.just(-math.inf)
    | st.floats(max_value=-1e-3)
    | TEXT.filter(lambda text: not _is_number(text)),
    "end_time": st.just(math.inf) | st.booleans() | st.lists(NUMBERS, max_size=1),
    "parent_id": st.integers() | st.dictionaries(TEXT, TEXT, max_size=1),
    "in_progress": st.integers() | TEXT.filter(lambda text: text not in ("true", "false")),
    "fault": st.integers() | st.floats() | st.lists(st.booleans(), max_size=1),
    "error": st.integers() | st.floats(),
    "throttle": st.integers() | st.floats(),
    "origin": st.integers() | st.booleans() | st.lists(TEXT, max_size=1),
    "namespace": st.integers() | st.booleans(),
    "http": st.integers() | TEXT | st.lists(TEXT, max_size=1),
    "aws": st.integers() | TEXT | st.lists(TEXT, max_size=1),
    "sql": st.integers() | TEXT | st.lists(TEXT, max_size=1),
    "annotations": st.integers() | TEXT | st.lists(TEXT, max_size=1),
    "metadata": st.integers() | TEXT | st.lists(TEXT, max_size=1),
    "cause": st.integers() | st.floats() | st.lists(TEXT, max_size=1) | st.booleans(),
    "links": st.integers() | TEXT | st.dictionaries(TEXT, TEXT, max_size=1),
    "subsegments": st.integers() | TEXT | st.booleans() | st.lists(st.integers(), min_size=1, max_size=2),
    "trace_id": st.integers() | st.booleans() | st.lists(TEXT, max_size=1),
    "type": st.integers() | st.booleans() | st.sampled_from(["segment ", "SUBSEGMENT", "sub"]),
    "inferred": st.integers() | TEXT | st.lists(st.booleans(), max_size=1),
}


def _is_number(text: str) -> bool:
    try:
        return 0 <= float(text) < math.inf
    except ValueError:
        return False


@PROPERTY
@given(field=st.sampled_from(sorted(BROKEN_FIELDS)), data=st.data(), embedded=st.booleans())
def test_every_field_of_the_wrong_type_is_a_warning_that_names_it(
    field: str, data: st.DataObject, embedded: bool
) -> None:
    value = data.draw(BROKEN_FIELDS[field])
    broken = {**valid_document(7, 0), field: value}
    del broken["subsegments"]
    if field == "subsegments":
        broken["subsegments"] = value
    documents = [{**valid_document(1, 0), "subsegments": [broken]}] if embedded else [broken]
    trace = build_trace(TRACE_ID, documents)
    nodes = list(trace.walk())
    assert len(nodes) == (2 if embedded else 1)  # the entity is kept whatever its field holds
    node = nodes[-1]
    said = " ".join(node.warnings)
    if embedded and field == "parent_id":
        return  # nesting says which parent: the builder does not read parent_id there
    assert field.split("_")[0] in said or field in said, (field, value, node.warnings)
    assert all(warning in " ".join(trace.warnings) for warning in node.warnings)


SUMMARY_VALUES = st.one_of(
    st.fixed_dictionaries({"StringValue": TEXT}),
    st.fixed_dictionaries({"NumberValue": st.floats(allow_nan=True, allow_infinity=True)}),
    st.fixed_dictionaries({"BooleanValue": st.booleans()}),
    st.just({}),
)
SUMMARY = st.fixed_dictionaries(
    {"Id": TEXT},
    optional={
        "Duration": st.none() | st.floats(allow_nan=True, allow_infinity=True),
        "ResponseTime": st.floats(allow_nan=True, allow_infinity=True),
        "HasFault": st.booleans(),
        "HasError": st.booleans(),
        "Annotations": st.dictionaries(
            TEXT, st.lists(st.fixed_dictionaries({"AnnotationValue": SUMMARY_VALUES}), max_size=3), max_size=4
        ),
    },
)


@PROPERTY
@given(summaries=st.lists(SUMMARY, max_size=6), keys=st.lists(TEXT, max_size=2))
def test_annotation_tables_of_any_summaries_draw_and_serialise(summaries: list[Any], keys: list[str]) -> None:
    found = listing([summaries], keys)
    stats = summarize(found.rows, found.keys)
    for width in (20, 300):
        for colour in (False, True):
            assert_inert(render(annotations_table(found.rows, found.keys), width, colour), width)
            assert_inert(render(annotations_summary(stats), width, colour), width)
    rows = [row_to_dict(row) for row in found.rows]
    assert json.loads(dumps(rows)) == finite(rows)
    values = [stats_to_dict(entry) for entry in stats]
    assert json.loads(dumps(values)) == finite(values)


SEGMENTS = often(st.lists(DOCUMENT | JSON, max_size=3))
ONE_TRACE = st.fixed_dictionaries({"Segments": SEGMENTS}, optional={"Id": JSON})
OUTPUT = st.fixed_dictionaries({"Traces": often(st.lists(ONE_TRACE, max_size=2))})
# What a saved file can hold: any JSON, a trace, a BatchGetTraces output, or a list of them (page by page).
BATCH_SHAPES = JSON | ONE_TRACE | OUTPUT | st.lists(ONE_TRACE | OUTPUT | JSON, max_size=2)


@settings(PROPERTY, max_examples=40)  # each example draws up to a few traces eight ways
@given(data=BATCH_SHAPES)
def test_any_saved_file_is_traces_or_one_input_error(data: Any) -> None:
    """`show-trace --input`: whatever the file holds, the result is traces (drawn) or one InputError."""
    try:
        text = json.dumps(data)
    except ValueError:
        return
    try:
        traces = load_batch(text, source="f.json")
    except InputError as error:
        assert error.fix
        return
    except TraceNotFound:  # valid, but holding no trace
        return
    check_views(traces)


# --------------------------------------------------------------------------------------- sized examples


def test_a_5000_level_document_of_broken_entities_builds_and_draws() -> None:
    levels = 5000
    text = deep_document(levels).replace('"name":"level', '"fault":"maybe","annotations":7,"name":"level')
    [trace] = load_batch(json.dumps({"Traces": [{"Id": TRACE_ID, "Segments": [text, "{"]}]}), source="f")
    assert (trace.node_count, trace.max_depth) == (levels, levels - 1)
    assert len(trace.warnings) == 2 * (levels - 1) + 1  # fault and annotations per level, and the bad JSON
    for width, colour, details in ((20, True, True), (300, False, False)):
        output = render(traces_view([trace], details=details), width, colour)
        assert_inert(output, width)
        assert f"level{levels}" in output
    assert f'"name": "level{levels}"' in dumps(trace_to_dict(trace))


def test_a_5000_long_chain_of_parent_ids_ending_in_a_cycle_builds_and_draws() -> None:
    count = 5000
    documents = [
        {"id": f"n{i}", "name": f"n{i}", "parent_id": f"n{i + 1}", "type": "subsegment", "start_time": START}
        for i in range(count)
    ]
    documents[-1]["parent_id"] = f"n{count - 10}"  # the last ten loop back on one another
    trace = build_trace(TRACE_ID, documents[::-1])
    assert trace.node_count == count and len(trace.roots) == 1
    assert any("leads back" in warning for warning in trace.warnings)
    assert_inert(render(traces_view([trace]), 300, False), 300)


@pytest.mark.parametrize("where", ["name", "annotation", "metadata", "exception", "key", "ids"])
def test_a_10_mb_string_anywhere_builds_draws_and_round_trips(where: str) -> None:
    big = "\x1b[2J" + "x" * 10_000_000 + "[bold red]"
    document: dict[str, Any] = {"trace_id": TRACE_ID, "id": "00000000000000a1", "name": "n"}
    document.update(start_time=START, end_time=START + 1)
    if where == "name":
        document.update(name=big, origin=big, http={"request": {"url": big, "method": big}})
    elif where == "annotation":
        document["annotations"] = {"k": big}
    elif where == "metadata":
        document.update(metadata={"default": {"v": big}}, sql={"url": big, "sanitized_query": big})
    elif where == "exception":
        document["cause"] = {
            "exceptions": [{"message": big, "type": big, "stack": [{"path": big, "label": big}]}]
        }
    elif where == "key":
        document.update(annotations={big: 1}, metadata={big: 1}, aws={big: big}, **{big: big})
    else:
        document.update(id=big, parent_id=big, type="subsegment", start_time=big, cause=big)
    small = {"trace_id": TRACE_ID, "id": "00000000000000a2", "name": "small", "start_time": START}
    trace = build_trace("", [json.dumps(document), json.dumps(small)])
    assert trace.node_count == 2
    for width in (20, 300):
        assert_inert(render(traces_view([trace], details=True), width, True), width)
    data = trace_to_dict(trace)
    assert json.loads(dumps(data)) == data  # JSON output has every string back whole
    assert big in strings(data)


def strings(value: Any) -> set[str]:
    """Every string in `value`, keys too."""
    found: set[str] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


DEEP_VALUE_FIELDS = {
    "link": '"links":[{"trace_id":@,"id":@,"attributes":{"aws.xray.reserved.names":[@],'
    '"aws.xray.reserved.type":@,"aws.xray.reserved.reference_type":@}}]',
    "http": '"http":{"request":{"method":@,"url":@},"response":{"status":@,"content_length":@}}',
    "aws": '"namespace":"aws","aws":{"operation":@,"bucket_name":@,"key":@}',
    "sql": '"sql":{"url":@,"sanitized_query":@}',
    "cause": '"cause":{"exceptions":[{"message":@,"type":@,"id":@,'
    '"stack":[{"path":@,"line":@,"label":@},@]}]}',
    "names": '"origin":@,"namespace":@,"name":@,"parent_id":@,"id":@',
    "values": '"annotations":{"k":@},"metadata":{"m":@},"user":@,@:@',
}


@pytest.mark.parametrize("field", sorted(DEEP_VALUE_FIELDS))
def test_a_value_nested_5000_deep_in_any_field_builds_and_draws(field: str) -> None:
    """JSON that holds a list 5,000 levels deep where a string belongs: nothing may call str() or repr() on it
    (both recurse), in the builder, the warnings or any view."""
    deep = "[" * 5000 + "]" * 5000
    fields = DEEP_VALUE_FIELDS[field].replace("@:@", f'"x":{deep}').replace("@", deep)
    document = '{"id":"a","name":"n","start_time":1,"end_time":2,' + fields + "}"
    [trace] = load_batch(json.dumps({"Traces": [{"Id": TRACE_ID, "Segments": [document]}]}), source="f")
    assert trace.node_count == 1
    for details in (False, True):
        assert_inert(render(traces_view([trace], details=details), 120, False), 120)
    assert json.loads(dumps(trace_to_dict(trace), indent=None).replace(deep, "[]")) is not None
