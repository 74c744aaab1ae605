"""Reading user images: PNG / JPEG / WebP / BMP, EXIF orientation, RGBA on white, grayscale, any aspect.

Returned tensors follow the project convention: float32 in [0, 1], ``[3, H, W]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Literal

import numpy as np
import PIL.Image
import PIL.ImageOps
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
Fit = Literal["crop", "pad"]


def collect_images(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (their images, sorted by name) into a list of image paths.

    Raises FileNotFoundError for a missing path and ValueError for a file that is not an image or a
    folder with no images.
    """
    out: list[Path] = []
    for item in inputs:
        p = Path(item).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder")
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ValueError(f"{p}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            out.append(p)
        else:
            raise ValueError(f"{p}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
    if not out:
        raise ValueError("no input images given")
    return out


def read_rgb(path: str | Path, background: tuple[int, int, int] = (255, 255, 255)) -> PIL.Image.Image:
    """Open an image as RGB: EXIF orientation applied, transparency composited on ``background``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with PIL.Image.open(path) as im:
            im.load()
            im = PIL.ImageOps.exif_transpose(im)
    except (PIL.UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: cannot read image ({exc.__class__.__name__}: {exc})") from None
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = PIL.Image.new("RGBA", im.size, background + (255,))
        im = PIL.Image.alpha_composite(bg, im)
    return im.convert("RGB")


def fit_image(im: PIL.Image.Image, height: int, width: int, fit: Fit = "crop",
              background: tuple[int, int, int] = (255, 255, 255)) -> PIL.Image.Image:
    """Resize to ``height x width``: ``crop`` centre-crops to the aspect first, ``pad`` pads with background."""
    if fit not in ("crop", "pad"):
        raise ValueError(f"fit must be 'crop' or 'pad', got {fit!r}")
    if fit == "crop":
        return PIL.ImageOps.fit(im, (width, height), method=PIL.Image.Resampling.LANCZOS)
    return PIL.ImageOps.pad(im, (width, height), method=PIL.Image.Resampling.LANCZOS, color=background)


def pil_to_tensor(im: PIL.Image.Image) -> Tensor:
    """PIL RGB -> float32 ``[3, H, W]`` in [0, 1]."""
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def tensor_to_uint8(x: Tensor) -> np.ndarray:
    """``[..., 3, H, W]`` float in [0, 1] -> ``uint8 [..., H, W, 3]``."""
    return (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).cpu().numpy()


def load_image(path: str | Path, height: int, width: int, fit: Fit = "crop") -> Tensor:
    """Read, orient, composite and fit an image: float32 ``[3, height, width]`` in [0, 1]."""
    return pil_to_tensor(fit_image(read_rgb(path), height, width, fit))


def save_png(path: str | Path, image: Tensor | np.ndarray) -> None:
    """Write ``[3, H, W]`` float [0, 1] (or ``uint8 [H, W, 3]``) as PNG."""
    arr = tensor_to_uint8(image) if torch.is_tensor(image) else image
    PIL.Image.fromarray(arr).save(path, format="PNG")
