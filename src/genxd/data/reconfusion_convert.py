"""Your own capture as a ReconFusion torch scene (``genxd fewshot-data``), so that ``genxd trajectory fit``,
``genxd fewshot``, ``genxd reconstruct --n-views`` and ``genxd eval-recon`` run on it.

The views are read by ``genxd reconstruct``'s readers (:func:`genxd.reconstruction.views.load_views`): a COLMAP
model with ``images/`` (``0/``, ``sparse/0/`` or ``sparse/``: COLMAP output, LLFF's ``nerf_llff_data`` scenes,
mip-NeRF 360 scenes), a nerfstudio / instant-ngp ``transforms.json`` (``genxd synth``, ``genxd generate``,
``ns-process-data``) or a DTU scan (IDR's ``image/`` + ``cameras.npz``, DTU's ``Rectified/scanN`` +
``Calibration/cal18``: :mod:`genxd.reconstruction.dtu_idr`, :mod:`genxd.reconstruction.dtu_raw`). Lenses with distortion are undistorted to the pinhole camera COLMAP's undistorter gives
(:mod:`genxd.reconstruction.undistort`); camera models the readers refuse are refused here in the same words.

Views are ordered by image name (as LLFF's and mip-NeRF 360's loaders sort the image files; nerfstudio sorts its
frames by file name too), then split as RegNeRF and ReconFusion split LLFF and mip-NeRF 360 (:func:`fewshot_splits`):
the test views are every ``hold``-th view (``index % 8 == 0``, NeRF's ``llffhold``) and the ``n`` training views
are spaced evenly over the remaining ones, ``rest[round(x)]`` for ``x`` in ``numpy.linspace(0, len(rest) - 1, n)``
(Python's ``round``: halves to even). That rule is ``split="llff"``, the default.

``split="regnerf-dtu"`` is RegNeRF's DTU split (google-research/regnerf ``internal/datasets.py``, ``DTU``), which
RegNeRF and the few-shot DTU tables after it use: the 49 views of a scan in DTU's order (``rect_001`` ...
``rect_049``: index 0 ... 48), the ``n`` training views the first ``n`` of :data:`REGNERF_DTU_TRAIN`, the test
views the 25 that are neither in that list nor in :data:`REGNERF_DTU_EXCLUDED` (:func:`regnerf_dtu_splits`). The
views are in name order, so the image names must give DTU's order: each name's first number must run 1 ... 49
(``rect_001_3_r5000.png``) or 0 ... 48 (IDR's ``000000.png``) in name order; other names are refused.
"""

from __future__ import annotations

import os
import re
import tokenize
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..caller_style import is_cli, overwrite_hint, setting, text_setting
from ..validation import FEWSHOT_SPLIT, check

__all__ = ["DEFAULT_SHOTS", "HOLD_EVERY", "SPLITS", "DTU_VIEWS", "REGNERF_DTU_TRAIN", "REGNERF_DTU_EXCLUDED",
           "fewshot_splits", "regnerf_dtu_splits", "check_dtu_order", "convert_to_reconfusion", "counted"]

#: the few-shot settings of ReconFusion (train_test_split_3, _6, _9)
DEFAULT_SHOTS = (3, 6, 9)
#: every 8th view is a test view (NeRF's ``llffhold = 8``, kept by RegNeRF and ReconFusion)
HOLD_EVERY = 8
#: the split rules: the LLFF / mip-NeRF 360 rule above, RegNeRF's DTU split
SPLITS = FEWSHOT_SPLIT.choices
#: the views of a DTU scan (rect_001 ... rect_049)
DTU_VIEWS = 49
#: RegNeRF's DTU training views, in order: n views are the first n (0-based: rect_026, rect_023, ...)
REGNERF_DTU_TRAIN = (25, 22, 28, 40, 44, 48, 0, 8, 13)
#: views RegNeRF leaves out of DTU's test views (besides the training views)
REGNERF_DTU_EXCLUDED = (3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 36, 37, 38, 39)


def counted(n: int, word: str) -> str:
    """``"1 view"``, ``"3 views"``: ``n`` and ``word``, plural unless one."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ordinal(n: int) -> str:
    """``"2nd"``, ``"3rd"``, ``"8th"``, ``"11th"``, ``"21st"``."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _most_that_fit(others: int) -> str:
    """The setting of the most training views that fits ``others`` views outside the test views, as the caller
    writes it (``--n-views 1``, ``shots=[1]``), for a message where none of those asked for fits; "" where none
    fits (no view outside the test views)."""
    if others < 1:
        return ""
    written = f"--n-views {others}" if is_cli() else f"shots=[{others}]"
    if others == 1:
        return f"; the setting that fits: 1 ({written})"
    return f"; settings that fit: up to {others} ({written})"


