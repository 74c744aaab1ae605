"""Masks of possibly moving objects.

Two interchangeable maskers, both called as ``masker(frames) -> labels``:

- :class:`EpipolarFlowMasker` (default, no learned model): dense optical flow (OpenCV DIS) between
  nearby frames; the dominant camera motion is fitted robustly (RANSAC fundamental matrix, or a
  homography when the camera barely translates); pixels whose flow disagrees with it are masked,
  then dilated. It prefers false alarms: the motion stage decides later what really moves.
- :class:`TransformersInstanceMasker`: an instance/panoptic segmentation model loaded from a local
  folder with ``transformers`` (e.g. Mask2Former); instances of movable classes are masked.

``frames`` are ``uint8 [N, H, W, 3]`` RGB; ``labels`` are ``int32 [N, H, W]``: 0 = static
background, k > 0 = object k of that frame (ids are per frame, not matched across frames).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..utils.extras import install_extra

__all__ = [
    "Masker",
    "EpipolarFlowMasker",
    "TransformersInstanceMasker",
    "MOVABLE_CLASS_NAMES",
    "dis_flow",
    "epipolar_residual",
    "label_components",
    "check_mask_model",
    "load_masker",
]


class Masker(Protocol):
    """Anything that maps frames ``uint8 [N, H, W, 3]`` to object labels ``int32 [N, H, W]``."""

    name: str

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


#: The shortest side OpenCV's DIS flow takes at every width (all sides up to 2048 px tried): 16 px.
DIS_MIN_SIDE = 16


def dis_flow(frame_a: np.ndarray, frame_b: np.ndarray, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> np.ndarray:
    """Dense optical flow ``float32 [H, W, 2]`` (dx, dy in pixels) from ``frame_a`` to ``frame_b``.

    Frames are ``uint8 [H, W, 3]`` RGB or ``[H, W]`` gray. OpenCV DIS flow; frames with a side under
    :data:`DIS_MIN_SIDE` are padded to it (their edge pixels repeated) and the flow cropped back: OpenCV refuses them
    ("width or height >= 12"), and crashed the process (a segmentation fault) for 8 to 15 px high and 40 px or more
    wide (a 96x8 clip, a wide clip given ``--resize 64``).
    """
    a = _gray(frame_a) if frame_a.ndim == 3 else np.ascontiguousarray(frame_a)  # OpenCV asserts it is contiguous
    b = _gray(frame_b) if frame_b.ndim == 3 else np.ascontiguousarray(frame_b)
    h, w = a.shape[:2]
    pad_h, pad_w = max(0, DIS_MIN_SIDE - h), max(0, DIS_MIN_SIDE - w)
    if pad_h or pad_w:
        a, b = (cv2.copyMakeBorder(x, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) for x in (a, b))
    dis = cv2.DISOpticalFlow.create(preset)  # the same function as cv2.DISOpticalFlow_create, which the stubs lack
    flow = dis.calc(a, b, None)  # type: ignore[call-overload]  # None: a new flow array; the stubs want one given
    return np.ascontiguousarray(flow[:h, :w]) if pad_h or pad_w else flow


def _sampson_distance(F: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """First-order geometric distance (pixels) of correspondences ``x1 -> x2`` ``[M, 2]`` to ``F``.

    Written out per component: numpy's ``[M, 3] @ [3, 3]`` products took 39 ms for the 65,536 pixels of a 256-px
    frame, this 3 ms, the same distances within 1e-11 relative (benchmarks/bench_flow_masks.py)."""
    x, y = x1[:, 0], x1[:, 1]
    u, v = x2[:, 0], x2[:, 1]
    a0 = F[0, 0] * x + F[0, 1] * y + F[0, 2]  # F [x, y, 1]
    a1 = F[1, 0] * x + F[1, 1] * y + F[1, 2]
    a2 = F[2, 0] * x + F[2, 1] * y + F[2, 2]
    b0 = F[0, 0] * u + F[1, 0] * v + F[2, 0]  # F^T [u, v, 1]
    b1 = F[0, 1] * u + F[1, 1] * v + F[2, 1]
    num = np.abs(u * a0 + v * a1 + a2)
    den = np.sqrt(a0 * a0 + a1 * a1 + b0 * b0 + b1 * b1) + 1e-12
    return num / den


def _homography_transfer_error(Hm: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Distance (pixels) of ``x2`` from ``x1`` mapped by the homography ``Hm`` (``[M, 2]`` each), per component as
    :func:`_sampson_distance`."""
    x, y = x1[:, 0], x1[:, 1]
    w = Hm[2, 0] * x + Hm[2, 1] * y + Hm[2, 2]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    du = (Hm[0, 0] * x + Hm[0, 1] * y + Hm[0, 2]) / w - x2[:, 0]
    dv = (Hm[1, 0] * x + Hm[1, 1] * y + Hm[1, 2]) / w - x2[:, 1]
    return np.sqrt(du * du + dv * dv)


