"""Metrics of a ``genxd reconstruct`` output on its held-out views (what ``genxd eval-recon`` runs): the scene
rendered at the held-out cameras of its ``cameras.json`` (or a ReconFusion split) and scored against the input's
images; written to ``metrics.json`` (and the renders to ``eval_renders/``, on request)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..output_folders import check_inputs_kept
from ..utils.images import save_png
from ..utils.io import check_output_file, check_writable_dir
from ..utils.json_text import json_text
from ..validation import arg, is_cli, overwrite_hint, setting, warn
from .masks import INDEXED_MASKS, load_held_out_masks, masked_record
from .metrics import GAUSSIAN_SSIM, load_lpips
from .output_records import OutputRecords, input_option
from .ply import load_scene
from .render_names import render_file_names
from .trainer import evaluate_views
from .views import ViewOutOfRange, detect_input_kind, load_reconfusion_views, load_views

__all__ = ["evaluate_scene"]


def evaluate_scene(
    scene_dir: str | os.PathLike,
    input_path: str | os.PathLike | None = None,
    scene_key: str | None = None,
    n_views: int | None = None,
    device: str = "cpu",
    use_lpips: bool = True,
    save_renders: bool = False,
    out_path: str | os.PathLike | None = None,
    overwrite: bool = False,
    masks: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Metrics of a ``genxd reconstruct`` output on its held-out views; writes ``metrics.json``.

    Held-out views: those recorded in ``cameras.json`` (``--holdout-every`` at reconstruction, or
    the ReconFusion split). ``input_path`` overrides the recorded input (e.g. after moving it);
    with a ReconFusion ``input_path``, ``n_views`` (and ``scene_key``) choose the split explicitly.
    ``masks``: a folder of object masks of the held-out views; the result's ``masked`` then holds the metrics of
    DTU's masked protocol (:mod:`genxd.reconstruction.masks`). ``device``: where the scene is rendered;
    ``use_lpips``: LPIPS too (when the lpips package and its weights are on disk); ``save_renders``: also write
    the renders to ``scene_dir/eval_renders/``; ``out_path``: the metrics file (default
    ``scene_dir/metrics.json``). An existing metrics file (or ``eval_renders/``, with ``save_renders``) is a
    FileExistsError unless ``overwrite``.
    """
    from genxd.utils.file_groups import atomic_group

    scene_dir = Path(scene_dir)
    if not scene_dir.exists():
        raise FileNotFoundError(f"{scene_dir}: no such folder")
    if not scene_dir.is_dir():
        raise NotADirectoryError(f"{scene_dir}: a file, not a genxd reconstruct output folder")
    if not (scene_dir / "scene.ply").is_file():
        raise FileNotFoundError(f"{scene_dir}: no scene.ply (not a genxd reconstruct output)")
    out_path = Path(out_path) if out_path is not None else scene_dir / "metrics.json"
    if out_path.exists() and not overwrite:
        raise FileExistsError(f"{out_path} exists; {overwrite_hint('pass')}")
    render_dir = scene_dir / "eval_renders"
    if save_renders and render_dir.exists() and not overwrite:
        raise FileExistsError(f"{render_dir} exists; {overwrite_hint('pass')}")
    rec = OutputRecords(scene_dir)
    if rec.mode() == "4d" and not (scene_dir / "motion.npz").is_file():  # was scored as the scene at t = 0
        raise FileNotFoundError(f"{scene_dir}: no motion.npz, the motion of this 4d reconstruction's Gaussians "
                                "(its reconstruction.json): copy it beside scene.ply")
    source = Path(input_path) if input_path is not None else rec.input()
    if source is None:
        raise ValueError(f"{scene_dir}: no recorded input; pass {input_option()}")
    given_key, scene_key = scene_key, scene_key if scene_key is not None else rec.scene_key()
    # the metrics replace what is at out_path: never the reconstruction's own files, nor the views it is scored on
    read = [scene_dir / "scene.ply", scene_dir / "motion.npz", rec.record_path, rec.cameras_path, source, masks]
    check_inputs_kept(out_path, read, "--out" if is_cli() else "out_path")
    check_output_file(out_path, "metrics file")  # before the rendering (a read-only scene folder failed after it)
    if save_renders:
        check_writable_dir(scene_dir, f"{render_dir}: its folder")
    try:
        kind = detect_input_kind(source)
    except ValueError as exc:
        if input_path is not None:
            raise
        raise ValueError(f"{rec.record_path}: the recorded input: {exc}; pass {input_option()}") from None
    height, width = rec.size()
    no_held_out = (f"{scene_dir}: no held-out views (reconstruct with {setting('holdout_every', 'N')}, or use a "
                   "ReconFusion split)")
    # the held-out views alone are read: the others' images are not decoded (views.input_cameras: all the cameras)
    if kind == "reconfusion":
        n = n_views if n_views is not None else rec.n_views()
        if n is None:
            raise ValueError(f"evaluating on a ReconFusion input needs {arg('n_views')}")
        views, scene_key, _, test = load_reconfusion_views(source, scene_key, int(n), held_out_only=True)
        protocol = f"reconfusion train_test_split_{n}"
    else:
        if n_views is not None:
            raise ValueError(f"{arg('n_views')} only applies to ReconFusion inputs")
        if given_key is not None and masks is None:  # it was ignored without a word
            raise ValueError(f"{arg('scene_key')} only applies to ReconFusion inputs and to the scene subfolders of "
                             f"{arg('masks')}")
        test = rec.test_views()
        protocol = "holdout"
        if not test:
            raise ValueError(no_held_out)
        try:  # downsized as read to the size reconstructed at (a capture of 1080p frames was held whole first)
            views = load_views(source, resolution=max(height, width) if height and width else None,
                               scene_key=scene_key, images_of=test, read_depths=False)  # images scored alone
        except ViewOutOfRange as exc:
            raise ValueError(f"{rec.cameras_path}: held-out view {exc.view} is out of range: the input has "
                             f"{exc.count} views") from None
    if not test:
        raise ValueError(no_held_out)
    # every held-out view is one the input has: checked as read (a ReconFusion split's ids when its scene is read)
    cameras = views.input_cameras  # of all the input's views
    assert cameras is not None  # images_of / held_out_only
    if trained := sorted(set(test) & set(rec.train_views())):  # a split rewritten since, or another --n-views
        raise ValueError(f"{source}: {protocol} holds out view {trained[0]}, which {scene_dir} was trained on "
                         f"(the train views of its {rec.cameras_path.name}): its score would not be held-out; "
                         "score the split it was reconstructed with, or reconstruct on this one")
    rec.check_held_out_cameras(cameras.c2w, cameras.K, cameras.names, test, source)
    test_views = views  # the views of test, in its order
    if height and width and (test_views.height, test_views.width) != (height, width):
        test_views = test_views.resized(max(height, width))
    if rec.mode() == "4d" and (all_times := rec.times(len(cameras))) is not None:
        test_views.times = all_times[torch.tensor(test)]
    held_out_masks = None
    if masks is not None:  # before the rendering: a missing or wrong mask is said at once
        held_out_masks = load_held_out_masks(masks, scene_key, test, test_views, views.input_size,
                                         kind in INDEXED_MASKS, out_path, "--out" if is_cli() else "out_path")
    if rec.mode() == "3d" and (scene_dir / "motion.npz").is_file():  # was scored with that motion
        warn(f"{scene_dir / 'motion.npz'}: a motion file beside a 3d reconstruction (mode 3d in its "
             f"{rec.record_path.name}): not used, the static scene.ply is scored")
    model = load_scene(scene_dir, device=device, with_motion=rec.mode() == "4d")
    background = rec.background()
    lpips_fn = load_lpips(device=device) if use_lpips else None
    metrics, renders = evaluate_views(model, test_views, background.to(device), lpips_fn)
    result = {
        "scene_dir": str(scene_dir.resolve()),
        "input": str(source.resolve()),
        "protocol": protocol,
        "scene_key": scene_key,
        "test_views": test,
        "resolution": [test_views.height, test_views.width],
        # the held-out images as stored (undistorted, for a lens with distortion), before any downsizing
        "input_resolution": list(views.input_size),
        "lpips_available": lpips_fn is not None,
        **metrics,
        "ssim_definition": GAUSSIAN_SSIM,
    }
    if held_out_masks is not None:
        result["masked"] = masked_record(held_out_masks, renders, test_views, lpips_fn)
    # the metrics and the renders they score are one output: replaced together or not at all
    # (genxd.utils.file_groups); written one after the other, a stop between the two left new renders beside the old
    # metrics. One another run wrote meanwhile: kept.
    members = [out_path, render_dir] if save_renders else [out_path]
    with atomic_group(members, replace=overwrite, folders=[render_dir] if save_renders else []) as tmp:
        tmp[0].write_text(json_text(result, indent=2))
        if save_renders:
            names = render_file_names(cameras.names)  # over all views, as renders/ names them: one name per view
            for file, image in zip([names[i] for i in test], renders):
                save_png(tmp[1] / file, image)
    return result
