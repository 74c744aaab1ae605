"""Phone photo formats Pillow may not read by itself: HEIC / HEIF (iPhones' default) and AVIF.

Both are ISO media files (an ``ftyp`` box naming the brand), told apart from their first bytes whatever the file
is called (an iPhone export named ``.jpg`` may be HEIC). HEIC is read through the pillow-heif plugin when it is
installed (``pip install pillow-heif``); AVIF by Pillow itself (its wheels from 11.3 on). Where neither can, the
error says what to install, instead of Pillow's "cannot identify image file". Torch-free.
"""

from __future__ import annotations

import functools
import os
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import TypeIs

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}


def container_kind(head: bytes) -> str | None:
    """``"AVIF"``, ``"HEIC"`` or None from a file's first bytes (its ``ftyp`` box: major and compatible brands)."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    brands = {head[8:12]} | {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIC"
    return None


def is_file_object(source: str | os.PathLike | IO[bytes]) -> TypeIs[IO[bytes]]:
    """Whether ``source`` is an open binary file object (it has ``read``), not a path."""
    return hasattr(source, "read")


def read_head(source: str | os.PathLike | IO[bytes], n: int = 64) -> bytes:
    """The first ``n`` bytes of a file or of a seekable binary file object (its position kept); b"" if unreadable."""
    try:
        if is_file_object(source):
            at = source.tell()
            head = source.read(n)
            source.seek(at)
            return head
        with open(source, "rb") as f:
            return f.read(n)
    except (OSError, ValueError):
        return b""


@functools.lru_cache(maxsize=1)
def register_heif_plugin() -> bool:
    """Register pillow-heif's opener with Pillow, once; False when it is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def prepare_decoder(source: str | os.PathLike | IO[bytes]) -> str | None:
    """Before ``PIL.Image.open(source)``: the file's :func:`container_kind`, pillow-heif registered for a HEIC
    file (where installed). On Pillow's "cannot identify image file", a kind that is not None means
    :func:`missing_decoder_message` says why."""
    kind = container_kind(read_head(source))
    if kind == "HEIC":
        register_heif_plugin()
    return kind


def missing_decoder_message(kind: str) -> str:
    """Why a ``kind`` (``container_kind``) file cannot be read here, and what to install."""
    import PIL

    if kind == "HEIC":
        return ("a HEIC / HEIF photo (an iPhone's default format), which Pillow reads only with the pillow-heif "
                "plugin: pip install pillow-heif (or convert it to JPEG / PNG)")
    return (f"an AVIF image, which this Pillow ({PIL.__version__}) cannot decode: pip install -U 'pillow>=11.3' "
            "(its wheels read AVIF), or convert it to JPEG / PNG")


__all__ = ["container_kind", "is_file_object", "missing_decoder_message", "prepare_decoder", "read_head",
           "register_heif_plugin"]
