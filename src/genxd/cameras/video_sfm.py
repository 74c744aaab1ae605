"""Structure from motion on the frames of one clip, for ``from-video`` and ``eval-camera``.

:func:`run_video_sfm` is :func:`genxd.curation.run_sfm` with two things the curation default does not do:

- KLT tracks first, then SIFT (``features="auto"``): on the synthetic benchmark clips SIFT with sequential
  matching went 17-34 degrees wrong on forward and dolly paths (repetitive ground texture) where KLT tracks
  were within 0.7 degrees (docs/camera_paths_from_video.md).
- a KLT window that suits the motion: a camera that turns between frames deforms the image patches
  (rotation, foreshortening) that KLT follows as pure translations, so a large window's tracks slide, the
  more so where it straddles a depth edge; with curation's window (10 % of the image) the benchmark's wide
  orbits came out with their turn 1.5-4 % short or long (1.2-1.6 degrees mean error; bundle adjustment
  started from the exact cameras converges to the same biased solution, so it is the tracks, not the
  solver). A 3 % window tracks them within 0.1-0.9 degrees, but on forward and dolly paths with their
  large, repetitive ground motion it loses or mis-tracks points (5.8-29 degrees wrong on three of the
  eight), where the 10 % window is right. So :func:`run_video_sfm` uses the 10 %
  window, and :func:`retrack_if_turning` runs SfM again with the 3 % window when that reconstruction
  (after the moving-object passes) turns by :data:`TURNING_DEG_PER_FRAME` or more per frame, keeping it
  when the two agree (:data:`AGREEMENT`).
- a second start for the bundle adjustment, from cameras that do not turn (:func:`rebundle_without_turning`, run
  by from-video after its SfM passes): on a pure dolly move SfM can settle on a camera that turns about 1.5 degrees
  a frame while it moves forward (20 degrees off on the benchmark's dolly clips at 512 px), a local minimum that
  the same tracks bundle-adjusted from no turn leave for a better fit (docs/benchmarks.md).
- a fit in which no camera turns at all (:func:`fit_without_turning`, run after it): on a path along the view axis
  bundle adjustment can leave even that start turning a little while the tracks are explained better with no turn;
  the simpler model is taken when it fits at least as well.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..utils.cv2_files import imread_or_fail
from ..utils.pycolmap_import import load_pycolmap

__all__ = ["KLT_WINDOW", "KLT_WINDOW_TURNING", "TURNING_DEG_PER_FRAME", "AGREEMENT", "NO_TURN_GAIN", "NO_TURN_TURN_RATIO",
           "NO_TURN_MIN_KEPT", "klt_sfm", "turn_per_frame_deg", "disagreement_deg", "mean_turn_deg", "run_video_sfm",
           "retrack_if_turning", "rebundle_without_turning", "fit_without_turning", "FIT_WITHOUT_TURNING_BELOW_DEG",
           "FIT_WITHOUT_TURNING_MAX_ANGLE_DEG", "path_angle_to_view_deg", "MIN_POINTS_PER_FRAME", "too_few_points"]

#: KLT tracking window (fraction of the longer image side): curation's default, right for paths that
#: mostly move; and the one for a camera that turns by TURNING_DEG_PER_FRAME or more between frames.
KLT_WINDOW = 0.1
KLT_WINDOW_TURNING = 0.03
#: Set on the 20 benchmark clips (docs/benchmarks.md): their orbits turn 3.1-7.8 degrees between frames
#: and their hand-held walks 0.9-1.5 (both better with the small window); forward, dolly and spiral paths
#: at most 0.35 (three of the eight forward / dolly clips go 5.8-29 degrees wrong with it).
TURNING_DEG_PER_FRAME = 0.6
#: The small window's reconstruction is kept only when it differs from the first by at most this fraction of
#: the first's mean turn (mean rotation difference over the frames, both relative to their first camera).
AGREEMENT = 0.25
#: The no-turn start's reconstruction replaces SfM's when its median reprojection error is below this fraction of
#: SfM's (both after the same bundle adjustment, intrinsics fixed).
NO_TURN_GAIN = 0.8
#: ... or when it fits no worse (median error below SfM's) and turns less than this fraction of what SfM's cameras
#: turn per frame: two fits equally good, one turning while it moves forward (the forward-motion ambiguity) and one
#: not, and the one that does not turn is taken (eval-camera's dolly and forward scenes at 256 px, 16 frames).
NO_TURN_TURN_RATIO = 0.5
#: :func:`fit_without_turning` is tried only for a reconstruction that turns less than this per frame (an orbit's
#: cameras turn 3-8 degrees between the benchmark's frames; a camera that turns never fits as well without turning,
#: so this only saves the fit's time).
FIT_WITHOUT_TURNING_BELOW_DEG = 2.0
#: ... and only for a path that runs along the first camera's view axis: the benchmark's forward and dolly paths run
#: within 9 degrees of it, its spirals and hand-held paths 75-90 degrees off; a reconstruction that turns where the
#: camera does not bends its path too (eval-camera's dolly scene 8: 37 degrees).
FIT_WITHOUT_TURNING_MAX_ANGLE_DEG = 45.0
#: KLT corners per frame and the frames a track is matched over (as in ``genxd.curation.run_sfm``).
KLT_MAX_CORNERS = 800
SEQUENTIAL_OVERLAP = 8
#: A reconstruction whose registered frames see fewer points than this (median) is refused: a clip of noise gave
#: 43 points seen by 5 a frame (tracks 3 frames long) and a path turning 214 degrees; the synthetic clips give 100+.
MIN_POINTS_PER_FRAME = 15


def too_few_points(sfm) -> str | None:
    """Why ``sfm`` (an ``SfmResult``) cannot be trusted, or None: its registered frames see fewer than
    :data:`MIN_POINTS_PER_FRAME` points (median), so its cameras are fitted to chance matches."""
    seen = [image.num_points3D for image in sfm.reconstruction.images.values() if image.has_pose]
    per_frame = float(np.median(seen)) if seen else 0.0
    if per_frame >= MIN_POINTS_PER_FRAME:
        return None
    return (f"its {len(seen)} frames see {per_frame:.0f} points each (median, of {sfm.num_points3D}; at least "
            f"{MIN_POINTS_PER_FRAME} needed): too few to place a camera, the frames share little that can be tracked "
            "(noise, blur, a blank or flickering picture)")


def klt_sfm(image_dir: Path, names: list[str], work: Path, allowed: np.ndarray | None, focal: float | None,
            window_fraction: float, num_threads: int = -1, seed: int = 0, mapper: str = "global",
            min_registered_fraction: float = 0.5):
    """:func:`genxd.curation.run_sfm` with ``features="klt"`` and a chosen KLT window
    (``window_fraction`` of the longer side): Shi-Tomasi corners tracked through the frames outside the
    masks (``allowed bool [N, H, W]``), written to a COLMAP database as keypoints and matches, verified by
    pycolmap and mapped (``mapper``: "global" GLOMAP or "incremental"). Returns an ``SfmResult``.

    Here rather than in ``genxd.curation.sfm`` because ``run_sfm`` fixes the KLT window (its default, 10 %);
    with the window as a ``run_sfm`` argument this would be ``run_sfm(..., features="klt")``."""
    import cv2
    pycolmap = load_pycolmap()

    from ..curation import sfm as csfm

    if mapper not in ("global", "incremental"):
        raise ValueError(f"mapper must be 'global' or 'incremental', got {mapper!r}")
    work.mkdir(parents=True, exist_ok=True)
    database = work / "database.db"
    if database.exists():
        database.unlink()
    csfm._silence_colmap(False)
    timings: dict[str, float] = {}
    height, width = imread_or_fail(image_dir / names[0], cv2.IMREAD_GRAYSCALE).shape
    csfm._klt_database(database, image_dir, names, work, allowed, focal, width, height, seed, KLT_MAX_CORNERS,
                       SEQUENTIAL_OVERLAP, timings, window_fraction=window_fraction)
    t0 = time.perf_counter()
    models_dir = work / "sparse"
    models_dir.mkdir(exist_ok=True)
    try:
        if mapper == "global":
            models = pycolmap.global_mapping(database, image_dir, models_dir,
                                             csfm._global_options(seed, focal))
        else:
            models = pycolmap.incremental_mapping(database, image_dir, models_dir,
                                                  csfm.incremental_options(seed, focal))
    except Exception as exc:  # noqa: BLE001 - pycolmap raises RuntimeError / ValueError variants
        raise csfm.SfmError(f"{mapper} mapping failed: {exc}") from None
    timings["sfm_map"] = time.perf_counter() - t0
    return csfm.result_from_models(models, names, "klt", mapper, timings, min_registered_fraction)


def turn_per_frame_deg(c2w: np.ndarray, registered: np.ndarray) -> float:
    """How far the camera turns per frame step (degrees): the largest rotation of a registered camera of
    ``c2w [N, 4, 4]`` from the first registered one, over the steps between the registered frames. A path's
    frame-to-frame jitter does not add up in it (a median of consecutive rotations counted the jitter of
    a noisy reconstruction of a camera that does not turn)."""
    from .accuracy import rotation_errors_deg

    idx = np.flatnonzero(registered)
    if len(idx) < 2:
        return 0.0
    R = c2w[idx, :3, :3]
    return float(rotation_errors_deg(R, np.broadcast_to(R[0], R.shape)).max()) / (len(idx) - 1)


def path_angle_to_view_deg(c2w: np.ndarray, registered: np.ndarray) -> float:
    """Angle (degrees, 0-90) between the line from the first to the last registered camera centre of ``c2w
    [N, 4, 4]`` and the first one's view axis (+z); 90 when the camera does not move."""
    idx = np.flatnonzero(registered)
    if len(idx) < 2:
        return 90.0
    step = c2w[idx[-1], :3, 3] - c2w[idx[0], :3, 3]
    length = float(np.linalg.norm(step))
    if length < 1e-12:
        return 90.0
    cosine = min(1.0, abs(float(step @ c2w[idx[0], :3, 2])) / length)
    return float(np.degrees(np.arccos(cosine)))


