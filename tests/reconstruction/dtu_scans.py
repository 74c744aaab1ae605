"""Synthetic DTU scans with known cameras, in IDR's layout and in DTU's own (``Rectified/`` + ``Calibration/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

VIEWS = 49


def known_cameras(radius: float, seed: int = 0) -> np.ndarray:
    """``[49, 4, 4]`` OpenCV c2w on a sphere cap, looking near the origin, rolled a little (float64)."""
    from genxd.data.synthetic import orbit_cameras

    c2w, _ = orbit_cameras(VIEWS, radius=radius, elevation_deg=30.0, azimuth_range_deg=150.0, focal=1.0)
    c2w = c2w.double().numpy().copy()
    rng = np.random.default_rng(seed)
    for i in range(VIEWS):  # a roll about the optical axis: not only the rotations a look-at gives
        a = rng.uniform(-0.3, 0.3)
        roll = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        c2w[i, :3, :3] = c2w[i, :3, :3] @ roll
    return c2w


def projection(K: np.ndarray, c2w: np.ndarray, factor: float) -> np.ndarray:
    """``factor * K [R | t]`` of OpenCV ``c2w`` (3x4): a projection matrix at any scale, of either sign."""
    return factor * K @ np.linalg.inv(c2w)[:3]


def _images(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


def write_idr_scan(folder: Path, K: np.ndarray, c2w: np.ndarray, scale_mat: np.ndarray | None,
                   height: int = 12, width: int = 16, masks: bool = True) -> Path:
    """``image/000000.png ...``, ``mask/000.png ...`` and ``cameras.npz`` whose ``world_mat_i`` is the camera ``c2w[i]``
    (in the scene normalised by ``scale_mat``, as IDR reads it) with pixel intrinsics ``K``; the matrices at scales
    of both signs."""
    import imageio.v3 as iio

    (folder / "image").mkdir(parents=True)
    arrays = {}
    for i, frame in enumerate(_images(len(c2w), height, width)):
        iio.imwrite(folder / "image" / f"{i:06d}.png", frame)
        P = projection(K, c2w[i], factor=(-1.0) ** i * (0.5 + i))
        world = np.eye(4)
        world[:3] = P if scale_mat is None else P @ np.linalg.inv(scale_mat)
        arrays[f"world_mat_{i}"] = world
        if scale_mat is not None:
            arrays[f"scale_mat_{i}"] = scale_mat
    np.savez(folder / "cameras.npz", **arrays)
    if masks:
        (folder / "mask").mkdir()
        for i in range(len(c2w)):
            iio.imwrite(folder / "mask" / f"{i:03d}.png", np.full((height, width, 3), 255, dtype=np.uint8))
    return folder


def write_dtu_scan(root: Path, scan: str, K: np.ndarray, c2w: np.ndarray, height: int = 12, width: int = 16,
                   lights: tuple[int, ...] = (3,)) -> Path:
    """``root/Rectified/<scan>/rect_NNN_<light>_r5000.png`` and ``root/Calibration/cal18/pos_NNN.txt`` (``K``: pixels of
    DTU's 1600x1200 images); returns the scan's image folder."""
    import imageio.v3 as iio

    images = root / "Rectified" / scan
    images.mkdir(parents=True)
    calibration = root / "Calibration" / "cal18"
    calibration.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(_images(len(c2w), height, width)):
        for light in lights:
            iio.imwrite(images / f"rect_{i + 1:03d}_{light}_r5000.png", frame)
        np.savetxt(calibration / f"pos_{i + 1:03d}.txt", projection(K, c2w[i], factor=(-1.0) ** i * 1e-3 * (1 + i)))
    return images


def normalised(K: np.ndarray, height: int, width: int) -> torch.Tensor:
    """Pixel ``K`` of an image of ``height x width`` normalised (docs/conventions.md)."""
    return torch.from_numpy(np.diag([1 / width, 1 / height, 1.0]) @ K)


#: DTU's calibration of camera 1 (pixels of its 1600x1200 images), as cal18's matrices give it
DTU_K = np.array([[2892.3, 0.0, 823.2], [0.0, 2883.2, 619.1], [0.0, 0.0, 1.0]])


def small_scan(tmp_path: Path, layout: str, views: int) -> Path:
    """A 40x30 scan of ``views`` known cameras at radius 3 in ``layout`` ``"idr"`` (IDR / NeuS's ``scan40``) or
    ``"dtu"`` (DTU's own ``DTU/Rectified/scan40``): the readers' downsizing and view selection tests' input."""
    c2w = known_cameras(radius=3.0)[:views]
    if layout == "idr":
        return write_idr_scan(tmp_path / "scan40", DTU_K / 40, c2w, None, height=30, width=40, masks=False)
    return write_dtu_scan(tmp_path / "DTU", "scan40", DTU_K, c2w, height=30, width=40)
