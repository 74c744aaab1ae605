"""genxd.cameras.from_video: the generation path of a clip (relative, scaled, resampled), the turning-camera
fallback, and ``genxd trajectory from-video`` end to end on a small synthetic clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genxd.cameras import intrinsics_from_focal, look_at, read_camera_path, save_transforms_json, trajectories
from genxd.cameras.accuracy import compare_paths
from genxd.cameras.from_video import (
    ClipCameras,
    FromVideoError,
    check_path_settings,
    generate_clip_advice,
    make_video_path,
    output_files,
    path_from_video,
    path_summary,
    recover_clip_cameras,
    rotation_only_cameras,
    write_video_path,
)
from genxd.cameras.clip_cameras import clip_advice
from genxd.cli import app

runner = CliRunner()
EXAMPLE_IMAGE = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"


def _clip_cameras(n: int = 9, depth: float | None = 4.0, height: int = 60, width: int = 80) -> ClipCameras:
    eyes = torch.tensor([[np.cos(a) * 4, 1.0, np.sin(a) * 4] for a in np.linspace(0.2, 1.0, n)], dtype=torch.float64)
    c2w = look_at(eyes, torch.zeros(3, dtype=torch.float64))
    K = intrinsics_from_focal(0.9, 1.2).double().expand(n, 3, 3).clone()
    return ClipCameras(c2w, K, height, width, list(range(n)), n, torch.linspace(0, 1, n, dtype=torch.float64),
                       depth, "sfm")


def test_path_is_relative_scaled_by_scene_depth_and_resampled():
    cams = _clip_cameras()
    vp = make_video_path(cams, 5, model_focal=1.1, spacing="time")
    p = vp.path
    torch.testing.assert_close(p.c2w[0], torch.eye(4), atol=1e-6, rtol=0)  # first camera = the input view
    assert vp.scale == pytest.approx(1 / 4.0) and vp.report["normalization"] == "scene"
    # same shape as the clip (up to the scale): the resampled frames at t = 0, .25, ... are the clip's 0, 2, 4 ...
    rel = torch.linalg.inv(cams.c2w[0]) @ cams.c2w
    expected = rel[::2].clone()
    expected[:, :3, 3] /= 4.0
    torch.testing.assert_close(p.c2w.double(), expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(p.K, intrinsics_from_focal(1.1).expand(5, 3, 3))
    torch.testing.assert_close(p.times, torch.linspace(0, 1, 5, dtype=torch.float64))
    assert (p.height, p.width) == (60, 80)
    # --path-scale doubles the translations, rotations unchanged
    big = make_video_path(cams, 5, model_focal=1.1, spacing="time", path_scale=2.0).path
    torch.testing.assert_close(big.c2w[:, :3, 3], 2 * p.c2w[:, :3, 3], atol=1e-6, rtol=0)
    torch.testing.assert_close(big.c2w[:, :3, :3], p.c2w[:, :3, :3])
    # no scene depth: the farthest camera at path_scale from the first
    nodepth = make_video_path(_clip_cameras(depth=None), 5, spacing="time")
    assert nodepth.report["normalization"] == "path"
    # said on the summary line (a resampled camera file was rescaled x 2.5 with only 'scale path x 2.477' to tell)
    assert (f"; scale path x {nodepth.scale:.4g} (no scene depth known for these cameras: scaled so that the farthest "
            "is 1 from the first); ") in path_summary(nodepth.report)
    asked = make_video_path(_clip_cameras(depth=None), 5, spacing="time", normalization="path")
    assert "no scene depth" not in path_summary(asked.report)  # asked for: nothing to explain
    assert float(nodepth.path.c2w[:, :3, 3].norm(dim=-1).max()) == pytest.approx(1.0, abs=1e-6)


def test_clip_intrinsics_are_cropped_to_the_output_square():
    cams = _clip_cameras(height=60, width=80)  # fx/W = 0.9, fy/H = 1.2: square pixels (0.9 * 80 = 1.2 * 60)
    p = make_video_path(cams, 4, intrinsics="clip", size=(60, 60)).path
    # a centre crop of 60 x 60 keeps the pixel focal length 72: fx/W = 72 / 60
    torch.testing.assert_close(p.K[0], intrinsics_from_focal(1.2, 1.2).double().float(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("kwargs, says", [
    ({"path_scale": 0}, "path_scale"), ({"path_scale": float("nan")}, "path_scale"), ({"path_scale": "1"}, "path_scale"),
    ({"smoothing": -1}, "smoothing"), ({"spacing": "even"}, "spacing"), ({"intrinsics": "camera"}, "intrinsics"),
    ({"normalization": "depth"}, "normalization"), ({"num_frames": 0}, "num_frames"), ({"num_frames": 2.5}, "num_frames"),
])
def test_bad_path_settings(kwargs, says):
    with pytest.raises(ValueError, match=says):
        check_path_settings(**kwargs)


def _render(c2w: torch.Tensor, size: int = 96, seed: int = 3) -> np.ndarray:
    from genxd.data.synthetic import make_scene, render

    torch.set_num_threads(1)
    out = render(make_scene(seed), c2w.float(), intrinsics_from_focal(1.0).expand(len(c2w), 3, 3), size, size)
    return (out.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def test_turning_and_still_cameras_without_sfm():
    from genxd.data.synthetic import orbit_cameras, place_path

    first, _ = orbit_cameras(1, 4.0, 20.0, (30, 30), 1.0, (0, 0.25, 0))
    turn = place_path(trajectories.pan(8, angle=20, mode="rotate")[0], first[0])
    frames = _render(turn)
    everywhere = np.ones(frames.shape[:3], bool)
    got = rotation_only_cameras(frames, everywhere, focal=1.0)
    assert got["method"] == "rotation-only"
    e = compare_paths(got["c2w"], turn.double())
    # measured 0.05 degrees mean, 0.07 max (96 px, KLT tracks); 0.3 leaves room across CPUs
    assert e.mean_rot_err_deg < 0.3 and max(e.rot_err_deg) < 0.5, e
    still = rotation_only_cameras(frames[[0] * 5], everywhere[:5], focal=1.0)
    assert still["method"] == "static" and torch.equal(still["c2w"], torch.eye(4, dtype=torch.float64).repeat(5, 1, 1))
    slide = place_path(trajectories.pan(8, mode="translate", distance=0.6)[0], first[0])
    assert "camera moves" in rotation_only_cameras(_render(slide), everywhere, focal=1.0)["error"]


@pytest.mark.parametrize("height, width", [(72, 128), (128, 72)])
def test_a_turning_camera_of_a_clip_that_is_not_square_has_square_pixels(height, width, tmp_path):
    """A landscape or portrait clip whose camera pans and tilts: the rotation-only fit took fy / H = fx / W
    (pixels stretched by the aspect ratio), so with the focal length known it called the turn parallax ('the
    camera moves') and went to SfM, and the K it returned had non-square pixels."""
    from scipy.spatial.transform import Rotation

    from genxd.data.synthetic import make_scene, orbit_cameras, render

    torch.set_num_threads(1)
    first, _ = orbit_cameras(1, 4.0, 20.0, (30, 30), 1.0, (0, 0.25, 0))
    steps = torch.eye(4, dtype=torch.float64).repeat(8, 1, 1)
    angles = np.stack([np.linspace(0, -12, 8), np.linspace(0, 6, 8)], 1)  # tilt down 12, pan right 6 degrees
    steps[:, :3, :3] = torch.from_numpy(Rotation.from_euler("xy", angles, degrees=True).as_matrix())
    turn = first[0].double() @ steps
    K = intrinsics_from_focal(1.0, width / height).expand(8, 3, 3)  # square pixels, fx / W = 1
    rgb = render(make_scene(3), turn.float(), K, height, width).rgb.permute(0, 2, 3, 1).numpy()
    frames = (rgb * 255 + 0.5).clip(0, 255).astype(np.uint8)
    got = rotation_only_cameras(frames, np.ones(frames.shape[:3], bool), focal=1.0)
    assert got.get("method") == "rotation-only", got.get("error")
    assert compare_paths(got["c2w"], turn).mean_rot_err_deg < 0.3  # measured 0.06-0.08 degrees
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / f"{i:03d}.png")
    cams = recover_clip_cameras(tmp_path, focal=1.0)
    assert cams.method == "rotation-only" and compare_paths(cams.c2w, turn).mean_rot_err_deg < 0.3
    torch.testing.assert_close(cams.K[0].float(), K[0])


