"""Synthetic clips for the curation tests, rendered by the tests (genxd.data.synthetic).

Clips are small (128 px, 16 frames) and rendered once per session into a temporary folder, as
frame folders (lossless PNG) or H.264 videos. Camera paths: hand-held arcs and spirals (moderate
camera motion per frame, like a strided real video), with known cameras and object motion.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

# Read by ray when it is first imported (whichever test module imports it first): a one-machine instance on the
# loopback address, no usage statistics, the settings genxd uses for --ray local. Set in one test module only, a
# module importing ray before it (test_curation_ray_cancel.py, since merged into test_curation_ray.py, run first) left the node on the machine's address and
# test_curation_ray.py's loopback checks failed ('192.0.2.2' == '127.0.0.1').
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

SIZE = 128
FRAMES = 16


@dataclass
class Clip:
    """A rendered clip: frames ``uint8 [N, H, W, 3]``, OpenCV c2w ``[N, 4, 4]``, normalised K."""

    name: str
    frames: np.ndarray
    c2w: np.ndarray
    K: np.ndarray
    motion_strength: float  # world units (make_scene)
    image_motion_strength: float  # ground truth of the quantity curation estimates
    dynamic: bool


def render_clip(
    name: str, seed: int, camera: str, motion_strength: float, size: int = SIZE, frames: int = FRAMES,
    scene=None,
) -> Clip:
    """Render a clip with :mod:`genxd.data.synthetic` (static when ``motion_strength == 0``)."""
    from genxd.data.synthetic import camera_path, image_motion_strength, make_scene, render

    if scene is None:
        dynamic = motion_strength > 0
        scene = make_scene(seed, dynamic=dynamic, motion_strength=motion_strength)
    c2w, K = camera_path(camera, frames, seed=seed)
    times = torch.linspace(0.0, 1.0, frames) if scene.dynamic else torch.zeros(frames)
    # One torch thread: with the cores shared (parallel jobs), OpenMP worker threads spin and a
    # 2-thread render measured 35 s against 0.7 s single-threaded. The ground truth too: on the caller's 2 threads it
    # measured 1.5 s of CPU per dynamic clip against 0.045 s on one (the same value: elementwise ops, a median)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = render(scene, c2w, K, size, size, times=times)
        gt = image_motion_strength(scene, out, c2w, K) if scene.dynamic else 0.0
    finally:
        torch.set_num_threads(threads)
    rgb = (out.rgb.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    return Clip(name, rgb, c2w.double().numpy(), K[0].double().numpy(), float(scene.motion_strength), gt,
                bool(scene.dynamic and scene.motion_strength > 0))


def write_frames(clip: Clip, folder: Path) -> Path:
    """Write the clip as a folder of PNG frames (lossless); returns the folder."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(clip.frames):
        Image.fromarray(frame).save(folder / f"{index:04d}.png")
    return folder


def write_mp4(clip: Clip, path: Path) -> Path:
    """Write the clip as an H.264 mp4 (the project's synthetic writer)."""
    from genxd.data.synthetic.writers import write_video

    rgb = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).float() / 255.0
    return write_video(path, rgb, fps=8.0, quality=9)


#: (name, seed, camera, motion strength in world units): 5 static and 5 dynamic clips.
VERDICT_CLIPS = [
    ("static_a", 0, "handheld", 0.0),
    ("static_b", 2, "spiral", 0.0),
    ("static_c", 4, "handheld", 0.0),
    ("static_d", 6, "spiral", 0.0),
    ("static_e", 8, "handheld", 0.0),
    ("dynamic_a", 1, "handheld", 0.8),
    ("dynamic_b", 3, "spiral", 0.8),
    ("dynamic_c", 5, "handheld", 0.8),
    ("dynamic_d", 7, "spiral", 0.8),
    ("dynamic_e", 9, "handheld", 0.8),
]


def _save_clip(clip: Clip, folder: Path) -> None:
    """``clip`` as ``folder/clip.npz`` (its arrays) and ``folder/clip.json`` (the rest): :func:`_load_clip`."""
    import json

    folder.mkdir(parents=True)
    np.savez(folder / "clip.npz", frames=clip.frames, c2w=clip.c2w, K=clip.K)
    (folder / "clip.json").write_text(json.dumps({
        "name": clip.name, "motion_strength": float(clip.motion_strength),
        "image_motion_strength": float(clip.image_motion_strength), "dynamic": bool(clip.dynamic)}))


def _load_clip(folder: Path) -> Clip:
    """The clip :func:`_save_clip` wrote: the same arrays, byte for byte, and the same numbers (JSON keeps a
    float's every bit)."""
    import json

    with np.load(folder / "clip.npz") as arrays:
        frames, c2w, K = arrays["frames"], arrays["c2w"], arrays["K"]
    return Clip(frames=frames, c2w=c2w, K=K, **json.loads((folder / "clip.json").read_text()))


