"""Trajectory fitting from few-shot views: the authors' ``tools/pose_traj_generate.py``.

For the few-shot (ReconFusion) setting, the test cameras are unknown, so the authors fit a
plausible camera path to the known views, generate views along it with GenXD (their grouped
few-shot mode, ``dataset/reconf_group.py``), and reconstruct from the result. This module fits
those paths and writes them in their format (``<out>/<data name>/<scene key>/gen_poses_w2c.json``:
a list of OpenCV world-to-camera 3x4 matrices).

Per dataset, as in the authors' script:

- ``re10k`` / ``co3d``: :func:`fit_interpolated_path` on the train views of the 9-view split (a
  smoothing B-spline through the views' (position, look-at, up) points; ``shift_x`` / ``shift_z``
  add copies of the path shifted along world x / z, ``multiscale`` copies with scaled positions);
- ``llff``: :func:`fit_spiral_path` on **all** cameras with the scene's near/far bounds (perc 90);
- ``dtu``: :func:`fit_spiral_path` on all cameras, no bounds (looks at the cameras' focus point), perc 60;
- anything else (mip-NeRF 360): :func:`fit_ellipse_path` on all cameras.

(For llff/dtu/360 the authors fit to every camera of the scene, test views included; this is kept.)
Internally the maths runs on NeRF/OpenGL camera-to-world matrices exactly as theirs; inputs and
outputs are OpenCV ``c2w [N, 4, 4]`` float64 tensors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch
from torch import Tensor

from ._io import as_c2w
from .fit_settings import unused_fit_settings
from .formats import w2c_list_object
from .geometry import OPENCV_TO_OPENGL

__all__ = [
    "fit_interpolated_path",
    "fit_spiral_path",
    "fit_ellipse_path",
    "fit_scene_trajectory",
    "fit_reconfusion",
    "dataset_kind",
    "POSE_FILE",
    "NoFocusPoint",
    "DegeneratePath",
]

#: File name of the fitted poses, as the authors' grouped few-shot loader expects.
POSE_FILE = "gen_poses_w2c.json"

# Constants of the authors' generate_spiral_path (from mip-NeRF / zipnerf's camera utils).
_NEAR_STRETCH = 0.9
_FAR_STRETCH = 5.0
_FOCUS_DISTANCE = 0.75

DatasetKind = Literal["re10k", "co3d", "llff", "dtu", "mipnerf360"]


def _cv_to_gl34(c2w: Tensor | np.ndarray) -> np.ndarray:
    """OpenCV c2w ``[N, 4, 4]`` -> NeRF/OpenGL c2w ``[N, 3, 4]`` (numpy float64)."""
    return (as_c2w(c2w) @ OPENCV_TO_OPENGL)[:, :3, :].numpy()


def _gl34_to_cv(poses: np.ndarray) -> Tensor:
    """NeRF/OpenGL c2w ``[N, 3, 4]`` -> OpenCV c2w ``[N, 4, 4]`` float64."""
    out = np.zeros((poses.shape[0], 4, 4))
    out[:, :3, :] = poses
    out[:, 3, 3] = 1.0
    return torch.from_numpy(out) @ OPENCV_TO_OPENGL


class DegeneratePath(ValueError):
    """A camera of the fitted path has no defined orientation (it was NaN): it stands on the point it looks at, or
    looks along its up direction, or the cameras' view directions cancel out (the message says which)."""


#: why a path camera's view direction is zero, and why its right axis is (up parallel to the view direction)
_ON_ITS_TARGET = ("a camera of the path stands on the point it looks at (cameras that turn in place around one "
                  "point, or known views that face opposite ways)")
_ALONG_ITS_UP = "a camera of the path looks straight along its up direction (or the cameras' up vectors cancel out)"


def _normalize(x: np.ndarray, degenerate: str = _ON_ITS_TARGET) -> np.ndarray:
    """``x`` as a unit vector; :class:`DegeneratePath` with ``degenerate`` where it is zero (numpy's NaN before)."""
    norm = np.linalg.norm(x)
    if not (np.isfinite(norm) and norm > 0):
        raise DegeneratePath(degenerate)
    return x / norm


