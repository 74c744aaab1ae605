"""Part of a clip in the page's "From a video" camera (Start / End, as ``genxd generate --camera-start /
--camera-end``): one-line refusals in the page's words, the preview's status naming the range, and the job's
folder recording it as ``genxd generate`` does; awkward clips end in one status line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.demo.session import Session

from ..cli.fake_model import without_sampling
from .conftest import SCENE, inputs_of, no_progress, session_with_image

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")

ERROR = '<span class="error">Error: '


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page on the CPU with the bundled model: its handlers by name, and the loaded model for genxd.generate."""
    from types import SimpleNamespace

    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    devices = Devices(None, ["cpu"])
    demo = build_app(devices, DemoConfig(root=tmp_path_factory.mktemp("sessions")))
    fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
    named = {}
    for f in fns:
        for name in (f.api_name if f.api_visibility == "public" else None, getattr(f.fn, "__name__", "")[3:]):
            if name and name not in named:
                named[name] = f
    return SimpleNamespace(fn=named, loaded=devices.loaded("cpu"), devices=devices)


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Path:
    """A 16-frame 128-px handheld clip at 8 fps (SfM registers it: tests/demo/test_demo_cameras.py), in a folder of
    its own as Gradio stores an upload."""
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    torch.set_num_threads(1)
    clip = make_clip(11, "4d", 16, 128, 128, camera="handheld", motion_strength=0.5)
    video = tmp_path_factory.mktemp("gradio") / "walk.mp4"
    write_video(video, clip.images, fps=8.0, quality=9)
    return video


def numbers(x) -> list[float]:
    """Every number of a JSON value, in order."""
    if isinstance(x, dict):
        return [n for k in sorted(x) for n in numbers(x[k])]
    if isinstance(x, list):
        return [n for y in x for n in numbers(y)]
    return [float(x)] if isinstance(x, (int, float)) and not isinstance(x, bool) else []


def shape(x):
    """A JSON value with its numbers left out (keys, lengths, texts)."""
    if isinstance(x, dict):
        return {k: shape(y) for k, y in x.items()}
    if isinstance(x, list):
        return [shape(y) for y in x]
    return None if isinstance(x, (int, float)) and not isinstance(x, bool) else x


def camera(page, s: Session, **given) -> tuple:
    return page.fn["camera"].fn(s, **inputs_of(page.fn["camera"], camera_source="video", **given))


@pytest.mark.parametrize("start, end, said", [
    ("-2", "", "Start must be 0 or more (from the clip's first frame), got '-2'"),
    ("2.5f", "", "Start must be seconds from the clip's first frame (2.5) or a frame number with an f (30f), got '2.5f'"),
    ("5f", "3f", "Start 5f must come before End 3f (the range is [start, end))"),
    ("", "inf", "End must be a finite number of seconds or a frame number, got 'inf'"),
    ("4f", "6f", "walk.mp4: the range frame 4 - frame 6 holds 2 frames (frames 4-5); a camera path needs at least 3"),
    ("40f", "", "walk.mp4: Start 40f is past the clip's last frame (frame 15, at 1.88 s)"),
])
def test_a_range_the_clip_cannot_give_is_one_line_in_the_pages_words(page, walk, tmp_path, start, end, said):
    """Checked before any SfM, as genxd generate --camera-start / --camera-end checks them; named as the page's
    boxes (Start / End), the clip by its name, no server folder."""
    s = Session.create(tmp_path)
    _, glb, msg = camera(page, s, camera_video=str(walk), camera_start=start, camera_end=end)
    assert glb is None and msg == f"{ERROR}{said}</span>", msg
    assert str(walk.parent) not in msg


def test_a_camera_file_sent_as_the_video_is_refused_naming_the_camera_file_control(page, tmp_path):
    """The page's gr.Video passes on whatever file an API client uploads (no format to convert to): a camera path
    .json reached the clip's camera recovery, which took the file's cameras as the clip's. Now one line, in the page's
    words for its controls."""
    from gradio.data_classes import FileData

    from genxd.cameras import trajectories
    from genxd.cameras.formats import save_camera_json

    path = tmp_path / "path.json"
    save_camera_json(path, *trajectories.spiral(num_frames=8), 64, 64)
    [video] = [c for c in page.fn["camera"].inputs if c.elem_id == "camera-video"]
    given = video.preprocess(FileData(path=str(path)))
    assert given == str(path)  # what reaches the handler
    _, glb, msg = camera(page, Session.create(tmp_path), camera_video=given)
    assert glb is None and msg == (f"{ERROR}path.json: not a video file; a camera file (.json) goes in Camera file, "
                                   "not From a video</span>"), msg


