"""Hostile text through the real CLI: what a traced request can make xrayctl print.

Every string in a trace was written by whoever instrumented the code, or by whoever sent the request it
traced. The corpus below puts rich markup, ANSI CSI and OSC sequences (OSC 8 links, OSC 52 clipboard writes,
BEL- and ST-terminated), every C0 and C1 control (\\x9b is a one-byte CSI), BiDi overrides and isolates,
zero-width characters and 100,000-character lines in every field a view shows: names, origins, annotation keys
and values, metadata, URLs, SQL, AWS fields, exception messages and stack frames, links, the entity's other
fields; and the Lambda payload, function error and log tail of `invoke`.

Text output, with colour off and with colour forced on (rich then writes its own SGR escapes, and only those),
must hold no control, BiDi or zero-width character from the data and interpret no markup from it. The check
that tells rich's escapes from the data's: the coloured output, with rich's SGR sequences removed by a strict
pattern, is exactly the uncoloured output, which holds no ESC at all. `-o json` must give the data back as it
was.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cli import CliResult, run_cli
from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response
from xrayctl.local.xray.api import XRayApiServer
from xrayctl.local.xray.store import TraceStore

MARKUP = "[bold red]MARKUP[/bold red] [link=https://evil.example]click[/link] [/]"
CSI = "\x1b[2J\x1b[H\x1b[31mRED\x1b[0m\x1b[6n"
OSC = (
    "\x1b]8;;https://evil.example\x07bel-link\x1b]8;;\x07 "
    "\x1b]8;;https://evil.example\x1b\\st-link\x1b]8;;\x1b\\ "
    "\x1b]52;c;ZXZpbA==\x07 \x1b]52;c;ZXZpbA==\x1b\\ \x1b]0;title\x07"
)
C0 = "".join(chr(code) for code in range(0x20) if chr(code) != "\n") + "\x7f"
C1 = "".join(chr(code) for code in range(0x80, 0xA0)) + "\x9b31m"
BIDI = "\u202a\u202b\u202c\u202d\u202egnp.exe\u2066\u2067\u2068\u2069"
INVISIBLE = "zero\u200bwidth\u200c\u200d\u2060\ufeff\u00ad\U000e0041"
HOSTILE = " ".join((MARKUP, CSI, OSC, C0, C1, BIDI, INVISIBLE))
LONG = "L" * 100_000 + HOSTILE

# The only escape rich writes for styles: CSI, parameters, `m`. Nothing else (no OSC, no cursor movement).
RICH_SGR = re.compile("\x1b\\[[0-9;]*m")
# What must never reach the terminal from the data: C0 but newline, DEL, C1, separators, format characters.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]"
)
# An hour ago: within what X-Ray keeps (list-annotations reads no further back than 30 days), and long
# enough ago that a command takes the trace as complete.
START = float(int(time.time()) - 3600)
TRACE_ID = f"1-{int(START):08x}-f14fec967f9786633c368d55"


def hostile_segment(text: str = HOSTILE, long: str = LONG, *, start: float = START) -> dict[str, Any]:
    """A segment holding `text` in every field a view shows (and `long` in a few), with a subsegment; it
    starts at `start`, its trace id's time."""
    frame = {"path": text, "line": text, "label": text}
    return {
        "trace_id": f"1-{int(start):08x}-f14fec967f9786633c368d55",
        "id": "00000000000000a1",
        "name": text,
        "origin": text,
        "start_time": start,
        "end_time": start + 1,
        "fault": True,
        "user": text,
        "resource_arn": text,
        text: text,
        "http": {
            "request": {"method": text, "url": "https://h/" + text, "user_agent": text, "client_ip": text},
            "response": {"status": 500, "content_length": text},
        },
        "annotations": {"k": text, text: text, "long": long},
        "metadata": {"default": {"m": text, text: [text]}, text: text},
        "cause": {
            "working_directory": text,
            "exceptions": [
                {"id": "e1", "type": text, "message": text + "\n" + text, "stack": [frame, text]},
                {"id": "e2", "message": long},
            ],
        },
        "links": [
            {
                "trace_id": text,
                "id": text,
                "attributes": {
                    "aws.xray.reserved.reference_type": text,
                    "aws.xray.reserved.names": [text],
                    "aws.xray.reserved.type": text,
                },
            }
        ],
        "subsegments": [
            {
                "id": "00000000000000b2",
                "name": "s3",
                "namespace": "aws",
                "start_time": start,
                "end_time": start + 0.5,
                "aws": {"operation": text, "bucket_name": text, "key": text, text: text},
            },
            {
                "id": "00000000000000b3",
                "name": text,
                "start_time": start + 0.5,
                "end_time": start + 0.9,
                "sql": {"url": text, "sanitized_query": "SELECT '" + text + "'", "database_type": text},
            },
            {"id": "00000000000000b4", "name": long, "start_time": text, "end_time": start + 1},
        ],
    }


