"""Fast unit tests of the curation building blocks (no SfM, no rendering)."""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from genxd.curation import (
    CurationConfig,
    VideoReadError,
    absolute_trajectory_error,
    align_depth_median,
    discover_videos,
    epipolar_residual,
    fill_object_depth,
    interpolate_sparse_depth,
    parse_resize,
    read_frames,
    umeyama_alignment,
    verdict,
)
from genxd.curation.dataset import append_index, curate_dataset, latest_records, read_index
from genxd.curation.motion import point_motion, track_points, triangulate_tracks


def _rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


class PinholeCamera:
    """Stand-in for ``pycolmap.Camera`` (cam_from_img / img_from_cam) with pixel centres at +0.5."""

    def __init__(self, f, cx, cy):
        self.f, self.cx, self.cy = f, cx, cy

    def cam_from_img(self, xy):
        return np.stack([(xy[:, 0] - self.cx) / self.f, (xy[:, 1] - self.cy) / self.f], 1)

    def img_from_cam(self, p, check_cheirality=True):
        return np.stack([self.f * p[:, 0] / p[:, 2] + self.cx, self.f * p[:, 1] / p[:, 2] + self.cy], 1)


def _orbit(n=6):
    c2w = np.zeros((n, 4, 4))
    for i in range(n):
        R = _rotation([0, 1, 0], 0.05 * i)
        c2w[i, :3, :3] = R
        c2w[i, :3, 3] = -R @ np.array([0, 0, 5.0])  # looks at the origin from 5 units
        c2w[i, 3, 3] = 1
    return c2w


def _project(points, c2w, cam):
    w2c = np.linalg.inv(c2w)
    p = points @ w2c[:3, :3].T + w2c[:3, 3]
    return cam.img_from_cam(p), p[:, 2]


def test_umeyama_recovers_similarity_and_ate_is_zero():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(20, 3))
    R = _rotation([1, 2, 3], 0.7)
    dst = 2.5 * src @ R.T + np.array([1.0, -2.0, 0.5])
    s, R_est, t = umeyama_alignment(src, dst)
    assert s == pytest.approx(2.5, rel=1e-9)
    assert np.allclose(R_est, R, atol=1e-9) and np.allclose(t, [1.0, -2.0, 0.5], atol=1e-9)
    c2w = _orbit(8)
    moved = c2w.copy()
    moved[:, :3, 3] = 0.3 * c2w[:, :3, 3] @ R.T + 4.0
    moved[:, :3, :3] = R @ c2w[:, :3, :3]
    ate = absolute_trajectory_error(moved, c2w)
    assert ate["relative"] < 1e-9 and ate["scale"] == pytest.approx(1 / 0.3)
    noisy = c2w.copy()
    noisy[:, :3, 3] += rng.normal(scale=0.05, size=(8, 3))
    assert absolute_trajectory_error(noisy, c2w)["relative"] > 1e-3


