"""Make untrusted text from a trace safe for a terminal.

Every string in a segment document was written by whoever instrumented the traced code, or by an attacker who
controls a request it traced. On a terminal, an ESC byte can move the cursor, rewrite the screen, set the
clipboard (OSC 52) or plant a link (OSC 8); BiDi overrides can make text read differently from what it is. So
text output keeps only printable characters: control, format and BiDi characters become a visible `\\xNN` /
`\\uNNNN` escape rather than vanishing, so a reader can see that something was there.

Rich markup is a second channel: the renderers never pass trace text through markup parsing (they build
`rich.text.Text` objects, which do not interpret `[bold]`), so no escaping of brackets is needed here.
JSON output keeps the data intact and does not use this module.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls, DEL, and the invisible or direction-changing format characters (Cf covers ZWSP, ZWJ,
# BiDi embeddings/overrides/isolates, BOM, soft hyphen). Tab and newline are controls too: a label is one
# line.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_ASCII_SAFE = re.compile(r"[ -~]*\Z")

DEFAULT_MAX_LEN = 2000


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, max_len: int = DEFAULT_MAX_LEN) -> str:
    """Return `value` as one printable line: unsafe characters escaped, at most `max_len` characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_len * 4:
        # Never run the regex over a 10 MB string only to cut it afterwards.
        text = text[: max_len * 4]
    if not _ASCII_SAFE.match(text):
        text = _UNSAFE.sub(_escape, text)
        if any(unicodedata.category(ch) == "Cf" for ch in text):
            text = "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cf" else ch for ch in text)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def clean_lines(value: object, max_len: int = DEFAULT_MAX_LEN) -> list[str]:
    """Like `clean`, but keep line breaks as separate lines (for stack traces and multi-line messages)."""
    text = value if isinstance(value, str) else str(value)
    return [clean(line, max_len) for line in text[: max_len * 4].splitlines()] or [""]