def disagreement_deg(a, b) -> float:
    """Mean rotation difference (degrees) of two reconstructions of the same frames, each relative to its
    first camera, over the frames both registered (inf when fewer than 2)."""
    from .accuracy import compare_paths

    both = a.registered & b.registered
    if both.sum() < 2:
        return float("inf")
    return compare_paths(a.c2w[both], b.c2w[both]).mean_rot_err_deg


def mean_turn_deg(sfm) -> float:
    """Mean rotation (degrees) of the registered cameras from the first registered one."""
    from .accuracy import rotation_errors_deg

    R = sfm.c2w[sfm.registered, :3, :3]
    return float(rotation_errors_deg(R, np.broadcast_to(R[0], R.shape)).mean()) if len(R) else 0.0


def run_video_sfm(image_dir: Path, names: list[str], work: Path, allowed: np.ndarray | None, focal: float | None,
                  features: str = "auto", num_threads: int = -1, seed: int = 0, mapper: str = "global",
                  klt_window: float = KLT_WINDOW):
    """SfM of a clip's frames. ``features``: "auto" (KLT with the ``klt_window``, then curation's SIFT when
    KLT fails, leaves frames unregistered or its frames see too few points, :func:`too_few_points`), "klt" or
    "sift". Of the reconstructions, one whose frames see enough points wins, then the one registering more frames,
    then KLT. The result carries ``klt_window`` (None for SIFT) and ``tried`` (``[(features, window, registered,
    reprojection px, turn per frame deg, kept)]``); its timings add up the runs.

    Raises:
        genxd.curation.sfm.SfmError: no reconstruction, or only ones whose frames see too few points.
    """
    from ..curation.sfm import SfmError, SfmResult, run_sfm

    if features not in ("auto", "klt", "sift"):
        raise ValueError(f"features must be 'auto', 'klt' or 'sift', got {features!r}")
    errors: list[str] = []
    results: list[tuple[float | None, SfmResult, str | None]] = []  # window, result, why its frames see too few points
    if features != "sift":
        try:
            klt = klt_sfm(image_dir, names, work / f"klt{klt_window:g}", allowed, focal, klt_window, num_threads,
                          seed, mapper)
            results.append((klt_window, klt, too_few_points(klt)))
        except SfmError as exc:
            errors.append(f"KLT: {exc}")
    good_klt = [r for _, r, thin in results if r.num_registered == len(names) and not thin]
    if features == "sift" or (features == "auto" and not good_klt):
        try:
            sift = run_sfm(image_dir, names, work / "sift", allowed=allowed, focal=focal, features="sift",
                           num_threads=num_threads, seed=seed, mapper=mapper)
            results.append((None, sift, too_few_points(sift)))
        except SfmError as exc:
            errors.append(str(exc))
    if not results:
        raise SfmError("; ".join(errors))
    window, best, thin = max(results, key=lambda wrt: (not wrt[2], wrt[1].num_registered, wrt[1].features == "klt"))
    if thin:
        raise SfmError(f"SfM ({best.features}) registered frames, but {thin}")
    return _combine(best, window, results)


