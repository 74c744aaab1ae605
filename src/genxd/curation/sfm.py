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

import numpy as np

from ..utils.cv2_files import imread_or_fail
from ..utils.pycolmap_import import load_pycolmap

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

    reconstruction: object
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


FEATURE_TYPES = ("sift", "klt", "auto")
#: With ``features="auto"``, frames smaller than this (longer side, pixels) use KLT tracks first:
#: SIFT finds too few features on them (measured in docs/curation.md).
AUTO_KLT_BELOW_PX = 384


def klt_feature_tracks(
    gray: list[np.ndarray],
    allowed: np.ndarray | None = None,
    max_corners: int = 800,
    min_distance_fraction: float = 0.03,
    fb_threshold_px: float = 1.0,
    window_fraction: float = 0.1,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Corner tracks through a clip (Shi-Tomasi corners + pyramidal KLT, forward-backward checked).

    New corners are added in every frame away from live tracks, only where ``allowed`` is true.

    Args:
        gray: ``N`` frames ``uint8 [H, W]``; allowed: ``bool [N, H, W]`` (None: everywhere).
    Returns:
        per frame ``(track_ids int64 [K], xy float32 [K, 2])`` in OpenCV pixel coordinates.
    """
    import cv2

    n = len(gray)
    h, w = gray[0].shape[:2]
    size = max(h, w)
    min_distance = max(2, int(round(min_distance_fraction * size)))
    window = max(9, int(round(window_fraction * size)) | 1)
    params = dict(
        winSize=(window, window), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
    )
    live_xy = np.zeros((0, 2), np.float32)
    live_ids = np.zeros(0, np.int64)
    next_id = 0
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for t in range(n):
        if t > 0 and len(live_xy):
            nxt, status, _ = cv2.calcOpticalFlowPyrLK(gray[t - 1], gray[t], live_xy.reshape(-1, 1, 2), None, **params)
            back, status_back, _ = cv2.calcOpticalFlowPyrLK(gray[t], gray[t - 1], nxt, None, **params)
            nxt = nxt.reshape(-1, 2)
            ok = (status.ravel() == 1) & (status_back.ravel() == 1)
            ok &= np.linalg.norm(back.reshape(-1, 2) - live_xy, axis=1) < fb_threshold_px
            ok &= (nxt[:, 0] >= 0) & (nxt[:, 0] <= w - 1) & (nxt[:, 1] >= 0) & (nxt[:, 1] <= h - 1)
            if allowed is not None:
                xi = np.clip(np.round(nxt[:, 0]).astype(int), 0, w - 1)
                yi = np.clip(np.round(nxt[:, 1]).astype(int), 0, h - 1)
                ok &= allowed[t][yi, xi]
            live_xy, live_ids = nxt[ok], live_ids[ok]
        free = np.full((h, w), 255, np.uint8) if allowed is None else allowed[t].astype(np.uint8) * 255
        for x, y in live_xy:
            cv2.circle(free, (int(round(x)), int(round(y))), min_distance, 0, -1)
        need = max_corners - len(live_xy)
        if need > 0:
            corners = cv2.goodFeaturesToTrack(gray[t], need, 0.005, min_distance, mask=free, blockSize=5)
            if corners is not None:
                corners = corners.reshape(-1, 2).astype(np.float32)
                live_xy = np.concatenate([live_xy, corners])
                live_ids = np.concatenate([live_ids, np.arange(next_id, next_id + len(corners))])
                next_id += len(corners)
        out.append((live_ids.copy(), live_xy.copy()))
    return out


def _reader_options(focal: float | None, width: int, height: int):
    pycolmap = load_pycolmap()

    reader = pycolmap.ImageReaderOptions()
    if focal is not None:
        if focal <= 0:
            raise ValueError(f"focal must be positive, got {focal}")
        reader.camera_model = "PINHOLE"  # square pixels, as every camera has: fy = fx in pixels
        reader.camera_params = f"{focal * width},{focal * width},{width / 2},{height / 2}"
    else:
        reader.camera_model = "SIMPLE_RADIAL"
    return reader


def _import_images(database: Path, image_dir: Path, image_names: list[str], reader) -> None:
    """A new database holding ``image_names`` with ids in that order and one shared camera."""
    pycolmap = load_pycolmap()
    pycolmap.Database.open(str(database)).close()
    pycolmap.import_images(database, image_dir, pycolmap.CameraMode.SINGLE, list(image_names), reader)


def _sift_database(
    database: Path, image_dir: Path, image_names: list[str], work_dir: Path, allowed: np.ndarray | None,
    focal: float | None, width: int, height: int, num_threads: int, seed: int, max_num_features: int,
    overlap: int, timings: dict[str, float],
) -> None:
    """SIFT features (outside the masks, via COLMAP mask files) and sequential matching."""
    import time

    pycolmap = load_pycolmap()
    from PIL import Image

    reader = _reader_options(focal, width, height)
    if allowed is not None:
        mask_dir = work_dir / "masks"
        mask_dir.mkdir(exist_ok=True)
        for name, keep in zip(image_names, allowed):
            Image.fromarray((keep * 255).astype(np.uint8)).save(mask_dir / f"{name}.png")
        reader.mask_path = str(mask_dir)
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = num_threads
    extraction.use_gpu = False
    extraction.sift.max_num_features = max_num_features
    t0 = time.perf_counter()
    # the images first, one after another: extraction on several threads numbers them in the order they finish,
    # and the image ids decide which way each pair is matched (so the matches, and SfM, changed from run to run)
    _import_images(database, image_dir, image_names, reader)
    pycolmap.extract_features(
        database, image_dir, image_names=list(image_names), camera_mode=pycolmap.CameraMode.SINGLE,
        reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu,
    )
    timings["sfm_features"] = time.perf_counter() - t0
    matching = pycolmap.FeatureMatchingOptions()
    # one thread: COLMAP's CPU matching on several threads gave other matches from run to run on the same database
    # (whole pairs with 0 matches in one run, 101 in the next), and so other cameras, or none; measured cost on 2
    # cores: 3.5 s instead of 2.8 s for 48 frames of 512 px (docs/curation.md, "Same input, same result")
    matching.num_threads = 1
    matching.use_gpu = False
    pairing = pycolmap.SequentialPairingOptions()
    pairing.overlap = overlap
    pairing.quadratic_overlap = True
    pairing.num_threads = num_threads
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.random_seed = seed
    t0 = time.perf_counter()
    pycolmap.match_sequential(
        database, matching_options=matching, pairing_options=pairing,
        verification_options=verification, device=pycolmap.Device.cpu,
    )
    timings["sfm_match"] = time.perf_counter() - t0


def _klt_database(
    database: Path, image_dir: Path, image_names: list[str], work_dir: Path, allowed: np.ndarray | None,
    focal: float | None, width: int, height: int, seed: int, max_corners: int, overlap: int,
    timings: dict[str, float], window_fraction: float = 0.1,
) -> None:
    """KLT corner tracks (window ``window_fraction`` of the longer side) written to the database as keypoints
    and matches, then verified."""
    import time

    import cv2
    pycolmap = load_pycolmap()

    t0 = time.perf_counter()
    gray = [imread_or_fail(image_dir / name, cv2.IMREAD_GRAYSCALE) for name in image_names]
    tracks = klt_feature_tracks(gray, allowed, max_corners=max_corners, window_fraction=window_fraction)
    _import_images(database, image_dir, image_names, _reader_options(focal, width, height))
    db = pycolmap.Database.open(str(database))
    try:
        image_ids = {image.name: image.image_id for image in db.read_all_images()}
        for name, (_, xy) in zip(image_names, tracks):
            db.write_keypoints(image_ids[name], (xy + 0.5).astype(np.float32))  # COLMAP pixel centres at +0.5
        timings["sfm_features"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pairs = []
        for i in range(len(image_names)):
            for j in range(i + 1, min(len(image_names), i + overlap + 1)):
                _, a, b = np.intersect1d(tracks[i][0], tracks[j][0], assume_unique=True, return_indices=True)
                if len(a) >= 8:
                    db.write_matches(image_ids[image_names[i]], image_ids[image_names[j]], np.stack([a, b], 1).astype(np.uint32))
                    pairs.append(f"{image_names[i]} {image_names[j]}")
    finally:
        db.close()
    pairs_path = work_dir / "pairs.txt"
    pairs_path.write_text("\n".join(pairs) + "\n")
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.random_seed = seed
    pycolmap.verify_matches(database, pairs_path, verification)
    timings["sfm_match"] = time.perf_counter() - t0


#: Mappers of :func:`run_sfm` ("auto": incremental, then global when incremental fails).
MAPPERS = ("incremental", "global", "auto")
#: Threads of the mappers, whatever ``num_threads`` says: on several threads their cameras changed from run to run
#: and with the thread count, not only in the last digits (a 12-frame 96-px clip: focal length 94.26 or 94.19 px,
#: poses 0.04 apart), so a dataset depended on the machine that curated it (docs/curation.md, "Same input, same
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
            drift into the wrong solution on forward / dolly motion, see docs/cameras.md), or ``"auto"``:
            incremental, then global when incremental fails or registers too few frames (small
            back-and-forth or sideways paths with few static features at 128 px, docs/curation.md).
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
        kwargs = dict(allowed=allowed, focal=focal, features=features, num_threads=num_threads, seed=seed,
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
