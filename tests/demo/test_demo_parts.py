"""The demo's parts without a browser: .glb writer, camera preview geometry, camera paths from the form,
upload validation, generation / lift jobs (progress, cancel, one job per device), splat framing, CLI."""

from __future__ import annotations

import json
import re
import struct
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras import trajectories
from genxd.demo import cameras as cam
from genxd.demo.glb import GlbScene
from genxd.demo.preview import frustum_corners, write_camera_preview
from genxd.demo.session import Limits, Session, validate_uploads

from ..helpers import ROOT, mpo_photo

SCENE = ROOT / "examples" / "scene_a.png"


def read_glb(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, total) == (b"glTF", 2, len(data))
    jlen, jtype = struct.unpack_from("<I4s", data, 12)
    assert jtype == b"JSON" and jlen % 4 == 0
    doc = json.loads(data[20:20 + jlen])
    blen, btype = struct.unpack_from("<I4s", data, 20 + jlen)
    assert btype == b"BIN\0" and 28 + jlen + blen == len(data)
    return doc, data[28 + jlen:]


def accessor(doc: dict, binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.float32 if acc["componentType"] == 5126 else np.uint32
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc["type"]]
    raw = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, dtype=dtype).reshape(acc["count"], width)


# ---------------------------------------------------------------------- glb / preview
def test_glb_layout_and_contents(tmp_path):
    scene = GlbScene()
    pts = np.array([[0, 0, 0], [1, 2, 3], [1, 2, 3], [-1, 0, 5]], dtype=np.float32)
    scene.add_lines(pts, np.array([[1, 0, 0]] * 4))
    image = np.zeros((5, 7, 3), np.uint8)
    image[0, 0] = (255, 0, 0)
    scene.add_image_quad(np.array([[0, 0, 0], [1, 0, 0], [1, -1, 0], [0, -1, 0]]), image)
    doc, binary = read_glb(scene.save(tmp_path / "a.glb"))
    lines, quad = (m["primitives"][0] for m in doc["meshes"])
    assert lines["mode"] == 1 and quad["mode"] == 4
    got = accessor(doc, binary, lines["attributes"]["POSITION"])
    np.testing.assert_array_equal(got, pts)
    acc = doc["accessors"][lines["attributes"]["POSITION"]]
    assert acc["min"] == [-1, 0, 0] and acc["max"] == [1, 2, 5]
    np.testing.assert_array_equal(accessor(doc, binary, lines["attributes"]["COLOR_0"])[0], [1, 0, 0, 1])
    np.testing.assert_array_equal(accessor(doc, binary, quad["indices"]).ravel(), [0, 1, 2, 0, 2, 3])
    assert all("KHR_materials_unlit" in m["extensions"] for m in doc["materials"])
    img = doc["images"][0]
    view = doc["bufferViews"][img["bufferView"]]
    import io

    import PIL.Image

    decoded = np.asarray(PIL.Image.open(io.BytesIO(binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]])))
    np.testing.assert_array_equal(decoded, image)
    for v in doc["bufferViews"]:
        assert v["byteOffset"] % 4 == 0


def test_frustum_corners_follow_the_convention():
    # identity camera, centred principal point, fx/W = 0.5: the image plane at depth 2 spans x, y in [-2, 2]
    K = torch.tensor([[[0.5, 0, 0.5], [0, 0.5, 0.5], [0, 0, 1.0]]])
    c = frustum_corners(torch.eye(4)[None], K, 2.0)[0]
    np.testing.assert_allclose(c.numpy(), [[-2, -2, 2], [2, -2, 2], [2, 2, 2], [-2, 2, 2]], atol=1e-9)
    # a camera moved and turned: corners move with it
    c2w, K = trajectories.orbit(num_frames=4)
    corners = frustum_corners(c2w, K, 1.0)
    centre = corners.mean(1)  # the image centre at depth 1 along each camera's +z
    np.testing.assert_allclose(centre.numpy(), (c2w[:, :3, 3] + c2w[:, :3, 2]).double().numpy(), atol=1e-5)