#: The error (pixels) given to an observation whose point lies behind the camera.
BEHIND_CAMERA_PX = 1e3
#: The no-turn fit must keep at least this fraction of the observations that SfM's cameras keep after the same
#: bundle adjustment (which drops the points it cannot fit: from the no-turn start about a third on the dolly
#: clips it mends, four fifths on a fast orbit it would break; from SfM's cameras, none on those clips).
NO_TURN_MIN_KEPT = 0.5


def _observation_errors(reconstruction) -> dict[tuple[int, int, int], float]:
    """Reprojection error (pixels) of every observation, keyed by ``(point3D_id, image_id, point2D_idx)``
    (behind the camera: :data:`BEHIND_CAMERA_PX`)."""
    errors = {}
    for point_id, point in reconstruction.points3D.items():
        for element in point.track.elements:
            image = reconstruction.images[element.image_id]
            P = image.cam_from_world().matrix()
            x = P[:, :3] @ point.xyz + P[:, 3]
            key = (int(point_id), int(element.image_id), int(element.point2D_idx))
            if x[2] <= 0:
                errors[key] = BEHIND_CAMERA_PX
                continue
            uv = reconstruction.cameras[image.camera_id].img_from_cam(x[None])[0]
            errors[key] = float(np.linalg.norm(uv - image.points2D[element.point2D_idx].xy))
    return errors


