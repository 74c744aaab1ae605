"""Output folder names made from input names stay one line where they are printed (``genxd generate`` stdout)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import PIL.Image
from typer.testing import CliRunner

from genxd.cli import app
from genxd.cli.terminal_text import printed_path
from genxd.output_folders import output_names

from .fake_model import use_fake_model


def test_a_newline_in_an_input_name_is_not_one_in_the_quiet_output(tmp_path, monkeypatch):
    """Found by the follow-up audit: ``generate -q 'a<newline>b.png'`` printed its output folder on two lines, so
    a script reading one path a line read two wrong ones; control characters of the name are now ``_``."""
    use_fake_model(monkeypatch)
    img = tmp_path / "a\nb.png"
    PIL.Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(img)
    out = tmp_path / "out"
    args = [str(img), "-o", str(out), "--resolution", "64", "--frames", "12", "--window", "12"]
    res = CliRunner().invoke(app, ["generate", *args, "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [str(out / "a_b")]
    assert [p.name for p in out.iterdir()] == ["a_b"]
    res = CliRunner().invoke(app, ["generate", *args, "--overwrite"])  # without -q: the renaming is said, on one line
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if "replaced by _" in line]
    assert len(notes) == 1 and notes[0].startswith(f"genxd: {printed_path(img)} -> "), res.stderr


def test_replaced_control_characters_never_make_two_inputs_share_a_folder():
    paths = [Path(p) for p in ("x/a\nb.png", "x/a\tb.png", "x/a_b.png", "x/c\u2028d.png", "x/e\x85.png")]
    names = output_names(paths)
    assert len({n.casefold() for n in names}) == len(names), names
    assert all(n.isprintable() for n in names), names
    assert names[3:] == ["c_d", "e_"]


def test_one_generate_run_names_its_outputs_once_for_the_early_checks_and_once_in_the_job(tmp_path, monkeypatch):
    """The command line named the output folders for its early check and again to say which inputs were renamed;
    the job (genxd.api, which a Python caller calls directly) names them for its own check."""
    import genxd.api
    import genxd.output_folders

    use_fake_model(monkeypatch)
    calls = []

    def counted(paths):
        calls.append(len(paths))
        return output_names(paths)

    monkeypatch.setattr(genxd.output_folders, "output_names", counted)
    monkeypatch.setattr(genxd.api, "output_names", counted)
    for name in ("a/x.png", "b/x.png"):  # one name twice: the renaming is said
        (tmp_path / name).parent.mkdir()
        PIL.Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(tmp_path / name)
    res = CliRunner().invoke(app, ["generate", str(tmp_path / "a/x.png"), str(tmp_path / "b/x.png"), "-o",
                                   str(tmp_path / "out"), "--resolution", "64", "--frames", "12", "--window", "12"])
    assert res.exit_code == 0, res.output
    assert sum("another input has the same name" in line for line in res.stderr.splitlines()) == 2, res.stderr
    assert calls == [2, 2]


def test_one_generate_run_lists_an_input_folder_once(tmp_path, monkeypatch):
    """The command line expanded its inputs for its early check, then handed the folders as given to the job,
    which listed them again (a folder's images could differ between the two); it now hands over what it
    collected, so the names it checked are those of the images the job makes."""
    import genxd.utils.image_paths as image_paths

    use_fake_model(monkeypatch)
    listed = []
    real = image_paths.collect_images

    def counted(inputs, *args, **kwargs):
        items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
        listed.extend(str(i) for i in items if Path(i).is_dir())
        return real(items, *args, **kwargs)

    monkeypatch.setattr(image_paths, "collect_images", counted)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        PIL.Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(folder / name)
    res = CliRunner().invoke(app, ["generate", str(folder), "-o", str(tmp_path / "out"), "--resolution", "64",
                                   "--frames", "12", "--window", "12", "-q"])
    assert res.exit_code == 0, res.output
    assert listed == [str(folder)]
    assert res.stdout.splitlines() == [str(tmp_path / "out" / "a"), str(tmp_path / "out" / "b")]


def test_inputs_of_one_name_that_is_not_utf8_get_two_folders():
    # Before: the hash told apart two b"a\xff.png" of other folders from their path encoded as UTF-8, which a
    # byte that is not UTF-8 (a surrogate, os.fsdecode) cannot be: UnicodeEncodeError, no line of genxd's.
    paths = [Path(os.fsdecode(b"d1/a\xff.png")), Path(os.fsdecode(b"d2/a\xff.png")), Path("d3/b.png")]
    names = output_names(paths)
    assert len(set(names)) == 3 and all(n.startswith(os.fsdecode(b"a\xff_png_")) for n in names[:2]), names
    assert names[2] == "b"


def test_names_of_one_word_in_two_unicode_forms_get_two_folders_on_macos():
    """``café.png`` typed as one letter (NFC, Linux and Windows keyboards) and as ``e`` + an accent (NFD, as macOS
    names files) are two inputs on Linux; their folders ``café`` and ``café`` were one on macOS (APFS compares names
    after normalisation), so the second scene was written over the first."""
    import unicodedata

    paths = [Path("x") / (unicodedata.normalize(form, "café") + ".png") for form in ("NFC", "NFD")]
    names = output_names(paths)
    assert len({unicodedata.normalize("NFC", n).casefold() for n in names}) == 2, names
    assert output_names([paths[0], Path("x/other.png")])[0] == paths[0].stem  # no clash: the stem as it is


def test_an_input_named_as_a_temporary_gets_a_folder_the_cleanup_keeps(tmp_path, capsys):
    """Found by the s58 review: ``genxd generate .x.HOST-PID-abcdef12.part.y.png`` (this machine, a dead process) made
    the hidden output folder ``.x.HOST-PID-abcdef12.part.y``, of a killed run's temporaries' pattern: the cleanup at
    the start of the next run into the same folder deleted it. A leading ``.`` is now ``_`` (also not hidden), and
    the note says why the name changed."""
    import subprocess
    import sys

    from genxd.cli.generate import note_renamed
    from genxd.utils.io import _host, clean_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stem = f".x.{_host()}-{dead.pid}-abcdef12.part.y"
    paths = [Path("in") / f"{stem}.png", Path("in/.hidden.png"), Path("in/plain.png")]
    names = output_names(paths)
    assert names == ["_" + stem[1:], "_hidden", "plain"]
    for name in names:
        (tmp_path / name).mkdir()
    assert clean_stale(tmp_path) == [] and sorted(os.listdir(tmp_path)) == sorted(names)
    note_renamed(paths, names, tmp_path, quiet=False)
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 2 and all(line.endswith("(its leading '.' (a hidden folder) replaced by _)") for line in notes)
