"""genxd trajectory fit's pose files. One larger than genxd reads back (``genxd.utils.json_files.MAX_JSON_BYTES``, what
``genxd fewshot --strategy grouped`` loads) is refused before any file is written. Before, ``--num-points 200000``
wrote 89 MiB that the grouped loader then refused ("a JSON file of 89 MiB; at most 64 MiB are read"), as
``trajectory make`` did until 2026-12-07. The limit is lowered here so that the files stay small. A pose file's
name taken by a folder is named as one, with or without --overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import look_at
from genxd.cameras.formats import load_w2c_list_json
from genxd.cameras.fit import fit_reconfusion
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene
from genxd.utils import json_files

LIMIT = 40_000  # bytes: about 85 poses of the 3x4 list


def make_scene(root: Path, key: str, n: int = 12) -> None:
    """A small forward-moving scene of ``n`` views with a 9-view split."""
    t = torch.linspace(0, 1, n, dtype=torch.float64)
    eyes = torch.stack([torch.sin(2 * t), 0.05 * t, 2 * t], dim=-1)
    c2w = look_at(eyes, eyes + torch.tensor([0.2, 0.0, 1.0], dtype=torch.float64))
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    write_reconfusion_scene(root, key, torch.rand(n, 3, 8, 8), c2w, K, {9: (list(range(9)), [9, 10])})


@pytest.fixture
def low_limit(monkeypatch) -> int:
    monkeypatch.setattr(json_files, "MAX_JSON_BYTES", LIMIT)
    return LIMIT


def test_a_pose_file_over_the_read_limit_is_refused_before_any_is_written(tmp_path: Path, low_limit: int):
    root = tmp_path / "re10k"
    make_scene(root, "a")
    make_scene(root, "b")
    out = tmp_path / "poses"
    with pytest.raises(ValueError, match=r"scene a of .*: 1000 poses make a pose file of .* MiB, over the .* MiB "
                                         r"genxd reads back \(the grouped few-shot strategy's pose_dir\)"):
        fit_reconfusion(root, out, num_points=500, shift_x=[0.2], progress=False)
    assert not out.exists() or not any(out.rglob("*.json"))
    written = fit_reconfusion(root, out, num_points=20, shift_x=[0.2], progress=False)  # 40 poses: under it
    assert load_w2c_list_json(written["b"]).shape == (40, 4, 4)  # read back by the loader the limit is for


def test_the_command_line_names_its_options(tmp_path: Path, low_limit: int):
    root = tmp_path / "co3d"
    make_scene(root, "s0")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(out), "-n", "300",
                                      "--save-format", "18", "-q"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "300 poses make a pose file of" in result.output and "give fewer --num-points" in result.output
    assert "genxd fewshot --strategy grouped --pose-dir" in result.output, result.output
    assert not any(out.rglob("*.json"))


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_pose_file_name_taken_by_a_folder_is_named_as_one(tmp_path: Path, overwrite: bool):
    """It said '1 pose file(s) already exist, e.g. .../gen_poses_w2c.json (use --overwrite to replace them)', and
    --overwrite then failed on 'is a folder; cannot replace it with a file'."""
    root = tmp_path / "re10k"
    make_scene(root, "a")
    folder = tmp_path / "poses" / "re10k" / "a" / "gen_poses_w2c.json"
    folder.mkdir(parents=True)
    result = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(tmp_path / "poses"), "-q",
                                      *(["--overwrite"] if overwrite else [])])
    assert result.exit_code == 2 and result.stderr.count("genxd: error") == 1, result.output
    assert f"{folder} is a folder" in result.stderr and "--overwrite" not in result.stderr, result.stderr
    assert folder.is_dir() and not any(folder.iterdir())


def test_the_written_line_escapes_control_characters_of_the_output_folder(tmp_path: Path):
    """``wrote N pose file(s) under OUT/re10k`` printed OUT raw: a folder name holding ESC [ 3 1 m reached the
    terminal as a colour change, a newline split the line (``trajectory make``'s line was escaped the same way)."""
    root = tmp_path / "re10k"
    make_scene(root, "a")
    out = tmp_path / "poses\x1b[31m\nred"
    result = CliRunner().invoke(app, ["trajectory", "fit", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("wrote ")]
    assert "\\x1b[31m\\nred" in line and "\x1b" not in result.stdout, line
