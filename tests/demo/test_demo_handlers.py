"""The page's handlers as an API client (``gradio_client``) reaches them: uploads and values checked like the
command line's, one-line messages without server paths, frame limits, notes, stable endpoint names (the jobs:
test_demo_handler_jobs.py). Jobs are faked where the model's work is not what is tested."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from genxd.cameras import trajectories
from genxd.demo import cameras as cam
from genxd.demo.session import Limits, Session, validate_uploads

from ..helpers import ROOT
from .conftest import SCENE, bomb_png, generate, inputs_of, session_with_image

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")

API_NAMES = {"upload", "camera", "prepare", "generate", "cancel", "lift", "time"}


# ---------------------------------------------------------------------- 1. uploads
def test_an_upload_over_the_decompression_bomb_limit_is_one_line_and_clears_the_inputs(page, tmp_path):
    import PIL.Image

    upload = page.fn["upload"].fn
    s = session_with_image(tmp_path)
    (tmp_path / "gradio" / "0123abcd").mkdir(parents=True)  # where Gradio puts an upload
    bomb = bomb_png(tmp_path / "gradio" / "0123abcd" / "bomb.png")
    s, gallery, preview, status = upload(s, [str(bomb)], **inputs_of(page.fn["upload"]))
    limit = PIL.Image.MAX_IMAGE_PIXELS
    assert status == (f'<span class="error">Error: bomb.png: image too large: over PIL\'s decompression-bomb limit of '
                      f'{limit:,} pixels (downscale it first)</span>')
    assert s.inputs == [] and gallery is None and preview is None  # nothing stale for the next Generate
    assert generate(page, s)[-1].endswith("upload an image first</span>")



def test_a_new_upload_removes_the_copies_of_the_last(page, tmp_path):
    """Each upload's images were copied into the session's folder and never removed (until the session ended):
    a page used for hours, or an API client (6 hours), kept every image ever uploaded (found by the web demo
    audit)."""
    import PIL.Image

    upload = page.fn["upload"].fn
    s = Session.create(tmp_path / "sessions")
    values = inputs_of(page.fn["upload"])
    for name in ("first.png", "second.png"):
        PIL.Image.new("RGB", (32, 32), "red").save(tmp_path / name)
        s, *_ = upload(s, [str(tmp_path / name)], **values)
    assert [p.name for p in (s.dir / "inputs").iterdir()] == ["00_second.png"]
    s, *_ = upload(s, [str(tmp_path / "missing.png")], **values)  # a failed upload leaves no inputs and no copies
    assert s.inputs == [] and not list((s.dir / "inputs").glob("*"))

def test_the_gallery_shows_a_tiff_upload_as_a_png(page, tmp_path):
    """A TIFF upload (taken, as genxd generate takes it) was shown in the input gallery as the .tif itself, which
    browsers other than Safari do not display: a broken picture. It is shown as a PNG of the image; a PNG upload
    as itself, and the next upload removes the PNG with the inputs."""
    import PIL.Image

    upload = page.fn["upload"].fn
    values = inputs_of(page.fn["upload"])
    s = Session.create(tmp_path / "sessions")
    PIL.Image.new("RGB", (48, 32), (200, 30, 10)).save(tmp_path / "photo.tif")
    s, gallery, _, status = upload(s, [str(tmp_path / "photo.tif")], **values)
    ((shown, caption),) = gallery
    assert caption == "photo.tif" and status.endswith("Press Generate."), status
    with PIL.Image.open(shown) as im:
        assert im.format == "PNG" and im.size == (48, 32) and im.convert("RGB").getpixel((5, 5)) == (200, 30, 10)
    s, gallery, _, _ = upload(s, [str(SCENE)], **values)
    assert gallery == [(str(s.inputs[0]), "scene_a.png")] and not Path(shown).exists()


def test_an_upload_named_up_to_the_file_name_limit_is_taken(page, tmp_path):
    """A name of 253-255 bytes failed, "cannot read the upload (OSError)": its copy's ``00_`` prefix took it past
    the 255-byte file-name limit (Gradio cuts names to 200 bytes; an API client calling the handler does not). The
    copy's stem is cut, keeping the suffix, to leave room for the gallery's ``.png`` of a TIFF too."""
    import PIL.Image

    png, tif = tmp_path / ("a" * 251 + ".png"), tmp_path / ("é" * 125 + ".tif")  # 255 and 254 bytes
    for path in (png, tif):
        PIL.Image.new("RGB", (32, 32), "red").save(path)
    s = Session.create(tmp_path / "sessions")
    s, gallery, _, status = page.fn["upload"].fn(s, [str(png), str(tif)], **inputs_of(page.fn["upload"]))
    assert status.endswith("Press Generate."), status
    assert [p.name for p in s.inputs] == ["00_" + "a" * 244 + ".png", "01_" + "é" * 122 + ".tif"]
    assert [caption for _, caption in gallery] == ["a" * 244 + ".png", "é" * 122 + ".tif"]
    assert all(len(Path(shown).name.encode()) <= 255 for shown, _ in gallery)


def test_an_animated_upload_says_only_its_first_frame_is_used(page, tmp_path):
    """genxd generate warns about it; the page said only "Press Generate" (the warning went to the server log,
    with the server's path)."""
    import PIL.Image

    frames = [PIL.Image.new("RGB", (32, 32), colour) for colour in ("red", "green", "blue")]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:])
    s = Session.create(tmp_path / "sessions")
    s, gallery, preview, status = page.fn["upload"].fn(s, [str(tmp_path / "clip.gif")], **inputs_of(page.fn["upload"]))
    assert status.startswith("clip.gif: an animated image of 3 frames: only the first is used. Camera path: orbit"), status
    assert len(gallery) == 1 and preview is not None


