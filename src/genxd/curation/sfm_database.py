"""A clip's feature database for SfM (COLMAP's SQLite database of :mod:`genxd.curation.sfm`): SIFT features
(``pycolmap.extract_features`` with the object masks, ``pycolmap.match_sequential``) or KLT tracks (Shi-Tomasi corners
tracked with OpenCV outside the masks, written as keypoints and matches and verified by ``pycolmap.verify_matches``).
Split out of ``sfm.py`` (session 47) when it passed 600 lines; :mod:`genxd.curation.sfm` re-exports every name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..utils.cv2_files import imread_or_fail
from ..utils.pycolmap_import import load_pycolmap

__all__ = ["AUTO_KLT_BELOW_PX", "FEATURE_TYPES", "klt_feature_tracks"]


FEATURE_TYPES = ("sift", "klt", "auto")
#: With ``features="auto"``, frames smaller than this (longer side, pixels) use KLT tracks first:
#: SIFT finds too few features on them (measured in docs/curation_accuracy.md).
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
    params: dict[str, Any] = dict(
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
    # cores: 3.5 s instead of 2.8 s for 48 frames of 512 px (docs/curation_accuracy.md, "Same input, same result")
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
    # not the tracks of curation's still-camera check (is_static_camera, same masks and settings): it tracks the
    # frames decoded to RGB then made gray, which differ from this decode (JPEG's Y) wherever RGB clips at 0 or 255
    # (9 of the 10 verdict clips of tests/curation, session 56), so its tracks differ and reusing them would change SfM
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