def saved_batch(segment: dict[str, Any]) -> str:
    return json.dumps(
        {"Traces": [{"Id": segment["trace_id"], "Segments": [{"Id": "a1", "Document": json.dumps(segment)}]}]}
    )


def assert_inert(text: str) -> None:
    """No ESC at all, no control, BiDi or invisible character; the markup is there to be read."""
    found = UNSAFE.search(text)
    assert found is None, (found, text[max(0, found.start() - 40) : found.start() + 40])


def assert_same_but_colour(coloured: str, plain: str) -> None:
    """The coloured output is the plain one plus rich's own SGR escapes, and nothing else."""
    assert RICH_SGR.search(coloured), "colour was not on"
    assert RICH_SGR.sub("", coloured) == plain


def cli(args: list[str], stdin: str | None = None, colour: bool = False, columns: int = 300) -> CliResult:
    env = {"COLUMNS": str(columns), "FORCE_COLOR": "1" if colour else None, "TERM": "xterm-256color"}
    result = run_cli(args, env=env, stdin=stdin)
    assert result.exit_code == 0, result.stderr[-2000:]
    return result


# --------------------------------------------------------------------------------------------- show-trace


@pytest.mark.parametrize("details", [False, True])
def test_show_trace_of_hostile_text_is_inert_and_shows_the_markup_as_typed(details: bool) -> None:
    args = ["show-trace", "--input", "-", *(["--details"] if details else [])]
    plain = cli(args, stdin=saved_batch(hostile_segment()))
    coloured = cli(args, stdin=saved_batch(hostile_segment()), colour=True)
    for output in (plain.stdout, plain.stderr):
        assert_inert(output)
    assert_same_but_colour(coloured.stdout, plain.stdout)
    assert_same_but_colour(coloured.stderr, plain.stderr)
    # Shown, not interpreted: the brackets and the escaped controls are there to read.
    assert "[bold red]MARKUP[/bold red]" in plain.stdout and "[link=https://evil.example]" in plain.stdout
    assert "\\x1b[2J" in plain.stdout and "\\u202egnp.exe" in plain.stdout and "\\x9b31m" in plain.stdout
    if details:
        assert "\\x1b]52;c;ZXZpbA==\\x07" in plain.stdout and "\\u200b" in plain.stdout
        assert "SELECT '[bold red]MARKUP" in plain.stdout


def test_show_trace_json_gives_the_hostile_text_back_as_it_was() -> None:
    segment = hostile_segment()
    result = cli(["-o", "json", "show-trace", "--input", "-"], stdin=saved_batch(segment))
    assert_inert(result.stdout.replace("\n", ""))  # JSON writes controls as \\u escapes: safe to cat
    [trace] = result.json()["traces"]
    [root] = trace["roots"]
    assert (root["name"], root["origin"]) == (HOSTILE, HOSTILE)
    assert root["annotations"] == segment["annotations"]
    assert root["metadata"] == segment["metadata"]
    assert root["http"]["request"] == segment["http"]["request"]
    assert root["extra"][HOSTILE] == HOSTILE and root["extra"]["user"] == HOSTILE
    assert [e["message"] for e in root["exceptions"]] == [HOSTILE + "\n" + HOSTILE, LONG]
    assert root["links"] == segment["links"]
    by_id = {child["id"]: child for child in root["children"]}
    assert by_id["00000000000000b2"]["aws"] == segment["subsegments"][0]["aws"]
    assert by_id["00000000000000b3"]["sql"] == segment["subsegments"][1]["sql"]
    assert by_id["00000000000000b4"]["name"] == LONG


