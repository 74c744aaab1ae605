"""OpenCV image and video files at any path.

``cv2.imread`` and ``cv2.imwrite`` hand the path to C++ as UTF-8 and crash the whole process (SIGSEGV, OpenCV
4.x) when it holds bytes that are not UTF-8 (Python's surrogates, from a file or folder name in another
encoding, or any name outside ASCII under ``LC_ALL=C`` without Python's UTF-8 mode): ``genxd curate video.mp4 -o
$'out\\xff'`` died with a C stack trace. These read and write the file in Python and leave OpenCV the bytes.
``cv2.VideoWriter`` and ``cv2.VideoCapture`` crash alike and take only a name: :func:`opencv_path` gives them one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .links import link_file

__all__ = ["imread", "imread_or_fail", "imwrite", "opencv_path"]


def imread(path: str | Path, flags: int) -> np.ndarray | None:
    """``cv2.imread(path, flags)`` for any path: the image, or None when it cannot be decoded."""
    import cv2

    with open(path, "rb") as fh:
        data = np.frombuffer(fh.read(), np.uint8)
    return cv2.imdecode(data, flags) if data.size else None


def imread_or_fail(path: str | Path, flags: int) -> np.ndarray:
    """:func:`imread` that raises ValueError naming the file when it cannot be decoded (empty, damaged, not an
    image) and FileNotFoundError when it is gone, where ``cv2.imread``'s None would fail later as an AttributeError."""
    try:
        image = imread(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file (it was removed while it was read?)") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not an image") from None
    if image is None:
        raise ValueError(f"{path}: cannot be read as an image (empty, damaged or not an image)")
    return image


def imwrite(path: str | Path, image: np.ndarray) -> bool:
    """``cv2.imwrite(path, image)`` for any path (the format from the suffix): whether it was written."""
    import cv2

    ok, encoded = cv2.imencode(Path(path).suffix or ".png", image)
    if ok:
        with open(path, "wb") as fh:
            fh.write(encoded.tobytes())
    return bool(ok)


@contextlib.contextmanager
def opencv_path(path: str | Path) -> Iterator[str]:
    """A name of ``path`` that OpenCV can take (``cv2.VideoWriter``, ``cv2.VideoCapture``): the path itself when it
    is UTF-8; else, for the block, a symbolic link to it with an ASCII name in a temporary folder (the file is
    read or written where it is). Where symbolic links are not allowed (Windows without the privilege: the
    OSError ended the read or write), a hard link, else a copy, copied back when the block wrote to it; with a
    warning. ``path`` must exist (a writer's is its atomic temporary file)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        yield text
        return
    suffix = Path(text).suffix
    suffix = suffix if suffix.isascii() and suffix.isprintable() else ""
    with tempfile.TemporaryDirectory(prefix="genxd-opencv-") as folder:
        link = os.path.join(folder, "file" + suffix)
        made = link_file(text, link, f"OpenCV's name of {text!r}")  # no symbolic links on Windows without the right
        before = _stamp(link) if made == "copy" else None
        yield link
        if before is not None and _stamp(link) != before:  # written through the copy: the file gets what was written
            shutil.copyfile(link, text)


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
