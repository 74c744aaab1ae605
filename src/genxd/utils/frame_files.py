"""The image files of a frame folder, in frame order: how every reader of a folder of frames lists it (curation's
frame reader, ``genxd eval-camera``'s pairing of cameras with frames). No heavy imports (no cv2, PyAV, numpy or
torch): a caller that only lists frames need not load the curation package."""

from __future__ import annotations

from pathlib import Path

from .natural_order import natural_key

__all__ = ["IMAGE_EXTENSIONS", "is_frame_image", "frame_files"]

#: Suffixes of a frame folder's frames; ``.mpo`` (a stereo camera's JPEG): its first (left) picture, as everywhere.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".mpo", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def is_frame_image(path: Path) -> bool:
    """Whether ``path`` is a frame of a frame folder: a file with an image suffix (any case), not hidden (macOS's
    ``._frame.png`` beside a copied ``frame.png`` is metadata)."""
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def frame_files(folder: Path) -> list[Path]:
    """The image files of the frame folder ``folder`` in frame order: by name, numbers compared as numbers
    (``f_2`` before ``f_10``)."""
    return sorted((f for f in folder.iterdir() if is_frame_image(f)), key=lambda f: natural_key(f.name))