def _viewmatrix(lookdir: np.ndarray, up: np.ndarray, position: np.ndarray) -> np.ndarray:
    """OpenGL c2w 3x4 whose +z (backward) axis is ``lookdir`` (pointing from the scene to the camera);
    :class:`DegeneratePath` where ``lookdir`` is zero or along ``up``."""
    vec2 = _normalize(lookdir)
    vec0 = _normalize(np.cross(up, vec2), _ALONG_ITS_UP)
    vec1 = _normalize(np.cross(vec2, vec0), _ALONG_ITS_UP)
    return np.stack([vec0, vec1, vec2, position], axis=1)


def _average_pose(poses: np.ndarray) -> np.ndarray:
    """Average position, z axis and up vector of OpenGL c2w ``[N, 3, 4]`` as one 3x4 pose; :class:`DegeneratePath`
    where the view directions cancel out (cameras facing away from each other)."""
    _normalize(poses[:, :3, 2].mean(0), f"the {len(poses)} cameras' view directions cancel out (they face away "
                                        "from each other): they have no average camera")
    return _viewmatrix(poses[:, :3, 2].mean(0), poses[:, :3, 1].mean(0), poses[:, :3, 3].mean(0))


#: Smallest spread of optical axes :func:`_focus_point` takes: the least eigenvalue of the mean of ``I - d d^T``
#: relative to its largest, about the squared angle (radians) between the axes; 1e-10 is 0.0006 degrees, far below
#: any capture's and far above the rounding of axes that are parallel (a scan whose cameras share a rotation).
_MIN_AXIS_SPREAD = 1e-10


class NoFocusPoint(ValueError):
    """The cameras' optical axes are (nearly) parallel: no point lies nearest to all of them."""


def _focus_point(poses: np.ndarray) -> np.ndarray:
    """Least-squares point nearest to all optical axes of OpenGL c2w ``[N, 3, 4]``; :class:`NoFocusPoint` where the
    axes are parallel (numpy's bare "Singular matrix" otherwise, or a point at 1e16 from rounding)."""
    directions, origins = poses[:, :3, 2:3], poses[:, :3, 3:4]
    m = np.eye(3) - directions * np.transpose(directions, [0, 2, 1])
    mt_m = np.transpose(m, [0, 2, 1]) @ m
    normal = mt_m.mean(0)
    spread = np.linalg.eigvalsh(normal)
    if not spread[0] > _MIN_AXIS_SPREAD * spread[-1]:
        same_way = bool((directions[:, :, 0] @ directions[0, :, 0] > 0).all())
        how = "all look the same way" if same_way else "they look the same way or straight opposite ways"
        if len(poses) == 1:
            raise NoFocusPoint("there is one camera: a single optical axis has no common look-at point")
        raise NoFocusPoint(f"the {len(poses)} cameras' optical axes are parallel ({how}): they "
                           "have no common look-at point")
    return np.linalg.inv(normal) @ (mt_m @ origins).mean(0)[:, 0]


def _check_points(num_points: int) -> int:
    if int(num_points) != num_points or num_points < 1:
        raise ValueError(f"num_points must be a positive integer, got {num_points}")
    return int(num_points)


