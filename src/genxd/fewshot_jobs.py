"""The few-shot jobs, from Python: ``genxd.fewshot(...)`` and ``genxd.fewshot_scenes(...)`` (re-exported by
:mod:`genxd.api`; the ``genxd fewshot`` command calls them).

Few-shot generation on ReconFusion-format scenes: the context views of a split and target cameras (the
split's test views, or fitted trajectories) in groups of the model's frame count (:mod:`genxd.fewshot`),
each group written like a ``generate`` scene. The model is loaded through :mod:`genxd.api`'s
``load_model`` / ``model_info`` (looked up at call time: one place to swap them, e.g. in tests).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import torch
from torch import Tensor

from . import validation as v
from .checkpoints import LoadedModel, configure_sampling, job_settings_restored
from .pipelines.distributed import GenerationError, ProcessGroup, SceneResult, failed_result, write_summary_once
from .job_setup import check_run_settings, outputs_in_step
from .output_folders import WrittenByOthers, noting_written, safe_folder_name, unique_labels
from .scene_outputs import check_job, write_scene
from .utils.video import default_fps
from .summary_file import check_summary_apart
from .utils.json_files import read_json_object
from .utils.shards import shard_indices, shard_line
from .utils.paths import parts_below, path_argument
from .validation import check


def _not_a_folder(path: object) -> str:
    """Why ``path`` is not a folder, for an error message."""
    exists = isinstance(path, (str, os.PathLike)) and Path(path).exists()
    return "is a file, not a folder" if exists else "no such folder"


def _warn_repeated_views(scenes: dict, n_views: int, num_frames: int, num_context: int) -> None:
    """Warn when a scene has fewer distinct test views than the targets of one group: the direct strategy then
    repeats test views to fill each group (:mod:`genxd.fewshot`)."""
    targets = num_frames - num_context
    distinct = {key: len(set(scene.splits[n_views][1])) for key, scene in scenes.items()}
    short = {key: n for key, n in distinct.items() if 0 < n < targets}
    if not short:
        return
    fewest = min(short.values())
    which = (f"scene {next(iter(short))!r} has only {fewest}" if len(short) == 1 else
             f"{len(short)} of {len(scenes)} scenes have as few as {fewest}")
    v.warn(f"{which} distinct test views (split {n_views}), fewer than the {targets} targets of a group "
           f"({v.setting('num_frames', num_frames)} minus {num_context} context views): test views are repeated; "
           f"{v.setting('num_frames', fewest + num_context)} or less uses each once", stacklevel=3)


def _warn_cropped_views(scenes: dict) -> None:
    """Warn, once, when scenes have views that are not square: without ``pad_to_square`` each view is cut to its
    centre square, and ``genxd reconstruct --extra-views`` then refuses the generated frames beside the scene's
    own non-square views (as it says only after the generation)."""
    sizes = {key: scene.stored_size()[::-1] for key, scene in scenes.items()}
    wide = {key: (w, h) for key, (w, h) in sizes.items() if w != h}
    if not wide:
        return
    key, (w, h) = next(iter(wide.items()))
    which = (f"scene {key!r} has {w}x{h} views" if len(wide) == 1 else
             f"{len(wide)} of {len(scenes)} scenes have non-square views (scene {key!r}: {w}x{h})")
    how = ("genxd reconstruct --extra-views" if v.is_cli() else
           "genxd.reconstruction.reconstruct_scene(..., extra_views=...)")
    v.warn(f"{which}: each view is cut to its centre square ({v.switch_hint('pad_to_square')} to pad them "
           f"instead: {how} needs that to take the generated frames)")


def _check_kept_groups(kept: list[Path], settings: dict[str, object]) -> None:
    """A ValueError for the first group kept by ``skip_existing`` whose ``meta.json`` records another value of
    ``settings`` (the group names do not say the split or the frame count: a 3-view group would be kept for a 9-view
    run, a group of 5 targets for a run of groups of 2)."""
    for folder in kept:
        meta = read_json_object(folder / "meta.json")
        for name, value in settings.items():
            if name in meta and meta[name] != value:
                raise v.InvalidValue(
                    f"{folder}: an existing group made with {name} {meta[name]!r}, not {value!r}: "
                    f"{v.arg('skip_existing')} would keep it; write to another output folder, or replace it "
                    f"with {v.arg('overwrite')}")


def _check_summary_outside_inputs(summary: Any, inputs: dict[str, Any]) -> None:
    """Refuse a ``summary`` that is a file already in an input folder (``inputs``: argument name -> folder; both as
    given: values of another type are left to their own checks), whatever ``overwrite`` says: ``--summary
    DATA/index.json --overwrite`` replaced the dataset's index with the job's summary after the job."""
    if not isinstance(summary, (str, os.PathLike)) or not summary or not os.path.lexists(summary):
        return
    for name, folder in inputs.items():
        if isinstance(folder, (str, os.PathLike)) and folder and parts_below(summary, folder) is not None:
            raise v.InvalidValue(f"summary file ({v.arg('summary')}) {summary} is a file in the input folder {folder} "
                                 f"({v.arg(name)}): writing the summary would replace it; give another file name")


def fewshot_scenes(
    data_root: str | Path,
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    strategy: str = "direct",
    pose_dir: str | Path | None = None,
    n_views: int = 9,
    num_context: int = 3,
    num_frames: int | None = None,
    resolution: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    save_target_only: bool = False,
    pad_to_square: bool = False,
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
    """Like :func:`fewshot` (same arguments), but a failed group is recorded and the others still run.

    One result per group. Under ``accelerate launch`` each process generates its share of the groups;
    ``input`` of a result is the group name (its output folder). ``summary``, ``shard`` (groups ``i`` with
    ``i % N == K`` of the groups' order): as :func:`generate_scenes`.
    """
    from . import api
    from .data.reconfusion import load_reconfusion
    from .fewshot import build_fewshot_groups
    from .utils.progress import bar_settings, disable_setting, progress_bar, progress_write

    # 1. check every value (nothing loaded, nothing written yet)
    strategy = check(strategy, v.STRATEGIES, "strategy")
    n_views = check(n_views, v.N_VIEWS, "n_views")
    num_context = check(num_context, v.NUM_CONTEXT, "num_context")
    num_frames = check(num_frames, v.NUM_FRAMES, "num_frames")
    resolution = check(resolution, v.RESOLUTION, "resolution")
    num_inference_steps = check(num_inference_steps, v.STEPS, "num_inference_steps")
    guidance_scale = check(guidance_scale, v.GUIDANCE, "guidance_scale")
    seed = check(seed, v.SEED, "seed")
    window = check(window, v.WINDOW, "window")
    anchors = check(anchors, v.ANCHORS, "anchors")
    overlap = check(overlap, v.OVERLAP, "overlap")
    scheduler = check(scheduler, v.SCHEDULERS, "scheduler")
    decode_chunk = check(decode_chunk, v.DECODE_CHUNK, "decode_chunk")
    check(sequential_guidance, v.Flag(), "sequential_guidance")
    offload, device, shard, dtype = check_run_settings(model, loaded, offload, device, shard, dtype,
                                                       compile_unet=compile_unet)
    # before check_job's check of an existing summary file, whose advice is --overwrite
    _check_summary_outside_inputs(summary, {"data_root": data_root, "pose_dir": pose_dir})
    out_dir, summary = check_job(out_dir, summary, {
        "save_target_only": save_target_only, "pad_to_square": pad_to_square, "compile_unet": compile_unet,
        "allow_pickle": allow_pickle, "overwrite": overwrite, "skip_existing": skip_existing, "progress": progress},
        shard)
    data_root = path_argument(data_root, "data_root", "a folder path")
    if not data_root.is_dir():
        raise FileNotFoundError(f"{data_root}: {_not_a_folder(data_root)} ({v.arg('data_root')})")
    if pose_dir is not None:
        pose_dir = path_argument(pose_dir, "pose_dir", "a folder path")
        if not pose_dir.is_dir():
            raise FileNotFoundError(f"{pose_dir}: {_not_a_folder(pose_dir)} ({v.arg('pose_dir')})")
    if strategy == "grouped" and pose_dir is None:
        raise v.InvalidValue(f"the grouped strategy needs {v.arg('pose_dir')} (the output of 'genxd trajectory fit')")

    group = ProcessGroup(device)  # under accelerate launch: warnings from the main process only
    rank = group.process_index

    # 2. the model's settings (config files only), the scenes and their groups
    info = loaded.info if loaded is not None else api.model_info(model)
    d = info.defaults
    res = int(resolution or d["resolution"])
    if info.latent_multiple and res % info.latent_multiple:
        raise v.InvalidValue(f"{v.arg('resolution')} must be a multiple of {info.latent_multiple} for this model, got {res}")
    if not num_frames:  # the model's count, checked as --frames would be (50000 ran out of memory)
        from .checkpoints import GENERATION_CONFIG
        from .generation_settings import MODEL_NUM_FRAMES, check_model_setting

        who, verb = ("genxd fewshot", "give") if v.is_cli() else ("genxd.fewshot", "pass")
        check_model_setting(info.path / GENERATION_CONFIG, "num_frames", d["num_frames"], MODEL_NUM_FRAMES,
                            f"{who} takes it for {v.arg('num_frames')}, which was not given: {verb} "
                            f"{v.arg('num_frames')}")
    num_frames = int(num_frames or d["num_frames"])
    if num_frames <= num_context:
        raise v.InvalidValue(f"{v.arg('num_frames')} ({num_frames}) must exceed {v.arg('num_context')} ({num_context})")
    steps = int(num_inference_steps or d["num_inference_steps"])
    guidance = float(guidance_scale if guidance_scale is not None else d["guidance_scale"])
    scenes = load_reconfusion(data_root, decode_images=False)  # decoded a view at a time, squared and resized
    if not scenes:
        raise ValueError(f"{data_root}: no scenes in index.json")
    groups = build_fewshot_groups(
        scenes, strategy=strategy, pose_dir=pose_dir, n_views=n_views, num_context=num_context,
        num_frames=num_frames, resolution=res, pad_to_square=pad_to_square,
    )
    labels = [g.name for g in groups]
    folders = [out_dir / n for n in unique_labels([safe_folder_name(g.name) for g in groups])]
    check_summary_apart(summary, folders, labels)
    chosen = shard_indices(len(groups), shard)  # a job array's task: its groups (names and seeds of all groups)
    own = {groups[gi].key: scenes[groups[gi].key] for gi in chosen}  # its scenes: warned about by this task only
    if strategy == "direct" and group.is_main_process:
        _warn_repeated_views(own, n_views, num_frames, num_context)
        if pose_dir is not None:  # read by the grouped strategy only: it was dropped without a word
            v.warn(f"{v.arg('pose_dir')} is not used: the direct strategy generates at the split's test views (the "
                   f"fitted poses are the targets of {v.text_setting('strategy', 'grouped')})")
    if not pad_to_square and group.is_main_process:
        _warn_cropped_views(own)
    if shard is not None and progress and group.is_main_process:
        progress_write(f"genxd: {shard_line(shard, len(chosen), len(groups), 'groups')}")
    from .pipelines.long_paths import (LongPathSettings, decoded_frames, generate_long, long_job_progress, plan_for,
                                       short_windows, short_windows_warning, unused_window_settings)

    long_settings = LongPathSettings(window, anchors, overlap)
    plans = {gi: plan_for(info, d, "3d", groups[gi].c2w, groups[gi].K, groups[gi].context_index.tolist(),
                          long_settings) for gi in chosen}  # the task's groups; None: the group fits one window
    if group.is_main_process:  # a long path is made window by window: the model sees a window's frames then
        windows = [p.window for p in plans.values() if p is not None]
        # the window, named as such (it said "--frames 6" for --frames 8 --window 6), as genxd generate does
        v.warn_outside_trained(info.trained, {"resolution": res, "num_frames": max(windows) if windows else num_frames},
                               info.description, {"num_frames": f"{v.arg('window')} {max(windows)}"} if windows else None)
        for unused in (unused_window_settings(long_settings, num_frames) if not windows else []):
            v.warn(unused)  # anchors / overlap of groups that one window holds (generate says it too)
        shorter = {gi: (p, found) for gi, p in plans.items()
                   if p is not None and (found := short_windows(p, info.trained))}
        if shorter:  # the window is trained on, these windows not (generate says it too)
            first, more = min(shorter), len(shorter) - 1
            and_others = f" (and {more} other group{'s' if more > 1 else ''})" if more else ""
            v.warn(f"group {groups[first].name}{and_others}: "
                   f"{short_windows_warning(*shorter[first], info.trained, info.description)}")

    # 3. the output folder
    def check_kept(kept: list[int]) -> None:
        if skip_existing:
            # the frame count decides a group's targets (scene_direct_000: test views 1, 2 of --frames 5, all 5 of
            # --frames 8) and pad_to_square its frames (reconstruct --extra-views takes padded frames only)
            _check_kept_groups([folders[i] for i in kept],
                               {"strategy": strategy, "n_views": n_views, "num_context": num_context,
                                "num_frames": num_frames, "pad_to_square": pad_to_square})

    todo, skipped = outputs_in_step(group, out_dir, folders, chosen, overwrite, skip_existing, [data_root, pose_dir],
                                    check_kept)

    # 4. load the model and generate
    sampler = scheduler or d.get("scheduler", "euler")

    def skipped_group(gi: int) -> SceneResult:
        return SceneResult(gi, labels[gi], str(folders[gi]), "skipped", process_index=rank)

    def failed_group(gi: int, exc: BaseException) -> SceneResult:
        return failed_result(gi, labels[gi], str(folders[gi]), exc, rank, group.num_processes)

    results = [skipped_group(i) for i in skipped] if group.is_main_process else []
    show = progress and group.is_main_process
    mine = group.split(todo)
    others = WrittenByOthers(folders, skip_existing)

    partials = None
    if any(p is not None for p in plans.values()):  # windows done kept in OUT/.genxd-partial, as generate keeps them
        from .pipelines.long_path_state import PartialRuns, Scene, job_fingerprint, tensor_digest
        from .pipelines.long_paths import default_windows_per_call

        job = job_fingerprint(info.path, info.label, loaded and loaded.pipe, group.device(device), dtype, mode="3d",
                              motion_strength=0.0, num_inference_steps=steps, guidance_scale=guidance,
                              scheduler=sampler, resolution=res, offload=offload, compile_unet=compile_unet,
                              sequential_guidance=sequential_guidance)
        # each group with its own plan, cameras and context views, one group per sampling call
        long_scenes = {gi: Scene(folders[gi].name, groups[gi].context_images, seed + gi, plan,
                                 {"cameras": tensor_digest(groups[gi].c2w, groups[gi].K),
                                  "windows_per_call": default_windows_per_call(plan.window, res, res)})
                       for gi in mine if (plan := plans[gi]) is not None}
        partials, _, refused = PartialRuns.checked(out_dir, None, job, long_scenes, 1,
                                                   [folders[i].name for i in skipped]
                                                   if group.is_main_process else (), overwrite, show,
                                                   model_folder=info.path)
        results += [failed_group(gi, exc) for gi, exc in refused.items()]
        mine = [gi for gi in mine if gi not in refused]
    if not mine:  # every group of this process written, or its kept windows refused: no model to load (tens of
        return _gathered(group, results, summary, out_dir)  # seconds for the released one), as generate_scenes
    lm = loaded or api.load_model(model, group.device(device), dtype, compile_unet=compile_unet, offload=offload,
                                  allow_pickle=allow_pickle, progress=progress)
    # one job at a time per loaded model (generate_scenes says why)
    # a Ctrl-C / SIGTERM after some groups: the line says how many were written and how to go on
    with noting_written(lambda: sum(r.status == "written" for r in results), len(mine), out_dir, "groups",
                        overwrite=overwrite), \
            lm.lock, job_settings_restored(lm.pipe), \
            (partials.noting_kept() if partials is not None else contextlib.nullcontext()):
        pipe: Any = lm.pipe  # LoadedModel.pipe is typed object: a GenXDPipeline (or a test's stand-in)
        configure_sampling(pipe, sampler, decode_chunk, sequential_guidance)
        pipe.set_progress_bar_config(leave=False, desc="denoising", **disable_setting(not show), **bar_settings())
        long_plans = [plan for gi in mine if (plan := plans[gi]) is not None]
        long_bar = (long_job_progress([(plan, 1) for plan in long_plans], steps, None, res, show, group.label,
                                      scheduler=sampler) if long_plans else None)
        for gi in progress_bar(mine, desc=group.label("groups"), unit="group", disable=not show):
            if others.since_start([gi]):  # kept where another run (a task of a job array) has written it
                results.append(skipped_group(gi))
                continue
            g = groups[gi]
            plan = plans[gi]
            latents = None
            runs: Iterable[Tensor] | None  # None again in finally: the group's frames and latents let go
            frames: Iterator[Tensor] | None
            try:
                gen = torch.Generator().manual_seed(seed + gi)
                if plan is None:
                    runs = [pipe(
                        context_images=g.context_images[None], target_c2w=g.c2w[None], target_K=g.K[None],
                        context_index=g.context_index[None], mode="3d", motion_strength=0.0,
                        num_inference_steps=steps, guidance_scale=guidance, generator=gen, output_type="pt",
                    ).frames[0].cpu()]
                else:
                    assert partials is not None  # made above for every group with a plan
                    latents = generate_long(pipe, g.context_images[None], g.c2w, g.K, plan, mode="3d",
                                            num_inference_steps=steps, guidance_scale=guidance, generator=[gen],
                                            progress=long_bar, state=partials.batch([gi]), decode=False,
                                            latents_in_memory=False, latents_folder=out_dir).latents
                    # decoded a window at a time as they are written (as genxd generate does)
                    runs = decoded_frames(pipe, latents[0], plan.window)
                keep = list(range(num_frames))
                if save_target_only:
                    ctx = set(g.context_index.tolist())
                    keep = [i for i in keep if i not in ctx]
                crop = g.crop_box if pad_to_square else None
                frames = _kept_frames(runs, keep, crop)
                c2w, K, left = g.c2w[keep], g.K[keep], g.reference_frames[keep]
                if crop is not None:
                    t, b, l, r = crop
                    left = left[..., t:b, l:r]
                    K = g.K_unpadded[keep]
                ctx_idx = [keep.index(i) for i in g.context_index.tolist() if i in keep] or [0]
                meta = {"scene": g.key, "strategy": strategy, "n_views": n_views, "num_context": num_context,
                        "num_frames": num_frames, "context_views": [g.frame_source[i] for i in g.context_index.tolist()],
                        "num_inference_steps": steps, "guidance_scale": guidance, "seed": seed + gi,
                        "pad_to_square": pad_to_square, "save_target_only": save_target_only,
                        "model": info.label, "scheduler": sampler, "process_index": rank,
                        "num_processes": group.num_processes}
                if plan is not None:
                    meta["long_path"] = plan.to_dict()
                tgt = [g.frame_source[i] for i in keep]
                write_scene(folders[gi], frames, c2w, K, ctx_idx, left, meta, fps=default_fps(num_frames),
                            target_indices=tgt, replace=overwrite)
                results.append(SceneResult(gi, labels[gi], str(folders[gi]), "written", process_index=rank))
                if partials is not None:
                    partials.done(gi)
            except Exception as exc:  # noqa: BLE001 - recorded, the other groups go on
                if others.kept(exc):  # another run wrote it meanwhile
                    results.append(skipped_group(gi))
                    if partials is not None:
                        partials.done(gi)
                    continue
                failed = failed_group(gi, exc)
                kept = partials and plan is not None and partials.kept_note()  # its windows done, and how on
                failed.error = f"{failed.error}{f' ({kept})' if kept else ''}"  # failed_result: error is a str
                results.append(failed)
            finally:
                latents = runs = frames = None  # its latents file gone now, before the next group makes its own
        if long_bar is not None:
            long_bar.close()
    return _gathered(group, results, summary, out_dir)


def _kept_frames(runs: Iterable[Tensor], keep: Sequence[int], crop: Sequence[int] | None) -> Iterator[Tensor]:
    """The frames ``keep`` (increasing) of a group's frames given as runs in order (``[n, 3, H, W]`` each: the whole
    group, or :func:`~genxd.pipelines.long_paths.decoded_frames`), cropped to ``crop`` (``(top, bottom, left,
    right)``; None: whole), one run at a time. ``runs`` is closed (where it can be: a decoding stream) when this
    is, so a writer that stops early leaves no stream open."""
    start = 0
    try:
        for run in runs:
            idx = [i - start for i in keep if start <= i < start + len(run)]
            start += len(run)
            if idx:
                part = run[idx]
                yield part if crop is None else part[..., crop[0]:crop[1], crop[2]:crop[3]]
    finally:
        close = getattr(runs, "close", None)
        if callable(close):
            close()


def _gathered(group: ProcessGroup, results: list[SceneResult], summary: str | Path | None,
              out_dir: Path) -> list[SceneResult]:
    """Every process's results; the ``summary`` file written by the main process."""
    results = group.gather(results)
    write_summary_once(group, summary, results, {"command": "fewshot", "out": str(out_dir)})
    return results


