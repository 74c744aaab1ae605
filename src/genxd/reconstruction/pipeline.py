"""End-to-end reconstruction of a scene folder (what ``genxd reconstruct`` runs); its evaluation (``genxd eval-recon``)
is :mod:`genxd.reconstruction.scene_evaluation`'s :func:`evaluate_scene`, importable from here too.

Output folder of :func:`reconstruct_scene`::

    OUT/
      scene.ply            3DGS layout (the scene at t = 0 for 4D)
      motion.npz           4D only: motion basis + per-Gaussian coefficients
      ply/time_XXXX.ply    4D only, with per_time_ply: the scene at each distinct input time
                           (ply/times.json lists the times)
      renders/NAME.png     renders at every input camera (train and held-out)
      flythrough.mp4       an interpolated path through the input cameras (and times)
      cameras.json         the views: names, c2w, K, times, size, split (train / test)
      cameras_3dgs.json    the views in the original 3DGS code's cameras.json layout (splat viewers import it)
      3dgs/                3D only: the 3DGS code's model folder (cfg_args, cameras.json, input.ply,
                           point_cloud/iteration_N/point_cloud.ply = scene.ply) for its SIBR viewer and tools
      reconstruction.json  input, options, timings, training and held-out metrics
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..utils.images import save_png, tensor_to_uint8
from ..output_folders import check_inputs_kept
from ..utils.io import check_not_working_folder, output_target
from ..validation import arg, is_cli, overwrite_hint, setting
from ..utils.json_text import json_text
from .inria_model import INRIA_MODEL_DIR, viewer_cameras, write_inria_model
from .extra_views import (check_not_conditioned_on_test_views, extra_views_summary, join_views,
                          resolve_extra_views)
from .mode_checks import mode_mismatch, only_in_4d
from .masks import INDEXED_MASKS, load_held_out_masks, masked_record
from .metrics import load_lpips
from .ply import save_motion, save_ply
from .render_names import render_file_names
from .scene_evaluation import evaluate_scene
from .trainer import ReconstructionConfig, check_training_views, render_views, train_gaussians, view_metrics
from .views import Views, detect_input_kind, load_reconfusion_views, load_views, one_time_axis

__all__ = [
    "DEVICE_DEFAULTS",
    "default_iterations",
    "default_resolution",
    "holdout_split",
    "reconstruct_scene",
    "evaluate_scene",
    "flythrough_path",
    "viewer_cameras",
    "write_video",
    "save_png",
]


#: ``(iterations, resolution)`` by device kind, for ``genxd reconstruct`` without --iterations /
#: --resolution. On a CPU the pure-PyTorch rasteriser runs a few steps per second at 128 px and about
#: 4x fewer at 256 px, so the GPU defaults (2,000 steps at 256 px) would take tens of minutes there
#: (docs/reconstruction.md, "On a CPU").
DEVICE_DEFAULTS: dict[str, tuple[int, int]] = {"cuda": (2000, 256), "cpu": (500, 128)}


def _device_kind(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def default_iterations(device: str) -> int:
    """Optimisation steps when none are given: 2,000 on CUDA, 500 on a CPU."""
    return DEVICE_DEFAULTS[_device_kind(device)][0]


def default_resolution(device: str) -> int:
    """Longer image side (pixels) when none is given: 256 on CUDA, 128 on a CPU."""
    return DEVICE_DEFAULTS[_device_kind(device)][1]


def holdout_split(num_views: int, every: int) -> tuple[list[int], list[int]]:
    """``(train, test)`` indices: every ``every``-th view (0, every, 2 every, ...) is held out.

    ``every <= 0`` holds nothing out (all views train).
    """
    if every <= 0:
        return list(range(num_views)), []
    if every == 1:
        raise ValueError(f"{setting('holdout_every', 1)} would hold out every view; use 0 (none) or >= 2")
    test = list(range(0, num_views, every))
    train = [i for i in range(num_views) if i % every != 0]
    return train, test




def write_video(path: Path, frames: Tensor, fps: int = 30) -> None:
    """Write ``[N, 3, H, W]`` float frames as an H.264 mp4 (sizes padded to even numbers), atomically and checked
    complete (:func:`genxd.utils.video.write_mp4`: a video cut short by a full disk raises instead of landing in
    the output folder)."""
    from genxd.utils.video import write_mp4

    write_mp4(path, tensor_to_uint8(frames), fps=fps, quality=8)


def flythrough_path(
    c2w: Tensor, K: Tensor, num_frames: int, times: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """A smooth camera path through the input cameras (``genxd.cameras.interpolate``).

    Returns ``(c2w [F, 4, 4], K [F, 3, 3], times [F] or None)``; for 4D inputs the time is
    interpolated linearly between the input cameras' times.
    """
    from genxd.cameras import interpolate

    n = len(c2w)
    if n == 1:
        return c2w.expand(num_frames, 4, 4).clone(), K.expand(num_frames, 3, 3).clone(), (
            None if times is None else times.expand(num_frames).clone()
        )
    num_frames = max(num_frames, n)
    path_c2w, path_K = interpolate(c2w.double(), num_frames, keyframes_K=K.double())
    path_times = None
    if times is not None:
        s = np.linspace(0.0, n - 1, num_frames)
        path_times = torch.from_numpy(np.interp(s, np.arange(n), times.double().numpy())).float()
    return path_c2w.float(), path_K.float(), path_times


def _shortest_float32(values: Sequence[float]) -> list[float]:
    """Each of ``values`` (float32 values, such as a float32 tensor's ``tolist()``) as the shortest decimal that reads
    back as the same float32: ``1 / 7`` as ``0.14285715``, not the float64 ``0.1428571492433548`` of its bits."""
    return [float(str(np.float32(value))) for value in values]


def _check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an output that exists without ``overwrite`` or that cannot be written.

    The output is written as a hidden temporary folder beside ``out`` and renamed onto it, so the
    nearest existing folder on the way to ``out`` (and ``out`` itself when it is replaced) must take a new
    entry: probed by creating and removing an empty folder there (exact for read-only mounts and for
    root, unlike permission bits).
    """
    check_not_working_folder(out, arg("out_dir"))
    out = output_target(out)  # a link is kept and what it points to replaced; one to nothing is refused now
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not overwrite:
            raise FileExistsError(f"{out} already exists and is not empty; {overwrite_hint('pass')}")
    where = out.parent.absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    probes = [where] + ([out] if out.is_dir() else [])
    for folder in probes:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".genxd-", suffix=".probe", dir=folder))  # short: out's name may be 255
        except OSError as exc:
            raise ValueError(
                f"{out}: cannot write the output: {folder} is not writable ({exc.strerror or exc})"
            ) from None


