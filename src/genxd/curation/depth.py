"""Dense depth for curation: a relative monocular model aligned to SfM, or the sparse SfM depth.

- :class:`TransformersDepthEstimator`: a relative depth model (Depth Anything V2) loaded from a
  local ``transformers`` folder; its output is aligned to the sparse SfM depth of each frame with
  ``scale = median(d_sfm) / median(d_rel)``, ``shift = median(d_sfm - scale * d_rel)``
  (:func:`align_depth_median`). Relative Depth Anything models predict *inverse* depth (disparity),
  so by default the alignment is done on inverse depth and the result inverted back.
- Fallback :func:`sparse_depth_maps`: the z-depth of the frame's triangulated static SfM points,
  interpolated linearly in inverse depth over the image (nearest value outside their convex hull).
  Limits: objects carry no SfM points (their features are masked out), so each masked object gets the
  depth of the ground just below its mask (where it stands, :func:`fill_object_depth`); a mask that
  does not reach the object's foot gets a farther depth; depth edges are smeared; textureless areas are
  guesses.

Depth maps are z-depth ``float32 [N, H, W]`` at pixel centres (NaN for unregistered frames).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..utils.extras import install_extra
from .sfm import SfmResult

__all__ = [
    "sparse_depth_observations",
    "interpolate_sparse_depth",
    "sparse_depth_maps",
    "fill_object_depth",
    "align_depth_median",
    "aligned_model_depth_maps",
    "TransformersDepthEstimator",
    "check_depth_model",
    "check_transformers_model",
    "sample_map",
]


def sparse_depth_observations(sfm: SfmResult, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Triangulated points seen in frame ``index``.

    Returns:
        xy ``float64 [M, 2]`` COLMAP pixel coordinates (pixel centres at +0.5) of the observations,
        z ``float64 [M]`` their z-depth in that camera (positive).
    """
    image = sfm.image_by_index(index)
    rec = sfm.reconstruction
    xy, xyz = [], []
    for point2D in image.points2D:
        if point2D.has_point3D():
            xy.append(point2D.xy)
            xyz.append(rec.points3D[point2D.point3D_id].xyz)
    if not xy:
        return np.zeros((0, 2)), np.zeros((0,))
    xy_arr = np.asarray(xy, dtype=np.float64)
    xyz_arr = np.asarray(xyz, dtype=np.float64)
    w2c = image.cam_from_world().matrix()
    z = xyz_arr @ w2c[2, :3] + w2c[2, 3]
    keep = z > 0
    return xy_arr[keep], z[keep]


def interpolate_sparse_depth(xy: np.ndarray, z: np.ndarray, height: int, width: int) -> np.ndarray:
    """Dense z-depth ``float32 [H, W]`` from sparse samples (linear in inverse depth, nearest outside).

    ``xy`` are COLMAP pixel coordinates (pixel (i, j) has its centre at (j + 0.5, i + 0.5)).
    """
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator
    from threadpoolctl import threadpool_limits

    if len(z) == 0:
        return np.full((height, width), np.nan, np.float32)
    ys, xs = np.mgrid[0:height, 0:width]
    query = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    inv = 1.0 / np.asarray(z, dtype=np.float64)
    values = np.full(len(query), np.nan)
    if len(z) >= 4:
        # One BLAS thread: the triangulation's barycentric transforms are one tiny LAPACK call per triangle, and
        # OpenBLAS's thread hand-offs made them up to 13x the CPU of one thread (docs/benchmarks/curation.md, "Sparse depth
        # on one BLAS thread")
        with threadpool_limits(limits=1, user_api="blas"):
            try:
                values = LinearNDInterpolator(xy, inv)(query)
            except Exception:  # noqa: BLE001 - degenerate (collinear) samples: nearest everywhere
                pass
    outside = ~np.isfinite(values)  # outside the samples' convex hull: the nearest sample (queried only there)
    if outside.any():
        values[outside] = NearestNDInterpolator(xy, inv)(query[outside])
    return (1.0 / np.maximum(values, 1e-9)).reshape(height, width).astype(np.float32)