def fewshot(
    data_root: str | Path,
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    strategy: str = "direct",
    pose_dir: str | Path | None = None,
    n_views: int = 9,
    num_context: int = 3,
    num_frames: int | None = None,
    resolution: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    save_target_only: bool = False,
    pad_to_square: bool = False,
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
    """Generate views of ReconFusion-format scenes from their few-shot training views.

    ``strategy="direct"``: generate at the split's test views (groups of ``num_frames - num_context``
    targets); ``"grouped"``: along the trajectories fitted by ``genxd trajectory fit`` (``pose_dir``).
    See :mod:`genxd.fewshot` for the grouping rules (the authors' ``reconf_gen.py`` /
    ``reconf_group.py``).

    Args:
        data_root: a ReconFusion-format folder (``index.json`` + scene files).
        out_dir: one sub-folder per group is written here.
        model: checkpoint folder or cached hub id; None = the bundled small model.
        strategy: ``"direct"`` or ``"grouped"``; pose_dir: the fitted trajectories (``grouped``).
        n_views: which few-shot split (``train_test_split_N``); num_context: context views (1, 2 or 3).
        num_frames / resolution / num_inference_steps / guidance_scale: as :func:`generate` (None: the
            model's); seed: group ``i`` uses ``seed + i``.
        save_target_only: write only the generated target frames; pad_to_square: pad (not crop) to a
            square, outputs are un-padded.
        window, anchors, overlap, scheduler, decode_chunk, sequential_guidance, device, dtype, compile_unet,
            offload, allow_pickle, overwrite, skip_existing, progress, loaded, shard: as :func:`generate`.
    Returns:
        the group folders written.
    Raises:
        ValueError / FileNotFoundError / FileExistsError / PermissionError before anything is loaded;
        GenerationError (after the other groups are written) when some groups failed.
    """
    results = fewshot_scenes(
        data_root, out_dir, model, strategy=strategy, pose_dir=pose_dir, n_views=n_views, num_context=num_context,
        num_frames=num_frames, resolution=resolution, num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale, seed=seed, save_target_only=save_target_only, pad_to_square=pad_to_square,
        window=window, anchors=anchors, overlap=overlap, scheduler=scheduler, decode_chunk=decode_chunk,
        sequential_guidance=sequential_guidance, device=device, dtype=dtype, compile_unet=compile_unet, offload=offload,
        allow_pickle=allow_pickle, overwrite=overwrite, skip_existing=skip_existing, progress=progress, loaded=loaded,
        shard=shard,
    )
    if any(r.status == "failed" for r in results):
        raise GenerationError(results, "groups")
    return [Path(r.output) for r in results if r.status == "written"]


__all__ = ["fewshot", "fewshot_scenes"]