def _centre(image) -> np.ndarray:
    """World position ``[3]`` of a posed image's camera."""
    m = image.cam_from_world().matrix()
    return -m[:, :3].T @ m[:, 3]


def _set_poses(reconstruction, pycolmap, R0: np.ndarray, centres: dict[int, np.ndarray]) -> None:
    """Each image in ``centres`` (by image id) gets world-to-camera rotation ``R0`` at its centre."""
    for image_id, centre in centres.items():
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(R0), -R0 @ np.asarray(centre, np.float64))
        image = reconstruction.images[image_id]
        if hasattr(reconstruction, "frames"):  # pycolmap >= 3.12: poses live on frames (one camera per rig here)
            reconstruction.frames[image.frame_id].rig_from_world = pose
        else:
            image.cam_from_world = pose


def _set_no_turn(reconstruction, pycolmap) -> None:
    """Every registered camera gets the first registered image's orientation, at its own centre; the 3D points
    are triangulated again (linear, from all their observations) for those cameras."""
    images = sorted((im for im in reconstruction.images.values() if im.has_pose), key=lambda im: im.name)
    R0 = images[0].cam_from_world().rotation.matrix()

    _set_poses(reconstruction, pycolmap, R0, {im.image_id: _centre(im) for im in images})
    for point in reconstruction.points3D.values():
        rows = []
        for element in point.track.elements:
            image = reconstruction.images[element.image_id]
            ray = reconstruction.cameras[image.camera_id].cam_from_img(
                np.asarray(image.points2D[element.point2D_idx].xy)[None])[0]
            P = image.cam_from_world().matrix()
            rows += [ray[0] * P[2] - P[0], ray[1] * P[2] - P[1]]
        X = np.linalg.svd(np.asarray(rows))[2][-1]
        if abs(X[3]) > 1e-12:
            point.xyz = X[:3] / X[3]


