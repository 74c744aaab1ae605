"""``genxd.utils.messages.first_line``: what a one-line message quotes of a library's error."""

from __future__ import annotations

from genxd.utils.messages import first_line


def test_the_first_non_empty_line_with_or_without_the_type():
    exc = ValueError("\n  bad header  \nmore detail")
    assert first_line(exc) == "bad header"
    assert first_line(exc, with_type=True) == "ValueError: bad header"


def test_an_empty_message_gives_the_type_and_a_long_one_is_cut():
    assert first_line(RuntimeError()) == "RuntimeError"
    assert first_line(RuntimeError(), with_type=True) == "RuntimeError"
    line = first_line(ValueError("x" * 500), limit=20)
    assert line == "x" * 17 + "..." and len(line) == 20
