"""`reconstruct` warns when its mode does not suit the input: a 4D scene (frames at several times) fitted as one
static scene, or a 3D scene (no times) given made-up times and fitted with motion (the 4D creator audit)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.pipeline import reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig
from genxd.validation import GenXDWarning

from .helpers import write_views_folder


def _generated(folder: Path, mode: str, with_times: bool | None = None) -> Path:
    """A tiny ``genxd generate``-style output of ``mode``: 4 frames along x, with ``time`` in 4d / video mode (or
    as ``with_times`` says: a 3d output that followed a camera file with times has them) and the ``mode`` in
    ``meta.json``, as generate writes them."""
    n = 4
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0.0, 0.3, n)
    K = torch.tensor([[1.1, 0.0, 0.5], [0.0, 1.1, 0.5], [0.0, 0.0, 1.0]]).repeat(n, 1, 1)
    images = torch.rand(n, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    times = torch.linspace(0.0, 1.0, n) if (mode != "3d" if with_times is None else with_times) else None
    write_views_folder(folder, images, c2w, K, times=times)
    (folder / "meta.json").write_text(json.dumps({"mode": mode, "motion_strength": 8.0}))
    return folder


def _warnings(folder: Path, out: Path, mode: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reconstruct_scene(folder, out, ReconstructionConfig(mode=mode, iterations=1, init_points=50, strategy="none"),
                          video_frames=0, progress=False, use_lpips=False)
    return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


@pytest.mark.parametrize("generated", ["4d", "video"])
def test_a_4d_scene_reconstructed_in_3d_is_warned_about(tmp_path, generated) -> None:
    """A generated 4D (or video) scene given the default mode 3d was fitted as one static scene without a word."""
    folder = _generated(tmp_path / "scene", generated)
    said = _warnings(folder, tmp_path / "out", "3d")
    assert said == [f"{folder}: its frames were taken at 4 times (a {generated} scene, its meta.json), and "
                    "ReconstructionConfig(mode='3d') fits one static scene to them, blurring what moves; use "
                    "ReconstructionConfig(mode='4d') for Gaussians that move with time"]
    assert _warnings(folder, tmp_path / "out4d", "4d") == []


@pytest.mark.parametrize("with_times", [False, True])
def test_a_3d_scene_reconstructed_in_4d_is_warned_about(tmp_path, with_times) -> None:
    """A generated 3D scene given mode 4d was fitted with motion (its frames without times got them from their
    order), without a word. A 3D output that followed a camera file with times carries them, and is a 3d scene
    still: mode 3d is not warned about there."""
    folder = _generated(tmp_path / "scene", "3d", with_times)
    said = _warnings(folder, tmp_path / "out", "4d")
    made_up = "" if with_times else " (its frames have no times: frame i of N gets i / (N - 1))"
    assert said == [f"{folder}: a 3d scene (its meta.json), in which nothing moves, and "
                    f"ReconstructionConfig(mode='4d') fits motion to it{made_up}; use ReconstructionConfig(mode='3d')"]
    assert _warnings(folder, tmp_path / "out3d", "3d") == []


def test_a_transforms_file_given_as_input_is_judged_by_its_folders_meta_json(tmp_path) -> None:
    """reconstruct OUT/scene/transforms.json (a file input, accepted) read no meta.json: a 3d output with times in
    mode 3d was warned about as moving, and the same without times in mode 4d said nothing (found by review)."""
    with_times = _generated(tmp_path / "with_times", "3d", with_times=True) / "transforms.json"
    assert _warnings(with_times, tmp_path / "out3d", "3d") == []
    plain = _generated(tmp_path / "plain", "3d") / "transforms.json"
    assert _warnings(plain, tmp_path / "out4d", "4d") == [
        f"{plain}: a 3d scene (its meta.json), in which nothing moves, and ReconstructionConfig(mode='4d') fits "
        "motion to it (its frames have no times: frame i of N gets i / (N - 1)); use ReconstructionConfig(mode='3d')"]


def test_times_without_a_generate_record_are_judged_by_the_times(tmp_path) -> None:
    """A folder of frames at several times that genxd did not generate (no meta.json) given mode 3d is warned
    about; one without times given mode 4d is a clip in order (documented), and is not."""
    moving = _generated(tmp_path / "moving", "4d")
    (moving / "meta.json").unlink()
    assert _warnings(moving, tmp_path / "out", "3d") == [
        f"{moving}: its frames were taken at 4 times, and ReconstructionConfig(mode='3d') fits one static scene to "
        "them, blurring what moves; use ReconstructionConfig(mode='4d') for Gaussians that move with time"]
    clip = _generated(tmp_path / "clip", "3d")
    (clip / "meta.json").unlink()
    assert _warnings(clip, tmp_path / "out4d", "4d") == []


def test_the_command_line_names_the_mode_option(tmp_path) -> None:
    """On the command line the warning is one line naming --mode."""
    folder = _generated(tmp_path / "scene", "4d")
    result = CliRunner().invoke(app, ["reconstruct", str(folder), "-o", str(tmp_path / "out"), "--iterations", "1",
                                      "--init-points", "50", "--strategy", "none", "--video-frames", "0",
                                      "--no-lpips"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "fits one static scene" in line]
    assert lines == [f"genxd: warning: {folder}: its frames were taken at 4 times (a 4d scene, its meta.json), and "
                     "--mode 3d fits one static scene to them, blurring what moves; use --mode 4d for Gaussians "
                     "that move with time"]


def test_4d_only_options_in_3d_mode_are_refused(tmp_path, no_training) -> None:
    """--per-time-ply and --temporal-opacity without --mode 4d (their help: "4D: ...") gave a 3D scene with no
    ply/ folder and no time windows, without a word. Each is now refused before any training, naming --mode 4d."""
    folder = _generated(tmp_path / "scene", "4d")
    with pytest.raises(ValueError, match=r"^per_time_ply applies to ReconstructionConfig\(mode='4d'\) only \(a 3d "
                                         r"reconstruction is one static scene, with no times\)$"):
        reconstruct_scene(folder, tmp_path / "out", ReconstructionConfig(iterations=1), per_time_ply=True,
                          progress=False)
    with pytest.raises(ValueError, match=r"^temporal_opacity applies to ReconstructionConfig\(mode='4d'\) only"):
        ReconstructionConfig(temporal_opacity=True)
    with pytest.raises(TypeError, match=r"^temporal_opacity must be True or False, got 'yes' \(str\)$"):
        ReconstructionConfig(mode="4d", temporal_opacity="yes")
    assert ReconstructionConfig(mode="4d", temporal_opacity=True).temporal_opacity is True
    for option in ("--per-time-ply", "--temporal-opacity"):
        result = CliRunner().invoke(app, ["reconstruct", str(folder), "-o", str(tmp_path / "out"), option])
        assert result.exit_code == 2
        assert result.output.strip().splitlines()[-1] == (
            f"genxd: error: {option} applies to --mode 4d only (a 3d reconstruction is one static scene, with no "
            "times)")
    assert not (tmp_path / "out").exists()


def test_a_4d_clip_without_times_gets_frame_i_of_n_at_i_over_n_minus_1(tmp_path) -> None:
    """Frames without time stamps fitted in mode 4d are a clip in order: frame i of N at time i / (N - 1), the
    first at 0 and the last at 1 (docs/reconstruction.md; the made-up-times warning says the same). Found by
    mutation testing: arange(n) / n (the last frame at (N - 1) / N) passed every reconstruction test."""
    folder = _generated(tmp_path / "scene", "3d", with_times=False)
    out = tmp_path / "out"
    _warnings(folder, out, "4d")
    times = json.loads((out / "cameras.json").read_text())["times"]
    assert times == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0], abs=1e-7)


@pytest.mark.parametrize("bad", ["extra_views", "masks"])
def test_a_bad_input_gives_its_error_alone_without_the_mode_warning(tmp_path, no_training, bad) -> None:
    """The mode warning came before the checks of --extra-views and --masks: a missing folder was two lines, the
    warning about a reconstruction that never ran, then the error."""
    folder = _generated(tmp_path / "scene", "4d")
    extra = (["--extra-views", str(tmp_path / "nowhere")] if bad == "extra_views"
             else ["--masks", str(tmp_path / "nowhere"), "--holdout-every", "2"])
    result = CliRunner().invoke(app, ["reconstruct", str(folder), "-o", str(tmp_path / "out"), "--iterations", "1",
                                      "--video-frames", "0", "--no-lpips", *extra])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genxd: error:") and "nowhere" in lines[0], result.output