def _cameras_record(views: Views, train: Sequence[int], test: Sequence[int]) -> dict[str, Any]:
    return {
        "convention": "OpenCV camera-to-world, normalised intrinsics (docs/conventions.md)",
        "height": views.height,
        "width": views.width,
        "names": list(views.names),
        "c2w": views.c2w.double().tolist(),
        "K": views.K.double().tolist(),
        "times": None if views.times is None else views.times.double().tolist(),
        "train": list(train),
        "test": list(test),
    }


def _timed(views: Views) -> Tensor:
    """``views.times`` of a 4D reconstruction's views: each has times by the training (its own, placed on one axis
    with the other inputs', or made up from the frames' order)."""
    assert views.times is not None
    return views.times


def _square_crop_hint(extra_w: int, extra_h: int, input_w: int, input_h: int) -> str:
    """A hint for square views beside a non-square input: ``genxd fewshot`` crops the centre square unless told
    to pad (``--pad-to-square`` writes the input's own size back)."""
    if extra_w == extra_h and input_w != input_h:
        how = "genxd fewshot --pad-to-square" if is_cli() else "genxd.fewshot(..., pad_to_square=True)"
        return f" (square views of a non-square input: make them with {how})"
    return ""


def _one_viewpoint(c2w: Tensor) -> str | None:
    """Why views of cameras ``c2w`` that share one centre (a camera that only turns or stands still: a path from a
    video of a pan, the ``static`` preset) cannot give the scene's depth, or None when the cameras move."""
    centres = c2w[:, :3, 3].double()
    spread = float((centres - centres.mean(0)).norm(dim=-1).max()) if len(c2w) else 0.0
    if len(c2w) < 2 or spread > 1e-6 * max(1.0, float(centres.mean(0).norm())):
        return None
    return (f"the {len(c2w)} training views were all taken from one point (the camera only turns or stands still): "
            "nothing in them gives the depth of the scene, so the Gaussians look right only from there (views "
            "along a camera path that travels give it: the orbit or forward presets, a video whose camera moves)")


