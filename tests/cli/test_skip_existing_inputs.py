"""``--skip-existing`` keeps an output only for the input it was made from. Output folders are named after the input's
stem, so ``genxd generate day1/a.png -o out`` and later ``genxd generate day2/a.png -o out --skip-existing`` share
``out/a``: the second run reported day2's photo as done ("skipped (exists)") with day1's result."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from genxd.cli import app


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