def fit_interpolated_path(
    c2w: Tensor | np.ndarray,
    num_points: int = 120,
    spline_degree: int = 5,
    smoothness: float = 0.03,
    rot_weight: float = 0.1,
    shift_x: Sequence[float] | None = None,
    shift_z: Sequence[float] | None = None,
    multiscale: Sequence[float] | None = None,
) -> Tensor:
    """The authors' ``generate_interpolated_path`` (re10k / co3d): a smoothing spline through views.

    Each view becomes three points: its position, a look-at point ``rot_weight`` ahead along the
    view axis and an up point ``rot_weight`` along image up. A B-spline of degree
    ``min(spline_degree, N - 1)`` with smoothing ``smoothness`` (``scipy.interpolate.splprep``) is
    fitted through the 9-D points in view order and sampled at ``num_points`` parameters evenly
    spaced in ``[0, 1)``; each sample becomes a camera at the position, looking at the look-at point,
    up towards the up point.

    Copies: without ``multiscale``, one copy per ``(sx, sz)`` in ``[0] + shift_x`` x ``[0] + shift_z``
    (x-major), positions shifted by ``(sx * sx_scale, 0, sz * sz_scale)`` in world coordinates, where
    the scales are half the 10-90 percentile range of the views' x / z positions; orientations are
    unchanged. With ``multiscale``, copies for ``[1] + multiscale`` with positions multiplied by the
    factor (shifts ignored, as in theirs).

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world of the known views, in path order, ``N >= 2`` (a view that
            repeats the one before it is taken once; :class:`DegeneratePath` when all are one camera).
    Returns:
        ``[num_points * copies, 4, 4]`` OpenCV camera-to-world, float64.
    """
    from scipy.interpolate import splev, splprep

    poses = _cv_to_gl34(c2w)
    if poses.shape[0] < 2:
        raise ValueError("fit_interpolated_path: need at least 2 views")
    n = _check_points(num_points)
    trans_low = np.percentile(poses[:, :3, 3], 10, axis=0)
    trans_high = np.percentile(poses[:, :3, 3], 90, axis=0)
    trans_scale = (trans_high - trans_low) / 2

    pos = poses[:, :3, 3]
    lookat = pos - rot_weight * poses[:, :3, 2]
    up = pos + rot_weight * poses[:, :3, 1]
    points = np.stack([pos, lookat, up], 1).reshape(len(poses), -1)
    # the same camera twice in a row (a capture that paused) gives the spline no step there: splprep refused the
    # whole fit ("Invalid inputs."); each is taken once (views with no repeat keep the authors' path exactly)
    tol = 1e-12 * max(1.0, float(np.abs(points).max()))
    repeat = np.concatenate([[False], np.all(np.abs(np.diff(points, axis=0)) <= tol, axis=1)])
    points = points[~repeat]
    if len(points) < 2:
        raise DegeneratePath(f"the {len(poses)} views are all one camera (one position and orientation): no path "
                             "runs through them")
    k = min(int(spline_degree), len(points) - 1)
    try:
        tck, _ = splprep(points.T, k=k, s=smoothness)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"fit_interpolated_path: spline fit failed ({exc}); are there duplicate views?") from None
    u = np.linspace(0, 1, n, endpoint=False)
    new_points = np.array(splev(u, tck)).T.reshape(n, 3, 3)
    p, l, upp = new_points[:, 0], new_points[:, 1], new_points[:, 2]
    new_poses = np.array([_viewmatrix(pi - li, ui - pi, pi) for pi, li, ui in zip(p, l, upp)])

    pose_sets = []
    if multiscale is None:
        for sx in [0.0, *(shift_x or [])]:
            for sz in [0.0, *(shift_z or [])]:
                cur = new_poses.copy()
                cur[:, :3, 3] += np.array([sx * trans_scale[0], 0.0, sz * trans_scale[2]])
                pose_sets.append(cur)
    else:
        for ms in [1.0, *multiscale]:
            cur = new_poses.copy()
            cur[:, :3, 3] *= ms
            pose_sets.append(cur)
    return _gl34_to_cv(np.concatenate(pose_sets, axis=0))


