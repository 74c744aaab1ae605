"""The page's handlers as an API client (``gradio_client``) reaches them: values checked like the command line's,
one-line messages without server paths, a cancel flag per job, the lift following the scene, upload and frame
limits, stable endpoint names. Jobs are faked where the model's work is not what is tested."""

from __future__ import annotations

import json
import logging
import math
import struct
import threading
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from genxd.cameras import trajectories
from genxd.demo import cameras as cam
from genxd.demo.jobs import Cancelled
from genxd.demo.session import Limits, Session, validate_uploads

from ..helpers import ROOT, png_chunk

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")

SCENE = ROOT / "examples" / "scene_a.png"
API_NAMES = {"upload", "camera", "prepare", "generate", "cancel", "lift", "time"}


def no_progress(*args, **kwargs) -> None:
    pass


def bomb_png(path: Path, side: int = 20_000) -> Path:
    """A PNG whose header says ``side x side`` pixels (over PIL's decompression-bomb limit); a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b""))
                     + png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page built on the CPU with the bundled model: its public handlers by API name, and its config."""
    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    config = DemoConfig(root=tmp_path_factory.mktemp("sessions"))
    demo = build_app(Devices(None, ["cpu"]), config)
    fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
    named = {}
    for f in fns:  # by API name; by handler name (on_generate: "generate") where an event has none
        for name in (f.api_name if f.api_visibility == "public" else None, getattr(f.fn, "__name__", "")[3:]):
            if name and name not in named:
                named[name] = f
    unload = [f.fn for f in fns if any(event == "unload" for _, event in f.targets)]
    return SimpleNamespace(demo=demo, fn=named, config=config, fns=fns, unload=unload)


def inputs_of(fn, **given) -> dict:
    """The values of ``fn``'s keyword inputs by their API names (the camera controls, /generate's Sampling controls):
    the page's defaults, ``given`` by elem_id (``-`` as ``_``)."""
    names = fn.input_keyword_names
    out = {}
    for name, comp in zip(names, fn.inputs[len(fn.inputs) - len(names):]):
        key = (comp.elem_id or "").replace("-", "_")
        if key in given:
            out[name] = given[key]
        elif type(comp).__name__ == "Dataframe":
            out[name] = [list(r) for r in cam.DEFAULT_KEYFRAMES]
        elif type(comp).__name__ in ("File", "Video"):
            out[name] = None
        else:
            out[name] = comp.value
    return out


def session_with_image(root: Path) -> Session:
    s = Session.create(root)
    s.inputs = validate_uploads([SCENE], s.dir / "inputs", Limits())
    return s


def generate(page, s: Session, **given):
    return page.fn["generate"].fn(s, progress=no_progress, **inputs_of(page.fn["generate"], **given))


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