def test_a_turning_fit_whose_focal_length_is_at_the_end_of_the_search_is_warned_about(tmp_path):
    """A crop sliding over a picture (a flat scene: what a pan of a poster, or a crop animation, shows) fits a turning
    camera best at the longest focal length searched, where any turn fits; the path's turn (12 degrees for a crop
    of 94 % of the frame's width, 21.5 for the same crop of a portrait clip) was taken without a word (found by the
    creator audit). A genuine pan's focal length is found inside the range and not warned about."""
    from genxd.data.synthetic import orbit_cameras, place_path

    first, _ = orbit_cameras(1, 4.0, 20.0, (30, 30), 1.0, (0, 0.25, 0))
    turn = place_path(trajectories.pan(8, angle=20, mode="rotate")[0], first[0])
    frames = _render(turn)
    pan = rotation_only_cameras(frames, np.ones(frames.shape[:3], bool))
    assert pan["method"] == "rotation-only" and not pan["report"].get("focal_at_search_end")
    assert pan["focal"] == pytest.approx(1.0, rel=0.15)
    picture = _render(first, size=192)[0]
    for i in range(8):  # the crop slides 4 px a frame to the right: the content moves left
        Image.fromarray(picture[48:144, 16 + 4 * i:112 + 4 * i]).save(tmp_path / f"{i:03d}.png")
    cams = recover_clip_cameras(tmp_path)
    warnings = [w for w in cams.report["warnings"] if "focal length could not be estimated" in w]
    assert len(warnings) == 1 and "at an end of the range searched (0.3-4" in warnings[0], cams.report["warnings"]
    assert cams.method == "rotation-only" and cams.report["focal_at_search_end"]
    assert warnings[0].endswith(clip_advice().focal)  # each caller words its own advice (ClipAdvice)