@contextlib.contextmanager
def _stderr_silenced():
    """File descriptor 2 sent to the null device: pycolmap's bundle adjustment writes its heading through glog,
    whose level flags pycolmap 4 does not pass on (``genxd.curation.sfm._silence_colmap`` covers the rest)."""
    if sys.stderr is not None:  # None when the caller closed it (2>&-)
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # descriptor 2 closed: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _bundle_adjust(reconstruction, pycolmap) -> None:
    from ..curation.sfm import MAPPER_THREADS

    options = pycolmap.BundleAdjustmentOptions()
    options.refine_focal_length = options.refine_principal_point = options.refine_extra_params = False
    options.print_summary = False
    options.ceres.solver_options.max_num_iterations = 500
    options.ceres.solver_options.num_threads = MAPPER_THREADS  # as SfM's mappers: the poses must not depend on it
    with _stderr_silenced():
        pycolmap.bundle_adjustment(reconstruction, options)


def _poses_of(sfm, reconstruction) -> np.ndarray:
    """``sfm.c2w`` with each registered frame's pose taken from ``reconstruction`` (where it has one)."""
    from ..curation.sfm import colmap_pose_to_c2w

    c2w = sfm.c2w.copy()
    for index, name in enumerate(sfm.image_names):
        image = reconstruction.find_image_with_name(name)
        if sfm.registered[index] and image is not None and image.has_pose:
            c2w[index] = colmap_pose_to_c2w(image)
    return c2w


def _medians_over_common(errors_a: dict, errors_b: dict) -> tuple[float, float] | None:
    """Median of two fits' observation errors (:func:`_observation_errors`) over the observations both keep
    (``None`` when they share none)."""
    common = sorted(errors_a.keys() & errors_b.keys())
    if not common:
        return None
    return float(np.median([errors_a[k] for k in common])), float(np.median([errors_b[k] for k in common]))


def _tried_with(sfm, entry: tuple, keep: bool) -> list[tuple]:
    """``sfm.tried`` plus ``entry``; when ``entry`` is kept, the earlier entries are no longer the kept ones."""
    return [*((*t[:5], t[5] and not keep) for t in getattr(sfm, "tried", [])), entry]


def rebundle_without_turning(sfm):
    """``sfm``, or the same tracks bundle-adjusted from cameras that do not turn (each at its own centre with the
    first camera's orientation) when that fits them better: after the same bundle adjustment (intrinsics fixed),
    which drops the points it cannot fit, the no-turn fit keeps at least :data:`NO_TURN_MIN_KEPT` of the
    observations and its median reprojection error over the observations both fits keep is below
    :data:`NO_TURN_GAIN` x that of ``sfm``'s cameras, or below theirs while it turns less than
    :data:`NO_TURN_TURN_RATIO` x as far per frame (two fits about as good: the one that does not turn). On a pure
    dolly move SfM can settle on a camera that turns
    while it moves forward; the no-turn start leaves that local minimum (benchmark dolly clip at 512 px: 17.9 ->
    0.2 degrees). A camera that does turn fits worse from that start, or keeps few points (a fast orbit: a fifth),
    and ``sfm`` is kept. ``tried`` gets a line for the no-turn start."""
    pycolmap = load_pycolmap()
    if getattr(sfm, "reconstruction", None) is None or sfm.num_registered < 3:
        return sfm
    base = pycolmap.Reconstruction(sfm.reconstruction)
    alt = pycolmap.Reconstruction(sfm.reconstruction)
    _set_no_turn(alt, pycolmap)
    _bundle_adjust(base, pycolmap)
    _bundle_adjust(alt, pycolmap)  # drops the points it cannot fit
    errors_base, errors_alt = _observation_errors(base), _observation_errors(alt)
    medians = _medians_over_common(errors_base, errors_alt)  # the two fits compared on the same observations
    if medians is None:
        return sfm
    error_base, error_alt = medians
    kept = len(errors_alt) / max(1, len(errors_base))
    c2w = _poses_of(sfm, alt)
    turns_less = turn_per_frame_deg(c2w, sfm.registered) < NO_TURN_TURN_RATIO * turn_per_frame_deg(sfm.c2w, sfm.registered)
    keep = kept >= NO_TURN_MIN_KEPT and (error_alt < NO_TURN_GAIN * error_base
                                         or (error_alt < error_base and turns_less))
    sfm.tried = _tried_with(sfm, (f"{sfm.features}, no-turn start (median px over the {kept:.0%} of observations it "
                                  f"keeps; SfM's {error_base:.3f})", getattr(sfm, "klt_window", None),
                                  sfm.num_registered, round(error_alt, 3),
                                  round(turn_per_frame_deg(c2w, sfm.registered), 3), keep), keep)
    if keep:
        sfm.reconstruction, sfm.c2w = alt, c2w
        sfm.mean_reprojection_error = float(np.mean(list(errors_alt.values())))
    return sfm