def test_camera_preview_puts_the_image_on_the_context_frames(tmp_path):
    c2w, K = trajectories.orbit(num_frames=8)
    img = np.full((16, 16, 3), 200, np.uint8)
    doc, binary = read_glb(write_camera_preview(tmp_path / "p.glb", c2w, K, [img, img], [0, 7]))
    names = [m["name"] for m in doc["meshes"]]
    assert names == ["cameras", "inputs", "input_0", "input_7"]
    # input 0's quad is the first camera's image plane (in glTF axes: y and z flipped)
    quad = accessor(doc, binary, doc["meshes"][2]["primitives"][0]["attributes"]["POSITION"])
    assert np.allclose(quad[:, 2], quad[0, 2]) and quad[0, 2] < 0  # in front of camera 0: -z in glTF
    assert quad[0, 1] > quad[3, 1]  # top-left above bottom-left: image up is +y


# ---------------------------------------------------------------------- camera paths
def test_preset_params_come_from_the_signatures():
    names = {p.name: p for p in cam.preset_params("orbit")}
    assert set(names) == {"elevation", "azimuth_range", "radius"} and names["azimuth_range"].kind == "range"
    pan = {p.name: p for p in cam.preset_params("pan")}
    assert pan["mode"].kind == "choice" and pan["mode"].choices == ("rotate", "translate")
    assert cam.preset_params("static") == []


def test_preset_path_matches_the_trajectory_function():
    c2w, K = cam.preset_path("orbit", 8, 1.1, {"elevation": 10, "azimuth_range": "0,90", "radius": 3})
    ref_c2w, ref_K = trajectories.orbit(num_frames=8, elevation=10.0, azimuth_range=(0.0, 90.0), radius=3.0, focal=1.1)
    torch.testing.assert_close(c2w, ref_c2w.float())
    torch.testing.assert_close(K, ref_K.float())
    with pytest.raises(ValueError, match="azimuth range"):
        cam.preset_path("orbit", 8, 1.1, {"azimuth_range": "0;90;1"})
    with pytest.raises(ValueError, match="pan mode"):
        cam.preset_path("pan", 8, 1.1, {"mode": "sideways"})
    with pytest.raises(ValueError, match="divisible by 4"):
        cam.preset_path("forward", 6, 1.1, {})


def test_a_spiral_focus_distance_of_0_is_named_as_the_page_names_it():
    """It was the preset's own line, with its Python names: "spiral: radius must be >= 0 and focus_distance > 0"."""
    with pytest.raises(ValueError, match=r"^focus distance must be a finite number in \(0, 10000\], got 0$"):
        cam.preset_path("spiral", 8, 1.1, {"focus_distance": 0})


def test_keyframes_pass_through_each_keyframe():
    rows = [[0, 0, 0, 0, 0, 0], [0.5, 0, 0, -20, 0, 0], ["", None, "", "", "", ""], [1, 0, 0.5, -40, 10, 0]]
    c2w, K = cam.keyframe_path(rows, 9, 1.2)
    assert c2w.shape == (9, 4, 4) and torch.allclose(K[:, 0, 0], torch.tensor(1.2))
    torch.testing.assert_close(c2w[0], torch.eye(4))
    torch.testing.assert_close(c2w[-1, :3, 3], torch.tensor([1.0, 0.0, 0.5]))
    # yaw -40: the last camera looks to its left (-x); pitch +10: and up (-y)
    fwd = c2w[-1, :3, 2]
    assert fwd[0] < -0.5 and fwd[1] < -0.1
    with pytest.raises(ValueError, match="keyframe 2: expected 6 numbers"):
        cam.keyframe_path([[0] * 6, [0, "a", 0, 0, 0, 0]], 8, 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        cam.keyframe_path([[0] * 6], 8, 1.0)


def test_camera_file_and_context_frames(tmp_path):
    from genxd.cameras.formats import save_camera_json

    c2w, K = trajectories.spiral(num_frames=6)
    save_camera_json(tmp_path / "path.json", c2w, K, 64, 64)
    got, _, _ = cam.file_path(tmp_path / "path.json", 8)  # the file's own frame count wins
    torch.testing.assert_close(got, c2w.float(), atol=1e-5, rtol=0)
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="other.json"):
        cam.file_path(tmp_path / "other.json", 8)
    assert cam.context_frames(1, 8) == [0]
    assert cam.context_frames(3, 8) == [0, 4, 7]
    with pytest.raises(ValueError, match="^8 input images need a path of at least 9 frames; this one has 8$"):
        cam.context_frames(8, 8)