def test_the_upload_limit_is_in_mib_in_both_places(tmp_path, monkeypatch):
    """Gradio's max_file_size="20mb" is 20 MiB; the handlers refused files over 20e6 bytes, saying "MB"."""
    image = tmp_path / "photo.png"
    image.write_bytes(SCENE.read_bytes() + b"\0" * (1_000_001 - SCENE.stat().st_size))  # over 1e6 bytes, under 1 MiB
    assert [p.name for p in validate_uploads([image], tmp_path / "dest", Limits(max_file_mb=1))] == ["00_photo.png"]
    with pytest.raises(ValueError, match=r"^photo.png: file larger than 0.5 MiB$"):
        validate_uploads([image], tmp_path / "dest", Limits(max_file_mb=0.5))
    import genxd.demo.app as app
    from genxd.demo.session import MIB

    seen = {}

    class Blocks:
        def queue(self, **kwargs):
            pass

        def launch(self, **kwargs):
            seen.update(kwargs)

    config = SimpleNamespace(limits=Limits(max_file_mb=0.5))
    app.start(Blocks(), "127.0.0.1", 7860, config, ["cpu"])
    assert seen["max_file_size"] == MIB // 2  # bytes: the same limit, also for a fraction of a MiB


# ---------------------------------------------------------------------- 4. server paths
def test_messages_name_files_not_server_folders(page, tmp_path, monkeypatch):
    import genxd.cameras.from_video as from_video
    from genxd.cameras.clip_cameras import FromVideoError

    folder = tmp_path / "gradio" / "5f1e0c"
    folder.mkdir(parents=True)
    (folder / "notjson.json").write_text("{not json")
    (folder / "corrupt.mp4").write_bytes(b"not a video")
    camera = page.fn["camera"].fn
    s = Session.create(tmp_path)
    not_json, corrupt = str(folder / "notjson.json"), str(folder / "corrupt.mp4")
    _, glb, msg = camera(s, **inputs_of(page.fn["camera"], camera_source="file", camera_file=not_json))
    assert glb is None and msg.startswith('<span class="error">Error: notjson.json: not valid JSON')
    assert "5f1e0c" not in msg and str(tmp_path) not in msg  # not a folder of the server's
    _, glb, msg = camera(s, **inputs_of(page.fn["camera"], camera_source="video", camera_video=corrupt))
    assert glb is None and msg.startswith('<span class="error">Error: corrupt.mp4: cannot open as a video'), msg
    assert "5f1e0c" not in msg and str(tmp_path) not in msg

    def blank(path, advice, **kwargs):  # the error as recover_clip_cameras words it, with the advice it is given
        raise FromVideoError(f"{path}: structure from motion failed (...){advice.sfm_failure} (also with an assumed "
                             "focal length fx/W = 1.0)")

    monkeypatch.setattr(from_video, "recover_clip_cameras", blank)
    (folder / "blank.mp4").write_bytes(b"not read: the recovery is stood in for")
    with pytest.raises(ValueError) as err:
        cam.video_path(folder / "blank.mp4", 8, 1.0)
    assert str(err.value) == ("blank.mp4: structure from motion failed (...); a clip with more camera movement or "
                              "texture may work (also with an assumed focal length fx/W = 1.0)")


