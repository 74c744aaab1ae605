"""Curate one video into a CamVid-30K-style sample (frames, COLMAP model, motion strength).

Output, written atomically (built in a hidden temporary folder beside the target, every file and folder of it
flushed to disk, then renamed)::

    VIDEO_ID/images/00000.jpg ...         the extracted frames
    VIDEO_ID/0/cameras.bin images.bin points3D.bin project.ini   the pycolmap reconstruction
    VIDEO_ID/meta.json                    motion strength, verdict, cameras, timings, ...
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..utils.disk_sync import fsync_folder, fsync_tree
from ..utils.io import is_environment_error, temp_name
from ..utils.stages import StageCallback
from ..validation import arg, setting, warn
from ..utils.json_text import json_text
from .frames import FrameMemoryError, VideoReadError, VideoSource, discover_videos, read_frames
from .read_errors import FramesTooSmallError, check_frame_size
from .video_streams import stored_pixel_aspect
from .video_warnings import collected_warnings
from .masks import EpipolarFlowMasker, Masker, load_masker
from .motion import DEFAULT_MOTION_THRESHOLD, MotionSettings, estimate_object_motion
from .sfm import SfmError, run_sfm, write_reconstruction
from .static_camera import is_static_camera, static_camera_sfm

__all__ = [
    "CurationConfig",
    "CurationError",
    "curate_video",
    "video_record",
    "META_NAME",
    "FALLBACK_DEPTHS",
]

META_NAME = "meta.json"
#: A video with more frames than this to curate (after stride and max_frames) is warned about: SfM on it takes
#: many minutes, with no cap by default.
LONG_VIDEO_FRAMES = 300

#: Depth used for the motion stage when no depth model is given (see docs/curation.md).
FALLBACK_DEPTHS = ("sparse", "triangulate")


class CurationError(RuntimeError):
    """A video that cannot be curated; ``stage`` says where (read, frames, sfm, ...)."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


