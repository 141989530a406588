"""`clean`: untrusted trace text as one printable line, with what was removed still visible."""

from __future__ import annotations

import pytest

from xrayctl.text.sanitize import clean, clean_lines


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


def test_clean_lines_breaks_only_on_newlines_and_shows_other_breaks() -> None:
    text = "a\r\nb\rc\vd\fe\x1cf\x1dg\x1eh\x85i\u2028j\u2029k\nl\r"
    assert clean_lines(text) == [
        "a",
        "b\\x0dc\\x0bd\\x0ce\\x1cf\\x1dg\\x1eh\\x85i\\u2028j\\u2029k",
        "l\\x0d",
    ]
    assert clean_lines("a\n\nb\n") == ["a", "", "b"]


def test_clean_lines_says_how_many_lines_it_left_out() -> None:
    text = "".join(f"line {n:04d}\n" for n in range(5000))
    lines = clean_lines(text, max_len=200)  # reads about 800 characters: 80 lines of 10
    assert lines[:2] == ["line 0000", "line 0001"]
    assert lines[-1] == f"… ({5000 - (len(lines) - 1)} more lines)"
    assert lines[-2] == f"line {len(lines) - 2:04d}"


def test_clean_lines_cuts_a_huge_line_and_counts_the_rest() -> None:
    assert clean_lines("x" * 10_000_000 + "\nsecond\nthird", 10) == ["x" * 9 + "…", "… (2 more lines)"]
    assert clean_lines("x" * 100 + "\nlast\n", 10) == ["x" * 9 + "…", "… (1 more line)"]