def test_video_path_follows_the_clip_and_is_recovered_once_per_upload(monkeypatch, tmp_path):
    import genxd.cameras.from_video as fv
    from genxd.cameras.accuracy import compare_paths
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    torch.set_num_threads(1)
    clip = make_clip(11, "4d", 12, 128, 128, camera="handheld", motion_strength=0.5)
    video = tmp_path / "upload" / "walk.mp4"  # no camera file beside it: SfM on its frames
    video.parent.mkdir()
    write_video(video, clip.images, fps=8.0, quality=9)
    calls = []
    real = fv.recover_clip_cameras
    monkeypatch.setattr(fv, "recover_clip_cameras", lambda *a, **k: calls.append(a) or real(*a, **k))
    c2w, K, _ = cam.video_path(video, 12, 1.1, "4d")  # 12 cameras in time = the clip's 12 frames
    assert c2w.shape == (12, 4, 4) and K.shape == (12, 3, 3) and c2w.dtype == torch.float32
    torch.testing.assert_close(c2w[0], torch.eye(4), atol=1e-6, rtol=0)
    assert float(K[0, 0, 0]) == pytest.approx(1.1)
    e = compare_paths(c2w.double(), clip.c2w)
    # measured here 0.23 degrees mean and 0.9 % of the path (focal estimated, H.264, 128 px); the bounds of
    # tests/cameras/test_from_video.py (known focal there: 0.15 degrees, 0.6 %)
    assert e.mean_rot_err_deg < 0.6 and e.centre_err_sim3_rel < 0.03, e
    # the preview and the generation of the same upload, other frame counts and modes: no second SfM
    c2w8, _, _ = cam.video_path(video, 8, 1.1, "3d")
    assert c2w8.shape == (8, 4, 4) and len(calls) == 1
    with pytest.raises(FileNotFoundError, match="video not found: gone.mp4"):
        cam.video_path(tmp_path / "gone.mp4", 8, 1.1)


# ---------------------------------------------------------------------- uploads and sessions
def test_validate_uploads(tmp_path):
    bad = tmp_path / "upload" / "broken.png"
    bad.parent.mkdir()
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ValueError) as err:
        validate_uploads([bad], tmp_path / "dest", Limits())
    msg = str(err.value)
    assert msg.startswith("broken.png: cannot read image") and str(tmp_path) not in msg
    txt = tmp_path / "notes.txt"
    txt.write_text("hi")
    with pytest.raises(ValueError, match=r"^notes.txt: not an image file"):
        validate_uploads([txt], tmp_path / "dest", Limits())
    with pytest.raises(ValueError, match="at most 2"):
        validate_uploads([SCENE] * 3, tmp_path / "dest", Limits(max_images=2))
    with pytest.raises(ValueError, match="scene_a.png: file larger than 0.001 MiB"):
        validate_uploads([SCENE], tmp_path / "dest", Limits(max_file_mb=0.001))
    with pytest.raises(ValueError, match="scene_a.png: image of .* at most 0.001 megapixels"):
        validate_uploads([SCENE], tmp_path / "dest", Limits(max_pixels=1000))
    out = validate_uploads([SCENE, SCENE], tmp_path / "dest", Limits())
    assert [p.name for p in out] == ["00_scene_a.png", "01_scene_a.png"] and all(p.is_file() for p in out)