@dataclass
class CurationConfig:
    """Settings of the curation of one video (all JSON-serialisable).

    Attributes:
        stride, max_frames, resize: frame extraction (see :func:`genxd.curation.read_frames`).
        max_frame_memory_gib: the most memory (GiB) one video's frames may take after ``resize`` (uint8 RGB); a
            video that needs more fails at stage "read" with what to pass instead, before its frames are decoded
            when the container states its frame count. The whole curation of a video peaks at about 7x its
            frames (96 frames of 512x512 = 72 MiB: 0.77 GiB resident). ``None``: no limit.
        min_frames: fewer extracted frames than this is a failure ("too few frames").
        min_registered: SfM must register at least this fraction of the frames, else the video fails
            (stage "sfm"); the registered count is in the record and ``meta.json`` either way.
        motion_threshold: motion strength above which a video is "dynamic": the per-frame image displacement of
            moving objects over the shorter side, as ``meta.json``'s ``motion_strength`` (0.005: 0.5% of it a
            frame). ``genxd.generate``'s ``motion_strength`` is 100x this (``DEFAULT_MOTION_SCALE``): the
            default 0.005 is 0.5 there.
        motion_frame_gap: frame gap of the motion pairs (i, i + gap).
        mask_model: local folder of an instance-segmentation model (transformers), or None for
            the optical-flow/epipolar fallback; kept as an absolute path (``os.path.abspath``: links not resolved).
        depth_model: local folder of a relative depth model (Depth Anything V2), or None; kept absolute too.
        fallback_depth: without a depth model (with one, anything but the default is refused), "sparse" (default:
            interpolated SfM depth maps, objects at
            the depth of their surroundings; motion measured pair by pair) or "triangulate" (depth of each
            tracked point triangulated with the SfM cameras: under-measures moving objects, kept for
            comparison).
        focal: known normalised focal length fx/W (square pixels, centred principal point), or None to
            estimate it (simple-radial camera).
        features: SfM correspondences, "sift", "klt" or "auto" (see :func:`run_sfm`).
        mapper: SfM mapper, "incremental", "global" or "auto" (incremental, then global when incremental
            fails; see :func:`run_sfm`).
        num_threads: threads for OpenCV/pycolmap/torch in this process while a video is curated (-1: all cores;
            the caller's counts are put back after it).
        device: torch device of the learned models.
        jpeg_quality: quality of the written frames.
        seed: random seed (RANSAC, mapping).
        verbose: let COLMAP print its own log lines (silent by default; failures are one-line reasons).
    """

    stride: int = 1
    max_frames: int | None = None
    resize: int | tuple[int, int] | None = None
    max_frame_memory_gib: float | None = 1.0
    min_frames: int = 8
    min_registered: float = 0.75
    motion_threshold: float = DEFAULT_MOTION_THRESHOLD
    motion_frame_gap: int = 3
    mask_model: str | None = None
    depth_model: str | None = None
    fallback_depth: str = "sparse"
    focal: float | None = None
    features: str = "auto"
    mapper: str = "auto"
    num_threads: int = -1
    device: str = "cpu"
    jpeg_quality: int = 95
    seed: int = 0
    verbose: bool = False

    def __post_init__(self) -> None:
        # the specs genxd curate's options use: a wrong type or value (stride=1.5, focal=inf, num_threads=0) is
        # refused here naming the argument, not by a library deep inside a video's curation
        from .. import validation as v

        specs = {"stride": v.CURATE_STRIDE, "max_frames": v.CURATE_MAX_FRAMES,
                 "max_frame_memory_gib": replace(v.CURATE_FRAME_MEMORY, optional=True, why="or None: no limit"),
                 "min_frames": v.CURATE_MIN_FRAMES, "min_registered": v.CURATE_MIN_REGISTERED,
                 "motion_threshold": replace(v.CURATE_MOTION_THRESHOLD, optional=False),
                 "motion_frame_gap": v.CURATE_MOTION_GAP, "fallback_depth": v.CURATE_FALLBACK_DEPTHS, "focal": v.FOCAL,
                 "features": v.SFM_FEATURES, "mapper": v.CURATE_MAPPERS, "num_threads": v.NUM_THREADS,
                 "jpeg_quality": v.CURATE_JPEG_QUALITY, "seed": v.SEED, "verbose": v.Flag()}
        for name, spec in specs.items():
            setattr(self, name, v.check(getattr(self, name), spec, name))
        if isinstance(self.resize, list):
            self.resize = tuple(self.resize)
        if self.resize is not None:
            sides = self.resize if isinstance(self.resize, tuple) else (self.resize,)
            if len(sides) != (2 if isinstance(self.resize, tuple) else 1) or not all(
                    isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in sides):
                raise v.InvalidType(f"{arg('resize')} must be None, N (the longer side) or (W, H) in pixels, "
                                    f"got {self.resize!r} ({type(self.resize).__name__})")
            v.check("x".join(str(int(x)) for x in sides), v.CURATE_RESIZE, "resize")
            self.resize = tuple(int(x) for x in sides) if len(sides) == 2 else int(sides[0])  # type: ignore[assignment]
        if self.max_frames is not None and self.max_frames < self.min_frames:
            raise v.InvalidValue(f"{v.setting('max_frames', self.max_frames)} is below "
                                 f"{v.setting('min_frames', self.min_frames)}: every video would have too few frames")
        if self.depth_model is not None and self.fallback_depth != "sparse":  # "sparse": the default, left as is
            # the fallback is depth without a model: dropped without a word, and recorded as a setting of each video
            raise v.InvalidValue(f"{v.text_setting('fallback_depth', self.fallback_depth)} is not used with "
                                 f"{arg('depth_model')}: depth comes from the model (leave one of them out)")
        if not isinstance(self.device, str):
            raise v.InvalidType(f"{arg('device')} must be a device name such as 'cpu' or 'cuda:0', "
                                f"got {self.device!r} ({type(self.device).__name__})")
        from ..utils.paths import path_argument

        for name in ("mask_model", "depth_model"):
            value = getattr(self, name)
            if value is None:
                continue
            # mask_model=3 was os.fspath's "expected str, bytes or os.PathLike object, not int", and "" the current
            # folder (a model folder only by chance): refused naming the argument, as other paths are
            folder = path_argument(value, name, "a model folder path")
            if not folder.is_dir():
                raise FileNotFoundError(f"{arg(name)} folder not found: {value}")
            # absolute (normalised, links kept, as the inputs' paths): the setting recorded with each video names
            # one folder whatever folder a run starts in (a rerun naming the same model from elsewhere was warned
            # about as other settings, one naming another model by the same words was not), and a Ray task, whose
            # working folder is not the driver's, finds it
            setattr(self, name, os.path.abspath(folder))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: the learned models loaded in this process, the last one of each kind: ``{kind: (folder, device, files), model}``