def fewshot_splits(num_views: int, shots: Sequence[int] = DEFAULT_SHOTS, hold: int = HOLD_EVERY
                   ) -> dict[int, tuple[list[int], list[int]]]:
    """``{n: (train_ids, test_ids)}`` for each ``n`` of ``shots``, by the module docstring's rule.

    A ValueError when a setting needs more views than the scene has (``n`` training views need ``n`` views
    outside the test views)."""
    if hold < 2:
        raise ValueError(f"hold must be >= 2 (every hold-th view is a test view), got {hold}")
    shots = sorted({int(n) for n in shots})
    if not shots or shots[0] < 1:
        raise ValueError(f"the few-shot settings must be >= 1 training views, got {list(shots)}")
    test = [i for i in range(num_views) if i % hold == 0]
    rest = [i for i in range(num_views) if i % hold != 0]
    if len(rest) < shots[-1]:
        fits = [n for n in shots if n <= len(rest)]
        hint = f"; settings that fit: {', '.join(map(str, fits))}" if fits else _most_that_fit(len(rest))
        raise ValueError(f"{counted(num_views, 'view')} give{'s' if num_views == 1 else ''} "
                         f"{counted(len(test), 'test view')} (every {_ordinal(hold)}) and "
                         f"{counted(len(rest), 'other')}, too few for {counted(shots[-1], 'training view')}{hint}")
    return {n: ([rest[round(x)] for x in np.linspace(0, len(rest) - 1, n)], list(test)) for n in shots}


def _needs_dtu_views(num_views: int) -> str:
    return f"RegNeRF's DTU split needs the {DTU_VIEWS} views of a DTU scan (rect_001 ... rect_049), got {num_views}"


def regnerf_dtu_splits(num_views: int = DTU_VIEWS, shots: Sequence[int] = DEFAULT_SHOTS
                       ) -> dict[int, tuple[list[int], list[int]]]:
    """``{n: (train_ids, test_ids)}``: RegNeRF's DTU split (the module docstring), the same 25 test views for
    every ``n``. A ValueError unless ``num_views`` is 49 and every ``n`` is 1 ... 9."""
    if num_views != DTU_VIEWS:
        raise ValueError(_needs_dtu_views(num_views))
    shots = sorted({int(n) for n in shots})
    if not shots or shots[0] < 1 or shots[-1] > len(REGNERF_DTU_TRAIN):
        raise ValueError(f"RegNeRF's DTU split has 1 to {len(REGNERF_DTU_TRAIN)} training views, got {shots}")
    held = set(REGNERF_DTU_TRAIN) | set(REGNERF_DTU_EXCLUDED)
    test = [i for i in range(DTU_VIEWS) if i not in held]
    return {n: (list(REGNERF_DTU_TRAIN[:n]), list(test)) for n in shots}


def check_dtu_order(names: Sequence[str], source: str | os.PathLike = "") -> None:
    """A ValueError unless the image names, in name order, are DTU's views in order: the first number of each
    file name runs 1 ... 49 (``rect_001_3_r5000.png``) or 0 ... 48 (``000000.png``)."""
    numbers = []
    for name in sorted(names):
        found = re.search(r"\d+", Path(name).name)
        numbers.append(int(found.group()) if found else None)
    if numbers not in (list(range(1, DTU_VIEWS + 1)), list(range(DTU_VIEWS))):
        shown = ", ".join(sorted(names)[:4])
        where = f"{source}: " if str(source) else ""
        raise ValueError(f"{where}RegNeRF's DTU split needs the views in DTU's order, image names that sort as "
                         f"rect_001 ... rect_049 (or 000 ... 048); the names in order are {shown}, ...")


#: poses_bounds.npy's camera centres may differ from the model's by this fraction of the cameras' extent (float32
#: c2w, rounding of the model's files) before they are said to be another reconstruction's
_CENTRE_TOLERANCE = 1e-3


