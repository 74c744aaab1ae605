"""The data line of ``genxd train`` says which scenes were skipped as too short for a clip (they vanished silently),
and a global batch larger than the data is warned about once (each step repeats items)."""

from __future__ import annotations

from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.synthetic import make_clip, write_clip

from .conftest import QUIET, TINY


def test_short_scenes_and_a_batch_larger_than_the_data_are_said(tmp_path):
    root = tmp_path / "camvid"
    write_clip(make_clip(11, "3d", 8, 32, 32), root, "long0", "camvid", num_points=500)
    write_clip(make_clip(12, "3d", 8, 32, 32), root, "long1", "camvid", num_points=500)
    write_clip(make_clip(13, "3d", 3, 32, 32), root, "short", "camvid", num_points=500)
    result = CliRunner().invoke(app, [
        "train", str(TINY), f"output_dir={tmp_path / 'run'}", *QUIET, "training.max_steps=1", "training.batch_size=3",
        "data.num_frames=8", f"data.datasets=[{{type: camvid, root: '{root}'}}]", "--cpu"])
    assert result.exit_code == 0, result.output
    assert "data: 2 items (1 scene skipped: fewer than 8 frames); global batch 3" in result.output, result.output
    warnings = [line for line in result.output.splitlines() if "larger than the data" in line]
    assert warnings == ["genxd train: warning: the global batch of 3 is larger than the data (2 items): every step "
                        "repeats items"], result.output