def test_a_48_megapixel_phone_photo_is_taken_as_genxd_generate_takes_it(tmp_path):
    """An 8000x6000 JPEG (a 48 MP phone photo) was refused ("at most 40 megapixels") although generation reads a
    JPEG at a reduced scale (genxd.utils.images.load_image) and genxd generate takes it; a PNG that large is still
    refused before decoding, now saying what to do."""
    import PIL.Image

    photo = tmp_path / "IMG_1234.jpg"
    PIL.Image.new("RGB", (8000, 6000), (200, 120, 40)).save(photo, quality=50)
    assert [p.name for p in validate_uploads([photo], tmp_path / "dest", Limits())] == ["00_IMG_1234.jpg"]
    big_png = tmp_path / "scan.png"
    PIL.Image.new("1", (8000, 6000)).save(big_png)  # 1 bit a pixel: small and quick to write
    with pytest.raises(ValueError, match=r"^scan.png: image of 8000x6000 pixels; at most 40 megapixels "
                                         r"\(downscale it first\)$"):
        validate_uploads([big_png], tmp_path / "dest", Limits())


def test_a_phone_photo_with_a_preview_picture_is_taken_as_a_still_jpeg(tmp_path):
    """A JPEG with MPF data (Pillow's "MPO": a preview picture after the photo) was checked at full size (an
    8000x6000 one refused, "at most 40 megapixels") and said to be "an animated image of 2 frames"."""
    import PIL.Image

    photo = mpo_photo(tmp_path / "IMG_1234.jpg", PIL.Image.new("RGB", (8000, 6000), (200, 120, 40)), quality=50)
    assert PIL.Image.open(photo).format == "MPO"
    notes: list[str] = []
    assert [p.name for p in validate_uploads([photo], tmp_path / "dest", Limits(), notes)] == ["00_IMG_1234.jpg"]
    assert notes == []
    small = mpo_photo(tmp_path / "IMG_1235.jpg", PIL.Image.new("RGB", (640, 480), (200, 120, 40)))
    validate_uploads([small], tmp_path / "dest", Limits(), notes)
    assert notes == []


def test_a_heic_upload_without_pillow_heif_says_what_to_install(tmp_path, monkeypatch):
    # Before: "IMG_0001.heic: not an image file (expected .png, ...)"; .heic is now accepted and read through
    # pillow-heif where it is installed, which here it is not
    import sys

    from genxd.utils import image_formats

    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    image_formats.register_heif_plugin.cache_clear()
    heic = tmp_path / "upload" / "IMG_0001.heic"
    heic.parent.mkdir()
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(256))
    with pytest.raises(ValueError, match=r"^IMG_0001.heic: a HEIC / HEIF photo .*pip install pillow-heif"):
        validate_uploads([heic], tmp_path / "dest", Limits())
    image_formats.register_heif_plugin.cache_clear()


def test_sessions_are_separate_and_cleaned(tmp_path):
    a, b = Session.create(tmp_path), Session.create(tmp_path)
    assert a.dir != b.dir and a.jobs is not b.jobs
    first = a.new_run()
    (first / "x").write_text("1")
    second = a.new_run()
    assert first.exists() and second.is_dir()  # the last result stays until the new one is kept
    a.keep_run(second / "scene")
    assert not first.exists() and second.is_dir() and a.scene == second / "scene"
    running = a.jobs.start()
    a.close()
    assert not a.dir.exists() and b.dir.exists() and running.is_set() and a.closed


def test_page_load_keeps_a_session_an_earlier_event_made(tmp_path):
    """On a busy server an upload can be handled before the page's load event: the load handler must keep the
    session that upload made (replacing it lost the upload: the next camera change read no images)."""
    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    demo = build_app(Devices(None, ["cpu"]), DemoConfig(root=tmp_path))
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    (on_load,) = [f.fn for f in fns if any(event == "load" for _, event in f.targets)]
    made = Session.create(tmp_path)
    assert on_load(made) is made
    fresh = on_load(None)
    assert isinstance(fresh, Session) and fresh.dir.is_dir() and fresh.dir != made.dir


def test_the_page_config_holds_no_memory_address(tmp_path):
    """Gradio serves the page's config to every client; the session State's delete callback was in it as
    "<bound method SessionsByPage.close of <... object at 0x7f...>>"."""
    import json

    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    demo = build_app(Devices(None, ["cpu"]), DemoConfig(root=tmp_path))
    text = json.dumps(demo.get_config_file(), default=str)
    assert '"delete_callback": "close"' in text  # the callback is there, by name
    assert not re.search(r"at 0x[0-9a-f]{6,}", text)