def _warn_other_reconstruction(path: Path, poses_bounds: np.ndarray, c2w: torch.Tensor) -> None:
    """A GenXDWarning when the camera centres of LLFF's ``poses_bounds [N, 17]`` (column 3 of each row's 3x5
    ``[down, right, back, centre, hwf]``, in COLMAP's world as LLFF's ``imgs2poses`` writes them, rows in image-name
    order) are not the model's ``c2w [N, 4, 4]`` (name order): a file left from another COLMAP run, whose near/far
    bounds are of another scale."""
    import warnings

    from ..validation import GenXDWarning

    ours = c2w[:, :3, 3].double().numpy()
    theirs = poses_bounds[:, :15].reshape(-1, 3, 5)[:, :, 3]
    extent = float(np.ptp(ours, axis=0).max()) if len(ours) > 1 else 0.0
    off = float(np.abs(theirs - ours).max()) if np.isfinite(theirs).all() else float("inf")
    if off > _CENTRE_TOLERANCE * max(extent, 1e-12):
        warnings.warn(f"{path}: its camera centres are not the COLMAP model's (up to {off:.3g} apart; the cameras span "
                      f"{extent:.3g}): a file from another reconstruction? Its near/far bounds, kept as poses_bounds for "
                      "trajectory fit --dataset llff, may not fit these cameras", GenXDWarning, stacklevel=3)


def _check_near_far(path: Path, poses_bounds: np.ndarray, names: Sequence[str]) -> None:
    """A ValueError naming the first row of LLFF's ``poses_bounds [N, 17]`` (rows in image-name order, as ``names``)
    whose near or far bound (its last two columns) is not finite and > 0, the bounds ``genxd trajectory fit
    --dataset llff`` needs (:func:`genxd.cameras.fit.fit_spiral_path`), before anything is written."""
    near_far = np.asarray(poses_bounds[:, -2:], dtype=np.float64)
    bad = np.argwhere(~(np.isfinite(near_far) & (near_far > 0)))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        raise ValueError(f"{path}: row {row} ({names[row]}): its {('near', 'far')[column]} bound is "
                         f"{near_far[row, column]:.4g}; the near/far bounds must be finite and > 0 (distances along "
                         "the view)")


def _warn_unregistered(image_dir: Path, names: Sequence[str], registered: int) -> None:
    """A GenXDWarning naming the image files of ``image_dir`` (hidden ones aside) that the COLMAP model does not
    register: they are left out, and the splits count the registered views only (LLFF's loader refuses such a
    folder; a user's capture often has a few photos COLMAP could not place)."""
    import warnings

    from ..utils.paths import IMAGE_SUFFIXES
    from ..validation import GenXDWarning

    listed = {Path(n).as_posix() for n in names}
    left = sorted(f.relative_to(image_dir).as_posix() for f in image_dir.rglob("*")
                  if f.suffix.lower() in IMAGE_SUFFIXES and not any(part.startswith(".") for part in
                                                                   f.relative_to(image_dir).parts)
                  and f.is_file() and f.relative_to(image_dir).as_posix() not in listed)
    if left:
        shown = ", ".join(left[:3]) + (", ..." if len(left) > 3 else "")
        warnings.warn(f"{image_dir}: {len(left)} image{'s' if len(left) > 1 else ''} the COLMAP model does not register "
                      f"({shown}) left out: the views and their splits are the {registered} registered ones",
                      GenXDWarning, stacklevel=3)


def _check_not_capture_folder(out_dir: Path, folder: Path) -> None:
    """A ValueError when ``out_dir`` is the capture's own folder (also by another path or a link): its ``index.json``
    would make the capture a ReconFusion folder, which ``genxd reconstruct`` and ``fewshot-data`` then read instead
    of the capture (a DTU scan; a transforms.json or COLMAP folder is still read as itself by ``reconstruct``, which
    then refuses ``--n-views`` on it)."""
    try:
        same = out_dir.is_dir() and os.path.samefile(out_dir, folder)
    except OSError:
        same = False
    if same:
        raise ValueError(f"{out_dir} is the capture's own folder: the ReconFusion folder written there (index.json) "
                         "would take the capture's place as an input; write it to another folder")


def _image_files(source: Path, kind: str, names: Sequence[str]) -> list[str]:
    """The image file of each view name (as ``load_views`` read it: ``x.png``, ``./x.png`` and ``x`` are one file of a
    transforms.json), to tell one image listed as two views; the names themselves for other kinds of source."""
    from genxd.utils.paths import listed_image, path_inside

    if kind == "transforms":
        listing = source if source.is_file() else source / "transforms.json"
        return [str(listed_image(listing.parent, name, listing).resolve()) for name in names]
    if kind == "colmap":
        return [str(path_inside(source / "images", name, source).resolve()) for name in names]
    return list(names)