_MODEL_CACHE: dict[str, tuple[tuple[str, str, tuple], Any]] = {}


def _folder_files(folder: Path) -> tuple[object, ...]:
    """Each file of a model folder (links followed, as the loaders do): its relative name, size and mtime (a
    ``(str, int, int)`` each); one ``object()`` where the folder changes while it is listed."""
    try:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return tuple((str(p.relative_to(folder)), st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()])
    except OSError:  # changing meanwhile: a state matching no other, so the model loads again
        return (object(),)


def _cached(kind: str, path: str, device: str, factory):
    """The learned model of ``kind`` (``mask`` / ``depth``) in ``path`` on ``device``, loaded once per process
    while its folder's files are unchanged (workers curate many videos with one model). Only the last model of
    each kind is kept: a Python session that tried several models kept every one loaded until it ended, and a
    model saved over another in the same folder was never read (curation went on with the old one)."""
    folder = Path(path).resolve()
    key = (str(folder), device, _folder_files(folder))
    held = _MODEL_CACHE.get(kind)
    if held is None or held[0] != key:
        _MODEL_CACHE.pop(kind, None)
        held = None  # the last model is let go before the next one loads: never two of a kind in memory
        _MODEL_CACHE[kind] = (key, factory())
    return _MODEL_CACHE[kind][1]


@contextlib.contextmanager
def _threads(num_threads: int) -> Iterator[None]:
    """OpenCV's and torch's thread counts set to ``num_threads`` (> 0) for the block, then put back: a caller's
    process (``curate_video`` from a notebook) kept the video's counts afterwards."""
    import cv2
    import torch

    if num_threads <= 0:
        yield
        return
    saved = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(num_threads)
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        cv2.setNumThreads(saved[0])
        torch.set_num_threads(saved[1])


def _write_frames(frames: np.ndarray, image_dir: Path, quality: int) -> list[str]:
    from PIL import Image

    image_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for index, frame in enumerate(frames):
        name = f"{index:05d}.jpg"  # the CamVid-30K layout (genxd synth --format camvid)
        Image.fromarray(frame).save(image_dir / name, quality=quality)
        names.append(name)
    return names


def _read_jpegs(image_dir: Path, names: list[str]) -> np.ndarray:
    from PIL import Image

    out = []
    for name in names:
        with Image.open(image_dir / name) as im:
            out.append(np.asarray(im.convert("RGB")))
    return np.stack(out)


def _times_from_start(seconds: list, n: int) -> list[float | None]:
    """The ``n`` frames' presentation times in seconds after the first one's (rounded to microseconds), or ``None``
    for each when any is unknown (a frame folder, a stream without timestamps)."""
    if len(seconds) != n or n == 0 or any(t is None or not np.isfinite(t) for t in seconds):
        return [None] * n
    return [round(float(t) - float(seconds[0]), 6) for t in seconds]


def video_record(source: VideoSource, status: str, **fields: Any) -> dict[str, Any]:
    """One ``index.jsonl`` line: ``video_id``, ``source``, ``status`` and any other fields; ``time``: when it was
    made, ISO 8601 local time with its UTC offset (``2026-12-07T09:05:12+01:00``; lines written before 2026-12-07
    carry local time without one)."""
    record = {"video_id": source.video_id, "source": str(source.path), "status": status}
    record.update(fields)
    record.setdefault("time", datetime.now().astimezone().isoformat(timespec="seconds"))
    return record