def _fit_with_rotation_fixed(reconstruction, pycolmap) -> None:
    """Least-squares fit of the camera centres and 3D points with every camera at the first registered image's
    orientation (none turns), starting from its centres and points; ``reconstruction`` is changed in place. The first
    centre and one coordinate of the last are held (gauge and scale); robust (soft L1, 1 px) reprojection error in
    pixels of the normalised image plane, solved by :func:`genxd.cameras.no_turn_fit.fit_fixed_rotation`. (Points
    triangulated again for the turned cameras, as in the no-turn start, are a worse start here: on a dolly the fit
    stalled at 2.5 px from them, against 0.25 px from the points kept.)"""
    from .no_turn_fit import fit_fixed_rotation

    images = sorted((im for im in reconstruction.images.values() if im.has_pose), key=lambda im: im.name)
    R0 = images[0].cam_from_world().rotation.matrix()
    slot = {im.image_id: k for k, im in enumerate(images)}
    point_ids = list(reconstruction.points3D.keys())
    cam_index, point_index, rays = [], [], []
    for j, point_id in enumerate(point_ids):
        for element in reconstruction.points3D[point_id].track.elements:
            if element.image_id not in slot:
                continue
            image = reconstruction.images[element.image_id]
            xy = np.asarray(image.points2D[element.point2D_idx].xy, np.float64)[None]
            rays.append(reconstruction.cameras[image.camera_id].cam_from_img(xy)[0][:2])
            cam_index.append(slot[element.image_id])
            point_index.append(j)
    if len(images) < 3 or not rays:
        return
    focal = float(reconstruction.cameras[images[0].camera_id].mean_focal_length())
    centres = np.stack([_centre(im) for im in images])
    points = np.stack([reconstruction.points3D[p].xyz for p in point_ids])
    # the scale is held by the last camera's largest coordinate step from the first
    axis = int(np.argmax(np.abs(centres[-1] - centres[0])))
    fit = fit_fixed_rotation(R0, np.asarray(rays), np.asarray(cam_index), np.asarray(point_index), centres, points,
                             focal, axis)
    _set_poses(reconstruction, pycolmap, R0, {im.image_id: fit.centres[k] for k, im in enumerate(images)})
    for j, point_id in enumerate(point_ids):
        reconstruction.points3D[point_id].xyz = fit.points[j]