def fill_object_depth(depth: np.ndarray, labels: np.ndarray, below_px: int = 2) -> np.ndarray:
    """Give each masked object one depth: the depth of the ground where it stands.

    Objects rest on the ground (people, cars, the synthetic objects), so the depth at their contact point,
    just below the component's lowest pixel, is their depth; the interpolated static depth there comes
    from the ground points around the contact. Interpolating across the mask instead blends in the far
    background behind the object, and the near end of a ring of static points around it (the earlier
    rule: 10th percentile) takes the ground in front of it. Measured in docs/curation_accuracy.md (dev clips).

    Args:
        depth: ``[H, W]`` interpolated static depth (modified copy returned).
        labels: ``int [H, W]`` object ids (0 = none).
        below_px: how far below the lowest mask pixel the ground is read (clamped to the image).
    """
    out = depth.copy()
    h = labels.shape[0]
    for k in np.unique(labels):
        if k == 0:
            continue
        mask = labels == k
        rows, cols = np.nonzero(mask)
        bottom = rows.max()
        col = int(np.median(cols[rows >= bottom - 1]))  # the middle of the component's bottom edge
        value = depth[min(h - 1, bottom + below_px), col]
        if np.isfinite(value) and value > 0:
            out[mask] = value
    return out


def sparse_depth_maps(sfm: SfmResult, labels: np.ndarray | None = None) -> np.ndarray:
    """Interpolated sparse SfM depth ``float32 [N, H, W]`` for every registered frame (NaN otherwise).

    With ``labels`` (``int [N, H, W]`` object masks), each object gets the depth of the ground where it
    stands (:func:`fill_object_depth`) instead of the interpolation across its mask.
    """
    n = len(sfm.image_names)
    out = np.full((n, sfm.height, sfm.width), np.nan, np.float32)
    for index in np.flatnonzero(sfm.registered):
        xy, z = sparse_depth_observations(sfm, int(index))
        out[index] = interpolate_sparse_depth(xy, z, sfm.height, sfm.width)
        if labels is not None:
            out[index] = fill_object_depth(out[index], labels[index])
    return out


