"""A lifted 3D scene as the original 3DGS code's model folder, which its own tools open.

The INRIA 3DGS code's ``train.py`` leaves ``MODEL/cfg_args``, ``MODEL/cameras.json``, ``MODEL/input.ply`` and
``MODEL/point_cloud/iteration_<N>/point_cloud.ply``; its SIBR viewer (``SIBR_gaussianViewer_app -m MODEL``), its
``render.py`` / ``metrics.py`` and the forks and viewers that take "a 3DGS output folder" read that layout.
:func:`write_inria_model` writes it for a genxd reconstruction (``OUT/3dgs/``; see ``docs/reconstruction.md``):

- ``cfg_args``: one line, the ``repr`` of an ``argparse.Namespace`` (3DGS ``eval``-s it; SIBR cuts the values of
  ``source_path``, ``sh_degree`` and ``white_background`` out of the text). ``source_path`` is the model folder
  itself, so the viewer takes the cameras from its ``cameras.json`` and the proxy from ``input.ply``.
- ``cameras.json``: :func:`viewer_cameras`, the views in 3DGS's ``camera_to_JSON`` layout.
- ``input.ply``: the Gaussians' centres as a point cloud (``x y z nx ny nz`` float, ``red green blue`` uchar, as
  3DGS's ``storePly``): the viewer's proxy; 3DGS keeps its initial points there.
- ``point_cloud/iteration_<N>/point_cloud.ply``: ``scene.ply`` (a hard link to it where the disk allows).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .gaussians import GaussianModel
from .ply import PLY_SH_DEGREE
from .sh import sh_to_rgb
from .views import Views

__all__ = ["INRIA_MODEL_DIR", "viewer_cameras", "cfg_args_text", "write_inria_model"]

#: The sub-folder of a ``genxd reconstruct`` output that holds the 3DGS model folder (3D scenes only).
INRIA_MODEL_DIR = "3dgs"


def viewer_cameras(views: Views) -> list[dict[str, Any]]:
    """The views as the original 3DGS code's ``cameras.json`` lists them, which splat viewers import (SuperSplat,
    antimatter15's splat viewer): per view ``id``, ``img_name`` (the name without extension), ``width``, ``height``,
    ``position`` (the camera centre), ``rotation`` (the camera-to-world rotation, rows; OpenCV axes, as genxd's)
    and ``fx``, ``fy`` in pixels. The layout has no principal point: viewers take the image centre."""
    out = []
    for i, (name, c2w, K) in enumerate(zip(views.names, views.c2w.double(), views.K.double())):
        out.append({
            "id": i,
            "img_name": Path(name).with_suffix("").as_posix(),
            "width": views.width,
            "height": views.height,
            "position": c2w[:3, 3].tolist(),
            "rotation": c2w[:3, :3].tolist(),
            "fy": float(K[1, 1]) * views.height,
            "fx": float(K[0, 0]) * views.width,
        })
    return out


def cfg_args_text(model_path: Path, *, white_background: bool, eval_split: bool) -> str:
    """``cfg_args`` as 3DGS's ``train.py`` writes it (``str(Namespace(...))``, its ``ModelParams`` fields).

    ``sh_degree`` is the .ply's (3: genxd writes the 45 ``f_rest`` of degree 3, which SIBR reads by that count);
    ``source_path`` and ``model_path`` are the absolute model folder, its name as the disk's UTF-8 bytes spell it
    (under an ASCII locale Python holds a non-ASCII name as escaped bytes, which ``repr`` wrote as ``\\udcc3``)."""
    folder = os.fsencode(os.path.abspath(model_path)).decode("utf-8", "surrogateescape")
    return repr(argparse.Namespace(
        sh_degree=PLY_SH_DEGREE,
        source_path=folder,
        model_path=folder,
        images="images",
        depths="",
        resolution=-1,
        white_background=bool(white_background),
        train_test_exp=False,
        data_device="cuda",
        eval=bool(eval_split),
    ))


def _write_proxy_ply(path: Path, model: GaussianModel) -> None:
    """The Gaussians' centres and base colours as a 3DGS ``input.ply`` point cloud."""
    from plyfile import PlyData, PlyElement

    p = model.params
    xyz = p["means"].detach().float().cpu().numpy()
    rgb = sh_to_rgb(p["sh0"][:, 0, :].detach().float().cpu()).clamp(0, 1).numpy()
    fields = [(n, "f4") for n in ("x", "y", "z", "nx", "ny", "nz")] + [(n, "u1") for n in ("red", "green", "blue")]
    vertex = np.zeros(len(xyz), dtype=fields)
    for i, n in enumerate("xyz"):
        vertex[n] = xyz[:, i]
    for i, n in enumerate(("red", "green", "blue")):
        vertex[n] = np.round(rgb[:, i] * 255).astype(np.uint8)
    PlyData([PlyElement.describe(vertex, "vertex")], byte_order="<").write(str(path))


def write_inria_model(folder: Path, final_folder: Path, scene_ply: Path, cameras: list[dict[str, Any]],
                      model: GaussianModel, iteration: int, white_background: bool, eval_split: bool) -> None:
    """Write the 3DGS model folder into ``folder`` (a temporary folder that becomes ``final_folder``, whose
    absolute path ``cfg_args`` records). ``scene_ply``: the written ``scene.ply`` (linked, or copied);
    ``iteration``: the steps trained (at least 1: 3DGS's ``render.py`` takes iteration 0 for "not trained")."""
    from ..utils.json_text import json_text

    folder.mkdir()
    # UTF-8 whatever the locale (a non-ASCII path failed under a C or Windows code-page locale): what 3DGS's train.py
    # writes and its get_combined_args reads with open()'s default on Linux and macOS, and SIBR's bytes on Linux
    (folder / "cfg_args").write_text(cfg_args_text(final_folder, white_background=white_background,
                                                   eval_split=eval_split), encoding="utf-8")
    (folder / "cameras.json").write_text(json_text(cameras))
    _write_proxy_ply(folder / "input.ply", model)
    ply_dir = folder / "point_cloud" / f"iteration_{max(1, int(iteration))}"
    ply_dir.mkdir(parents=True)
    try:
        os.link(scene_ply, ply_dir / "point_cloud.ply")
    except OSError:  # a file system without hard links
        shutil.copyfile(scene_ply, ply_dir / "point_cloud.ply")
