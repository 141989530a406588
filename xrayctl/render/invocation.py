"""One Lambda invocation's result for the terminal: status, function error, payload and log tail.

The payload and the log tail come from the function, so they are as untrusted as any trace text: every line
goes through `sanitize.clean` into a `Text`. Both are cut (payload to its first lines, log to its last) with a
line saying how much was left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.style import Style
from rich.text import Text

from xrayctl.aws.invoke import InvocationResult, parse_payload, payload_text
from xrayctl.render.format import DIM, EXCEPTION_STYLE, STATUS_STYLES
from xrayctl.text.jsonwrite import iter_json
from xrayctl.text.sanitize import clean

PAYLOAD_LINES = 40
LOG_LINES = 20
INDENT = "  "
LABEL = Style(dim=True)


def invocation_view(result: InvocationResult) -> Group:
    title = Text()
    title.append("Invoked ", LABEL)
    title.append(clean(result.function_name, 200), Style(bold=True))
    if result.executed_version:
        title.append(f" ({clean(result.executed_version, 50)})", DIM)
    title.append("  ")
    ok = 200 <= result.status_code < 300 and not result.function_error
    title.append(f"status {result.status_code}", STATUS_STYLES["ok" if ok else "fault"])
    lines: list[RenderableType] = [title]
    # Ids on lines of their own: a wrapped id cannot be copied in one go.
    for label, value in (("trace", result.trace_id), ("request", result.request_id)):
        if value:
            line = Text(INDENT + f"{label} ", LABEL, no_wrap=True, overflow="ellipsis")
            line.append(clean(value, 100), Style())
            lines.append(line)
    if result.function_error:
        lines.append(Text(f"✗ function error: {clean(result.function_error, 200)}", EXCEPTION_STYLE))

    text = payload_text(result.payload)
    if text:
        lines.append(Text("payload", LABEL))
        lines.append(_Indented([Text(line) for line in _payload_lines(text)]))
    if result.log_tail:
        log = result.log_tail.splitlines()
        lines.append(Text("log tail", LABEL))
        if len(log) > LOG_LINES:
            lines.append(_Indented([Text(f"… {len(log) - LOG_LINES} earlier lines", DIM)]))
        # Lambda's REPORT line is tab-separated; a tab would otherwise show as an escaped \x09.
        lines.append(_Indented([Text(clean(line.expandtabs(2)), DIM) for line in log[-LOG_LINES:]]))
    lines.append(Text(""))  # a blank line before whatever follows (the next invocation, the trace)
    return Group(*lines)


def _payload_lines(text: str) -> list[str]:
    """The first lines of the payload, pretty JSON when it parses, each cleaned for the terminal."""
    parsed, value = parse_payload(text)
    lines = list(_first_lines(iter_json(value, 2), PAYLOAD_LINES + 1)) if parsed else text.splitlines()
    shown = [clean(line) for line in lines[:PAYLOAD_LINES]]
    if len(lines) > PAYLOAD_LINES:
        shown.append("… (payload cut: --output json has all of it)")
    return shown


def _first_lines(chunks: Iterator[str], count: int) -> Iterator[str]:
    """The first `count` lines of text given in chunks, without joining the rest."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line
            count -= 1
            if count == 0:
                return
    yield pending


class _Indented:
    """Indented lines that wrap under their indent rather than being cut (the end of a payload string or of
    Lambda's REPORT line, with the durations and memory, is what the reader came for), with no trailing
    padding for a pipe to keep."""

    def __init__(self, lines: list[Text]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - len(INDENT))
        for text in self.lines:
            for line in text.wrap(console, width, overflow="fold"):
                yield Text(INDENT) + line
