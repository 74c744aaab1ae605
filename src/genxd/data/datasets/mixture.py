"""Weighted, deterministic mixtures of datasets, and datasets built from config entries (``type: ...``: a name of
:data:`DATASET_TYPES` or a class of one's own, ``package.module.ClassName``)."""

from __future__ import annotations

import importlib
import inspect
import math
from typing import Any, Sequence

import numpy as np
from torch.utils.data import Dataset

from ..dataset_options import unknown_options_error
from .camvid import CamVidDataset
from .clips import _integral, _rng
from .multiview import MultiViewDataset
from .reconfusion import ReconFusionDataset
from .synthetic_clips import SyntheticDataset

__all__ = ["MixtureDataset", "DATASET_TYPES", "build_dataset", "dataset_class"]


class MixtureDataset(Dataset):
    """Item ``i`` comes from dataset ``c`` with probability ``weights[c]`` (normalised), at an index
    drawn uniformly; both drawn from ``(seed, i)``, so the mixture is deterministic.

    ``length`` default: the total length of the datasets.
    """

    def __init__(self, datasets: Sequence[Dataset], weights: Sequence[float] | None = None,
                 length: int | None = None, seed: int = 0) -> None:
        if not datasets:
            raise ValueError("MixtureDataset needs at least one dataset")
        weights = [1.0] * len(datasets) if weights is None else [float(w) for w in weights]
        if len(weights) != len(datasets):
            raise ValueError(f"{len(weights)} weights for {len(datasets)} datasets")
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all zero, got {weights}")
        for d in datasets:
            if len(d) == 0:  # type: ignore[arg-type]
                raise ValueError(f"{type(d).__name__} is empty")
        self.datasets = list(datasets)
        self.weights = np.asarray(weights, dtype=np.float64) / sum(weights)
        self.length = int(length) if length is not None else int(sum(len(d) for d in datasets))  # type: ignore[arg-type,misc]  # torch's Dataset stub has no __len__
        if self.length < 1:
            raise ValueError(f"length must be >= 1, got {self.length}")
        self.seed = _integral(seed, "seed")  # "x" was int()'s words, 1.5 a seed of 1

    def __len__(self) -> int:
        return self.length

    def locate(self, index: int) -> tuple[int, int]:
        """``(dataset number, index in it)`` of mixture item ``index``."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        rng = _rng(self.seed, index, 0x1A)
        c = int(rng.choice(len(self.datasets), p=self.weights))
        j = int(rng.integers(len(self.datasets[c])))  # type: ignore[arg-type]
        return c, j

    def __getitem__(self, index: int) -> dict[str, Any]:
        c, j = self.locate(index)
        return self.datasets[c][j]


# ----------------------------------------------------------------------------------------------
# from a config
# ----------------------------------------------------------------------------------------------

DATASET_TYPES: dict[str, type] = {
    "synthetic": SyntheticDataset,
    "camvid": CamVidDataset,
    "multiview": MultiViewDataset,
    "reconfusion": ReconFusionDataset,
}


def _register_late_types() -> None:
    """Dataset types defined in their own modules (they import this one)."""
    from ..photo_scenes import PhotoSceneDataset

    DATASET_TYPES.setdefault("photo", PhotoSceneDataset)


def _own_class(kind: str) -> type:
    """The class a dotted ``type`` names (``mypkg.data.MyDataset``): a torch Dataset of one's own, imported from
    where genxd runs (its folder, ``PYTHONPATH``, an installed package). ValueError saying what is wrong."""
    if not all(part.isidentifier() for part in kind.split(".")):  # '.mymod.D' was importlib's TypeError
        raise ValueError(f"dataset type {kind!r} is not a dotted name package.module.ClassName (no leading, "
                         f"trailing or doubled dot; relative names are not taken)")
    module_name, _, name = kind.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"dataset type {kind!r}: cannot import {module_name!r} ({exc}); a dataset of your own is "
                         f"named package.module.ClassName and must be importable where genxd runs (e.g. on "
                         f"PYTHONPATH)") from None
    except Exception as exc:  # the module itself failed as it ran: named, its traceback chained
        raise ValueError(f"dataset type {kind!r}: importing {module_name!r} raised {type(exc).__name__}: "
                         f"{exc}") from exc
    cls = getattr(module, name, None)
    if cls is None:
        raise ValueError(f"dataset type {kind!r}: module {module_name!r} has no {name!r}")
    if not (isinstance(cls, type) and hasattr(cls, "__getitem__") and hasattr(cls, "__len__")):
        what = "a class without __len__ and __getitem__" if isinstance(cls, type) else f"a {type(cls).__name__}"
        raise ValueError(f"dataset type {kind!r} is not a dataset class ({what}; e.g. a torch.utils.data.Dataset "
                         f"subclass)")
    return cls


def dataset_class(kind: str) -> type | None:
    """The dataset class of config type ``kind`` (``"synthetic"``, ``"camvid"``, ``"photo"``, ...), every type
    registered (also those defined in their own modules), or a class of one's own named with its module
    (``"mypkg.data.MyDataset"``: imported, ValueError when it cannot be); None for an unknown name."""
    _register_late_types()
    if kind in DATASET_TYPES:
        return DATASET_TYPES[kind]
    return _own_class(kind) if isinstance(kind, str) and "." in kind.strip(".") else None


def build_dataset(spec: dict[str, Any], **defaults: Any) -> Dataset:
    """A dataset from a config entry ``{"type": ..., <constructor arguments>}``.

    ``defaults`` (e.g. ``num_frames``, ``height``, ``width``, ``seed``) fill arguments the entry does
    not set, when the dataset type takes them. ``weight`` is ignored here (see :class:`MixtureDataset`).
    Unknown arguments raise ValueError listing the accepted ones.
    """
    spec = dict(spec)
    kind = spec.pop("type", None)
    spec.pop("weight", None)
    cls = dataset_class(kind)
    if cls is None:
        raise ValueError(f"dataset type must be one of {sorted(DATASET_TYPES)} or a class of your own "
                         f"(package.module.ClassName), got {kind!r}")
    params = inspect.signature(cls.__init__).parameters  # type: ignore[misc]  # the class's own __init__, read on the class
    accepted = [p for p in params if p != "self"]
    if (error := unknown_options_error(kind, list(spec), accepted)) is not None:
        raise error
    for key, value in defaults.items():
        if key in accepted and key not in spec and value is not None:
            spec[key] = value
    return cls(**spec)