def sample_map(depth: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples ``[M]`` of a map ``[H, W]`` at COLMAP pixel coordinates ``xy [M, 2]``."""
    import cv2

    # COLMAP pixel centres sit at +0.5; OpenCV's remap puts them at integers.
    map_x = (xy[:, 0] - 0.5).astype(np.float32).reshape(-1, 1)
    map_y = (xy[:, 1] - 0.5).astype(np.float32).reshape(-1, 1)
    out = cv2.remap(depth.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1).astype(np.float64)


def align_depth_median(
    relative: np.ndarray, sparse_xy: np.ndarray, sparse_z: np.ndarray, inverse: bool = True
) -> tuple[np.ndarray, float, float]:
    """Align a relative depth map to sparse SfM depth by medians.

    ``scale = median(d_sfm) / median(d_rel)``, ``shift = median(d_sfm - scale * d_rel)``, computed
    on the sparse samples; with ``inverse=True`` the model output is inverse depth and the
    alignment is done against ``1 / z_sfm``, then inverted back to z-depth.

    Args:
        relative: ``[H, W]`` model output (disparity-like if ``inverse``).
        sparse_xy: ``[M, 2]`` COLMAP pixel coordinates; sparse_z: ``[M]`` SfM z-depths.
    Returns:
        (z-depth ``float32 [H, W]``, scale, shift); NaN map when there are no samples.
    """
    if len(sparse_z) == 0:
        return np.full(relative.shape, np.nan, np.float32), float("nan"), float("nan")
    rel = sample_map(relative, sparse_xy)
    target = 1.0 / sparse_z if inverse else sparse_z
    med_rel = np.median(rel)
    if abs(med_rel) < 1e-12:
        return np.full(relative.shape, np.nan, np.float32), float("nan"), float("nan")
    scale = float(np.median(target) / med_rel)
    shift = float(np.median(target - scale * rel))
    aligned = scale * relative.astype(np.float64) + shift
    if inverse:
        floor = 1.0 / (np.max(sparse_z) * 100.0)  # keep the far field finite and positive
        aligned = 1.0 / np.maximum(aligned, floor)
    else:
        aligned = np.maximum(aligned, np.min(sparse_z) * 1e-2)
    return aligned.astype(np.float32), scale, shift


#: Files ``from_pretrained`` reads the weights from (transformers' WEIGHTS_NAME, SAFE_WEIGHTS_NAME and their indexes).
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
#: Files ``AutoImageProcessor.from_pretrained`` reads the image processor from.
_PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")


def check_transformers_model(model_dir: str | Path, option: str, tasks: tuple[str, ...], what: str) -> None:
    """Raise a one-line ``ValueError`` (``FileNotFoundError`` for a missing folder) naming ``option`` (as the caller
    knows it: ``--depth-model`` or ``depth_model``) unless
    ``transformers`` imports and ``model_dir`` looks like a model folder the loaders accept: a ``config.json``
    whose ``model_type`` transformers maps to a model of one of ``tasks`` (names of the auto mappings, e.g.
    ``"DEPTH_ESTIMATION"``), weights and an image-processor config. Cheap: reads no weights; run before any
    video starts (and in each worker, where the package may be missing).
    """
    import json

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{option} folder not found: {model_dir}")
    try:
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"{option} needs the 'transformers' package: {install_extra('models')} ({exc})") from None
    config_path = model_dir / "config.json"
    try:
        model_type = json.loads(config_path.read_bytes()).get("model_type")
    except FileNotFoundError:
        raise ValueError(f"{option} {model_dir} is not a transformers model folder: no config.json") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{option} {model_dir}: cannot read config.json: {type(exc).__name__}: {exc}") from None
    if not model_type:
        raise ValueError(f"{option} {model_dir}: config.json has no model_type; is it a transformers model folder?")
    try:
        from transformers.models.auto import modeling_auto
    except ImportError:  # pragma: no cover - layout of another transformers version: leave it to the loader
        pass
    else:
        known = [names for task in tasks
                 if (names := getattr(modeling_auto, f"MODEL_FOR_{task}_MAPPING_NAMES", None)) is not None]
        if known and not any(model_type in names for names in known):
            raise ValueError(f"{option} {model_dir}: a {model_type!r} model is not {what} "
                             f"(transformers {transformers.__version__})")
    if not any((model_dir / name).is_file() for name in _WEIGHT_FILES):
        raise ValueError(f"{option} {model_dir}: no model weights ({' or '.join(_WEIGHT_FILES[::2])})")
    if not any((model_dir / name).is_file() for name in _PROCESSOR_FILES):
        raise ValueError(f"{option} {model_dir}: no image processor ({_PROCESSOR_FILES[0]})")


def check_depth_model(model_dir: str | Path) -> None:
    """Raise a one-line error unless ``model_dir`` can be a ``--depth-model`` (see :func:`check_transformers_model`)."""
    from ..validation import arg

    check_transformers_model(model_dir, arg("depth_model"), ("DEPTH_ESTIMATION",), "a depth-estimation model")


class TransformersDepthEstimator:
    """Relative monocular depth (e.g. Depth Anything V2) from a local ``transformers`` folder.

    ``estimator(frames uint8 [N, H, W, 3]) -> float32 [N, H, W]`` model output resized to the
    frames. ``inverse`` is True for relative models (disparity-like output), False when the model's
    config says ``depth_estimation_type == "metric"``.
    """

    def __init__(self, model_dir: str | Path, device: str = "cpu", batch_size: int = 4) -> None:
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise FileNotFoundError(f"depth model folder not found: {model_dir}")
        try:
            import transformers
        except ImportError as exc:
            from ..validation import arg

            raise ValueError(f"{arg('depth_model')} needs the 'transformers' package: "
                             f"{install_extra('models')}") from exc
        import torch

        self.processor = transformers.AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        self.model = transformers.AutoModelForDepthEstimation.from_pretrained(model_dir, local_files_only=True)
        self.model = self.model.to(device).eval()
        self.torch = torch
        self.device = device
        self.batch_size = batch_size
        self.inverse = getattr(self.model.config, "depth_estimation_type", "relative") != "metric"
        self.name = f"transformers:{model_dir.name}"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        torch = self.torch
        n, h, w = frames.shape[:3]
        out = np.zeros((n, h, w), np.float32)
        for start in range(0, n, self.batch_size):
            batch = list(frames[start : start + self.batch_size])
            inputs = self.processor(images=batch, return_tensors="pt").to(self.device)
            with torch.no_grad():
                pred = self.model(**inputs).predicted_depth  # [B, h', w']
            pred = torch.nn.functional.interpolate(pred[:, None].float(), size=(h, w), mode="bilinear", align_corners=False)
            out[start : start + len(batch)] = pred[:, 0].cpu().numpy()
        return out


def aligned_model_depth_maps(
    frames: np.ndarray, sfm: SfmResult, estimator: TransformersDepthEstimator
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Model depth aligned per frame to the SfM depth: ``float32 [N, H, W]`` (NaN if unregistered).

    Returns the maps and, per registered frame, ``{"frame", "scale", "shift", "num_points"}``.
    """
    relative = estimator(frames)
    out = np.full(relative.shape, np.nan, np.float32)
    info: list[dict[str, float]] = []
    for index in np.flatnonzero(sfm.registered):
        xy, z = sparse_depth_observations(sfm, int(index))
        out[index], scale, shift = align_depth_median(relative[index], xy, z, inverse=estimator.inverse)
        info.append({"frame": int(index), "scale": scale, "shift": shift, "num_points": int(len(z))})
    return out, info
