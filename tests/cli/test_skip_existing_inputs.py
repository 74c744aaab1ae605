"""``--skip-existing`` keeps an output only for the input it was made from. Output folders are named after the input's
stem, so ``genxd generate day1/a.png -o out`` and later ``genxd generate day2/a.png -o out --skip-existing`` share
``out/a``: the second run reported day2's photo as done ("skipped (exists)") with day1's result."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genxd.cli import app

from .fake_model import use_fake_model


def _earlier_output(out, made_from) -> None:
    """An output folder as an earlier ``genxd generate made_from -o out`` leaves it (meta.json records the input)."""
    (out / "a").mkdir(parents=True)
    (out / "a" / "meta.json").write_text(json.dumps({"input": str(made_from), "output": "a"}))


def test_skip_existing_refuses_an_output_made_from_another_file_of_the_same_name(tmp_path):
    day1, day2 = tmp_path / "day1" / "a.png", tmp_path / "day2" / "a.png"
    for i, path in enumerate((day1, day2)):
        path.parent.mkdir()
        Image.fromarray(np.full((16, 16, 3), 60 * i, np.uint8)).save(path)
    out = tmp_path / "out"
    _earlier_output(out, day1.resolve())
    args = ["-o", str(out), "--steps", "1", "--frames", "2", "--skip-existing", "-q"]

    other = CliRunner().invoke(app, ["generate", str(day2), *args])
    assert other.exit_code == 2, other.output
    lines = [line for line in other.output.splitlines() if line.startswith("genxd: error:")]
    assert lines == [f"genxd: error: {out / 'a'} holds the output of {day1.resolve()}, not of {day2} (the two files "
                     "have one name): --skip-existing would keep it as this input's; write to another output folder, "
                     "or replace it with --overwrite"], other.output
    assert sorted(p.name for p in (out / "a").iterdir()) == ["meta.json"]  # left as it was

    same = CliRunner().invoke(app, ["generate", str(day1), *args])  # the input it was made from: kept, as before
    assert same.exit_code == 0, same.output
    assert sorted(p.name for p in (out / "a").iterdir()) == ["meta.json"]


def _photos(root, *names):
    """``root/day1/NAME`` and ``root/day2/NAME``: files of one name with different content."""
    for i, day in enumerate(("day1", "day2")):
        (root / day).mkdir(exist_ok=True)
        for name in names:
            Image.fromarray(np.full((16, 16, 3), 60 * i, np.uint8)).save(root / day / name)


def test_skip_existing_refuses_another_file_of_the_same_name_given_by_a_relative_path(tmp_path, monkeypatch):
    """meta.json recorded the input as given, ``day1/a.png``, and the check took only absolute recorded paths: with
    the paths everyone types (relative), ``genxd generate day2/a.png -o out --skip-existing`` still printed 'skipped
    (exists): out/a' and exit 0 with day1's result. meta.json records ``input_path`` (absolute) now."""
    use_fake_model(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _photos(tmp_path, "a.png")
    args = ["-o", "out", "--steps", "1", "--frames", "2", "-q"]
    first = CliRunner().invoke(app, ["generate", "day1/a.png", *args])
    assert first.exit_code == 0, first.output
    meta = json.loads((tmp_path / "out" / "a" / "meta.json").read_text())
    assert meta["input"] == "day1/a.png" and meta["input_path"] == str(tmp_path / "day1" / "a.png")

    other = CliRunner().invoke(app, ["generate", "day2/a.png", *args, "--skip-existing"])
    assert other.exit_code == 2, other.output
    assert f"out/a holds the output of {tmp_path / 'day1' / 'a.png'}, not of day2/a.png" in other.output

    # the same file, by another path and through a link, from another folder: kept, as before
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "a.png").symlink_to(tmp_path / "day1" / "a.png")
    monkeypatch.chdir(tmp_path / "day2")
    for same in ("../day1/a.png", str(tmp_path / "linked" / "a.png")):
        kept = CliRunner().invoke(app, ["generate", same, "-o", "../out", "--steps", "1", "--frames", "2",
                                        "--skip-existing"])
        assert kept.exit_code == 0 and "skipped (exists)" in kept.output, kept.output


@pytest.mark.parametrize("skip_existing", [False, True])
def test_another_runs_output_of_another_file_of_the_same_name_is_not_kept_nor_to_be_overwritten(
        tmp_path, monkeypatch, skip_existing):
    """Two runs at once into one folder, from day1/ and day2/ (files of the same names): the later run's line for
    an output the other wrote meanwhile suggested --overwrite, which would replace day1's result with day2's; with
    --skip-existing (a job array's) day2's photos were recorded as skipped, exit 0, with day1's results. Now each is
    this run's failure, naming the other file and asking for another output folder."""
    import genxd.api

    use_fake_model(monkeypatch)
    _photos(tmp_path, "a.png", "b.png")
    out = tmp_path / "out"
    write, written = genxd.api.write_scene, []

    def other_run_writes(folder, *args, **kwargs):  # the day1 run writes a (while this one sampled it), then b
        if folder.name == "a":
            for name in ("a", "b"):
                (out / name).mkdir(parents=True)
                made_from = tmp_path / "day1" / f"{name}.png"
                (out / name / "meta.json").write_text(json.dumps({"input": str(made_from), "input_path": str(made_from)}))
        written.append(folder.name)
        return write(folder, *args, **kwargs)

    monkeypatch.setattr(genxd.api, "write_scene", other_run_writes)
    res = CliRunner().invoke(app, ["generate", str(tmp_path / "day2" / "a.png"), str(tmp_path / "day2" / "b.png"),
                                   "-o", str(out), "--steps", "1", "--frames", "2",
                                   *(["--skip-existing"] if skip_existing else [])])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    for name in ("a", "b") if skip_existing else ("a",):
        assert (f"{out / name} was written by another run from {tmp_path / 'day1' / name}.png while this one worked"
                in text), res.output
        assert f"write {tmp_path / 'day2' / name}.png to another output folder" in text, res.output
    assert "Traceback" not in res.output
    assert written == (["a"] if skip_existing else ["a", "b"])  # with --skip-existing, b was not sampled
    for name in ("a", "b"):  # the other run's outputs are kept
        assert json.loads((out / name / "meta.json").read_text())["input_path"] == str(tmp_path / "day1" / f"{name}.png")
