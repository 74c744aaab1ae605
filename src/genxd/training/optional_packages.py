"""The optional packages a training config asks for, checked with the other config checks, before the run's folder,
datasets or models are made (a run that would fail at its optimiser after minutes of model building fails at once)."""

from __future__ import annotations

import importlib.util

from ..utils.extras import install_extra

__all__ = ["EIGHT_BIT_ADAM_MISSING", "optional_package_error"]

#: The message for ``training.use_8bit_adam`` without bitsandbytes (here and where the optimiser is made).
EIGHT_BIT_ADAM_MISSING = f"training.use_8bit_adam needs bitsandbytes, which is not installed ({install_extra('train')})"


def optional_package_error(cfg: object) -> ValueError | None:
    """The error for a config (``genxd train`` / ``train-vae``) that needs a package that is not installed; else
    None. Finds the package without importing it (bitsandbytes' import takes seconds)."""
    training = getattr(cfg, "training", None)
    if getattr(training, "use_8bit_adam", False) and not _installed("bitsandbytes"):
        return ValueError(EIGHT_BIT_ADAM_MISSING)
    return None


def _installed(name: str) -> bool:
    """Whether ``name`` can be imported. A module already in ``sys.modules`` without ``__spec__`` (a stub some tools
    put there) makes find_spec raise ValueError: the module is there, so it counts as installed."""
    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # in sys.modules, __spec__ None
        return True
    except ImportError:  # a parent package that fails to import
        return False
