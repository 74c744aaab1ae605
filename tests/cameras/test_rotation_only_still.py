"""Which frames of a clip repeat an earlier one, and when the whole clip is a still camera
(:func:`genxd.cameras.rotation_only.repeated_frames`, :func:`genxd.cameras.rotation_only.rotation_only_cameras`).

Before: both went by the MEDIAN tracked motion, and the still-clip test by the motion between consecutive frames. A
sideways truck over a far background (most points barely move, the near ones 4 px a frame) had 24 of its 30 frames
taken for repeats (a staircase path, a false 'stands still' warning) and was called a still camera; so was a slow pan
of 0.25 px a frame (9.75 px in all)."""

from __future__ import annotations

import cv2
import numpy as np

from genxd.cameras.rotation_only import rotation_only_cameras


def _texture(seed: int, h: int, w: int, blur: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (0, 0), blur)


def _shift(image: np.ndarray, dx: float, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(image, np.float32([[1, 0, -dx], [0, 1, 0]]), size, flags=cv2.INTER_CUBIC)


def _truck(n: int = 30) -> np.ndarray:
    """A sideways truck: the far layer moves 0.06 px a frame, the near one (the lower 35 %) 4 px."""
    far, near = _texture(1, 400, 900, 2), _texture(2, 200, 1600, 3)
    frames = []
    for i in range(n):
        f = _shift(far, 0.06 * i, (900, 400))[:256, :384].copy()
        f[166:] = _shift(near, 4 * i, (1600, 200))[:90, :384]
        frames.append(f)
    return np.stack(frames)


def _run(frames: np.ndarray) -> dict:
    return rotation_only_cameras(frames, np.ones(frames.shape[:3], bool), 1.0)


def test_a_truck_over_a_far_background_repeats_no_frame():
    got = _run(_truck())
    assert got["repeats"] == list(range(30)), got["repeats"]  # before: [0, 0, 0, 0, 0, 5, 5, ...]
    assert got.get("method") != "static", got  # before: 'static'


def test_a_slow_pan_is_not_a_still_camera():
    base = _texture(0, 400, 600, 2)
    frames = np.stack([_shift(base, 0.25 * i, (600, 400))[50:306, 50:306] for i in range(40)])
    got = _run(frames)
    assert got.get("method") != "static", got  # before: 'static', 0.29 px between frames, 9.75 px in all
    assert got["repeats"] == list(range(40)), got["repeats"]  # before: [0, 1, 1, 3, 4, 5, 5, ...] (within 0.3 px)


def test_a_tripod_clip_with_noise_is_still_and_a_pause_is_found():
    """A still camera whose frames differ by sensor noise stays 'static'; a clip that stops repeats its stop."""
    rng = np.random.default_rng(3)
    base = _texture(4, 400, 600, 2)[:256, :256].astype(np.float64)
    noisy = [np.clip(base + rng.normal(0, 2.0, base.shape), 0, 255).astype(np.uint8) for _ in range(8)]
    got = _run(np.stack(noisy))
    assert got["method"] == "static" and got["repeats"] == [0] * 8, got
    assert got["report"]["track_motion_px"] < 0.3
    moving = _texture(5, 400, 900, 2)
    order = [0, 1, 2, 3, 3, 3, 3, 4, 5, 6]  # 3 px a frame, standing still at frame 3 for 3 more frames
    got = _run(np.stack([_shift(moving, 3.0 * k, (900, 400))[:256, :256] for k in order]))
    assert got["repeats"] == [0, 1, 2, 3, 3, 3, 3, 7, 8, 9], got["repeats"]


def _with_subject(frames: np.ndarray, speed: float = 3.0) -> np.ndarray:
    """``frames`` with a textured box (64 x 224 px, a fifth of the frame) sliding ``speed`` px a frame across."""
    box = _texture(8, 224, 64, 2)
    out = frames.copy()
    for i, f in enumerate(out):
        x = int(10 + speed * i)
        f[16:240, x:x + 64] = box
    return out


def test_a_still_camera_filming_a_moving_subject_is_still():
    """Before: the 90th percentile took the subject's tracks (3 px a frame): the still camera was no 'static' one
    ('the points between frames ... do not move as for a turning camera', then SfM: a 3.5 degree turn invented)."""
    still = np.repeat(_texture(7, 256, 256, 2)[None], 16, 0)
    got = _run(_with_subject(still))
    assert got.get("method") == "static", got
    assert got["repeats"] == [0] * 16 and got["report"]["track_drift_px"] < 0.3, got


def test_a_tripod_clip_with_mild_noise_over_many_frames_is_still():
    """Before: KLT's chained drift from frame 0 over 24 frames of sensor noise (sigma 1, a soft texture) took the
    90th percentile past 0.3 px: 'rotation-only', nothing said still."""
    rng = np.random.default_rng(3)
    base = _texture(4, 400, 600, 4)[:256, :256].astype(np.float64)
    noisy = np.stack([np.clip(base + rng.normal(0, 1.0, base.shape), 0, 255).astype(np.uint8) for _ in range(24)])
    got = _run(noisy)
    assert got.get("method") == "static" and got["repeats"] == [0] * 24, got


def test_a_stop_is_found_while_a_subject_moves():
    """A camera panning 3 px a frame stops for 3 frames while a subject slides on: before, the subject's tracks
    (the 90th percentile) hid the stop and SfM got frames without a baseline."""
    moving = _texture(5, 400, 900, 2)
    order = [0, 1, 2, 3, 3, 3, 3, 4, 5, 6]
    frames = _with_subject(np.stack([_shift(moving, 3.0 * k, (900, 400))[:256, :256] for k in order]))
    got = _run(frames)
    assert got["repeats"] == [0, 1, 2, 3, 3, 3, 3, 7, 8, 9], got["repeats"]


def test_a_long_tripod_clip_with_noise_is_still():
    """Before: the drift was each point's motion from frame 0, which KLT's drift grows with the clip's length: 200
    frames of sensor noise (sigma 2, a soft texture) took it to 1.5 px, 'rotation-only' (a turn invented)."""
    rng = np.random.default_rng(3)
    base = _texture(4, 400, 600, 4)[:128, :192].astype(np.float64)
    noisy = np.stack([np.clip(base + rng.normal(0, 2.0, base.shape), 0, 255).astype(np.uint8) for _ in range(200)])
    got = _run(noisy)
    assert got.get("method") == "static", got
    assert got["report"]["track_drift_px"] < 0.7, got["report"]


def test_a_still_camera_filming_a_moving_subject_over_24_frames_is_still():
    """Before: as the background's tracks were lost, the points shared with frame 0 became mostly the subject's
    (4.2 px from frame 0 at 24 frames): not still, then 'do not move as for a turning camera'."""
    still = np.repeat(_texture(7, 256, 256, 2)[None], 24, 0)
    got = _run(_with_subject(still))
    assert got.get("method") == "static", got
    assert got["repeats"] == [0] * 24 and got["report"]["track_drift_px"] < 0.3, got


def _zoom_roll(n: int, zoom: float, roll_deg: float) -> np.ndarray:
    """A camera zooming ``zoom`` (relative) and rolling ``roll_deg`` about the centre each frame."""
    base = _texture(9, 400, 400, 2)
    return np.stack([cv2.warpAffine(base, cv2.getRotationMatrix2D((200, 200), roll_deg * i, 1 + zoom * i), (400, 400),
                                    flags=cv2.INTER_CUBIC)[72:328, 72:328] for i in range(n)])


def test_a_slow_zoom_or_roll_is_not_a_still_camera():
    """A zoom or a roll about the centre moves the median point by about 0 (the median vector): the chained change
    of scale and angle keeps them from being called still (2.9 and 2.5 px over 30 frames)."""
    for frames in (_zoom_roll(30, 0.001, 0.0), _zoom_roll(30, 0.0, 0.05)):
        got = _run(frames)
        assert got.get("method") != "static", got.get("report")