def fit_spiral_path(
    c2w: Tensor | np.ndarray,
    bounds: np.ndarray | Tensor | None = None,
    num_points: int = 120,
    n_rots: float = 1.0,
    zrate: float = 0.0,
    perc: float = 90.0,
    shift_z: Sequence[float] | None = None,
    multiscale: Sequence[float] | None = None,
    return_center: bool = False,
    shift_zy: bool = False,
) -> Tensor:
    """The authors' ``generate_spiral_path`` (llff with ``bounds``, perc 90; dtu without, perc 60).

    A forward-facing spiral around the average camera: radii = ``perc``-th percentile of
    ``|camera position|`` per world axis; camera ``i`` (``theta = 2 pi n_rots i / N``) sits at
    ``avg_pose @ (rx cos(theta), -ry sin(theta), -rz sin(theta zrate), 1)`` and looks at the focus
    point: ``avg_pose @ (0, 0, -f)`` with ``f`` from the near/far ``bounds`` (disparity-weighted), or
    the point nearest all optical axes when ``bounds`` is None. Up is the mean camera up.
    Copies for ``[1] + multiscale`` x ``[0] + shift_z``: positions shifted by ``sz`` x half the
    10-90 percentile range along world z (world y with ``shift_zy``), then scaled. ``return_center``
    puts a "centre" camera first: at the world origin (as the authors' code computes it; for
    LLFF's recentred poses that is near the average camera), looking at the focus point.

    Returns:
        ``[(1 if return_center) + num_points * copies, 4, 4]`` OpenCV camera-to-world, float64.
    """
    poses = _cv_to_gl34(c2w)
    n = _check_points(num_points)
    positions = poses[:, :3, 3]
    radii = np.concatenate([np.percentile(np.abs(positions), perc, 0), [1.0]])
    trans_scale = (np.percentile(positions, 90, axis=0) - np.percentile(positions, 10, axis=0)) / 2
    cam2world = _average_pose(poses)
    up = poses[:, :3, 1].mean(0)
    theta = np.linspace(0.0, 2.0 * np.pi * n_rots, n, endpoint=False)
    t = radii[None] * np.stack([np.cos(theta), -np.sin(theta), -np.sin(theta * zrate), np.ones_like(theta)], axis=-1)
    pos_trans = (cam2world @ t.T).T
    if bounds is None:
        lookat = _focus_point(poses)
    else:
        b = np.asarray(bounds, dtype=np.float64)
        if b.size == 0 or not (np.isfinite(b).all() and (b > 0).all()):
            shown = ("none" if b.size == 0 else "NaN or infinite values" if not np.isfinite(b).all()
                     else f"{b.min():.4g} to {b.max():.4g}")
            raise ValueError(f"the near/far bounds must be finite and > 0 (distances along the view), got {shown}")
        near_bound = b.min() * _NEAR_STRETCH
        far_bound = b.max() * _FAR_STRETCH
        focal = 1 / ((1 - _FOCUS_DISTANCE) / near_bound + _FOCUS_DISTANCE / far_bound)
        lookat = cam2world @ np.array([0, 0, -focal, 1.0])
    new_poses = np.array([_viewmatrix(p - lookat, up, p) for p in pos_trans])
    # As the authors' code: ``cam2world @ zeros(4)``, i.e. the world origin (for LLFF's recentred
    # poses, close to the average camera), not the average camera position.
    center_point = np.zeros(3)
    center_pose = _viewmatrix(center_point - lookat, up, center_point)[None]

    pose_sets = []
    for ms in [1.0, *(multiscale or [])]:
        for sz in [0.0, *(shift_z or [])]:
            cur = new_poses.copy()
            shift = np.array([0.0, sz * trans_scale[1], 0.0]) if shift_zy else np.array([0.0, 0.0, sz * trans_scale[2]])
            cur[:, :3, 3] += shift
            cur[:, :3, 3] *= ms
            pose_sets.append(cur)
    out = np.concatenate(pose_sets, axis=0)
    if return_center:
        out = np.concatenate([center_pose, out], axis=0)
    return _gl34_to_cv(out)


