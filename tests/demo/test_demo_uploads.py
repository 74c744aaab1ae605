"""The demo's uploads and sessions: images checked as `genxd generate` checks them, one session per page."""

from __future__ import annotations

import re

import pytest

from genxd.demo.session import Limits, Session, validate_uploads

from ..helpers import ROOT, mpo_photo

SCENE = ROOT / "examples" / "scene_a.png"



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


def test_a_refused_upload_leaves_no_copies_of_its_good_images(tmp_path):
    """A good image then a broken one: the good one was copied into the session's folder before the broken one was
    refused, and stayed there (unused: the upload failed) until the next upload or the session's end."""
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"")
    dest = tmp_path / "dest"
    notes: list[str] = []
    with pytest.raises(ValueError, match=r"^broken\.png: cannot read image"):
        validate_uploads([SCENE, bad], dest, Limits(), notes)
    assert (not dest.exists() or not any(dest.iterdir())) and notes == []
    taken = validate_uploads([SCENE], dest, Limits(), notes)
    assert [p.name for p in taken] == ["00_scene_a.png"] and sorted(dest.iterdir()) == taken


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


def test_sessions_of_clients_without_a_heartbeat_are_bounded(tmp_path):
    """A raw HTTP client (``/call/upload``) gets a new session hash, so a new session and folder with the upload's
    copies, on every request, and Gradio drops such a state only after hours: the folders piled up without bound.
    Past ``max_sessions`` the least recently used idle sessions close (their folders go), then those whose job only
    waits for a device; one whose job runs stays."""
    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from types import SimpleNamespace

    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    root = tmp_path / "sessions"
    demo = build_app(Devices(None, ["cpu"]), DemoConfig(root=root, max_sessions=3))
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    (upload,) = [f for f in fns if f.api_name == "upload"]
    camera = {name: comp.value for name, comp in zip(upload.input_keyword_names, upload.inputs[2:])}
    camera.update(camera_file=None, camera_video=None, keyframes=None)
    made = []
    for k in range(8):  # eight requests, each with a session hash of its own
        s, *_, msg = upload.fn(None, [str(SCENE)], SimpleNamespace(session_hash=f"call-{k}"), **camera)
        assert "Error" not in msg, msg
        made.append(s)
        if k == 0:
            busy = s.jobs.request()  # a Generate asked for: this session is not closed under its job
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(folders) == 3 and len(list(root.glob("*/inputs/*"))) == 3
    assert made[0].dir.is_dir() and not made[0].closed and not busy.is_set()
    assert made[-1].dir.is_dir() and made[-2].dir.is_dir()
    assert all(s.closed and not s.dir.exists() for s in made[1:-2])
    # past the limit with no idle session left: a job only waiting for a device goes (a client can ask for one in
    # every session of its own), a running one never
    running = made[-1].jobs.start()
    made[-2].jobs.request()
    later, *_ = upload.fn(None, [str(SCENE)], SimpleNamespace(session_hash="call-late"), **camera)
    assert made[0].closed and busy.is_set() and not made[0].dir.exists()
    assert not made[-1].closed and not running.is_set() and not made[-2].closed and later.dir.is_dir()
    later2, *_ = upload.fn(None, [str(SCENE)], SimpleNamespace(session_hash="call-later"), **camera)
    assert later.closed and not made[-2].closed and not made[-1].closed and later2.dir.is_dir()  # idle ones first
    assert len([p for p in root.iterdir() if p.is_dir()]) == 3