def convert_to_reconfusion(source: str | os.PathLike, out_dir: str | os.PathLike, key: str | None = None, *,
                           shots: Sequence[int] = DEFAULT_SHOTS, hold: int | None = None,
                           split: str = "llff", resolution: int | None = None, overwrite: bool = False
                           ) -> tuple[Path, str, dict]:
    """Write the capture ``source`` as scene ``key`` (default: the folder's name) of the ReconFusion folder
    ``out_dir`` (``index.json`` + ``<key>.torch``, added to an existing index; each file written atomically).

    ``split``: ``"llff"`` (test views every ``hold``-th, default 8) or ``"regnerf-dtu"`` (RegNeRF's DTU split:
    49 views named in DTU's order, ``hold`` not given; the module docstring). ``resolution``: downsize so the
    longer side is at most this (None: keep). LLFF's ``poses_bounds.npy`` beside the model, one row per view, is
    kept as the scene's ``poses_bounds`` (``genxd trajectory fit --dataset llff`` needs it). A scene already in
    the index is replaced only with ``overwrite``. Returns ``(torch file, key, splits)``; a ValueError /
    FileNotFoundError / FileExistsError before anything is written.
    """
    from genxd.reconstruction.views import detect_input_kind, load_views

    from .reconfusion import INDEX_FILE, read_reconfusion_index, write_reconfusion_scene

    source, out_dir = Path(source), Path(out_dir)
    split = check(split, FEWSHOT_SPLIT, "split")
    if split == "regnerf-dtu":
        if hold is not None:
            raise ValueError(f"{setting('hold')} is for {text_setting('split', 'llff')}: RegNeRF's DTU split has "
                             "its own test views")
        splits = regnerf_dtu_splits(DTU_VIEWS, shots)  # the settings, before reading the views
    kind = detect_input_kind(source)
    if kind == "reconfusion":
        raise ValueError(f"{source}: already a ReconFusion folder (index.json); give a COLMAP model folder, a "
                         "transforms.json folder or a DTU scan")
    folder = source.parent if source.is_file() else source
    _check_not_capture_folder(out_dir, folder)
    key = key if key is not None else folder.resolve().name
    if not key:
        raise ValueError("the scene key must not be empty")
    if (out_dir / INDEX_FILE).is_file() and key in read_reconfusion_index(out_dir) and not overwrite:
        raise FileExistsError(f"{out_dir}: scene {key!r} already in {INDEX_FILE} ({overwrite_hint()})")
    views = load_views(source, resolution=resolution)
    files = _image_files(source, kind, views.names)
    twice = next(((file, k) for file, k in Counter(files).items() if k > 1), None)
    if twice is not None:  # its two views could be a training and a test view: the test scored an input
        shown = views.names[files.index(twice[0])]
        raise ValueError(f"{source}: {shown} is listed as {twice[1]} views: one image may not be two views (a "
                         "training and a test view at once)")
    if views.times is not None and bool((views.times != views.times[0]).any()):
        raise ValueError(f"{source}: the frames have different times (a 4D capture); few-shot 3D needs a static scene")
    if split == "regnerf-dtu":
        if len(views) != DTU_VIEWS:
            raise ValueError(f"{source}: {_needs_dtu_views(len(views))}")
        check_dtu_order(views.names, source)
    else:
        splits = fewshot_splits(len(views), shots, HOLD_EVERY if hold is None else hold)
    if kind == "colmap":
        _warn_unregistered(folder / "images", views.names, len(views))
    order = sorted(range(len(views)), key=lambda i: views.names[i])
    views = views.subset(order)
    extras: dict = {"image_names": list(views.names)}
    bounds = folder / "poses_bounds.npy"
    if kind == "colmap" and bounds.is_file():
        try:
            pb = np.load(bounds, allow_pickle=False)
        except (OSError, ValueError, EOFError, tokenize.TokenError) as exc:  # TokenError: a damaged .npy header
            raise ValueError(f"{bounds}: cannot read ({exc.__class__.__name__}: {exc})") from None
        if pb.ndim != 2 or pb.shape != (len(views), 17):
            raise ValueError(f"{bounds}: expected [{len(views)}, 17] (one row per view of the COLMAP model), "
                             f"got {list(pb.shape)}")
        if pb.dtype.kind not in "iuf":
            raise ValueError(f"{bounds}: expected [{len(views)}, 17] real numbers, got {pb.dtype} values")
        _check_near_far(bounds, pb, views.names)
        _warn_other_reconstruction(bounds, pb, views.c2w)
        extras["poses_bounds"] = torch.from_numpy(np.ascontiguousarray(pb, dtype=np.float64))
    path = write_reconfusion_scene(out_dir, key, views.images, views.c2w, views.K, splits, extras=extras,
                                   overwrite=overwrite)
    return path, key, splits
