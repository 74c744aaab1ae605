"""The page's output folder is what ``genxd generate`` writes for the same input, camera path and seed: the camera
files (frame times included) and the settings recorded in ``meta.json`` (found by the web demo audit: the page's
video / 4D outputs had no frame times, and a camera file's own times were dropped)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from genxd.cameras import formats, trajectories

from ..cli.fake_model import without_sampling
from .conftest import SCENE, generate, session_with_image

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page on the CPU with the bundled model: its handlers by name, and the loaded model for the CLI's run."""
    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    devices = Devices(None, ["cpu"])
    demo = build_app(devices, DemoConfig(root=tmp_path_factory.mktemp("sessions")))
    fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
    named = {getattr(f.fn, "__name__", "")[3:]: f for f in fns}
    return SimpleNamespace(fn=named, loaded=devices.loaded("cpu"), devices=devices)


@pytest.fixture
def cameras_only(page, monkeypatch):
    """The bundled model's settings and defaults (focal, scene depth, resolution, window) with a stand-in sampler,
    for the page's jobs and genxd generate alike: the camera files and settings they write are compared, not the
    frames (the real UNet and VAE took about 5 s of CPU a test for frames no check reads)."""
    fast = without_sampling(page.loaded)
    monkeypatch.setattr(page.devices, "loaded", lambda device: fast)
    return fast


def timed_camera_file(folder: Path) -> Path:
    """An authors' camera JSON of 6 cameras with frame times that are not evenly spaced."""
    c2w, K = trajectories.spiral(num_frames=6)
    path = folder / "timed.json"
    formats.save_camera_json(path, c2w, K, 64, 64, times=torch.tensor([0.0, 0.1, 0.2, 0.5, 0.8, 1.0]))
    return path


def cli_scene(loaded, out: Path, **kwargs) -> Path:
    from genxd.api import generate as cli_generate

    return cli_generate([SCENE], out, num_inference_steps=1, progress=False, loaded=loaded, **kwargs)[0]


def assert_same_cameras(demo: Path, cli: Path) -> None:
    for name in ("cameras.json", "transforms.json", "cameras_rel.json"):
        assert json.loads((demo / name).read_text()) == json.loads((cli / name).read_text()), name


@pytest.mark.parametrize("mode, timed_file", [("4d", False), ("video", False), ("3d", True), ("4d", True)])
def test_camera_files_and_frame_times_match_genxd_generate(page, cameras_only, tmp_path, mode, timed_file):
    camera = timed_camera_file(tmp_path) if timed_file else None
    s = session_with_image(tmp_path / "page")
    # 4 frames of the preset path (a camera file gives its own 6) and no guidance on both sides: the camera files
    # are compared here, not the sampling (half the UNet and VAE work of the model's 8 frames with guidance)
    given = {"camera_source": "file", "camera_file": str(camera)} if timed_file else {"frames": 4}
    status = generate(page, s, mode=mode, steps=1, guidance=1.0, **given)[-1]
    assert status.startswith("Generated"), status
    cli = cli_scene(cameras_only, tmp_path / "cli", mode=mode, camera=str(camera) if timed_file else "orbit",
                    guidance_scale=1.0, **({} if timed_file else {"num_frames": 4}))
    assert_same_cameras(s.scene, cli)
    times = json.loads((s.scene / "cameras.json").read_text()).get("times")
    assert (times is not None) == (mode != "3d" or timed_file)


@pytest.mark.parametrize("shape", ["no intrinsics", "wide"])
def test_a_camera_file_takes_the_pages_focal_and_fit_as_genxd_generate_does(page, cameras_only, tmp_path, shape):
    """A file without intrinsics got the authors' focal 1.414 whatever the Focal box said (genxd generate: --focal,
    else the model's 1.1), and cameras of another shape were always cropped to a square, also with Fit = pad."""
    c2w, K = trajectories.spiral(num_frames=5)
    camera = tmp_path / "path.json"
    if shape == "no intrinsics":
        formats.save_w2c_list_json(camera, c2w)
    else:
        formats.save_transforms_json(camera, c2w, K, 64, 128)
    s = session_with_image(tmp_path / "page")
    status = generate(page, s, steps=1, guidance=1.0, camera_source="file", camera_file=str(camera), focal=1.6,
                      fit="pad")[-1]
    assert status.startswith("Generated"), status
    assert_same_cameras(s.scene, cli_scene(cameras_only, tmp_path / "cli", camera=str(camera), focal=1.6, fit="pad",
                                           guidance_scale=1.0))


def test_the_models_scheduler_is_used_and_recorded(page, tmp_path):
    """A model whose generation_config.json names a sampler: genxd generate samples with it and records it in
    meta.json; the page sampled with whatever the pipeline held (the checkpoint's Euler) and recorded none."""
    import dataclasses
    import threading

    from genxd.demo.jobs import GenerationRequest, generate_scene
    from genxd.pipelines.schedulers import scheduler_name

    model = dataclasses.replace(page.loaded, defaults={**page.loaded.defaults, "scheduler": "heun"})
    c2w, K = trajectories.orbit(num_frames=4, azimuth_range=(0, 40), focal=1.1)
    request = GenerationRequest(images=[SCENE], c2w=c2w.float(), K=K.float(), context_index=[0], mode="video",
                                num_inference_steps=1)
    folder = generate_scene(model, request, tmp_path / "scene", lambda f, t: None, threading.Event())
    meta = json.loads((folder / "meta.json").read_text())
    assert scheduler_name(model.pipe.scheduler) == "heun"
    assert meta["scheduler"] == "heun" and meta["cameras_followed"] is False
