"""``genxd generate --fps``: the frame rate of video.mp4 / compare.mp4, as ``genxd.generate(fps=...)`` sets it
(before, the command had no way to set it: every clip played at frames / 2)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import PIL.Image
import pytest
from typer.testing import CliRunner

from genxd.api import default_model_path
from genxd.cli import app

av = pytest.importorskip("av")  # a core dependency; a partial environment (the GPU machine's) skips

runner = CliRunner()


def _rate(path) -> Fraction:
    with av.open(str(path)) as clip:
        return Fraction(clip.streams.video[0].average_rate)


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_generate_fps_sets_the_frame_rate_of_both_videos(tmp_path):
    image = tmp_path / "scene.png"
    PIL.Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(image)
    res = runner.invoke(app, ["generate", str(image), "-o", str(tmp_path / "out"), "--fps", "7.5", "--steps", "1",
                              "--guidance", "1", "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    for name in ("video.mp4", "compare.mp4"):
        assert _rate(tmp_path / "out" / "scene" / name) == Fraction(15, 2)


@pytest.mark.parametrize("value", ["0", "2000", "nan"])
def test_generate_fps_out_of_range_exits_2_before_any_work(tmp_path, value):
    res = runner.invoke(app, ["generate", str(tmp_path / "missing.png"), "-o", str(tmp_path / "out"), "--fps", value])
    assert res.exit_code == 2, res.output
    assert f"--fps must be a finite number in [0.01, 1000], got {value}" in res.output
    assert not (tmp_path / "out").exists()
