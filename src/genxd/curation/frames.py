"""Finding videos and extracting their frames (PyAV for video files, imageio for image folders).

Frames are returned as ``uint8 [N, H, W, 3]`` RGB numpy arrays (the on-disk convention of
``docs/conventions.md``); the curation stages work on these.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..utils.frame_files import IMAGE_EXTENSIONS, frame_files, is_frame_image
from ..utils.natural_order import natural_key
from ..utils.paths import require_file
from ..utils.pixel_range import to_uint8_by_range
from ..validation import setting
from .read_errors import FrameMemoryError, MixedFrameSizesError, VideoReadError
from .video_decode import DecodeEnd, warn_damaged
from .video_decode import iter_video_frames as _iter_video_frames
from .video_ids import settle_clashes
from .video_ids import safe_video_id as _safe_id
from .video_streams import main_video_stream, shown_frame_count

__all__ = [
    "VIDEO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "VideoSource",
    "VideoReadError",
    "FrameMemoryError",
    "discover_videos",
    "read_frames",
    "count_frames",
    "natural_key",
    "resized_shape",
    "parse_resize",
]

#: Suffixes read as video files (compared in lower case), by every reader: curate, trajectory from-video, generate
#: --camera-from-video. Camcorder (AVCHD ``.mts`` / ``.m2ts``, MPEG-TS ``.ts``), phone (``.3gp``), Flash, Windows
#: Media and Ogg files decode as the others do.
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif", ".mts",
                              ".m2ts", ".ts", ".3gp", ".flv", ".wmv", ".ogv"})
#: Files expected beside videos and passed over without a word when a folder is searched for videos: camera and
#: metadata files (``genxd synth`` writes ``NAME.json`` beside ``NAME.mp4``), notes, subtitles, a camera's
#: thumbnails and proxies, and genxd's own outputs (a curated folder: ``index.jsonl``, COLMAP ``*.bin``).
COMPANION_EXTENSIONS = frozenset({".json", ".jsonl", ".txt", ".md", ".csv", ".xml", ".yaml", ".yml", ".log",
                                  ".srt", ".vtt", ".ass", ".ssa", ".thm", ".lrv", ".bin", ".ini", ".npy", ".npz",
                                  ".ply", ".lock"})


@dataclass(frozen=True)
class VideoSource:
    """One input video: a video file, or a folder of frames (in name order, numbers compared as numbers:
    ``f_2`` before ``f_10``).

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


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def _warn_skipped(root: Path, skipped: list[str]) -> None:
    """One warning naming the files of a searched folder that are not read (not a video, image or companion
    file): a video with a suffix not read as video would otherwise be left out without a word."""
    from ..validation import warn

    named = ", ".join(skipped[:8]) + (f" and {len(skipped) - 8} more" if len(skipped) > 8 else "")
    files = "file that is not a video" if len(skipped) == 1 else "files that are not videos"
    warn(f"{root}: skipped {len(skipped)} {files}: {named} (video suffixes: "
         f"{', '.join(sorted(VIDEO_EXTENSIONS))})")


def _warn_curated(root: Path, curated: list[Path]) -> None:
    """One warning naming the curated videos a search of ``root`` passed over (:func:`_search`)."""
    from ..validation import warn

    names = sorted(p.relative_to(root).as_posix() for p in curated)
    named = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    warn(f"{root}: passed over {len(names)} curated {'video' if len(names) == 1 else 'videos'} (genxd curate's output: "
         f"meta.json beside images/ and 0/): {named}; give a curated video's images folder to curate it again")


def _curated_video(folder: Path) -> bool:
    """Whether ``folder`` is a video curated by ``genxd curate`` (:mod:`genxd.curation.pipeline`'s layout: its
    ``meta.json`` beside its frames ``images/`` and its COLMAP model ``0/``)."""
    return (folder / "meta.json").is_file() and (folder / "images").is_dir() and (folder / "0").is_dir()