def _two_hostile_traces() -> str:
    """The hostile trace twice, under two ids, the second without its SQL subsegment: a compare input."""
    other = "1-6b04c851-f14fec967f9786633c368d56"
    second = hostile_segment()
    second.update(trace_id=other, subsegments=second["subsegments"][:1] + second["subsegments"][2:])
    traces = [
        {"Id": trace_id, "Segments": [{"Id": "a1", "Document": json.dumps(segment)}]}
        for trace_id, segment in ((TRACE_ID, hostile_segment()), (other, second))
    ]
    return json.dumps({"Traces": traces})


def test_compare_of_hostile_traces_is_inert_and_json_intact() -> None:
    args = ["compare", "--input", "-"]
    plain = cli(args, stdin=_two_hostile_traces())
    assert_inert(plain.stdout + plain.stderr)
    assert_same_but_colour(cli(args, stdin=_two_hostile_traces(), colour=True).stdout, plain.stdout)
    assert "[bold red]MARKUP" in plain.stdout and "only in A" in plain.stdout
    data = cli(["-o", "json", *args], stdin=_two_hostile_traces()).json()
    assert data["nodes"][0]["path"] == [HOSTILE] and data["nodes"][0]["origin"] == HOSTILE


# What ends an SVG text element, opens a script, or is no XML character at all.
XMLISH = "</text><script>alert(1)</script> &amp; ]]> <!-- \ufffe\uffff"


