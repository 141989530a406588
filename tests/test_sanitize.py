"""`clean`: untrusted trace text as one printable line, with what was removed still visible."""

from __future__ import annotations

import pytest

from xrayctl.sanitize import clean, clean_lines


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain [bold]text[/]", "plain [bold]text[/]"),  # markup is not this module's business
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x1b]8;;http://evil\x1b\\", "\\x1b]8;;http://evil\\x1b\\"),
        ("tab\tnew\nline\r", "tab\\x09new\\x0aline\\x0d"),
        ("c1 \x9b31m \x85", "c1 \\x9b31m \\x85"),
        ("\u202egnp.exe \u2066x\u2069", "\\u202egnp.exe \\u2066x\\u2069"),
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("line\u2028sep", "line\\u2028sep"),
        ("tag\U000e0041", "tag\\U000e0041"),  # not `\ue0041`, which reads as U+E004 and a 1
        ("lone \ud800", "lone \\ud800"),  # UTF-8 cannot write it: printing it would raise
        ("\U000110bd", "\\U000110bd"),  # any other format character, by category
        ("naïve 日本 ✓", "naïve 日本 ✓"),
        (404, "404"),
    ],
)
def test_unsafe_characters_become_visible_escapes(raw: object, shown: str) -> None:
    assert clean(raw) == shown


def test_long_text_is_cut_visibly_without_reading_all_of_it() -> None:
    assert clean("\x1b" * 10_000_000, 10) == "\\x1b\\x1b\\…"
    assert clean("a" * 50, 10) == "a" * 9 + "…"


def test_clean_lines_keeps_each_line_and_cleans_it() -> None:
    assert clean_lines("at a\x1b[2J\nat b") == ["at a\\x1b[2J", "at b"]
    assert clean_lines("") == [""]
