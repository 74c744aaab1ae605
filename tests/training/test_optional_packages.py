"""The optional packages a training config asks for (genxd.training.optional_packages), found without importing."""

from __future__ import annotations

import sys
import types

from genxd.training.config import load_config
from genxd.training.optional_packages import EIGHT_BIT_ADAM_MISSING, optional_package_error


def test_a_module_without_spec_in_sys_modules_counts_as_installed(monkeypatch):
    """A stub module without ``__spec__`` (as some test tools or notebooks put in sys.modules) made find_spec raise
    ValueError ('bitsandbytes.__spec__ is None') out of the config checks; ``import bitsandbytes`` would find it."""
    stub = types.ModuleType("bitsandbytes")
    stub.__spec__ = None
    monkeypatch.setitem(sys.modules, "bitsandbytes", stub)
    assert optional_package_error(load_config("tiny", ["training.use_8bit_adam=true"])) is None


def test_a_module_marked_missing_in_sys_modules_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import bitsandbytes raises ImportError
    error = optional_package_error(load_config("tiny", ["training.use_8bit_adam=true"]))
    assert isinstance(error, ValueError) and str(error) == EIGHT_BIT_ADAM_MISSING
