"""Make untrusted text from a trace safe for a terminal.

Every string in a segment document was written by whoever instrumented the traced code, or by an attacker who
controls a request it traced. On a terminal, an ESC byte can move the cursor, rewrite the screen, set the
clipboard (OSC 52) or plant a link (OSC 8); BiDi overrides can make text read differently from what it is. So
text output keeps only printable characters: control, format and BiDi characters become a visible `\\xNN`,
`\\uNNNN` or `\\UNNNNNNNN` escape rather than vanishing, so a reader can see that something was there.

Rich markup is a second channel: the renderers never pass trace text through markup parsing (they build
`rich.text.Text` objects, which do not interpret `[bold]`), so no escaping of brackets is needed here.
JSON output keeps the data intact: it writes the `UNSAFE` characters as JSON `\\u` escapes, which a JSON
reader turns back into the same text and a terminal shows as plain characters.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls and DEL; the line and paragraph separators (a line break to some terminals and editors);
# lone surrogates (JSON can spell them, UTF-8 cannot: writing one raises); and the invisible or
# direction-changing format characters (Cf: soft hyphen, ZWSP, ZWJ, BiDi embeddings, overrides and isolates,
# BOM, the tag characters that can smuggle invisible ASCII). Tab and newline are controls too: a label is one
# line. `clean` also escapes any other Cf character.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_ASCII_SAFE = re.compile(r"[ -~]*\Z")

DEFAULT_MAX_LEN = 2000


def _escape(char: str) -> str:
    """`\\x1b`, `\\u202e`, `\\U000e0041`: the code point, readable and unambiguous."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(value: object, max_len: int = DEFAULT_MAX_LEN) -> str:
    """Return `value` as one printable line: unsafe characters escaped, at most `max_len` characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_len * 4:
        # Never run the regex over a 10 MB string only to cut it afterwards.
        text = text[: max_len * 4]
    if not _ASCII_SAFE.match(text):
        text = UNSAFE.sub(lambda match: _escape(match.group()), text)
        if any(unicodedata.category(ch) == "Cf" for ch in text):
            text = "".join(_escape(ch) if unicodedata.category(ch) == "Cf" else ch for ch in text)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def clean_lines(value: object, max_len: int = DEFAULT_MAX_LEN) -> list[str]:
    """Like `clean`, but keep line breaks as separate lines (for stack traces and multi-line messages).

    Only `\n` and `\r\n` break a line: the other characters `str.splitlines` breaks on (`\r`, `\v`, `\f`,
    `\x1c`-`\x1e`, `\x85`, `\u2028`, `\u2029`) are shown as escapes, like any control character. About
    `max_len * 4` characters are read; a longer text ends with a line that says how many lines were left.
    """
    text = value if isinstance(value, str) else str(value)
    budget = max_len * 4
    lines: list[str] = []
    start = 0
    while start < len(text) and start < budget:
        end = text.find("\n", start)
        if end == -1:
            end = stop = len(text)
        else:
            stop = end - 1 if end > start and text[end - 1] == "\r" else end
        # Never slice out more of a long line than `clean` would read.
        lines.append(clean(text[start : min(stop, start + budget)], max_len))
        start = end + 1
    if start < len(text):
        left = text.count("\n", start) + (not text.endswith("\n"))
        lines.append(f"… ({left} more line{'s' if left != 1 else ''})")
    return lines or [""]