def test_the_page_builds_without_gradio_warnings(tmp_path):
    """Gradio 6 deprecates arguments it will drop in 7 (row_count=(n, "dynamic") was one) and warns about
    arguments it does not implement yet (row_limits): the page builds without a warning from Gradio, which
    ``genxd demo`` would print at every start."""
    import warnings

    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_app(Devices(None, ["cpu"]), DemoConfig(root=tmp_path))
    from_gradio = [f"{w.category.__name__}: {w.message}" for w in caught
                   if "gradio" in w.filename or (issubclass(w.category, DeprecationWarning) and "gradio" in str(w.message))]
    assert not from_gradio, from_gradio


def test_events_of_one_page_share_its_session(tmp_path):
    """Events of one page that run while its state is still empty (load, upload, camera change on a busy server)
    get the same session, so none replaces another's (an upload was lost this way under load); other pages get
    their own; closing one forgets it."""
    from genxd.demo.session import SessionsByPage

    sessions = SessionsByPage(tmp_path)
    a, again, b = sessions.get("page-a"), sessions.get("page-a"), sessions.get("page-b")
    assert a is again and b is not a and a.dir.is_dir() and b.dir.is_dir()
    sessions.close(a)
    assert not a.dir.exists() and b.dir.is_dir()
    assert sessions.get("page-a") is not a  # a page seen again after its state expired starts afresh
    assert sessions.get(None) is not sessions.get(None)  # no page: nothing to share
    sessions.close(None)


# ---------------------------------------------------------------------- jobs
@pytest.fixture(scope="module")
def devices():
    from genxd.demo.jobs import Devices

    return Devices(None, ["cpu"])


def request_for(num_frames: int = 4, steps: int = 2):
    from genxd.demo.jobs import GenerationRequest

    c2w, K = trajectories.orbit(num_frames=num_frames, azimuth_range=(0, 40), focal=1.1)
    return GenerationRequest(images=[SCENE], c2w=c2w.float(), K=K.float(), context_index=[0], num_inference_steps=steps)


@pytest.fixture(scope="module")
def generated(devices, tmp_path_factory):
    """One small generation (4 frames, 2 steps) shared by the job tests: (folder, progress reports, device)."""
    from genxd.demo.jobs import generate_scene

    seen = []
    with devices.acquire() as (device, model):
        folder = generate_scene(model, request_for(), tmp_path_factory.mktemp("gen") / "scene",
                                lambda f, t: seen.append((f, t)), threading.Event())
    return folder, seen, device


def test_generate_scene_reports_progress_and_writes_the_cli_outputs(generated, tmp_path):
    from genxd.demo.jobs import zip_folders

    folder, seen, device = generated
    assert device == "cpu"
    for name in ("video.mp4", "compare.mp4", "cameras.json", "transforms.json", "meta.json", "frames/003.png"):
        assert (folder / name).is_file(), name
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(t == "denoising step 2 of 2" for _, t in seen)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["app"] == "genxd demo" and meta["inputs"] == ["scene_a.png"] and meta["num_frames"] == 4
    import zipfile

    archive = zip_folders([folder], tmp_path / "out.zip")
    assert "scene/video.mp4" in zipfile.ZipFile(archive).namelist()


@pytest.mark.parametrize("num_frames, steps, stop_at, last", [
    (2, 10, "denoising step 1", "denoising step 1 of 10"),  # one window: stops at the next denoising step
    (12, 4, "UNet call 1 ", r"UNet call 1 of \d+"),  # a long path (window 8): stops at the next UNet call
])
def test_cancel_stops_generation_at_the_next_step(devices, tmp_path, num_frames, steps, stop_at, last):
    from genxd.demo.jobs import Cancelled, generate_scene

    cancel = threading.Event()
    texts = []

    def progress(f, text):
        texts.append(text)
        if text.startswith(stop_at):
            cancel.set()

    with devices.acquire() as (_, model), pytest.raises(Cancelled):
        generate_scene(model, request_for(num_frames=num_frames, steps=steps), tmp_path / "scene", progress, cancel)
    assert re.fullmatch(last, texts[-1]) and not (tmp_path / "scene").exists()