# ---------------------------------------------------------------------- 2. devices
def test_a_device_named_twice_is_refused(monkeypatch):
    from typer.testing import CliRunner

    import genxd.cli.demo as demo_cli
    from genxd.cli import app
    from genxd.demo.jobs import Devices

    monkeypatch.setattr(demo_cli, "serve", lambda *a, **k: (_ for _ in ()).throw(AssertionError("started")))
    res = CliRunner().invoke(app, ["demo", "--device", "cpu", "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == ["genxd: error: --device cpu names a device given before; one job runs at a time "
                                       "per device, so give each device once"]
    with pytest.raises(ValueError, match="device cpu is given twice"):
        Devices(None, ["cpu", "cpu"])
    from genxd.demo.jobs import duplicate_devices

    assert duplicate_devices(["cpu", "cpu"]) == ["cpu"] and duplicate_devices(["cuda", "cuda:0"]) == ["cuda:0"]
    assert duplicate_devices(["cuda:0", "cuda:1", "cpu"]) == []


# ---------------------------------------------------------------------- 3. cancel
def test_cancel_stops_the_job_it_was_pressed_for_even_after_a_new_generate(page, tmp_path, monkeypatch):
    """Cancel at 4 s, Generate again at 5 s: the first job ran to completion (146 s), since the second's prepare
    cleared the session's one cancel flag."""
    import genxd.demo.app as app

    started = []

    def slow_job(model, request, folder, progress, cancel):
        started.append(cancel)
        for _ in range(200):  # 2 s, checking the flag as the denoising loop does
            if cancel.is_set():
                raise Cancelled()
            time.sleep(0.01)
        folder.mkdir(parents=True)
        (folder / "video.mp4").write_bytes(b"x")
        return folder

    monkeypatch.setattr(app, "generate_scene", slow_job)
    prepare, cancel = page.fn["prepare"].fn, page.fn["cancel"].fn
    s = session_with_image(tmp_path)
    results = {}

    def job(k):
        results[k] = generate(page, s, steps=1)[-1]

    prepare(s)
    first = threading.Thread(target=job, args=(1,))
    first.start()
    while not started:
        time.sleep(0.01)
    assert cancel(s) == "Cancelling..."
    prepare(s)  # Generate pressed again while the first job is still running
    second = threading.Thread(target=job, args=(2,))
    second.start()
    first.join(30)
    second.join(30)
    assert results == {1: "Generation cancelled.", 2: results[2]} and results[2].startswith("Generated 8 frames")
    assert len(started) == 2 and started[0] is not started[1] and not started[1].is_set()
    assert cancel(s) == "Nothing to cancel."



@pytest.mark.parametrize("failure", [Cancelled(), RuntimeError("out of memory")])
def test_a_cancelled_or_failed_generation_keeps_the_previous_result(page, tmp_path, monkeypatch, failure):
    """Generate pressed again, then Cancel (or the job failed): the previous run's folder was removed as the job
    started and the page cleared its video and download, so the result the user had was lost (found by the web
    demo audit)."""
    import genxd.demo.app as app

    def job(model, request, folder, progress, cancel):
        if calls:
            raise failure
        calls.append(1)
        folder.mkdir(parents=True)
        (folder / "video.mp4").write_bytes(b"x")
        return folder

    calls = []
    monkeypatch.setattr(app, "generate_scene", job)
    s = session_with_image(tmp_path)
    assert generate(page, s, steps=1)[-1].startswith("Generated")
    (archive,) = s.scene.parent.glob("genxd_*.zip")
    first = s.scene
    *outputs, status = generate(page, s, steps=1)
    assert status == "Generation cancelled." if isinstance(failure, Cancelled) else "out of memory" in status
    assert all(o == {"__type__": "update"} for o in outputs), outputs  # the page keeps what it shows
    assert s.scene == first and (first / "video.mp4").is_file() and archive.is_file()
    assert sorted(p.name for p in s.dir.glob("run*")) == [first.parent.name]  # the failed run's folder is gone

def test_a_new_upload_while_a_job_waits_leaves_the_job_its_images(page, tmp_path, monkeypatch):
    """A new upload removes the last upload's files; a Generate waiting for the device (another user's job, or the
    Lift) then failed reading its images. The job reads copies of its own, removed when it ends."""
    import PIL.Image

    import genxd.demo.app as app

    upload = page.fn["upload"].fn
    seen = []

    def job(model, request, folder, progress, cancel):
        PIL.Image.new("RGB", (32, 32), "blue").save(tmp_path / "next.png")
        upload(s, [str(tmp_path / "next.png")], **inputs_of(page.fn["upload"]))  # while the job waits
        seen.extend((p.name, PIL.Image.open(p).convert("RGB").getpixel((0, 0))) for p in request.images)
        folder.mkdir(parents=True)
        (folder / "video.mp4").write_bytes(b"x")
        return folder

    monkeypatch.setattr(app, "generate_scene", job)
    s = Session.create(tmp_path / "sessions")
    PIL.Image.new("RGB", (32, 32), "red").save(tmp_path / "first.png")
    upload(s, [str(tmp_path / "first.png")], **inputs_of(page.fn["upload"]))
    assert generate(page, s, steps=1)[-1].startswith("Generated")
    assert seen == [("00_first.png", (255, 0, 0))]  # the job's image, read after the new upload
    assert [p.name for p in s.inputs] == ["00_next.png"]
    assert not list(s.dir.glob("job-inputs-*"))  # the job's copies are removed with it


def test_a_job_cancelled_while_it_waits_does_not_start():
    from genxd.demo.session import Jobs

    jobs = Jobs()
    jobs.request()
    assert jobs.cancel() == 1
    later = jobs.request()
    assert jobs.start().is_set() and jobs.start() is later and not later.is_set()


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


# ---------------------------------------------------------------------- 9. lift
@pytest.mark.parametrize("scene_mode, lifted", [("4d", "4d"), ("video", "4d"), ("3d", "3d")])
def test_lift_follows_the_scene_not_the_mode_control(page, tmp_path, monkeypatch, scene_mode, lifted):
    import genxd.demo.app as app

    seen = []

    def fake_lift(scene, out, *, mode, **kwargs):
        seen.append(mode)
        raise Cancelled()

    monkeypatch.setattr(app, "lift_scene", fake_lift)
    s = Session.create(tmp_path)
    s.scene = s.new_run() / "scene"
    s.scene.mkdir()
    (s.scene / "meta.json").write_text(json.dumps({"mode": scene_mode}))
    assert [c.elem_id for c in page.fn["lift"].inputs[1:]] == ["lift-iterations"]  # no Mode input
    assert page.fn["lift"].fn(s, 20, progress=no_progress)[-1] == "Lift cancelled."
    assert seen == [lifted]


def test_a_scene_kept_on_another_device_during_a_lift_leaves_the_lift_its_run(page, tmp_path, monkeypatch):
    """With several devices a Generate can finish while a Lift of the previous scene runs: keeping the new scene
    removed the run the Lift was writing into (its files vanished mid-optimisation and the page then showed the
    old scene's Gaussians beside the new video). Now the run stays until the Lift ends, its Gaussians are dropped
    with a line saying so, and the run is removed then."""
    import genxd.demo.app as app

    s = Session.create(tmp_path)
    s.scene = s.new_run() / "scene"
    s.scene.mkdir()
    (s.scene / "meta.json").write_text(json.dumps({"mode": "3d"}))
    lifted_run = s.scene.parent
    seen = {}

    def lift_while_a_newer_scene_is_kept(scene, out, **kwargs):
        newer = s.new_run() / "scene"  # the other device's Generate ends now
        newer.mkdir()
        s.keep_run(newer)
        seen["run kept under the lift"] = scene.is_dir()
        (out / "ply").mkdir(parents=True)
        return {"num_gaussians": 1, "train_metrics": {"psnr": 20.0}, "train_seconds": 1.0}

    monkeypatch.setattr(app, "lift_scene", lift_while_a_newer_scene_is_kept)
    splat, _, download, msg = page.fn["lift"].fn(s, 20, progress=no_progress)
    assert seen == {"run kept under the lift": True}
    assert splat is None and msg.startswith("A new scene was generated while lifting"), msg
    assert s.lift is None and s.scene.is_dir() and not lifted_run.exists()


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


def test_a_tab_closed_while_the_video_is_written_leaves_no_files(page, tmp_path):
    """The tab closes (its session folder removed) after the last denoising step, while the job writes the video:
    the job wrote the scene again under the removed folder, and it stayed until the server stopped."""
    s = session_with_image(tmp_path)

    def progress(fraction, desc=""):
        if desc == "writing the video":
            s.close()  # what the page's unload event does

    out = page.fn["generate"].fn(s, progress=progress, **inputs_of(page.fn["generate"], steps=1))
    assert not s.dir.exists(), sorted(str(p.relative_to(s.dir)) for p in s.dir.rglob("*"))
    assert out[0] is None and out[-1] == "The page was closed; the job's files are removed."  # no file to serve
    s = session_with_image(tmp_path)  # the same for Lift, closed after its last step
    assert generate(page, s, steps=1)[-1].startswith("Generated 8 frames")

    def lift_progress(fraction, desc=""):
        if desc == "optimising Gaussians: step 10 of 10":
            s.close()

    out = page.fn["lift"].fn(s, 10, progress=lift_progress)
    assert not s.dir.exists(), sorted(str(p.relative_to(s.dir)) for p in s.dir.rglob("*"))
    assert out[0] is None and out[-1] == "The page was closed; the job's files are removed."


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


def test_closing_the_tab_removes_the_sessions_folder(page):
    tab = SimpleNamespace(session_hash="tab-1")
    s, *_ = page.fn["upload"].fn(None, [str(SCENE)], **inputs_of(page.fn["upload"]), request=tab)
    assert s.dir.is_dir() and len(page.unload) == 1
    running = s.jobs.start()
    page.unload[0](request=tab)
    assert not s.dir.exists() and running.is_set() and s.closed  # its jobs stop too
    again, *_ = page.fn["upload"].fn(s, [str(SCENE)], **inputs_of(page.fn["upload"]), request=tab)
    assert again is not s and again.dir.is_dir() and again.inputs  # an event from it after that: a fresh session


# ---------------------------------------------------------------------- 13. the API
def test_api_names_are_stable_and_internal_events_hidden(page):
    info = page.demo.get_api_info()
    assert set(info["named_endpoints"]) == {f"/{n}" for n in API_NAMES} and not info.get("unnamed_endpoints")
    assert [r["label"] for r in info["named_endpoints"]["/generate"]["returns"]][-1] == "Status"
    hidden = [f for f in page.fns if f.api_visibility != "public" and f.fn is not None]
    assert {f.api_visibility for f in hidden} == {"private"} and len(hidden) > 30


def test_lifting_again_replaces_the_last_lifts_download(page, tmp_path, monkeypatch):
    """Each Lift wrote a new zip of the scene and its Gaussians into the run (its name holds the time), and none was
    removed until the next generation: pressing Lift again and again filled the disk with copies. Now a Lift's zip
    replaces the one before; the generation's own zip stays."""
    import genxd.demo.app as app
    from genxd.demo.jobs import download_name

    s = Session.create(tmp_path)
    s.scene = s.new_run() / "scene"
    s.scene.mkdir()
    (s.scene / "meta.json").write_text(json.dumps({"mode": "3d", "camera": "orbit", "seed": 0}))
    generated = s.scene.parent / download_name("3d", "orbit", 0, when=0.0)
    generated.write_bytes(b"the generation's zip")

    def fake_lift(scene, out, **kwargs):
        (out / "ply").mkdir(parents=True, exist_ok=True)
        (out / "scene.ply").write_bytes(b"gaussians")
        return {"num_gaussians": 1, "train_metrics": {"psnr": 20.0}, "train_seconds": 1.0}

    clock = iter(range(1000, 1000 + 3 * 3600, 3600))  # an hour between the lifts: names of their own
    monkeypatch.setattr(app, "lift_scene", fake_lift)
    monkeypatch.setattr(app, "viewer_copies", lambda lift, dest: [lift / "scene.ply"])
    monkeypatch.setattr(app, "download_name", lambda *a, **k: download_name(*a, **k, when=next(clock)))
    downloads = []
    for _ in range(3):
        splat, _, download, msg = page.fn["lift"].fn(s, 20, progress=no_progress)
        assert msg.startswith("3D 1 Gaussians"), msg
        downloads.append(Path(download["value"]))
    assert len(set(downloads)) == 3 and downloads[-1].is_file()
    assert sorted(s.scene.parent.glob("*.zip")) == sorted([generated, downloads[-1]])
