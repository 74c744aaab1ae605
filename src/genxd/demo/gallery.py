"""The input gallery's pictures: each uploaded image as a file a browser shows.

The gallery serves its files as they are. Browsers show PNG, JPEG, GIF, WebP and BMP, but not TIFF, HEIC / HEIF or
a JPEG named ``.mpo`` (no image MIME type), which the page takes: those are shown as a PNG of the image as
generation reads it (:func:`genxd.utils.images.read_rgb`: EXIF orientation applied, transparency on white).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BROWSER_IMAGE_SUFFIXES", "gallery_picture"]

#: suffixes of the image files every current browser shows as they are
BROWSER_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})
#: the longest side of a PNG made for the gallery (its thumbnails are 140 pixels high)
GALLERY_SIDE = 512


def gallery_picture(image: Path, folder: Path) -> Path:
    """``image`` itself where a browser shows it, else a PNG of it in ``folder`` (named after it, at most
    :data:`GALLERY_SIDE` pixels a side)."""
    if image.suffix.lower() in BROWSER_IMAGE_SUFFIXES:
        return image
    from ..utils.images import read_rgb

    picture = read_rgb(image, at_least=GALLERY_SIDE)
    picture.thumbnail((GALLERY_SIDE, GALLERY_SIDE))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{image.name}.png"
    picture.save(out)
    return out