def test_a_path_longer_than_the_window_is_made_in_windows(devices, tmp_path):
    from genxd.demo.jobs import generate_scene, long_path_plan, request_notes

    seen = []
    request = request_for(num_frames=12, steps=2)  # the bundled model's window is 8 frames
    with devices.acquire() as (_, model):
        plan = long_path_plan(model, request)
        assert plan is not None and plan.window == 8
        notes = request_notes(model, request)
        folder = generate_scene(model, request, tmp_path / "scene", lambda f, t: seen.append((f, t)), threading.Event())
    assert len(notes) == 1 and "window of 8 frames" in notes[0] and "UNet calls" in notes[0]
    assert (folder / "frames" / "011.png").is_file() and not (folder / "frames" / "012.png").exists()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["num_frames"] == 12 and meta["long_path"]["window"] == 8 and len(meta["long_path"]["windows"]) >= 2
    from genxd.pipelines.long_paths import default_windows_per_call

    calls = plan.num_unet_calls(2, default_windows_per_call(8, 64, 64))
    texts = [t for _, t in seen]
    assert texts[0] == f"UNet call 0 of {calls}" and f"UNet call {calls} of {calls}" in texts
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_request_notes_name_values_outside_the_trained_ranges(devices):
    from genxd.demo.jobs import request_notes

    with devices.acquire() as (_, model):
        assert request_notes(model, request_for(num_frames=8)) == []  # 8 frames, 64 px, 3d: nothing to say
        r = request_for(num_frames=8)
        r.mode, r.motion_strength = "4d", 50.0
        (note,) = request_notes(model, r)
        lo, hi = model.trained["motion_strength"]
        assert note == f"Motion strength 50 is outside what the bundled model was trained on ({lo:g}-{hi:g}): results may be poor."
        r.motion_strength = 5.0
        assert request_notes(model, r) == []
        r.mode, r.motion_strength = "3d", 50.0  # 3d ignores the motion strength: said so (not "outside")
        assert request_notes(model, r) == ["Motion strength 50 is not used in 3D mode (a static scene): generated "
                                           "with 0; choose Video or 4D for moving objects."]
        r.motion_strength = 0.0
        r.resolution = 128
        assert [n.split(" is ")[0] for n in request_notes(model, r)] == ["Resolution 128"]
        # 4d windows follow time; a second image spread to the last frame conditions the window holding it
        from genxd.demo.jobs import long_path_plan

        r = request_for(num_frames=20)
        r.mode, r.images, r.context_index = "4d", [SCENE, SCENE], [0, 19]
        plan = long_path_plan(model, r)
        assert plan.strategy == "temporal" and any(19 in w.context for w in plan.windows)



def test_a_frame_count_under_the_models_window_is_noted_as_genxd_generate_warns(devices):
    """genxd generate warns for --frames 4 with the bundled model (trained on 8); the page said nothing (found by
    the web demo audit). A path longer than the window is made in windows of 8: no note for its length."""
    from genxd.demo.jobs import request_notes

    with devices.acquire() as (_, model):
        assert request_notes(model, request_for(num_frames=4)) == [
            "Frames 4 is outside what the bundled model was trained on (8): results may be poor."]
        assert not any(n.startswith("Frames") for n in request_notes(model, request_for(num_frames=20)))

def test_one_job_at_a_time_per_device():
    from genxd.demo.jobs import Devices

    pool = Devices(None, ["cpu"])
    pool._loaded["cpu"] = object()  # no model needed to test the hand-over
    running, overlap = [], []

    def job():
        with pool.acquire():
            running.append(1)
            overlap.append(len(running))
            time.sleep(0.05)
            running.pop()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == [1, 1, 1, 1]


