"""genxd.cameras.video_sfm: SfM of a clip with the KLT window suited to its motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genxd.cameras.accuracy import compare_paths
from genxd.cameras.video_sfm import (
    KLT_WINDOW,
    KLT_WINDOW_TURNING,
    TURNING_DEG_PER_FRAME,
    rebundle_without_turning,
    retrack_if_turning,
    run_video_sfm,
    turn_per_frame_deg,
)


def test_turn_per_frame_ignores_jitter_and_unregistered_frames():
    from scipy.spatial.transform import Rotation

    from genxd.data.synthetic import orbit_cameras

    c2w, _ = orbit_cameras(6, 4.0, 0.0, (0, 50))  # level orbit: each camera turns 10 degrees about y
    c2w = c2w.double().numpy()
    assert turn_per_frame_deg(c2w, np.ones(6, bool)) == pytest.approx(10.0, abs=1e-4)
    registered = np.array([True, True, False, True, True, True])
    c2w[2] = np.nan
    assert turn_per_frame_deg(c2w, registered) == pytest.approx(50.0 / 4, abs=1e-4)  # 50 degrees over 4 steps
    assert turn_per_frame_deg(c2w, np.eye(6, dtype=bool)[0]) == 0.0
    still = np.repeat(np.eye(4)[None], 9, 0)  # a camera that does not turn, reconstructed with +-1 degree jitter
    still[:, :3, :3] = Rotation.from_euler("y", np.array([0, 1, -1] * 3)[:, None], degrees=True).as_matrix()
    assert turn_per_frame_deg(still, np.ones(9, bool)) == pytest.approx(1.0 / 8, abs=1e-6)


def _frames(tmp_path, camera: str, seed: int, num_frames: int = 12, size: int = 160) -> tuple[list[str], torch.Tensor]:
    from genxd.data.synthetic import make_clip

    torch.set_num_threads(1)
    clip = make_clip(seed, "3d", num_frames, size, size, camera=camera)
    frames = (clip.images.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    (tmp_path / "images").mkdir()
    names = []
    for i, frame in enumerate(frames):
        names.append(f"{i:03d}.png")
        Image.fromarray(frame).save(tmp_path / "images" / names[-1])
    return names, clip.c2w.double()


@pytest.mark.parametrize("camera, seed, turning", [("orbit", 2105, True), ("dolly", 2103, False)])
def test_the_small_window_is_tried_only_for_a_turning_camera(tmp_path, camera, seed, turning):
    names, truth = _frames(tmp_path, camera, seed)
    first = run_video_sfm(tmp_path / "images", names, tmp_path / "sfm", None, 1.0, "klt", num_threads=1)
    assert first.klt_window == KLT_WINDOW and len(first.tried) == 1 and first.mapper == "global"
    sfm = retrack_if_turning(first, tmp_path / "images", names, tmp_path / "sfm2", None, 1.0, num_threads=1)
    assert sfm.registered.all()
    windows = [w for _, w, *_ in sfm.tried]
    assert windows == ([KLT_WINDOW, KLT_WINDOW_TURNING] if turning else [KLT_WINDOW])
    assert (sfm.tried[0][4] >= TURNING_DEG_PER_FRAME) == turning
    assert sfm.klt_window == windows[-1] and sfm.tried[-1][5]  # the small window agreed: kept
    e = compare_paths(sfm.c2w, truth)
    # measured: orbit (12 frames over 72 degrees, 160 px) 0.44 degrees mean with the small window (0.73 with
    # the large one), dolly 0.49 (12 frames, only the large window); the bounds leave room for other CPUs
    assert e.mean_rot_err_deg < (0.75 if turning else 1.5), e
    with pytest.raises(ValueError, match="features"):
        run_video_sfm(tmp_path / "images", names, tmp_path / "x", None, 1.0, "orb")
    with pytest.raises(ValueError, match="mapper"):
        run_video_sfm(tmp_path / "images", names, tmp_path / "x", None, 1.0, "klt", mapper="auto")


def _fake(c2w: np.ndarray, window: float | None = KLT_WINDOW):
    from types import SimpleNamespace

    n = len(c2w)
    return SimpleNamespace(c2w=c2w, registered=np.ones(n, bool), num_registered=n, features="klt", klt_window=window,
                           mean_reprojection_error=0.5, timings={"sfm_map": 1.0},
                           tried=[("klt", window, n, 0.5, 0.0, True)])


@pytest.mark.parametrize("other_turn, kept", [(63.0, True), (20.0, False)])
def test_the_small_window_is_kept_only_when_it_sees_the_same_turn(monkeypatch, other_turn, kept):
    from genxd.cameras import video_sfm
    from genxd.data.synthetic import orbit_cameras

    first = _fake(orbit_cameras(8, 4.0, 0.0, (0, 70))[0].double().numpy())  # 10 degrees per frame
    other = _fake(orbit_cameras(8, 4.0, 0.0, (0, other_turn))[0].double().numpy(), KLT_WINDOW_TURNING)
    monkeypatch.setattr(video_sfm, "klt_sfm", lambda *a, **k: other)
    got = retrack_if_turning(first, None, [], Path("unused"), None, 1.0)
    # mean turn of the first: 35 degrees; 63 vs 70 degrees differ by 3.5 on average (10 % < AGREEMENT),
    # 20 vs 70 by 25 (71 %): a wrong reconstruction
    assert (got is other) == kept and got.tried[-1][5] == kept and got.tried[0][5] == (not kept)
    assert got.timings["sfm_map"] == 2.0  # both runs counted
    assert retrack_if_turning(_fake(np.repeat(np.eye(4)[None], 8, 0)), None, [], None, None, 1.0).tried[-1][1] == KLT_WINDOW


def test_a_turning_camera_keeps_sfm_cameras_after_the_no_turn_start(tmp_path):
    """:func:`rebundle_without_turning` bundle-adjusts SfM's tracks again from cameras that do not turn, and keeps that
    only when it fits clearly better (:data:`genxd.cameras.video_sfm.NO_TURN_GAIN`): an orbit fits worse from there."""
    names, truth = _frames(tmp_path, "orbit", 2105)
    sfm = rebundle_without_turning(run_video_sfm(tmp_path / "images", names, tmp_path / "sfm", None, 1.0, "klt",
                                                 num_threads=1))
    assert "no-turn start" in sfm.tried[-1][0] and not sfm.tried[-1][5] and sfm.tried[0][5], sfm.tried
    assert compare_paths(sfm.c2w, truth).mean_rot_err_deg < 1.5  # measured 0.73, as without the no-turn start


def test_from_video_recovers_a_dolly_that_sfm_alone_turns(tmp_path):
    """On a pure dolly move SfM settles on a camera that turns about 1.2 degrees a frame while it moves forward (a
    local minimum); from-video bundle-adjusts the tracks again from cameras that do not turn and keeps the better
    fit. Measured (AMD EPYC, the benchmark's dolly clip 3 at 256 px, 24 frames, H.264): 17.2 degrees mean
    rotation error before, 1.09 now (docs/benchmarks.md, "At 512 px")."""
    from genxd.cameras.from_video import recover_clip_cameras
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    torch.set_num_threads(1)
    clip = make_clip(2103, "3d", 24, 256, 256, camera="dolly")
    video = write_video(tmp_path / "dolly.mp4", clip.images, fps=8.0, quality=9)
    cams = recover_clip_cameras(video, focal=1.0, num_threads=1, seed=0)
    e = compare_paths(cams.c2w, clip.c2w.double()[cams.frame_indices])
    assert e.mean_rot_err_deg < 3.0, (e, cams.report.get("sfm_tried"))


def _eval_camera_256(tmp_path, seed: int, kind: str, camera: str) -> tuple[dict, list]:
    """eval-camera on a ground-truth render of a benchmark scene (256 px, 16 frames): (result, ``sfm_tried``)."""
    from genxd.cameras.evaluate import evaluate_scene
    from genxd.data.synthetic import make_clip
    from genxd.evaluation import _camera_scene

    torch.set_num_threads(1)
    clip = make_clip(seed, kind, 16, 256, 256, camera=camera)
    scene = _camera_scene(tmp_path / camera, clip.images.cpu(), clip.c2w.double(), clip.K)
    result = evaluate_scene(scene, num_threads=1)
    return result, result["sfm"]["sfm_tried"]


def test_a_fast_orbit_keeps_sfm_cameras_when_the_no_turn_fit_drops_most_points(tmp_path):
    """Bundle adjustment from the no-turn start drops the points it cannot fit; on a fast orbit (178 degrees in 16
    frames, eval-camera's benchmark scene 0 at 256 px) it kept 40 of 194 points, whose median error was lower than
    SfM's over all of them, and the no-turn fit was chosen: 59 degrees mean rotation error. The fits are now
    compared over the observations both keep, and the no-turn fit must keep :data:`NO_TURN_MIN_KEPT` of them.
    Measured (AMD EPYC): 2.9 degrees (RotErr 47.2 over 16 frames), as without the no-turn start."""
    from genxd.cameras.video_sfm import NO_TURN_MIN_KEPT

    result, tried = _eval_camera_256(tmp_path, 2100, "3d", "orbit")
    no_turn = [t for t in tried if "no-turn start" in t[0]]
    assert no_turn and not no_turn[0][5], tried
    kept = float(no_turn[0][0].split("over the ")[1].split("%")[0]) / 100
    assert kept < NO_TURN_MIN_KEPT, tried  # measured 18 %
    assert result["errors"]["mean_rot_err_deg"] < 6.0, (result["errors"]["mean_rot_err_deg"], tried)


def test_a_forward_walk_takes_the_no_turn_fit_when_it_fits_as_well_and_turns_less(tmp_path):
    """The forward-motion ambiguity: SfM's cameras turn 1.2 degrees a frame on a forward walk past moving objects
    (eval-camera's benchmark scene 6, 256 px, 16 frames) and the no-turn fit, 0.24, fits the same tracks a little
    better (median 0.43 against 0.53 px: not the :data:`NO_TURN_GAIN` margin). Two fits about as good, one turning
    while it moves forward and one not: the one that turns less than :data:`NO_TURN_TURN_RATIO` of the other is
    taken. Measured (AMD EPYC): mean rotation error 3.79 -> 0.55 degrees (RotErr 60.6 -> 8.8)."""
    result, tried = _eval_camera_256(tmp_path, 2106, "4d", "forward")
    no_turn = [t for t in tried if "no-turn start" in t[0]]
    assert no_turn and no_turn[0][5], tried
    assert result["errors"]["mean_rot_err_deg"] < 1.5, (result["errors"]["mean_rot_err_deg"], tried)


def test_path_angle_to_view():
    from genxd.cameras.video_sfm import path_angle_to_view_deg

    c2w = np.repeat(np.eye(4)[None], 5, 0)
    c2w[:, 2, 3] = np.arange(5)  # straight ahead along +z (the view axis)
    assert path_angle_to_view_deg(c2w, np.ones(5, bool)) == pytest.approx(0.0, abs=1e-6)
    c2w[:, 0, 3] = np.arange(5)  # 45 degrees to the right
    assert path_angle_to_view_deg(c2w, np.ones(5, bool)) == pytest.approx(45.0)
    c2w[:, 2, 3] = 0.0  # sideways
    assert path_angle_to_view_deg(c2w, np.ones(5, bool)) == pytest.approx(90.0)
    assert path_angle_to_view_deg(np.repeat(np.eye(4)[None], 5, 0), np.ones(5, bool)) == 90.0  # not moving
    assert path_angle_to_view_deg(c2w, np.eye(5, dtype=bool)[0]) == 90.0  # one registered camera


@pytest.mark.parametrize("seed, kind, camera, taken", [(2103, "3d", "dolly", True), (2101, "3d", "forward", False)])
def test_a_dolly_is_fitted_without_turning_and_a_turning_walk_is_not(tmp_path, seed, kind, camera, taken):
    """eval-camera's benchmark dolly scene 3 (256 px, 16 frames): bundle adjustment, even from the no-turn start,
    leaves the camera turning 0.39 degrees a frame (3.5 degrees mean error, RotErr 55.6); the fit in which no camera
    turns explains the tracks better (median 0.30 against 0.44 px) and is exact. The forward walk of scene 1 turns
    0.3 degrees a frame, and without turning fits worse (0.61 against 0.54 px): not taken. Measured (AMD EPYC)."""
    result, tried = _eval_camera_256(tmp_path, seed, kind, camera)
    fixed = [t for t in tried if "no turn at all" in t[0]]
    assert fixed and fixed[0][5] == taken, tried
    # measured: dolly 0.00 degrees mean error (3.5 before), forward walk 0.28 (as before)
    assert result["errors"]["mean_rot_err_deg"] < (0.5 if taken else 1.0), (result["errors"], tried)
