"""``genxd.cli.terminal_text``: a file name's bytes that are not UTF-8 are shown as ``\\xff`` on every stream and
terminal encoding (they were ``?`` on an ASCII terminal, ``\\udcff`` in messages, the raw byte on stdout), and a
path printed one a line (``-q``) stays one line when its name holds a newline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.cli.generate import note_renamed
from genxd.cli.terminal_text import printed_path, shown
from genxd.output_folders import output_names, plain_name

from .fake_model import use_fake_model

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = {"ascii": {"LC_ALL": "C", "PYTHONIOENCODING": "ascii"}, "c-locale": {"LC_ALL": "C"},
                "utf-8": {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}}


def _genxd(args: list, cwd: Path, extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING")}
    env.update(extra, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "genxd", *args], cwd=cwd, env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("where", sorted(ENVIRONMENTS))
def test_a_non_utf8_name_is_escaped_in_an_error_line(tmp_path, where):
    # Before: 'genxd: error: miss?.png: no such file or folder' on an ASCII terminal, 'miss\udcff.png' elsewhere.
    name = os.fsdecode(b"miss\xff.png")
    done = _genxd(["generate", name, "-o", "out"], tmp_path, ENVIRONMENTS[where])
    assert done.returncode == 2
    assert done.stderr == b"genxd: error: miss\\xff.png: no such file or folder\n", done.stderr


@pytest.mark.parametrize("where", ["ascii", "c-locale"])
def test_a_non_utf8_name_is_escaped_in_a_printed_path(tmp_path, where):
    # Before: the raw byte 0xff on stdout under LC_ALL=C; '?' on an ASCII terminal.
    name = os.fsdecode(b"cams\xff.json")
    done = _genxd(["trajectory", "make", "orbit", "-o", name], tmp_path, ENVIRONMENTS[where])
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"wrote 12 cameras (orbit) to cams\\xff.json\n"
    assert (tmp_path / os.fsdecode(b"cams\xff.json")).is_file()


def test_a_library_quoting_a_non_utf8_name_is_shown_alike():
    text = "x\udcff.png: cannot identify image file 'x\\udcff.png'"
    assert shown(text) == "x\\xff.png: cannot identify image file 'x\\xff.png'"
    assert shown("caf\u00e9 \\u00e9") == "caf\u00e9 \\u00e9"  # other characters and escapes are left alone


def test_a_printed_path_is_one_line():
    assert printed_path(Path("out\nA") / "img") == "out\\nA/img"
    assert printed_path("a\tb\rc\x1bd\u2028e\x85") == "a\\tb\\rc\\x1bd\\u2028e\\x85"
    assert printed_path("caf\u00e9/plain name") == "caf\u00e9/plain name"


def test_a_printed_path_escapes_c1_controls():
    # Before: U+009B (CSI, a terminal's escape start in 8-bit mode) and the other C1 controls were printed raw.
    assert printed_path("x\u009b31m\u0080\u009f.png") == "x\\x9b31m\\x80\\x9f.png"
    assert plain_name("x\u009b.png") == "x_.png"  # the same characters as output folder names replace


def test_a_renamed_input_is_named_as_printed_paths_are(capsys):
    # Before: a name with a control character was quoted by repr: its non-UTF-8 byte printed as '\udcff'.
    paths = [Path(os.fsdecode(b"d1/a\xff\n.png")), Path(os.fsdecode(b"d2/a\xff\n.jpg"))]
    note_renamed(paths, output_names(paths), Path("out"), quiet=False)
    err = capsys.readouterr().err
    assert "genxd: d1/a\\xff\\n.png -> out/a\\xff__png (" in err, err
    assert "genxd: d2/a\\xff\\n.jpg -> out/a\\xff__jpg (" in err, err


def test_generate_quiet_prints_an_output_folder_with_a_newline_on_one_line(tmp_path, monkeypatch):
    # Before: 'OUT<newline>A/img' was two lines of -q output: a script reading one path a line read two wrong ones.
    use_fake_model(monkeypatch)
    img = tmp_path / "img.png"
    PIL.Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(img)
    out = tmp_path / "out\nA"
    args = [str(img), "-o", str(out), "--resolution", "64", "--frames", "12", "--window", "12", "-q"]
    res = CliRunner().invoke(app, ["generate", *args])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [str(tmp_path / "out\\nA" / "img")]
    assert (out / "img").is_dir()