def test_recover_recognises_a_turning_camera_before_sfm(tmp_path):
    from genxd.data.synthetic import orbit_cameras, place_path

    first, _ = orbit_cameras(1, 4.0, 20.0, (30, 30), 1.0, (0, 0.25, 0))
    turn = place_path(trajectories.pan(10, angle=25, mode="rotate")[0], first[0])
    for i, frame in enumerate(_render(turn, size=128)):
        Image.fromarray(frame).save(tmp_path / f"{i:03d}.png")
    cams = recover_clip_cameras(tmp_path, focal=1.0)
    assert cams.method == "rotation-only" and cams.scene_depth is None
    assert compare_paths(cams.c2w, turn.double()).mean_rot_err_deg < 0.3  # measured 0.05 (see above)
    vp = make_video_path(cams, 5, spacing="arc")
    assert vp.report["normalization"].startswith("none") and float(vp.path.c2w[:, :3, 3].abs().max()) == 0.0


def test_clip_cameras_from_a_camera_file(tmp_path):
    c2w, K = trajectories.spiral(num_frames=6)
    save_transforms_json(tmp_path / "transforms.json", c2w, K, 32, 32, times=[0, 0.1, 0.2, 0.5, 0.7, 1.0])
    cams = recover_clip_cameras(tmp_path)
    assert cams.method == "file: transforms.json" and cams.scene_depth is None
    torch.testing.assert_close(cams.times, torch.tensor([0, 0.1, 0.2, 0.5, 0.7, 1.0], dtype=torch.float64))
    with pytest.raises(FileNotFoundError):
        recover_clip_cameras(tmp_path / "nothing.mp4")
    (tmp_path / "notes").mkdir()
    with pytest.raises(FromVideoError, match="not a video file"):
        recover_clip_cameras(tmp_path / "notes")
    two = tmp_path / "two"
    two.mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(two / f"{i}.png")
    with pytest.raises(FromVideoError, match="too few frames"):
        recover_clip_cameras(two)
    assert output_files(tmp_path / "p.json")[1].name == "p_transforms.json"
    with pytest.raises(ValueError, match=".json"):
        output_files(tmp_path / "p.txt")


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    """A short low-res synthetic clip (12 frames, 128 px, hand-held arc, moving objects) as an mp4."""
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    torch.set_num_threads(1)
    clip = make_clip(11, "4d", 12, 128, 128, camera="handheld", motion_strength=0.5)
    folder = tmp_path_factory.mktemp("clip")
    write_video(folder / "clip.mp4", clip.images, fps=8.0, quality=9)
    return folder / "clip.mp4", clip


