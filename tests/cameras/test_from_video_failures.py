"""``genxd trajectory from-video`` on a clip SfM cannot solve: one ``genxd: error:`` line, nothing written.

Before: a clip of noise (each frame independent) gave SfM 43 points seen by 5 a frame, tracks 3 frames long, and
from-video wrote a path turning 214 degrees and 3x the scene depth long with only the focal-length warning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genxd.cli import app


@pytest.mark.slow  # SfM on 12 frames (upscaled to 256 px): about 10 s on one core
def test_a_clip_of_noise_is_refused_naming_why(tmp_path: Path):
    frames = tmp_path / "noise"
    frames.mkdir()
    rng = np.random.default_rng(0)
    # 8 frames, not 12: the same first 8 frames fail SfM the same way, in the same words ("its 6 frames see 7 points
    # each (median, of 13 ...)", every frame used), for 2.9 s of CPU instead of 4.6 (SIFT and KLT on every frame)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(frames / f"{i:03d}.png")
    out = tmp_path / "path.json"
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(frames), "-o", str(out), "-n", "4", "--source", "sfm",
                                   "--clip-focal", "1.0", "--no-mask", "-q"])
    assert res.exit_code != 0, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert len(errors) == 1 and "too few to place a camera" in errors[0], res.stderr
    assert "may work" in errors[0]  # what to try
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise"]  # nothing written


@pytest.mark.parametrize("settings, more_frames, smaller_stride", [
    (["--max-frames", "48"], False, False), (["--max-frames", "6"], True, False),
    # all 12 read with exactly 12 allowed; every 2nd to the end: --max-frames cannot read more (advised before)
    (["--max-frames", "12"], False, False), (["--stride", "2"], False, True),
    (["--stride", "2", "--max-frames", "4"], True, False)])  # frames 0-6: more frames would read on
def test_a_blank_clip_is_refused_advising_more_frames_only_where_there_are_more(tmp_path: Path, settings: list[str],
                                                                                 more_frames: bool,
                                                                                 smaller_stride: bool):
    """A blank 12-frame clip, all of it read (--max-frames 48): the error advised more frames (--max-frames)."""
    frames = tmp_path / "blank"
    frames.mkdir()
    for i in range(12):
        Image.new("RGB", (64, 64), (128, 128, 128)).save(frames / f"{i:03d}.png")
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(frames), "-o", str(tmp_path / "path.json"),
                                   "--source", "sfm", "--clip-focal", "1.0", "--no-mask", *settings, "-q"])
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert res.exit_code != 0 and len(errors) == 1, res.stderr
    assert ("--max-frames" in errors[0]) is more_frames, errors[0]
    assert ("a smaller --stride than 2" in errors[0]) is smaller_stride, errors[0]
    assert "a clip with more camera movement or texture" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank"]
