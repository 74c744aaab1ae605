"""The demo's long jobs: generating a scene and lifting it to 3D / 4D Gaussians, one at a time per device.

Both jobs report progress through a ``progress(fraction, text)`` function and stop at the next step when
their ``cancel`` event is set (:class:`Cancelled`). :class:`Devices` hands each running job a device of its
own (the page's queue lets as many jobs run as there are devices), with the model loaded once per device.
Outputs are the ones ``genxd generate`` / ``genxd reconstruct`` write (:func:`genxd.api.write_scene`,
:func:`genxd.reconstruction.pipeline.reconstruct_scene`).
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Literal, Sequence

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ..utils.images import Fit

__all__ = ["Cancelled", "Devices", "GenerationRequest", "generate_scene", "request_notes", "slow_on_cpu_note",
           "lift_scene", "zip_folders", "download_name", "viewer_copies", "duplicate_devices"]

Progress = Callable[[float, str], None]

#: generation's share of the progress bar; the rest is decoding and writing the videos
_DENOISE_SHARE = 0.9


class Cancelled(Exception):
    """The user cancelled the job."""


def device_key(name: str) -> str:
    """The device ``name`` denotes: ``cuda`` is ``cuda:0`` and every ``cpu:N`` the one CPU."""
    name = name.strip().lower()
    if name.startswith("cpu"):
        return "cpu"
    return "cuda:0" if name == "cuda" else name


def duplicate_devices(names: Sequence[str]) -> list[str]:
    """The names in ``names`` that denote a device named before them (two jobs must not share a device)."""
    seen: set[str] = set()
    out = []
    for name in names:
        key = device_key(name)
        if key in seen:
            out.append(name)
        seen.add(key)
    return out


def default_devices() -> list[str]:
    """Every CUDA GPU, else the CPU."""
    if torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return ["cpu"]


class Devices:
    """A pool of devices; :meth:`acquire` waits for a free one and yields ``(device, loaded model)``."""

    def __init__(self, model: str | Path | None, devices: Sequence[str] | None = None, dtype: str | None = None,
                 allow_pickle: bool = False):
        self.model = model
        self.dtype = dtype
        self.allow_pickle = allow_pickle  # a model folder of pickle weights (load_model)
        self.names = list(devices or default_devices())
        if not self.names:
            raise ValueError("no devices")
        if dup := duplicate_devices(self.names):  # two jobs on one device would share its pipeline
            raise ValueError(f"device {dup[0]} is given twice; one job runs at a time per device, so name each once")
        self._free: queue.Queue[str] = queue.Queue()
        for name in self.names:
            self._free.put(name)
        self._loaded: dict[str, object] = {}
        self._load_lock = threading.Lock()
        self._running: dict[str, threading.Event | None] = {}  # device -> the cancel flag of the job on it
        self._idle = threading.Condition()
        self._stopping = False

    def __len__(self) -> int:
        return len(self.names)

    def loaded(self, device: str):
        """The model on ``device`` (loaded on first use)."""
        from ..api import load_model

        with self._load_lock:
            if device not in self._loaded:
                self._loaded[device] = load_model(self.model, device, self.dtype, allow_pickle=self.allow_pickle)
            return self._loaded[device]

    @contextlib.contextmanager
    def acquire(self, cancel: threading.Event | None = None) -> Iterator[tuple[str, object]]:
        """A free device and its model, for one job; ``cancel``: the job's flag, set by :meth:`stop`. Raises
        :class:`Cancelled` once the pool is stopping."""
        device = self._free.get()
        with self._idle:
            if self._stopping:
                self._free.put(device)
                raise Cancelled()
            self._running[device] = cancel
        try:
            yield device, self.loaded(device)
        finally:
            with self._idle:
                self._running.pop(device, None)
                self._idle.notify_all()
            self._free.put(device)

    def stop(self, timeout: float | None = None) -> bool:
        """Cancel the jobs on the devices (they stop at their next step), start no other, and wait up to
        ``timeout`` seconds (None: for good) for them to end. True when no job runs any more."""
        with self._idle:
            self._stopping = True
            for flag in self._running.values():
                if flag is not None:
                    flag.set()
            return self._idle.wait_for(lambda: not self._running, timeout)


@dataclass
class GenerationRequest:
    """One generation: context images at ``context_index`` frames of the path ``(c2w, K)``."""

    images: list[Path]
    c2w: Tensor  # F 4 4
    K: Tensor  # F 3 3
    context_index: list[int]
    mode: str = "3d"
    motion_strength: float = 0.0
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    seed: int = 0
    resolution: int | None = None
    fit: Fit = "crop"
    camera_label: str = "demo"
    camera_preset: str | None = None  # the preset the path came from (scaled to the model), else None
    camera_file: bool = False  # a camera file's path: its own frame count, not the Frames slider's
    times: Tensor | None = None  # F frame times in [0, 1] of a camera file or video, written with the cameras
    # a video's path: the part of the clip followed (meta.json's clip_range, as genxd generate --camera-start /
    # --camera-end records it) and the files genxd generate --camera-from-video writes beside the scene
    clip_range: dict | None = None
    extra_files: dict[str, bytes] | None = None


def long_path_plan(loaded, request: GenerationRequest):
    """The long-path plan (:mod:`genxd.pipelines.long_paths`, the CLI's default settings) when the path is
    longer than the model's window, else None. Raises ValueError with a one-line reason."""
    from ..pipelines.long_paths import LongPathSettings, plan_for

    try:
        return plan_for(loaded.pipe, loaded.defaults, request.mode, request.c2w, request.K, request.context_index,
                        LongPathSettings())
    except ValueError as exc:
        raise ValueError(f"a path of {request.c2w.shape[0]} frames is made in windows: {exc}") from None


def unused_motion_note(request: GenerationRequest) -> str | None:
    """The note for a motion strength given in 3D mode, which does not use it (as ``genxd generate`` says)."""
    if request.mode == "3d" and request.motion_strength > 0:
        return (f"Motion strength {request.motion_strength:g} is not used in 3D mode (a static scene): generated "
                "with 0; choose Video or 4D for moving objects.")
    return None


def slow_on_cpu_note(loaded, resolution: int | None, device: str) -> str | None:
    """The note for a resolution above the model's own on a CPU: each denoising step takes long there (and
    Cancel acts between steps)."""
    own = int(loaded.defaults["resolution"])
    res = int(resolution or own)
    if device_key(device) != "cpu" or res <= own:
        return None
    return (f"Resolution {res} is above the model's own ({own}): slow on the CPU (each denoising step takes much "
            "longer, and Cancel acts only between steps).")


def request_notes(loaded, request: GenerationRequest) -> list[str]:
    """What the page tells the user before generating ``request`` (each a sentence): a motion strength 3D mode
    does not use, a path longer than the model's window (how it is made), values outside what the model was
    trained on (the same ranges that ``genxd generate`` warns about, from the model folder's
    ``generation_config.json``) and, for a camera preset, a model whose config leaves its scene depth unstated
    (the presets' scale may not be the model's). The CPU note is :func:`slow_on_cpu_note` (the device is known
    only once the job has one)."""
    from ..camera_arguments import (backward_times_finding, single_time, single_time_finding, times_run_backwards,
                                    uneven_time_steps, uneven_times_finding)
    from ..pipelines.long_paths import short_windows, short_windows_finding
    from ..validation import outside_trained, trained_span

    d = loaded.defaults
    res = int(request.resolution or d["resolution"])
    steps = int(request.num_inference_steps or d["num_inference_steps"])
    notes = [note] if (note := unused_motion_note(request)) else []
    # genxd generate's warnings (camera_arguments), their findings worded for the page
    if request.mode == "4d" and (spread := uneven_time_steps(request.times)) is not None:
        notes.append(f"The camera path's {uneven_times_finding(spread)}.")
    if request.mode == "4d" and times_run_backwards(request.times):
        notes.append(f"The camera path's {backward_times_finding(request.times)}: Lift to 3D reverses the order of "
                     "time.")
    if request.mode == "4d" and (still := single_time(request.times)) is not None:
        notes.append(f"The camera path's {single_time_finding(still)}; the scene's files keep that one time, so Lift "
                     "to 3D makes a single time of the moving frames (3D mode keeps the objects still).")
    plan = long_path_plan(loaded, request)
    if plan is not None:
        calls = _unet_calls(d, steps)
        notes.append(f"The path is longer than the model's window of {plan.window} frames: "
                     f"{plan.describe(steps, _windows_per_call(plan, res), calls_per_sampling_call=calls)}.")
    frames = "The camera file's frame count" if request.camera_file else "Frames"  # the slider is not used then
    labels = {"resolution": "Resolution", "num_frames": frames, "motion_strength": "Motion strength"}
    # a long path is made in windows of the model's size: its length is no value outside the trained ones
    values = {"resolution": res, "num_frames": request.c2w.shape[0] if plan is None else plan.window,
              "motion_strength": request.motion_strength if request.mode != "3d" else None}
    for key, value, lo, hi in outside_trained(loaded.trained or {}, values):
        notes.append(f"{labels[key]} {value:g} is outside what {loaded.info.description} was trained on "
                     f"({trained_span(lo, hi)}): results may be poor.")
    if plan is not None and (short := short_windows(plan, loaded.trained)):  # genxd generate warns it too
        notes.append(f"{short_windows_finding(plan, short)}, "
                     f"outside what {loaded.info.description} was trained on "
                     f"({trained_span(*loaded.trained['num_frames'])}): results may be poor in their frames.")
    if request.camera_preset is not None and (note := loaded.info.scene_depth_note(repr(request.camera_preset))):
        notes.append(note + ".")
    return notes


def _windows_per_call(plan, res: int) -> int:
    from ..pipelines.long_paths import default_windows_per_call

    return default_windows_per_call(plan.window, res, res)


def _unet_calls(defaults: dict, steps: int) -> int:
    """The UNet calls (``callback_on_step_end`` steps) of one sampling call of ``steps`` steps with the model's sampler
    (its ``generation_config.json``'s ``scheduler``, Euler without one): ``2 * steps - 1`` for Heun, else ``steps``."""
    from ..pipelines.schedulers import model_calls

    return model_calls(defaults.get("scheduler", "euler"), steps)


class _CallProgress:
    """The tqdm-like bar :func:`genxd.pipelines.long_paths.generate_long` advances once per UNet call:
    reports to the page and stops at the next call when the job is cancelled."""

    def __init__(self, total: int, progress: Progress, cancel: threading.Event) -> None:
        self.total, self.done, self.progress, self.cancel = max(1, total), 0, progress, cancel

    def update(self, n: int = 1) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        self.done += n
        self.progress(_DENOISE_SHARE * min(1.0, self.done / self.total), f"UNet call {self.done} of {self.total}")


def frame_times(request: GenerationRequest) -> Tensor | None:
    """The frame times written with the cameras, as ``genxd generate`` writes them: the camera file's or video's,
    else evenly over [0, 1] in video / 4D (what 4D readers take as each frame's time), else none."""
    if request.times is not None:
        return request.times
    return torch.linspace(0.0, 1.0, request.c2w.shape[0]) if request.mode != "3d" else None


def generate_scene(loaded, request: GenerationRequest, folder: Path, progress: Progress,
                   cancel: threading.Event) -> Path:
    """Generate ``request`` with ``loaded`` (:class:`genxd.api.LoadedModel`) into ``folder`` (written atomically).

    A path longer than the model's window is made window by window, as ``genxd generate`` does
    (:func:`genxd.pipelines.long_paths.generate_long`, the default settings); progress then counts UNet calls."""
    from ..api import write_scene
    from ..utils.video import default_fps
    from ..checkpoints import configure_sampling
    from ..pipelines.long_paths import generate_long, scene_frames
    from ..utils.images import load_image

    pipe, d = loaded.pipe, loaded.defaults
    scheduler = d.get("scheduler", "euler")  # the model's sampler, as genxd generate samples without --scheduler
    res = int(request.resolution or d["resolution"])
    steps = int(request.num_inference_steps or d["num_inference_steps"])
    guidance = float(request.guidance_scale if request.guidance_scale is not None else d["guidance_scale"])
    if res % pipe.latent_multiple:
        raise ValueError(f"resolution must be a multiple of {pipe.latent_multiple} for this model, got {res}")
    plan = long_path_plan(loaded, request)
    images = torch.stack([load_image(p, res, res, request.fit) for p in request.images])  # V 3 H W
    num_frames = request.c2w.shape[0]
    generator = torch.Generator().manual_seed(request.seed)
    motion = request.motion_strength if request.mode != "3d" else 0.0  # 3d does not use it: record what was used

    calls = _unet_calls(d, steps)  # per sampling call: Heun's 2n - 1, n for the others

    def on_step(_pipe, i, _t, tensors):
        if cancel.is_set():
            raise Cancelled()
        progress(_DENOISE_SHARE * (i + 1) / calls, f"denoising step {i + 1} of {calls}")
        return tensors

    if cancel.is_set():
        raise Cancelled()
    configure_sampling(pipe, scheduler)
    pipe.set_progress_bar_config(disable=True)
    if plan is None:
        progress(0.0, f"denoising step 0 of {calls}")
        sampled = pipe(
            context_images=images[None], target_c2w=request.c2w, target_K=request.K,
            context_index=[request.context_index], mode=request.mode, motion_strength=motion,
            num_inference_steps=steps, guidance_scale=guidance, generator=generator,
            output_type="pt", callback_on_step_end=on_step,
        ).frames[0]
    else:
        per_call = _windows_per_call(plan, res)
        bar = _CallProgress(plan.num_unet_calls(steps, per_call, calls_per_sampling_call=calls), progress, cancel)
        progress(0.0, f"UNet call 0 of {bar.total}")
        sampled = generate_long(pipe, images[None], request.c2w, request.K, plan, mode=request.mode,
                                motion_strength=motion, num_inference_steps=steps, guidance_scale=guidance,
                                generator=generator, max_windows_per_call=per_call, progress=bar,
                                decode=False, latents_in_memory=False).latents[0]
    progress(_DENOISE_SHARE, "writing the video")
    # a long path's latents: decoded a window at a time as they are written (as genxd generate does)
    frames = scene_frames(pipe, sampled, plan)
    # left of the comparison: each frame's nearest input image (the input | generated video of genxd generate)
    nearest = [min(range(len(request.context_index)), key=lambda j: abs(request.context_index[j] - i)) for i in range(num_frames)]
    left = images[nearest]
    meta = {
        "model": "bundled:genxd-small" if loaded.bundled else str(loaded.path), "camera": request.camera_label,
        "mode": request.mode, "motion_strength": motion, "scheduler": scheduler, "num_inference_steps": steps,
        "guidance_scale": guidance, "resolution": res, "num_frames": num_frames, "fit": request.fit,
        "inputs": [p.name for p in request.images], "seed": request.seed, "app": "genxd demo",
        "cameras_followed": request.mode != "video",  # video mode: no camera rays (as genxd generate records)
    }
    if request.clip_range is not None:
        meta["clip_range"] = request.clip_range
    if plan is not None:
        meta["long_path"] = plan.to_dict()
    write_scene(folder, frames, request.c2w, request.K, request.context_index, left, meta, fps=default_fps(num_frames),
                times=frame_times(request), extra_files=request.extra_files)
    progress(1.0, "done")
    return folder


def lift_scene(scene: Path, out: Path, *, mode: Literal["3d", "4d"], iterations: int, device: str,
               progress: Progress, cancel: threading.Event, init_points: int = 5000, video_frames: int = 0) -> dict:
    """``genxd reconstruct`` of a generated scene: 3D Gaussians, or 4D (per-frame .ply files for the time slider)."""
    from ..reconstruction.pipeline import reconstruct_scene
    from ..reconstruction.trainer import ReconstructionConfig

    def on_step(step, _model, _stats):
        if cancel.is_set():
            raise Cancelled()
        if step % 5 == 0 or step + 1 == iterations:
            progress((step + 1) / iterations, f"optimising Gaussians: step {step + 1} of {iterations}")

    if cancel.is_set():
        raise Cancelled()
    progress(0.0, "optimising Gaussians")
    config = ReconstructionConfig(iterations=int(iterations), mode=mode, device=device, init_points=int(init_points))
    # no 3DGS model folder: its cfg_args names the server's folder, and its ply doubles scene.ply in the zip
    record = reconstruct_scene(scene, out, config, resolution=None, video_frames=video_frames,
                               per_time_ply=mode == "4d", inria_model=False, overwrite=True, progress=False,
                               callback=on_step)
    _name_input_by_folder(out / "reconstruction.json", scene)
    return record


def _name_input_by_folder(record_path: Path, scene: Path) -> None:
    """``reconstruction.json``'s ``input`` as the scene folder's name (the folder beside the lift in the page's zip),
    not the server's path to it, which the page never shows (rewritten atomically)."""
    import json

    from ..utils.io import atomic_file
    from ..utils.json_text import json_text

    if not record_path.is_file():
        return
    record = json.loads(record_path.read_bytes())
    if isinstance(record, dict) and record.get("input") in (str(scene), str(scene.resolve())):
        record["input"] = scene.name
        with atomic_file(record_path) as tmp:
            tmp.write_text(json_text(record, indent=2) + "\n")


def zip_folders(folders: Sequence[Path], archive: Path) -> Path:
    """Write ``archive`` (.zip) holding each folder's content under ``folder.name/`` (atomically)."""
    import zipfile

    from ..utils.io import atomic_file

    with atomic_file(archive) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for folder in folders:
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        zf.write(path, Path(folder.name) / path.relative_to(folder))
    return archive


def download_name(mode: str, camera: str, seed: int, when: float | None = None, suffix: str = "") -> str:
    """The file name of a download: what it is, so that a browser does not save ``genxd_scene (1).zip``:
    ``genxd_<mode>_<camera path>_seed<seed>_<local time>[_suffix].zip``, of ASCII letters, digits, ``-`` and ``_``
    only (``camera``: a preset's name or a camera file's / video's name, of which the stem is kept; accented letters
    folded, ``café`` as ``cafe``, others dropped)."""
    def safe(text: str, limit: int) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-")[:limit].strip("-")

    label = safe(Path(str(camera)).stem, 40) or "path"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    tail = safe(suffix, 20)
    tail = f"_{tail}" if tail else ""
    return f"genxd_{safe(str(mode), 8) or 'scene'}_{label}_seed{int(seed)}_{stamp}{tail}.zip"


def viewer_copies(lift: Path, dest: Path) -> list[Path]:
    """Splat files for the page's viewer (:mod:`genxd.demo.splats`): ``[scene.ply]`` for 3D, one per time for
    4D (all framed like the first, so the scene does not jump when the time changes)."""
    import json

    import numpy as np

    from .splats import write_viewer_ply

    record = json.loads((lift / "cameras.json").read_bytes())
    first, first_K = np.asarray(record["c2w"][0]), np.asarray(record["K"][0])
    sources = sorted((lift / "ply").glob("time_*.ply")) if (lift / "ply").is_dir() else [lift / "scene.ply"]
    dest.mkdir(parents=True, exist_ok=True)
    out, frame = [], None
    for src in sources:
        frame = write_viewer_ply(src, dest / src.name, first, first_K, frame)
        out.append(dest / src.name)
    return out
