"""bitsandbytes' import kept off the network.

bitsandbytes (the ``train`` extra; diffusers imports it whenever it imports its model classes) asks the ``kernels``
package (which transformers 5, the ``models`` extra, installs) for a 4-bit CPU kernel from the Hugging Face Hub when
it is imported on a CPU with AVX-512 BF16 (``bitsandbytes/backends/cpu/ops.py``: ``get_kernel(
"kernels-community/quantization-bitsandbytes")``): a DNS lookup and a Hub API call (the publisher's trust status) on
every genxd command, and a download of compiled code when the publisher is trusted. genxd never uses 4-bit kernels
and never reaches the Hub itself (its models load with ``local_files_only``), so :func:`keep_bitsandbytes_offline`
(applied by ``import genxd``) makes the Hub offline (``huggingface_hub.constants.HF_HUB_OFFLINE``) for the time
bitsandbytes' own code runs on its first import, and only then: ``kernels`` looks in the local cache alone, finds
nothing and bitsandbytes carries on without the kernel, as it does on any other CPU (its warning about it stays
off stderr, :mod:`genxd.utils.library_logs`). A process that imported bitsandbytes before genxd is left as it is.
``GENXD_ALLOW_KERNEL_DOWNLOADS=1`` lets bitsandbytes fetch its kernel as it would without genxd.

The flag is process-wide while bitsandbytes runs its import (well under a second, on the thread that imports it):
another thread downloading from the Hub at that moment would see the Hub offline and fail.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import threading
from typing import Any, Iterator

from .library_logs import dropped_messages

__all__ = ["ALLOW_ENV", "hub_offline", "keep_bitsandbytes_offline"]

ALLOW_ENV = "GENXD_ALLOW_KERNEL_DOWNLOADS"
_PACKAGE = "bitsandbytes"
#: kernels' line when the Hub is offline, "Skipping publisher trust check for '...' because Hugging Face Hub is in
#: offline mode.": about the download that genxd stops, it asks nothing of the user
_KERNELS_HUB_LOGGER = "kernels._internals.hf_hub"
_TRUST_CHECK_SKIPPED = "Skipping publisher trust check"


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """``huggingface_hub.constants.HF_HUB_OFFLINE`` set while the block runs (the value libraries read at call
    time), then put back."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency of genxd
        yield
        return
    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        with dropped_messages(_KERNELS_HUB_LOGGER, _TRUST_CHECK_SKIPPED):
            yield
    finally:
        constants.HF_HUB_OFFLINE = previous


class _OfflineLoader(importlib.abc.Loader):
    """The package's own loader, with its code run under :func:`hub_offline`; the module gets the real loader
    back before its code runs, so it looks imported as usual (``__loader__``, ``__spec__.loader``, resources)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with hub_offline():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _BitsandbytesOfflineFinder(importlib.abc.MetaPathFinder):
    """Finds bitsandbytes as the other finders do and wraps its loader (:class:`_OfflineLoader`)."""

    def __init__(self) -> None:
        self._finding = threading.local()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != _PACKAGE or getattr(self._finding, "active", False) or os.environ.get(ALLOW_ENV) == "1":
            return None
        self._finding.active = True
        try:
            spec = importlib.util.find_spec(fullname)  # the other finders (this one steps aside while they look)
        finally:
            self._finding.active = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _OfflineLoader(spec.loader)
        return spec


def keep_bitsandbytes_offline() -> bool:
    """Install the finder (idempotent). Returns whether bitsandbytes' first import is still to come."""
    if _PACKAGE in sys.modules:
        return False
    if not any(isinstance(f, _BitsandbytesOfflineFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _BitsandbytesOfflineFinder())
    return True
