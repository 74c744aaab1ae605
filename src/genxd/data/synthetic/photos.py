"""Real photographs that ship inside well-known packages: textures for training, a held-out test set.

Nothing is downloaded: every photo is a file inside an installed wheel (scikit-image's ``skimage/data``
folder and scikit-learn's ``sklearn/datasets/images``; the ``train-data`` extra installs both), read
directly from the package folder with PIL. (``skimage.data``'s own loaders may fetch files that are
not in the wheel with pooch; this module never calls them.)

Two disjoint sets (see ``docs/small_model.md``):

- :data:`HELD_OUT_PHOTOS`: five photographs of the kinds a user brings (a person, an animal, an
  object on a table, an outdoor night scene, a building in a landscape): ``astronaut``, ``chelsea``,
  ``coffee``, ``rocket`` (scikit-image) and ``china`` (scikit-learn). The photo evaluation
  (``genxd eval --modes photo-pan,photo-zoom``) uses only these; their SHA-256 are pinned, so every
  run scores the same pixels.
- :data:`TRAINING_PHOTOS`: every other usable photo of the two packages (colour and grayscale:
  a motorcycle stereo pair, a flower, the Hubble deep field, a retina, tissue, textures of brick,
  grass and gravel, coins, the moon, printed pages, ...). :class:`PhotoPool` serves random crops of
  these and **refuses** any held-out photo (by name and by content hash).

Crops (:meth:`PhotoPool.crop`): a random square-ish window of 25-100 % of the shorter side, a
horizontal flip half the time, colour jitter (brightness, contrast, saturation, a small hue turn);
grayscale photos are tinted with a random two-colour ramp half the time. All deterministic in the
``numpy.random.Generator`` given.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ...utils.extras import install_extra

__all__ = [
    "Photo",
    "HELD_OUT_PHOTOS",
    "TRAINING_PHOTOS",
    "PhotoPool",
    "photo_path",
    "load_photo",
    "held_out_photos",
    "photos_available",
    "MissingPhotoError",
]


@dataclass(frozen=True)
class Photo:
    """A photograph inside an installed package: ``package`` (import name) / ``relative`` path."""

    name: str
    package: str
    relative: str
    sha256: str | None = None  # pinned for the held-out set

    @property
    def label(self) -> str:
        return f"{self.package}:{self.name}"


_SK = "skimage"
_SL = "sklearn"

#: The held-out photographs: never training textures (enforced by :class:`PhotoPool`).
HELD_OUT_PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", _SK, "data/astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    Photo("chelsea", _SK, "data/chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
    Photo("coffee", _SK, "data/coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"),
    Photo("rocket", _SK, "data/rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"),
    Photo("china", _SL, "datasets/images/china.jpg", "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29"),
)

#: Photographs used as training textures (the rest of the two packages' photos).
TRAINING_PHOTOS: tuple[Photo, ...] = (
    Photo("motorcycle_left", _SK, "data/motorcycle_left.png"),
    Photo("motorcycle_right", _SK, "data/motorcycle_right.png"),
    Photo("hubble_deep_field", _SK, "data/hubble_deep_field.jpg"),
    Photo("retina", _SK, "data/retina.jpg"),
    Photo("ihc", _SK, "data/ihc.png"),
    Photo("color", _SK, "data/color.png"),
    Photo("logo", _SK, "data/logo.png"),
    Photo("camera", _SK, "data/camera.png"),
    Photo("brick", _SK, "data/brick.png"),
    Photo("grass", _SK, "data/grass.png"),
    Photo("gravel", _SK, "data/gravel.png"),
    Photo("coins", _SK, "data/coins.png"),
    Photo("moon", _SK, "data/moon.png"),
    Photo("page", _SK, "data/page.png"),
    Photo("text", _SK, "data/text.png"),
    Photo("clock_motion", _SK, "data/clock_motion.png"),
    Photo("cell", _SK, "data/cell.png"),
    Photo("horse", _SK, "data/horse.png"),
    Photo("flower", _SL, "datasets/images/flower.jpg"),
)

_HELD_OUT_NAMES = {p.label for p in HELD_OUT_PHOTOS}


class MissingPhotoError(FileNotFoundError):
    """A photo's package (or the file inside it) is not installed."""


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPhotoError(
            f"the photos need the {'scikit-image' if package == _SK else 'scikit-learn'} package: "
            f"{install_extra('train-data')}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def photo_path(photo: Photo) -> Path:
    """The photo's file inside its installed package (no import of the package, no network)."""
    path = _package_dir(photo.package) / photo.relative
    if not path.is_file():
        raise MissingPhotoError(f"{photo.label}: {path} is not in the installed package")
    return path


def photos_available(photos: tuple[Photo, ...] = HELD_OUT_PHOTOS) -> bool:
    """Whether every photo of ``photos`` is installed."""
    try:
        for p in photos:
            photo_path(p)
    except MissingPhotoError:
        return False
    return True


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=64)
def load_photo(photo: Photo, max_side: int | None = None, check_hash: bool = True) -> Tensor:
    """``[3, H, W]`` float32 in [0, 1] (RGB; grayscale repeated, transparency on white).

    ``max_side``: shrink (antialiased) so the longer side is at most this. ``check_hash``: refuse a
    file whose SHA-256 differs from the pinned one (another package version ships another picture).
    """
    from genxd.utils.images import pil_to_tensor, read_rgb

    path = photo_path(photo)
    if check_hash and photo.sha256 is not None and _sha256(path) != photo.sha256:
        raise ValueError(f"{photo.label}: {path} is not the pinned picture (SHA-256 differs); "
                         "the held-out figures would not be comparable")
    im = read_rgb(path)
    if max_side is not None and max(im.size) > max_side:
        s = max_side / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), resample=3)  # bicubic
    return pil_to_tensor(im)