def _search(root: Path, skip: str | Path | None, curated: list[Path] | None = None) -> list[Path]:
    """Every path below the folder ``root`` (sorted as ``sorted(root.rglob("*"))``), hidden ones (and all they hold)
    and the folder ``skip`` (the dataset being written) passed over, and the folders of curated videos
    (:func:`_curated_video`: another dataset below the inputs, whose ``images/`` folders were taken as new videos of
    frames), which are added to ``curated``. A link to a folder is searched too, as the
    folder it names (``videos/trip -> /mnt/drive/trip``: its videos were left out without a word, ``rglob`` does not
    follow links), unless that folder is below ``root`` (searched as itself) or was searched already (another link to
    it, a loop of links)."""
    real_root = root.resolve()
    real_skip = None if skip is None else Path(skip).resolve()
    searched = {real_root}
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:  # a folder that may not be read: its files are not found (as rglob)
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and our own temporary folders
            if entry.is_dir():
                real = entry.resolve()
                if real_skip is not None and real == real_skip:
                    continue  # the output dataset inside the searched folder
                if _curated_video(entry):  # a video another run curated: its frames are an output
                    if curated is not None:
                        curated.append(entry)
                    continue
                if entry.is_symlink():
                    if real in searched or real.is_relative_to(real_root) or real_root.is_relative_to(real):
                        found.append(entry)  # a folder of frames is still one video (as before)
                        continue
                    searched.add(real)
                pending.append(entry)
            found.append(entry)
    return sorted(found)