def test_umeyama_rejects_bad_shapes():
    with pytest.raises(ValueError, match="N, 3"):
        umeyama_alignment(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 3"):
        umeyama_alignment(np.zeros((2, 3)), np.zeros((2, 3)))


def test_point_motion_zero_for_static_and_exact_for_a_moving_point():
    cam = PinholeCamera(100.0, 64.0, 64.0)
    c2w = _orbit(6)
    rng = np.random.default_rng(1)
    points = rng.uniform(-1, 1, size=(10, 3))
    xy = np.zeros((6, 10, 2))
    depth = np.zeros((6, 10))
    for t in range(6):
        xy[t], depth[t] = _project(points, c2w[t], cam)
    valid = np.ones((6, 10), bool)
    mags, owners = point_motion(xy, valid, depth, c2w, cam, 128, 128, frame_gap=2)
    assert len(mags) == 4 * 10 and np.all(mags < 1e-9)
    # Point 0 moves 0.2 px per frame to the right (image space) in every frame after the first.
    xy_moved = xy.copy()
    xy_moved[:, 0, 0] += 0.2 * np.arange(6)
    mags, owners = point_motion(xy_moved, valid, depth, c2w, cam, 128, 128, frame_gap=2)
    moving = mags[owners == 0]
    assert moving[0] == pytest.approx(0.2 / 128, rel=1e-6)  # pair (0, 2): frame 0 is undisplaced
    assert np.allclose(moving, 0.2 / 128, rtol=0.05)  # later pairs back-project a displaced pixel
    assert np.all(mags[owners != 0] < 1e-9)


def test_point_motion_is_in_units_of_the_shorter_side_of_a_wide_video():
    """docs/conventions.md: motion is measured in units of the shorter side, min(W, H). A 160 x 96 video: 0.2 px a
    frame is 0.2 / 96 (the square test above cannot tell the sides apart; the longer one passed it)."""
    cam = PinholeCamera(100.0, 80.0, 48.0)
    c2w = _orbit(4)
    points = np.random.default_rng(4).uniform(-1, 1, size=(5, 3))
    xy = np.zeros((4, 5, 2))
    depth = np.zeros((4, 5))
    for t in range(4):
        xy[t], depth[t] = _project(points, c2w[t], cam)
    xy[:, 0, 0] += 0.2 * np.arange(4)
    mags, owners = point_motion(xy, np.ones((4, 5), bool), depth, c2w, cam, 160, 96, frame_gap=1)
    assert mags[owners == 0][0] == pytest.approx(0.2 / 96, rel=1e-6)  # pair (0, 1): frame 0 is undisplaced


def test_triangulate_tracks_recovers_static_points():
    cam = PinholeCamera(100.0, 64.0, 64.0)
    c2w = _orbit(6)
    points = np.random.default_rng(2).uniform(-1, 1, size=(7, 3))
    xy = np.stack([_project(points, c, cam)[0] for c in c2w])
    valid = np.ones((6, 7), bool)
    valid[0, 3] = False  # a missing observation is fine
    est, ok = triangulate_tracks(xy, valid, c2w, cam)
    assert ok.all() and np.allclose(est, points, atol=1e-6)


def test_klt_tracks_follow_a_translating_texture():
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur((rng.uniform(0, 255, (160, 160))).astype(np.uint8), (5, 5), 1.5)
    frames = [base[10 + 2 * t : 138 + 2 * t, 12:140] for t in range(5)]  # content moves up 2 px/frame
    pts = cv2.goodFeaturesToTrack(frames[2], 50, 0.01, 5).reshape(-1, 2)
    tracks, valid = track_points(frames, 2, pts, window=15)
    assert valid.mean() > 0.8
    for t in range(5):
        d = tracks[t, valid[t]] - pts[valid[t]]
        assert np.allclose(np.median(d, axis=0), [0.0, -2.0 * (t - 2)], atol=0.1)


def test_epipolar_residual_flags_independent_motion():
    h = w = 96
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    depth = 3.0 + 2.0 * (xs / w) + np.sin(ys / 9.0)  # a non-planar static scene
    f, baseline = 80.0, 0.2
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0] = f * baseline / depth  # camera translating along -x: parallax ~ 1 / depth
    flow[..., 1] = 0.3 * f * baseline / depth  # and a little along -y
    flow[30:50, 30:50, 1] += 4.0  # an object moving across the epipolar lines
    residual = epipolar_residual(flow)
    assert np.median(residual[30:50, 30:50]) > 2.0
    outside = np.ones((h, w), bool)
    outside[26:54, 26:54] = False
    assert np.percentile(residual[outside], 95) < 0.3


def test_align_depth_median_recovers_scale_and_shift():
    rng = np.random.default_rng(4)
    z_true = rng.uniform(2.0, 10.0, size=(32, 32)).astype(np.float32)
    xy = np.stack(np.meshgrid(np.arange(32) + 0.5, np.arange(32) + 0.5), -1).reshape(-1, 2)
    z_sparse = z_true.reshape(-1)[:: 7]
    xy_sparse = xy[:: 7]
    # Depth model output proportional to depth (inverse=False): exact.
    aligned, scale, shift = align_depth_median(0.5 * z_true, xy_sparse, z_sparse, inverse=False)
    assert scale == pytest.approx(2.0) and abs(shift) < 1e-5 and np.allclose(aligned, z_true, rtol=1e-5)
    # With an offset the median rule is approximate but centred: medians agree at the SfM points.
    aligned, scale, shift = align_depth_median(0.5 * z_true + 1.0, xy_sparse, z_sparse, inverse=False)
    assert np.median(aligned.reshape(-1)[::7]) == pytest.approx(np.median(z_sparse), rel=1e-3)
    # ... or a disparity-like output (inverse=True): exact when it is proportional to 1 / z.
    aligned, scale, shift = align_depth_median(3.0 / z_true, xy_sparse, z_sparse, inverse=True)
    assert np.allclose(aligned, z_true, rtol=1e-3)


