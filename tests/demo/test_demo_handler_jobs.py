"""The page's jobs as an API client (``gradio_client``) reaches them: a cancel flag per job, a result kept through
a cancelled or failed run, the lift following the scene, a closed tab leaving no files, devices named once. Jobs are
faked where the model's work is not what is tested."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from genxd.demo.jobs import Cancelled
from genxd.demo.session import Session

from .conftest import SCENE, generate, inputs_of, no_progress, session_with_image

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")


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


def test_closing_the_tab_removes_the_sessions_folder(page):
    tab = SimpleNamespace(session_hash="tab-1")
    s, *_ = page.fn["upload"].fn(None, [str(SCENE)], **inputs_of(page.fn["upload"]), request=tab)
    assert s.dir.is_dir() and len(page.unload) == 1
    running = s.jobs.start()
    page.unload[0](request=tab)
    assert not s.dir.exists() and running.is_set() and s.closed  # its jobs stop too
    again, *_ = page.fn["upload"].fn(s, [str(SCENE)], **inputs_of(page.fn["upload"]), request=tab)
    assert again is not s and again.dir.is_dir() and again.inputs  # an event from it after that: a fresh session


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