def test_stopping_the_server_waits_for_the_running_job_to_stop(monkeypatch):
    """Ctrl-C / SIGTERM during a generation: the server said "demo stopped" and Python exited with the job's thread
    still in the model, which aborted the process ("terminate called without an active exception", a C++ stack
    dump) while the job could still write into the folder being removed. Now the job is cancelled and waited for."""
    import genxd.demo.app as app
    from genxd.demo.jobs import Cancelled, Devices

    pool = Devices(None, ["cpu"])
    pool._loaded["cpu"] = object()
    started, ended = threading.Event(), []

    def job():
        cancel = threading.Event()
        try:
            with pool.acquire(cancel):
                started.set()
                for _ in range(200):  # a job checks its flag at each step
                    if cancel.is_set():
                        raise Cancelled()
                    time.sleep(0.05)
        except Cancelled:
            ended.append("cancelled")

    class Blocks:
        closed = False

        @property
        def is_running(self):
            raise KeyboardInterrupt  # Ctrl-C while the job runs

        def close(self, verbose=True):
            self.closed = True

    monkeypatch.setattr(app, "start", lambda *args, **kwargs: None)
    worker = threading.Thread(target=job, daemon=True)
    worker.start()
    assert started.wait(5)
    demo = Blocks()
    app.launch(demo, "127.0.0.1", 7860, None, pool)
    assert demo.closed and ended == ["cancelled"] and not worker.is_alive()
    with pytest.raises(Cancelled):  # a job asked for afterwards does not start
        with pool.acquire(threading.Event()):
            pass


def test_lift_and_viewer_copies(generated, tmp_path):
    """4D lift (one .ply per time for the time slider) and the framed copies the viewer shows."""
    from plyfile import PlyData

    from genxd.demo.jobs import lift_scene, viewer_copies

    scene = generated[0]
    seen = []
    record = lift_scene(scene, tmp_path / "lift", mode="4d", iterations=6, device="cpu",
                        progress=lambda f, t: seen.append(f), cancel=threading.Event(), init_points=300)
    assert record["num_gaussians"] > 0 and seen[-1] == 1.0
    shown = viewer_copies(tmp_path / "lift", tmp_path / "viewer")
    assert [p.name for p in shown] == [f"time_{i:04d}.ply" for i in range(4)]  # one per generated frame
    offsets = []
    for copy in shown:
        src = PlyData.read(str(tmp_path / "lift" / "ply" / copy.name))["vertex"]
        out = PlyData.read(str(copy))["vertex"]
        assert out.count == src.count
        names = {p.name for p in out.properties}
        assert {"x", "y", "z", "f_dc_0", "opacity", "scale_0", "rot_0"} <= names and "f_rest_0" not in names
        # a similarity: distances scale by one factor, log-scales shift by its log, quaternions stay unit
        p0 = np.stack([src["x"], src["y"], src["z"]], 1)[:50].astype(np.float64)
        p1 = np.stack([out["x"], out["y"], out["z"]], 1)[:50].astype(np.float64)
        ratio = np.linalg.norm(p1[1:] - p1[:-1], axis=1) / np.linalg.norm(p0[1:] - p0[:-1], axis=1)
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
        np.testing.assert_allclose(out["scale_0"][:50] - src["scale_0"][:50], np.log(ratio[0]), atol=1e-4)
        q = np.stack([out[f"rot_{i}"] for i in range(4)], 1)
        np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
        offsets.append(ratio[0])
    np.testing.assert_allclose(offsets, offsets[0], rtol=1e-4)  # every time framed alike: no jump on the slider


def test_a_3d_lift_leaves_out_the_3dgs_model_folder(generated, tmp_path):
    """The page's lift writes no ``3dgs/`` folder: its ``cfg_args`` holds the server's absolute folder (the page
    never shows server paths, and the zip is downloaded) and its ply would be a second copy of ``scene.ply`` in the
    zip; ``genxd reconstruct`` writes it."""
    from genxd.demo.jobs import lift_scene, zip_folders

    lift_scene(generated[0], tmp_path / "lift", mode="3d", iterations=3, device="cpu",
               progress=lambda f, t: None, cancel=threading.Event(), init_points=100)
    assert (tmp_path / "lift" / "scene.ply").is_file() and not (tmp_path / "lift" / "3dgs").exists()
    import zipfile

    archive = zipfile.ZipFile(zip_folders([generated[0], tmp_path / "lift"], tmp_path / "out.zip"))
    assert not any(str(tmp_path) in archive.read(name).decode("latin-1") for name in archive.namelist())


