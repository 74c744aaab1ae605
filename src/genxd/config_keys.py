"""A component's config file checked against the class that builds it, before anything is built: its keys
(:func:`check_config_keys`).

diffusers builds a UNet, VAE or scheduler from the config keys its ``__init__`` takes and ignores every other one
after a log line ("The config attributes {...} were passed to ..., but are not expected and will be ignored"): a
misspelt ``scaling_factr`` in a VAE config built the VAE with the default scaling factor (0.18215 for the bundled
model's 0.639), and ``prediction_typ`` in a scheduler config sampled with the default ``epsilon``, in silence. Keys
diffusers drops without a word (those of a scheduler's compatible classes: Stable Video Diffusion's Euler config
carries DDIM's ``clip_sample``) and private ``_`` keys stay accepted.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from pathlib import Path
from typing import Any

from .utils.close_names import close_matches_note

__all__ = ["check_config_keys", "config_keys"]


def _init_keys(cls: type) -> frozenset[str]:
    """The keyword arguments of ``cls.__init__`` (a config's keys it takes); none for ``*args, **kwargs`` only."""
    params = inspect.signature(cls.__init__).parameters.values()
    return frozenset(p.name for p in params if p.name != "self"
                     and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD))


@lru_cache(maxsize=32)
def config_keys(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    """``(taken, dropped)``: the config keys ``cls`` is built from (less its ``ignore_for_config``), and those
    diffusers drops without a warning (its compatible classes' keys, for a scheduler)."""
    taken = _init_keys(cls) - set(getattr(cls, "ignore_for_config", ()) or ())
    dropped: set[str] = set()
    if getattr(cls, "has_compatibles", False):
        for other in cls._get_compatibles():
            if isinstance(other, type) and hasattr(other, "__init__"):
                try:
                    dropped |= _init_keys(other)
                except (TypeError, ValueError):  # a placeholder of a missing optional backend
                    continue
    return frozenset(taken), frozenset(dropped - taken)


def check_config_keys(config_path: Path, config: dict[str, Any], cls: type) -> None:
    """A ValueError naming ``config_path`` and the keys of ``config`` that ``cls`` would ignore (with the key a
    misspelt one is close to); private keys (``_class_name``, ``_diffusers_version``, notes) are not looked at."""
    taken, dropped = config_keys(cls)
    if not taken:  # a subclass whose __init__ takes only **kwargs: diffusers reads nothing either (docs/training.md)
        return
    unknown = [k for k in config if not str(k).startswith("_") and k not in taken and k not in dropped]
    if unknown:
        close = close_matches_note(unknown, sorted(taken))
        raise ValueError(f"{config_path}: unknown key(s) {unknown}{close}; {cls.__name__} would be built without "
                         f"{'it' if len(unknown) == 1 else 'them'}" + ("" if close else f" (its keys: {', '.join(sorted(taken))})"))