def test_an_exported_svg_parses_and_holds_hostile_names_as_inert_text(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ElementTree

    segment = hostile_segment(text=HOSTILE + XMLISH, long="L" * 5000)
    svg = tmp_path / "trace.svg"
    result = cli(
        ["show-trace", "--input", "-", "--details", "--export", str(svg)], stdin=saved_batch(segment)
    )
    assert result.stdout == ""
    root = ElementTree.parse(svg).getroot()  # parses: no name broke the XML
    assert not [element for element in root.iter() if element.tag.endswith(("script", "a"))]
    text = "".join(root.itertext()).replace("\xa0", " ")
    assert_inert(text)
    assert "[bold red]MARKUP[/bold red]" in text and "\\x1b[2J" in text and "</text><script>alert(1)" in text
    assert "\\ufffe\\uffff" in text


def test_service_map_of_hostile_service_names_is_inert(hostile_api: str) -> None:
    args = ["service-map", *WINDOW, "--endpoint-url", hostile_api]
    plain = cli(args, columns=3000)
    assert_inert(plain.stdout + plain.stderr)
    assert_same_but_colour(cli(args, colour=True, columns=3000).stdout, plain.stdout)
    assert "[bold red]MARKUP" in plain.stdout and "\\x1b[2J" in plain.stdout
    data = cli(["-o", "json", *args]).json()
    assert HOSTILE in {service["name"] for service in data["services"]}


def test_colour_forced_in_a_real_process_adds_only_rich_s_own_escapes(tmp_path: Path) -> None:
    """As a user runs it: a separate process with FORCE_COLOR, TERM and a file to read."""
    saved = tmp_path / "hostile.json"
    saved.write_text(saved_batch(hostile_segment()), encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERM")}

    def run(**env: str) -> tuple[str, str]:
        done = subprocess.run(
            [sys.executable, "-m", "xrayctl", "show-trace", "--input", str(saved), "--details"],
            env={**base, "COLUMNS": "160", **env},
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.decode("utf-8"), done.stderr.decode("utf-8")

    plain_out, plain_err = run()
    colour_out, colour_err = run(FORCE_COLOR="1", TERM="xterm-256color")
    assert_inert(plain_out + plain_err)
    assert_same_but_colour(colour_out, plain_out)
    assert RICH_SGR.sub("", colour_err) == plain_err
    assert "\x1b]" not in colour_out + colour_err  # no OSC at all: no planted link, no clipboard, no title


# ------------------------------------------------------------------- list-annotations and show-trace by id


@pytest.fixture(scope="module")
def hostile_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local X-Ray API over a store holding the hostile trace, as PutTraceSegments stored it."""
    store = TraceStore(tmp_path_factory.mktemp("hostile") / "traces.db")
    segment = hostile_segment(long=STORED_LONG)
    segment["annotations"]["count"] = 3
    # A stored document is at most 64 KB: the subsegments go as their own documents, as the SDKs send them.
    subsegments = [
        {**sub, "type": "subsegment", "parent_id": segment["id"], "trace_id": TRACE_ID, "start_time": START}
        for sub in segment.pop("subsegments")
    ]
    assert store.put_documents([json.dumps(doc) for doc in (segment, *subsegments)]) == []
    api = XRayApiServer(store).start()
    yield api.url
    api.stop()
    store.close()


STORED_LONG = "L" * 5_000 + HOSTILE
WINDOW = ["--start", str(int(START) - 60), "--end", str(int(START) + 60)]


@pytest.mark.parametrize("summary", [False, True])
def test_list_annotations_of_hostile_keys_and_values_is_inert(hostile_api: str, summary: bool) -> None:
    args = ["list-annotations", *WINDOW, "--endpoint-url", hostile_api, *(["--summary"] if summary else [])]
    plain = cli(args, columns=3000)  # wide enough that no column is cut
    coloured = cli(args, colour=True, columns=3000)
    assert_inert(plain.stdout + plain.stderr)
    assert_same_but_colour(coloured.stdout, plain.stdout)
    assert "[bold red]MARKUP" in plain.stdout and "\\x1b[2J" in plain.stdout
    assert TRACE_ID in plain.stdout or summary


def test_list_annotations_json_keeps_hostile_keys_and_values(hostile_api: str) -> None:
    result = cli(["-o", "json", "list-annotations", *WINDOW, "--endpoint-url", hostile_api])
    assert_inert(result.stdout.replace("\n", ""))
    [row] = result.json()["traces"]
    assert row["annotations"] == {"k": [HOSTILE], HOSTILE: [HOSTILE], "long": [STORED_LONG], "count": [3]}


def test_show_trace_from_the_api_is_inert_and_json_intact(hostile_api: str) -> None:
    args = ["show-trace", TRACE_ID, "--no-wait", "--details", "--endpoint-url", hostile_api]
    plain = cli(args)
    assert_inert(plain.stdout + plain.stderr)
    assert_same_but_colour(cli(args, colour=True).stdout, plain.stdout)
    [trace] = cli(["-o", "json", *args]).json()["traces"]
    assert trace["roots"][0]["annotations"]["k"] == HOSTILE
    assert trace["summary"]["EntryPoint"]["Name"] == HOSTILE


# ------------------------------------------------------------------------------------------------- invoke


TRACE_IDS = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")


class HostileLambda:
    """A Lambda endpoint whose function answers with hostile text in every part of the result."""

    def __init__(self) -> None:
        self.server = LoopbackHTTPServer(self.handle).start()

    def handle(self, request: Request) -> Response:
        payload = json.dumps({"errorMessage": HOSTILE, "errorType": HOSTILE, "stackTrace": [HOSTILE, LONG]})
        log = "START\n" + HOSTILE + "\n" + HOSTILE.replace("\n", " ") + "\nEND\n"
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Function-Error": "Unhandled",
            "X-Amz-Executed-Version": "$LATEST",
            "X-Amz-Log-Result": base64.b64encode(log.encode()).decode(),
        }
        return Response(200, payload.encode(), headers)


def test_invoke_shows_a_hostile_payload_error_and_log_inert() -> None:
    fake = HostileLambda()
    try:
        args = ["invoke", "--function", "f", "--bucket", "b", "--no-show", "--endpoint-url", fake.server.url]
        env = {"COLUMNS": "300", "TERM": "xterm-256color"}
        plain = run_cli(args, env=env)
        coloured = run_cli(args, env={**env, "FORCE_COLOR": "1"})
        as_json = run_cli(["-o", "json", *args], env=env)
    finally:
        fake.server.stop()
    assert plain.exit_code == coloured.exit_code == 8, plain.stderr  # a function error
    assert_inert(plain.stdout + plain.stderr)
    # Each invocation has a trace id of its own.
    assert_same_but_colour(TRACE_IDS.sub("T", coloured.stdout), TRACE_IDS.sub("T", plain.stdout))
    assert "[bold red]MARKUP" in plain.stdout and "\\x1b]52;c;" in plain.stdout
    [invocation] = json.loads(as_json.stdout)["invocations"]
    assert invocation["payload_json"]["errorMessage"] == HOSTILE
    assert HOSTILE in invocation["log_tail"]


# ----------------------------------------------------------------------------------------------- property

PIECES = ["\x1b", "\x07", "\x9b", "\x1b]8;;", "\x1b[31m", "\u202e", "\u2066", "\u200b", "[b]", "[/]", "\n"]
TEXT = st.lists(st.sampled_from(PIECES) | st.text(st.characters(), max_size=6), max_size=6).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, long=TEXT)
def test_any_text_in_every_field_is_inert_as_text_and_intact_as_json(text: str, long: str) -> None:
    segment = hostile_segment(text or "x", long)
    batch = saved_batch(segment)
    args = ["show-trace", "--input", "-", "--details"]
    plain = cli(args, stdin=batch)
    assert_inert(plain.stdout + plain.stderr)
    assert_same_but_colour(cli(args, stdin=batch, colour=True).stdout, plain.stdout)
    [trace] = cli(["-o", "json", *args], stdin=batch).json()["traces"]
    [root] = trace["roots"]
    assert root["annotations"] == segment["annotations"] and root["metadata"] == segment["metadata"]
    assert root["exceptions"][0]["message"] == segment["cause"]["exceptions"][0]["message"]


# ------------------------------------------------------------------------------------------ error messages


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "command",
    [["show-trace", TRACE_ID, "--no-wait"], ["list-annotations"], ["invoke", "--function", "f", "--no-show"]],
    ids=["show-trace", "list-annotations", "invoke"],
)
def test_an_endpoint_s_hostile_error_message_is_inert_even_in_the_debug_traceback(
    command: list[str], debug: bool
) -> None:
    """The error line quotes the service's message; --debug adds botocore's log and the traceback, which
    quote it too."""
    server = LoopbackHTTPServer(lambda _: Response.aws_error(400, "InvalidRequestException", HOSTILE)).start()
    try:
        result = run_cli([*(["--debug"] if debug else []), *command, "--endpoint-url", server.url])
    finally:
        server.stop()
    assert result.exit_code == 2, result.stderr[-2000:]
    assert_inert(result.stdout + result.stderr)
    assert "[bold red]MARKUP[/bold red]" in result.stderr and "\\x1b]52;c;" in result.stderr
    assert ("Traceback" in result.stderr) == debug


def test_hostile_keys_asked_for_on_the_command_line_are_inert_in_the_footer(hostile_api: str) -> None:
    """Keys read by a script from traces, then passed back as --key: the line on stderr names them."""
    result = cli(["list-annotations", *WINDOW, "--endpoint-url", hostile_api, "--key", HOSTILE, "--key", "k"])
    assert_inert(result.stdout + result.stderr)
    assert "1 with any of [bold red]MARKUP" in result.stderr
