"""Camera poses and sparse points by incremental SfM with pycolmap (4.x API).

Correspondences avoid the object masks and come from either
- SIFT: ``pycolmap.extract_features`` (masks through COLMAP's ``ImageReaderOptions.mask_path``: a
  mask image ``<name>.png`` per frame, 0 = no features) and ``pycolmap.match_sequential``; or
- KLT: Shi-Tomasi corners tracked through the clip with OpenCV (only outside the masks), written
  into the COLMAP database as keypoints and matches (``pycolmap.import_images``,
  ``Database.write_keypoints`` / ``write_matches``) and verified by ``pycolmap.verify_matches``.
Then ``pycolmap.incremental_mapping`` with one shared camera (fixed pinhole when the focal length is
known, else simple-radial with the focal length refined).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..utils.pycolmap_import import load_pycolmap
from .sfm_database import AUTO_KLT_BELOW_PX, FEATURE_TYPES, _klt_database, _sift_database, klt_feature_tracks

if TYPE_CHECKING:  # imported when SfM runs (load_pycolmap)
    import pycolmap

__all__ = [
    "FEATURE_TYPES",
    "MAPPERS",
    "AUTO_KLT_BELOW_PX",
    "SfmError",
    "SfmResult",
    "run_sfm",
    "klt_feature_tracks",
    "colmap_pose_to_c2w",
    "camera_intrinsics_normalized",
    "write_reconstruction",
]


class SfmError(RuntimeError):
    """Structure from motion failed (too little texture or camera motion, too few frames)."""


@dataclass
class SfmResult:
    """What SfM recovered for ``N`` input frames.

    Attributes:
        reconstruction: the largest ``pycolmap.Reconstruction`` (image ids follow ``image_names``).
        image_names: ``[N]`` frame file names, in video order.
        c2w: ``float64 [N, 4, 4]`` OpenCV camera-to-world (NaN for unregistered frames).
        registered: ``bool [N]``.
        K: ``float64 [3, 3]`` normalised intrinsics of the shared camera (pinhole part).
        height, width: image size in pixels.
        mean_reprojection_error: pixels.
        num_points3D: number of triangulated points.
        features: the correspondences used ("sift" or "klt").
        mapper: the mapper that made it ("incremental" or "global").
        timings: seconds per step (extract, match, map).
    """

    reconstruction: pycolmap.Reconstruction
    image_names: list[str]
    c2w: np.ndarray
    registered: np.ndarray
    K: np.ndarray
    height: int
    width: int
    mean_reprojection_error: float
    num_points3D: int
    features: str = "sift"
    timings: dict[str, float] = field(default_factory=dict)
    mapper: str = "incremental"

    @property
    def num_registered(self) -> int:
        return int(self.registered.sum())

    def image_by_index(self, index: int):
        """The ``pycolmap.Image`` of frame ``index`` (must be registered)."""
        image = self.reconstruction.find_image_with_name(self.image_names[index])
        if image is None or not image.has_pose:
            raise KeyError(f"frame {index} ({self.image_names[index]}) is not registered")
        return image


def known_cameras_sfm(c2w: np.ndarray, K: np.ndarray, height: int, width: int) -> SfmResult:
    """An :class:`SfmResult` holding known cameras (every frame registered, no points): feeds the motion
    stage exact poses, e.g. for synthetic clips.

    Args:
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world; K: ``[3, 3]`` or ``[N, 3, 3]`` normalised intrinsics
            (the first camera's are used: one shared pinhole camera).
    """
    pycolmap = load_pycolmap()

    c2w = np.asarray(c2w, np.float64)
    K0 = np.asarray(K, np.float64).reshape(-1, 3, 3)[0]
    camera = pycolmap.Camera(
        camera_id=1, model="PINHOLE", width=int(width), height=int(height),
        params=[K0[0, 0] * width, K0[1, 1] * height, K0[0, 2] * width, K0[1, 2] * height],
    )
    reconstruction = pycolmap.Reconstruction()
    reconstruction.add_camera(camera)
    n = len(c2w)
    return SfmResult(
        reconstruction=reconstruction, image_names=[f"{i:06d}" for i in range(n)], c2w=c2w,
        registered=np.ones(n, bool), K=K0, height=int(height), width=int(width), mean_reprojection_error=0.0,
        num_points3D=0, features="known",
    )


def colmap_pose_to_c2w(image) -> np.ndarray:
    """OpenCV camera-to-world ``float64 [4, 4]`` of a registered ``pycolmap.Image``."""
    w2c = np.eye(4)
    w2c[:3, :4] = image.cam_from_world().matrix()
    c2w = np.eye(4)
    R = w2c[:3, :3]
    c2w[:3, :3] = R.T
    c2w[:3, 3] = -R.T @ w2c[:3, 3]
    return c2w


def camera_intrinsics_normalized(camera) -> np.ndarray:
    """Normalised pinhole intrinsics ``[3, 3]`` (fx/W, fy/H, cx/W, cy/H) of a ``pycolmap.Camera``.

    Distortion parameters (e.g. simple-radial ``k``) are not represented.
    """
    K = np.asarray(camera.calibration_matrix(), dtype=np.float64).copy()
    K[0] /= camera.width
    K[1] /= camera.height
    return K


def _silence_colmap(verbose: bool = False) -> None:
    """COLMAP's own (glog) lines on stderr: none unless ``verbose`` (then everything from INFO up).

    Failures reach the user as :class:`SfmError` reasons instead (one line per video)."""
    pycolmap = load_pycolmap()

    try:
        pycolmap.logging.minloglevel = 0 if verbose else 3  # 3 = FATAL only: no "E... sfm.cc:310]" lines
        pycolmap.logging.logtostderr = False
        pycolmap.logging.stderrthreshold = 0 if verbose else 3
    except AttributeError:  # older pycolmap
        pass


#: Mappers of :func:`run_sfm` ("auto": incremental, then global when incremental fails).
MAPPERS = ("incremental", "global", "auto")
#: Threads of the mappers, whatever ``num_threads`` says: on several threads their cameras changed from run to run
#: and with the thread count, not only in the last digits (a 12-frame 96-px clip: focal length 94.26 or 94.19 px,
#: poses 0.04 apart), so a dataset depended on the machine that curated it (docs/curation_accuracy.md, "Same input, same
#: result"). Feature extraction and pairing keep ``num_threads``: their results do not depend on it.
MAPPER_THREADS = 1


def incremental_options(seed: int, focal: float | None):
    """``pycolmap.IncrementalPipelineOptions`` for video frames (small baselines, forward motion, few features on
    small frames): seeded, no structure-less registration, intrinsics fixed when the focal length is known; on
    :data:`MAPPER_THREADS` threads whatever the run's thread count (the cameras would depend on it)."""
    pycolmap = load_pycolmap()

    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = MAPPER_THREADS
    options.random_seed = seed
    options.multiple_models = True
    options.min_model_size = 3
    options.extract_colors = True
    options.structure_less_registration_fallback = False  # poses without points are unreliable
    options.mapper.init_min_tri_angle = 4.0
    options.mapper.init_min_num_inliers = 50
    options.mapper.random_seed = seed
    options.triangulation.random_seed = seed
    if focal is not None:
        options.ba_refine_focal_length = False
        options.ba_refine_extra_params = False
        options.ba_refine_principal_point = False
    return options


def _global_options(seed: int, focal: float | None):
    """``pycolmap.GlobalPipelineOptions`` (GLOMAP) on the CPU; intrinsics fixed when the focal length is known; on
    :data:`MAPPER_THREADS` threads whatever the run's thread count (the cameras would depend on it)."""
    pycolmap = load_pycolmap()

    options = pycolmap.GlobalPipelineOptions()
    options.num_threads = MAPPER_THREADS
    options.random_seed = seed
    options.multiple_models = True
    options.min_model_size = 3
    options.mapper.num_threads = MAPPER_THREADS
    options.mapper.random_seed = seed
    options.mapper.rotation_averaging.random_seed = seed
    options.mapper.global_positioning.random_seed = seed
    options.mapper.global_positioning.use_gpu = False
    options.mapper.bundle_adjustment.ceres.use_gpu = False
    if focal is not None:
        options.mapper.bundle_adjustment.refine_focal_length = False
        options.mapper.bundle_adjustment.refine_extra_params = False
        options.mapper.bundle_adjustment.refine_principal_point = False
    return options


def run_sfm(
    image_dir: str | Path,
    image_names: list[str],
    work_dir: str | Path,
    allowed: np.ndarray | None = None,
    focal: float | None = None,
    features: str = "auto",
    num_threads: int = -1,
    seed: int = 0,
    max_num_features: int = 4096,
    sequential_overlap: int = 8,
    min_registered_fraction: float = 0.5,
    verbose: bool = False,
    mapper: str = "incremental",
) -> SfmResult:
    """Camera poses and sparse points of a video's frames with pycolmap.

    Args:
        image_dir: folder holding the frames ``image_names`` (all the same size).
        image_names: frame file names in video order.
        work_dir: scratch folder for the COLMAP database, masks and models.
        allowed: ``bool [N, H, W]``, where features may be used (False on possibly moving objects),
            or None for everywhere.
        focal: known normalised focal length fx/W (square pixels, principal point at the centre): a fixed
            pinhole camera; ``None``: a simple-radial camera whose focal length SfM estimates.
        features: ``"sift"`` (``pycolmap.extract_features`` + ``match_sequential``), ``"klt"``
            (Shi-Tomasi corners tracked with KLT, written as keypoints and matches, geometrically
            verified by pycolmap; many more correspondences on small or low-texture frames), or
            ``"auto"``: KLT for frames whose longer side is under :data:`AUTO_KLT_BELOW_PX`, SIFT
            otherwise; the other kind is tried when the first fails or leaves frames unregistered
            (the reconstruction registering more frames wins, then the lower reprojection error).
        num_threads: threads for pycolmap (-1: all cores).
        seed: random seed for RANSAC and mapping (deterministic runs).
        min_registered_fraction: fail unless at least this fraction of frames is registered.
        verbose: let COLMAP print its own log lines (silent by default).
        mapper: ``"incremental"`` (``pycolmap.incremental_mapping``), ``"global"``
            (``pycolmap.global_mapping``, GLOMAP: rotation averaging then global positioning; does not
            drift into the wrong solution on forward / dolly motion, see docs/camera_paths_from_video.md), or
            ``"auto"``: incremental, then global on the same feature and match databases when incremental
            fails or registers too few frames (docs/curation.md, "Stages", item 3).
    Raises:
        SfmError: no reconstruction, or too few registered frames.
    """
    if features not in FEATURE_TYPES:
        raise ValueError(f"features must be one of {FEATURE_TYPES}, got {features!r}")
    if mapper not in MAPPERS:
        raise ValueError(f"mapper must be one of {MAPPERS}, got {mapper!r}")
    if mapper == "auto":
        args = (image_dir, image_names)
        # the global attempt maps the very databases the incremental one built (the same frames, masks and
        # settings give the same database): each is built once, not again for the second mapper
        kwargs: dict[str, Any] = dict(allowed=allowed, focal=focal, features=features, num_threads=num_threads, seed=seed,
                      max_num_features=max_num_features, sequential_overlap=sequential_overlap,
                      min_registered_fraction=min_registered_fraction, verbose=verbose, databases={})
        try:
            return _run_sfm(*args, Path(work_dir) / "incremental", mapper="incremental", **kwargs)
        except SfmError as first:
            try:
                return _run_sfm(*args, Path(work_dir) / "global", mapper="global", **kwargs)
            except SfmError as second:
                raise SfmError(f"incremental: {first}; global: {second}") from None
    return _run_sfm(image_dir, image_names, work_dir, allowed=allowed, focal=focal, features=features,
                    num_threads=num_threads, seed=seed, max_num_features=max_num_features,
                    sequential_overlap=sequential_overlap, min_registered_fraction=min_registered_fraction,
                    verbose=verbose, mapper=mapper, databases=None)


def _run_sfm(image_dir: str | Path, image_names: list[str], work_dir: str | Path, *, allowed: np.ndarray | None,
             focal: float | None, features: str, num_threads: int, seed: int, max_num_features: int,
             sequential_overlap: int, min_registered_fraction: float, verbose: bool, mapper: str,
             databases: dict[str, Path] | None) -> SfmResult:
    """:func:`run_sfm` with one mapper ("incremental" or "global"). ``databases``: the feature databases built so far
    by features kind (filled here), for a later mapper of the same frames; None: none kept."""
    if features != "auto":
        return _run_sfm_once(image_dir, image_names, work_dir, allowed, focal, features, num_threads, seed,
                             max_num_features, sequential_overlap, min_registered_fraction, verbose, mapper,
                             databases)
    from PIL import Image

    with Image.open(Path(image_dir) / image_names[0]) as im:
        small = max(im.size) < AUTO_KLT_BELOW_PX
    order = ("klt", "sift") if small else ("sift", "klt")
    results: list[SfmResult] = []
    errors: list[str] = []
    for kind in order:
        try:
            result = _run_sfm_once(image_dir, image_names, Path(work_dir) / kind, allowed, focal, kind, num_threads,
                                   seed, max_num_features, sequential_overlap, min_registered_fraction, verbose, mapper,
                                   databases)
        except SfmError as exc:
            errors.append(str(exc))
            continue
        results.append(result)
        if result.num_registered == len(image_names):
            break
    if not results:
        raise SfmError("; ".join(errors))
    best = max(results, key=lambda r: (r.num_registered, -r.mean_reprojection_error))
    if len(results) > 1:
        other = results[0] if best is results[1] else results[1]
        best.timings = {k: best.timings.get(k, 0.0) + other.timings.get(k, 0.0) for k in {*best.timings, *other.timings}}
    return best


def _run_sfm_once(
    image_dir: str | Path,
    image_names: list[str],
    work_dir: str | Path,
    allowed: np.ndarray | None,
    focal: float | None,
    features: str,
    num_threads: int,
    seed: int,
    max_num_features: int,
    sequential_overlap: int,
    min_registered_fraction: float,
    verbose: bool = False,
    mapper: str = "incremental",
    databases: dict[str, Path] | None = None,
) -> SfmResult:
    import shutil
    import time

    pycolmap = load_pycolmap()
    from PIL import Image

    _silence_colmap(verbose)
    image_dir, work_dir = Path(image_dir), Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if len(image_names) < 3:
        raise SfmError(f"SfM needs at least 3 frames, got {len(image_names)}")
    with Image.open(image_dir / image_names[0]) as im:
        width, height = im.size
    if allowed is not None and allowed.shape != (len(image_names), height, width):
        raise ValueError(f"allowed must be [N, H, W] = {(len(image_names), height, width)}, got {allowed.shape}")
    database = work_dir / "database.db"
    if database.exists():
        database.unlink()
    timings: dict[str, float] = {}
    if databases is not None and features in databases:  # built by an earlier mapper of the same frames: a copy
        t0 = time.perf_counter()
        shutil.copyfile(databases[features], database)
        timings["sfm_features"] = 0.0
        timings["sfm_match"] = time.perf_counter() - t0
    else:
        if features == "sift":
            _sift_database(database, image_dir, image_names, work_dir, allowed, focal, width, height, num_threads,
                           seed, max_num_features, sequential_overlap, timings)
        else:
            _klt_database(database, image_dir, image_names, work_dir, allowed, focal, width, height, seed,
                          800, sequential_overlap, timings)
        if databases is not None:  # kept as built, before a mapper opens it
            kept = work_dir / "database.built.db"
            shutil.copyfile(database, kept)
            databases[features] = kept

    t0 = time.perf_counter()
    models_dir = work_dir / "sparse"
    models_dir.mkdir(exist_ok=True)
    try:
        if mapper == "global":
            models = pycolmap.global_mapping(database, image_dir, models_dir, _global_options(seed, focal))
        else:
            models = pycolmap.incremental_mapping(database, image_dir, models_dir,
                                                  incremental_options(seed, focal))
    except Exception as exc:  # noqa: BLE001 - pycolmap raises RuntimeError / ValueError variants
        raise SfmError(f"{mapper} mapping failed: {exc}") from None
    timings["sfm_map"] = time.perf_counter() - t0
    return result_from_models(models, image_names, features, mapper, timings, min_registered_fraction)


def result_from_models(models: dict, image_names: list[str], features: str, mapper: str, timings: dict[str, float],
                       min_registered_fraction: float) -> SfmResult:
    """The largest of pycolmap's reconstructions (``{id: Reconstruction}``) as an :class:`SfmResult`, or
    :class:`SfmError` when none has points or it registers fewer than ``min_registered_fraction`` of the frames
    (at least 3)."""
    models = {k: r for k, r in models.items() if r.num_points3D() > 0}
    if not models:
        raise SfmError(f"SfM ({features}) found no initial image pair (too little camera motion or texture)")
    reconstruction = max(models.values(), key=lambda r: (r.num_reg_images(), r.num_points3D()))

    n = len(image_names)
    c2w = np.full((n, 4, 4), np.nan)
    registered = np.zeros(n, dtype=bool)
    for index, name in enumerate(image_names):
        image = reconstruction.find_image_with_name(name)
        if image is not None and image.has_pose:
            c2w[index] = colmap_pose_to_c2w(image)
            registered[index] = True
    num_registered = int(registered.sum())
    needed = max(3, int(np.ceil(min_registered_fraction * n - 1e-9)))
    if num_registered < needed:
        raise SfmError(
            f"SfM ({features}) registered only {num_registered} of {n} frames, fewer than the minimum {needed} "
            f"(min_registered {min_registered_fraction:g}; too little camera motion or texture)"
        )
    camera = next(iter(reconstruction.cameras.values()))
    return SfmResult(
        reconstruction=reconstruction,
        image_names=list(image_names),
        c2w=c2w,
        registered=registered,
        K=camera_intrinsics_normalized(camera),
        height=int(camera.height),
        width=int(camera.width),
        mean_reprojection_error=float(reconstruction.compute_mean_reprojection_error()),
        num_points3D=int(reconstruction.num_points3D()),
        features=features,
        timings=timings,
        mapper=mapper,
    )


def write_reconstruction(sfm: SfmResult, model_dir: str | Path, image_path: str = "../images") -> None:
    """Write the COLMAP model (``cameras.bin``, ``images.bin``, ``points3D.bin``) and a ``project.ini``."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    sfm.reconstruction.write_binary(str(model_dir))
    camera = next(iter(sfm.reconstruction.cameras.values()))
    lines = [
        "log_to_stderr=false",
        "random_seed=0",
        "log_level=2",
        "database_path=",
        f"image_path={image_path}",
        "[ImageReader]",
        "single_camera=true",
        f"camera_model={camera.model_name if hasattr(camera, 'model_name') else camera.model.name}",
        f"camera_params={','.join(f'{p:.10g}' for p in camera.params)}",
        "[SiftMatching]",
        "use_gpu=false",
        "[SequentialMatching]",
        "quadratic_overlap=true",
        "[Mapper]",
        "multiple_models=true",
        "init_min_tri_angle=4",
        "",
    ]
    (model_dir / "project.ini").write_text("\n".join(lines))
