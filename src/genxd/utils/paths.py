"""Paths listed inside user files (transforms.json, COLMAP models, ReconFusion index.json), kept inside
the listing folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["path_inside"]


def path_inside(folder: str | os.PathLike, relative: str, listed_in: str | os.PathLike) -> Path:
    """``folder / relative``, refused when ``relative`` is absolute or leaves ``folder`` through ``..``.

    Raises ValueError naming ``listed_in`` (the file that lists the path). The check is on the path as
    written, after normalising ``.`` and ``..`` (``a/../b.png`` is fine, ``../b.png``, ``/etc/passwd`` and
    ``C:/x`` are not); symbolic links inside the folder are followed: they are the folder owner's doing.
    """
    folder = Path(folder)
    text = str(relative).replace("\\", "/")
    if not text or "\x00" in text:
        raise ValueError(f"{listed_in}: empty or invalid file path {relative!r}")
    if text.startswith("/") or (len(text) >= 2 and text[1] == ":"):
        raise ValueError(f"{listed_in}: file path {relative!r} is absolute; only files inside {folder} are read")
    normal = os.path.normpath(text)
    if normal == ".." or normal.startswith("../"):
        raise ValueError(f"{listed_in}: file path {relative!r} points outside {folder}; only files inside it are read")
    return folder / normal
