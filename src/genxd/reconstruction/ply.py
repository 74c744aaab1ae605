"""Gaussian scenes on disk: the standard 3DGS .ply layout and ``motion.npz`` for 4D scenes.

``scene.ply`` (binary little-endian, one ``vertex`` element per Gaussian) has the properties
``x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 f_rest_0 .. f_rest_{3(K-1)-1} opacity scale_0 scale_1 scale_2
rot_0 rot_1 rot_2 rot_3`` (float32), as written by the original 3DGS code and read by common splat
viewers: ``opacity`` is the logit, ``scale_*`` the log standard deviations, ``rot_*`` the quaternion
(w, x, y, z), ``f_rest`` channel-major (all red coefficients, then green, then blue), normals 0.

The file always has the 45 ``f_rest`` properties of SH degree 3, as the original 3DGS code writes them (its
loader asserts that count): the bands a model of a lower degree lacks are written as zeros, which add nothing to
the colour, and :func:`load_ply` drops trailing bands that are all zero, so a degree-1 model reads back as one.

``motion.npz`` (4D scenes; see ``docs/reconstruction.md``) holds the motion basis and its
per-Gaussian coefficients (and, with temporal opacity, the time-independent opacities); the .ply then holds
the scene at t = 0, opacities at t = 0 included.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from ..utils.io import is_damaged_file_error
from ..utils.json_text import json_text
from ..utils.npz import npz_shape, require_numpy_file
from ..utils.paths import require_file
from .gaussians import GaussianModel, MotionBasis

__all__ = ["save_ply", "load_ply", "save_motion", "load_motion", "load_scene", "ply_property_names", "load_point_cloud"]

MOTION_FORMAT = "genxd-gaussian-motion-v1"

#: SH degree of the written .ply files: the original 3DGS code's, whose loader accepts no other by default.
PLY_SH_DEGREE = 3

#: What the PLY and npz readers raise for a damaged file (besides OSError EINVAL, a seek before the start).
_UNREADABLE = (ValueError, OverflowError, EOFError, MemoryError, OSError)


def _unreadable(path: Path, what: str, exc: BaseException) -> BaseException:
    """The ValueError for a damaged ``path``; an OSError of the machine (disk, permission) is returned as is."""
    if isinstance(exc, OSError) and not is_damaged_file_error(exc):
        return exc
    return ValueError(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})")


def ply_property_names(sh_degree: int) -> list[str]:
    """The vertex property names of a 3DGS .ply with SH degree ``sh_degree``."""
    n_rest = 3 * ((sh_degree + 1) ** 2 - 1)
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + [f"f_rest_{i}" for i in range(n_rest)]
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def save_ply(path: str | os.PathLike, model: GaussianModel, time: float | None = None,
             sh_degree: int = PLY_SH_DEGREE) -> Path:
    """Write ``model`` (at ``time`` for a 4D model; t = 0 when None) as a 3DGS .ply.

    With temporal opacity the opacity at that time is baked into the stored logit. ``sh_degree``: the SH
    degree of the file (3, the 3DGS layout, by default), at least the model's; missing bands are zeros.
    """
    from plyfile import PlyData, PlyElement

    if not model.sh_degree <= sh_degree <= 3:
        raise ValueError(f"save_ply: sh_degree must be {model.sh_degree}-3 for this model, got {sh_degree}")
    p = model.params
    G = model.num_gaussians
    if time is None and model.is_dynamic:
        time = 0.0  # the exported scene of a 4D model is the one at t = 0
    means = _to_numpy(model.means_at(time) if time is not None else p["means"])
    if time is not None and model.has_temporal_opacity:
        opacity = model.opacities_at(time).detach().clamp(1e-7, 1 - 1e-7)
        opacity_logit = _to_numpy(torch.log(opacity / (1 - opacity)))
    else:
        opacity_logit = _to_numpy(p["opacities"])
    f_dc = _to_numpy(p["sh0"][:, 0, :])  # G 3
    rest = p["shN"].detach()  # G K-1 3
    rest = torch.cat([rest, rest.new_zeros(G, (sh_degree + 1) ** 2 - 1 - rest.shape[1], 3)], dim=1)
    f_rest = _to_numpy(rest.transpose(1, 2).reshape(G, -1))  # G 3*(K-1), channel-major
    columns = np.concatenate(
        [
            means,
            np.zeros((G, 3), dtype=np.float32),
            f_dc,
            f_rest,
            opacity_logit[:, None],
            _to_numpy(p["scales"]),
            _to_numpy(p["quats"]),
        ],
        axis=1,
    ).astype(np.float32)
    names = ply_property_names(sh_degree)
    assert columns.shape[1] == len(names)
    vertex = np.empty(G, dtype=[(n, "f4") for n in names])
    for i, n in enumerate(names):
        vertex[n] = columns[:, i]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    PlyData([PlyElement.describe(vertex, "vertex")], byte_order="<").write(str(path))
    return path


def load_ply(path: str | os.PathLike, device: torch.device | str = "cpu") -> GaussianModel:
    """Read a 3DGS .ply (any SH degree 0-3) into a static :class:`GaussianModel`."""
    from plyfile import PlyData, PlyParseError

    from ..checkpoints import pick_device

    # checked first: device="nope" was torch's RuntimeError listing its device types, after the whole file was read
    device = pick_device(device) if device is not None else torch.device("cpu")
    path = require_file(path)
    try:
        ply = PlyData.read(str(path))
    except (*_UNREADABLE, PlyParseError) as exc:
        raise _unreadable(path, ".ply", exc) from None
    if "vertex" not in [e.name for e in ply.elements]:
        raise ValueError(f"{path}: no 'vertex' element; not a Gaussian splat .ply")
    v = ply["vertex"].data
    names = set(v.dtype.names)
    required = {"x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"} | {f"scale_{i}" for i in range(3)} | {
        f"rot_{i}" for i in range(4)
    }
    missing = sorted(required - names)
    if missing:
        raise ValueError(f"{path}: not a 3DGS .ply, missing properties {', '.join(missing)}")
    n_rest = len([n for n in names if n.startswith("f_rest_")])
    sh_degree = int(round(math.sqrt(n_rest / 3 + 1))) - 1
    if 3 * ((sh_degree + 1) ** 2 - 1) != n_rest or not 0 <= sh_degree <= 3:
        raise ValueError(f"{path}: {n_rest} f_rest properties do not match an SH degree 0-3")
    if any(f"f_rest_{i}" not in names for i in range(n_rest)):
        raise ValueError(f"{path}: the f_rest properties are not numbered f_rest_0 .. f_rest_{n_rest - 1}")
    G = len(v)
    if G == 0:
        raise ValueError(f"{path}: no Gaussians (an empty vertex element)")
    for name in sorted(required) + [f"f_rest_{i}" for i in range(n_rest)]:
        if not np.isfinite(np.asarray(v[name], dtype=np.float64)).all():
            raise ValueError(f"{path}: property {name} holds NaN or infinite values")

    def col(*keys: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([np.asarray(v[k], dtype=np.float32) for k in keys], axis=1))

    rest = col(*[f"f_rest_{i}" for i in range(n_rest)]) if n_rest else torch.zeros(G, 0)
    shN = rest.reshape(G, 3, -1).transpose(1, 2).contiguous()  # G K-1 3
    while sh_degree > 0 and not bool(shN[:, sh_degree ** 2 - 1:].any()):  # trailing bands of zeros: padding
        sh_degree -= 1
        shN = shN[:, : (sh_degree + 1) ** 2 - 1].contiguous()
    params = {
        "means": col("x", "y", "z"),
        "scales": col("scale_0", "scale_1", "scale_2"),
        "quats": col("rot_0", "rot_1", "rot_2", "rot_3"),
        "opacities": col("opacity")[:, 0],
        "sh0": col("f_dc_0", "f_dc_1", "f_dc_2")[:, None, :],
        "shN": shN,
    }
    pdict = torch.nn.ParameterDict(
        {k: torch.nn.Parameter(t.to(device), requires_grad=False) for k, t in params.items()}
    )
    return GaussianModel(pdict, sh_degree)


def save_motion(path: str | os.PathLike, model: GaussianModel, times: list[float] | None = None) -> Path:
    """Write the 4D part of ``model`` as ``motion.npz`` (see the module docstring)."""
    if model.motion_basis is None:
        raise ValueError("save_motion: the model is static (no motion basis)")
    basis = model.motion_basis
    arrays = {
        "format": np.array(MOTION_FORMAT),
        "basis": np.array(json_text({"poly_degree": basis.poly_degree, "fourier_terms": basis.fourier_terms})),
        "poly_degree": np.array(basis.poly_degree, dtype=np.int64),
        "fourier_terms": np.array(basis.fourier_terms, dtype=np.int64),
        "coefficients": _to_numpy(model.params["motion"]),
        "times": np.asarray(times if times is not None else [], dtype=np.float32),
    }
    if model.has_temporal_opacity:  # the .ply holds the opacities at t = 0; the time-independent ones go here
        arrays["opacities"] = _to_numpy(model.params["opacities"])
        arrays["time_centers"] = _to_numpy(model.params["time_centers"])
        arrays["time_scales"] = _to_numpy(torch.exp(model.params["time_log_scales"]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub: a key of arrays might be allow_pickle
    return path


def load_motion(path: str | os.PathLike, model: GaussianModel) -> GaussianModel:
    """Attach ``motion.npz`` to a model read with :func:`load_ply`; returns the 4D model."""
    path = require_file(path)
    G = model.num_gaussians
    try:
        # every shape checked from its header first (a zip of zeros can claim gigabytes); an array read has the
        # shape its header states, so the arrays below have the expected shapes
        require_numpy_file(path)  # np.load took any other file for a pickle, and said to unpickle it
        with np.load(path) as z:
            for key in ("format", "poly_degree", "fourier_terms"):
                if key in z and npz_shape(z, key) != ():
                    raise ValueError(f"{path}: {key} holds an array of shape {npz_shape(z, key)}, expected one value")
            if "format" not in z or str(z["format"]) != MOTION_FORMAT:
                raise ValueError(f"{path}: not a genxd motion file (expected format {MOTION_FORMAT!r})")
            basis = MotionBasis(int(z["poly_degree"]), int(z["fourier_terms"]))
            expected = {"coefficients": (G, basis.num_functions, 3), "time_centers": (G,), "time_scales": (G,),
                        "opacities": (G,)}
            for key, shape in expected.items():
                if key in z and npz_shape(z, key) != shape:
                    raise ValueError(f"{path}: {key} has shape {npz_shape(z, key)}, expected {list(shape)} (for "
                                     "this .ply)")
            coeffs = torch.from_numpy(np.asarray(z["coefficients"], dtype=np.float32))
            extra = {}
            if "time_centers" in z:
                extra["time_centers"] = torch.from_numpy(np.asarray(z["time_centers"], dtype=np.float32))
                extra["time_log_scales"] = torch.log(torch.from_numpy(np.asarray(z["time_scales"], dtype=np.float32)))
                if "opacities" in z:  # earlier files have none: their .ply held them (so not the scene at t = 0)
                    extra["opacities"] = torch.from_numpy(np.asarray(z["opacities"], dtype=np.float32))
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from None
    except (*_UNREADABLE, zipfile.BadZipFile, zlib.error, KeyError, TypeError, NotImplementedError) as exc:
        raise _unreadable(path, "genxd motion file", exc) from None
    bad = [k for k, t in [("coefficients", coeffs), *extra.items()] if not bool(torch.isfinite(t).all())]
    if bad:
        raise ValueError(f"{path}: {', '.join(bad)} hold NaN or infinite values")
    device = model.device
    params = dict(model.params.items())
    params["motion"] = torch.nn.Parameter(coeffs.to(device), requires_grad=False)
    params["anchor_times"] = torch.nn.Parameter(torch.zeros(G, device=device), requires_grad=False)
    for k, t in extra.items():
        params[k] = torch.nn.Parameter(t.to(device), requires_grad=False)
    return GaussianModel(torch.nn.ParameterDict(params), model.sh_degree, basis)


def load_scene(scene_dir: str | os.PathLike, device: torch.device | str = "cpu",
               with_motion: bool = True) -> GaussianModel:
    """``scene.ply`` (+ ``motion.npz`` when present and ``with_motion``) of a ``genxd reconstruct`` output folder;
    ``with_motion=False`` reads the static scene alone (a 3d reconstruction's, beside a stray ``motion.npz``)."""
    scene_dir = Path(scene_dir)
    model = load_ply(scene_dir / "scene.ply", device=device)
    if with_motion and (scene_dir / "motion.npz").is_file():
        model = load_motion(scene_dir / "motion.npz", model)
    return model


def load_point_cloud(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """``(xyz [P, 3], rgb [P, 3] in [0, 1])`` of a point-cloud .ply (``x y z``, optional ``red green blue``, as
    nerfstudio's ``sparse_pc.ply``); a ValueError naming the file when it cannot be read or holds bad points (an
    OSError of the machine, a disk or permission one, as is)."""
    from plyfile import PlyData, PlyParseError

    from genxd.cameras._io import MAX_CAMERA_DISTANCE

    path = require_file(path)
    try:
        vertex = PlyData.read(str(path))["vertex"].data
        xyz = np.stack([np.asarray(vertex[k], dtype=np.float64) for k in "xyz"], axis=1)
        names = vertex.dtype.names
        if all(k in names for k in ("red", "green", "blue")):
            rgb = np.stack([np.asarray(vertex[k], dtype=np.float64) for k in ("red", "green", "blue")], axis=1)
            rgb = rgb / 255.0 if vertex["red"].dtype.kind in "ui" else rgb
        else:
            rgb = np.full_like(xyz, 0.5)
    except (*_UNREADABLE, KeyError, PlyParseError) as exc:  # KeyError: no vertex element, or no x, y, z
        raise _unreadable(path, "point cloud .ply with x, y, z", exc) from None
    if not len(xyz):
        raise ValueError(f"{path}: the point cloud has no points")
    bad = ~(np.abs(xyz) <= MAX_CAMERA_DISTANCE).all(axis=1)
    if bad.any():
        raise ValueError(f"{path}: {int(bad.sum())} of {len(xyz)} points are not finite or farther than "
                         f"{MAX_CAMERA_DISTANCE:g} from the origin")
    return torch.from_numpy(xyz).float(), torch.from_numpy(np.clip(np.nan_to_num(rgb, nan=0.5), 0.0, 1.0)).float()
