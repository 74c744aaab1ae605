"""The ReconFusion "torch" format read by GenXD's few-shot evaluation (``reconfusion-torch``).

Layout of a dataset folder (e.g. ``reconfusion-torch/re10k``), as read by the authors'
``dataset/reconf_gen.py``, ``dataset/reconf_group.py`` and ``tools/pose_traj_generate.py``:

- ``index.json``: ``{scene key: torch file name relative to the folder}``;
- each torch file holds a **list** whose item ``[0]`` is the scene, a dict with
  - ``"images"``: list of ``N`` 1-D ``uint8`` tensors, each an encoded image file (PNG/JPEG bytes,
    decoded with ``PIL.Image.open(BytesIO(t.numpy().tobytes()))``);
  - ``"cameras"``: float ``[N, 18]`` rows ``fx, fy, cx, cy, 0, 0, w2c (3x4, row-major)``:
    normalised intrinsics (fx/W, fy/H, cx/W, cy/H), two unused values (always 0: the reserved
    columns of the RealEstate10K camera files this layout comes from, via pixelSplat; the authors
    write 0 there and never read them), then the OpenCV world-to-camera 3x4;
  - ``"train_test_split_{n}"`` for each few-shot setting ``n`` (3, 6, 9 in ReconFusion):
    ``{"train_ids": [...], "test_ids": [...]}`` (python lists of ints; each view at most once, and no view
    both a training and a test view: such a split is refused naming the file);
  - ``"key"``: the scene key; optional extra fields (``"poses_bounds"`` for LLFF: ``[N, 17]``
    whose last two columns are near/far bounds, used by the LLFF spiral path).

Files are read with ``torch.load(weights_only=True)`` (no arbitrary pickle); numpy arrays inside a
file are allowed through torch's safe-globals allow-list.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from genxd.cameras._io import as_c2w, as_intrinsics, read_json
from genxd.cameras.geometry import c2w_to_w2c
from genxd.utils.file_groups import atomic_group, settle
from genxd.utils.json_text import json_text
from genxd.utils.messages import first_line
from genxd.utils.paths import name_key, path_inside, require_file

__all__ = [
    "ReconFusionScene",
    "write_reconfusion_scene",
    "load_reconfusion",
    "load_reconfusion_scene",
    "read_reconfusion_index",
    "cameras_to_poses",
    "split_problem",
    "poses_to_cameras",
    "encode_image",
    "decode_image",
    "decode_scene_images",
]

INDEX_FILE = "index.json"


@dataclass
class ReconFusionScene:
    """One ReconFusion scene in the project convention.

    Attributes:
        key: scene key (as in ``index.json``).
        images: ``[N, 3, H, W]`` float in [0, 1], or None when loaded with ``decode_images=False``.
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world.
        K: ``[N, 3, 3]`` normalised intrinsics.
        splits: ``{n_views: (train_ids, test_ids)}``.
        image_bytes: the ``N`` encoded images as stored (1-D uint8 tensors).
        extras: any other fields of the scene dict (e.g. ``poses_bounds``).
    """

    key: str
    images: Tensor | None
    c2w: Tensor
    K: Tensor
    splits: dict[int, tuple[list[int], list[int]]]
    image_bytes: list[Tensor] = field(default_factory=list, repr=False)
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    def decoded_images(self) -> Tensor:
        """``[N, 3, H, W]`` float images (decoding ``image_bytes`` if needed)."""
        if self.images is None:
            self.images = _decode_all(self.image_bytes, f"scene {self.key!r}")
        return self.images

    def stored_size(self) -> tuple[int, int]:
        """``(H, W)`` of the scene's images: of the decoded ones if held, else of the first encoded one, read from its
        header (nothing decoded; :func:`decode_scene_images` refuses a scene whose images differ in size)."""
        if self.images is not None:
            return int(self.images.shape[-2]), int(self.images.shape[-1])
        if not self.image_bytes:
            raise ValueError(f"scene {self.key!r} has no images")
        from PIL import Image, UnidentifiedImageError

        raw = np.asarray(self.image_bytes[0].cpu().numpy(), dtype=np.uint8).tobytes()
        try:
            with Image.open(io.BytesIO(raw)) as im:
                width, height = im.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ValueError(f"scene {self.key!r}: image 0 cannot be decoded ({exc.__class__.__name__}: {exc})") from None
        return int(height), int(width)


def encode_image(image: Tensor, image_format: str = "png") -> Tensor:
    """Encode one ``[3, H, W]`` image (float in [0, 1] or uint8) to a 1-D uint8 tensor of file bytes."""
    from PIL import Image

    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"image: expected [3, H, W], got shape {tuple(image.shape)}")
    if image.dtype == torch.uint8:
        arr = image.permute(1, 2, 0).cpu().numpy()
    else:
        if not torch.isfinite(image).all():
            raise ValueError("image: contains NaN or infinite values")
        from ..utils.images import tensor_to_uint8

        arr = tensor_to_uint8(image)
    fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}.get(image_format.lower())
    if fmt is None:
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    buf = io.BytesIO()
    kwargs = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format=fmt, **kwargs)
    return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8).clone()


def decode_image(data: Tensor) -> Tensor:
    """Decode a 1-D uint8 tensor of image-file bytes to ``[3, H, W]`` float in [0, 1] (RGB)."""
    from ..utils.images import decode_rgb, pil_to_tensor

    raw = np.asarray(data.cpu().numpy() if torch.is_tensor(data) else data, dtype=np.uint8).tobytes()
    return pil_to_tensor(decode_rgb(raw, "image"))  # as genxd generate reads a file (16-bit, alpha on white)


def _decode_all(image_bytes: Sequence[Tensor], where: str) -> Tensor:
    """Every image decoded and stacked (:func:`decode_scene_images`)."""
    return decode_scene_images(image_bytes, where)[0]


def decode_scene_images(image_bytes: Sequence[Tensor], where: str,
                        downsize: Callable[[Tensor], Tensor] | None = None,
                        indices: Sequence[int] | None = None) -> tuple[Tensor, tuple[int, int]]:
    """``(images [N, 3, h, w], (H, W))``: every image decoded, passed through ``downsize`` (``[3, H, W]`` to
    ``[3, h, w]``; None: kept) as soon as it is decoded, so that one image at a time is held at its stored size, and
    stacked; ``(H, W)`` is their stored size. A ValueError naming ``where`` and the image that cannot be decoded or
    whose stored size differs from the first one's. ``indices``: only the images at those indices, in that order
    (the others neither decoded nor checked); None: all."""
    from PIL import Image, UnidentifiedImageError

    images: list[Tensor] = []
    first: tuple[int, ...] = ()  # the stored shape of the first image decoded
    order = range(len(image_bytes)) if indices is None else [int(i) for i in indices]
    for i in order:
        try:
            image = decode_image(image_bytes[i])
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ValueError(f"{where}: image {i} cannot be decoded ({exc.__class__.__name__}: {exc})") from None
        if images and tuple(image.shape) != first:
            raise ValueError(
                f"{where}: image {i} is {image.shape[-1]}x{image.shape[-2]}, image {order[0]} is "
                f"{first[-1]}x{first[-2]}; the images of a scene need one size"
            )
        first = first or tuple(image.shape)
        image = image if downsize is None else downsize(image)  # the stored-size pixels let go before the next
        images.append(image)
    return torch.stack(images), (int(first[-2]), int(first[-1]))  # torch.stack refuses no images


def poses_to_cameras(c2w: Tensor, K: Tensor) -> Tensor:
    """``c2w [N, 4, 4]`` + normalised ``K [N, 3, 3]`` to ReconFusion ``cameras [N, 18]`` (float32)."""
    c2w64 = as_c2w(c2w)
    K64 = as_intrinsics(K, c2w64.shape[0])
    w2c = c2w_to_w2c(c2w64)[:, :3, :].reshape(-1, 12)
    intr = torch.stack([K64[:, 0, 0], K64[:, 1, 1], K64[:, 0, 2], K64[:, 1, 2]], dim=1)
    zeros = torch.zeros(len(w2c), 2, dtype=torch.float64)
    return torch.cat([intr, zeros, w2c], dim=1).float()


def cameras_to_poses(cameras: Tensor, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """ReconFusion ``cameras [N, 18]`` to ``(c2w [N, 4, 4], K [N, 3, 3])`` (normalised)."""
    cams = torch.as_tensor(cameras).double()
    if cams.ndim != 2 or cams.shape[1] != 18:
        raise ValueError(f"cameras: expected [N, 18], got shape {tuple(cams.shape)}")
    n = cams.shape[0]
    K = torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2] = cams[:, 0], cams[:, 1], cams[:, 2], cams[:, 3]
    w2c = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    w2c[:, :3, :] = cams[:, 6:].reshape(n, 3, 4)
    return c2w_to_w2c(w2c).to(dtype), K.to(dtype)


def _safe_file_name(key: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._") or "scene"
    return f"{name}.torch"


def read_reconfusion_index(root: str | os.PathLike, keys: Sequence[str] | None = None) -> dict[str, str]:
    """``index.json`` of a ReconFusion folder: ``{key: torch file name}``, each name checked and normalised once
    here (:func:`~genxd.utils.paths.path_inside`: ``\\`` as ``/``, ``a/../b.torch`` as ``b.torch``), so ``root / name``
    is the file; a ValueError naming the index when a name is absolute or leaves ``root`` (a scene is read from,
    and written to with overwrite, only inside it). ``keys``: only those scenes, in that order (a ValueError
    naming the ones the index lacks)."""
    root = Path(root)
    index_path = root / INDEX_FILE
    settle(index_path)  # an index a stopped write left beside its temporary (genxd.utils.file_groups), renamed in
    if not index_path.is_file():
        raise FileNotFoundError(f"{root}: no {INDEX_FILE} (not a ReconFusion torch folder)")
    index = read_json(index_path)
    if not isinstance(index, dict) or not all(isinstance(v, str) for v in index.values()):
        raise ValueError(f"{index_path}: expected a JSON object mapping scene keys to torch file names")
    # a downloaded index naming ../x or /x: read from, or written to by overwrite
    index = {str(k): path_inside(root, v, index_path).relative_to(root).as_posix() for k, v in index.items()}
    if keys is None:
        return index
    missing = [k for k in keys if k not in index]
    if missing:
        raise ValueError(f"{root}: scenes not in {INDEX_FILE}: {', '.join(missing)}")
    return {k: index[k] for k in keys}


def write_reconfusion_scene(
    root: str | os.PathLike,
    key: str,
    images: Tensor,
    c2w: Tensor,
    K: Tensor,
    splits: Mapping[int, tuple[Sequence[int], Sequence[int]]],
    *,
    extras: Mapping[str, Any] | None = None,
    image_format: str = "png",
    overwrite: bool = False,
) -> Path:
    """Write one scene as ``root/<key>.torch`` and add it to ``root/index.json`` (both atomic).

    Args:
        images: ``[N, 3, H, W]`` float in [0, 1] (or uint8), stored as encoded PNG (or JPEG) bytes.
        c2w: ``[N, 4, 4]`` OpenCV camera-to-world; K: ``[N, 3, 3]`` or ``[3, 3]`` normalised.
        splits: ``{n_views: (train_ids, test_ids)}``, written as ``train_test_split_{n_views}``.
        extras: extra scene fields (tensors, lists, numbers, strings), e.g. ``poses_bounds``.
        overwrite: replace a scene already in the index under ``key``.
    Returns:
        Path of the scene's torch file. Concurrent writers to one folder are not supported.
    """
    root = Path(root)
    if not isinstance(key, str) or not key:
        raise ValueError("key: must be a non-empty string")
    c2w64 = as_c2w(c2w)
    n = c2w64.shape[0]
    if images.ndim != 4 or images.shape[0] != n or images.shape[1] != 3:
        raise ValueError(f"images: expected [{n}, 3, H, W], got shape {tuple(images.shape)}")
    cameras = poses_to_cameras(c2w64, as_intrinsics(K, n))
    scene: dict[str, Any] = {
        "key": key,
        "images": [encode_image(img, image_format) for img in images],
        "cameras": cameras,
    }
    if not splits:
        raise ValueError("splits: give at least one {n_views: (train_ids, test_ids)}")
    for n_views, (train_ids, test_ids) in splits.items():
        train = [int(i) for i in train_ids]
        test = [int(i) for i in test_ids]
        bad = [i for i in train + test if not 0 <= i < n]
        if bad:
            raise ValueError(f"splits[{n_views}]: ids {bad} out of range for {n} images")
        problem = split_problem(train, test)
        if problem:
            raise ValueError(f"splits[{n_views}]: {problem}")
        scene[f"train_test_split_{int(n_views)}"] = {"train_ids": train, "test_ids": test}
    for name, value in (extras or {}).items():
        if name in scene:
            raise ValueError(f"extras: {name!r} is a reserved field")
        scene[name] = value

    settle(root / INDEX_FILE)  # a write of this folder that a stop left half done, finished first
    index = read_reconfusion_index(root) if (root / INDEX_FILE).is_file() else {}
    if key in index and not overwrite:
        raise FileExistsError(f"{root}: scene {key!r} already in {INDEX_FILE} (pass overwrite=True to replace it)")
    own = index.get(key)  # the file this key already has (replaced only with overwrite, checked above)
    file_name = own or _safe_file_name(key)
    # compared as macOS and Windows compare names (up to case and Unicode normalisation): one file there
    taken = {name_key(name) for name in set(index.values()) - {own}}
    on_disk = {name_key(name) for name in os.listdir(root) if name != own} if root.is_dir() else set()
    stem, suffix, i = file_name[: -len(".torch")], ".torch", 1
    # a file on disk that the index does not give this key (another scene's, or a user's own) is never replaced
    while name_key(file_name) in taken or (file_name != own and name_key(file_name) in on_disk):
        file_name, i = f"{stem}_{i}{suffix}", i + 1
    path = root / file_name
    index[key] = file_name
    # the scene and the index that names it replaced as one (genxd.utils.file_groups): written one after the other, a
    # stop between the two left a scene file no index named, and the next run wrote key_1.torch beside it. The index
    # first: its read (read_json) finishes a group a stop left half renamed, the scene file with it
    with atomic_group([root / INDEX_FILE, path]) as (index_tmp, scene_tmp):
        with open(scene_tmp, "wb") as f:  # a file object: the archive is named "archive", not the random temp name
            torch.save([scene], f)
        index_tmp.write_text(json_text(index, indent=4) + "\n")  # as write_json_atomic writes it
    return path


def _numpy_safe_globals() -> list[Any]:
    """numpy callables torch needs to unpickle ndarrays with weights_only=True.

    Each is listed under both module paths (``numpy.core`` from numpy 1, ``numpy._core`` from numpy 2)
    because the pickle names the path of the numpy that saved the file.
    """
    core = getattr(np, "_core", None) or np.core
    multiarray = core.multiarray
    allowed: list[Any] = [np.ndarray, np.dtype]
    for base in ("numpy.core", "numpy._core"):
        allowed.append((multiarray._reconstruct, f"{base}.multiarray._reconstruct"))
        if hasattr(multiarray, "scalar"):
            allowed.append((multiarray.scalar, f"{base}.multiarray.scalar"))
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return allowed


def _torch_load_safe(path: Path) -> Any:
    """``torch.load(weights_only=True)`` (numpy's types allowed on a second try, when the file holds them); a
    ValueError naming ``path`` for a file that is not a safe torch file or cannot be read as one (truncated,
    corrupt archive, not a torch file at all)."""
    from .archive import check_torch_archive

    check_torch_archive(path)  # torch.load inflates deflated records: a few MB of zeros can claim gigabytes
    try:
        return _torch_load(path, numpy=False)
    except _NeedsNumpy:
        return _torch_load(path, numpy=True)


class _NeedsNumpy(Exception):
    """The file's pickle names numpy types: load it again with them allowed."""


def _torch_load(path: Path, numpy: bool) -> Any:
    allowed = torch.serialization.safe_globals(_numpy_safe_globals()) if numpy else contextlib.nullcontext()
    try:
        with allowed:
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not numpy and "numpy" in str(exc):
            raise _NeedsNumpy() from None
        raise ValueError(f"{path}: not a safe torch file ({first_line(exc)})") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt file fails in the zip reader, the unpickler, the storages
        raise ValueError(f"{path}: not a readable torch file ({first_line(exc, with_type=True)})") from None


def _scene_cameras(path: Path, cameras: Any, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """The scene's ``cameras`` as ``(c2w, K)``; a ValueError naming ``path`` unless they are ``[N, 18]`` finite
    numbers with positive focal lengths."""
    try:
        cams = torch.as_tensor(cameras).double()
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise ValueError(f"{path}: cameras: expected [N, 18] numbers ({first_line(exc, with_type=True)})") from None
    if cams.ndim != 2 or cams.shape[1] != 18 or cams.shape[0] == 0:
        raise ValueError(f"{path}: cameras: expected [N, 18] numbers, got shape {tuple(cams.shape)}")
    if not bool(torch.isfinite(cams).all()):
        raise ValueError(f"{path}: cameras: contains NaN or infinite values")
    if not bool((cams[:, :2] > 0).all()):
        raise ValueError(f"{path}: cameras: the focal lengths (columns 0, 1) must be > 0")
    c2w, K = cameras_to_poses(cams, dtype=torch.float64)
    if not (bool(torch.isfinite(c2w.to(dtype)).all()) and bool(torch.isfinite(K.to(dtype)).all())):
        raise ValueError(f"{path}: cameras: values too large for {dtype}")
    return c2w.to(dtype), K.to(dtype)


def _scene_images(path: Path, images: Any) -> list[Tensor]:
    """The scene's encoded images as 1-D uint8 tensors; a ValueError naming ``path`` otherwise."""
    if not isinstance(images, (list, tuple)):
        raise ValueError(f"{path}: images: expected a list of encoded images, got {type(images).__name__}")
    out = []
    for i, b in enumerate(images):
        try:
            t = torch.as_tensor(b)
        except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
            raise ValueError(f"{path}: image {i}: expected the bytes of an image file ({first_line(exc, with_type=True)})") from None
        if t.dtype != torch.uint8 or t.ndim != 1:
            raise ValueError(f"{path}: image {i}: expected a 1-D uint8 tensor of image-file bytes, got "
                             f"{t.dtype} of shape {tuple(t.shape)}")
        out.append(t)
    return out


def _split_ids(path: Path, name: str, value: Any, n: int) -> tuple[list[int], list[int]]:
    """``train_test_split_*``'s ``(train_ids, test_ids)``; a ValueError naming ``path`` unless both are lists of
    view indices in ``0..n-1``."""
    if not isinstance(value, dict) or "train_ids" not in value or "test_ids" not in value:
        raise ValueError(f"{path}: {name}: expected {{'train_ids': [...], 'test_ids': [...]}}, got {value!r:.80}")
    out = []
    for part in ("train_ids", "test_ids"):
        ids = value[part]
        if torch.is_tensor(ids) or isinstance(ids, np.ndarray):
            ids = ids.tolist()
        if not isinstance(ids, (list, tuple)):
            raise ValueError(f"{path}: {name}.{part}: expected a list of view indices, got {ids!r:.80}")
        try:
            converted = [int(i) for i in ids]
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{path}: {name}.{part}: expected view indices, got {ids!r:.80}") from None
        bad = [i for i in converted if not 0 <= i < n]
        if bad:
            raise ValueError(f"{path}: {name}.{part}: indices {bad[:5]} outside the scene's {n} views")
        out.append(converted)
    problem = split_problem(out[0], out[1])
    if problem:
        raise ValueError(f"{path}: {name}: {problem}")
    return out[0], out[1]


def split_problem(train_ids: Sequence[int], test_ids: Sequence[int]) -> str | None:
    """Why a few-shot split cannot be used, or None: a view given twice in a list, or a view that is both a
    training (input) and a test view (its image would be scored after being trained on)."""
    for part, ids in (("train_ids", train_ids), ("test_ids", test_ids)):
        twice = sorted(i for i, count in Counter(ids).items() if count > 1)
        if twice:
            return f"{part} lists views {twice[:5]} more than once"
    both = sorted(set(train_ids) & set(test_ids))
    if both:
        return f"views {both[:5]} are both training and test views (test views must never be inputs)"
    return None


def load_reconfusion_scene(
    path: str | os.PathLike, key: str | None = None, decode_images: bool = True, dtype: torch.dtype = torch.float32
) -> ReconFusionScene:
    """Read one ReconFusion torch file (item ``[0]`` of its list)."""
    path = require_file(path)
    data = _torch_load_safe(path)
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError(f"{path}: empty scene list")
        data = data[0]
    if not isinstance(data, dict) or "cameras" not in data or "images" not in data:
        raise ValueError(f"{path}: expected a scene dict with 'images' and 'cameras'")
    c2w, K = _scene_cameras(path, data["cameras"], dtype)
    image_bytes = _scene_images(path, data["images"])
    if len(image_bytes) != len(c2w):
        raise ValueError(f"{path}: {len(image_bytes)} images for {len(c2w)} cameras")
    splits: dict[int, tuple[list[int], list[int]]] = {}
    extras: dict[str, Any] = {}
    for name, value in data.items():
        m = re.fullmatch(r"train_test_split_(\d+)", name) if isinstance(name, str) else None
        if m:
            splits[int(m.group(1))] = _split_ids(path, name, value, len(c2w))
        elif name not in ("images", "cameras", "key"):
            extras[name] = value
    images = _decode_all(image_bytes, str(path)) if decode_images and image_bytes else None
    return ReconFusionScene(
        key=str(key if key is not None else data.get("key", path.stem)),
        images=images,
        c2w=c2w,
        K=K,
        splits=dict(sorted(splits.items())),
        image_bytes=image_bytes,
        extras=extras,
    )


def load_reconfusion(
    root: str | os.PathLike,
    keys: Sequence[str] | None = None,
    decode_images: bool = True,
    dtype: torch.dtype = torch.float32,
) -> dict[str, ReconFusionScene]:
    """Read a ReconFusion torch folder: ``{key: ReconFusionScene}`` in ``index.json`` order.

    ``keys`` restricts to some scenes; ``decode_images=False`` keeps only the encoded bytes
    (decode later with :meth:`ReconFusionScene.decoded_images`).
    """
    root = Path(root)
    index = read_reconfusion_index(root, keys)
    return {
        key: load_reconfusion_scene(root / name, key=key, decode_images=decode_images, dtype=dtype)
        for key, name in index.items()
    }
