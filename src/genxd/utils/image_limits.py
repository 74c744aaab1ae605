"""The one size limit every genxd image-file reader applies, free of torch (curation imports it on Ray workers).

PIL warns on images over ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 Mpx) and refuses them only from twice
that; genxd refuses from the warning limit on, in one message naming the file (:func:`too_large_message`),
so ``generate``, ``reconstruct`` and ``curate`` accept and refuse the same images.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
from typing import IO, Iterator

import PIL.Image
import PIL.ImageFile


class ImageRefusedError(ValueError):
    """An image file refused with a complete one-line message naming it (callers pass it on as it is)."""


class ImageTooLargeError(ImageRefusedError):
    """An image over the decompression limit, or too large to decode in the memory there is."""


class ImageFormatError(ImageRefusedError):
    """A HEIC or AVIF file that no installed decoder reads (the message says what to install)."""


def too_large_message(path: str | os.PathLike) -> str:
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


def _pixels(size: tuple[int, int]) -> int:
    """Pixels as Pillow counts them for its limits (a side of 0 counts as 1)."""
    return max(1, size[0]) * max(1, size[1])


def open_header(path: str | os.PathLike | IO[bytes]) -> PIL.ImageFile.ImageFile:
    """``PIL.Image.open(path)`` (header only) without Pillow's warning for an image over ``MAX_IMAGE_PIXELS``:
    the caller checks ``im.size`` itself. Past twice the limit ``PIL.Image.DecompressionBombError``, as Pillow.

    Pillow's warning could only be kept from the user by ``warnings.catch_warnings``, which swaps the process's
    warning filters: in the web app's handler threads two such blocks' exits interleaved, so one thread opened an
    over-limit image with the filter that refused it already undone, or the filter stayed for the whole process.
    Here the file is identified by the opener Pillow registered for its format (``PIL.Image.OPEN``, tried in
    Pillow's order), which reads the header without the check; what none of them identifies is left to
    ``PIL.Image.open`` for its own error.
    """
    stream = not isinstance(path, (str, bytes, os.PathLike))
    if stream:
        try:
            path.seek(0)  # type: ignore[union-attr]
        except (AttributeError, io.UnsupportedOperation):  # not seekable: read into memory, as Pillow does
            path = io.BytesIO(path.read())  # type: ignore[union-attr]
        prefix = path.read(16)  # type: ignore[union-attr]
    else:
        with open(path, "rb") as fp:
            prefix = fp.read(16)
    tried: set[str] = set()
    for loader in (PIL.Image.preinit, PIL.Image.init):  # the common plugins first, then all, as Pillow does
        loader()
        for fmt in list(PIL.Image.ID):
            if fmt in tried:
                continue
            tried.add(fmt)
            factory, accept = PIL.Image.OPEN[fmt]
            accepted = not accept or accept(prefix)
            if not accepted or isinstance(accepted, str):  # a str: Pillow's note why it is not this format
                continue
            if stream:
                path.seek(0)  # type: ignore[union-attr]
            try:
                im = factory(path, None)  # a path: the ImageFile opens it and closes it with itself
            except (SyntaxError, IndexError, TypeError, struct.error):  # not this format after all (Pillow's list)
                continue
            if PIL.Image.MAX_IMAGE_PIXELS is not None and _pixels(im.size) > 2 * PIL.Image.MAX_IMAGE_PIXELS:
                im.close()
                raise PIL.Image.DecompressionBombError(
                    f"Image size ({_pixels(im.size)} pixels) exceeds limit of {2 * PIL.Image.MAX_IMAGE_PIXELS} "
                    "pixels, could be decompression bomb DOS attack.")
            return im
    return PIL.Image.open(path)  # type: ignore[return-value]  # nothing identifies it: Pillow's own error


def _over_limit(im: PIL.Image.Image) -> bool:
    return PIL.Image.MAX_IMAGE_PIXELS is not None and _pixels(im.size) > PIL.Image.MAX_IMAGE_PIXELS


@contextlib.contextmanager
def open_image(path: str | os.PathLike | IO[bytes], label: str | os.PathLike | None = None, *,
               at_least: int | None = None) -> Iterator[PIL.Image.Image]:
    """``PIL.Image.open(path)`` under the limit, for the whole block (decoding included). ``path`` may be a binary
    file object (encoded bytes in memory); ``label`` names it in messages (default: ``path``).

    ``at_least``: a JPEG is given drafted to be decoded at a reduced scale (:func:`draft_at_least`): the
    limit is then the decoded size's, so a 108-megapixel phone photo (over the limit) is opened drafted to 1/2, 1/4
    or 1/8, never decoded in full. Past twice the limit Pillow refuses any file from its header.

    Over the limit (found from the header, :func:`open_header`; or by Pillow while decoding inside the block): an
    :class:`ImageTooLargeError` with :func:`too_large_message`; out of memory while decoding: one naming the
    file. A HEIC file is opened through pillow-heif where it is installed; a HEIC or AVIF file that nothing here
    decodes is an :class:`ImageFormatError` saying what to install (:mod:`genxd.utils.image_formats`). Every other
    error passes through unchanged: each caller words its own "cannot read". Python's warning filters are not
    touched (they are the process's, not this thread's).
    """
    from .image_formats import missing_decoder_message, prepare_decoder

    kind = prepare_decoder(path)
    try:
        im = open_header(path)
        with im:  # closed whatever follows (drafting included)
            if at_least is not None:
                if _over_limit(im) and im.format not in DCT_SCALED_FORMATS:
                    raise PIL.Image.DecompressionBombError("over the limit")
                draft_at_least(im, at_least)
            if _over_limit(im):  # the size decoded (a drafted JPEG's)
                raise PIL.Image.DecompressionBombError("over the limit")
            yield im
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise ImageTooLargeError(too_large_message(path if label is None else label)) from None
    except MemoryError:
        raise ImageTooLargeError(f"{path if label is None else label}: image too large to decode in memory") from None
    except PIL.UnidentifiedImageError:
        if kind is None:
            raise
        raise ImageFormatError(f"{path if label is None else label}: {missing_decoder_message(kind)}") from None


__all__ = ["ImageFormatError", "ImageRefusedError", "ImageTooLargeError", "draft_at_least", "drafted_extent",
           "open_header", "open_image", "too_large_message"]
