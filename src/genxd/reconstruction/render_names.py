"""File names of a reconstruction's renders (``renders/`` of ``genxd reconstruct``, ``eval_renders/`` of
``genxd eval-recon --save-renders``): one PNG per view, named after it."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def safe_name(name: str) -> str:
    """``name`` without its suffix, ``/`` as ``_`` and any character but letters, digits and ``._-`` as ``_``."""
    stem = Path(name).with_suffix("").as_posix().replace("/", "_")
    return "".join(c if (c.isalnum() or c in "._-") else "_" for c in stem) or "view"


def render_file_names(names: Sequence[str]) -> list[str]:
    """One PNG file name per view, from its name (:func:`safe_name`), never two alike, also up to letter case and
    Unicode normalisation (one file on macOS and Windows: :func:`~genxd.utils.paths.name_key`): ``a b.png`` and
    ``a_b.png``, ``x.png`` and ``x.jpg``, ``IMG.png`` and ``img.jpg`` each rendered over the other."""
    from genxd.utils.paths import name_key

    used: set[str] = set()
    out = []
    for name in names:
        stem = safe_name(name)
        while name_key(stem) in used:
            stem += "_"
        used.add(name_key(stem))
        out.append(f"{stem}.png")
    return out