def test_the_preview_says_what_recovering_a_videos_cameras_warned_about(page, tmp_path, monkeypatch):
    """A clip whose camera stood still for some frames (or a tripod clip, or frames SfM left out): trajectory
    from-video warns, the page said nothing (cams.report['warnings'] was never shown)."""
    import genxd.cameras.from_video as from_video
    from genxd.cameras.clip_cameras import ClipCameras
    from genxd.cameras.geometry import intrinsics_from_focal

    folder = tmp_path / "gradio" / "7a2b9c"
    folder.mkdir(parents=True)
    video = folder / "walk.mp4"
    video.write_bytes(b"not read: the recovery is stood in for")
    c2w = torch.eye(4, dtype=torch.float64).repeat(8, 1, 1)
    c2w[:, 2, 3] = torch.linspace(0, 1, 8, dtype=torch.float64)
    warning = (f"the camera stands still in 2 of 8 frames (frames 3-4 repeat frame 2: ...): SfM placed the others "
               f"({video} read)")
    cams = ClipCameras(c2w, intrinsics_from_focal(1.0).double().expand(8, 3, 3).clone(), 64, 64, list(range(8)), 8,
                       torch.linspace(0, 1, 8, dtype=torch.float64), 1.0, "sfm", True, {"warnings": [warning]})
    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda path, advice, **kwargs: cams)
    camera = page.fn["camera"].fn
    s = Session.create(tmp_path)
    _, glb, msg = camera(s, **inputs_of(page.fn["camera"], camera_source="video", camera_video=str(video)))
    assert glb is not None, msg
    assert ("The video's cameras: the camera stands still in 2 of 8 frames (frames 3-4 repeat frame 2: ...): SfM "
            "placed the others (walk.mp4 read).") in msg, msg
    assert "7a2b9c" not in msg and str(tmp_path) not in msg  # not a folder of the server's
    assert cam.video_notes(video) == ["The video's cameras: the camera stands still in 2 of 8 frames (frames 3-4 "
                                      "repeat frame 2: ...): SfM placed the others (walk.mp4 read)."]


# ---------------------------------------------------------------------- 5. frame limit
def test_a_camera_file_longer_than_the_frame_limit_is_refused(page, tmp_path):
    from genxd.cameras.formats import save_camera_json

    c2w, K = trajectories.orbit(num_frames=800)
    save_camera_json(tmp_path / "long.json", c2w, K, 64, 64)
    limit = page.config.max_frames
    assert limit == 48 and page.fn["camera"].inputs[3].maximum == limit  # the Frames slider stops there too
    with pytest.raises(ValueError, match=r"^long.json has 800 cameras; this page makes at most 48 frames$"):
        cam.file_path(tmp_path / "long.json", 8, limit)
    s = session_with_image(tmp_path)
    status = generate(page, s, camera_source="file", camera_file=str(tmp_path / "long.json"))[-1]
    assert "long.json has 800 cameras; this page makes at most 48 frames" in status


