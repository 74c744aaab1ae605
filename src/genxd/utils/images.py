"""Reading user images: PNG / JPEG / WebP / BMP / TIFF / AVIF / HEIC / GIF, EXIF orientation, RGBA on white, any aspect.

Every PIL mode is accepted: 1-bit, grayscale (8 and 16 bit: ``I;16``, ``I``), 32-bit float (``F``:
[0, 1] or [0, 255] or [0, 65535] by its largest value), palette (with transparency), CMYK, YCbCr,
LAB, with or without alpha (composited on white). A 16-bit colour PNG or TIFF is read at its full depth
(:mod:`genxd.utils.png16`); every high bit depth is rounded to the nearest 8-bit level. An embedded ICC profile
(an iPhone's Display P3, a camera's Adobe RGB, a CMYK press profile, a grey one) is applied, so the pixels are
sRGB as viewers show them. Of an animated or multi-page file the first frame is used, with a warning, as is the
left view of a stereo camera's MPO. HEIC needs pillow-heif (``genxd.utils.image_formats``).
Images above PIL's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) are refused with a one-line error
naming the file, as is anything PIL cannot decode (truncated, empty, not an image).

Returned tensors follow the project convention: float32 in [0, 1], ``[3, H, W]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

import numpy as np
import PIL.Image
import PIL.ImageOps
import torch
from torch import Tensor

from .colour_profiles import to_srgb
from .image_limits import DCT_SCALED_FORMATS, draft_at_least  # noqa: F401  (kept importable from here)
from .image_limits import DRAFTED_EXTENT, drafted_extent
from .image_limits import ImageRefusedError, ImageTooLargeError, open_image, too_large_message  # noqa: F401  (too_large_message: kept importable from here)
from .image_paths import IMAGE_SUFFIXES, collect_images  # noqa: F401  (torch-free; kept importable from here)
from .paths import require_file
from .pixel_range import to_uint8_by_range
from .png16 import load_rounded

if TYPE_CHECKING:
    from .memory_images import MemoryImage

Fit = Literal["crop", "pad"]
#: a box in an image's pixels, ``(left, top, right, bottom)``, fractional (``PIL.Image.Image.resize``'s ``box``)
Box = tuple[float, float, float, float]


def to_8bit(im: PIL.Image.Image, path: str | Path) -> PIL.Image.Image:
    """High-bit-depth single-channel modes (``I;16*``, ``I``, ``F``) -> ``L`` scaled by their range; ``info`` kept
    (an ICC profile, a gray one, applies to the 8-bit pixels; the EXIF orientation)."""
    a = np.asarray(im)  # in its own dtype: to_uint8_by_range scales it band by band (a float64 copy: 8 bytes a pixel)
    if im.mode == "F" and not np.isfinite(a).all():
        raise ValueError(f"{path}: the image has non-finite pixel values (NaN or inf)")
    pixels = to_uint8_by_range(a, is_float=im.mode == "F", sixteen_bit=im.mode.startswith("I;16"))
    out = PIL.Image.fromarray(pixels, mode="L")
    out.info = dict(im.info)
    return out


def read_rgb(path: str | Path, background: tuple[int, int, int] = (255, 255, 255), *,
             at_least: int | None = None) -> PIL.Image.Image:
    """Open an image as RGB: EXIF orientation applied, transparency composited on ``background``.

    ``at_least``: a JPEG may be decoded at 1/2, 1/4 or 1/8 of its size (in the DCT, Pillow's ``draft``) as long
    as both sides stay at least this many pixels: a 48-megapixel photo fitted to 256 pixels is then decoded at
    1000x750, not in full (0.15 s and 8 MB instead of 0.9 s and 380 MB). Raises FileNotFoundError (no such file)
    or ValueError naming the file (not decodable, over the decompression-bomb limit, non-finite pixels).
    """
    return read_rgb_extent(path, background, at_least=at_least)[0]


def read_rgb_extent(path: str | Path, background: tuple[int, int, int] = (255, 255, 255), *,
                    at_least: int | None = None) -> tuple[PIL.Image.Image, Box | None]:
    """:func:`read_rgb`, and the photo's box in its pixels: a JPEG decoded at a reduced scale ``s`` is
    ``ceil(W / s) x ceil(H / s)`` pixels, of which the photo covers ``W / s x H / s`` (its last column and row only
    partly; after the EXIF orientation, maybe the first). None: the image is all the photo. :func:`fit_image` takes
    it (``box=``), to fit the photo's exact extent, where its intrinsics are (up to 0.3 pixel off otherwise)."""
    path = Path(path)
    require_file(path)
    return _decoded_rgb(path, path, True, background, at_least)


def decode_rgb(data: bytes, label: str | Path, *, orient: bool = False,
               background: tuple[int, int, int] = (255, 255, 255)) -> PIL.Image.Image:
    """Encoded image bytes (a file read from an archive, a dataset's tensor of bytes) as RGB, by the rules of
    :func:`read_rgb` (high bit depths scaled by their range, transparency composited on ``background``, the
    decompression limit); ``orient`` applies the EXIF orientation (off for posed views: COLMAP's cameras describe
    the stored pixels, docs/reconstruction.md). A ValueError naming ``label`` when the bytes are not a readable
    image."""
    import io

    return _decoded_rgb(io.BytesIO(data), label, orient, background)[0]


def _decoded_rgb(source: Path | IO[bytes], label: str | Path, orient: bool,
                 background: tuple[int, int, int], at_least: int | None = None
                 ) -> tuple[PIL.Image.Image, Box | None]:
    """:func:`read_rgb_extent` / :func:`decode_rgb` of a path or of encoded bytes."""
    try:
        with open_image(source, label=label, at_least=at_least) as im:  # a JPEG drafted with at_least
            extent = drafted_extent(im)
            pixels = load_rounded(im, source)  # a 16-bit colour PNG / TIFF at full depth, rounded
            box = None if extent is None else (0.0, 0.0, *extent)
            if orient:  # a user's file (read_rgb)
                _note_frames(im, label)  # Pillow's file: its frames counted from its header
                if box is not None:
                    box = oriented_box(box, pixels.size, pixels.getexif().get(0x0112, 1))
                pixels = PIL.ImageOps.exif_transpose(pixels)
            im = pixels
    except ImageRefusedError:  # too large, or a HEIC / AVIF file with no decoder here: their own message
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the file is not a readable image
        import re

        said = re.sub(r" ?<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc))  # PIL names the buffer
        raise ValueError(f"{label}: cannot read image ({exc.__class__.__name__}: {said})") from None
    rgb = to_rgb(im, label, background)
    rgb.info.pop(DRAFTED_EXTENT, None)  # in the file's orientation: the box above is the image's
    return rgb, box


def oriented_box(box: Box, size: tuple[int, int], orientation: int) -> Box:
    """``box`` in an image of ``size`` (width, height), where it lies once ``PIL.ImageOps.exif_transpose`` has applied
    the EXIF ``orientation`` (1 to 8; any other value: unchanged, as there)."""
    w, h = size
    x0, y0, x1, y1 = box
    flipped_x, flipped_y = (w - x1, y0, w - x0, y1), (x0, h - y1, x1, h - y0)
    return {2: flipped_x, 3: (w - x1, h - y1, w - x0, h - y0), 4: flipped_y,
            5: (y0, x0, y1, x1), 6: (h - y1, x0, h - y0, x1), 7: (h - y1, w - x1, h - y0, w - x0),
            8: (y0, w - x1, y1, w - x0)}.get(orientation, box)




def frame_count(im: PIL.Image.Image) -> int:
    """The frames or pages of an image opened by Pillow; 1 for a still photo, an MPO included (its other
    pictures are a preview, a depth map or a second view, not frames)."""
    return 1 if im.format == "MPO" else getattr(im, "n_frames", 1)


#: MPF picture types (Pillow's names) of the views of a stereo or multi-angle camera's MPO, or of a panorama's parts
_VIEW_TYPES = {"Multi-Frame Image: (Disparity)": "view", "Multi-Frame Image: (Multi-Angle)": "view",
               "Multi-Frame Image (Panorama)": "part"}


def views_note(im: PIL.Image.Image, label: str | Path, frame: int = 0) -> str | None:
    """``"<label>: read the left view of a stereo pair; the right view is not used"`` for a stereo camera's MPO
    (Fujifilm W3, Nintendo 3DS: pictures of type "Disparity"; of more views or a panorama's parts: "read the first
    of N ..."); None for any other image, a phone's photo with its preview or depth map included. ``frame``: the
    picture read (an image object ``seek()``-ed to 1 by its caller: "read the right view ...")."""
    entries = (getattr(im, "mpinfo", None) or {}).get(0xB002) if im.format == "MPO" else None
    kinds = [_VIEW_TYPES.get(e.get("Attribute", {}).get("MPType")) for e in entries or ()]
    if not any(kinds[1:]):
        return None
    n = 1 + sum(k is not None for k in kinds[1:])  # the first picture: a view too (some write it as "primary")
    at = f" (the picture it is at, {frame})" if frame else ""
    if n == 2 and "part" not in kinds and frame in (0, 1):
        read, other = ("left", "right") if frame == 0 else ("right", "left")
        return f"{label}: read the {read} view of a stereo pair{at}; the {other} view is not used"
    unit, what = ("part", "parts of a panorama") if "part" in kinds else ("view", "views of a multi-view photo")
    if not frame:
        return f"{label}: read the first of {n} {what}; the others are not used"
    if frame < len(kinds) and kinds[frame] is not None:  # the pictures may hold a preview too: count the views
        number = 1 + sum(k is not None for k in kinds[1:frame + 1])
        return f"{label}: read {unit} {number} of the {n} {what}{at}; the others are not used"
    return f"{label}: read picture {frame + 1}{at}, not one of the {n} {what}; those are not used"


def frames_note(im: PIL.Image.Image, label: str | Path) -> str | None:
    """``"<label>: an animated image of N frames: only the first is used"`` (or "a multi-page TIFF of N pages")
    for an animated or multi-page image (WebP, APNG, GIF, TIFF) opened by Pillow, the :func:`views_note` of a
    stereo camera's MPO; None for a still image."""
    if (note := views_note(im, label)) is not None:
        return note
    frames = frame_count(im)
    if frames <= 1:
        return None
    what = f"a multi-page TIFF of {frames} pages" if im.format == "TIFF" else f"an animated image of {frames} frames"
    return f"{label}: {what}: only the first is used"


def _note_frames(im: PIL.Image.Image, label: str | Path) -> None:
    """Warn that only the first frame of an animated or multi-page image is used (:func:`frames_note`)."""
    note = frames_note(im, label)
    if note is not None:
        from ..validation import warn

        warn(note)


def to_rgb(im: PIL.Image.Image, label: str | Path, background: tuple[int, int, int] = (255, 255, 255)) -> PIL.Image.Image:
    """A decoded image of any mode as RGB: high bit depths scaled by their range, transparency composited on
    ``background``; a ValueError naming ``label`` when it cannot be converted. An embedded ICC profile (Display P3,
    Adobe RGB, CMYK) is applied first: the pixels come out in sRGB (:mod:`genxd.utils.colour_profiles`)."""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        im = to_8bit(im, label)
    im = to_srgb(im)
    mode = im.mode
    try:
        if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            bg = PIL.Image.new("RGBA", im.size, background + (255,))
            im = PIL.Image.alpha_composite(bg, im)
        return im.convert("RGB")
    except (ValueError, OSError) as exc:  # PIL has no conversion for a few modes (La)
        raise ValueError(f"{label}: cannot convert a {mode} image to RGB ({exc})") from None


def fit_image(im: PIL.Image.Image, height: int, width: int, fit: Fit = "crop",
              background: tuple[int, int, int] = (255, 255, 255), *, box: Box | None = None) -> PIL.Image.Image:
    """Resize to ``height x width``: ``crop`` centre-crops to the aspect first, ``pad`` pads with background.

    Both keep the exact centre box of the aspect (fractional, not rounded to pixels), the one
    :func:`genxd.cameras.camera_path.intrinsics_for_aspect` gives the intrinsics of: a point is drawn where those
    intrinsics project it. ``box``: the photo's extent in ``im``'s pixels where it is not all of ``im`` (a JPEG
    decoded at a reduced scale, :func:`read_rgb_extent`); what lies outside it is padding, not the photo."""
    from ..validation import FITS, check

    fit = check(fit, FITS, "fit")
    if fit == "crop":
        if box is None:
            return PIL.ImageOps.fit(im, (width, height), method=PIL.Image.Resampling.LANCZOS)
        return _crop_exact(im, height, width, box)
    return _pad_exact(im, height, width, background, box)


def _crop_exact(im: PIL.Image.Image, height: int, width: int, box: Box) -> PIL.Image.Image:
    """``PIL.ImageOps.fit`` (centred, LANCZOS) of the part of ``im`` in ``box``."""
    x0, y0, x1, y1 = box
    pw, ph = x1 - x0, y1 - y0
    if pw * height > ph * width:  # wider than the output: the sides cropped
        cw, ch = ph * width / height, ph
    else:
        cw, ch = pw, pw * height / width
    left, top = x0 + (pw - cw) / 2, y0 + (ph - ch) / 2
    return im.resize((width, height), PIL.Image.Resampling.LANCZOS, box=(left, top, left + cw, top + ch))


def _pad_exact(im: PIL.Image.Image, height: int, width: int, background: tuple[int, int, int],
               box: Box | None = None) -> PIL.Image.Image:
    """``im`` (its part in ``box``) in the centre of a ``height x width`` picture of ``background``, scaled to touch
    two sides: the padding is a fractional number of pixels (``PIL.ImageOps.pad`` rounds the picture's size and its
    offset, up to 0.7 pixel off the intrinsics of the padded frame; of a long thin image, to a size of 0 and an
    error)."""
    w, h = im.size
    x0, y0, x1, y1 = (0.0, 0.0, float(w), float(h)) if box is None else box
    pw, ph = x1 - x0, y1 - y0
    if pw * height == ph * width:
        return im.resize((width, height), PIL.Image.Resampling.LANCZOS, box=box)
    wide = pw * height > ph * width
    if box is not None:  # the pixels only partly in the box: their part outside is padding
        im = _faded_outside(im, (y0, y1) if wide else (x0, x1), background, rows=wide)
    # the padded frame in input pixels: (side, other side, padding on each side, integer margins that hold it)
    span = pw * height / width if wide else ph * width / height
    near, far, side = (y0, y1, h) if wide else (x0, x1, w)
    pad = (span - (far - near)) / 2
    before, after = max(0, int(np.ceil(pad - near))), max(0, int(np.ceil(pad - (side - far))))
    size = (w, h + before + after) if wide else (w + before + after, h)
    canvas = PIL.Image.new(im.mode, size, background)
    canvas.paste(im, (0, before) if wide else (before, 0))
    start = before - (pad - near)
    frame = (x0, start, x1, start + span) if wide else (start, y0, start + span, y1)
    return canvas.resize((width, height), PIL.Image.Resampling.LANCZOS, box=frame)


def _faded_outside(im: PIL.Image.Image, extent: tuple[float, float], background: tuple[int, int, int],
                   rows: bool) -> PIL.Image.Image:
    """``im`` with each row (``rows``) or column blended with ``background`` by the part of it outside ``extent``
    (fractional pixel coordinates): a partial last row of a reduced-scale JPEG becomes as much padding as it is."""
    n = im.size[1] if rows else im.size[0]
    cover = np.clip(np.minimum(np.arange(1, n + 1), extent[1]) - np.maximum(np.arange(n), extent[0]), 0.0, 1.0)
    partial = np.flatnonzero(cover < 1.0)
    if partial.size == 0:
        return im
    a = np.array(im)
    bg = np.asarray(PIL.Image.new(im.mode, (1, 1), background), dtype=np.float64)[0, 0]
    part = np.take(a, partial, axis=0 if rows else 1).astype(np.float64)
    shape = [1] * part.ndim
    shape[0 if rows else 1] = -1
    c = cover[partial].reshape(shape)
    blended = np.round(part * c + bg * (1.0 - c)).astype(a.dtype)
    if rows:
        a[partial] = blended
    else:
        a[:, partial] = blended
    return PIL.Image.fromarray(a, im.mode)


def pil_to_tensor(im: PIL.Image.Image) -> Tensor:
    """PIL RGB -> float32 ``[3, H, W]`` in [0, 1]."""
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def pil_to_uint8(im: PIL.Image.Image) -> Tensor:
    """PIL RGB -> ``uint8 [3, H, W]``: a quarter of :func:`pil_to_tensor`'s memory, :func:`uint8_to_tensor` gives
    its floats."""
    return torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def uint8_to_tensor(x: Tensor) -> Tensor:
    """``uint8 [..., 3, H, W]`` -> float32 in [0, 1]: bitwise :func:`pil_to_tensor`'s values (the same division)."""
    return torch.from_numpy(np.asarray(x.numpy(), dtype=np.float32) / 255.0)


#: images converted at a time by :func:`tensor_to_uint8` (its float temporaries are this many images, not the clip)
_UINT8_CHUNK = 16


def tensor_to_uint8(x: Tensor) -> np.ndarray:
    """``[..., 3, H, W]`` float in [0, 1] -> ``uint8 [..., H, W, 3]``.

    Converted :data:`_UINT8_CHUNK` images at a time: the clamped and scaled float copies of a 1,000-frame path
    were each as large as its frames (at 512x512: 3 GB apiece)."""
    x = x.detach()
    if x.dim() <= 3:
        return _to_uint8(x)
    flat = x.reshape(-1, *x.shape[-3:])
    out = np.empty((flat.shape[0], *x.shape[-2:], x.shape[-3]), np.uint8)
    for start in range(0, flat.shape[0], _UINT8_CHUNK):
        out[start:start + _UINT8_CHUNK] = _to_uint8(flat[start:start + _UINT8_CHUNK])
    return out.reshape(*x.shape[:-3], *out.shape[1:])


def _to_uint8(x: Tensor) -> np.ndarray:
    return (x.float().clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).cpu().numpy()


def decode_side(height: int, width: int) -> int:
    """The least side :func:`load_image` decodes a large JPEG at (a reduced scale) for an output of
    ``height x width``: twice its longer side (LANCZOS from there)."""
    return 2 * max(height, width)


def load_image(path: str | Path, height: int, width: int, fit: Fit = "crop") -> Tensor:
    """Read, orient, composite and fit an image: float32 ``[3, height, width]`` in [0, 1]. ``path`` may also be a
    :class:`genxd.utils.memory_images.MemoryImage` (an image given as an object to the Python API)."""
    return uint8_to_tensor(load_image_uint8(path, height, width, fit))


def load_image_uint8(path: str | Path | MemoryImage, height: int, width: int, fit: Fit = "crop") -> Tensor:
    """:func:`load_image` as ``uint8 [3, height, width]`` (:func:`uint8_to_tensor`: its floats, bitwise): what a
    job holds for its inputs until each is sampled (2,000 inputs at 512x512: 1.6 GB, 6.3 GB as float32)."""
    return load_image_uint8_sized(path, height, width, fit)[0]


def load_image_uint8_sized(path: str | Path | MemoryImage, height: int, width: int, fit: Fit = "crop"
                           ) -> tuple[Tensor, tuple[float, float]]:
    """:func:`load_image_uint8`, and the photo's ``(width, height)`` as fitted (after its EXIF orientation; of a
    JPEG decoded at a reduced scale, in its decoded pixels): :func:`crop_kept_fraction` takes it."""
    from .memory_images import MemoryImage, memory_image_to_rgb

    if isinstance(path, MemoryImage):
        im = memory_image_to_rgb(path.image, str(path))
        return pil_to_uint8(fit_image(im, height, width, fit)), (float(im.size[0]), float(im.size[1]))
    im, box = read_rgb_extent(path, at_least=decode_side(height, width))  # a JPEG decoded at a reduced scale: box
    x0, y0, x1, y1 = (0.0, 0.0, float(im.size[0]), float(im.size[1])) if box is None else box
    return pil_to_uint8(fit_image(im, height, width, fit, box=box)), (x1 - x0, y1 - y0)


def crop_kept_fraction(size: tuple[float, float], height: int, width: int) -> float:
    """The part of a photo of ``size`` ``(width, height)`` that ``--fit crop`` keeps for a ``height x width``
    output (1: the same aspect; a 1x500 strip fitted to a square keeps 1 / 500 of it)."""
    w, h = size
    return min(w * height, h * width) / max(w * height, h * width)


#: ``--fit crop`` keeping less of an input than this is warned of (a panorama of 4:1 and wider, fitted to a square)
CROP_WARNING_FRACTION = 0.25


def crop_warning(cropped: list[tuple[int, tuple[float, float]]], paths: list) -> str:
    """One line for the inputs of which ``--fit crop`` keeps less than :data:`CROP_WARNING_FRACTION`: ``cropped``
    holds ``(index into paths, photo size)`` (:func:`load_image_uint8_sized`); the first three are named."""
    from ..validation import arg

    named = ", ".join(f"{Path(str(paths[i])).name} ({w:.0f}x{h:.0f})" for i, (w, h) in cropped[:3])
    more = f" and {len(cropped) - 3} more" if len(cropped) > 3 else ""
    least = min(min(w, h) / max(w, h) for _, (w, h) in cropped)
    share = f"{least:.1%} of the image" if len(cropped) == 1 else f"as little as {least:.1%} of an image"
    return (f"{arg('fit')} crop keeps only the centre square of {named}{more}, {share}; {arg('fit')} pad keeps "
            "all of it")


def save_png(path: str | Path, image: Tensor | np.ndarray) -> None:
    """Write ``[3, H, W]`` float [0, 1] (or ``uint8 [H, W, 3]``) as PNG."""
    arr = tensor_to_uint8(image) if torch.is_tensor(image) else image
    PIL.Image.fromarray(arr).save(path, format="PNG")
