"""The page through ``gradio_client`` on a server in the test's process: the endpoints' parameter names, the
example of docs/demo.md, the downloads' names, one-line refusals, and a client that goes away."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest

from genxd.demo.jobs import Cancelled

from ..helpers import ROOT, free_port
from .conftest import bomb_png

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")

SCENE = ROOT / "examples" / "scene_a.png"
DOCS = ROOT / "docs" / "demo.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The page served in this process on a free port, and a gradio_client on it."""
    import os

    from gradio_client import Client

    from genxd.demo.app import DemoConfig, build_app, start
    from genxd.demo.jobs import Devices

    root = tmp_path_factory.mktemp("server")
    old = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")
    devices = Devices(None, ["cpu"])
    config = DemoConfig(root=root / "sessions")
    demo = build_app(devices, config)
    port = free_port()
    start(demo, "127.0.0.1", port, config, devices, quiet=True)
    try:
        # downloads in the test's folder: gradio_client's default /tmp/gradio outlived the run, and as another user
        # than the one that made it the downloads failed ("[Errno 13] Permission denied: '/tmp/gradio/...'")
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(root / "downloads"))
    finally:
        demo.close(verbose=False)
        if old is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = old


def test_the_endpoints_parameters_have_names(server):
    """The parameters of /generate were m, strength, st, g, sd, res, ft, then param_8 ... param_29 (the camera
    controls, a duplicate Mode last), /prepare's res, /lift's iters: a script had to pass every value by position."""
    api = server.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {ep: [p["parameter_name"] for p in api[ep]["parameters"]] for ep in api}
    camera = ["source", "preset", "frames", "focal", "camera_file", "keyframes", "camera_video", "orbit_elevation",
              "orbit_azimuth_range", "orbit_radius", "forward_elevation", "forward_azimuth_range", "forward_radius",
              "spiral_radius", "spiral_num_rotations", "spiral_focus_distance", "dolly_distance", "zoom_factor",
              "pan_angle", "pan_mode", "pan_distance"]
    sampling = ["mode", "motion_strength", "steps", "guidance_scale", "seed", "resolution", "fit"]
    clip_range = ["camera_start", "camera_end"]  # last: a client passing the others by position is unchanged
    assert names["/generate"] == sampling + camera + clip_range
    assert names["/upload"] == ["images", *camera, "mode", *clip_range]
    assert names["/camera"] == [*camera, "mode", *clip_range]
    assert names["/prepare"] == ["resolution"] and names["/lift"] == ["iterations"] and names["/time"] == ["frame"]
    optional = {p["parameter_name"] for p in api["/generate"]["parameters"] if p["parameter_has_default"]}
    assert optional == set(sampling + camera + clip_range)  # a script names only what it changes (the files too)