def test_the_frame_limit_is_an_option_of_genxd_demo(monkeypatch):
    from typer.testing import CliRunner

    import genxd.cli.demo as demo_cli
    from genxd.cli import app

    seen = []
    monkeypatch.setattr(demo_cli, "check_port", lambda host, port: None)
    monkeypatch.setattr(demo_cli, "serve", lambda *a, **k: seen.append(a))
    assert CliRunner().invoke(app, ["demo", "--max-frames", "100"]).exit_code == 0
    assert seen[-1][-1] == 100
    res = CliRunner().invoke(app, ["demo", "--max-frames", "1"])
    assert res.exit_code == 2 and "--max-frames must be an integer in 2..10000" in res.stderr


# ---------------------------------------------------------------------- 6. values through the API
@pytest.mark.parametrize("given, message", [
    ({"guidance": 1e30}, "Guidance scale must be a finite number in [1, 100], got 1e+30"),
    ({"guidance": math.nan}, "Guidance scale must be a finite number in [1, 100], got nan"),
    ({"seed": 2**70}, f"Seed must be an integer in 0..{2**63 - 1}, got {2**70}"),
    ({"seed": -1}, f"Seed must be an integer in 0..{2**63 - 1}, got -1"),
    ({"resolution": 0}, "Resolution must be an integer in 8..4096, got 0"),
    ({"resolution": 72}, "Resolution must be a multiple of 16 for this model, got 72"),
    ({"steps": 0}, "Denoising steps must be an integer in 1..1000, got 0"),
    ({"motion": -1.0}, "Motion strength must be a finite number in [0, 100], got -1.0"),
    ({"focal": 1e6}, "Focal length (fx / width) must be a finite number in [0.05, 100], got 1000000.0"),
    ({"focal": -1.0}, "Focal length (fx / width) must be a finite number in [0.05, 100], got -1.0"),
    ({"focal": 1e-9}, "Focal length (fx / width) must be a finite number in [0.05, 100], got 1e-09"),
    ({"param_orbit_radius": 1e9}, "radius must be a finite number in (0, 10000], got 1000000000.0"),
    ({"param_orbit_elevation": math.inf}, "elevation (degrees) must be a finite number in [-90, 90], got inf"),
    ({"param_orbit_azimuth_range": "0,1e30"}, "azimuth range (degrees, from,to) must be a finite number in "
                                              "[-3600, 3600], got 1e+30"),
    ({"camera_source": "keyframes", "keyframes": [[0] * 6, [1e30, 0, 0, 0, 0, 0]]},
     "keyframe 2: x must be a finite number in [-10000, 10000], got 1e+30"),
    ({"camera_source": "keyframes", "keyframes": [[0] * 6, [0, 0, 0, 1e9, 0, 0]]},
     "keyframe 2: yaw must be a finite number in [-3600, 3600], got 1000000000.0"),
])
def test_values_from_the_api_are_checked_like_the_cli(page, tmp_path, monkeypatch, given, message):
    import genxd.demo.app as app

    monkeypatch.setattr(app, "generate_scene", lambda *a, **k: (_ for _ in ()).throw(AssertionError("a job ran")))
    status = generate(page, session_with_image(tmp_path), **given)[-1]
    assert status.startswith(f'<span class="error">Error: {message}'), status


# ---------------------------------------------------------------------- 7. 8. notes
def test_a_resolution_above_the_models_on_the_cpu_is_noted(page, tmp_path):
    _, msg = page.fn["prepare"].fn(Session.create(tmp_path), 256)
    assert msg == ("Waiting for a free device... Resolution 256 is above the model's own (64): slow on the CPU (each "
                   "denoising step takes much longer, and Cancel acts only between steps).")
    assert page.fn["prepare"].fn(Session.create(tmp_path), 64)[1] == "Waiting for a free device..."
    from genxd.demo.jobs import slow_on_cpu_note

    model = SimpleNamespace(defaults={"resolution": 64})
    assert slow_on_cpu_note(model, 256, "cuda:0") is None and slow_on_cpu_note(model, None, "cpu") is None