def fit_ellipse_path(
    c2w: Tensor | np.ndarray,
    num_points: int = 120,
    const_speed: bool = True,
    z_variation: float = 0.0,
    z_phase: float = 0.0,
    shift_z: Sequence[float] | None = None,
    multiscale: Sequence[float] | None = None,
) -> Tensor:
    """The authors' ``generate_ellipse_path`` (mip-NeRF 360): an ellipse around the focus point.

    The ellipse lies in a plane of constant world z (the 10-90 percentile middle of the cameras'
    heights, varied by ``z_variation`` / ``z_phase``), centred on the focus point's (x, y) with
    semi-axes the 90th percentile of ``|position - centre|``; cameras look at the focus point with up
    the world axis closest to the mean camera up. ``const_speed`` resamples the angle so the spacing
    is nearly even. Copies as in :func:`fit_spiral_path` (z shifts, then scales).

    Returns:
        ``[num_points * copies, 4, 4]`` OpenCV camera-to-world, float64.
    """
    poses = _cv_to_gl34(c2w)
    n = _check_points(num_points)
    center = _focus_point(poses)
    offset = np.array([center[0], center[1], 0])
    sc = np.percentile(np.abs(poses[:, :3, 3] - offset), 90, axis=0)
    low, high = -sc + offset, sc + offset
    z_low = np.percentile(poses[:, :3, 3], 10, axis=0)
    z_high = np.percentile(poses[:, :3, 3], 90, axis=0)
    trans_scale = (z_high - z_low) / 2

    def get_positions(theta: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                low[0] + (high - low)[0] * (np.cos(theta) * 0.5 + 0.5),
                low[1] + (high - low)[1] * (np.sin(theta) * 0.5 + 0.5),
                z_low[2] + (z_high - z_low)[2] * (z_variation * np.cos(theta + 2 * np.pi * z_phase) * 0.5 + 0.5),
            ],
            -1,
        )

    theta = np.linspace(0, 2.0 * np.pi, n + 1, endpoint=True)
    positions = get_positions(theta)
    if const_speed:
        # Inverse-CDF resampling of theta with weights proportional to segment lengths
        # (the authors' stepfun.sample_np with deterministic linspace samples).
        lengths = np.linalg.norm(positions[1:] - positions[:-1], axis=-1)
        if not lengths.sum() > 0:  # 0 / 0 below: NaN cameras
            raise DegeneratePath(f"the ellipse has no size: the {len(poses)} cameras stand on the vertical line "
                                 "through the point they look at (a camera that turns in place)")
        w = lengths / lengths.sum()
        cw = np.concatenate([[0.0], np.minimum(1, np.cumsum(w[:-1])), [1.0]])
        u = np.linspace(0, 1.0 - np.finfo(np.float32).eps, n + 1)
        theta = np.interp(u, cw, theta)
        positions = get_positions(theta)
    positions = positions[:-1]
    avg_up = poses[:, :3, 1].mean(0)
    avg_up = avg_up / np.linalg.norm(avg_up)
    ind_up = np.argmax(np.abs(avg_up))
    up = np.eye(3)[ind_up] * np.sign(avg_up[ind_up])
    new_poses = np.stack([_viewmatrix(p - center, up, p) for p in positions])

    pose_sets = []
    for ms in [1.0, *(multiscale or [])]:
        for sz in [0.0, *(shift_z or [])]:
            cur = new_poses.copy()
            cur[:, :3, 3] += np.array([0.0, 0.0, sz * trans_scale[2]])
            cur[:, :3, 3] *= ms
            pose_sets.append(cur)
    return _gl34_to_cv(np.concatenate(pose_sets, axis=0))


def dataset_kind(name: str) -> DatasetKind:
    """The authors' dispatch on the data folder's name (anything unknown is mip-NeRF 360)."""
    name = name.lower()
    if name in ("re10k", "co3d", "llff", "dtu"):
        return name  # type: ignore[return-value]
    return "mipnerf360"


def fit_scene_trajectory(
    c2w: Tensor | np.ndarray,
    train_ids: Sequence[int],
    kind: DatasetKind = "re10k",
    num_points: int = 120,
    shift_x: Sequence[float] | None = None,
    shift_z: Sequence[float] | None = None,
    multiscale: Sequence[float] | None = None,
    bounds: np.ndarray | Tensor | None = None,
    z_rate: float = 0.0,
    return_center: bool = False,
    shift_zy: bool = False,
) -> Tensor:
    """Fit one scene's path as the authors' script does for dataset ``kind`` (see module doc).

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world of all the scene's cameras.
        train_ids: the known (few-shot) views, used by re10k / co3d.
        bounds: near/far bounds (``poses_bounds[:, -2:]``), required for ``llff``.
    Returns:
        OpenCV camera-to-world ``[M, 4, 4]`` float64.
    """
    all_c2w = as_c2w(c2w)
    if kind in ("re10k", "co3d"):
        ids = [int(i) for i in train_ids]
        if any(not 0 <= i < len(all_c2w) for i in ids):
            raise ValueError(f"train_ids {ids} out of range for {len(all_c2w)} cameras")
        return fit_interpolated_path(
            all_c2w[ids], num_points, 5, 0.03, 0.1, shift_x=shift_x, shift_z=shift_z, multiscale=multiscale
        )
    if kind == "llff":
        if bounds is None:
            raise ValueError("llff trajectories need the scene's near/far bounds (poses_bounds)")
        return fit_spiral_path(
            all_c2w, bounds, num_points, n_rots=1, zrate=z_rate, perc=90, shift_z=shift_z,
            multiscale=multiscale, return_center=return_center, shift_zy=shift_zy,
        )  # fmt: skip
    if kind == "dtu":
        return fit_spiral_path(
            all_c2w, None, num_points, n_rots=1, zrate=z_rate, perc=60, shift_z=shift_z,
            multiscale=multiscale, return_center=return_center, shift_zy=shift_zy,
        )  # fmt: skip
    if kind == "mipnerf360":
        return fit_ellipse_path(all_c2w, num_points, True, 0.0, 0.0, shift_z=shift_z, multiscale=multiscale)
    raise ValueError(f"unknown dataset kind {kind!r}")