def _extra_view_arguments(extra_views: object) -> list[Path]:
    """``extra_views`` (None, one path, or a list or tuple of paths) as a list of paths, each checked as
    ``input_path`` is (:func:`~genxd.utils.paths.path_argument`)."""
    from ..utils.paths import path_argument
    from ..validation import InvalidType

    if extra_views is None:
        return []
    if isinstance(extra_views, (str, os.PathLike)):
        return [path_argument(extra_views, "extra_views", "a folder path or a list of them")]
    if not isinstance(extra_views, (list, tuple)):
        raise InvalidType(f"{arg('extra_views')} must be a folder path or a list of them, got {extra_views!r} "
                          f"({type(extra_views).__name__})"[:300])
    return [path_argument(p, "extra_views", "a folder path or a list of them") for p in extra_views]



def reconstruct_scene(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: ReconstructionConfig | None = None,
    resolution: int | None = 256,
    holdout_every: int = 0,
    scene_key: str | None = None,
    n_views: int | None = None,
    extra_views: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    video_frames: int = 120,
    fps: int = 30,
    per_time_ply: bool = False,
    inria_model: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    masks: str | os.PathLike | None = None,
    use_lpips: bool = True,
    callback: Callable[[int, Any, dict[str, float]], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Reconstruct ``input_path`` into ``out_dir`` (layout in the module docstring).

    Args:
        resolution: longer image side used for training, at most (None / 0: the input's).
        holdout_every: hold out every n-th view for evaluation (0: train on all; 1, every view, is a ValueError).
        scene_key, n_views: ReconFusion input: the scene and the few-shot split
            ``train_test_split_{n_views}`` (train on its train views, hold out its test views).
        extra_views: input folders (or one) whose views are added to the training set, e.g. GenXD views
            generated from the few-shot training views (same world frame): each a supported input
            folder, or a ``genxd fewshot`` output whose groups of the reconstructed scene are all used
            (:mod:`genxd.reconstruction.extra_views`; a folder reached twice is used once).
        masks: a folder of object masks of the held-out views (DTU's ``idrmasks``): ``test_metrics`` then holds
            DTU's masked metrics under ``masked``, as :func:`evaluate_scene` (:mod:`genxd.reconstruction.masks`).
        use_lpips: LPIPS in the training and held-out metrics (when the lpips package and its weights are on
            disk), as :func:`evaluate_scene`; False leaves it out (``lpips_available`` False). The LPIPS loss
            term is ``config.lambda_lpips``'s.
        inria_model: also write ``3dgs/``, the 3DGS code's model folder of a 3D scene
            (:mod:`genxd.reconstruction.inria_model`; its ``cfg_args`` holds the folder's absolute path).
        video_frames, fps: frames and frame rate of ``flythrough.mp4`` (0 frames: no video).
        per_time_ply: 4D only (else a ValueError): also write the scene at each distinct input time
            (``ply/time_XXXX.ply``).
        overwrite: replace an existing, non-empty ``out_dir`` (once the new one is complete); without it
            (default) such a folder is a FileExistsError before any work. progress: show progress bars.
        callback: ``callback(step, model, stats)`` after every optimisation step (progress, cancelling by
            raising); see :func:`genxd.reconstruction.trainer.train_gaussians`.
        on_ready: called once the inputs are loaded and checked, before training (the CLI's notes go
            there, so that a bad input gives its error alone).
        on_note: called with informational lines before ``on_ready`` (with ``extra_views``: how many
            extra views from how many folders / groups were added).
    Returns the content of ``reconstruction.json``.
    """
    from .. import job_specs as js
    from .. import validation as v
    from ..utils.io import atomic_dir
    from ..utils.paths import path_argument

    # the command line's checks, for Python callers too ("holdout_every='2'" was a TypeError deep inside)
    config = config or ReconstructionConfig()
    if not isinstance(config, ReconstructionConfig):
        raise v.InvalidType(f"{v.arg('config')} must be a ReconstructionConfig, got {type(config).__name__}")
    input_path = path_argument(input_path, "input_path")
    out_dir = path_argument(out_dir, "out_dir", "a folder path")
    resolution = v.check(resolution, js.RECON_RESOLUTION, "resolution")
    holdout_every = v.check(holdout_every, js.HOLDOUT_EVERY, "holdout_every")
    video_frames = v.check(video_frames, js.VIDEO_FRAMES, "video_frames")
    fps = v.check(fps, js.VIDEO_FPS, "fps")
    for name, flag in (("per_time_ply", per_time_ply), ("overwrite", overwrite), ("progress", progress),
                       ("use_lpips", use_lpips)):
        v.check(flag, v.Flag(), name)
    if per_time_ply and config.mode != "4d":
        raise ValueError(only_in_4d("per_time_ply"))
    _check_output_dir(out_dir, overwrite)
    extra_arguments = _extra_view_arguments(extra_views)
    # before the work; checked again as written
    check_inputs_kept(out_dir, [input_path, *extra_arguments], arg("out_dir"))
    kind = detect_input_kind(input_path)
    if kind == "reconfusion":
        if n_views is None:
            raise ValueError(f"a ReconFusion input needs {arg('n_views')} (the few-shot split train_test_split_{{n}})")
        if holdout_every:
            raise ValueError(f"{arg('holdout_every')} does not apply to ReconFusion inputs (the split gives the test "
                             "views)")
        views, scene_key, train, test = load_reconfusion_views(input_path, scene_key, n_views, resolution)
        if max(train + test, default=0) >= len(views):
            raise ValueError(f"{input_path}: train_test_split_{n_views} refers to views beyond the scene's {len(views)}")
    else:
        if n_views is not None:
            raise ValueError(f"{arg('n_views')} only applies to ReconFusion inputs")
        if scene_key is not None and not extra_arguments and masks is None:  # it was ignored without a word
            raise ValueError(f"{arg('scene_key')} only applies to ReconFusion inputs, to {arg('extra_views')} of a "
                             f"genxd fewshot output and to the scene subfolders of {arg('masks')}")
        views = load_views(input_path, resolution=resolution, scene_key=scene_key)
        train, test = holdout_split(len(views), holdout_every)
    mismatch = mode_mismatch(config.mode, views.times, input_path)  # said once the inputs are all checked
    if config.mode == "4d" and views.times is None:
        # a generated 4D clip without time stamps: frame i of N shows time i / (N - 1)
        n = len(views)
        views.times = torch.linspace(0.0, 1.0, n) if n > 1 else torch.zeros(1)
    test_views = views.subset(test)
    held_out_masks = None
    if masks is not None:  # before the training: a missing or wrong mask is said at once
        masks = path_argument(masks, "masks", "a folder path")
        if not test:
            raise ValueError(f"{arg('masks')} scores the held-out views, and there are none (hold views out with "
                             f"{setting('holdout_every', 'N')}, or use a ReconFusion split)")
        check_inputs_kept(out_dir, [masks], arg("out_dir"))
        held_out_masks = load_held_out_masks(masks, scene_key, test, test_views, (views.height, views.width),
                                         kind in INDEXED_MASKS, out_dir, arg("out_dir"))
    if not train:
        raise ValueError("no training views left")
    every_view = train == list(range(len(views)))  # nothing held out: the views themselves, not a copy of them
    train_views = views if every_view else views.subset(train)
    extra_folders: list[Path] = []
    if extra_arguments:
        # the scene (a ReconFusion input's, or --scene-key) picks a fewshot output's groups
        sources = resolve_extra_views(extra_arguments, scene_key, input_path, kind)
        if kind == "reconfusion":  # a group generated from a held-out view would show it to the training
            assert scene_key is not None and n_views is not None  # a ReconFusion input's: checked / found above
            check_not_conditioned_on_test_views([f for s in sources for f in s.folders], scene_key, n_views, test,
                                                input_path)
        extras = []
        for folder in (f for s in sources for f in s.folders):
            extra = load_views(folder, resolution=max(views.height, views.width))  # downsized as read
            if extra.images.shape[-2:] != views.images.shape[-2:]:
                raise ValueError(f"{folder}: views of size {extra.width}x{extra.height}, input is {views.width}x{views.height}"
                                 + _square_crop_hint(extra.width, extra.height, views.width, views.height))
            if config.mode == "4d" and extra.times is None:
                raise ValueError(f"{folder}: 4D reconstruction needs 'time' in every frame of {arg('extra_views')}")
            extra.names = [f"extra/{folder.name}/{n}" for n in extra.names]
            extras.append(extra)
            extra_folders.append(folder)
        if config.mode == "4d":  # the input's times and theirs on one axis (each folder alone spans [0, 1])
            views.times, *extra_times = one_time_axis([views, *extras])
            for extra, times in zip(extras, extra_times):
                extra.times = times
            train_views.times = _timed(views)[torch.tensor(train, dtype=torch.long)]
            test_views.times = _timed(views)[torch.tensor(test, dtype=torch.long)]
        num_train = len(train_views)
        # the input's sparse points and depth maps kept (--init colmap / depth / auto)
        train_views = join_views([train_views, *extras], None if config.mode != "4d" else torch.cat(
            [_timed(train_views)] + [_timed(e) for e in extras]))
        if on_note is not None:
            on_note(extra_views_summary(sources, len(train_views) - num_train, num_train))

    check_training_views(train_views, config)  # before the notes: --init colmap without points is said alone
    # the warnings after every check: a bad input (a missing --extra-views folder, a mask) gives its error alone
    if mismatch is not None:
        v.warn(mismatch)
    if (problem := _one_viewpoint(train_views.c2w)) is not None:
        v.warn(problem)
    if on_ready is not None:
        on_ready()
    result = train_gaussians(train_views, config, progress=progress, callback=callback)
    model = result.model
    background = torch.tensor(config.background, dtype=torch.float32)
    lpips_fn = load_lpips(device=config.device) if use_lpips else None
    # every input view rendered once: the metrics (training and held-out) and renders/ use the same images
    renders = render_views(model, views.c2w, views.K, views.height, views.width, views.times,
                           background.to(model.device), config.backend, progress="render views" if progress else None)
    train_renders = renders if every_view else renders[train]
    if len(train_views) > len(train):  # --extra-views
        extra = train_views.subset(range(len(train), len(train_views)))
        extra_renders = render_views(model, extra.c2w, extra.K, extra.height, extra.width, extra.times,
                                     background.to(model.device), config.backend,
                                     progress="render extra views" if progress else None)
        train_renders = torch.cat([train_renders, extra_renders])
    train_metrics = view_metrics(train_renders, train_views, lpips_fn)
    test_metrics = None
    if test:
        test_renders = renders[test]
        test_metrics = view_metrics(test_renders, test_views, lpips_fn)
        if held_out_masks is not None:  # given only with held-out views
            test_metrics["masked"] = masked_record(held_out_masks, test_renders, test_views, lpips_fn)

    record: dict[str, Any] = {
        "input": str(input_path.resolve()),
        "input_kind": kind,
        "scene_key": scene_key,
        "n_views": n_views,
        "extra_views": [str(p.resolve()) for p in extra_arguments] or None,  # the --extra-views arguments
        "extra_view_folders": [str(p.resolve()) for p in extra_folders],  # the folders whose views were added
        "num_extra_views": len(train_views) - len(train),
        "mode": config.mode,
        "resolution": [views.height, views.width],
        "num_train_views": len(train_views),
        "num_test_views": len(test),
        **result.summary(),
        "train_metrics": {k: v for k, v in train_metrics.items() if k != "per_view"},
        "test_metrics": test_metrics,
        "lpips_available": lpips_fn is not None,
    }

    with atomic_dir(out_dir, replace=overwrite) as tmp:  # replaces out_dir (checked above) only once complete
        save_ply(tmp / "scene.ply", model)
        if model.is_dynamic:
            save_motion(tmp / "motion.npz", model, times=sorted(set(_timed(views).tolist())))
            if per_time_ply:
                (tmp / "ply").mkdir()
                unique_times = sorted(set(_timed(views).tolist()))
                for j, t in enumerate(unique_times):
                    save_ply(tmp / "ply" / f"time_{j:04d}.ply", model, time=t)
                (tmp / "ply" / "times.json").write_text(json_text(_shortest_float32(unique_times)))
        (tmp / "renders").mkdir()
        for file, image in zip(render_file_names(views.names), renders):
            save_png(tmp / "renders" / file, image)
        if video_frames > 0:
            path_c2w, path_K, path_t = flythrough_path(views.c2w, views.K, video_frames, views.times)
            frames = render_views(model, path_c2w, path_K, views.height, views.width, path_t, background.to(model.device),
                                  config.backend, progress="fly-through" if progress else None)
            write_video(tmp / "flythrough.mp4", frames, fps=fps)
        with open(tmp / "cameras.json", "w") as f:
            f.write(json_text(_cameras_record(views, train, test)))
        cameras_3dgs = viewer_cameras(views)
        with open(tmp / "cameras_3dgs.json", "w") as f:
            f.write(json_text(cameras_3dgs))
        if inria_model and not model.is_dynamic:  # per-time scenes have no 3DGS model folder layout
            write_inria_model(tmp / INRIA_MODEL_DIR, Path(out_dir) / INRIA_MODEL_DIR, tmp / "scene.ply", cameras_3dgs,
                              model, config.iterations,
                              white_background=tuple(config.background) == (1.0, 1.0, 1.0), eval_split=bool(test))
        with open(tmp / "reconstruction.json", "w") as f:
            f.write(json_text(record, indent=2))
    return record


