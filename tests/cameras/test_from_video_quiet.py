"""``genxd trajectory from-video -q`` prints only errors and the files written, as ``--quiet`` says everywhere
("no progress bars, notes or warnings"). Before, the path's warnings were printed with -q too (the command ran its
body without the quiet setting, and echoed the report's warnings whatever it was)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.synthetic import make_clip


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_leaves_out_the_warnings(tmp_path: Path, quiet: bool):
    torch.set_num_threads(1)
    clip = make_clip(0, "3d", 1, 96, 96, camera="static")
    rgb = (clip.images.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    frames = tmp_path / "tripod"
    frames.mkdir()
    for i in range(6):  # a still camera: a warning says so
        Image.fromarray(rgb[0]).save(frames / f"{i:03d}.png")
    out = tmp_path / "path.json"
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(frames), "-o", str(out), "-n", "4", "--source",
                                   "sfm", "--clip-focal", "1.0", "--no-mask", *(["-q"] if quiet else [])])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [str(out), str(tmp_path / "path_transforms.json"), str(tmp_path / "path.png")]
    warnings = [line for line in res.stderr.splitlines() if line.startswith("genxd: warning: the camera stands still")]
    assert len(warnings) == (0 if quiet else 1), res.stderr
    if quiet:
        assert res.stderr == "", res.stderr