def test_trajectory_from_video_cli_end_to_end(small_clip, tmp_path):
    video, clip = small_clip
    out = tmp_path / "path.json"
    res = runner.invoke(app, ["trajectory", "from-video", str(video), "-o", str(out), "--num-frames", "12",
                              "--clip-focal", "1.0", "--spacing", "time"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    authors, transforms, picture = output_files(out)
    assert res.stdout.split() == [str(authors), str(transforms), str(picture)]
    # a line on stderr as each stage starts (SfM is a minute or more on a CPU: not silent)
    assert "genxd: clip.mp4 [0 s]: reading frames" in res.stderr and "structure from motion on 12 frames" in res.stderr
    a, t = read_camera_path(authors), read_camera_path(transforms)
    torch.testing.assert_close(a.c2w, t.c2w, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.times, torch.linspace(0, 1, 12, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(a.c2w[0], torch.eye(4), atol=1e-6, rtol=0)
    # 12 cameras evenly in time = the clip's 12 frames: the path has the clip's shape
    e = compare_paths(a.c2w, clip.c2w)
    # measured 0.15 degrees mean and 0.6 % of the path (H.264, 128 px, moving objects); tolerance 4x
    assert e.mean_rot_err_deg < 0.6 and e.centre_err_sim3_rel < 0.03, e
    with Image.open(picture) as im:
        assert im.width > 2 * im.height * 0.9  # two panels side by side
    again = runner.invoke(app, ["trajectory", "from-video", str(video), "-o", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_frames_are_picked_evenly_over_the_whole_clip(tmp_path):
    from genxd.cameras.clip_cameras import _read_clip

    for i in range(10):
        Image.fromarray(np.full((20, 30, 3), 20 * i, np.uint8)).save(tmp_path / f"{i:03d}.png")
    frames, picked = _read_clip(tmp_path, None, 4, 512)
    assert picked.tolist() == [0, 3, 6, 9] and [int(f[0, 0, 0]) for f in frames] == [0, 60, 120, 180]
    frames, picked = _read_clip(tmp_path, 2, 3, None)
    assert picked.tolist() == [0, 2, 4] and frames.shape == (3, 20, 30, 3)
    frames, _ = _read_clip(tmp_path, None, 48, 15)  # larger than 15 px: scaled down to 15
    assert frames.shape == (10, 10, 15, 3)


def test_a_video_brings_its_own_camera_file(small_clip, tmp_path, monkeypatch):
    # `auto` reads NAME.json / NAME_transforms.json beside NAME.mp4 (genxd synth --format video writes one) when it
    # holds one camera per frame of the video; a path made from the video (another count: `trajectory from-video
    # walk.mp4 -o walk.json` writes both names) or a JSON that holds no cameras is named in a warning and SfM runs
    import shutil

    import genxd.cameras.clip_cameras as clip_cameras
    from genxd.validation import GenXDWarning, cli_style

    # both fallbacks below run the same SfM (same video, settings and seed): the second is given the first's result
    real_sfm, sfm_runs = clip_cameras._cameras_from_sfm, []

    def sfm_once(*args):
        asked = args[:13] + args[14:]  # all but on_stage (a new no-op each call)
        if sfm_runs and sfm_runs[0][0] == asked:
            return sfm_runs[0][1]
        sfm_runs.append((asked, real_sfm(*args)))
        return sfm_runs[-1][1]

    monkeypatch.setattr(clip_cameras, "_cameras_from_sfm", sfm_once)
    video, _ = small_clip
    here = tmp_path / "walk.mp4"
    shutil.copy(video, here)
    c2w, K = trajectories.spiral(num_frames=12)  # the clip's 12 frames
    save_transforms_json(tmp_path / "walk_transforms.json", c2w, K, 128, 128)
    stages = []
    cams = recover_clip_cameras(here, on_stage=stages.append)
    assert cams.method == "file: transforms.json" and len(cams.c2w) == 12
    torch.testing.assert_close(cams.c2w, c2w.double(), atol=1e-6, rtol=0)
    assert stages == ["cameras from walk_transforms.json, the camera file beside the video (source='sfm': SfM "
                      "instead)"]  # worded for a Python caller; the command line's: --source sfm
    with cli_style():
        stages.clear()
        recover_clip_cameras(here, on_stage=stages.append)
    assert stages == ["cameras from walk_transforms.json, the camera file beside the video (--source sfm: SfM "
                      "instead)"]
    c2w, K = trajectories.spiral(num_frames=5)  # a path resampled to 5 cameras: not the clip's own
    save_transforms_json(tmp_path / "walk_transforms.json", c2w, K, 128, 128)
    with pytest.warns(GenXDWarning, match=r"walk_transforms.json beside the video is not its own cameras \(5 "
                                          r"cameras for the video's 12 frames.*\(source='file' takes that file\)"):
        cams = recover_clip_cameras(here, focal=1.0, max_frames=12)
    assert cams.method == "sfm" and len(cams.c2w) >= 10
    assert recover_clip_cameras(here, source="file").method == "file: transforms.json"  # asked for: taken
    (tmp_path / "walk_transforms.json").unlink()
    (tmp_path / "walk.json").write_text(json.dumps({"title": "my holiday"}))
    with pytest.warns(GenXDWarning, match="walk.json: not a camera file.*beside the video"):
        cams = recover_clip_cameras(here, focal=1.0, max_frames=12)
    assert cams.method == "sfm" and len(cams.c2w) >= 10
    assert len(sfm_runs) == 1  # the two fallbacks asked SfM the same


@pytest.mark.parametrize("fails_also_with_assumed", [False, True])
def test_sfm_that_fails_with_a_free_focal_runs_again_with_an_assumed_one(small_clip, monkeypatch,
                                                                          fails_also_with_assumed):
    """A forward walk over a ground plane (``genxd synth --camera forward --seed 3 --frames 32 --size 256``) failed
    SfM with the focal length free in every run (most pairs fit a homography) and worked with fx/W = 1, its truth;
    here SfM is replaced by one that fails without a focal length, so the test is fast and exact."""
    import genxd.cameras.clip_cameras as fv
    from genxd.curation.sfm import SfmError

    video, _ = small_clip
    real = fv.reconstruct_clip
    focals = []

    def fails_without_focal(frames, image_dir, names, work, allowed, focal, **kwargs):
        focals.append(focal)
        if focal is None or fails_also_with_assumed:
            raise SfmError("SfM (klt) found no initial image pair (too little camera motion or texture)")
        return real(frames, image_dir, names, work, allowed, focal, **kwargs)

    monkeypatch.setattr(fv, "reconstruct_clip", fails_without_focal)
    monkeypatch.setattr(fv, "rotation_only_cameras", lambda *a: {"error": "the camera moves"})
    if fails_also_with_assumed:
        with pytest.raises(FromVideoError, match="also with an assumed focal length fx/W = 1.0"):
            recover_clip_cameras(video, source="sfm", max_frames=8)
        assert focals == [None, fv.ASSUMED_FOCAL]
        return
    cams = recover_clip_cameras(video, source="sfm", max_frames=8)
    assert focals == [None, fv.ASSUMED_FOCAL]
    assert cams.report["focal_assumed"] == fv.ASSUMED_FOCAL and cams.report["focal_estimated"] is False
    assert any("assumed fx/W = 1.0" in w and w.endswith("(give the clip's focal length: focal)")
               for w in cams.report["warnings"])
    assert cams.K[0, 0, 0].item() == pytest.approx(fv.ASSUMED_FOCAL, rel=1e-6)  # normalised fx/W
    fails_also_with_assumed = True
    focals.clear()
    with pytest.raises(FromVideoError, match="structure from motion failed") as info:
        recover_clip_cameras(video, source="sfm", max_frames=8, focal=0.9)  # a given focal is not replaced
    assert focals == [0.9] and "assumed" not in str(info.value)


def test_an_implausible_estimated_focal_length_runs_the_route_again_with_the_assumed_one(small_clip, monkeypatch):
    """SfM on an orbit-like clip (not the forward case above) that estimates fx/W = 0.2 (outside PLAUSIBLE_FOCAL):
    the whole route runs again with the assumed focal length, as for the forward case, and a warning says so;
    SfM is faked so the test is fast and exact."""
    import genxd.cameras.clip_cameras as fv

    video, _ = small_clip
    real = fv.reconstruct_clip
    focals = []

    def implausible_when_free(frames, image_dir, names, work, allowed, focal, **kwargs):
        focals.append(focal)
        sfm, allowed = real(frames, image_dir, names, work, allowed, 1.0 if focal is None else focal, **kwargs)
        if focal is None:
            sfm.K = sfm.K.copy()
            sfm.K[0, 0] = sfm.K[1, 1] = 0.2
        return sfm, allowed

    monkeypatch.setattr(fv, "reconstruct_clip", implausible_when_free)
    monkeypatch.setattr(fv, "rotation_only_cameras", lambda *a: {"error": "the camera moves"})
    monkeypatch.setattr(fv, "focal_unobservable", lambda sfm: None)  # not the forward case
    cams = recover_clip_cameras(video, source="sfm", max_frames=8)
    assert focals == [None, fv.ASSUMED_FOCAL]
    assert cams.report["focal_assumed"] == fv.ASSUMED_FOCAL and cams.report["focal_estimated"] is False
    assert any("implausible focal length fx/W = 0.2; assumed fx/W = 1.0" in w for w in cams.report["warnings"])
    assert cams.K[0, 0, 0].item() == pytest.approx(fv.ASSUMED_FOCAL, rel=1e-6)


@pytest.mark.parametrize("call, error, says", [
    (lambda: recover_clip_cameras(None), TypeError, "clip must be a path"),
    (lambda: recover_clip_cameras(3), TypeError, r"got 3 \(int\)"),
    (lambda: recover_clip_cameras("x.mp4", max_frames=0), ValueError, "max_frames must be an integer in 3..100000"),
    (lambda: recover_clip_cameras("x.mp4", stride=-1), ValueError, "stride"),
    (lambda: recover_clip_cameras("x.mp4", resize=-5), ValueError, "resize"),
    (lambda: recover_clip_cameras("x.mp4", resize=(320, 240, 3)), ValueError, "resize"),
    (lambda: recover_clip_cameras("x.mp4", focal=-1.0), ValueError, "focal"),
    (lambda: recover_clip_cameras("x.mp4", features="orb"), ValueError, "features must be one of"),
    (lambda: recover_clip_cameras("x.mp4", mapper="x"), ValueError, "mapper"),
    (lambda: recover_clip_cameras("x.mp4", num_threads=0), ValueError, "num_threads"),
    (lambda: recover_clip_cameras("x.mp4", source="web"), ValueError, "source"),
    (lambda: path_from_video("x.mp4", 0), ValueError, "num_frames"),
    (lambda: path_from_video("x.mp4", 12, spacing="even"), ValueError, "spacing"),
    # write_video_path (trajectory from-video's) checked the path's settings only after SfM
    (lambda: write_video_path("x.mp4", "x_path.json", 0), ValueError, "num_frames"),
    (lambda: write_video_path("x.mp4", "x_path.json", 12, spacing="even"), ValueError, "spacing"),
    (lambda: write_video_path("x.mp4", "x_path.json", 12, path_scale=-1.0), ValueError, "path_scale"),
    # its argument is clip_focal: focal= was Python's "got multiple values for keyword argument 'focal'"
    (lambda: write_video_path("x.mp4", "x_path.json", 12, focal=0.9), TypeError,
     r"^write_video_path: the clip's focal length is clip_focal, not focal$"),
])
def test_python_callers_get_the_bad_setting_named_before_any_frame_is_read(call, error, says):
    """The command line checks its options; Python callers (``genxd.generate(camera_from_video=...)``, scripts)
    get the same before a frame is read or SfM runs (``x.mp4`` does not exist: the setting is named first)."""
    with pytest.raises(error, match=says):
        call()


def test_the_focal_length_counts_as_unobservable_only_for_a_camera_moving_along_its_view_axis_without_turning():
    from genxd.cameras.clip_sfm import focal_unobservable
    from genxd.data.synthetic import orbit_cameras

    class Sfm:
        def __init__(self, c2w):
            self.c2w, self.registered = c2w, np.ones(len(c2w), bool)

    forward = np.repeat(np.eye(4)[None], 8, 0)
    forward[:, 2, 3] = np.linspace(0, 1, 8)  # along +z, the view axis
    assert "along its view axis (0 degrees off it) turning 0.00 degrees" in focal_unobservable(Sfm(forward))
    sideways = forward.copy()
    sideways[:, :3, 3] = np.linspace(0, 1, 8)[:, None] * np.array([1.0, 0.0, 0.2])  # 79 degrees off the axis
    assert focal_unobservable(Sfm(sideways)) is None
    orbit, _ = orbit_cameras(8, 4.0, 0.0, (0, 70))  # 10 degrees a frame
    assert focal_unobservable(Sfm(orbit.double().numpy())) is None


@pytest.fixture(scope="module")
def refit_with_assumed_focal(small_clip):
    """The small clip's route with :func:`focal_unobservable` made to say that SfM cannot tell its focal length, each
    fit noting a stand-in warning: (the cameras, the focal lengths SfM was given). One run shared by the two tests
    below (each SfM run here costs seconds); they do not change what it returns."""
    import genxd.cameras.clip_cameras as cc

    video, _ = small_clip
    real, focals = cc.reconstruct_clip, []

    def noted(*args, **kwargs):
        focals.append(args[5])
        kwargs["report"]["warnings"].append(f"stand-in warning of the fit with focal {args[5]}")
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cc, "reconstruct_clip", noted)
        mp.setattr(cc, "focal_unobservable", lambda sfm: "the camera moves along its view axis")
        cams = recover_clip_cameras(video, source="sfm", max_frames=8)
    return cams, focals


def test_a_clip_whose_focal_length_sfm_cannot_tell_is_reconstructed_again_with_the_assumed_one(
        small_clip, refit_with_assumed_focal, monkeypatch):
    """The benchmark's forward and dolly clips (docs/benchmarks/camera_paths.md, "Camera paths from videos with the focal length
    unknown") are covered by :func:`focal_unobservable` above; here it is made to say so for the small clip, to see
    what follows: a second reconstruction with fx/W = 1.0, its cameras kept, and a warning naming the estimate."""
    import genxd.cameras.clip_cameras as cc

    video, _ = small_clip
    cams, focals = refit_with_assumed_focal
    assert focals == [None, cc.ASSUMED_FOCAL]
    assert cams.report["focal_assumed"] == cc.ASSUMED_FOCAL and cams.K[0, 0, 0].item() == pytest.approx(1.0)
    # the figures of the first fit are said to be its own, and the path's (the second fit's) turn is given: a
    # zoom-out clip warned 'turning 0.05 degrees a frame' (the first fit) where the path written turned 9 degrees
    from genxd.cameras.resample import angular_length

    said = [w for w in cams.report["warnings"] if "cannot tell the focal length" in w]
    assert len(said) == 1 and said[0].startswith("SfM's first fit, with the focal length left free (fx/W = "), said
    assert ("): the camera moves along its view axis, where SfM cannot tell the focal length; the path is from a fit "
            "with an assumed fx/W = 1.0, turning ") in said[0]
    assert said[0].endswith(f", turning {angular_length(cams.c2w):.1f} degrees in all (give the clip's focal "
                            "length: focal)"), said[0]
    focals = []
    real = cc.reconstruct_clip
    monkeypatch.setattr(cc, "reconstruct_clip", lambda *a, **k: focals.append(a[5]) or real(*a, **k))
    monkeypatch.setattr(cc, "focal_unobservable", lambda sfm: "the camera moves along its view axis")
    recover_clip_cameras(video, source="sfm", max_frames=8, focal=0.9)  # a known focal length is kept
    assert focals == [0.9]


def test_the_warnings_of_a_fit_that_was_replaced_are_not_given_with_the_path(refit_with_assumed_focal):
    """A fit redone with the assumed focal length replaces the first: a failed second pass of the first fit ("the
    first is kept") was warned about with the path made from the other fit; the new fit's own warnings are kept."""
    import genxd.cameras.clip_cameras as cc

    warnings = refit_with_assumed_focal[0].report["warnings"]
    assert [w for w in warnings if w.startswith("stand-in")] == [f"stand-in warning of the fit with focal "
                                                                  f"{cc.ASSUMED_FOCAL}"], warnings
    assert len(warnings) == 2 and warnings[1].startswith("SfM's first fit"), warnings


def _sfm_fails(monkeypatch, with_assumed_focal: bool = True) -> None:
    """SfM on the clip fails (with a free focal length; with the assumed one too when ``with_assumed_focal``), and
    the camera does not just turn: the route ends in FromVideoError in a second."""
    import genxd.cameras.clip_cameras as cc
    from genxd.curation.sfm import SfmError

    real = cc.reconstruct_clip

    def fails(frames, image_dir, names, work, allowed, focal, **kwargs):
        if focal is None or with_assumed_focal:
            raise SfmError("SfM (klt) found no initial image pair (too little camera motion or texture)")
        return real(frames, image_dir, names, work, allowed, focal, **kwargs)

    monkeypatch.setattr(cc, "reconstruct_clip", fails)
    monkeypatch.setattr(cc, "rotation_only_cameras", lambda *a: {"error": "the camera moves"})


def test_a_failed_sfm_advises_the_frame_count_as_the_caller_sets_it(small_clip, tmp_path, monkeypatch):
    """The advice ending the error named ``--max-frames`` to every caller: Python callers (whose argument is
    ``max_frames``) and ``genxd generate --camera-from-video`` / ``genxd.generate``, which have no such setting
    (the way is to write the path first); ``trajectory from-video`` keeps ``--max-frames``."""
    import genxd
    from genxd.validation import cli_style

    import genxd.curation.masks as masks

    class NoMasks:  # generate has no mask setting: its moving-object masks (optical flow over every frame pair,
        # most of this test's time) would only feed the stand-in SfM that fails; none are made here
        def __init__(self, **kwargs):
            pass

        def __call__(self, frames):
            return np.zeros(frames.shape[:3], np.int32)

    video, _ = small_clip
    _sfm_fails(monkeypatch)
    monkeypatch.setattr(masks, "EpipolarFlowMasker", NoMasks)
    for call in (lambda: recover_clip_cameras(video, max_frames=8, mask=False),
                 lambda: write_video_path(video, tmp_path / "p.json", 8, max_frames=8, mask=False)):
        with pytest.raises(FromVideoError) as err:
            call()
        assert "more frames (max_frames), may work (also with an assumed" in str(err.value)
        assert "--" not in str(err.value)
    with cli_style(), pytest.raises(FromVideoError, match=r"more frames \(--max-frames\), may work"):
        recover_clip_cameras(video, max_frames=8, mask=False)
    res = runner.invoke(app, ["trajectory", "from-video", str(video), "-o", str(tmp_path / "p.json"),
                              "--max-frames", "8", "--no-mask"], catch_exceptions=False)
    assert res.exit_code != 0 and "more frames (--max-frames), may work" in res.output, res.output
    # generate reads at most 48 frames: all 12 of this clip, so more frames cannot help (advised before 2026-12-05)
    with pytest.raises(FromVideoError) as err:
        genxd.generate(EXAMPLE_IMAGE, out_dir=tmp_path / "gen", camera_from_video=video, progress=False)
    assert "; a clip with more camera movement or texture may work (every frame of this one was used)" in str(err.value)
    assert "max_frames" not in str(err.value)
    res = runner.invoke(app, ["generate", str(EXAMPLE_IMAGE), "--camera-from-video", str(video), "-o",
                              str(tmp_path / "gen"), "--quiet"], catch_exceptions=False)
    assert res.exit_code != 0 and "texture may work (every frame of this one was used)" in res.output, res.output
    assert "--max-frames" not in res.output
    with pytest.raises(FromVideoError) as err:  # a longer clip: write the path first with more frames
        recover_clip_cameras(video, max_frames=8, mask=False, advice=generate_clip_advice(video))
    assert ("more frames (genxd.cameras.from_video.write_video_path('clip.mp4', 'path.json', NUM_FRAMES, "
            "max_frames=N), then camera='path.json'), may work") in str(err.value)


@pytest.mark.parametrize("cli", [False, True])
def test_an_assumed_focal_length_is_advised_as_trajectory_from_video_takes_it(small_clip, tmp_path, monkeypatch, cli):
    """``write_video_path``'s warning said ``--clip-focal`` to Python callers, whose argument is ``clip_focal``."""
    video, _ = small_clip
    _sfm_fails(monkeypatch, with_assumed_focal=False)
    out = tmp_path / "path.json"
    if cli:
        res = runner.invoke(app, ["trajectory", "from-video", str(video), "-o", str(out),
                                  "--num-frames", "8", "--max-frames", "8", "--no-mask"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "assumed fx/W = 1.0 (give the clip's focal length: --clip-focal)" in res.output
        return
    report = write_video_path(video, out, 8, max_frames=8, mask=False)["report"]
    assert any(w.endswith("assumed fx/W = 1.0 (give the clip's focal length: clip_focal)")
               for w in report["warnings"]), report["warnings"]


def test_path_settings_are_named_as_the_caller_knows_them():
    """``path_scale (--path-scale) must be ...`` named both spellings to every caller, and Python took path scales up
    to 1e6 that the command line and genxd.generate refuse above 1000: the shared checks now word it for the caller."""
    from genxd.validation import cli_style

    for kwargs, says in [({"path_scale": 0}, r"^path_scale must be a finite number in \(0, 1000\], got 0$"),
                         ({"path_scale": 5000.0}, r"^path_scale must be .*got 5000.0$"),
                         ({"smoothing": -1}, r"^smoothing must be a finite number in \[0, 10000\], got -1$")]:
        with pytest.raises(ValueError, match=says):
            check_path_settings(**kwargs)
    with pytest.raises(TypeError, match=r"^path_scale must be a number, got '1' \(str\)$"):
        check_path_settings(path_scale="1")
    with cli_style(), pytest.raises(ValueError, match=r"^--path-scale must be a finite number in \(0, 1000\]"):
        check_path_settings(path_scale=0)
    with cli_style(), pytest.raises(ValueError, match=r"^--smoothing must be"):
        check_path_settings(smoothing=-1)


@pytest.mark.parametrize("layout", ["sparse", "curated/clip/0"])
def test_source_auto_takes_every_folder_of_cameras_the_reader_reads(tmp_path, layout):
    """Found by the review: ``--source auto`` looked for cameras in a list of its own, without ``sparse/`` and a
    ``genxd curate`` output folder holding one video, so those were 'not a video file, a folder of frames or a
    camera file' (``--source file`` read them)."""
    from genxd.cameras import write_colmap_model

    c2w, K = trajectories.orbit(num_frames=6)
    write_colmap_model(tmp_path / layout, c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(6)])
    cams = recover_clip_cameras(tmp_path if layout == "sparse" else tmp_path / "curated")
    assert cams.method.startswith("file: ") and len(cams.frame_indices) == 6
    torch.testing.assert_close(cams.c2w, c2w.double(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("source", ["auto", "file"])
def test_a_curate_output_of_several_videos_asks_for_one_whatever_the_source(tmp_path, source):
    """Found by the review: under ``--source auto`` such a folder was 'not a video file, a folder of frames or a
    camera file', where ``--source file`` said how many videos it holds and to name one."""
    from genxd.cameras import write_colmap_model

    c2w, K = trajectories.orbit(num_frames=4)
    for name in ("a", "b"):
        write_colmap_model(tmp_path / "out" / name / "0", c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(4)])
    with pytest.raises(FromVideoError if source == "auto" else ValueError,
                       match=r"out: a genxd curate output with 2 videos \(a, b\); name one of them$"):
        recover_clip_cameras(tmp_path / "out", source=source)