def test_motion_strength_in_3d_mode_is_not_used_and_recorded_as_0(page, tmp_path):
    s = session_with_image(tmp_path)
    status = generate(page, s, mode="3d", motion=20.0, steps=1, frames=2)[-1]
    assert "Motion strength 20 is not used in 3D mode (a static scene): generated with 0" in status, status
    meta = json.loads((s.scene / "meta.json").read_text())
    assert meta["mode"] == "3d" and meta["motion_strength"] == 0.0


# ---------------------------------------------------------------------- 10b. any JSON through the API
def test_camera_values_of_any_json_kind_are_one_line_not_the_catch_all(page, tmp_path, caplog):
    """Found by the demo-api fuzz target: a list as the preset's name and a table whose header is a dict (Gradio's
    table takes it) reached the camera preview's catch-all ("camera preview failed (TypeError)", a traceback in
    the server log)."""
    import pandas as pd

    s = session_with_image(tmp_path)
    caplog.set_level(logging.ERROR, logger="genxd.demo")
    fn = page.fn["camera"].fn
    _, glb, msg = fn(s, **inputs_of(page.fn["camera"], preset=[]))
    assert glb is None and msg.startswith('<span class="error">Error: Preset must be one of dolly, forward,'), msg
    table = pd.DataFrame(cam.DEFAULT_KEYFRAMES, columns=["x", "y", "z", {}, "pitch", "roll"])
    _, glb, msg = fn(s, **inputs_of(page.fn["camera"], camera_source="keyframes", keyframes=table))
    assert glb is not None and msg.startswith("Camera path: keyframes, 8 frames"), msg
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_a_zoom_the_generation_refuses_is_refused_by_the_preview_too(page, tmp_path):
    """A zoom factor of 1e-9 (positive, within the page's +-1e4): the preview drew the path and said "Press
    Generate", then Generate refused it with "K: normalised focal lengths must lie in 1e-06..1e+06 ..."."""
    s = session_with_image(tmp_path)
    given = {"preset": "zoom", "param_zoom_factor": 1e-9}
    _, glb, msg = page.fn["camera"].fn(s, **inputs_of(page.fn["camera"], **given))
    expected = "zoom factor 1e-09 takes the focal length 1.1 to 1.1e-09; it must stay in 1e-06..1e+06"
    assert glb is None and msg == f'<span class="error">Error: {expected}</span>', msg
    assert generate(page, s, **given)[-1] == msg


# ---------------------------------------------------------------------- 11. 12. keyframes, words, docs
def test_empty_keyframe_rows_from_the_page_are_skipped():
    nan = float("nan")
    c2w, _ = cam.keyframe_path([[0] * 6, [nan] * 6, [0.5, 0, 0, -20, 0, 0], [None, nan, "", nan, nan, nan]], 8, 1.2)
    torch.testing.assert_close(c2w[-1, :3, 3], torch.tensor([0.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"^keyframe 2: expected 6 numbers .*got \['', 1.0, 0, 0, 0, 0\]$"):
        cam.keyframe_path([[0] * 6, [nan, 1.0, 0, 0, 0, 0]], 8, 1.2)


def test_context_frames_message_reads_well():
    with pytest.raises(ValueError, match=r"^1 input image needs a path of at least 2 frames; this one has 1$"):
        cam.context_frames(1, 1)
    with pytest.raises(ValueError, match=r"^3 input images need a path of at least 4 frames; this one has 3$"):
        cam.context_frames(3, 3)


def test_docs_give_the_pages_default_steps(page):
    steps = next(c for c in page.fn["generate"].inputs if c.elem_id == "steps").value
    text = (ROOT / "docs" / "demo.md").read_text()
    assert f"{steps} denoising steps (the page's default)" in text


# ---------------------------------------------------------------------- 13. the API
def test_api_names_are_stable_and_internal_events_hidden(page):
    info = page.demo.get_api_info()
    assert set(info["named_endpoints"]) == {f"/{n}" for n in API_NAMES} and not info.get("unnamed_endpoints")
    assert [r["label"] for r in info["named_endpoints"]["/generate"]["returns"]][-1] == "Status"
    hidden = [f for f in page.fns if f.api_visibility != "public" and f.fn is not None]
    assert {f.api_visibility for f in hidden} == {"private"} and len(hidden) > 30