def held_out_photos() -> list[tuple[str, Tensor]]:
    """``[(name, image [3, H, W])]`` of :data:`HELD_OUT_PHOTOS` at their full size (hashes checked)."""
    return [(p.name, load_photo(p)) for p in HELD_OUT_PHOTOS]


def _is_gray(img: Tensor) -> bool:
    return bool((img.max(0).values - img.min(0).values).max() < 2 / 255)


class PhotoPool:
    """Random crops of the training photographs (see the module docstring).

    Args:
        photos: the photos to draw from (default :data:`TRAINING_PHOTOS`); a held-out one raises
            ValueError, by name or by identical content.
        max_side: photos are kept in memory with their longer side at most this (pixels).
    """

    def __init__(self, photos: tuple[Photo, ...] | None = None, max_side: int = 768) -> None:
        photos = TRAINING_PHOTOS if photos is None else tuple(photos)
        if not photos:
            raise ValueError("PhotoPool: no photos")
        bad = [p.label for p in photos if p.label in _HELD_OUT_NAMES]
        if bad:
            raise ValueError(f"PhotoPool: {', '.join(bad)} are held-out photos (genxd eval): never training data")
        held_hashes = set()
        for p in HELD_OUT_PHOTOS:
            try:
                held_hashes.add(_sha256(photo_path(p)))
            except MissingPhotoError:
                pass
        for p in photos:
            if _sha256(photo_path(p)) in held_hashes:
                raise ValueError(f"PhotoPool: {p.label} has the content of a held-out photo: never training data")
        self.photos = photos
        self.max_side = int(max_side)
        self._images: list[Tensor] | None = None

    def __len__(self) -> int:
        return len(self.photos)

    def __getstate__(self) -> dict:  # workers reload (cheap) instead of pickling the pixels
        state = dict(self.__dict__)
        state["_images"] = None
        return state

    @property
    def images(self) -> list[Tensor]:
        if self._images is None:
            self._images = [load_photo(p, self.max_side, check_hash=False) for p in self.photos]
        return self._images

    def crop(self, rng: np.random.Generator, size: int | tuple[int, int], scale: tuple[float, float] = (0.25, 1.0),
             aspect: tuple[float, float] = (0.75, 1.333), jitter: bool = True, photo: int | None = None) -> Tensor:
        """A random crop resized to ``size`` (``S`` or ``(H, W)``): ``[3, H, W]`` float32 in [0, 1].

        ``scale``: the crop's shorter side as a fraction of the photo's shorter side; ``aspect``:
        range of the crop's width / height, relative to the output's; ``photo``: crop this photo of the
        pool (index) instead of a random one.
        """
        h_out, w_out = (size, size) if isinstance(size, int) else size
        if photo is not None and not 0 <= photo < len(self.images):
            raise IndexError(f"photo {photo} out of range for a pool of {len(self.images)} photos")
        img = self.images[int(rng.integers(len(self.images))) if photo is None else int(photo)]
        _, H, W = img.shape
        s = rng.uniform(*scale) * min(H, W)
        a = (w_out / h_out) * float(np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1]))))
        ch = int(min(H, max(4, round(s / np.sqrt(max(a, 1e-6)) if a > 1 else s))))
        cw = int(min(W, max(4, round(ch * a))))
        ch = int(min(H, max(4, round(cw / a))))
        y0 = int(rng.integers(0, H - ch + 1))
        x0 = int(rng.integers(0, W - cw + 1))
        out = img[:, y0 : y0 + ch, x0 : x0 + cw]
        if rng.random() < 0.5:
            out = out.flip(-1)
        out = F.interpolate(out[None], size=(h_out, w_out), mode="bilinear", antialias=True, align_corners=False)[0]
        if jitter:
            out = color_jitter(out, rng)
        return out.clamp(0, 1).contiguous()


def color_jitter(img: Tensor, rng: np.random.Generator, strength: float = 1.0) -> Tensor:
    """Brightness x[0.7, 1.3], contrast x[0.7, 1.3], saturation x[0.6, 1.4], hue turn +-0.06 of a turn
    (all scaled by ``strength``); a grayscale image gets a random two-colour ramp half the time."""
    if _is_gray(img) and rng.random() < 0.5:
        lo = torch.as_tensor(rng.uniform(0.0, 0.45, 3), dtype=img.dtype)
        hi = torch.as_tensor(rng.uniform(0.55, 1.0, 3), dtype=img.dtype)
        img = lo[:, None, None] + (hi - lo)[:, None, None] * img[:1]
    u = lambda lo, hi: 1.0 + strength * rng.uniform(lo - 1.0, hi - 1.0)  # noqa: E731
    gray = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2])[None]
    img = gray + (img - gray) * u(0.6, 1.4)  # saturation
    mean = gray.mean()
    img = mean + (img - mean) * u(0.7, 1.3)  # contrast
    img = img * u(0.7, 1.3)  # brightness
    turn = strength * rng.uniform(-0.06, 0.06) * 2 * np.pi
    if abs(turn) > 1e-6:  # hue: rotate about the grey axis
        k = torch.full((3,), 1 / np.sqrt(3), dtype=img.dtype)
        c, s = float(np.cos(turn)), float(np.sin(turn))
        K = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]], dtype=img.dtype)
        R = torch.eye(3, dtype=img.dtype) * c + s * K + (1 - c) * torch.outer(k, k)
        img = torch.einsum("ij,jhw->ihw", R, img)
    return img.clamp(0, 1)
