"""The demo page (Gradio Blocks): inputs and camera path on the left, preview and results on the right.

Flow: upload image(s) -> choose mode and camera path -> the camera preview updates (frusta in 3D, the input
image on the first frustum) -> Generate (queued: one job at a time per device; live progress; Cancel) ->
video, input | generated comparison, zip of the output folder -> Lift to 3D (``genxd reconstruct``) ->
Gaussian splat viewer (4D: a time slider picks the frame).

Every handler takes the caller's :class:`~genxd.demo.session.Session` (Gradio state, one per browser
session) and reports problems as one line in the status box (``#status``), never a traceback or a server path.
The values a handler gets are checked as ``genxd generate`` checks its options (:mod:`genxd.validation`), also
when they come through the API (``gradio_client``) and not from the page's controls. The events an API client
uses have stable names (``/upload``, ``/camera``, ``/prepare``, ``/generate``, ``/cancel``, ``/lift``, ``/time``);
the page's internal events are hidden from the API.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import gradio as gr
import numpy as np

from .. import validation as v
from ..cameras import trajectories
from ..utils.images import IMAGE_SUFFIXES, load_image, tensor_to_uint8
from . import cameras as cam
from .camera_form import SOURCES, CameraPath, build_camera_form, param_name
from .gallery import gallery_picture
from .jobs import (Cancelled, Devices, GenerationRequest, device_key, download_name, generate_scene, lift_scene,
                   request_notes, slow_on_cpu_note, viewer_copies, zip_folders)
from .preview import write_camera_preview
from .refusals import quiet_refusals
from .session import MAX_RESOLUTION, MIB, Limits, Session, SessionsByPage, validate_uploads

__all__ = ["DemoConfig", "build_app", "param_name", "SOURCES"]

log = logging.getLogger("genxd.demo")

MAX_FRAMES = 48  # the Frames slider's maximum and the longest camera file taken (genxd demo --max-frames)
#: the Sampling controls' names in the API (``/generate``'s first parameters), in sampling()'s order
SAMPLING = ("mode", "motion_strength", "steps", "guidance_scale", "seed", "resolution", "fit")
MODES = {"3d": "3D (static scene)", "video": "Video (no camera control)", "4d": "4D (camera and objects move)"}

CLOSED = "The page was closed; the job's files are removed."  # the answer to a job whose tab closed meanwhile

CSS = """
#status p { margin: 0; }
#status .error { color: #c62828; font-weight: 600; }
"""


@dataclass
class DemoConfig:
    """What the page needs besides the model: its folders, limits and the lift defaults."""

    root: Path  # every session folder lives here (removed when the server stops)
    limits: Limits = Limits()
    lift_iterations: int = 300
    lift_init_points: int = 5000
    session_ttl_s: float = 6 * 3600
    max_frames: int = MAX_FRAMES  # every camera source: the Frames slider's maximum, a camera file's most cameras
    max_sessions: int = 100  # sessions (and folders) kept; past it the least recently used close (SessionsByPage)
    max_temp_mb: float = 10_240.0  # MiB Gradio's folder (uploads, served copies) may hold; uploads past it are refused


def _error(msg: str) -> str:
    return f'<span class="error">Error: {msg}</span>'


def _server_folders(config: "DemoConfig") -> list[str]:
    """Folders of this server whose names a message must not show (longest first)."""
    roots = {config.root, config.root.parent, Path(tempfile.gettempdir())}
    if os.environ.get("GRADIO_TEMP_DIR"):
        roots.add(Path(os.environ["GRADIO_TEMP_DIR"]))
    names = {str(r) for r in roots} | {str(r.resolve()) for r in roots}
    return sorted((n.rstrip("/") for n in names if n.rstrip("/")), key=len, reverse=True)


def _public(text: str, folders: list[str]) -> str:
    """``text`` with every path under ``folders`` cut to its last part (the file's own name), on one line."""
    for folder in folders:
        text = re.sub(re.escape(folder) + r"/(?:[^/\s'\"]+/)*", "", text)
    return " ".join(text.split())


def _preview_images(session: Session, res: int) -> list[np.ndarray]:
    return [tensor_to_uint8(load_image(p, res, res, "crop")) for p in session.inputs]


def check_model_frames(config: Path, model_frames: object) -> None:
    """The model's frame count (``num_frames`` of its ``config``, generation_config.json), which the demo takes for
    the Frames slider's start and the window of a long path, in the range of ``genxd generate --frames``: an
    InvalidValue naming the file and the key before the page is built, not a failure of each request."""
    from ..generation_settings import MODEL_NUM_FRAMES, check_model_setting

    check_model_setting(config, "num_frames", model_frames, MODEL_NUM_FRAMES,
                        "the demo takes it for the Frames slider's start and the window of a long path: fix the file")


def build_app(devices: Devices, config: DemoConfig) -> gr.Blocks:
    """The page. ``devices`` runs the jobs (its first device's model gives the defaults shown)."""
    from ..checkpoints import GENERATION_CONFIG

    loaded = devices.loaded(devices.names[0])
    d = loaded.defaults
    check_model_frames(loaded.path / GENERATION_CONFIG, d["num_frames"])
    default_frames = int(d["num_frames"])
    default_focal = float(d.get("focal") or trajectories.AUTHORS_FOCAL)
    preset_scale = loaded.info.preset_scale  # presets scaled to the model's scene depth, as `genxd generate` does
    latent_multiple = int(loaded.pipe.latent_multiple)
    preset_names = list(trajectories.PRESETS)

    with gr.Blocks(title="genxd demo", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        sessions = SessionsByPage(config.root, config.max_sessions)
        session = gr.State(None, time_to_live=config.session_ttl_s, delete_callback=_Named(sessions.close, "close"))
        model_name = "the bundled small model (64x64, trained on synthetic and photo-textured scenes)" if loaded.bundled else str(loaded.path)
        gr.Markdown(f"## genxd: images to 3D / 4D scenes\nModel: {model_name}. Devices: {', '.join(devices.names)}.")
        with gr.Row(equal_height=False):
            # ---------------------------------------------------------------- inputs
            with gr.Column(scale=1):
                files = gr.File(label=f"Input image(s): up to {config.limits.max_images}", file_count="multiple",
                                file_types=list(IMAGE_SUFFIXES), elem_id="inputs")
                gallery = gr.Gallery(label="Inputs (first = frame 0)", columns=4, height=140, elem_id="input-gallery",
                                     interactive=False, buttons=[])
                mode = gr.Radio([(v, k) for k, v in MODES.items()], value="3d", label="Mode", elem_id="mode")
                motion = gr.Slider(0, 100, value=0, step=0.5, label="Motion strength (video / 4D; 0 = still)",
                                   visible=False, elem_id="motion")
                form = build_camera_form(config.max_frames, default_frames, default_focal, preset_scale)
                with gr.Accordion("Sampling", open=False):
                    steps = gr.Slider(1, 100, value=int(d["num_inference_steps"]), step=1, label="Denoising steps",
                                      elem_id="steps")
                    guidance = gr.Number(value=float(d["guidance_scale"]), label="Guidance scale (1 = off)",
                                         elem_id="guidance")
                    seed = gr.Number(value=0, precision=0, label="Seed", elem_id="seed")
                    resolution = gr.Number(value=int(d["resolution"]), precision=0, step=latent_multiple,
                                           label=f"Resolution (multiple of {latent_multiple})", elem_id="resolution")
                    fit = gr.Radio(["crop", "pad"], value="crop", label="Fit to square", elem_id="fit")
            # ---------------------------------------------------------------- outputs
            with gr.Column(scale=2):
                status = gr.Markdown("Upload an image to start.", label="Status", elem_id="status")
                preview = gr.Model3D(label="Camera preview (orange: frames given by your images)", height=320,
                                     clear_color=(0.12, 0.12, 0.14, 1.0), camera_position=(90, 65, None),
                                     elem_id="camera-preview", interactive=False)
                with gr.Row():
                    generate_btn = gr.Button("Generate", variant="primary", elem_id="generate")
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
                with gr.Row():
                    video = gr.Video(label="Generated", autoplay=True, loop=True, elem_id="result-video",
                                     interactive=False, height=300)
                    compare = gr.Video(label="Input | generated", autoplay=True, loop=True, elem_id="compare-video",
                                       interactive=False, height=300)
                download = gr.DownloadButton("Download the output folder (.zip)", visible=False, elem_id="download")
                with gr.Row():
                    lift_iters = gr.Slider(10, 5000, value=config.lift_iterations, step=10,
                                           label="Lift to 3D: optimisation steps", elem_id="lift-iterations")
                    lift_btn = gr.Button("Lift to 3D", elem_id="lift")
                splat = gr.Model3D(label="Gaussians (drag to orbit, scroll to zoom)", height=480, elem_id="splat",
                                   clear_color=(0.0, 0.0, 0.0, 1.0), interactive=False)
                time_slider = gr.Slider(0, 1, value=0, step=1, label="Time (4D: frame of the scene)", visible=False,
                                        elem_id="time")

        # the camera controls by the names API clients give them (gradio_client's keyword arguments); a video's path
        # follows the clip's timing in video / 4D, evenly along it in 3D, so the mode is one of them
        camera_inputs = form.inputs(mode)
        folders = _server_folders(config)

        def ensure(s: Session | None, request: gr.Request | None) -> Session:
            # the page's one session, also when its state is still empty in several concurrent events
            # (a session closed with its tab is not used again: its folder is gone)
            return s if s is not None and not s.closed else sessions.get(getattr(request, "session_hash", None))

        # ---------------------------------------------------------------- handlers
        def on_load(s, request: gr.Request | None = None):
            # keeps a session that an earlier event made: on a busy server an upload can be handled before
            # the page's load event, which must not replace that session (and lose the upload) with a new one
            return ensure(s, request)

        def on_upload(s, images, request: gr.Request | None = None, *, camera_file=None, camera_video=None, **camera):
            # the files' defaults of None make them optional to gradio_client (Gradio reads them from the signature)
            s = ensure(s, request)
            camera.update(camera_file=camera_file, camera_video=camera_video)
            s.clear_inputs()  # a new upload replaces the inputs (and their copies); one that fails leaves none
            if not images:
                return s, None, None, "Upload an image to start."
            if isinstance(images, (str, Path)):
                images = [images]
            notes: list[str] = []
            try:
                inputs = validate_uploads(images, s.dir / "inputs", config.limits, notes)
            except ValueError as exc:
                return s, None, None, _error(_public(str(exc), folders))
            except Exception as exc:  # noqa: BLE001 - one line in the page; the traceback goes to the server log
                log.error("upload failed:\n%s", traceback.format_exc())
                return s, None, None, _error(f"cannot read the upload ({exc.__class__.__name__})")
            s.inputs = inputs  # one assignment: a camera event running meanwhile sees the old or the new images
            # a TIFF or HEIC shown as a PNG: a browser shows neither (the gallery's copies go with the inputs' folder)
            gallery_items = [(str(gallery_picture(p, s.dir / "inputs" / "gallery")), p.name[3:]) for p in s.inputs]
            glb, msg = make_preview(s, camera)
            return s, gallery_items, glb, " ".join([*notes, msg])

        def make_preview(s: Session, values: dict[str, Any]) -> tuple[str | None, str]:
            try:
                path = form.path(values)
                c2w, K = path.c2w, path.K
                ctx = cam.context_frames(max(1, len(s.inputs)), c2w.shape[0])
                images = _preview_images(s, 128) if s.inputs else []
                glb = write_camera_preview(s.dir / f"preview_{preview_key(c2w, K, s.inputs)}.glb", c2w, K, images,
                                           ctx[:len(images)])
                prune_previews(s, keep=glb)
            except (ValueError, FileNotFoundError) as exc:
                return None, _error(_public(str(exc), folders))
            except Exception as exc:  # noqa: BLE001 - one line in the page; the traceback goes to the server log
                log.error("camera preview failed:\n%s", traceback.format_exc())
                return None, _error(f"camera preview failed ({exc.__class__.__name__})")
            where = ", ".join(str(i) for i in ctx) if s.inputs else "-"
            return str(glb), " ".join([f"Camera path: {said(path)}, {c2w.shape[0]} frames; input images at frames {where}.",
                                       *video_notes(values), "Press Generate." if s.inputs else "Upload an image."])

        def said(path: CameraPath) -> str:
            return path.label + (f" ({cam.range_text(path.clip_range)})" if path.clip_range else "")

        def video_notes(values: dict[str, Any]) -> list[str]:
            # what generate --camera-from-video warns (an end past the clip, a still camera, ...)
            if values["source"] != "video":
                return []
            notes = cam.video_notes(values["camera_video"], values.get("camera_start"), values.get("camera_end"))
            return [_public(n, folders) for n in notes]

        def on_camera(s, request: gr.Request | None = None, *, camera_file=None, camera_video=None, **camera):
            s = ensure(s, request)
            camera.update(camera_file=camera_file, camera_video=camera_video)
            glb, msg = make_preview(s, camera)
            return s, glb, msg

        def on_mode(m):
            return gr.update(visible=m in ("video", "4d"))

        def on_source(src):
            return [gr.update(visible=src == k) for k in form.groups]

        def on_preset(name):
            return [gr.update(visible=n == name) for n in preset_names]

        only_cpus = all(device_key(name) == "cpu" for name in devices.names)

        def on_prepare(s, resolution=None, request: gr.Request | None = None):
            # the job's own cancel flag: a Cancel pressed before this stops earlier jobs, not this one
            s = ensure(s, request)
            s.jobs.request()
            msg = "Waiting for a free device..."
            if only_cpus and v.RESOLUTION.accepts(resolution) and (note := slow_on_cpu_note(loaded, resolution, "cpu")):
                msg += " " + note
            return s, msg

        def sampling(m, strength, st, g, sd, res, ft) -> dict[str, Any]:
            """The Sampling controls' values, checked as genxd generate checks its options (named as the page names
            them); resolution also a multiple of the model's latent size and at most the page's cap."""
            out = {"mode": v.MODES.check(m, "Mode"), "fit": v.FITS.check(ft, "Fit to square"),
                   "motion_strength": v.MOTION_STRENGTH.check(0.0 if strength is None else strength, "Motion strength"),
                   "num_inference_steps": v.STEPS.check(st, "Denoising steps"),
                   "guidance_scale": v.GUIDANCE.check(g, "Guidance scale"),
                   "seed": v.SEED.check(0 if sd is None else sd, "Seed"),
                   "resolution": v.RESOLUTION.check(res, "Resolution")}
            res = out["resolution"]
            if res is not None and res % latent_multiple:
                raise v.InvalidValue(f"Resolution must be a multiple of {latent_multiple} for this model, got {res}")
            if res is not None and res > MAX_RESOLUTION:
                raise v.InvalidValue(f"Resolution must be at most {MAX_RESOLUTION} on this page, got {res}")
            return out

        def on_generate(s, progress=gr.Progress(), *, camera_file=None, camera_video=None, **values):
            # values: the Sampling controls (SAMPLING), then the camera controls (camera_inputs), by name
            values.update(camera_file=camera_file, camera_video=camera_video)
            none = (None, None, gr.update(visible=False), None, gr.update(visible=False))
            if s is None or s.closed:
                return (*none, _error("upload an image first"))
            cancel = s.jobs.start()
            try:
                out = generate(s, cancel, values, progress, none)
            finally:
                s.jobs.end(cancel)
                closed = s.remove_if_closed()  # the tab closed during the job: what it wrote goes too
            return (*none, CLOSED) if closed else out

        def generate(s: Session, cancel, values: dict[str, Any], progress, none):
            inputs = list(s.inputs)  # one read: an upload meanwhile replaces the list, not this job's images
            if not inputs:
                return (*none, _error("upload an image first"))
            try:
                settings = sampling(*(values[k] for k in SAMPLING))
                path = form.path(values, settings["fit"], settings["resolution"] or int(d["resolution"]))
                ctx = cam.context_frames(len(inputs), path.c2w.shape[0])
                request = GenerationRequest(images=inputs, c2w=path.c2w, K=path.K, context_index=ctx,
                                            camera_label=path.label,
                                            camera_preset=path.label if values["source"] == "preset" else None,
                                            camera_file=values["source"] == "file", times=path.times,
                                            extra_files=path.files, clip_range=path.clip_range, **settings)
                notes = request_notes(loaded, request)  # a long path's windows, values outside the trained ranges
                notes += video_notes(values)  # what recovering the clip's cameras warned about
            except (ValueError, FileNotFoundError) as exc:
                return (*none, _error(_public(str(exc), folders)))
            try:  # the job's own copies: a new upload while it waits for a device removes the upload's files
                request.images = s.snapshot_inputs(inputs)
            except FileNotFoundError:  # the upload was replaced between the read above and the copies
                return (*none, _error("the images changed while the job started: press Generate again"))
            try:
                return run_generation(s, request, notes, cancel, progress, none)
            finally:
                s.release_snapshot(request.images)

        def run_generation(s: Session, request: GenerationRequest, notes: list[str], cancel, progress, none):
            c2w = request.c2w
            # a job that is cancelled or fails leaves the previous result in place, shown and downloadable
            kept = tuple(gr.update() for _ in none)
            run = None
            try:
                with devices.acquire(cancel) as (device, model):
                    run = s.new_run()
                    folder = generate_scene(model, request, run / "scene", lambda f, t: progress(f, desc=t), cancel)
                name = download_name(request.mode, request.camera_label, request.seed)  # a browser keeps the name
                archive = zip_folders([folder], run / name)
                s.keep_run(folder)
            except Exception as exc:  # noqa: BLE001 - shown as one line; the traceback goes to the server log
                if run is not None:
                    shutil.rmtree(run, ignore_errors=True)
                if isinstance(exc, Cancelled):
                    return (*kept, "Generation cancelled.")
                if isinstance(exc, ValueError):
                    return (*kept, _error(_public(str(exc), folders)))
                log.error("generation failed:\n%s", traceback.format_exc())
                return (*kept, _error(_public(f"generation failed ({exc.__class__.__name__}: {exc})", folders)))
            if note := slow_on_cpu_note(model, request.resolution, device):
                notes.append(note)
            return (str(folder / "video.mp4"), str(folder / "compare.mp4"), gr.update(value=str(archive), visible=True),
                    None, gr.update(visible=False),
                    " ".join([f"Generated {c2w.shape[0]} frames on {device} ({request.mode}).", *notes,
                              "Lift to 3D to look around."]))

        def on_cancel(s):
            if s is None or not s.jobs.cancel():
                return "Nothing to cancel."
            return "Cancelling..."

        def on_lift(s, iterations, progress=gr.Progress()):
            nothing = (None, gr.update(visible=False), gr.update())
            if s is None or s.closed:
                return (*nothing, _error("generate a scene first"))
            cancel = s.jobs.start()
            try:
                out = lift(s, cancel, iterations, progress, nothing)
            finally:
                s.jobs.end(cancel)
                closed = s.remove_if_closed()
            return (*nothing, CLOSED) if closed else out

        def lift(s: Session, cancel, iters, progress, nothing):
            scene = s.scene
            if scene is None or not scene.is_dir():
                return (*nothing, _error("generate a scene first"))
            try:
                iters = v.Int(1, 10_000_000).check(iters, "Lift to 3D: optimisation steps")
                # the scene's own mode (not the Mode control, which may have changed since): 3D or 4D Gaussians
                meta = json.loads((scene / "meta.json").read_bytes())
                scene_mode, camera, seed = meta["mode"], str(meta.get("camera", "")), int(meta.get("seed", 0))
            except v.InvalidValue as exc:
                return (*nothing, _error(str(exc)))
            except (OSError, ValueError, KeyError, TypeError):
                return (*nothing, _error("the generated scene has no readable meta.json; generate it again"))
            lift_mode: Literal["3d", "4d"] = "3d" if scene_mode == "3d" else "4d"
            run = scene.parent
            try:
                with s.using_run(run):  # a Generate on another device keeping a newer scene leaves this run to us
                    with devices.acquire(cancel) as (device, _model):
                        out = run / "lift"
                        record = lift_scene(scene, out, mode=lift_mode, iterations=iters, device=device,
                                            progress=lambda f, t: progress(f, desc=t), cancel=cancel,
                                            init_points=config.lift_init_points)
                    if s.scene != scene:  # its Gaussians are of a scene the page no longer shows
                        return (*nothing, "A new scene was generated while lifting; these Gaussians were of the "
                                          "earlier scene and are dropped: press Lift to 3D again.")
                    s.lift = out
                    name = download_name(scene_mode, camera, seed, suffix="gaussians")
                    archive = zip_folders([scene, out], run / name)
                    for earlier in run.glob("*_gaussians.zip"):  # a Lift again: its zip replaces the last Lift's
                        if earlier != archive:
                            earlier.unlink(missing_ok=True)
                    shown = viewer_copies(out, run / "viewer")
            except Cancelled:
                return (*nothing, "Lift cancelled.")
            except ValueError as exc:
                return (*nothing, _error(_public(str(exc), folders)))
            except Exception as exc:  # noqa: BLE001
                log.error("lift failed:\n%s", traceback.format_exc())
                return (*nothing, _error(_public(f"lift to 3D failed ({exc.__class__.__name__}: {exc})", folders)))
            msg = (f"{record['num_gaussians']} Gaussians, training PSNR {record['train_metrics']['psnr']:.1f} dB, "
                   f"{record['train_seconds']:.0f} s on {device}.")
            if lift_mode == "4d":
                times = json.loads((out / "ply" / "times.json").read_bytes())
                s.lift_times = times
                return (str(shown[0]),
                        gr.update(visible=True, minimum=0, maximum=len(times) - 1, value=0, step=1),
                        gr.update(value=str(archive), visible=True), "4D " + msg + " Move the time slider.")
            return str(shown[0]), gr.update(visible=False), gr.update(value=str(archive), visible=True), "3D " + msg

        def on_unload(request: gr.Request | None = None):
            # the tab closed: its jobs stop and its folder goes now (Gradio keeps a closed page's state an hour)
            sessions.close_page(getattr(request, "session_hash", None))

        def on_time(s, frame):
            if (s is None or s.lift is None or not s.lift_times or not isinstance(frame, (int, float))
                    or not math.isfinite(frame)):
                return gr.update()
            i = int(round(float(frame)))
            path = s.lift.parent / "viewer" / f"time_{i:04d}.ply"
            return str(path) if path.is_file() else gr.update()

        def preview_key(c2w, K, inputs: list[Path]) -> str:
            # a new name for each path and set of inputs shown (the viewer reloads a changed name only); from what
            # is drawn, not from the request's values, which may be any JSON (a table with a dict for a header)
            digest = hashlib.sha1(c2w.numpy().tobytes() + K.numpy().tobytes())
            digest.update("\0".join(p.name for p in inputs).encode())
            return digest.hexdigest()[:12]

        def prune_previews(s: Session, keep: Path) -> None:
            for p in s.dir.glob("preview_*.glb"):
                if p != keep:
                    p.unlink(missing_ok=True)

        # ---------------------------------------------------------------- wiring
        # API clients see the user-facing events under stable names; the page's internal duplicates are private
        internal: dict[str, Any] = {"api_visibility": "private"}
        demo.load(on_load, session, session, **internal)
        demo.unload(on_unload)
        # (the API's parameter names: the handlers' own and inputs_kwargs' keys; the values come in this order too)
        files.change(on_upload, [session, files], [session, gallery, preview, status], inputs_kwargs=camera_inputs,
                     api_name="upload")
        cam_io: dict[str, Any] = {"inputs": [session], "outputs": [session, preview, status],
                                  "inputs_kwargs": camera_inputs}
        form.source.change(on_camera, **cam_io, api_name="camera")  # the one public camera event (all take the same values)
        for comp in form.chosen():
            comp.change(on_camera, **cam_io, **internal)
        form.frames.release(on_camera, **cam_io, **internal)
        form.keyframes.input(on_camera, **cam_io, **internal)
        for comp in form.typed():  # typed numbers and text: when the user is done with the field
            comp.blur(on_camera, **cam_io, **internal)
            comp.submit(on_camera, **cam_io, **internal)
        mode.change(on_mode, mode, motion, **internal)
        mode.change(on_camera, **cam_io, **internal)  # a video's path depends on the mode (timing in video / 4D)
        form.source.change(on_source, form.source, list(form.groups.values()), **internal)
        form.preset.change(on_preset, form.preset, list(form.preset_rows.values()), **internal)
        generate_btn.click(on_prepare, [session, resolution], [session, status], concurrency_limit=None,
                           api_name="prepare").then(
            on_generate, [session], [video, compare, download, splat, time_slider, status],
            inputs_kwargs=dict(zip(SAMPLING, (mode, motion, steps, guidance, seed, resolution, fit))) | camera_inputs,
            concurrency_id="device",
            concurrency_limit=len(devices), api_name="generate")
        cancel_btn.click(on_cancel, session, status, concurrency_limit=None, api_name="cancel")
        lift_btn.click(on_prepare, session, [session, status], concurrency_limit=None, **internal).then(
            on_lift, [session, lift_iters], [splat, time_slider, download, status], concurrency_id="device",
            concurrency_limit=len(devices), api_name="lift")
        time_slider.change(on_time, [session, time_slider], splat, api_name="time")

        def job_refused(block_fn, state) -> None:
            # a /generate or /lift that Gradio refused (a slider past its range) never takes the cancel flag its
            # /prepare asked for: left waiting, the next job took it (and stopped at once after a Cancel)
            if getattr(block_fn, "api_name", None) in ("generate", "lift") and state is not None:
                s = state[session._id] if session._id in state else None
                if isinstance(s, Session):
                    s.jobs.drop_request()

    quiet_refusals(demo, job_refused)
    return demo


class _Named:
    """A callable whose text is its name only: Gradio puts a State's ``delete_callback`` as text into the ``/config``
    every client reads, and a bound method's text holds the object's memory address."""

    def __init__(self, fn: Callable[..., Any], name: str):
        self.fn, self.name = fn, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return self.name


def start(demo: gr.Blocks, host: str, port: int, config: DemoConfig, devices: Devices, **kwargs: Any) -> None:
    """Queue ``demo`` and serve it in the background (what :func:`launch` serves). A port Gradio cannot bind is a
    ValueError (one line from the command line), not Gradio's OSError and traceback."""
    from starlette.middleware import Middleware

    from .upload_budget import UploadBudget

    demo.queue(max_size=64, default_concurrency_limit=len(devices))
    max_temp_mb = getattr(config, "max_temp_mb", DemoConfig.max_temp_mb)  # (a config of the fields start reads)
    budget = Middleware(UploadBudget, folder=gr.utils.get_upload_folder(), max_bytes=int(max_temp_mb * MIB),
                        max_files=config.limits.max_images, max_file_bytes=int(config.limits.max_file_mb * MIB))
    kwargs.setdefault("app_kwargs", {}).setdefault("middleware", []).append(budget)
    try:
        # in bytes: the handlers' limit exactly (MiB), also for a fractional --max-upload-mb ("0.5mb" is no size
        # to Gradio). share=False: left unset, Gradio opens a public link (fetching its tunnel program first) when
        # GRADIO_SHARE=true is in the environment or it guesses a hosted notebook, and the page has no login
        demo.launch(server_name=host, server_port=port, max_file_size=int(config.limits.max_file_mb * MIB),
                    show_error=False, ssr_mode=False, footer_links=[], css=CSS, prevent_thread_lock=True,
                    share=False, **kwargs)
    except OSError as exc:  # Gradio: "Cannot find empty port in range: 7861-7861. ..." (no errno)
        raise ValueError(f"{host}:{port} cannot be served ({str(exc).split('. ')[0]}); choose another with "
                         f"{v.arg('port')}") from None


def launch(demo: gr.Blocks, host: str, port: int, config: DemoConfig, devices: Devices,
           on_ready: Callable[[], None] | None = None, **kwargs: Any) -> None:
    """Serve ``demo`` until interrupted (blocking); ``on_ready`` is called once the server listens. Ctrl-C (or
    SIGTERM, which ``genxd demo`` turns into one) closes the server and returns; genxd waits here itself instead of
    in Gradio's loop, which would print its own "Keyboard interruption in main thread" line."""
    start(demo, host, port, config, devices, **kwargs)
    if on_ready is not None:
        on_ready()
    try:
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        # the jobs running stop at their next step, and the server waits for them: a job thread still in the
        # model when Python exits aborted the process ("terminate called without an active exception" and a
        # stack dump) after "demo stopped", and could write into the folder being removed
        idle = devices.stop(timeout=0)
        demo.close(verbose=False)
        if not idle:
            log.warning("genxd: waiting for the running job to stop at its next step (Ctrl-C again: do not wait)")
            try:
                devices.stop()
            except KeyboardInterrupt:
                pass