def test_a_range_is_refused_before_a_video_is_chosen(page, tmp_path):
    _, glb, msg = camera(page, Session.create(tmp_path), camera_start="x")
    assert glb is None and msg.startswith(f"{ERROR}Start must be seconds"), msg
    _, glb, msg = camera(page, Session.create(tmp_path), camera_start="1f")  # a good range: the video is asked for
    assert glb is None and msg == f"{ERROR}choose a video</span>", msg


def test_a_range_is_followed_and_recorded_as_genxd_generate_records_it(page, walk, tmp_path, monkeypatch):
    """The page's Start / End give the path genxd generate --camera-start / --camera-end gives, and the job's folder
    (the Download zip) records it as genxd generate does: meta.json's clip_range, camera_from_video.json (the clip by
    its name only) and camera_path.png beside the cameras. Before, the page had no range (the whole clip)."""
    from genxd.api import generate as cli_generate
    from genxd.demo.jobs import zip_folders

    # the bundled model's settings without its sampling, on both sides: the files around the frames are compared
    loaded = without_sampling(page.loaded)
    monkeypatch.setattr(page.devices, "loaded", lambda device: loaded)

    s = session_with_image(tmp_path / "page")
    _, glb, msg = camera(page, s, camera_video=str(walk), camera_start="0.25", camera_end="14f", frames=6, mode="4d")
    assert glb is not None, msg
    assert msg.startswith("Camera path: walk.mp4 (frames 2-13 of the clip, 0.25-1.62 s), 6 frames;"), msg
    out = page.fn["generate"].fn(s, progress=no_progress, **inputs_of(
        page.fn["generate"], camera_source="video", camera_video=str(walk), camera_start="0.25", camera_end="14f",
        frames=6, mode="4d", steps=1))
    assert out[-1].startswith("Generated 6 frames"), out[-1]
    cli = cli_generate([SCENE], tmp_path / "cli", num_inference_steps=1, progress=False, loaded=loaded,
                       mode="4d", num_frames=6, camera_from_video=walk, camera_start="0.25", camera_end="14f")[0]
    demo_meta, cli_meta = (json.loads((f / "meta.json").read_text()) for f in (s.scene, cli))
    assert demo_meta["clip_range"] == cli_meta["clip_range"] == {
        "range": "0.25 s - frame 14", "frames": [2, 14], "seconds": [0.25, 1.625]}
    demo_report, cli_report = (json.loads((f / "camera_from_video.json").read_text()) for f in (s.scene, cli))
    assert demo_report["source"] == "walk.mp4" and str(walk.parent) not in json.dumps(demo_report)
    assert demo_report["clip_range"] == cli_report["clip_range"]
    assert demo_report["clip_frame_indices"] == cli_report["clip_frame_indices"]
    for name in ("cameras.json", "transforms.json", "cameras_rel.json"):
        demo_cams, cli_cams = (json.loads((f / name).read_text()) for f in (s.scene, cli))
        assert shape(demo_cams) == shape(cli_cams), name
        # the same seeded SfM on the same frames, twice: measured equal to the bit here; 1e-5 for another CPU's float32
        np.testing.assert_allclose(numbers(demo_cams), numbers(cli_cams), atol=1e-5, err_msg=name)
    archive = zip_folders([s.scene], tmp_path / "download.zip")
    names = zipfile.ZipFile(archive).namelist()
    assert "scene/camera_from_video.json" in names and "scene/camera_path.png" in names


def test_an_end_past_the_clip_is_said_and_reads_to_its_end(page, walk, tmp_path):
    s = Session.create(tmp_path)
    _, glb, msg = camera(page, s, camera_video=str(walk), camera_start="8f", camera_end="99f", frames=4)
    assert glb is not None, msg
    assert "(frames 8-15 of the clip, 1-1.88 s)" in msg, msg
    assert ("The video's cameras: End 99f is past the end of walk.mp4 (16 frames, 2 s): the range reads to its "
            "end.") in msg, msg
