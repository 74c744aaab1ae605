"""Finding videos and extracting their frames (PyAV for video files, imageio for image folders).

Frames are returned as ``uint8 [N, H, W, 3]`` RGB numpy arrays (the on-disk convention of
``docs/conventions.md``); the curation stages work on these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "VIDEO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "VideoSource",
    "VideoReadError",
    "discover_videos",
    "read_frames",
    "resized_shape",
    "parse_resize",
]

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class VideoReadError(ValueError):
    """A video (or frame folder) that cannot be read, is empty, or is malformed."""


@dataclass(frozen=True)
class VideoSource:
    """One input video: a video file, or a folder of frames (sorted by name).

    Attributes:
        video_id: the output folder name (file stem, or relative path joined with ``__``).
        path: the video file or frame folder.
        kind: ``"video"`` or ``"frames"``.
    """

    video_id: str
    path: Path
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"video_id": self.video_id, "path": str(self.path), "kind": self.kind}


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "video"


def discover_videos(path: str | Path) -> list[VideoSource]:
    """Find the videos under ``path``.

    - a video file: that one video;
    - a folder holding image files (and no videos): one video made of those frames;
    - any other folder: every video file below it (recursively) and every sub-folder that holds only
      image frames. IDs are relative paths (without the suffix) with ``/`` replaced by ``__``;
      clashing IDs get the file suffix appended.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a file that is not a known video type.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"input not found: {root}")
    if root.is_file():
        if not _is_video(root):
            raise ValueError(
                f"{root}: not a video file (known suffixes: {', '.join(sorted(VIDEO_EXTENSIONS))})"
            )
        return [VideoSource(_safe_id(root.stem), root, "video")]
    children = sorted(root.iterdir())
    if not any(_is_video(c) for c in children) and any(_is_image(c) for c in children):
        return [VideoSource(_safe_id(root.name), root, "frames")]

    found: list[tuple[str, Path, str]] = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and our own temporary folders
        if _is_video(file):
            found.append(("/".join(rel.with_suffix("").parts), file, "video"))
        elif file.is_dir():
            entries = list(file.iterdir())
            if entries and any(_is_image(e) for e in entries) and not any(_is_video(e) for e in entries):
                found.append(("/".join(rel.parts), file, "frames"))
    stems = [_safe_id(stem.replace("/", "__")) for stem, _, _ in found]
    sources = []
    for (stem, file, kind), vid in zip(found, stems):
        if stems.count(vid) > 1:
            vid = _safe_id(f"{vid}_{file.suffix.lstrip('.')}") if kind == "video" else vid
        sources.append(VideoSource(vid, file, kind))
    ids = [s.video_id for s in sources]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"several inputs map to the same video id: {', '.join(dupes)}")
    return sources


def parse_resize(value: str | int | None) -> int | tuple[int, int] | None:
    """Parse ``--resize``: ``None``/``""``/``0`` (keep), ``"256"`` (longer side), ``"320x240"`` (W x H)."""
    if value is None:
        return None
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"resize must be positive, got {value}")
        return value or None
    text = str(value).strip().lower()
    if text in ("", "0", "none"):
        return None
    match = re.fullmatch(r"(\d+)\s*x\s*(\d+)", text)
    if match:
        width, height = int(match.group(1)), int(match.group(2))
        if width <= 0 or height <= 0:
            raise ValueError(f"resize: width and height must be positive, got {value!r}")
        return (width, height)
    if text.isdigit():
        return int(text)
    raise ValueError(f"resize: expected N (longer side in pixels) or WxH, got {value!r}")


def resized_shape(height: int, width: int, resize: int | tuple[int, int] | None) -> tuple[int, int]:
    """Target ``(height, width)``: ``int`` is the largest longer side (aspect kept; smaller frames are kept as
    they are: upscaling adds no detail and made small clips' motion vanish under the flow masks' thresholds),
    ``(W, H)`` is exact."""
    if resize is None:
        return height, width
    if isinstance(resize, tuple):
        return int(resize[1]), int(resize[0])
    if max(height, width) <= resize:
        return height, width
    scale = resize / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _prepare(frame: np.ndarray, resize: int | tuple[int, int] | None) -> np.ndarray:
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=-1)
    if frame.shape[-1] == 4:
        frame = frame[..., :3]
    if frame.dtype != np.uint8:
        if np.issubdtype(frame.dtype, np.floating):
            frame = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:  # 16-bit images
            frame = (frame.astype(np.float64) / np.iinfo(frame.dtype).max * 255.0 + 0.5).astype(np.uint8)
    h, w = frame.shape[:2]
    th, tw = resized_shape(h, w, resize)
    if (th, tw) != (h, w):
        interp = cv2.INTER_AREA if th * tw < h * w else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (tw, th), interpolation=interp)
    return np.ascontiguousarray(frame)


def _iter_video_frames(path: Path):
    import av  # PyAV: streaming decode, stops early when enough frames are read

    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - PyAV raises many error types for bad files
        raise VideoReadError(f"cannot open video {path.name}: {exc}") from None
    try:
        if not container.streams.video:
            raise VideoReadError(f"{path.name}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:  # truncated/corrupt stream: keep what was decoded
            raise VideoReadError(f"{path.name}: decoding failed: {exc}") from None
    finally:
        container.close()


def _iter_folder_frames(path: Path):
    import imageio.v3 as iio

    files = sorted(f for f in path.iterdir() if _is_image(f))
    for file in files:
        try:
            yield iio.imread(file)
        except Exception as exc:  # noqa: BLE001
            raise VideoReadError(f"cannot read frame {file.name}: {exc}") from None


def read_frames(
    source: VideoSource | str | Path,
    stride: int = 1,
    max_frames: int | None = None,
    resize: int | tuple[int, int] | None = None,
) -> np.ndarray:
    """Decode every ``stride``-th frame (at most ``max_frames``), resized.

    Args:
        source: a :class:`VideoSource`, a video file or a folder of frames.
        stride: keep frames ``0, stride, 2*stride, ...``.
        max_frames: stop after this many kept frames (``None``: all).
        resize: ``None`` (keep), ``int`` (longer side in pixels) or ``(W, H)``.
    Returns:
        ``uint8 [N, H, W, 3]`` RGB frames.
    Raises:
        VideoReadError: unreadable, empty, or frames of varying size.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if not isinstance(source, VideoSource):
        path = Path(source)
        source = VideoSource(_safe_id(path.stem), path, "frames" if path.is_dir() else "video")
    if not source.path.exists():
        raise VideoReadError(f"input not found: {source.path}")
    iterator = _iter_folder_frames(source.path) if source.kind == "frames" else _iter_video_frames(source.path)
    frames: list[np.ndarray] = []
    try:
        for index, frame in enumerate(iterator):
            if index % stride:
                continue
            frames.append(_prepare(np.asarray(frame), resize))
            if max_frames is not None and len(frames) >= max_frames:
                break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    if not frames:
        raise VideoReadError(f"{source.path.name}: no frames could be decoded (empty video)")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise VideoReadError(f"{source.path.name}: frames have different sizes {sorted(shapes)}; use --resize WxH")
    return np.stack(frames)
