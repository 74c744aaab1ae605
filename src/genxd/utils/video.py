"""Writing and reading mp4 videos, atomically: imageio's bundled ffmpeg (H.264, yuv420p), or OpenCV's
writer (MPEG-4 part 2) where imageio-ffmpeg is not installed."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .disk_space import disk_full
from .io import atomic_file

#: The default frame rate's ceiling (a long path of 10,000 frames at frames / 2 made a 5,000 fps video: beyond
#: players, and beyond ``--fps``'s own limit of 1,000)
MAX_DEFAULT_FPS = 30.0


def default_fps(num_frames: int) -> float:
    """The frame rate of a scene's videos when none is asked: ``num_frames / 2`` (the authors' ``num_frames // 2``, the
    same for even counts: an 8-frame window plays in 2 s), at least 1 and at most :data:`MAX_DEFAULT_FPS` (paths of
    over 60 frames play at 30 fps)."""
    return min(MAX_DEFAULT_FPS, max(1.0, num_frames / 2))


def write_mp4(path: str | Path, frames: np.ndarray, fps: float = 8.0, quality: int = 8,
              shown_as: str | Path | None = None, replace: bool = True) -> Path:
    """Write ``uint8 [N, H, W, 3]`` frames as an H.264 mp4 atomically (no half-written file on Ctrl-C), its index
    first (``faststart``) and its colour matrix tagged (BT.601, limited range).

    H and W must be even (yuv420p); odd sizes are padded by one pixel with edge values. ``shown_as``: the name
    an error gives the file (its final place, when ``path`` is inside a temporary folder). ``replace=False``: an
    existing file (another run wrote it meanwhile) is kept and a ``FileExistsError`` raised. The frames of a long
    path can be given a few at a time instead: :class:`Mp4Stream` (the same file).
    """
    with Mp4Stream(path, fps, quality, shown_as, replace) as stream:
        stream.append(frames)
    return Path(path)


class Mp4Stream:
    """An mp4 written a few frames at a time (:func:`write_mp4`'s file, without holding every frame): ``with
    Mp4Stream(path, fps) as s: s.append(frames)`` for each run of ``uint8 [n, H, W, 3]`` frames. The file appears
    at ``path`` (renamed from a temporary, checked whole) when the block ends without an error; on an error (or
    no frame appended) nothing is left there."""

    def __init__(self, path: str | Path, fps: float = 8.0, quality: int = 8, shown_as: str | Path | None = None,
                 replace: bool = True):
        self.path, self.fps, self.quality, self.replace = Path(path), fps, quality, replace
        self.shown = self.path if shown_as is None else Path(shown_as)
        self.frames = 0
        self._stack: contextlib.ExitStack | None = None
        self._tmp: Path | None = None
        self._writer: Any = None  # OpenCV's or imageio's: opened on the first frames (their size decides its)
        self._opencv = not _has_imageio_ffmpeg()

    def __enter__(self) -> Mp4Stream:
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_file(self.path, replace=self.replace))
        return self

    def append(self, frames: np.ndarray) -> None:
        """Add ``uint8 [n, H, W, 3]`` frames (the size of the first ones for all)."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 [N, H, W, 3], got {frames.dtype} {frames.shape}")
        pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
        if pad_h or pad_w:
            frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        if self._writer is None:
            self._writer = self._open(frames.shape[1], frames.shape[2])
        for frame in frames:
            if self._opencv:
                self._writer.write(np.ascontiguousarray(frame[..., ::-1]))
            else:
                self._writer.append_data(frame)
        self.frames += len(frames)

    def _open(self, height: int, width: int):
        assert self._tmp is not None and self._stack is not None, "use Mp4Stream in a with block"
        if self._opencv:
            import cv2

            from .cv2_files import opencv_path

            name = self._stack.enter_context(opencv_path(self._tmp))  # a folder name that is not UTF-8
            writer = cv2.VideoWriter(name, cv2.VideoWriter.fourcc(*"mp4v"), float(self.fps), (width, height))
            if not writer.isOpened():
                raise RuntimeError("cannot write mp4: install imageio-ffmpeg (pip install imageio-ffmpeg)")
            return writer
        import imageio.v2 as imageio

        return imageio.get_writer(
            str(self._tmp), format="FFMPEG", mode="I", fps=self.fps, codec="libx264", quality=self.quality,
            pixelformat="yuv420p", macro_block_size=1,
            # ffmpeg's own lines off: they went straight to the terminal (a full disk printed six of them before
            # genxd's one line); a failed write is found by check_mp4_complete and named there
            ffmpeg_log_level="fatal",
            output_params=list(_MP4_OUTPUT_PARAMS),
        )

    def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release() if self._opencv else writer.close()

    def __exit__(self, kind, exc, tb) -> bool:
        assert self._stack is not None
        stack, self._stack = self._stack, None
        try:
            self._close_writer()
            if kind is None:
                if self.frames == 0:
                    raise ValueError("no frames to write")
                assert self._tmp is not None  # set by __enter__
                check_mp4_complete(self._tmp, self.shown)
        except BaseException:
            if kind is None:  # this block's own error: the temporary removed, the error raised
                stack.__exit__(*sys.exc_info())
                raise
        return bool(stack.__exit__(kind, exc, tb))