def discover_videos(path: str | os.PathLike, skip: str | Path | None = None) -> list[VideoSource]:
    """Find the videos under ``path``.

    - a video file: that one video;
    - a folder holding image files (and no videos): one video made of those frames;
    - any other folder: every video file below it (recursively) and every sub-folder that holds only
      image frames; one warning names the files left out that are neither videos, images nor
      :data:`COMPANION_EXTENSIONS` files (hidden files are passed over; links to folders are followed, each folder
      once: :func:`_search`). IDs are relative paths (without the suffix) with ``/`` replaced by ``__``,
      made safe as folder names (:func:`genxd.curation.video_ids.safe_video_id`); clashing IDs get the file
      suffix appended (as always); IDs that then clash only up to letter case or Unicode normalisation (one folder on
      macOS and Windows) get the suffix, else 8 hex digits of the path's hash
      (:func:`~genxd.curation.video_ids.settle_clashes`); other IDs are unchanged. A folder ``skip`` below ``path`` (the dataset being written, ``genxd curate videos -o
      videos/curated``) is passed over with all it holds: its frame folders are outputs, not inputs.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a file that is not a known video type.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"input not found: {root}")
    if not root.is_dir():
        require_file(root)  # a named pipe or a device: named as such (it read as "Not a directory")
    if root.is_file():
        if not _is_video(root):
            raise ValueError(
                f"{root}: not a video file (known suffixes: {', '.join(sorted(VIDEO_EXTENSIONS))})"
            )
        return [VideoSource(_safe_id(root.stem), root, "video")]
    children = sorted(root.iterdir())
    if not any(_is_video(c) for c in children) and any(is_frame_image(c) for c in children):
        return [VideoSource(_safe_id(root.name), root, "frames")]

    found: list[tuple[str, Path, str]] = []
    skipped: list[str] = []
    curated: list[Path] = []
    for file in _search(root, skip, curated):
        rel = file.relative_to(root)
        if _is_video(file):
            found.append(("/".join(rel.with_suffix("").parts), file, "video"))
        elif file.is_dir():
            entries = list(file.iterdir())
            if entries and any(is_frame_image(e) for e in entries) and not any(_is_video(e) for e in entries):
                found.append(("/".join(rel.parts), file, "frames"))
        elif file.suffix.lower() not in IMAGE_EXTENSIONS | COMPANION_EXTENSIONS:
            skipped.append(rel.as_posix())
    if skipped:
        _warn_skipped(root, skipped)
    if curated:
        _warn_curated(root, curated)
    stems = [_safe_id(stem.replace("/", "__")) for stem, _, _ in found]
    # ids exactly as before (a resumed curation finds its videos): a clashing video's id takes its suffix
    same = Counter(stems)
    suffixed = [same[vid] > 1 and kind == "video" for (_, _, kind), vid in zip(found, stems)]
    ids = [_safe_id(f"{vid}_{file.suffix.lstrip('.')}") if add else vid
           for (_, file, _), vid, add in zip(found, stems, suffixed)]
    # then only ids alike up to case (one folder on macOS and Windows): the suffix, else a hash (clip.mov, Clip.MOV)
    tries = [_safe_id(f"{vid}_{file.suffix.lstrip('.')}") if kind == "video" and not add else None
             for (_, file, kind), vid, add in zip(found, ids, suffixed)]
    ids = settle_clashes(ids, tries, [file.relative_to(root).as_posix() for _, file, _ in found])
    return [VideoSource(vid, file, kind) for vid, (_, file, kind) in zip(ids, found)]


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
    if frame.shape[-1] in (1, 2):  # gray, gray + alpha: alpha dropped
        frame = np.repeat(frame[..., :1], 3, axis=-1)
    if frame.shape[-1] == 4:
        frame = frame[..., :3]
    if frame.dtype != np.uint8:
        if frame.dtype == np.bool_:  # 1-bit images
            frame = frame.astype(np.uint8) * 255
        elif np.issubdtype(frame.dtype, np.floating):  # read by their range, as generate reads images
            finite = np.nan_to_num(frame, nan=0.0, posinf=0.0, neginf=0.0)  # a copy in its own dtype
            frame = to_uint8_by_range(finite, is_float=True)
        else:  # 16-bit images (wider and signed integers were made uint16 by _check_frame_array)
            frame = to_uint8_by_range(frame, is_float=False, sixteen_bit=True)
    h, w = frame.shape[:2]
    th, tw = resized_shape(h, w, resize)
    if (th, tw) != (h, w):
        interp = cv2.INTER_AREA if th * tw < h * w else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (tw, th), interpolation=interp)
    return np.ascontiguousarray(frame)



#: PIL modes read as they are (``uint8`` / ``uint16`` / ``float32`` arrays, gray or RGB(A)); every other mode is
#: converted (``1`` -> ``L``, ``LA`` -> ``L``, ``P`` -> RGB(A), CMYK / YCbCr / LAB / HSV -> RGB, 32-bit ``I`` ->
#: 16 bit).
_PIL_MODES_AS_IS = frozenset({"L", "RGB", "RGBA", "F", "I;16", "I;16B", "I;16L"})


def _pil_array(im) -> np.ndarray:
    """A loaded PIL image as an array :func:`_prepare` takes (gray, RGB or RGBA; 8 or 16 bit, or float)."""
    if im.mode in _PIL_MODES_AS_IS:
        return np.asarray(im)
    if im.mode == "I":  # 32-bit integer gray (16-bit PNGs of some writers): kept as 16 bit
        a = np.asarray(im)
        if a.size and a.max() <= 255:
            return np.clip(a, 0, 255).astype(np.uint8)
        return np.clip(a, 0, 65535).astype(np.uint16)
    if im.mode in ("1", "LA", "La"):
        return np.asarray(im.convert("L"))
    if im.mode in ("P", "PA"):
        has_alpha = im.mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    return np.asarray(im.convert("RGBA" if im.mode == "RGBa" else "RGB"))


def _check_frame_array(frame, file: Path) -> np.ndarray:
    """``frame`` as a single gray / RGB(A) image array, or VideoReadError naming ``file``."""
    frame = np.asarray(frame)
    if frame.ndim == 4 and frame.shape[0] == 1:  # a reader that gives a stack of one
        frame = frame[0]
    ok_dtype = frame.dtype == np.bool_ or np.issubdtype(frame.dtype, np.integer) or np.issubdtype(
        frame.dtype, np.floating)
    if not ok_dtype or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[-1] not in (1, 2, 3, 4)) \
            or 0 in frame.shape:
        raise VideoReadError(f"cannot read frame {file.name}: not a single gray or colour image "
                             f"({frame.dtype} {frame.shape})")
    if np.issubdtype(frame.dtype, np.integer) and frame.dtype.itemsize > 2:  # signed / 32-bit: clip to 16 bit
        frame = np.clip(frame, 0, 65535).astype(np.uint16)
    elif np.issubdtype(frame.dtype, np.signedinteger):
        frame = np.clip(frame, 0, None).astype(np.dtype(frame.dtype).str.replace("i", "u"))
    return frame


def _read_image_upright(file: Path) -> np.ndarray:
    """One frame file; a photo's EXIF orientation applied (phone pictures are stored sideways with it).

    PIL reads it where it can (every mode converted to gray / RGB(A), see :func:`_pil_array`); imageio (e.g.
    tifffile) reads what PIL cannot. Raises VideoReadError naming the file for what neither reads, or what is
    not a single gray or colour image.
    """
    import imageio.v3 as iio
    import PIL.ImageOps

    from ..utils.image_limits import ImageRefusedError, open_image
    from ..utils.png16 import load_rounded

    try:
        with open_image(file) as im:
            im = PIL.ImageOps.exif_transpose(load_rounded(im, file))  # a 16-bit colour PNG / TIFF at full depth
            return _check_frame_array(_pil_array(im), file)
    except VideoReadError:
        raise
    except ImageRefusedError as exc:  # the limit generate and reconstruct apply (PIL only warns up to twice it), HEIC
        raise VideoReadError(f"cannot read frame {str(exc).replace(str(file), file.name, 1)}") from None
    except Exception:  # noqa: BLE001 - not for PIL: imageio below reads it or says why not
        pass
    return _check_frame_array(iio.imread(file, index=0), file)


def _iter_folder_frames(path: Path, wanted=None):
    for index, file in enumerate(frame_files(path)):
        if wanted is not None and not wanted(index):
            yield None
            continue
        try:
            yield _read_image_upright(file)
        except VideoReadError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise VideoReadError(f"cannot read frame {file.name}: {exc}") from None


def count_frames(source: VideoSource | str | Path, exact: bool = False) -> int | None:
    """How many frames a video file or frame folder holds: the folder's image files, or how many frames the
    video's container says it shows (``None`` when it states none; it can be off by a few for some files; a clip
    trimmed with an edit list counts only the frames shown: :func:`~.video_streams.shown_frame_count`). With
    ``exact``, a video's frames are counted by decoding them all (none is converted or held: slow for long
    clips, small in memory); ``None`` when the file cannot be read."""
    source = _as_source(source)
    if source.kind == "frames":
        return len(frame_files(source.path))
    if exact:
        try:
            return sum(1 for _ in _iter_video_frames(source.path, wanted=lambda index: False, check_length=False))
        except VideoReadError:
            return None
    import av

    try:
        with av.open(str(source.path)) as container:
            stream = main_video_stream(container)
            return None if stream is None else shown_frame_count(stream, container)
    except Exception:  # noqa: BLE001 - unreadable: read_frames says why
        return None


def _gib(num_bytes: float) -> str:
    return f"{num_bytes / 2**30:.2f} GiB" if num_bytes >= 2**29 else f"{num_bytes / 2**20:.1f} MiB"


class _FrameBudget:
    """Stops a read whose frames would not fit in ``max_bytes`` (uint8 RGB after resizing), before they are decoded
    when the frame count is known, with what to pass instead; the alternative is being killed for memory."""

    def __init__(self, name: str, max_bytes: int | None, expected_frames: int | None):
        self.name, self.max_bytes, self.expected = name, max_bytes, expected_frames
        self.held = 0

    def add(self, frame: np.ndarray) -> None:
        max_bytes = self.max_bytes
        if max_bytes is None:
            return
        if self.held == 0 and self.expected is not None and self.expected * frame.nbytes > max_bytes:
            self._fail(self.expected, frame, max_bytes)  # the first frame tells the size: stop before decoding the rest
        self.held += frame.nbytes
        if self.held > max_bytes:
            self._fail(None, frame, max_bytes)

    def _fail(self, count: int | None, frame: np.ndarray, max_bytes: int) -> None:
        h, w = frame.shape[:2]
        fits = max(1, max_bytes // frame.nbytes)
        what = (f"{count} frames of {w}x{h} would take {_gib(count * frame.nbytes)}" if count is not None
                else f"more than {fits} frames of {w}x{h} (over {_gib(max_bytes)})")
        raise FrameMemoryError(
            f"{self.name}: {what} in memory, above the limit of {_gib(max_bytes)}; keep fewer frames "
            f"({setting('max_frames', fits)}, or a {setting('stride')}) or smaller ones ({setting('resize')})"
        )


def _as_source(source: VideoSource | str | Path) -> VideoSource:
    """``source`` as a :class:`VideoSource`; a video written with other files as one group (``genxd synth --format
    video``: NAME.mp4 and NAME.json) whose replacement was stopped is finished first (genxd.utils.file_groups)."""
    from genxd.utils.file_groups import settle

    if not isinstance(source, VideoSource):
        path = Path(source)
        source = VideoSource(_safe_id(path.stem), path, "frames" if path.is_dir() else "video")
    settle(source.path)
    return source


def read_frames(
    source: VideoSource | str | Path,
    stride: int = 1,
    max_frames: int | None = None,
    resize: int | tuple[int, int] | None = None,
    indices=None,
    max_bytes: int | None = None,
    times: list | None = None,
    known_times: Sequence | None = None,
) -> np.ndarray:
    """Decode every ``stride``-th frame (at most ``max_frames``), resized, upright (a video's display rotation
    and a frame file's EXIF orientation applied), in square pixels (an anamorphic video's frames stretched to
    the shape it is shown at: 96x192 stored at a pixel aspect of 2:1 reads 192x192).

    Args:
        source: a :class:`VideoSource`, a video file or a folder of frames.
        stride: keep frames ``0, stride, 2*stride, ...``.
        max_frames: stop after this many kept frames (``None``: all).
        resize: ``None`` (keep), ``int`` (longer side in pixels) or ``(W, H)``.
        indices: instead of ``stride``, the frames to keep (increasing frame indices; those past the end are
            left out). Only these are converted and held in memory.
        max_bytes: the most memory the returned frames may take; a read that would need more fails with a
            :class:`FrameMemoryError` that says what to pass instead (before decoding the rest when the frame
            count is known). ``None``: no limit.
        times: a list to fill with each returned frame's presentation time in seconds (a video's timestamps:
            a variable-frame-rate clip's frames are not evenly spaced); ``None`` where unknown (frame folders).
        known_times: with ``indices``, a video's frame times from an earlier pass (every frame's up to the first
            index at least, as ``times`` gets them): decoding starts at the keyframe before the first index, not at
            the clip's start, the same frames read (:func:`genxd.curation.video_decode.iter_video_frames`' ``seek``).
    Returns:
        ``uint8 [N, H, W, 3]`` RGB frames.
    Raises:
        VideoReadError: unreadable, empty, or frames of varying size.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if max_bytes is not None and max_bytes < 1:
        raise ValueError(f"max_bytes must be >= 1 (or None: no limit), got {max_bytes}")
    source = _as_source(source)
    if not source.path.exists():
        raise VideoReadError(f"input not found: {source.path}")
    if indices is not None:
        keep = {int(i) for i in indices}
        last = max(keep, default=-1)
        wanted: Callable[[int], bool] = keep.__contains__
    else:
        last, wanted = None, (lambda index: index % stride == 0)
    expected = None
    if max_bytes is not None:
        if indices is not None:
            expected = len(keep)
        else:
            total = count_frames(source)
            expected = None if total is None else -(-total // stride)
            if expected is not None and max_frames is not None:
                expected = min(expected, max_frames)
    budget = _FrameBudget(source.path.name, max_bytes, expected)
    end = DecodeEnd()  # where a video's decoding stopped at damaged data, if it did
    if source.kind == "frames":
        iterator = _iter_folder_frames(source.path, wanted)
    else:
        seek = (min(keep), known_times) if indices is not None and keep and known_times is not None else None
        iterator = _iter_video_frames(source.path, wanted, times=times, end=end, seek=seek)
    frames: list[np.ndarray] = []
    kept: list[int] = []  # each frame's index in the video
    try:
        for index, frame in enumerate(iterator):
            if frame is not None:
                if times is not None and source.kind == "frames":
                    times.append(None)
                frames.append(_prepare(np.asarray(frame), resize))
                kept.append(index)
                budget.add(frames[-1])
            if (max_frames is not None and len(frames) >= max_frames) or (last is not None and index >= last):
                break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    if end.reason is not None:  # the frames read for after the damage are lost
        if not frames:
            raise VideoReadError(f"{source.path.name}: decoding stopped at damaged data after {end.decoded} frames "
                                 f"({end.reason}); none of the frames asked for came before it")
        warn_damaged(source.path, end.decoded, end.reason)
    if not frames:
        raise VideoReadError(f"{source.path.name}: no frames could be decoded (empty video)")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        which = _first_odd_frame(source, frames, kept)
        raise MixedFrameSizesError(f"{source.path.name}: frames have different sizes {sorted(shapes)} ({which}); use "
                                   f"{setting('resize', 'WxH')}", sorted(shapes), which)
    return np.stack(frames)


def _first_odd_frame(source: VideoSource, frames: list[np.ndarray], kept: list[int]) -> str:
    """``"f10.png is 48x64, f00.png is 64x48"``: the first frame whose size differs from the first frame's, by file
    name in a frame folder, else by number (``frame 120``): one stray picture among hundreds of frames, or a video
    whose size changes midway, was found only by hand."""
    names = [f.name for f in frame_files(source.path)] if source.kind == "frames" else []

    def name(i: int) -> str:
        return names[kept[i]] if kept[i] < len(names) else f"frame {kept[i]}"

    odd = next(i for i, f in enumerate(frames) if f.shape != frames[0].shape)
    (h, w), (h0, w0) = frames[odd].shape[:2], frames[0].shape[:2]
    return f"{name(odd)} is {w}x{h}, {name(0)} is {w0}x{h0}"
