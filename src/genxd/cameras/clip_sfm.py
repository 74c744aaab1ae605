"""The SfM route of ``genxd trajectory from-video``: a clip's frames to cameras.

One pass of :func:`genxd.cameras.video_sfm.run_video_sfm` (KLT tracks, then SIFT), a second pass with the regions
the first pass's cameras cannot explain masked (objects moving along the epipolar lines), the no-turn fits of
dolly and forward clips, and the small KLT window for a turning camera. Used by
:func:`genxd.cameras.clip_cameras.recover_clip_cameras`, which runs it again with an assumed focal length when the
focal length is unknown and SfM fails with it free (forward walks over a ground plane: most pairs fit a homography
and self-calibration has nothing to go on).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.stages import StageCallback
from .moving_masks import inconsistent_track_mask
from .video_sfm import (
    FIT_WITHOUT_TURNING_BELOW_DEG,
    FIT_WITHOUT_TURNING_MAX_ANGLE_DEG,
    fit_without_turning,
    path_angle_to_view_deg,
    rebundle_without_turning,
    retrack_if_turning,
    run_video_sfm,
    turn_per_frame_deg,
)

__all__ = ["reconstruct_clip", "focal_unobservable", "REFINE_MIN_FRACTION"]

#: Regions the first pass cannot explain must cover more than this fraction of the frames for a second pass.
REFINE_MIN_FRACTION = 0.001


def reconstruct_clip(frames: np.ndarray, image_dir: Path, names: list[str], work: Path, allowed: np.ndarray,
                     focal: float | None, *, features: str, num_threads: int, seed: int, mapper: str,
                     refine_masks: bool, stage: StageCallback, report: dict[str, Any],
                     timings: dict[str, float]) -> tuple[Any, np.ndarray]:
    """SfM of ``frames uint8 [N, H, W, 3]`` (written as ``names`` in ``image_dir``) outside ``allowed``'s holes
    (``bool [N, H, W]``, True where a point may be used) with the normalised focal length ``focal`` (None:
    estimated). Scratch files go under ``work``. Returns the kept ``SfmResult`` and the mask it used (with
    ``refine_masks``, the regions of the second pass removed). Adds ``inconsistent_fraction``, ``mask_fraction``,
    ``sfm_tried`` and warnings to ``report`` and the stages' seconds to ``timings``.

    Every pass refuses a reconstruction whose frames see too few points
    (:func:`genxd.cameras.video_sfm.too_few_points`, in :func:`run_video_sfm` and :func:`retrack_if_turning`): a
    thin second pass leaves the first one kept (a warning).

    Raises:
        genxd.curation.sfm.SfmError: the first pass found no reconstruction, or only ones whose frames see too few
            points.
    """
    from ..curation.sfm import SfmError

    sfm = run_video_sfm(image_dir, names, work / "sfm", allowed, focal, features, num_threads, seed, mapper)
    if refine_masks:  # a second pass without the points the first pass's cameras cannot explain
        t1 = time.perf_counter()
        moving = inconsistent_track_mask(frames, sfm.c2w, sfm.registered, sfm.K)
        report["inconsistent_fraction"] = float(moving.mean())
        if moving.mean() > REFINE_MIN_FRACTION:
            stage("structure from motion, second pass (regions the first pass cannot explain masked)")
            try:
                sfm = run_video_sfm(image_dir, names, work / "sfm2", allowed & ~moving, focal, features, num_threads,
                                    seed, mapper)
                allowed = allowed & ~moving
                report["mask_fraction"] = float((~allowed).mean())
            except SfmError as exc2:
                report["warnings"].append(f"the second SfM pass failed ({exc2}); the first is kept")
        timings["refine"] = timings.get("refine", 0.0) + time.perf_counter() - t1
    t1 = time.perf_counter()  # a dolly that SfM turned: its tracks from cameras that do not turn
    stage("structure from motion: the same tracks fitted by cameras that do not turn")
    sfm = fit_without_turning(rebundle_without_turning(sfm))
    timings["no_turn"] = timings.get("no_turn", 0.0) + time.perf_counter() - t1
    t1 = time.perf_counter()  # a turning camera: the small KLT window (genxd.cameras.video_sfm)
    sfm = retrack_if_turning(sfm, image_dir, names, work / "sfm_turning", allowed, focal, num_threads, seed, mapper)
    timings["turning"] = timings.get("turning", 0.0) + time.perf_counter() - t1
    report["sfm_tried"] = sfm.tried
    return sfm, allowed


def focal_unobservable(sfm) -> str | None:
    """Why SfM's estimated focal length of ``sfm`` cannot be believed, or None: a camera that moves along its view
    axis (within ``FIT_WITHOUT_TURNING_MAX_ANGLE_DEG``) and hardly turns (less than ``FIT_WITHOUT_TURNING_BELOW_DEG``
    a frame). Image points then move radially from the focus of expansion whatever the focal length, so
    self-calibration has nothing to go on: on the benchmark's forward and dolly clips at 512 px (fx/W 1.0, then 0.8)
    it estimated 0.41 - 0.62 and 0.44 - 1.48, or fell outside the plausible range, or failed
    (docs/benchmarks/camera_paths.md, "Camera paths from videos with the focal length unknown")."""
    angle = path_angle_to_view_deg(sfm.c2w, sfm.registered)
    turn = turn_per_frame_deg(sfm.c2w, sfm.registered)
    if angle < FIT_WITHOUT_TURNING_MAX_ANGLE_DEG and turn < FIT_WITHOUT_TURNING_BELOW_DEG:
        return (f"the camera moves along its view axis ({angle:.0f} degrees off it) turning {turn:.2f} degrees a "
                "frame")
    return None
