"""Deferring a module's import until its first use.

Why: diffusers' Euler scheduler module runs ``import scipy.stats`` when it is imported, for its
``use_beta_sigmas`` option only, which no GenXD scheduler config uses; ``scipy.stats`` takes 1.2-1.7 s to import
on a 2-core AMD EPYC (``python -X importtime``), a tenth of the README's ``genxd generate`` command there. With
the module deferred, ``import scipy.stats`` anywhere returns a module object at once and the module's code runs
on the first use of a name it defines (``scipy.stats.beta``), so nothing changes for code that uses it.

Not the standard library's ``importlib.util.LazyLoader``: its module loads on *any* attribute access, and
torch's operator registration walks ``sys.modules`` reading every module's ``__file__``
(``inspect.getmodule``), which loaded it during ``import torch._dynamo``. Here the import system's own attributes
(``__file__``, ``__spec__``, ``__path__``, ...) are set up front as an import would and read without loading;
the first other name loads the module under a lock (threads wait for one load).

Only the CLI defers (:func:`genxd.cli.common.import_libraries`), before the heavy imports of one command; a
library user's process is left as Python makes it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types

__all__ = ["defer_import", "is_deferred"]

_LOCK = threading.RLock()
_LOADING: set[str] = set()


class _DeferredModule(types.ModuleType):
    """A module whose code runs at the first lookup of a name it does not have yet (``__getattr__`` is only
    called for missing names, so the import system's attributes never load it)."""

    def __getattr__(self, attr: str):
        with _LOCK:  # other threads wait here until the module's code has run
            if type(self) is _DeferredModule:
                spec = self.__spec__
                assert spec is not None and spec.loader is not None  # defer_import made it from a spec with both
                if spec.name in _LOADING:  # a name its own code looks up before defining it
                    raise AttributeError(f"module {spec.name!r} has no attribute {attr!r}")
                _LOADING.add(spec.name)
                try:
                    spec.loader.exec_module(self)
                except BaseException:
                    sys.modules.pop(spec.name, None)  # a later import retries, as after a failed import
                    raise
                finally:
                    _LOADING.discard(spec.name)
                module: types.ModuleType = self  # a plain module from now on (its code has run)
                module.__class__ = types.ModuleType
        return getattr(self, attr)


def is_deferred(module: types.ModuleType) -> bool:
    """Whether ``module`` is deferred and its code has not run yet."""
    return type(module) is _DeferredModule


def defer_import(name: str) -> bool:
    """Make ``import name`` cheap until the module is first used. Returns ``True`` when deferred, ``False`` when
    the module is already imported or cannot be found (then nothing changes). ``name`` may be a submodule
    (``"scipy.stats"``): its parent package is imported now (for scipy, a light package that loads its
    submodules on demand), and the deferred module is set as the parent's attribute, as an import would."""
    with _LOCK:
        if name in sys.modules:
            return False
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return False
        module = importlib.util.module_from_spec(spec)  # sets __name__, __spec__, __file__, __path__, ...
        module.__class__ = _DeferredModule
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
        return True