#: ffmpeg settings of every mp4 genxd writes: the index (``moov``) before the frames, so that a browser plays the
#: file while it downloads, and the colour matrix tagged as the one ffmpeg converts RGB with (BT.601, limited
#: range): untagged, players assume BT.709 for HD sizes and shift the colours.
_MP4_OUTPUT_PARAMS = ("-movflags", "+faststart", "-colorspace", "smpte170m", "-color_range", "tv")

#: Top-level MP4 boxes a playable file written by ffmpeg or OpenCV has.
_MP4_REQUIRED_BOXES = (b"ftyp", b"moov", b"mdat")


def check_mp4_complete(path: str | Path, name: str | Path | None = None) -> None:
    """Raise :class:`OSError` unless ``path`` is a whole MP4 file: its top-level boxes (ISO BMFF) tile the file
    exactly and include ``ftyp``, ``moov`` and ``mdat``. ``name`` is the file named in the message (the final
    path when ``path`` is its temporary).

    The video writers do not report ffmpeg's exit status (imageio-ffmpeg leaves it unchecked; OpenCV's writer
    returns nothing), so a disk that fills up mid-write left a cut-short file that was then renamed into place.
    A full disk is reported as ``ENOSPC`` (one line in the CLI).
    """
    import errno

    path = Path(path)
    size = path.stat().st_size
    seen, pos = set(), 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                break
            box, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if box == 1 and len(head) == 16:
                box = int.from_bytes(head[8:16], "big")
            elif box == 0:
                box = size - pos
            if box < 8:
                break
            seen.add(kind)
            pos += box
    if pos == size and all(kind in seen for kind in _MP4_REQUIRED_BOXES):
        return
    shown = name if name is not None else path
    if disk_full(path.parent):
        raise OSError(errno.ENOSPC, f"No space left on device: the video {shown} was cut short")
    raise OSError(errno.EIO, f"the video writer (ffmpeg) stopped before finishing {shown}")


def _has_imageio_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def read_mp4(path: str | Path) -> np.ndarray:
    """All frames of a video as ``uint8 [N, H, W, 3]``."""
    if not _has_imageio_ffmpeg():
        import cv2

        from .cv2_files import opencv_path

        out = []
        with opencv_path(path) as name:  # OpenCV crashed on a path that is not UTF-8
            cap = cv2.VideoCapture(name)
            try:
                while True:
                    ok, frame = cap.read()
                    if not ok:
                        break
                    out.append(frame[..., ::-1])
            finally:
                cap.release()
        if not out:
            raise ValueError(f"{path}: no frames could be read")
        return np.stack(out)
    import imageio.v2 as imageio

    reader = imageio.get_reader(str(path), format="FFMPEG")
    try:
        # imageio's stub says Reader.__iter__ returns an Array; it yields the frames
        return np.stack([np.asarray(f)[..., :3] for f in reader])  # type: ignore[attr-defined]
    finally:
        reader.close()
