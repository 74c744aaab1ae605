"""``--max-frames`` below ``--min-frames``: every video would fail as having too few frames, so it is refused up front;
the command line's refusal named the Python fields ("max_frames (4) is below min_frames (8)"), not its options."""

from __future__ import annotations

import pytest

from genxd.curation import CurationConfig


def test_python_names_the_fields():
    with pytest.raises(ValueError, match=r"^max_frames=4 is below min_frames=8: every video would have too few "
                                         r"frames$"):
        CurationConfig(max_frames=4)


def test_the_command_line_names_its_options(tmp_path):
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "a.mp4").write_bytes(b"x")
    result = CliRunner().invoke(app, ["curate", str(tmp_path / "a.mp4"), "--out", str(tmp_path / "out"),
                                      "--max-frames", "4", "--min-frames", "5"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("genxd: error: --max-frames 4 is below --min-frames 5: every video would have "
                                     "too few frames"), result.stderr
    assert not (tmp_path / "out").exists()


def test_a_fallback_depth_with_a_depth_model_is_refused(tmp_path):
    """``--fallback-depth triangulate --depth-model DIR``: the fallback is depth without a model, so the request was
    dropped without a word (depth came from the model) and recorded as a setting of every video."""
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "depth").mkdir()
    with pytest.raises(ValueError, match=r"^fallback_depth='triangulate' is not used with depth_model"):
        CurationConfig(depth_model=str(tmp_path / "depth"), fallback_depth="triangulate")
    assert CurationConfig(depth_model=str(tmp_path / "depth")).fallback_depth == "sparse"  # the default: fine

    (tmp_path / "a.mp4").write_bytes(b"x")
    result = CliRunner().invoke(app, ["curate", str(tmp_path / "a.mp4"), "--out", str(tmp_path / "out"),
                                      "--depth-model", str(tmp_path / "depth"), "--fallback-depth", "triangulate"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("genxd: error: --fallback-depth triangulate is not used with --depth-model: "
                                     "depth comes from the model (leave one of them out)"), result.stderr
    assert not (tmp_path / "out").exists()


def test_too_few_frames_after_a_stride_names_the_stride(tmp_path):
    """A 20-frame clip curated with ``stride=8`` keeps 3 frames: the reason named only ``min_frames``, as if the clip
    were short, not the stride that thinned it."""
    from PIL import Image

    from genxd.curation import curate_video

    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(20):
        Image.new("RGB", (32, 32), (10 * i, 0, 0)).save(clip / f"{i:04d}.png")
    record = curate_video(clip, tmp_path / "out", CurationConfig(stride=8))
    assert (record["status"], record["stage"]) == ("failed", "frames")
    assert record["reason"] == "too few frames: 3 (one in 8 kept: stride=8), fewer than the minimum 8 (min_frames)"
    record = curate_video(clip, tmp_path / "out", CurationConfig(min_frames=21))  # no stride: as before
    assert record["reason"] == "too few frames: 20, fewer than the minimum 21 (min_frames)"