def test_interpolate_sparse_depth_and_object_fill():
    xy = np.array([[0.5, 0.5], [31.5, 0.5], [0.5, 31.5], [31.5, 31.5], [16.0, 16.0]])
    z = np.array([4.0, 4.0, 4.0, 4.0, 4.0])
    dense = interpolate_sparse_depth(xy, z, 32, 32)
    assert dense.shape == (32, 32) and np.allclose(dense, 4.0, atol=1e-4)
    # inside the samples' hull: linear in inverse depth; outside it: the nearest sample; collinear samples: nearest
    inner = np.array([[8.5, 8.5], [24.5, 8.5], [8.5, 24.5], [24.5, 24.5]])
    dense = interpolate_sparse_depth(inner, np.array([1.0, 2.0, 1.0, 2.0]), 32, 32)
    assert dense[16, 8] == pytest.approx(1.0) and dense[16, 24] == pytest.approx(2.0)
    assert dense[16, 16] == pytest.approx(1.0 / (0.5 * (1.0 + 0.5)), rel=1e-5)  # halfway in 1/z
    assert dense[0, 0] == pytest.approx(1.0) and dense[31, 31] == pytest.approx(2.0)
    line = interpolate_sparse_depth(np.array([[4.5, 4.5], [12.5, 12.5], [20.5, 20.5], [28.5, 28.5]]),
                                    np.array([1.0, 2.0, 3.0, 4.0]), 32, 32)
    assert line[0, 0] == pytest.approx(1.0) and line[31, 31] == pytest.approx(4.0) and np.isfinite(line).all()
    # An object (mask) standing on a ground plane in front of a far wall: the interpolated static depth runs
    # from the wall (30, top rows) to the near ground (3, bottom row); the object gets the ground's depth just
    # below its lowest pixel (row 19 + 2), not the wall behind it nor the ground in front of it.
    rows = np.arange(32, dtype=np.float32)[:, None]
    static = np.broadcast_to(np.where(rows < 8, 30.0, 3.0 + (31 - rows) * 0.25), (32, 32)).astype(np.float32)
    labels = np.zeros((32, 32), np.int32)
    labels[10:20, 10:20] = 1
    filled = fill_object_depth(static, labels)
    assert filled[15, 15] == pytest.approx(3.0 + (31 - 21) * 0.25) and filled[0, 0] == 30.0
    assert filled[25, 15] == static[25, 15]  # outside the mask: unchanged


def test_verdict_and_config_validation(tmp_path):
    assert verdict(0.01, 0.005) == "dynamic" and verdict(0.001, 0.005) == "static"
    with pytest.raises(ValueError, match="stride"):
        CurationConfig(stride=0)
    with pytest.raises(ValueError, match="fallback_depth"):
        CurationConfig(fallback_depth="magic")
    with pytest.raises(FileNotFoundError, match="^depth_model folder not found"):
        CurationConfig(depth_model=str(tmp_path / "missing"))
    assert parse_resize("320x240") == (320, 240) and parse_resize("256") == 256 and parse_resize(None) is None
    with pytest.raises(ValueError, match="WxH"):
        parse_resize("big")


