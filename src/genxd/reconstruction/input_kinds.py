"""Which kind of input a folder is (:func:`detect_input_kind`), for the readers of
:func:`genxd.reconstruction.views.load_views`, and the hints that name the folder to give instead."""

from __future__ import annotations

import os
from pathlib import Path

from ..utils.paths import loop_note

__all__ = ["colmap_dataset_above", "detect_input_kind", "find_colmap_model"]


def find_colmap_model(folder: Path) -> Path | None:
    """The COLMAP model folder of a dataset folder (``0/``, ``sparse/0/`` or ``sparse/``), if any."""
    for candidate in (folder / "0", folder / "sparse" / "0", folder / "sparse"):
        if (candidate / "cameras.bin").is_file() or (candidate / "cameras.txt").is_file():
            return candidate
    return None


def detect_input_kind(path: str | os.PathLike) -> str:
    """``"transforms"``, ``"colmap"``, ``"reconfusion"``, ``"idr"`` (a DTU scan in IDR's layout) or ``"dtu"``
    (DTU's ``Rectified/scanN``) for a supported input folder."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder{loop_note(path)}")
    if path.is_file() and path.name.endswith(".json"):
        return "transforms"
    if not path.is_dir():
        raise ValueError(f"{path}: expected a folder (generate output, transforms.json folder, COLMAP model)")
    if (path / "transforms.json").is_file():
        return "transforms"
    if find_colmap_model(path) is not None:
        return "colmap"
    if (path / "index.json").is_file():
        return "reconfusion"
    from .dtu_idr import is_idr_scan
    from .dtu_raw import is_dtu_scan

    if is_idr_scan(path):
        return "idr"
    if is_dtu_scan(path):
        return "dtu"
    raise ValueError(
        f"{path}: not a supported input: expected transforms.json, a COLMAP model (images/ + 0/ or "
        "sparse/0/), a ReconFusion folder (index.json) or a DTU scan (IDR's image/ + cameras.npz, or "
        f"DTU's Rectified/scanN){colmap_dataset_above(path) or _inputs_inside(path)}"
    )


def colmap_dataset_above(folder: Path) -> str:
    """``"; it is part of the COLMAP dataset D ...: give that folder"`` when ``folder`` is the model folder or the
    ``images/`` of a COLMAP dataset ``D`` one or two levels up (the folders people give first), else ``""``."""
    resolved = folder.resolve()
    for above in (resolved.parent, resolved.parent.parent):
        model = find_colmap_model(above)
        if model is not None and (above / "images").is_dir() and resolved in (above / "images", model, model.parent):
            return f"; it is part of the COLMAP dataset {above} (images/ + {model.relative_to(above).as_posix()}/): give that folder"
    return ""


def _inputs_inside(folder: Path, shown: int = 2) -> str:
    """``"; it holds N scene folders (a/, b/, ...): give one"`` when sub-folders of ``folder`` hold a
    ``transforms.json`` (``genxd generate -o OUT`` writes one folder per scene in OUT), else ``""``."""
    try:
        scenes = sorted(d.name for d in folder.iterdir() if not d.name.startswith(".")
                        and (d / "transforms.json").is_file())
    except OSError:
        return ""
    if not scenes:
        return ""
    more = ", ..." if len(scenes) > shown else ""
    named = ", ".join(f"{folder / name}" for name in scenes[:shown])
    return (f"; it holds {len(scenes)} scene folder{'s' if len(scenes) > 1 else ''} ({named}{more}): give one "
            "(genxd generate writes one folder per input)")