def fit_without_turning(sfm):
    """``sfm``, or the fit in which no camera turns at all (:func:`_fit_with_rotation_fixed`) when that explains its
    tracks at least as well: its median reprojection error over ``sfm``'s observations is no higher than that of
    ``sfm``'s own cameras. A model with fewer parameters that fits as well is taken: on the forward-motion
    ambiguity bundle adjustment, even from the no-turn start, leaves a dolly turning 0.4 degrees a frame
    (eval-camera's dolly scenes at 256 px, 16 frames: 3.5 degrees mean error), where the fit with no turn has the
    lower error (0.33 against 0.44 px) and is exact. A camera that turns fits clearly worse without turning
    (eval-camera's forward walk, 0.3 degrees a frame: 0.61 against 0.43 px). Tried only where that ambiguity
    arises, on a path that runs along the view axis (within :data:`FIT_WITHOUT_TURNING_MAX_ANGLE_DEG`,
    :func:`path_angle_to_view_deg`) and turns less than :data:`FIT_WITHOUT_TURNING_BELOW_DEG` per frame.
    ``tried`` gets a line for it."""
    pycolmap = load_pycolmap()
    if getattr(sfm, "reconstruction", None) is None or sfm.num_registered < 3:
        return sfm
    if (turn_per_frame_deg(sfm.c2w, sfm.registered) >= FIT_WITHOUT_TURNING_BELOW_DEG
            or path_angle_to_view_deg(sfm.c2w, sfm.registered) > FIT_WITHOUT_TURNING_MAX_ANGLE_DEG):
        return sfm
    fixed = pycolmap.Reconstruction(sfm.reconstruction)
    _fit_with_rotation_fixed(fixed, pycolmap)
    errors_fixed = _observation_errors(fixed)
    medians = _medians_over_common(_observation_errors(sfm.reconstruction), errors_fixed)
    if medians is None:
        return sfm
    error_now, error_fixed = medians
    keep = error_fixed <= error_now
    sfm.tried = _tried_with(sfm, (f"{sfm.features}, no turn at all (median px; the reconstruction's {error_now:.3f})",
                                  getattr(sfm, "klt_window", None), sfm.num_registered, round(error_fixed, 3), 0.0,
                                  keep), keep)
    if keep:
        sfm.reconstruction, sfm.c2w = fixed, _poses_of(sfm, fixed)
        sfm.mean_reprojection_error = float(np.mean(list(errors_fixed.values())))
    return sfm


def _combine(best, window, results):
    timings: dict[str, float] = {}
    for _, r, _ in results:
        for k, v in r.timings.items():
            timings[k] = round(timings.get(k, 0.0) + v, 3)
    tried = [(r.features, w, r.num_registered, round(r.mean_reprojection_error, 3),
              round(turn_per_frame_deg(r.c2w, r.registered), 3), r is best) for w, r, _ in results]
    best.timings, best.tried, best.klt_window = timings, tried, window
    return best


def retrack_if_turning(sfm, image_dir: Path, names: list[str], work: Path, allowed: np.ndarray | None,
                       focal: float | None, num_threads: int = -1, seed: int = 0, mapper: str = "global"):
    """``sfm`` (a :func:`run_video_sfm` result), or SfM again with :data:`KLT_WINDOW_TURNING` when ``sfm``'s
    camera turns by :data:`TURNING_DEG_PER_FRAME` or more per frame (:func:`turn_per_frame_deg`). The new
    reconstruction is kept when it registers as many frames, its frames see enough points (:func:`too_few_points`)
    and it agrees with ``sfm`` (mean rotation difference at most :data:`AGREEMENT` x ``sfm``'s mean turn: a wrong
    reconstruction can turn where the camera does not). ``tried`` lists both runs."""
    from ..curation.sfm import SfmError

    if sfm.features != "klt" or turn_per_frame_deg(sfm.c2w, sfm.registered) < TURNING_DEG_PER_FRAME:
        return sfm
    try:
        small = klt_sfm(image_dir, names, work / f"klt{KLT_WINDOW_TURNING:g}", allowed, focal, KLT_WINDOW_TURNING,
                        num_threads, seed, mapper)
    except SfmError:
        return sfm
    keep = (small.num_registered >= sfm.num_registered and not too_few_points(small)
            and disagreement_deg(sfm, small) <= AGREEMENT * mean_turn_deg(sfm))
    tried = _tried_with(sfm, ("klt", KLT_WINDOW_TURNING, small.num_registered, round(small.mean_reprojection_error, 3),
                              round(turn_per_frame_deg(small.c2w, small.registered), 3), keep), keep)
    best = small if keep else sfm
    best.timings = {k: round(sfm.timings.get(k, 0.0) + small.timings.get(k, 0.0), 3)
                    for k in {*sfm.timings, *small.timings}}
    best.tried, best.klt_window = tried, (KLT_WINDOW_TURNING if keep else sfm.klt_window)
    return best