@pytest.mark.parametrize("setting, value, message", [
    ("stride", 1.5, "stride must be an integer"),
    ("stride", "2", "stride must be an integer, got '2' (str)"),
    ("max_frames", True, "max_frames must be an integer, got True (bool)"),
    ("focal", float("inf"), "focal must be a finite number"),
    ("motion_threshold", float("inf"), "motion_threshold must be a finite number in [0, 1]"),
    ("num_threads", 0, "num_threads must be an integer other than 0 in -1..1024"),
    ("num_threads", -5, "num_threads must be an integer other than 0 in -1..1024"),
    ("seed", -1, "seed must be an integer in 0.."),
    ("verbose", "yes", "verbose must be True or False"),
    ("resize", 0, "resize must be N (the longer side) or WxH"),
    ("resize", (0, 0), "resize must be N (the longer side) or WxH"),
    ("resize", "big", "resize must be None, N (the longer side) or (W, H)"),
    ("device", 3, "device must be a device name"),
    ("mask_model", 3, "mask_model must be a model folder path, got 3 (int)"),  # was os.fspath's "expected str ..."
    ("depth_model", "", "depth_model is empty"),  # was the current folder
])
def test_config_refuses_what_genxd_curate_refuses(setting, value, message):
    """CurationConfig (the Python API) took stride=1.5, focal=inf, num_threads=0, seed=-1, resize=0 ... which genxd
    curate's options refuse, and each video then failed deep inside (or a library's error came out)."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        CurationConfig(**{setting: value})


def test_config_keeps_good_values_normalised():
    config = CurationConfig(resize=[320, 240], features="SIFT", stride=np.int64(2), max_frame_memory_gib=None)
    assert config.resize == (320, 240) and config.features == "sift" and type(config.stride) is int
    assert CurationConfig(resize=np.int64(64)).resize == 64 and json.dumps(config.to_dict())


@pytest.mark.parametrize("kwargs, message", [
    (dict(workers=1.5), "workers must be an integer"),
    (dict(workers="2"), "workers must be an integer, got '2' (str)"),
    (dict(config={"stride": 2}), "config must be a CurationConfig or None, got dict"),
    (dict(ray_address=3), "ray_address must be an address"),
    # retry_failed="no" retried every failed video (a truthy string); on_record=3 failed once a video had run
    (dict(retry_failed="no"), "retry_failed must be True or False, got 'no' (str)"),
    (dict(on_record=3), "on_record must be a function of a record or None, got 3 (int)"),
    (dict(on_note="x"), "on_note must be a function of (video_id, warning) or None, got 'x' (str)"),
])
def test_curate_dataset_refuses_wrong_types_before_writing(tmp_path, kwargs, message):
    """curate_dataset(config={...}) and ray_address=3 gave AttributeErrors from deep inside; workers=1.5 ran."""
    with pytest.raises((TypeError, ValueError), match="^" + re.escape(message)):
        curate_dataset(tmp_path / "nothing.mp4", tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_resize_scales_down_only():
    """--resize N is the largest longer side: the newcomer run's 128 px clips upscaled to 512 lost their
    motion (measured 0.0000 instead of 0.012-0.018, both read as static)."""
    from genxd.curation.frames import resized_shape

    assert resized_shape(128, 96, 512) == (128, 96)  # kept, not upscaled
    assert resized_shape(1080, 1920, 512) == (288, 512)  # scaled down, aspect kept
    assert resized_shape(128, 96, (320, 240)) == (240, 320)  # WxH is exact, also upwards


def _write_video(path, n, size=(48, 64)):
    # core dependencies, absent only on a bare GPU host (imageio would write a TIFF there and fail on fps)
    pytest.importorskip("imageio_ffmpeg")
    pytest.importorskip("av")  # read_frames decodes with PyAV
    import imageio.v2 as imageio

    with imageio.get_writer(str(path), fps=8, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                            ffmpeg_log_level="error") as writer:
        for i in range(n):
            writer.append_data(np.full((*size, 3), i * 20, np.uint8))  # gray level tells the frame


def test_read_frames_stride_max_resize_and_bad_inputs(tmp_path):
    video = tmp_path / "clip.mp4"
    _write_video(video, 12)
    frames = read_frames(video)
    assert frames.shape == (12, 48, 64, 3) and frames.dtype == np.uint8
    frames = read_frames(video, stride=3, max_frames=3, resize=32)
    assert frames.shape == (3, 24, 32, 3)
    assert [round(float(f.mean()) / 20) for f in frames] == [0, 3, 6]  # frames 0, 3, 6 of the video
    assert read_frames(video, resize=(20, 10)).shape == (12, 10, 20, 3)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    for bad in ("empty.mp4", "junk.mp4"):
        with pytest.raises(VideoReadError):
            read_frames(tmp_path / bad)
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for i in range(4):
        cv2.imwrite(str(frames_dir / f"{i:03d}.png"), np.full((16, 16, 3), i, np.uint8))
    assert read_frames(frames_dir).shape == (4, 16, 16, 3)


def test_discover_videos(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.mov").write_bytes(b"x")
    (tmp_path / "frames_clip").mkdir()
    (tmp_path / "frames_clip" / "0001.jpg").write_bytes(b"x")
    (tmp_path / ".hidden.part").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    found = {s.video_id: s.kind for s in discover_videos(tmp_path)}
    assert found == {"a": "video", "sub__b": "video", "frames_clip": "frames"}
    assert [s.kind for s in discover_videos(tmp_path / "frames_clip")] == ["frames"]
    with pytest.raises(FileNotFoundError):
        discover_videos(tmp_path / "nope")
    with pytest.raises(ValueError, match="not a video"):
        discover_videos(tmp_path / "notes.txt")


def test_index_append_and_latest(tmp_path):
    append_index(tmp_path, {"video_id": "a", "status": "failed"})
    append_index(tmp_path, {"video_id": "b", "status": "ok"})
    append_index(tmp_path, {"video_id": "a", "status": "ok"})
    with open(tmp_path / "index.jsonl", "a") as fh:
        fh.write('{"video_id": "c", "sta')  # a torn last line (killed writer) is ignored
    assert [r["video_id"] for r in read_index(tmp_path)] == ["a", "b", "a"]
    assert {k: v["status"] for k, v in latest_records(tmp_path).items()} == {"a": "ok", "b": "ok"}
    lines = (tmp_path / "index.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines[:3])


def test_a_full_disk_leaves_no_torn_index_line_that_swallows_the_next_record(tmp_path, monkeypatch):
    """A full disk cuts write() short without an error: the index got half a line, no error was raised, and the
    next record appended (after space was freed) was glued onto it and lost."""
    import errno
    import os

    append_index(tmp_path, {"video_id": "a", "status": "ok"})
    before = (tmp_path / "index.jsonl").read_bytes()
    real_write, calls = os.write, []

    def full_disk(fd, data):  # room for half the line, then none
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match=r"No space left on device while writing .*index\.jsonl"):
        append_index(tmp_path, {"video_id": "b", "status": "failed", "stage": "sfm", "reason": "x" * 200})
    monkeypatch.setattr(os, "write", real_write)
    assert (tmp_path / "index.jsonl").read_bytes() == before  # nothing of the failed line is left
    append_index(tmp_path, {"video_id": "c", "status": "ok"})
    with open(tmp_path / "index.jsonl", "a") as fh:
        fh.write('{"video_id": "d", "sta')  # a line torn by a crash: the next record still gets a line of its own
    append_index(tmp_path, {"video_id": "e", "status": "ok"})
    assert [r["video_id"] for r in read_index(tmp_path)] == ["a", "c", "e"]


def test_flow_masker_texture_threshold_follows_the_frame_size_down_to_a_noise_floor():
    """The structure tensor's eigenvalues go with the squared gradient per pixel, so the threshold set for 128 px is
    scaled by (128 / size)^2 (the 128-px value unchanged, a quarter at 256 px), but never below the floor that keeps
    image noise out: on Gaussian noise of 2 / 255, which does not shrink with the frame size, at most 2 % of the
    pixels of a 1024-px frame count as textured (measured 0.6 %; a threshold scaled without the floor passes 99.99 %)."""
    import cv2

    from genxd.curation.masks import EpipolarFlowMasker

    m = EpipolarFlowMasker()
    assert m.texture_for(128) == m.texture_threshold
    assert m.texture_for(256) == pytest.approx(m.texture_threshold / 4)
    assert m.texture_for(1024) == m.texture_floor < m.texture_threshold / 4 * 1.0001
    noise = np.clip(128 + np.random.default_rng(0).normal(0, 2, (1024, 1024)), 0, 255).astype(np.uint8)
    eig = cv2.cornerMinEigenVal(noise.astype(np.float32) / 255.0, 5, 3)
    assert (eig > m.texture_for(1024)).mean() < 0.02
    assert (eig > m.texture_threshold * (128 / 1024) ** 2).mean() > 0.9  # what the floor prevents


def test_flow_masker_masks_large_frames_at_its_working_size():
    """Above ``working_size`` (256 px) the masker works on area-averaged frames and scales its labels back: at 512 px
    the texture test met its noise floor and the moving objects' texture fell under it, so 4D clips read static
    (docs/curation_accuracy.md, "At 512 px"). Measured (AMD EPYC, 8 frames of 4D seed 5, a forward walk, at 512 px):
    19 % of the moving objects' pixels masked at the working size, 0 % at the frame's own size. At 256 px and below the
    labels are the masker's at the frame's own size, unchanged."""
    from genxd.curation.masks import EpipolarFlowMasker
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import to_uint8_frames

    small = to_uint8_frames(make_clip(5, "4d", 8, 128, 128).render.rgb)
    assert np.array_equal(EpipolarFlowMasker()(small), EpipolarFlowMasker(working_size=None)(small))
    clip = make_clip(5, "4d", 8, 512, 512)
    labels = EpipolarFlowMasker()(to_uint8_frames(clip.render.rgb))
    assert labels.shape == (8, 512, 512) and labels.dtype == np.int32
    moving = clip.render.object_id.numpy() > 0
    coverage = ((labels > 0) & moving).sum() / moving.sum()
    assert coverage > 0.1, coverage  # 0.19 measured; 0.000 without the working size


def test_local_threads_are_capped_at_the_usable_cpus(monkeypatch):
    """``--threads`` per local worker: at most the CPUs this process may use (one warning naming the
    setting), split between the workers at -1."""
    import os
    import warnings

    from genxd.curation.local_engine import _threads_per_worker
    from genxd.validation import GenXDWarning

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    with pytest.warns(GenXDWarning, match=r"num_threads=64 is more than the 4 CPUs this process may use: using 4"):
        assert _threads_per_worker(CurationConfig(num_threads=64), workers=1) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _threads_per_worker(CurationConfig(num_threads=3), workers=2) == 3
        assert _threads_per_worker(CurationConfig(num_threads=-1), workers=2) == 2
        assert _threads_per_worker(CurationConfig(num_threads=-1), workers=8) == 1


def test_more_local_workers_than_cpus_is_one_warning(monkeypatch):
    """Each local worker is a process with its own torch and pycolmap: more than the CPUs only wait and take
    memory. One warning naming the setting; the number is kept (worker processes also isolate crashes)."""
    import os
    import warnings

    from genxd.curation.local_engine import _local_workers
    from genxd.validation import GenXDWarning, cli_style

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    with cli_style(), pytest.warns(GenXDWarning, match=r"^--workers 64 is more than the 2 CPUs this process may use: "
                                                       r"the extra worker processes only wait, and each takes memory$"):
        assert _local_workers(64, videos=100) == 64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _local_workers(2, videos=100) == 2 and _local_workers(1, videos=100) == 1
        assert _local_workers(64, videos=2) == 64  # only 2 processes start: no warning


def test_a_ray_node_that_does_not_share_the_output_folder_writes_nothing(tmp_path):
    """On a Ray node where ``--out`` is not the parent's folder (no shared file system) a task wrote the video
    there, on that node's disk, and the parent recorded it as done. The parent's run marker tells the node: not
    seen, the video fails at stage ``setup`` (tried again by the next run) and nothing is created."""
    from genxd.curation import VideoSource
    from genxd.curation.dataset import RETRIED_STAGES, _curate_task

    clip = tmp_path / "in" / "clip.mp4"
    clip.parent.mkdir()
    clip.write_bytes(b"not read")
    out = tmp_path / "node_local_out"  # what the node sees under the parent's path: nothing
    record = _curate_task(VideoSource("clip", clip, "video"), str(out), CurationConfig(),
                          shared_marker=".genxd-run-0123456789ab")
    assert record["status"] == "failed" and record["stage"] == "setup" and "setup" in RETRIED_STAGES
    assert "is not the same folder on node" in record["reason"] and "every Ray node shares" in record["reason"]
    assert not out.exists()
    out.mkdir()
    (out / ".genxd-run-0123456789ab").write_text("x")  # the folder is shared, the input is not
    record = _curate_task(VideoSource("clip", tmp_path / "elsewhere.mp4", "video"), str(out), CurationConfig(),
                          shared_marker=".genxd-run-0123456789ab")
    assert record["stage"] == "setup" and "elsewhere.mp4 is not on node" in record["reason"], record
    assert sorted(p.name for p in out.iterdir()) == [".genxd-run-0123456789ab"]


def test_ray_auto_without_a_running_instance_says_what_to_do(monkeypatch):
    """``--ray auto`` with no Ray instance running printed Ray's own advice, "specify the one to connect to by
    setting `--address` flag" (a flag of Ray's command line, not genxd's). Ray's error as Ray 2.60 raises it."""
    ray = pytest.importorskip("ray")
    from genxd.curation.ray_engine import start_or_join_ray
    from genxd.validation import cli_style

    def no_instance(*args, **kwargs):
        raise ConnectionError("Could not find any running Ray instance. Please specify the one to connect to by "
                              "setting `--address` flag or `RAY_ADDRESS` environment variable.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", no_instance)
    with cli_style(), pytest.raises(ValueError, match=r"^--ray auto: no running Ray instance found on this machine; "
                                                      r"start one \(ray start --head\), give its address"):
        start_or_join_ray("auto")
    with pytest.raises(ValueError, match=r"^ray_address='auto': no running Ray instance"):
        start_or_join_ray("auto")