def fit_reconfusion(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    kind: DatasetKind | Literal["auto"] = "auto",
    n_views: int = 9,
    num_points: int = 120,
    shift_x: Sequence[float] | None = None,
    shift_z: Sequence[float] | None = None,
    multiscale: Sequence[float] | None = None,
    z_rate: float = 0.0,
    return_center: bool = False,
    shift_zy: bool = False,
    data_poses: bool = False,
    save_format: Literal["3x4", "18"] = "3x4",
    keys: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Fit a path for every scene of a ReconFusion torch folder; write ``gen_poses_w2c.json`` files.

    Output: ``out_dir/<basename(root)>/<key>/gen_poses_w2c.json`` (the authors' layout: their
    grouped loader's ``pose_dir`` is ``out_dir/<basename(root)>``). ``data_poses`` writes all the
    dataset's cameras instead of a fitted path (their ``--save_data_pose``, used in their README).
    Scenes are fitted on the train views of split ``n_views`` (theirs: 9). Existing pose files are
    kept unless ``overwrite`` (FileExistsError before anything is written).

    Returns:
        ``{key: path of the written JSON}``.
    """
    from genxd.data.reconfusion import load_reconfusion_scene, read_reconfusion_index

    root = Path(root)
    index = read_reconfusion_index(root, keys)
    data_name = root.resolve().name
    resolved_kind = dataset_kind(data_name) if kind == "auto" else kind
    base = Path(out_dir) / data_name
    targets = {key: base / key / POSE_FILE for key in index}
    folder = next((p for p in targets.values() if p.is_dir()), None)
    if folder is not None:  # no overwrite replaces it: said before the existing files' --overwrite hint
        from ..caller_style import arg

        raise IsADirectoryError(f"{folder} is a folder, where a pose file goes: move it away, or give another "
                                f"{arg('out_dir')}")
    if not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            from ..validation import overwrite_hint

            raise FileExistsError(f"{len(existing)} pose file(s) already exist, e.g. {existing[0]} "
                                  f"({overwrite_hint(them=True)})")  # overwrite=True from Python
    unused = unused_fit_settings(resolved_kind, data_poses, shift_x=shift_x, shift_z=shift_z, multiscale=multiscale,
                                 z_rate=z_rate, return_center=return_center, shift_zy=shift_zy)
    if unused is not None:  # the path is written all the same (the authors' README gives shifts with data poses)
        from ..validation import warn

        warn(unused)

    from ..utils.progress import progress_bar

    texts: dict[str, str] = {}  # each scene's pose file, checked against the read limit before any is written
    # off when stderr is not a terminal: an erased bar leaves only an empty line in a log
    with progress_bar(total=len(index), desc=f"fitting {data_name} ({resolved_kind})", unit="scene",
                      disable=not progress, leave=False, terminal_only=True) as bar:
        for key, file_name in index.items():
            scene = load_reconfusion_scene(root / file_name, key=key, decode_images=False, dtype=torch.float64)
            if data_poses:
                poses = scene.c2w
            else:
                if n_views not in scene.splits:
                    raise ValueError(f"scene {key}: no train_test_split_{n_views} (has {sorted(scene.splits)})")
                bounds = None
                if resolved_kind == "llff":
                    pb = scene.extras.get("poses_bounds")
                    if pb is None:
                        raise ValueError(f"scene {key}: llff needs 'poses_bounds' in the torch file")
                    try:
                        pb = np.asarray(pb, dtype=np.float64)
                    except (TypeError, ValueError) as exc:
                        raise ValueError(f"scene {key} of {root}: poses_bounds: expected [N, 17] numbers "
                                         f"({exc})") from None
                    if pb.ndim != 2 or pb.shape[1] < 2:
                        raise ValueError(f"scene {key} of {root}: poses_bounds: expected [N, 17] (near/far bounds "
                                         f"last), got shape {list(pb.shape)}")
                    bounds = pb[:, -2:]
                try:
                    poses = fit_scene_trajectory(
                        scene.c2w,
                        scene.splits[n_views][0],
                        resolved_kind,
                        num_points,
                        shift_x=shift_x,
                        shift_z=shift_z,
                        multiscale=multiscale,
                        bounds=bounds,
                        z_rate=z_rate,
                        return_center=return_center,
                        shift_zy=shift_zy,
                    )
                except NoFocusPoint as exc:
                    raise NoFocusPoint(f"scene {key} of {root}: {exc} for {_PATH_NAMES[resolved_kind]} path; "
                                       f"{_no_focus_hint()}") from None
                except DegeneratePath as exc:
                    raise DegeneratePath(f"scene {key} of {root}: {exc}, for {_PATH_NAMES.get(resolved_kind, 'the spline')}"
                                         f" path; {_no_focus_hint(spline=resolved_kind in ('re10k', 'co3d'))}") from None
                except ValueError as exc:  # the spline's "duplicate views?": which scene's
                    raise type(exc)(f"scene {key} of {root}: {exc}") from None
            texts[key] = _pose_file_text(poses, save_format, f"scene {key} of {root}", data_poses)
            bar.update(1)
    # written once every scene is fitted: a scene that cannot be leaves no pose files to --overwrite
    from ..utils.io import atomic_file

    for key, text in texts.items():
        with atomic_file(targets[key], replace=True) as tmp:
            tmp.write_text(text)
    return {key: targets[key] for key in texts}


def _pose_file_text(poses: Tensor, save_format: str, where: str, data_poses: bool) -> str:
    """The pose file of ``poses`` (``[N, 4, 4]`` c2w) as :func:`~genxd.cameras.formats.save_w2c_list_json` writes
    it; ValueError naming ``where`` when it is larger than genxd reads back (``json_files.MAX_JSON_BYTES``: the
    grouped few-shot strategy's loader would refuse it; ``--num-points 200000`` wrote 89 MiB)."""
    from ..caller_style import arg, is_cli
    from ..utils import json_files
    from ..utils.json_text import json_text

    text = json_text(w2c_list_object(poses, save_format), indent=4) + "\n"
    size, limit = len(text.encode()), json_files.MAX_JSON_BYTES
    if size <= limit:
        return text
    reader = ("genxd fewshot --strategy grouped --pose-dir" if is_cli()
              else "the grouped few-shot strategy's pose_dir")
    advice = "" if data_poses else (f": give fewer {arg('num_points')} or path copies ({arg('shift_x')}, "
                                    f"{arg('shift_z')}, {arg('multiscale')})")
    raise ValueError(f"{where}: {len(poses)} poses make a pose file of {size / 2**20:.3g} MiB, over the "
                     f"{limit / 2**20:.2g} MiB genxd reads back ({reader}){advice}")


_PATH_NAMES = {"llff": "llff's spiral", "dtu": "dtu's spiral", "mipnerf360": "mip-NeRF 360's ellipse"}


def _no_focus_hint(spline: bool = False) -> str:
    """What to do where the cameras have no focus point (or give a degenerate path), worded for the caller;
    ``spline``: the spline itself failed, so only the scene's own cameras are offered."""
    from ..caller_style import is_cli

    if spline:
        return "write the scene's own cameras instead (" + ("--data-poses" if is_cli() else "data_poses=True") + ")"
    if is_cli():
        return ("fit a spline through the known views instead (--dataset re10k) or write the scene's own cameras "
                "(--data-poses)")
    return "fit a spline through the known views instead (kind='re10k') or write the scene's own cameras " \
           "(data_poses=True)"
