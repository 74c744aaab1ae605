"""``genxd ... --help`` in a narrow terminal (``COLUMNS=40``, a split pane, a phone's SSH client): click wrapped
help to at least 50 columns, so on 40 every longer line was folded again by the terminal inside its words, and a
description column narrower than its longest word cut that word (``--out``'s ``authors/transforms/w2c`` read
``(aut`` / ``hors/transforms/``). Run as the user runs it, with the terminal width from ``COLUMNS``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .introspect import commands

COMMANDS = [c for c, _ in commands()] + [("trajectory",), ()]


def _help(command: tuple[str, ...], columns: int) -> str:
    env = dict(os.environ, COLUMNS=str(columns), LINES="24")
    done = subprocess.run([sys.executable, "-m", "genxd", *command, "--help"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c) or "genxd")
def test_help_fits_40_columns_with_every_word_whole(command):
    narrow = _help(command, 40)
    lines = narrow.splitlines()
    assert all(len(line) <= 40 for line in lines), "\n".join(line for line in lines if len(line) > 40)
    wide_words = set(_help(command, 200).split())
    cut = [word for word in narrow.split() if word not in wide_words]
    assert not cut, f"genxd {' '.join(command)} --help at 40 columns cuts words: {cut}\n{narrow}"