def docs_example() -> str:
    """The ``gradio_client`` example of docs/demo.md."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "from gradio_client import" in b]
    return textwrap.dedent(code)


def test_the_docs_example_generates_and_downloads(server, tmp_path, monkeypatch):
    """docs/demo.md's script, against this server (one denoising step): it generates from an image with a preset
    and keeps the zip, named by what it holds (it was genxd_scene.zip for every download)."""
    code = docs_example()
    assert "http://127.0.0.1:7860/" in code and "examples/scene_a.png" in code and "steps=10" in code
    code = (code.replace("http://127.0.0.1:7860/", server.src).replace("examples/scene_a.png", str(SCENE))
            .replace("steps=10", "steps=1"))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOCS), "exec"), {})
    (kept,) = tmp_path.glob("*.zip")
    assert re.fullmatch(r"genxd_3d_forward_seed7_\d{8}-\d{6}\.zip", kept.name), kept.name
    names = zipfile.ZipFile(kept).namelist()
    assert "scene/video.mp4" in names and "scene/meta.json" in names


@pytest.mark.parametrize("mode, camera, seed, suffix, expected", [
    ("3d", "orbit", 0, "", "genxd_3d_orbit_seed0_{t}.zip"),
    ("4d", "walk (2).mp4", 12, "gaussians", "genxd_4d_walk-2_seed12_{t}_gaussians.zip"),
    ("video", "../../etc/passwd", 3, "", "genxd_video_passwd_seed3_{t}.zip"),
    ("3d", "café path.json", 1, "", "genxd_3d_cafe-path_seed1_{t}.zip"),  # was caf-path: accents are folded now
    ("3d", "Ångström 東京.json", 1, "", "genxd_3d_Angstrom_seed1_{t}.zip"),  # letters that do not fold are dropped
    ("3d", "....json", 1, "", "genxd_3d_path_seed1_{t}.zip"),
])
def test_download_names_say_what_they_hold(mode, camera, seed, suffix, expected):
    """Every download was genxd_scene.zip (or genxd_scene_and_gaussians.zip): a browser saved the next one as
    "genxd_scene (1).zip". Names say what the zip holds, of characters safe in any file system."""
    from genxd.demo.jobs import download_name

    when = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    assert download_name(mode, camera, seed, when, suffix) == expected.format(t="20260304-050607")


def test_the_lifts_download_is_named_after_its_scene(server, tmp_path):
    """The zip of a scene and its Gaussians was genxd_scene_and_gaussians.zip whatever the scene."""
    from gradio_client import Client, handle_file

    client = Client(server.src, verbose=False, download_files=str(tmp_path))
    client.predict(images=[handle_file(str(SCENE))], api_name="/upload")
    client.predict(api_name="/prepare")
    *_, status = client.predict(preset="spiral", frames=4, steps=1, seed=3, api_name="/generate")
    assert status.startswith("Generated"), status
    client.predict(api_name="/prepare")
    _, _, download, status = client.predict(iterations=10, api_name="/lift")
    assert status.startswith("3D "), status
    assert re.fullmatch(r"genxd_3d_spiral_seed3_\d{8}-\d{6}_gaussians\.zip", Path(download["value"]).name), download
    client.close()


def test_a_client_that_goes_away_cancels_its_job(server, monkeypatch, tmp_path):
    """A script killed while its job runs: gradio_client holds Gradio's heartbeat, whose end runs the page's unload
    event as a closed tab does, so the job stops at its next step (the docs said that an API client's session
    lived on until Gradio dropped its state). Pins that behaviour: it held before this change too."""
    import genxd.demo.app as app

    running, stopped = threading.Event(), threading.Event()

    def job(model, request, folder, progress, cancel):
        running.set()
        if cancel.wait(30):
            stopped.set()
            raise Cancelled()
        raise AssertionError("the job was not cancelled")

    monkeypatch.setattr(app, "generate_scene", job)
    script = ("import sys\nfrom gradio_client import Client, handle_file\n"
              "client = Client(sys.argv[1], verbose=False, download_files=sys.argv[3])\n"
              "client.predict(images=[handle_file(sys.argv[2])], api_name='/upload')\n"
              "client.predict(api_name='/prepare')\nclient.predict(steps=1, api_name='/generate')\n")
    # downloads in the test's folder, not gradio_client's /tmp/gradio (another user's on a shared machine: below)
    proc = subprocess.Popen([sys.executable, "-c", script, server.src, str(SCENE), str(tmp_path)])
    try:
        assert running.wait(60)
    finally:
        proc.kill()
        proc.wait()
    assert stopped.wait(20)


def test_through_gradio_client(server, tmp_path, capfd, caplog):
    """The tester's calls: a decompression bomb is one line (was gradio's "upstream app raised an exception"); a value
    Gradio refuses (a slider out of its range) is one line in the server log, not a traceback."""
    from gradio_client import handle_file

    gallery, preview, status = server.predict(images=[handle_file(str(bomb_png(tmp_path / "bomb.png")))],
                                              api_name="/upload")
    assert "Error: bomb.png: image too large: over PIL's decompression-bomb limit" in status
    assert str(tmp_path) not in status
    assert not gallery and not preview
    caplog.set_level(logging.WARNING, logger="genxd.demo")
    with pytest.raises(Exception, match="greater than maximum value 5000"):
        server.predict(99999, api_name="/lift")
    # a value of the wrong kind (Gradio's slider fails on it): the control's name, not "upstream app raised"
    with pytest.raises(Exception, match=r"Lift to 3D: optimisation steps: cannot read a value of type list"):
        server.predict([1, 2], api_name="/lift")
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert any("refused a value" in r.getMessage() and "5000" in r.getMessage() for r in caplog.records)


def test_two_clients_at_once_are_queued_and_keep_their_own_results(server, monkeypatch, tmp_path):
    """Two requests at once on a one-device server (run by the concurrency audit, 2026-12-06): the second waits for
    the first (one job at a time on the device, neither refused), and each client gets its own scene: its seed in
    its download's name and its meta.json, in a run folder of its own."""
    import json

    from gradio_client import Client, handle_file

    import genxd.demo.app as app

    real, running, most, folders = app.generate_scene, [], [], []

    def counted(model, request, folder, progress, cancel):
        running.append(request.seed)
        most.append(len(running))
        try:
            made = real(model, request, folder, progress, cancel)
        finally:
            running.remove(request.seed)
        folders.append(made)
        return made

    monkeypatch.setattr(app, "generate_scene", counted)
    results = {}

    def one(seed):
        client = Client(server.src, verbose=False, download_files=str(tmp_path / str(seed)))
        try:
            client.predict(images=[handle_file(str(SCENE))], api_name="/upload")
            client.predict(api_name="/prepare")
            _, _, download, *_, status = client.predict(preset="orbit", frames=4, steps=1, seed=seed,
                                                        api_name="/generate")
            results[seed] = (download, status)
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(seed,)) for seed in (11, 12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert sorted(results) == [11, 12], results
    assert most == [1, 1]  # queued, not run side by side
    assert len({f.parent for f in folders}) == 2  # a run folder each
    for seed, (download, status) in results.items():
        assert status.startswith("Generated"), status
        zipped = Path(download["value"])
        assert f"_seed{seed}_" in zipped.name, zipped.name
        with zipfile.ZipFile(zipped) as z:
            assert json.loads(z.read("scene/meta.json"))["seed"] == seed


def test_a_refused_generate_leaves_no_cancel_flag_behind(server, tmp_path):
    """/prepare gives the next job its cancel flag; a /generate that Gradio refused (a motion strength past the
    slider's range) never took it. The flag stayed: /cancel then said "Cancelling..." with nothing to cancel, and
    the next /prepare + /generate took that cancelled flag and stopped at once ("Generation cancelled.")."""
    from gradio_client import Client, handle_file

    # downloads in the test's folder: run as another user than the one who made /tmp/gradio, the default, this test
    # failed ("[Errno 13] Permission denied: '/tmp/gradio/...'"), as the server fixture's client did before
    client = Client(server.src, verbose=False, download_files=str(tmp_path))
    try:
        client.predict(images=[handle_file(str(SCENE))], api_name="/upload")
        client.predict(api_name="/prepare")
        with pytest.raises(Exception, match="greater than maximum value 100"):
            client.predict(mode="4d", motion_strength=500, frames=4, steps=1, api_name="/generate")
        assert client.predict(api_name="/cancel") == "Nothing to cancel."
        client.predict(api_name="/prepare")
        *_, status = client.predict(preset="orbit", frames=4, steps=1, api_name="/generate")
        assert status.startswith("Generated"), status
    finally:
        client.close()


def test_uploads_past_the_servers_budget_are_refused(tmp_path, monkeypatch):
    """Gradio's upload route takes any number of files per request and keeps them an hour: a client posting files
    in a loop filled the disk. Past ``DemoConfig.max_temp_mb`` (uploads and served copies) an upload is refused
    with HTTP 413 and one line; the page's other routes still answer. One upload larger than the page sends (its
    input images at the size limit) is refused as its headers arrive: its declared size held the budget while a slow
    client sent it."""
    import socket

    import requests

    from genxd.demo.app import DemoConfig, build_app, start
    from genxd.demo.jobs import Devices

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    devices = Devices(None, ["cpu"])
    config = DemoConfig(root=tmp_path / "sessions", max_temp_mb=2.5)
    demo = build_app(devices, config)
    port = free_port()
    start(demo, "127.0.0.1", port, config, devices, quiet=True)
    url = f"http://127.0.0.1:{port}/gradio_api/upload"
    try:
        answers = []
        for k in range(4):  # 1 MiB each, of contents of their own (Gradio keeps one copy of a file sent twice)
            blob = bytes([k]) * 2**20
            answers.append(requests.post(url, files=[("files", ("x.png", blob))], timeout=30))
        assert [a.status_code for a in answers] == [200, 200, 413, 413]
        assert "space for uploads is full" in answers[-1].json()["detail"]
        chunked = requests.post(url, data=iter([b"--x\r\n"]), timeout=30,  # a body of any size: no length stated
                                headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert chunked.status_code == 411, chunked.text
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:  # states 100 MiB, sends none
            slow.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 104857600\r\n"
                         b"Content-Type: multipart/form-data; boundary=x\r\n\r\n")
            head = b""
            while b"at most" not in head:  # the answer's head and body may come in separate reads
                part = slow.recv(65536)
                if not part:
                    break
                head += part
            head = head.decode()
        assert head.startswith("HTTP/1.1 413") and "at most 4 files of up to 20 MiB each" in head, head
        assert requests.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=30).ok
    finally:
        demo.close(verbose=False)
