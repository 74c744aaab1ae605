"""OpenCV image files at any path.

``cv2.imread`` and ``cv2.imwrite`` hand the path to C++ as UTF-8 and crash the whole process (SIGSEGV, OpenCV
4.x) when it holds bytes that are not UTF-8 (Python's surrogates, from a file or folder name in another
encoding, or any name outside ASCII under ``LC_ALL=C`` without Python's UTF-8 mode): ``genxd curate video.mp4 -o
$'out\\xff'`` died with a C stack trace. These read and write the file in Python and leave OpenCV the bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["imread", "imwrite"]


def imread(path: str | Path, flags: int) -> np.ndarray | None:
    """``cv2.imread(path, flags)`` for any path: the image, or None when it cannot be decoded."""
    import cv2

    with open(path, "rb") as fh:
        data = np.frombuffer(fh.read(), np.uint8)
    return cv2.imdecode(data, flags) if data.size else None


def imwrite(path: str | Path, image: np.ndarray) -> bool:
    """``cv2.imwrite(path, image)`` for any path (the format from the suffix): whether it was written."""
    import cv2

    ok, encoded = cv2.imencode(Path(path).suffix or ".png", image)
    if ok:
        with open(path, "wb") as fh:
            fh.write(encoded.tobytes())
    return bool(ok)