def test_the_token_hint_appears_only_where_it_can_be_the_reason(monkeypatch):
    """A failed join names ``RAY_AUTH_MODE=token`` only for an address given (Ray sends its token to ``auto`` by
    itself, ``local`` starts its own instance) and only while ``RAY_AUTH_MODE`` is unset (set, the user chose)."""
    pytest.importorskip("ray._private.authentication", reason="a Ray with token authentication (>= 2.52)")
    from genxd.curation.ray_engine import ray_token_hint

    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert "set RAY_AUTH_MODE=token" in ray_token_hint("10.0.0.5:6379")
    assert "set RAY_AUTH_MODE=token" in ray_token_hint("ray://10.0.0.5:10001")
    assert ray_token_hint("auto") == ray_token_hint("local") == ""
    # with RAY_ADDRESS, 'auto' joins an address given: Ray sends no token there (found joining a `ray start --head`
    # cluster with RAY_ADDRESS=127.0.0.1:PORT: only "Failed to connect" after 20 s)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert "set RAY_AUTH_MODE=token" in ray_token_hint("auto")
    assert ray_token_hint("local") == ""
    for mode in ("token", "disabled"):
        monkeypatch.setenv("RAY_AUTH_MODE", mode)
        assert ray_token_hint("10.0.0.5:6379") == ""