#: Samples of :func:`epipolar_residual`'s homography RANSAC (2000 until 2026-12-06, as its fundamental matrix's
#: still). OpenCV's RANSAC draws the same samples whatever the cap and stops once
#: ``log(1 - 0.999) / log(1 - r**4)`` samples are drawn for its best inlier ratio ``r`` so far: 6 for ``r >= 0.9``.
#: The homography is used only when it explains 90 % of the samples, and such a search ended by its 32nd sample on
#: every noisy flow tried (tests/curation/test_curation_masks_ransac.py); only searches whose best model explains
#: under 43 % of the samples run past 200, and their homography is dropped for the fundamental matrix. Those ran
#: 2000 samples of 1,024 flow vectors (4,096 at 256 px) per frame pair: on six rendered clips the labels are the same
#: bit for bit and a sway's masks take 0.67 s of CPU instead of 1.52 s (benchmarks/bench_flow_masks.py).
HOMOGRAPHY_MAX_ITERS = 200


def epipolar_residual(
    flow: np.ndarray,
    sample_step: int = 4,
    ransac_threshold_px: float = 1.0,
    homography_inlier_ratio: float = 0.9,
    seed: int = 0,
    valid: np.ndarray | None = None,
    homography_max_iters: int = HOMOGRAPHY_MAX_ITERS,
) -> np.ndarray:
    """Per-pixel disagreement ``float32 [H, W]`` (pixels) of a flow field with the camera motion.

    The dominant (camera-induced) motion is fitted by RANSAC on flow correspondences sampled every
    ``sample_step`` pixels: a homography when it explains at least ``homography_inlier_ratio`` of the
    samples (camera rotating or static, or a planar scene), otherwise a fundamental matrix; only
    samples where ``valid [H, W]`` (optional) is true are used for the fit. The
    residual is the homography transfer error, or the Sampson distance to the epipolar lines.
    Limits: motion along the epipolar lines is invisible to the fundamental-matrix test.

    The homography's RANSAC stops after ``homography_max_iters`` samples (:data:`HOMOGRAPHY_MAX_ITERS`): its model
    is used only when it explains ``homography_inlier_ratio`` of the samples, and OpenCV's RANSAC stops by itself a
    few samples after finding such a model; the samples past the cap searched for a model that is then dropped.
    """
    H, W = flow.shape[:2]
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    x1_all = np.stack([xs.ravel(), ys.ravel()], axis=1)
    x2_all = x1_all + flow.reshape(-1, 2).astype(np.float64)
    ys_s, xs_s = np.mgrid[sample_step // 2 : H : sample_step, sample_step // 2 : W : sample_step]
    idx = (ys_s * W + xs_s).ravel()
    if valid is not None:
        idx = idx[valid.ravel()[idx]]
    inside = (x2_all[idx, 0] >= 0) & (x2_all[idx, 0] < W) & (x2_all[idx, 1] >= 0) & (x2_all[idx, 1] < H)
    idx = idx[inside]
    if idx.size < 16:
        return np.zeros((H, W), np.float32)
    x1 = x1_all[idx].astype(np.float32)
    x2 = x2_all[idx].astype(np.float32)
    cv2.setRNGSeed(seed)
    Hm, h_inliers = cv2.findHomography(x1, x2, cv2.RANSAC, ransac_threshold_px, maxIters=homography_max_iters,
                                       confidence=0.999)
    if Hm is not None and h_inliers is not None and h_inliers.mean() >= homography_inlier_ratio:
        return _homography_transfer_error(Hm, x1_all, x2_all).reshape(H, W).astype(np.float32)
    F, f_inliers = cv2.findFundamentalMat(
        x1, x2, cv2.FM_RANSAC, ransacReprojThreshold=ransac_threshold_px, confidence=0.999, maxIters=2000
    )
    if F is None or F.shape != (3, 3):
        return np.zeros((H, W), np.float32)
    return _sampson_distance(F, x1_all, x2_all).reshape(H, W).astype(np.float32)


def label_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Connected components ``int32 [H, W]`` of a boolean mask; blobs under ``min_area`` pixels dropped."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    out = np.zeros(mask.shape, np.int32)
    next_id = 1
    for k in range(1, count):
        if stats[k, cv2.CC_STAT_AREA] >= min_area:
            out[labels == k] = next_id
            next_id += 1
    return out


@dataclass
class EpipolarFlowMasker:
    """Classical fallback: flow that disagrees with the camera's epipolar geometry.

    Attributes:
        frame_gaps: compare frame i with frames i +- gap for each gap (several gaps catch slow motion).
        threshold: residual threshold as a fraction of the image's longer side
            (0.004 = 0.5 px at 128 px).
        min_threshold_px: lower bound on the threshold in pixels (flow noise).
        dilate_fraction: dilation radius as a fraction of the longer side.
        min_area_fraction: blobs smaller than this fraction of the image are dropped before dilation.
        texture_threshold: smallest minimum eigenvalue of the structure tensor (5-pixel window, frames in
            [0, 1]) of a pixel whose flow counts, at ``texture_reference_size`` pixels on the longer side; scaled
            by ``(texture_reference_size / size) ** 2`` at other sizes: the eigenvalues go with the squared image
            gradient, which halves per pixel when the same view has twice the pixels (a fixed threshold left most
            of an object's pixels "flat" at 256 px: docs/curation_accuracy.md); never below ``texture_floor``.
        texture_floor: the scaled threshold's lower bound, about the 99th percentile of the same eigenvalue on
            Gaussian noise of 2 / 255 (7.1e-5): image noise does not shrink with the frame size, so flat, noisy
            regions of large frames must not count as texture (the floor is the 256-px value).
        working_size: frames whose longer side is larger are masked at this size (area-averaged down, the labels
            scaled back up by nearest neighbour): above it the texture test meets the floor, and on frames of
            512 px the moving objects' texture fell under it (4D clips read static; docs/curation_accuracy.md).
            None: any size as it comes.
    """

    frame_gaps: tuple[int, ...] = (1, 3)
    threshold: float = 0.006
    min_threshold_px: float = 0.6
    dilate_fraction: float = 0.03
    min_area_fraction: float = 0.001
    fb_consistency_px: float = 1.0
    texture_threshold: float = 3e-4
    texture_reference_size: int = 128
    texture_floor: float = 7.5e-5
    working_size: int | None = 256
    name: str = "epipolar_flow"

    def texture_for(self, size: int) -> float:
        """The texture threshold for frames of ``size`` pixels on the longer side."""
        return max(self.texture_threshold * (self.texture_reference_size / size) ** 2, self.texture_floor)

    def residual_maps(self, frames: np.ndarray) -> np.ndarray:
        """Per-frame worst residual ``float32 [N, H, W]`` (pixels per frame of gap) over the neighbours.

        Only textured pixels (minimum eigenvalue of the structure tensor above ``texture_threshold``, scaled to
        the frame size) with forward-backward consistent flow count: elsewhere flow is
        unreliable (flat regions, occlusions) and the residual is 0.
        """
        n, h, w = frames.shape[:3]
        gray = [_gray(f) for f in frames]
        texture = self.texture_for(max(h, w))
        textured = [cv2.cornerMinEigenVal(g.astype(np.float32) / 255.0, 5, ksize=3) > texture for g in gray]
        residual = np.zeros((n, h, w), np.float32)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        for gap in self.frame_gaps:
            if gap >= n:
                continue
            for i in range(n - gap):
                j = i + gap
                fwd = dis_flow(gray[i], gray[j])
                bwd = dis_flow(gray[j], gray[i])
                for a, b, flow_ab, flow_ba in ((i, j, fwd, bwd), (j, i, bwd, fwd)):
                    back = cv2.remap(
                        flow_ba, xs + flow_ab[..., 0], ys + flow_ab[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE,
                    )
                    reliable = textured[a] & (np.linalg.norm(flow_ab + back, axis=-1) < self.fb_consistency_px * gap)
                    res = epipolar_residual(flow_ab, valid=reliable, seed=a) * reliable
                    residual[a] = np.maximum(residual[a], res / gap)
        return residual

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Object labels ``int32 [N, H, W]`` (0: static) of frames ``uint8 [N, H, W, 3]``."""
        h, w = frames.shape[1:3]
        if self.working_size is not None and max(h, w) > self.working_size:
            scale = self.working_size / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
            labels = self._labels(small)
            rows = np.minimum((np.arange(h) + 0.5) * labels.shape[1] / h, labels.shape[1] - 1).astype(np.intp)
            cols = np.minimum((np.arange(w) + 0.5) * labels.shape[2] / w, labels.shape[2] - 1).astype(np.intp)
            return labels[:, rows[:, None], cols[None, :]]
        return self._labels(frames)

    def _labels(self, frames: np.ndarray) -> np.ndarray:
        n, h, w = frames.shape[:3]
        size = max(h, w)
        threshold = max(self.threshold * size, self.min_threshold_px)
        residual = self.residual_maps(frames)
        radius = max(1, round(self.dilate_fraction * size))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        small = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        min_area = max(4, round(self.min_area_fraction * h * w))
        labels = np.zeros((n, h, w), np.int32)
        for i in range(n):
            mask = (residual[i] > threshold).astype(np.uint8)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, small)  # drop isolated noisy pixels
            mask = label_components(mask, min_area) > 0
            mask = cv2.dilate(mask.astype(np.uint8), kernel) > 0
            labels[i] = label_components(mask, 1)
        return labels


#: Class names (COCO, ADE20K, Cityscapes, VIPSeg vocabularies) treated as possibly moving.
MOVABLE_CLASS_NAMES = frozenset(
    {
        "person", "people", "rider", "bicycle", "bicyclist", "car", "motorcycle", "motorbike", "airplane",
        "aeroplane", "bus", "train", "truck", "boat", "ship", "van", "vehicle", "bird", "cat", "dog",
        "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "animal", "animal_other",
        "fish", "frisbee", "kite", "sports ball", "ball", "skateboard", "surfboard", "skis", "snowboard",
        "flag", "umbrella", "baby", "child", "man", "woman", "tricycle", "cart", "wagon", "flame",
        "fire", "water", "waterfall", "sea", "wave", "fountain", "curtain", "tree", "plant", "flower",
        "grass", "smoke", "cloud", "balloon", "windmill", "fan",
    }
)


class TransformersInstanceMasker:
    """Instance/panoptic segmentation from a local ``transformers`` folder (e.g. Mask2Former).

    Loads ``AutoImageProcessor`` and ``AutoModelForUniversalSegmentation`` (falls back to
    ``AutoModelForInstanceSegmentation``) from ``model_dir`` offline. Segments whose class name is
    in ``classes`` (default :data:`MOVABLE_CLASS_NAMES`; all classes when the model knows none of
    them) and whose score is at least ``score_threshold`` become objects; masks are dilated by
    ``dilate_fraction`` of the longer side (prefer false alarms).
    """

    def __init__(
        self,
        model_dir: str | Path,
        classes: frozenset[str] | set[str] | None = None,
        score_threshold: float = 0.5,
        dilate_fraction: float = 0.02,
        device: str = "cpu",
        batch_size: int = 4,
    ) -> None:
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise FileNotFoundError(f"mask model folder not found: {model_dir}")
        try:
            import transformers
        except ImportError as exc:
            from ..validation import arg

            raise ValueError(f"{arg('mask_model')} needs the 'transformers' package: "
                             f"{install_extra('models')}") from exc
        import torch

        self.processor = transformers.AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        try:
            model = transformers.AutoModelForUniversalSegmentation.from_pretrained(model_dir, local_files_only=True)
        except (ValueError, KeyError):
            model = transformers.AutoModelForInstanceSegmentation.from_pretrained(model_dir, local_files_only=True)
        self.model = model.to(device).eval()
        self.device = device
        self.torch = torch
        id2label = {int(k): str(v) for k, v in getattr(model.config, "id2label", {}).items()}
        wanted = {c.lower() for c in (classes if classes is not None else MOVABLE_CLASS_NAMES)}
        movable = {k for k, v in id2label.items() if v.lower().split("-")[0].strip() in wanted or v.lower() in wanted}
        self.movable_ids = movable if movable else set(id2label)  # unknown vocabulary: keep everything
        self.score_threshold = score_threshold
        self.dilate_fraction = dilate_fraction
        self.batch_size = batch_size
        self.name = f"transformers:{model_dir.name}"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        n, h, w = frames.shape[:3]
        labels = np.zeros((n, h, w), np.int32)
        radius = max(1, round(self.dilate_fraction * max(h, w)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        post = getattr(self.processor, "post_process_instance_segmentation", None)
        if post is None:
            raise ValueError(f"{self.name}: the image processor has no post_process_instance_segmentation")
        for start in range(0, n, self.batch_size):
            batch = list(frames[start : start + self.batch_size])
            inputs = self.processor(images=batch, return_tensors="pt").to(self.device)
            with self.torch.no_grad():
                outputs = self.model(**inputs)
            results = post(outputs, threshold=self.score_threshold, target_sizes=[(h, w)] * len(batch))
            for offset, result in enumerate(results):
                seg = result["segmentation"].cpu().numpy()
                next_id = 1
                for info in result.get("segments_info", []):
                    if int(info.get("label_id", -1)) not in self.movable_ids:
                        continue
                    mask = cv2.dilate((seg == info["id"]).astype(np.uint8), kernel) > 0
                    labels[start + offset][mask & (labels[start + offset] == 0)] = next_id
                    next_id += 1
        return labels


def check_mask_model(model_dir: str | Path) -> None:
    """Raise a one-line error unless ``model_dir`` can be a ``--mask-model``: ``transformers`` installed and a
    folder of an instance or universal segmentation model (see :func:`genxd.curation.depth.check_transformers_model`)."""
    from .depth import check_transformers_model

    from ..validation import arg

    check_transformers_model(model_dir, arg("mask_model"), ("UNIVERSAL_SEGMENTATION", "INSTANCE_SEGMENTATION"),
                             "an instance-segmentation model")


def load_masker(model_dir: str | Path | None, device: str = "cpu") -> Masker:
    """The segmentation model in ``model_dir`` if given, else the classical flow masker."""
    if model_dir is None:
        return EpipolarFlowMasker()
    return TransformersInstanceMasker(model_dir, device=device)