def curate_video(
    source: VideoSource | str | os.PathLike,
    out_root: str | os.PathLike,
    config: CurationConfig | None = None,
    masker: Masker | None = None,
    on_stage: StageCallback | None = None,
    on_note: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Curate one video into ``out_root/VIDEO_ID`` and return its ``index.jsonl`` record.

    ``on_stage`` is called with each stage's name as it starts ("frames", "masks", "sfm", "depth", "motion",
    "write"): progress for a long video. ``on_note`` is called with a warning that matters while the video runs as
    soon as it is known (``NAME is long``, before SfM); it is kept in the record's warnings too but not warned
    again at the end (the others are: see :mod:`genxd.curation.video_warnings`).

    Never raises for a bad video: unreadable or empty input, too few frames, or SfM failure give a
    record with ``status="failed"``, the failing ``stage`` and the ``reason``; nothing is left
    under ``out_root`` then (the temporary folder is removed). Raises ``FileExistsError`` when the
    target folder already exists, ``ValueError`` when a ``VideoSource``'s id is not one folder name
    (:func:`~genxd.curation.video_ids.check_chosen_id`).
    """
    from ..utils.paths import path_argument

    config = config or CurationConfig()
    out_root = path_argument(out_root, "out_root", "a folder path")  # "" wrote into the current folder
    if not isinstance(source, VideoSource):
        # "" curated the current folder as the video
        found = discover_videos(path_argument(source, "source", "a video file or frames folder path"))
        if len(found) != 1:
            raise ValueError(f"{source}: expected one video, found {len(found)}")
        source = found[0]
    else:
        from .video_ids import check_chosen_id

        check_chosen_id(source)  # "", "..", "a/b": another folder than OUT/VIDEO_ID, or none
    target = out_root / source.video_id
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    out_root.mkdir(parents=True, exist_ok=True)
    tmp = out_root / temp_name(source.video_id, "part")  # under 255 bytes whatever the id's length
    started = time.perf_counter()
    notes: list[str] = []
    shown: list[str] = []  # handed to on_note while the video ran

    def note_now(note: str) -> None:  # kept with the others, and handed to on_note at once
        warn(note)
        if on_note is not None:
            shown.append(note)
            on_note(note)

    from .run_settings import source_stamp  # (it imports this module)

    # before it is read: a file still growing, or rewritten in place, is told apart on the next run
    size, mtime_ns = source_stamp(source.path) or (None, None)
    try:
        tmp.mkdir()
        with collected_warnings() as notes:
            with _threads(config.num_threads):
                meta = _curate_into(source, tmp, config, masker, on_stage or (lambda stage: None), note_now)
        meta["source_bytes"], meta["source_mtime_ns"] = size, mtime_ns
        if notes:  # kept with the result: a worker's warnings reach no terminal (Ray), or reach it unformatted
            meta["warnings"] = notes
        (tmp / META_NAME).write_text(json_text(meta, indent=2))
        # every frame, the model and meta.json flushed to disk before the folder is renamed into place and its index
        # line written: after a power cut, a folder under its final name is complete (the rename alone could reach
        # the disk before the files' data: a 'done' video with truncated files). 0.37 s of a 100-frame 128 px
        # video's 32-48 s here (ext4, 2 shared cores): about 1 %, so every frame is flushed (docs/curation.md)
        fsync_tree(tmp)
        os.replace(tmp, target)  # atomic on one file system; target did not exist
        fsync_folder(out_root)  # the rename itself, before the index line that says the video is done
    except CurationError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _show(notes, shown)
        return video_record(
            source, "failed", stage=exc.stage, reason=exc.reason, seconds=round(time.perf_counter() - started, 3),
            **({"warnings": notes} if notes else {}),
        )
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt / SystemExit: stop, nothing half-written is left
        environment = is_environment_error(exc)  # a full disk, a forbidden folder: not a bug of this video
        return video_record(
            source,
            "failed",
            stage="environment" if environment else "internal",
            reason=f"{type(exc).__name__}: {exc}",
            **({} if environment else {"traceback": traceback.format_exc(limit=8)}),
            seconds=round(time.perf_counter() - started, 3),
        )
    _show(notes, shown)
    return video_record(
        source,
        "ok",
        verdict=meta["verdict"],
        motion_strength=meta["motion_strength"],
        num_frames=meta["num_frames"],
        num_registered=meta["num_registered"],
        mean_reprojection_error=meta["mean_reprojection_error"],
        seconds=round(time.perf_counter() - started, 3),
        source_bytes=size,
        source_mtime_ns=mtime_ns,
        **({"warnings": notes} if notes else {}),
    )


def _show(notes: list[str], shown: list[str]) -> None:
    """Warn again with the warnings kept in a video's record but the ``shown`` ones (a caller of
    :func:`curate_video` sees them as before; ``curate_dataset`` silences them in its workers and shows each
    record's own, naming the video)."""
    for note in notes:
        if note not in shown:
            warn(note)


