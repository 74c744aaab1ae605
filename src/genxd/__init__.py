"""genxd: generating any 3D and 4D scenes (GenXD, Zhao et al., ICLR 2025).

The Python API: ``genxd.generate``, ``genxd.fewshot``, ``genxd.generate_scenes``,
``genxd.fewshot_scenes`` (:mod:`genxd.api`; loaded on first use, so ``import genxd`` stays light).
"""

from __future__ import annotations

from .cli.early_interrupt import quiet_start

quiet_start()  # as the genxd command: Ctrl-C before main's own handling is one line too (genxd.cli.early_interrupt)

from typing import TYPE_CHECKING, Any  # noqa: E402

from .utils.library_logs import quiet_library_logs  # noqa: E402
from .utils.offline_imports import keep_bitsandbytes_offline  # noqa: E402

__version__ = "0.1.0"

quiet_library_logs()  # bitsandbytes' and diffusers' lines that ask for nothing (genxd.utils.library_logs)
keep_bitsandbytes_offline()  # its import asks the Hub for a CPU kernel: not on genxd's behalf (utils.offline_imports)

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
