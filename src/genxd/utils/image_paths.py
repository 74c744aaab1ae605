"""Which files are input images: suffixes, and files and folders expanded into image paths.

Kept free of torch, numpy and PIL so that the command line can check its inputs before it loads them
(``genxd generate missing.png`` fails at once instead of after seconds of imports).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .paths import IMAGE_SUFFIXES, reachable, require_file, require_readable


def folder_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (by suffix, :data:`IMAGE_SUFFIXES`), sorted by name; maybe none.
    Hidden files are left out: macOS's ``._photo.png`` beside a copied ``photo.png`` is metadata, not an image."""
    return sorted(q for q in folder.iterdir()
                  if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES and not q.name.startswith("."))


def collect_images(inputs: Iterable[str | os.PathLike], seen: set[str] | None = None) -> list[Path]:
    """Expand files and folders (their images, sorted by name) into a list of image paths.

    A file given twice (also through a folder) is kept once, at its first place. Raises
    FileNotFoundError for a missing path and ValueError for a file that is not an image, a folder with
    no images, or an entry that is not a path. ``seen``: the real paths of files taken by earlier calls (updated;
    with it an empty result is no error: the caller collects its inputs in several calls).
    """
    from ..validation import InvalidType, arg

    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    out: list[Path] = []
    several_calls = seen is not None
    seen = set() if seen is None else seen
    for item in inputs:
        if not isinstance(item, (str, os.PathLike)) or isinstance(item, bytes):
            raise InvalidType(f"{arg('images')}: expected file or folder paths, got {item!r} ({type(item).__name__})")
        p = Path(item).expanduser()
        if not reachable(p, "image file" if p.suffix.lower() in IMAGE_SUFFIXES else "image folder"):
            raise FileNotFoundError(f"{p}: no such file or folder")
        if p.is_dir():
            require_readable(p, "image folder")  # was the system's "[Errno 13] Permission denied: 'FOLDER'"
            found = folder_images(p)
            if not found:
                raise ValueError(f"{p}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            found = [require_file(p)]  # not a named pipe or a device
        else:
            raise ValueError(f"{p}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
        for q in found:
            key = os.path.realpath(q)
            if key not in seen:
                seen.add(key)
                out.append(q)
    if not out and not several_calls:
        raise ValueError("no input images given")
    return out


__all__ = ["IMAGE_SUFFIXES", "collect_images", "folder_images"]
