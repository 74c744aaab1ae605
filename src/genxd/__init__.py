"""genxd: generating any 3D and 4D scenes (GenXD, Zhao et al., ICLR 2025).

The Python API: ``genxd.generate``, ``genxd.fewshot``, ``genxd.generate_scenes``,
``genxd.fewshot_scenes`` (:mod:`genxd.api`; loaded on first use, so ``import genxd`` stays light).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# diffusers imports bitsandbytes (the `train` extra) whenever it loads a model; on CPUs with AVX-512 BF16 its
# CPU backend then warns on stderr that an optional `kernels` download is missing, on every command. genxd
# never uses 4-bit CPU kernels (8-bit AdamW is on CUDA), so that one logger is kept to errors.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

_API = ("generate", "fewshot", "generate_scenes", "fewshot_scenes", "load_model", "GenerationError", "SceneResult")

if TYPE_CHECKING:  # pragma: no cover
    from .api import GenerationError, SceneResult, fewshot, fewshot_scenes, generate, generate_scenes, load_model


def __getattr__(name: str) -> Any:
    """``genxd.generate`` & co. are the functions of :mod:`genxd.api` themselves (real signatures)."""
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'genxd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = [*_API, "__version__"]