class LazyClips(Mapping):
    """The verdict clips by name, each rendered the first time it is asked for (then kept): a file that uses 3 of
    the 10 renders 3 (each about 1 s of CPU; test_curation_ray.py, _reporting.py and _models.py use 1 to 3). A
    clip's render depends on its own seed only, not on which clips were rendered before it.

    ``tmp_path_factory``: each clip is rendered once per test session, whichever pytest-xdist worker asks first
    (:func:`tests.helpers.shared_across_workers`), and read back by the others: the files using these clips are
    spread over the workers, which each rendered the clips they used (static_b by five files)."""

    def __init__(self, specs, tmp_path_factory: pytest.TempPathFactory | None = None) -> None:
        self._specs = {name: (seed, cam, motion) for name, seed, cam, motion in specs}
        self._clips: dict[str, Clip] = {}
        self._tmp_path_factory = tmp_path_factory

    def __getitem__(self, name: str) -> Clip:
        if name not in self._clips:
            seed, cam, motion = self._specs[name]  # KeyError for an unknown name, as a dict
            if self._tmp_path_factory is None:
                self._clips[name] = render_clip(name, seed, cam, motion)
            else:
                from ..helpers import shared_across_workers

                def build(folder: Path) -> None:
                    _save_clip(render_clip(name, seed, cam, motion), folder)

                self._clips[name] = _load_clip(shared_across_workers(self._tmp_path_factory, f"verdict-clip-{name}",
                                                                     build))
        return self._clips[name]

    def __iter__(self):
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


@pytest.fixture(scope="session")
def verdict_clips(tmp_path_factory) -> Mapping[str, Clip]:
    pytest.importorskip("genxd.data.synthetic")
    return LazyClips(VERDICT_CLIPS, tmp_path_factory)


@pytest.fixture(scope="session")
def verdict_inputs(verdict_clips, tmp_path_factory) -> Path:
    """The 10 verdict clips as frame folders under one input folder."""
    root = tmp_path_factory.mktemp("verdict_inputs")
    for clip in verdict_clips.values():
        write_frames(clip, root / clip.name)
    return root


@pytest.fixture(scope="module")
def forkserver_workers():
    """The local engine's worker processes (:func:`genxd.curation.local_engine.run_local`) started by a fork server
    that imported genxd's curation code (so torch, OpenCV, pycolmap) once, instead of by spawn: each spawned worker
    imported them again, about 2 s of CPU (torch) a start, nearly all the time of tests that start several (44 s of
    2 loaded cores for test_curation_local_window.py's two). A worker is still a process of its own, which really
    dies (``os._exit``), is sent its task pickled and runs the engine's initializer; the fork server is a fresh,
    single-threaded interpreter (no OpenMP or OpenCV threads to copy, the reason genxd uses spawn, and nothing of
    this process's state, such as the caller's wording, to inherit). Spawned workers, and their end with the parent
    that the initializer sets up, are test_curation_stop.py's (a fork server's child has the server for parent: see
    :func:`_init_forked_worker`).

    One server per test module, stopped after it (with the preload list put back), so that no later test of this
    process finds a fork server that imported genxd (Python 3.14 starts data-loader workers by forkserver)."""
    import multiprocessing
    from types import SimpleNamespace

    from genxd.curation import local_engine

    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows: the engine's own spawned workers
        yield
        return
    from multiprocessing import forkserver

    server = forkserver._forkserver
    started_here = server._forkserver_pid is None  # one already running (another test's) is left as it is
    saved = list(server._preload_modules)
    context = multiprocessing.get_context("forkserver")
    # read when the fork server starts; a module the server cannot import (Python 3.11's server keeps its own
    # sys.path: '' is the folder pytest runs in) is skipped silently and imported by each worker, which only costs time
    context.set_forkserver_preload([__name__, "genxd.curation.dataset"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local_engine, "multiprocessing", SimpleNamespace(get_context=lambda method: context))
        mp.setattr(local_engine, "_worker_init", _init_forked_worker)
        try:
            yield
        finally:
            if started_here and server._forkserver_pid is not None:
                server._stop()
            context.set_forkserver_preload(saved)


def _init_forked_worker(num_threads: int, parent_pid: int | None = None) -> None:
    """The engine's worker initializer without its end with the parent: a fork server's child has the server for
    parent, not the engine's process, and the initializer's check (parent is ``parent_pid``) would end it at once."""
    from genxd.curation import local_engine

    local_engine._worker_init(num_threads, None)