@pytest.mark.cuda
def test_jobs_on_cuda(tmp_path):
    """GPU: generation with the fast path and lift on the GPU, as the demo runs them (skipped on CPU)."""
    from genxd.demo.jobs import Devices, generate_scene, lift_scene

    pool = Devices(None)
    assert pool.names[0].startswith("cuda")
    with pool.acquire() as (device, model):
        folder = generate_scene(model, request_for(num_frames=8, steps=25), tmp_path / "scene", lambda f, t: None,
                                threading.Event())
        record = lift_scene(folder, tmp_path / "lift", mode="3d", iterations=300, device=device,
                            progress=lambda f, t: None, cancel=threading.Event())
        # a path longer than the window: the long-path sampler on the GPU fast path (windows batched per call)
        long = generate_scene(model, request_for(num_frames=20, steps=4), tmp_path / "long", lambda f, t: None,
                              threading.Event())
    # the same lift on the CPU reached 31.3 dB (docs/benchmarks.md); 15 dB only says the GPU path works
    assert (folder / "video.mp4").is_file() and record["train_metrics"]["psnr"] > 15
    assert (long / "frames" / "019.png").is_file() and json.loads((long / "meta.json").read_text())["long_path"]


def test_framing_turns_the_first_camera_into_the_viewer_camera():
    from genxd.demo.splats import VIEWER_HALF_TAN, _viewer_c2w, framing

    c2w, K = trajectories.orbit(num_frames=4, elevation=20, azimuth_range=(30, 90), focal=1.25)
    first = c2w[1].double().numpy()  # any camera: not the identity
    rng = np.random.default_rng(0)
    means = first[:3, 3] + (rng.normal(size=(500, 3)) * 0.2 + [0, 0, 2.0]) @ first[:3, :3].T
    f = framing(first, K[1].double().numpy(), means, np.full(500, 2.0))
    rot, pos = _viewer_c2w()
    d = np.linalg.norm(f.centre - first[:3, 3])
    assert abs(d - 2.0) < 0.1  # the median depth of the points
    np.testing.assert_allclose(f.rotation @ first[:3, :3], rot, atol=1e-6)  # c2w is float32
    # the first camera lands on the viewer's axis; the scene at depth d fills the viewer's height as it filled
    # the image's: d * s * VIEWER_HALF_TAN... i.e. s = (5 / d) * VIEWER_HALF_TAN / (0.5 / fy)
    np.testing.assert_allclose(f.scale, 5.0 / d * VIEWER_HALF_TAN / (0.5 / 1.25), rtol=1e-6)  # K is float32
    landed = f.points(first[None, :3, 3])[0]
    np.testing.assert_allclose(landed / np.linalg.norm(landed), pos / np.linalg.norm(pos), atol=1e-6)


# ---------------------------------------------------------------------- CLI
def test_cli_checks_its_options_before_loading_anything():
    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from typer.testing import CliRunner

    from genxd.cli import app

    runner = CliRunner()
    for args, text in ((["--port", "0"], "--port must be an integer in 1..65535"),
                       (["--max-images", "0"], "--max-images must be an integer in 1..1000"),
                       (["--device", "tpu"], "--device must be one of cpu, cuda, cuda:N")):
        result = runner.invoke(app, ["demo", *args])
        assert result.exit_code == 2 and text in result.output, result.output


def test_cli_says_what_to_install_without_gradio(monkeypatch):
    import importlib
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    monkeypatch.delitem(sys.modules, "genxd.cli.demo", raising=False)  # put back after the test
    with pytest.raises(ImportError) as err:
        importlib.import_module("genxd.cli.demo")
    assert err.value.name == "gradio" and "[demo]" in str(err.value)
