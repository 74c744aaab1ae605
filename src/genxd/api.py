"""The user-facing jobs, from Python: ``genxd.generate(...)`` and ``genxd.fewshot(...)``.

The ``genxd`` command line calls exactly these functions. Each scene is written to its own folder,
atomically (a folder appears complete or not at all); what it holds: :mod:`genxd.scene_outputs`.

Output folders are named after the inputs and never collide (:func:`output_names`: ``a.jpg`` and
``a.png`` become ``a_jpg`` and ``a_png``; the summary and ``meta.json`` record the mapping), get the
permissions the user's umask gives, and replace an old output only with ``overwrite`` (atomically: the
old folder is moved aside, the new one renamed in, then the old one deleted; see :mod:`genxd.utils.io`).
Every value is checked before any model loads (:mod:`genxd.validation`; the model's own settings come
from its config files, :mod:`genxd.checkpoints`); messages name the argument as the caller wrote it
(``num_frames`` here, ``--frames`` on the command line).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import Tensor

from . import fewshot as _fewshot_rules  # noqa: F401 - loaded now, so genxd.fewshot can be the function below
from . import validation as v
from .camera_arguments import (backward_times_warning, camera_label, camera_path_of, camera_trajectory,  # noqa: F401
                               file_scale_warning, preset_beside_a_path_warning, frame_cameras, single_time_warning,
                               still_camera_warning, uneven_times_warning, unused_camera_settings, unused_focal_warning,
                               video_camera_path)
from .cameras import CameraPath
from .cameras.trajectories import PRESET_SCENE_DEPTH
from .checkpoints import (BUNDLED_MODEL_DIR, GENERATION_CONFIG, RELEASED_DEFAULTS, RELEASED_TRAINED,  # noqa: F401
                          LoadedModel, ModelInfo, configure_sampling, default_model_path, load_model,
                          job_settings_restored, model_info, pick_device, pick_dtype)
from .pipelines.distributed import GenerationError, ProcessGroup, SceneResult, failed_result, write_summary_once
from .job_setup import check_run_settings, outputs_in_step
from .output_folders import (WrittenByOthers, check_inputs_kept, check_kept_inputs, input_path_entry, noting_written,
                             output_names)
from .scene_outputs import check_job, write_scene
from .summary_file import check_summary_apart
from .utils.images import (CROP_WARNING_FRACTION, Fit, crop_kept_fraction, crop_warning, load_image_uint8_sized,
                           uint8_to_tensor)
from .utils.memory_images import ImageObject, MemoryImage, collect_inputs, is_memory_image
from .utils.shards import shard_indices, shard_line
from .utils.video import default_fps
from .utils.progress import bar_settings, closed_on_interrupt, disable_setting, progress_bar, progress_write
from .generate_settings import GenerateSettings, check_model_frames


def generate_scenes(
    images: str | Path | ImageObject | Iterable[str | Path | ImageObject],
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    camera: str | Path | CameraPath = "orbit",
    mode: str = "3d",
    motion_strength: float = 0.0,
    num_frames: int | None = None,
    resolution: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    focal: float | None = None,
    elevation: float | None = None,
    azimuth_range: tuple[float, float] | None = None,
    radius: float | None = None,
    fit: Fit = "crop",
    fps: float | None = None,
    batch_size: int = 1,
    camera_from_video: str | Path | None = None,
    path_scale: float = 1.0,
    path_spacing: str | None = None,
    path_intrinsics: str = "model",
    path_smoothing: float = 0.0,
    camera_start: str | float | None = None,
    camera_end: str | float | None = None,
    window: int | None = None,
    anchors: int | None = None,
    overlap: int | None = None,
    scheduler: str | None = None,
    decode_chunk: int | None = None,
    sequential_guidance: bool = False,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    compile_unet: bool = False,
    offload: str = "none",
    allow_pickle: bool = False,
    overwrite: bool = False,
    skip_existing: bool = False,
    summary: str | Path | None = None,
    progress: bool = True,
    loaded: LoadedModel | None = None,
    shard: tuple[int, int] | str | None = None,
) -> list[SceneResult]:
    """Like :func:`generate` (same arguments), but a failed input is recorded and the others still run.

    Under ``accelerate launch`` (several processes) each process generates its share of the inputs
    (:class:`genxd.pipelines.distributed.ProcessGroup`); every process returns the results of all inputs.

    Args:
        summary: where the main process writes the job summary JSON (``None``: none); with ``shard``,
            ``FILE.shard-K-of-N.json`` beside it (one per task of the array).
        shard: ``(K, N)`` or ``"K/N"``: this task of a job array takes the inputs ``i`` with ``i % N == K`` of the
            input order (:mod:`genxd.utils.shards`); an input keeps its index (seed, output name).
        offload: ``"none"``, ``"model"`` or ``"group"`` (CUDA; :func:`load_model`).
        allow_pickle: load a model folder holding only pickle weights (:func:`load_model`).
    Returns:
        one :class:`SceneResult` per input (of the shard), in input order (``status`` written / skipped / failed).
    Raises:
        ValueError (also a TypeError for a value of the wrong type) / FileNotFoundError / FileExistsError /
        PermissionError for problems of the whole job
        (bad settings, missing input path, no model, existing outputs without ``overwrite`` /
        ``skip_existing``, a read-only output folder), before any model is loaded.
    """
    # 1. check every value (nothing loaded, nothing written yet)
    s = GenerateSettings(camera=camera, mode=mode, motion_strength=motion_strength, num_frames=num_frames,
                         resolution=resolution, num_inference_steps=num_inference_steps,
                         guidance_scale=guidance_scale, seed=seed, focal=focal, elevation=elevation,
                         azimuth_range=azimuth_range, radius=radius, fit=fit, fps=fps, batch_size=batch_size,
                         camera_from_video=camera_from_video, path_scale=path_scale, path_spacing=path_spacing,
                         path_intrinsics=path_intrinsics, path_smoothing=path_smoothing, camera_start=camera_start,
                         camera_end=camera_end, window=window, anchors=anchors,
                         overlap=overlap, scheduler=scheduler, decode_chunk=decode_chunk,
                         sequential_guidance=sequential_guidance).checked()
    offload, device, shard, dtype = check_run_settings(model, loaded, offload, device, shard, dtype,
                                                       compile_unet=compile_unet)
    out_dir, summary = check_job(out_dir, summary, {"compile_unet": compile_unet, "allow_pickle": allow_pickle,
                                                     "overwrite": overwrite,
                                                     "skip_existing": skip_existing, "progress": progress},
                                 shard)
    image_list: list | None
    if isinstance(images, (str, os.PathLike)) or is_memory_image(images):
        image_list = [images]
    else:
        given = images
        try:  # a 0-d numpy array is an Iterable that cannot be iterated
            image_list = (list(given) if isinstance(given, Iterable) and not isinstance(given, (bytes, Mapping))
                          else None)  # a dict's keys are not a list of images the caller meant
        except TypeError:
            image_list = None
        if image_list is None:
            raise v.InvalidType(f"{v.arg('images')} must be an image path, an image (PIL, numpy, torch) or a list of "
                                 f"them, got "
                                 f"{given!r} ({type(given).__name__})"[:300])
    paths = collect_inputs(image_list)  # Path, or MemoryImage for an image given as an object
    folders = [out_dir / n for n in output_names([p.naming_path if isinstance(p, MemoryImage) else p for p in paths])]
    check_summary_apart(summary, folders, paths)
    chosen = shard_indices(len(paths), shard)  # every input of a job array's task; names and seeds of the whole list
    largest_seed = int(v.SEED.hi or 0)
    if s.seed + len(paths) - 1 > largest_seed:  # input i's seed is seed + i: each one recorded in meta.json is one to pass
        raise v.InvalidValue(f"{v.arg('seed')} {s.seed}: input i uses seed + i, so the last of the {len(paths)} "
                             f"inputs would use {s.seed + len(paths) - 1}, above the largest seed {largest_seed}; give "
                             f"a seed of at most {largest_seed - len(paths) + 1}")
    clip_cameras = None
    group = ProcessGroup(device)  # under accelerate launch: this process's share, warnings from the main one only
    rank = group.process_index
    if s.camera_from_video is not None:  # SfM on the clip (or its cameras) before the model loads
        from .cameras.from_video import check_path_settings, generate_clip_advice, recover_clip_cameras
        from .utils.stages import StageLines

        check_path_settings(intrinsics=s.path_intrinsics, spacing=s.path_spacing, smoothing=s.path_smoothing,
                            path_scale=s.path_scale)
        stages = StageLines(f"camera path from {Path(s.camera_from_video).name}", progress and group.is_main_process)
        from .cameras.clip_range import check_bounds

        start, end = check_bounds(s.camera_start, s.camera_end, ("camera_start", "camera_end"))
        clip_cameras = recover_clip_cameras(s.camera_from_video, on_stage=stages, start=start, end=end,
                                            advice=generate_clip_advice(s.camera_from_video))
        if group.is_main_process:  # as trajectory from-video prints them (they were only in camera_from_video.json)
            for warning in clip_cameras.report.get("notes", []) + clip_cameras.report.get("warnings", []):
                v.warn(warning)  # a note too (an end past the clip): generate prints no notes of its own

    # 2. the model's settings, from its config files only
    info = loaded.info if loaded is not None else model_info(model)
    d = info.defaults
    check_model_frames(s, info.path / GENERATION_CONFIG, d["num_frames"])  # before a path of its frames is made
    res = int(s.resolution or d["resolution"])
    multiple = info.latent_multiple
    if multiple and res % multiple:
        raise v.InvalidValue(f"{v.arg('resolution')} must be a multiple of {multiple} for this model, got {res}")
    steps = int(s.num_inference_steps or d["num_inference_steps"])
    guidance = float(s.guidance_scale if s.guidance_scale is not None else d["guidance_scale"])
    scheduler = s.scheduler or d.get("scheduler", "euler")
    focal = s.focal if s.focal is not None else d.get("focal")
    asked_frames = int(s.num_frames or d["num_frames"])
    extra_files: dict[str, bytes] = {}
    from_file: CameraPath | None = None
    if clip_cameras is not None:  # the clip's path: relative, scaled, resampled (genxd.cameras.from_video)

        c2w, K, times, extra_files = video_camera_path(  # a line says what the path is made of, as from-video's does
            clip_cameras, s, asked_frames, focal, res, progress_write if progress and group.is_main_process else None)
    else:  # a camera file is read once, here (before any weights load): its frames, K (fitted as the images), times
        c2w, K, times, from_file = frame_cameras(s.camera, asked_frames, focal, s.elevation, s.azimuth_range,
                                                 s.radius, scale=info.preset_scale, fit=s.fit)
        if from_file is None and group.is_main_process and (
                note := info.scene_depth_note(repr(camera_label(s.camera)))) is not None:
            v.warn(note)
    num_frames = c2w.shape[0]
    if num_frames < 2:
        raise ValueError(f"{camera_label(s.camera)}: the camera path needs at least 2 cameras, it has {num_frames}")
    if times is None and s.mode != "3d":  # frame times in [0, 1] for 4D readers (D-NeRF's "time" of each frame)
        times = torch.linspace(0.0, 1.0, num_frames)
    from .pipelines.long_paths import (LongPathSettings, generate_long, plan_for, scene_frames, short_windows,
                                       short_windows_warning, unused_window_settings)

    long_settings = LongPathSettings(s.window, s.anchors, s.overlap, s.max_windows_per_call)
    plan = plan_for(info, d, s.mode, c2w, K, [0], long_settings)  # None: one window holds the path
    if group.is_main_process:
        if s.num_frames is not None and num_frames != s.num_frames:
            source = ("the CameraPath given" if isinstance(s.camera, CameraPath) else  # its label counts them
                      f"the camera file {camera_label(s.camera)}")
            v.warn(f"{v.arg('num_frames')} {s.num_frames} is not used: {source} has {num_frames} cameras")
        for unused in unused_camera_settings(s, from_file is not None or clip_cameras is not None):
            v.warn(unused)
        if (focal_unused := unused_focal_warning(s, from_file)) is not None:
            v.warn(focal_unused)
        for unused in (unused_window_settings(long_settings, num_frames) if plan is None else []):
            v.warn(unused)
        if s.camera_from_video is None and (shadowed := preset_beside_a_path_warning(s.camera)) is not None:
            v.warn(shadowed)
        if s.mode == "video" and (s.camera != "orbit" or s.camera_from_video is not None):
            # the authors' video mode: the camera rays are zeros (genxd.pipelines.conditioning)
            asked = camera_label(s.camera) if s.camera_from_video is None else f"from {s.camera_from_video}"
            v.warn(f"{v.arg('mode')} video gives the model no cameras: the frames do not follow the camera path "
                   f"({asked}), which cameras.json records as asked; use {v.arg('mode')} 4d for a camera path with "
                   "moving objects")
        if (still := still_camera_warning(c2w, s)) is not None:
            v.warn(still)
        if (uneven := uneven_times_warning(times, s)) is not None:
            v.warn(uneven)
        if (backward := backward_times_warning(times, s)) is not None:
            v.warn(backward)
        if (frozen := single_time_warning(times, s)) is not None:
            v.warn(frozen)
        # a model whose config leaves scene_depth out: its scale is not known (scene_depth_note), nothing to compare
        model_depth = None if info.scene_depth_unstated else info.preset_scale * PRESET_SCENE_DEPTH
        if (far := file_scale_warning(from_file, s, model_depth)) is not None:
            v.warn(far)
        if s.mode == "3d" and s.motion_strength > 0:
            v.warn(f"{v.arg('motion_strength')} {s.motion_strength:g} is not used in 3d mode (a static scene); "
                   f"use {v.arg('mode')} 4d or video for moving objects")
        # a long path is made window by window (the model sees `plan.window` frames at a time): no warning then
        # a camera file's own count is not --frames (which may even be given, and not used: warned above)
        subjects = ({"num_frames": f"the camera path of {camera_label(s.camera)} ({num_frames} cameras)"}
                    if from_file is not None and plan is None else None)
        if plan is not None:  # the frames the model sees at once: the window, not --frames
            subjects = {"num_frames": f"{v.arg('window')} {plan.window}"}
        v.warn_outside_trained(info.trained, {"resolution": res, "num_frames": num_frames if plan is None else plan.window,
                                              "motion_strength": s.motion_strength if s.mode != "3d" else None},
                               info.description, subjects)
        if plan is not None and (short := short_windows(plan, info.trained)):  # the window is trained on, these not
            v.warn(short_windows_warning(plan, short, info.trained, info.description))
    if s.mode == "3d":  # unused there (warned above): record and sample with the value used, as the demo does
        s = dataclasses.replace(s, motion_strength=0.0)
    fps = s.fps or default_fps(num_frames)

    if shard is not None and progress and group.is_main_process:  # once every setting has been checked
        progress_write(f"genxd: {shard_line(shard, len(chosen), len(paths))}")

    # 3. the output folder: clean what killed runs left, refuse existing outputs unless asked
    read = [p for p in paths if not isinstance(p, MemoryImage)] + [s.camera_from_video]
    read += [s.camera] if from_file is not None and isinstance(s.camera, (str, os.PathLike)) else []
    if summary is not None:  # --summary victim.png --overwrite replaced the photo with the job's summary
        check_inputs_kept(summary, read, f"summary file ({v.arg('summary')})")
    todo, skipped = outputs_in_step(group, out_dir, folders, chosen, overwrite, skip_existing, read,
                                    # a kept output of another file of the same name
                                    lambda kept: check_kept_inputs(folders, kept, paths))
    meta_common = {
        "model": info.label, "mode": s.mode,
        "camera": camera_label(s.camera) if clip_cameras is None else f"from-video:{s.camera_from_video}",
        "motion_strength": s.motion_strength, "scheduler": scheduler, "num_inference_steps": steps,
        "guidance_scale": guidance, "resolution": res, "num_frames": num_frames, "fit": s.fit, "process_index": rank,
        "num_processes": group.num_processes,
        "cameras_followed": s.mode != "video",  # video mode: no camera rays; cameras.json is the path asked for
    }
    if clip_cameras is not None and clip_cameras.report.get("clip_range"):  # --camera-start / --camera-end: the part
        meta_common["clip_range"] = clip_cameras.report["clip_range"]  # followed (camera names the whole clip)
    if plan is not None:
        meta_common["long_path"] = plan.to_dict()

    # 4. load the model and generate
    def skipped_input(i: int) -> SceneResult:
        return SceneResult(i, str(paths[i]), str(folders[i]), "skipped", process_index=rank)

    def failed_input(i: int, exc: BaseException) -> SceneResult:
        return failed_result(i, str(paths[i]), str(folders[i]), exc, rank, group.num_processes)

    results = [skipped_input(i) for i in skipped] if group.is_main_process else []
    mine = group.split(todo)
    show = progress and group.is_main_process
    others = WrittenByOthers(folders, skip_existing, paths)  # paths: an output of another file is not kept

    bar = progress_bar(total=len(mine), unit="scene", disable=not show, desc=group.label("scenes"))
    # held as 8 bits until each is sampled: as float32, 2,000 inputs took 6.3 GB at 512x512 before the model loaded
    tensors: dict[int, Tensor] = {}
    # a bar of its own: 2,000 photos took minutes here with the scenes' bar standing at 0 (200 12-megapixel PNGs: 62 s)
    # Ctrl-C while reading, checking kept windows or loading the model: the bars closed, the terminal left clean
    # for 'genxd: interrupted' (the bars of the generation: the same, on the with below)
    open_bars = [bar]
    cropped_away: list[tuple[int, tuple[float, float]]] = []  # inputs of which --fit crop keeps little
    with closed_on_interrupt(open_bars):
        with progress_bar(total=len(mine), unit="image", disable=not show or len(mine) < 2, leave=False,
                          desc=group.label("reading images")) as reading:
            for i in mine:  # decode first, outside the model's lock: a bad file fails alone, before the generation
                try:  # starts
                    tensors[i], size = load_image_uint8_sized(paths[i], res, res, s.fit)
                    if s.fit == "crop" and crop_kept_fraction(size, res, res) < CROP_WARNING_FRACTION:
                        cropped_away.append((i, size))
                except Exception as exc:  # noqa: BLE001 - recorded, the other inputs go on
                    results.append(failed_input(i, exc))
                    bar.update()
                reading.update()
        if cropped_away and group.is_main_process:
            v.warn(crop_warning(cropped_away, paths))
        ready, partials = [i for i in mine if i in tensors], None
        if plan is not None:  # its windows done are kept in OUT/.genxd-partial: checked before the model loads
            from .pipelines.long_path_state import PartialRuns, Scene, job_fingerprint, tensor_digest
            from .pipelines.long_paths import default_windows_per_call

            job = job_fingerprint(
                info.path, info.label, loaded and loaded.pipe, group.device(device), dtype, mode=s.mode,
                motion_strength=s.motion_strength, num_inference_steps=steps, guidance_scale=guidance,
                scheduler=scheduler, resolution=res, cameras=tensor_digest(c2w, K), offload=offload, compile_unet=compile_unet,
                sequential_guidance=s.sequential_guidance,
                windows_per_call=s.max_windows_per_call or default_windows_per_call(plan.window, res, res))
            # the scenes skipped are written: a state left beside one is of no more use
            partials, ready, refused = PartialRuns.checked(
                out_dir, plan, job, {i: Scene(folders[i].name, tensors[i], s.seed + i) for i in ready}, s.batch_size,
                [folders[i].name for i in skipped] if group.is_main_process else (),
                overwrite, show, model_folder=info.path)
            for i, refusal in refused.items():
                results.append(failed_input(i, refusal))
                bar.update()
        # every input failed to decode or its kept windows were refused: no model to load (tens of seconds for the
        # released one)
        lm = (loaded or load_model(model, group.device(device), dtype, compile_unet=compile_unet, offload=offload,
                                   allow_pickle=allow_pickle, progress=progress)) if ready else None
    if lm is None:
        bar.close()
    else:
        # one job at a time per loaded model: the pipeline's scheduler (its step index) and sampling settings are
        # state of the call in progress (two threads sharing a model both failed: "index 4 is out of bounds")
        # a Ctrl-C / SIGTERM after some scenes: the line says how many were written and how to go on
        with noting_written(lambda: sum(r.status == "written" for r in results), len(mine), out_dir,
                            overwrite=overwrite), \
                lm.lock, job_settings_restored(lm.pipe), \
                (partials.noting_kept() if partials is not None else contextlib.nullcontext()), \
                closed_on_interrupt(open_bars):  # left first: the bars closed before the lines above
            pipe: Any = lm.pipe  # LoadedModel.pipe is typed object: a GenXDPipeline (or a test's stand-in)
            configure_sampling(pipe, scheduler, s.decode_chunk, s.sequential_guidance)
            pipe.set_progress_bar_config(leave=False, desc="denoising", **disable_setting(not show), **bar_settings())
            long_bar = None
            if plan is not None:
                from .pipelines.long_paths import long_job_progress

                batches = [(plan, len(ready[k:k + s.batch_size])) for k in range(0, len(ready), s.batch_size)]
                long_bar = (long_job_progress(batches, steps, s.max_windows_per_call, res, show, group.label,
                                              scheduler=scheduler) if batches else None)
                open_bars += [long_bar] if long_bar is not None else []
            for first in range(0, len(ready), s.batch_size):
                idx = ready[first:first + s.batch_size]
                now = others.since_start(idx)  # kept where another run (a task of a job array) has written it
                results += [skipped_input(i) for i in now]
                taken = others.from_another(idx)  # written meanwhile from another file of the same name: failed
                results += [_timed(failed_input(i, exc), time.time()) for i, exc in taken.items()]
                bar.update(len(now) + len(taken))
                idx = [i for i in idx if i not in now and i not in taken]
                if not idx:
                    continue
                started = time.time()
                try:
                    batch = torch.stack([uint8_to_tensor(tensors[i]) for i in idx])[:, None]  # B 1 3 H W
                    gens = [torch.Generator(device="cpu").manual_seed(s.seed + i) for i in idx]
                    if plan is None:
                        sampled = pipe(
                            context_images=batch, target_c2w=c2w, target_K=K, context_index=[0], mode=s.mode,
                            motion_strength=s.motion_strength, num_inference_steps=steps, guidance_scale=guidance,
                            generator=gens, output_type="pt",
                        ).frames
                    else:
                        assert partials is not None  # made with the plan, before the model loaded
                        sampled = generate_long(pipe, batch, c2w, K, plan, mode=s.mode,
                                                motion_strength=s.motion_strength, num_inference_steps=steps,
                                                guidance_scale=guidance, generator=gens,
                                                max_windows_per_call=s.max_windows_per_call, progress=long_bar,
                                                state=partials.batch(idx), decode=False, latents_in_memory=False,
                                                latents_folder=out_dir).latents
                except Exception as exc:  # noqa: BLE001
                    kept = partials and partials.kept_note()  # a long path's windows done: kept, and how to go on
                    failed_batch = [_timed(failed_input(i, exc), started) for i in idx]
                    for r in failed_batch:
                        r.error = f"{r.error}{f' ({kept})' if kept else ''}"  # failed_result: error is a str
                    results += failed_batch
                    bar.update(len(idx))
                    continue
                for j, i in enumerate(idx):
                    try:
                        meta = {**meta_common, "input": str(paths[i]), **input_path_entry(paths[i]),
                                "output": folders[i].name, "seed": s.seed + i}
                        left = tensors[i][None].expand(num_frames, -1, -1, -1)  # 8 bits: as compare.mp4 shows it
                        # a long path's latents: decoded a window at a time as they are written
                        scene = scene_frames(pipe, sampled[j], plan)
                        write_scene(folders[i], scene, c2w, K, [0], left, meta, fps, times=times,
                                    extra_files=extra_files, replace=overwrite)
                        written = SceneResult(i, str(paths[i]), str(folders[i]), "written", process_index=rank)
                        results.append(_timed(written, started))
                        if partials is not None:
                            partials.done(i)
                    except Exception as exc:  # noqa: BLE001
                        error = others.explained(exc, i)  # another run's output of another file of the same name
                        if others.kept(error):  # another run wrote it meanwhile
                            results.append(_timed(skipped_input(i), started))
                            if partials is not None:
                                partials.done(i)
                        else:  # decoding or writing failed: the sampled windows stay kept
                            failed = _timed(failed_input(i, error), started)
                            kept = partials and partials.kept_note([i])
                            failed.error = f"{failed.error}{f' ({kept})' if kept else ''}"  # failed_result: a str
                            results.append(failed)
                    bar.update()
                sampled = None  # a long path's latents file: gone now, before the next batch makes its own
            bar.close()
            if long_bar is not None:
                long_bar.close()
    results = group.gather(results)
    write_summary_once(group, summary, results, {"command": "generate", "out": str(out_dir)})
    return results


def _timed(result: SceneResult, started: float) -> SceneResult:
    """``result`` with its wall-clock span (sampling started, output written): job throughput from the summary."""
    result.started_at, result.finished_at = started, time.time()
    return result


def generate(
    images: str | Path | ImageObject | Iterable[str | Path | ImageObject],
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    camera: str | Path | CameraPath = "orbit",
    mode: str = "3d",
    motion_strength: float = 0.0,
    num_frames: int | None = None,
    resolution: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    focal: float | None = None,
    elevation: float | None = None,
    azimuth_range: tuple[float, float] | None = None,
    radius: float | None = None,
    fit: Fit = "crop",
    fps: float | None = None,
    batch_size: int = 1,
    camera_from_video: str | Path | None = None,
    path_scale: float = 1.0,
    path_spacing: str | None = None,
    path_intrinsics: str = "model",
    path_smoothing: float = 0.0,
    camera_start: str | float | None = None,
    camera_end: str | float | None = None,
    window: int | None = None,
    anchors: int | None = None,
    overlap: int | None = None,
    scheduler: str | None = None,
    decode_chunk: int | None = None,
    sequential_guidance: bool = False,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    compile_unet: bool = False,
    offload: str = "none",
    allow_pickle: bool = False,
    overwrite: bool = False,
    skip_existing: bool = False,
    progress: bool = True,
    loaded: LoadedModel | None = None,
    shard: tuple[int, int] | str | None = None,
) -> list[Path]:
    """Generate a 3D (or video / 4D) scene from each input image along a camera path.

    Every value is checked before the model loads (:mod:`genxd.validation`); ``None`` means the model's
    default (``generation_config.json``). A value outside what the model was trained on gives a
    :class:`genxd.validation.GenXDWarning`.

    Args:
        images: image files and/or folders of images, and/or images in memory (a PIL image, a numpy array
            ``[H, W(, C)]``, a tensor ``[C, H, W]`` in [0, 1], or a batch of them; written to ``image_000``, ...;
            :mod:`genxd.utils.memory_images`); each image is its own scene (frame 0).
        out_dir: one sub-folder per image is written here, named after it (:func:`output_names`:
            inputs with the same stem get their extension added, so no output replaces another).
        model: checkpoint folder or cached hub id; None = the bundled small model.
        camera: a preset (``orbit``, ``forward``, ``spiral``, ``dolly``, ``zoom``, ``pan``, ``static``) or a
            camera file or folder (the authors' JSON, w2c lists, ``transforms.json``, COLMAP models,
            ``genxd curate`` / ``generate`` outputs; :func:`genxd.cameras.read_camera_path`; its cameras set
            the frame count; a ``Path`` is always a file or folder, ``Path("orbit")`` never the preset; so is a string written as a path, ``"./orbit"``), or a :class:`~genxd.cameras.CameraPath` object (``CameraPath(c2w [N, 4, 4] OpenCV
            camera-to-world, K [N, 3, 3] normalised, height, width)``, checked when made; ``docs/cameras.md``).
        mode: ``"3d"`` (static scene, multi-view), ``"video"`` or ``"4d"`` (camera and objects move).
        motion_strength: object motion for 4d / video, 0-100: 100 x the per-frame image displacement of
            moving objects over the shorter side (1 = 1% of it per frame; ``docs/conventions.md``). Curation's
            ``motion_strength`` and ``motion_threshold`` (``CurationConfig``, ``meta.json``) are the displacement
            itself, 1/100 of this: its default threshold 0.005 is 0.5 here.
        num_frames: frames along a preset path (>= 2); resolution: square size in pixels (a multiple of
            the model's latent size); num_inference_steps: 1-1000; guidance_scale: 1-100 (1 = off).
        seed: image ``i`` uses ``seed + i``.
        focal: normalised focal length ``fx / W``, 0.05-100 (0.05 is a 169-degree view); elevation: degrees
            (strictly between -90 and 90, orbit / forward);
            azimuth_range: ``(start, end)`` degrees (orbit / forward); radius: orbit radius (> 0; in the
            presets' units, where the subject is at 2: a preset path is scaled by the model's
            :attr:`~genxd.checkpoints.ModelInfo.preset_scale`, 0.5 for the bundled model).
        fit: ``"crop"`` (centre crop) or ``"pad"`` (pad with white) to a square.
        fps: frame rate of the videos (default: frames / 2, 1 to 30); batch_size: scenes per sampling call.
        device: ``"auto"`` / None (CUDA when available), ``"cpu"``, ``"cpu:N"``, ``"cuda"``, ``"cuda:N"``,
            ``"mps"``, ``"mps:N"``;
            dtype: ``"fp32"``, ``"bf16"``, ``"fp16"`` or a ``torch.dtype``; ``"auto"`` / None: bf16 on CUDA, fp32
            elsewhere.
        compile_unet: ``torch.compile`` the UNet's blocks (CUDA; no faster than the default fast path on an
            H200, after a warm-up of over a minute).
        overwrite: replace existing output folders (the old one is kept until the new one is complete);
            skip_existing: keep them (not regenerated) instead of refusing them.
        progress: show progress bars; loaded: a model from :func:`load_model` to reuse, run as it was loaded (a
            ``device`` or ``dtype`` naming another device or precision is refused, as are ``offload`` and
            ``compile_unet``, which act while a model loads).
        shard: ``(K, N)`` or ``"K/N"``, a job array's task K of N: only the inputs ``i`` with ``i % N == K``.
        camera_from_video: a video (or a folder of frames, or its cameras) whose camera path is followed
            instead of ``camera`` (:mod:`genxd.cameras.from_video`), with ``path_scale``, ``path_spacing``
            (``"arc"`` / ``"time"``; default arc in 3D, time otherwise), ``path_intrinsics`` (``"model"`` /
            ``"clip"``) and ``path_smoothing``; ``camera_start`` / ``camera_end``: only that part of it, ``[start,
            end)`` in seconds from its first frame (``2.5``) or frame indices (``"30f"``), as ``genxd trajectory
            from-video --start / --end`` (:mod:`genxd.cameras.clip_range`).
        window, anchors, overlap: paths longer than the model's window are made window by window
            (:mod:`genxd.pipelines.long_paths`, ``docs/long_paths.md``): frames per call (default: the
            model's); in 3D ``anchors`` 0 / None (default: windows grow outwards from the inputs) or the new
            frames of a first anchor window spread over the path; generated frames conditioning each later
            window (default ``max(1, window // 4)``). The windows done are kept in ``out_dir/.genxd-partial`` until the
            scene is written: the same call continues an interrupted one, bitwise; kept windows of other settings
            fail the scene unless ``overwrite`` (:mod:`genxd.pipelines.long_path_state`).
        scheduler: the sampler, ``euler`` (the model's default), ``heun``, ``dpmpp-2m``, ``dpmpp-3m``,
            ``dpmpp-2m-sde`` or ``unipc`` (:mod:`genxd.pipelines.schedulers`); decode_chunk: frames per VAE
            decoding window (default: by image size); sequential_guidance: the two guidance branches as two
            UNet calls (less memory); offload: ``"none"``, ``"model"`` or ``"group"`` (CUDA, small GPUs;
            :func:`load_model`). allow_pickle: load a model folder whose ``unet/`` or ``vae/`` holds only pickle
            weights (``diffusion_pytorch_model.bin``; unpickling can run code: only for files you trust).
    Returns:
        the scene folders written (under ``accelerate launch``: by all processes).
    Raises:
        ValueError (a bad value, named as the argument; one of the wrong type is also a TypeError),
        FileNotFoundError, FileExistsError, PermissionError: before anything is loaded or written. GenerationError after the other inputs are
        written, when some inputs failed (a bad image ...).
    """
    results = generate_scenes(
        images, out_dir, model, camera=camera, mode=mode, motion_strength=motion_strength, num_frames=num_frames,
        resolution=resolution, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, seed=seed,
        focal=focal, elevation=elevation, azimuth_range=azimuth_range, radius=radius, fit=fit, fps=fps,
        batch_size=batch_size, camera_from_video=camera_from_video, path_scale=path_scale,
        path_spacing=path_spacing, path_intrinsics=path_intrinsics, path_smoothing=path_smoothing,
        camera_start=camera_start, camera_end=camera_end, window=window,
        anchors=anchors, overlap=overlap, scheduler=scheduler, decode_chunk=decode_chunk,
        sequential_guidance=sequential_guidance, device=device, dtype=dtype, compile_unet=compile_unet, offload=offload, allow_pickle=allow_pickle, overwrite=overwrite, skip_existing=skip_existing, progress=progress,
        loaded=loaded, shard=shard,
    )
    if any(r.status == "failed" for r in results):
        raise GenerationError(results)
    return [Path(r.output) for r in results if r.status == "written"]


__all__ = ["generate", "fewshot", "generate_scenes", "fewshot_scenes", "SceneResult", "GenerationError", "load_model",
           "model_info", "ModelInfo", "output_names", "default_model_path", "camera_trajectory", "write_scene",
           "GenerateSettings", "LoadedModel", "asdict", "pick_device", "pick_dtype", "RELEASED_DEFAULTS",
           "RELEASED_TRAINED", "GENERATION_CONFIG", "BUNDLED_MODEL_DIR"]

from .fewshot_jobs import fewshot, fewshot_scenes  # noqa: E402 - after the names it uses from here

# ``genxd.fewshot`` names this function, not the module genxd/fewshot.py that importing it bound there.
setattr(sys.modules[__package__], "fewshot", fewshot)