def _curate_into(source: VideoSource, folder: Path, config: CurationConfig, masker: Masker | None,
                 on_stage: StageCallback, note_now: Callable[[str], None]) -> dict[str, Any]:
    """All stages, writing into ``folder``; returns the meta dict. Raises CurationError. ``note_now``: warns a
    warning that matters while the video runs (shown at once)."""
    timings: dict[str, float] = {}
    work = folder / "_work"
    work.mkdir()

    on_stage("frames")
    t0 = time.perf_counter()
    try:
        limit = None if config.max_frame_memory_gib is None else int(config.max_frame_memory_gib * 2**30)
        seconds: list = []  # each frame's presentation time (a variable-frame-rate clip's are not evenly spaced)
        frames = read_frames(source, config.stride, config.max_frames, config.resize, max_bytes=limit, times=seconds)
    except FrameMemoryError as exc:
        raise CurationError("read", f"{exc}, or raise the limit ({arg('max_frame_memory_gib')})") from None
    except VideoReadError as exc:
        raise CurationError("read", str(exc)) from None
    if len(frames) < config.min_frames:
        # the stride that thinned the clip named too: the reason read as if the clip were short
        strided = f" (one in {config.stride} kept: {setting('stride', config.stride)})" if config.stride > 1 else ""
        raise CurationError("frames", f"too few frames: {len(frames)}{strided}, fewer than the minimum "
                                       f"{config.min_frames} ({arg('min_frames')})")
    try:
        check_frame_size(source.path.name, frames.shape[1], frames.shape[2], config.resize)
    except FramesTooSmallError as exc:
        raise CurationError("frames", str(exc)) from None
    if len(frames) > LONG_VIDEO_FRAMES:  # no cap by default (the data is the user's to choose): say why it is slow
        note_now(f"{source.path.name} is long: {len(frames)} frames go to SfM (minutes per hundred frames on a CPU); "
                 f"{arg('max_frames')} / {arg('stride')} make it faster")
    image_dir = folder / "images"
    names = _write_frames(frames, image_dir, config.jpeg_quality)
    frames = _read_jpegs(image_dir, names)  # every later stage sees exactly the stored frames
    timings["read"] = time.perf_counter() - t0
    n, height, width = frames.shape[:3]

    on_stage("masks")
    t0 = time.perf_counter()
    if masker is None:
        if config.mask_model is not None:
            masker = _cached("mask", config.mask_model, config.device, lambda: load_masker(config.mask_model, config.device))
        else:
            masker = EpipolarFlowMasker()
    labels = masker(frames)
    timings["masks"] = time.perf_counter() - t0

    on_stage("sfm")
    t0 = time.perf_counter()
    import cv2

    try:
        if is_static_camera([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames], labels == 0):
            sfm = static_camera_sfm(names, height, width, config.focal)  # no parallax: SfM cannot work
        else:
            sfm = run_sfm(
                image_dir, names, work / "sfm", allowed=labels == 0, focal=config.focal, features=config.features,
                num_threads=config.num_threads, seed=config.seed, min_registered_fraction=config.min_registered,
                verbose=config.verbose, mapper=config.mapper,
            )
    except SfmError as exc:
        raise CurationError("sfm", str(exc)) from None
    timings["sfm"] = time.perf_counter() - t0
    timings.update({k: v for k, v in sfm.timings.items()})
    # the rest of the SfM stage: the still-camera check and attempts that failed or were not kept (the sfm_*
    # parts are the kept attempts' own), so that the parts add up to the stage
    timings["sfm_other"] = max(0.0, timings["sfm"] - sum(v for k, v in sfm.timings.items() if k.startswith("sfm_")))

    on_stage("depth")
    t0 = time.perf_counter()
    depth_info: list[dict[str, float]] = []
    if sfm.mapper == "static_camera":
        depth_maps = np.ones((n, height, width), np.float32)  # any depth: a still camera has no parallax
        depth_source = "none_static_camera"
    elif config.depth_model is not None:
        from .depth import TransformersDepthEstimator, aligned_model_depth_maps

        estimator = _cached(
            "depth", config.depth_model, config.device, lambda: TransformersDepthEstimator(config.depth_model, config.device)
        )
        depth_maps, depth_info = aligned_model_depth_maps(frames, sfm, estimator)
        depth_source = f"model:{Path(config.depth_model).name} aligned to SfM"
    elif config.fallback_depth == "sparse":
        from .depth import sparse_depth_maps

        depth_maps = sparse_depth_maps(sfm, labels)
        depth_source = "sfm_sparse_interpolated"
    else:
        depth_maps = None
        depth_source = "sfm_triangulated_tracks"
    timings["depth"] = time.perf_counter() - t0

    on_stage("motion")
    t0 = time.perf_counter()
    settings = MotionSettings(
        threshold=config.motion_threshold, frame_gap=config.motion_frame_gap,
        # sparse depth is wrong on static regions the masks flag by mistake: there, tracks that stay on their
        # epipolar lines count as static (see genxd.curation.motion_pairs.PairSettings.epipolar_gate)
        epipolar_gate=0.0015 if depth_source == "sfm_sparse_interpolated" else 0.0,
    )
    motion = estimate_object_motion(frames, labels, sfm, depth_maps, settings, depth_source=depth_source)
    timings["motion"] = time.perf_counter() - t0

    on_stage("write")
    t0 = time.perf_counter()
    write_reconstruction(sfm, folder / "0")
    shutil.rmtree(work, ignore_errors=True)
    camera = next(iter(sfm.reconstruction.cameras.values()))
    meta: dict[str, Any] = {
        "video_id": source.video_id,
        "source": str(source.path),
        "status": "ok",
        "verdict": motion.verdict,
        "motion_strength": motion.strength,
        "motion_threshold": motion.threshold,
        "motion_strength_units": "image displacement per extracted frame, in pixels over the shorter side, not "
        "explained by the camera (max over objects of the median over tracked points); see docs/curation.md",
        "motion_frame_gap": settings.frame_gap,
        "objects": motion.to_dict()["objects"],
        "depth_source": depth_source,
        "depth_alignment": depth_info,
        "mask_source": getattr(masker, "name", type(masker).__name__),
        "mask_fraction": float((labels > 0).mean()),
        "num_frames": int(n),
        "num_registered": sfm.num_registered,
        "height": int(height),
        "width": int(width),
        "source_pixel_aspect": stored_pixel_aspect(source.path),
        "frames": [
            {"name": name, "source_index": int(i * config.stride), "time": time_s,
             "registered": bool(sfm.registered[i])}
            for i, (name, time_s) in enumerate(zip(names, _times_from_start(seconds, len(names))))
        ],
        "sfm_features": sfm.features,
        "sfm_mapper": sfm.mapper,
        "num_points3D": sfm.num_points3D,
        "mean_reprojection_error": sfm.mean_reprojection_error,
        "camera_model": camera.model.name,
        "camera_params": [float(p) for p in camera.params],
        "K_normalized": sfm.K.tolist(),
        "config": config.to_dict(),
        "timings": {},
        "platform": {"python": platform.python_version(), "machine": platform.machine()},
    }
    timings["write"] = time.perf_counter() - t0
    meta["timings"] = {k: round(v, 4) for k, v in timings.items()}
    with open(folder / META_NAME, "w") as fh:
        fh.write(json_text(meta, indent=2))
    return meta