def test_a_known_focal_gives_square_pixels_on_frames_that_are_not_square():
    """``--focal`` is fx / W; SfM's fixed camera had fy = focal x H (fy / H = fx / W), so a 16:9 clip with a known
    focal length was fitted with pixels 1.78 times taller than wide (found while fixing camera files of other
    shapes, 2026-12-04; every real camera has square pixels)."""
    pytest.importorskip("pycolmap")
    from genxd.curation.sfm_database import _reader_options

    reader = _reader_options(0.8, 320, 180)
    assert str(reader.camera_model).endswith("PINHOLE")
    assert [float(x) for x in reader.camera_params.split(",")] == [256.0, 256.0, 160.0, 90.0]


def test_curate_dataset_names_an_out_dir_that_is_a_file(tmp_path):
    """curate_dataset(video, a_file) was mkdir's bare "[Errno 17] File exists: '...'"."""
    (tmp_path / "out").write_text("mine")
    with pytest.raises(NotADirectoryError, match=r"^out_dir .*out exists and is not a folder"):
        curate_dataset(tmp_path, tmp_path / "out", progress=False)
    assert (tmp_path / "out").read_text() == "mine"


def test_threads_errors_say_what_minus_one_means_where_they_are_given(tmp_path):
    """-1 is every core for CurationConfig (one process) but cores / workers for genxd curate's --threads (it shares
    the cores between workers): the error line said 'every core' for both once they shared one spec."""
    from typer.testing import CliRunner

    from genxd.cli import app

    result = CliRunner().invoke(app, ["curate", str(tmp_path), "--out", str(tmp_path / "out"), "--threads", "0"])
    assert result.exit_code == 2 and "(-1: cores / workers)" in result.output, result.output
    with pytest.raises(ValueError, match=r"-1: every core"):
        CurationConfig(num_threads=0)
