"""``genxd ... --help`` in a narrow terminal (``COLUMNS=40``, a split pane, a phone's SSH client): click wrapped
help to at least 50 columns, so on 40 every longer line was folded again by the terminal inside its words, and a
description column narrower than its longest word cut that word (``--out``'s ``authors/transforms/w2c`` read
``(aut`` / ``hors/transforms/``). Run as the user runs it, with the terminal width from ``COLUMNS``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .introspect import commands

COMMANDS = [c for c, _ in commands()] + [("trajectory",), ()]

#: every command's ``--help`` in turn in one fresh interpreter as ``python -m genxd`` runs it (genxd/__main__.py;
#: click names the program from ``__main__``'s package and ``sys.argv[0]``: "Usage: python -m genxd ..."), each
#: one's stdout and stderr after a marker line and its exit status after the last: a child per command and width
#: cost about 0.45 s of CPU each (36 of them); the texts are the same, byte for byte (checked 2026-12-07)
_EVERY_HELP = """
import json, sys
import genxd
from genxd.cli import main
sys.modules["__main__"].__package__ = "genxd"
for words in json.loads(sys.argv[1]):
    key = " ".join(words)
    print("@@help", key, flush=True)
    print("@@help", key, file=sys.stderr, flush=True)
    sys.argv = [genxd.__path__[0] + "/__main__.py", *words, "--help"]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    sys.stderr.flush()
    print("@@exit", code, flush=True)
"""


def _split(text: str) -> dict[str, str]:
    """``{command words: the text printed after its marker}``."""
    parts = {}
    for part in text.split("@@help ")[1:]:
        key, _, body = part.partition("\n")
        parts[key] = body
    return parts


def _every_help(columns: int) -> dict[str, tuple[str, str]]:
    """``{command words: (its --help stdout, its stderr)}`` with the terminal ``columns`` wide; each exited 0."""
    env = dict(os.environ, COLUMNS=str(columns), LINES="24")
    done = subprocess.run([sys.executable, "-c", _EVERY_HELP, json.dumps([list(c) for c in COMMANDS])], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out, err = _split(done.stdout), _split(done.stderr)
    assert sorted(out) == sorted(err) == sorted(" ".join(c) for c in COMMANDS), done.stderr
    helps = {}
    for key, body in out.items():
        text, _, status = body.rpartition("@@exit ")
        assert status.strip() == "0", (key, status, err[key])
        helps[key] = (text, err[key])
    return helps


@pytest.fixture(scope="module")
def helps() -> dict[int, dict[str, tuple[str, str]]]:
    return {columns: _every_help(columns) for columns in (40, 200)}


def _help(helps, command: tuple[str, ...], columns: int) -> str:
    stdout, stderr = helps[columns][" ".join(command)]
    assert not stderr, stderr
    return stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c) or "genxd")
def test_help_fits_40_columns_with_every_word_whole(helps, command):
    narrow = _help(helps, command, 40)
    lines = narrow.splitlines()
    assert all(len(line) <= 40 for line in lines), "\n".join(line for line in lines if len(line) > 40)
    wide_words = set(_help(helps, command, 200).split())
    cut = [word for word in narrow.split() if word not in wide_words]
    assert not cut, f"genxd {' '.join(command)} --help at 40 columns cuts words: {cut}\n{narrow}"
