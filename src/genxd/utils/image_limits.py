"""The one size limit every genxd image-file reader applies, free of torch (curation imports it on Ray workers).

PIL warns on images over ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 Mpx) and refuses them only from twice
that; genxd refuses from the warning limit on, in one message naming the file (:func:`too_large_message`),
so ``generate``, ``reconstruct`` and ``curate`` accept and refuse the same images.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import IO, Iterator

import PIL.Image
import PIL.ImageFile


#: Python's warning filters are process-wide; genxd's image blocks that change them (``open_image``, the web app's
#: upload check) hold this lock so no two of them interleave (in the web app's handler threads, two
#: ``warnings.catch_warnings`` blocks exited in the other order than entered undid one thread's filter while it read
#: an image, and left the other's on for the whole process). It orders only these blocks: another thread's own
#: ``catch_warnings`` (a library's) can still interleave with one, and while one runs, Pillow's
#: DecompressionBombWarning is an error in every thread. Re-entrant: a block may open another inside it.
WARNING_FILTERS_LOCK = threading.RLock()


class ImageRefusedError(ValueError):
    """An image file refused with a complete one-line message naming it (callers pass it on as it is)."""


class ImageTooLargeError(ImageRefusedError):
    """An image over the decompression limit, or too large to decode in the memory there is."""


class ImageFormatError(ImageRefusedError):
    """A HEIC or AVIF file that no installed decoder reads (the message says what to install)."""


def too_large_message(path: str | os.PathLike | IO[bytes]) -> str:
    """Why an image over PIL's decompression-bomb warning limit (``PIL.Image.MAX_IMAGE_PIXELS``) is refused."""
    return (f"{path}: image too large: over PIL's decompression-bomb limit of {PIL.Image.MAX_IMAGE_PIXELS:,} "
            "pixels (downscale it first)")


#: Pillow's formats whose decoder scales in the DCT (``draft``). "MPO": a JPEG with more pictures after it (MPF data:
#: many phones' and cameras' photos carry a preview or a depth map), opened as its first picture
DCT_SCALED_FORMATS = ("JPEG", "MPO")


#: ``im.info`` key of a JPEG that :func:`draft_at_least` set to be decoded at a reduced scale: the photo's width and
#: height in decoded pixels (fractional: see :func:`drafted_extent`)
DRAFTED_EXTENT = "genxd_drafted_extent"


def draft_at_least(im: PIL.Image.Image, side: int) -> None:
    """Let a JPEG opened by Pillow (header only) be decoded at 1/2, 1/4 or 1/8 scale while both sides stay at
    least ``side`` pixels (Pillow's ``draft``: ``im.size`` is then the decoded size); other formats unchanged. A
    second call does nothing (Pillow drafts once). A reduced scale is noted in ``im.info`` (:func:`drafted_extent`)."""
    if im.format in DCT_SCALED_FORMATS:
        full = im.size
        drafted = im.draft(None, (side, side))
        if drafted is not None and im.size != full:
            im.info[DRAFTED_EXTENT] = (float(drafted[1][2]), float(drafted[1][3]))


def drafted_extent(im: PIL.Image.Image) -> tuple[float, float] | None:
    """The photo's width and height in the decoded pixels of a JPEG drafted by :func:`draft_at_least` to a reduced
    scale ``s``: ``(W / s, H / s)``, while it is decoded to ``ceil(W / s) x ceil(H / s)`` pixels, the last column
    and row only partly the photo (the rest is the encoder's padding to whole 8x8 blocks). None when decoded in full
    (read before the pixels are decoded: ``im.info`` is Pillow's file's)."""
    return im.info.get(DRAFTED_EXTENT)


def _open_drafted(path: str | os.PathLike | IO[bytes], at_least: int) -> PIL.ImageFile.ImageFile:
    """``path`` over the warning limit, opened again without it: a JPEG drafted to be decoded at a reduced scale
    (both sides at least ``at_least``), returned when that size is within the limit; else the warning raised."""
    if hasattr(path, "seek"):
        path.seek(0)
    with WARNING_FILTERS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
        im = PIL.Image.open(path)
    try:
        if im.format in DCT_SCALED_FORMATS:
            draft_at_least(im, at_least)
            limit = PIL.Image.MAX_IMAGE_PIXELS  # None: no limit (then Pillow warns of none)
            if limit is None or im.size[0] * im.size[1] <= limit:
                return im
    except BaseException:
        im.close()
        raise
    im.close()
    raise PIL.Image.DecompressionBombWarning("over the limit")


@contextlib.contextmanager
def open_image(path: str | os.PathLike | IO[bytes], label: str | os.PathLike | None = None, *,
               at_least: int | None = None) -> Iterator[PIL.Image.Image]:
    """``PIL.Image.open(path)`` under the limit, for the whole block (decoding included). ``path`` may be a binary
    file object (encoded bytes in memory); ``label`` names it in messages (default: ``path``).

    ``at_least``: a JPEG is given drafted to be decoded at a reduced scale (:func:`draft_at_least`): the
    limit is then the decoded size's, so a 108-megapixel phone photo (over the limit) is opened drafted to 1/2, 1/4
    or 1/8, never decoded in full. Past twice the limit Pillow refuses any file from its header.

    Over the limit (found from the header when opening, or while decoding inside the block): an
    :class:`ImageTooLargeError` with :func:`too_large_message`; out of memory while decoding: one naming the
    file. A HEIC file is opened through pillow-heif where it is installed; a HEIC or AVIF file that nothing here
    decodes is an :class:`ImageFormatError` saying what to install (:mod:`genxd.utils.image_formats`). Every other
    error passes through unchanged: each caller words its own "cannot read".

    The block holds :data:`WARNING_FILTERS_LOCK` (the filter that turns Pillow's warning into the refusal is the
    process's): another thread's ``open_image`` waits until it ends, so keep the block to reading the image.
    """
    from .image_formats import missing_decoder_message, prepare_decoder

    kind = prepare_decoder(path)
    try:
        with WARNING_FILTERS_LOCK, warnings.catch_warnings():  # decoding in the block included
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            try:
                im = PIL.Image.open(path)
            except PIL.Image.DecompressionBombWarning:
                if at_least is None:
                    raise
                im = _open_drafted(path, at_least)
            with im:  # closed whatever follows (drafting included)
                if at_least is not None:
                    draft_at_least(im, at_least)  # nothing if _open_drafted drafted it (Pillow drafts once)
                yield im
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise ImageTooLargeError(too_large_message(path if label is None else label)) from None
    except MemoryError:
        raise ImageTooLargeError(f"{path if label is None else label}: image too large to decode in memory") from None
    except PIL.UnidentifiedImageError:
        if kind is None:
            raise
        raise ImageFormatError(f"{path if label is None else label}: {missing_decoder_message(kind)}") from None


__all__ = ["WARNING_FILTERS_LOCK", "ImageFormatError", "ImageRefusedError", "ImageTooLargeError", "draft_at_least",
           "drafted_extent", "open_image", "too_large_message"]
