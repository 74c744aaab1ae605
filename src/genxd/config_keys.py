"""A component's config file checked against the class that builds it, before anything is built: its keys
(:func:`check_config_keys`), the types of their values (:func:`check_config_types`) and the class it names
(:func:`check_config_class`).

diffusers builds a UNet, VAE or scheduler from the config keys its ``__init__`` takes and ignores every other one
after a log line ("The config attributes {...} were passed to ..., but are not expected and will be ignored"): a
misspelt ``scaling_factr`` in a VAE config built the VAE with the default scaling factor (0.18215 for the bundled
model's 0.639) in silence, and ``prediction_typ`` in a scheduler config left the default ``epsilon``. Keys
diffusers drops without a word (those of a scheduler's compatible classes: Stable Video Diffusion's Euler config
carries DDIM's ``clip_sample``) and private ``_`` keys stay accepted.

diffusers passes the values on as they are: ``"ray_condition": "false"`` (a string, so true) was recorded as true,
``"scaling_factor": "0.6"`` ended the first generation in a traceback, and a ``NaN`` or 0 scaling factor loaded.
A value is checked against the type the class's ``__init__`` declares for it (``bool``: a JSON boolean; ``int``: a
whole number; ``float``: a finite number; ``str`` and ``Literal``: a string, one of the literal values; a
``Sequence`` / ``tuple``: a list of them; ``X | None``, or a default of None: also null); a key whose declared
type is none of these (``numpy.ndarray | list[float]``) is left to the class.
"""

from __future__ import annotations

import collections.abc
import inspect
import math
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .utils.close_names import close_matches_note

__all__ = ["check_config_class", "check_config_keys", "check_config_types", "config_keys"]


def _init_keys(cls: type) -> frozenset[str]:
    """The keyword arguments of ``cls.__init__`` (a config's keys it takes); none for ``*args, **kwargs`` only."""
    params = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]  # the class's own
    return frozenset(p.name for p in params if p.name != "self"
                     and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD))


@lru_cache(maxsize=32)
def config_keys(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    """``(taken, dropped)``: the config keys ``cls`` is built from (less its ``ignore_for_config``), and those
    diffusers drops without a warning (its compatible classes' keys, for a scheduler)."""
    taken = _init_keys(cls) - set(getattr(cls, "ignore_for_config", ()) or ())
    dropped: set[str] = set()
    if getattr(cls, "has_compatibles", False):
        for other in cls._get_compatibles():  # type: ignore[attr-defined]  # diffusers' SchedulerMixin
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
        keys = "" if close else f" (its keys: {', '.join(sorted(taken))})"
        raise ValueError(f"{config_path}: unknown key(s) {unknown}{close}; {cls.__name__} would be built without "
                         f"{'it' if len(unknown) == 1 else 'them'}{keys}")


#: a check of one JSON value, and the words for what it accepts
_Check = tuple[Callable[[Any], bool], str]
#: values a division or a logarithm needs above zero (the VAE's latents are divided by its scaling factor)
_POSITIVE = frozenset({"scaling_factor"})


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_of(annotation: Any, default: Any) -> _Check | None:
    """The check of a value declared ``annotation`` (``default``: its default value), None for a type not
    described here (then the value is not checked)."""
    if annotation is bool or (annotation in (int, float) and isinstance(default, bool)):  # force_upcast: float = True
        return (lambda x: isinstance(x, bool)), "true or false"
    if annotation is int:
        return (lambda x: isinstance(x, int) and not isinstance(x, bool)), "a whole number"
    if annotation is float:
        return _is_number, "a finite number"
    if annotation is str:
        return (lambda x: isinstance(x, str)), "a string"
    if annotation is type(None):
        return (lambda x: x is None), "null"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return (lambda x: isinstance(x, str) and x in args), " or ".join(map(repr, args))
    if origin in (typing.Union, types.UnionType):
        checks = [_check_of(a, None) for a in args]
        if any(c is None for c in checks):
            return None
        return (lambda x: any(c(x) for c, _ in checks)), " or ".join(d for _, d in checks)  # type: ignore[misc]
    if origin in (tuple, list, collections.abc.Sequence):
        items = [_check_of(a, None) for a in args if a is not Ellipsis]
        if not items or any(c is None for c in items):  # a list of anything: left to the class
            return None
        what = " or ".join(_PLURAL.get(d, d) for _, d in items)  # type: ignore[misc]
        return (lambda x: isinstance(x, list) and all(any(c(i) for c, _ in items) for i in x)), f"a list of {what}"  # type: ignore[misc]
    return None


_PLURAL = {"a whole number": "whole numbers", "a finite number": "finite numbers", "a string": "strings",
           "true or false": "booleans"}


@lru_cache(maxsize=32)
def _value_checks(cls: type) -> dict[str, _Check]:
    """``{key: check}`` for the keys of ``cls.__init__`` whose declared type :func:`_check_of` describes."""
    try:
        hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]  # the class's own
    except Exception:  # noqa: BLE001 - annotations that do not evaluate here: nothing is checked
        return {}
    checks = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():  # type: ignore[misc]
        if name in hints and (check := _check_of(hints[name], param.default)) is not None:
            checks[name] = _nullable(check) if param.default is None else check
    return checks


def _nullable(check: _Check) -> _Check:
    """``check`` that also takes null, for a key whose default is None (declared ``x: int = None``, without
    ``| None``): the class takes None, from a config as well."""
    accepts, what = check
    if accepts(None):
        return check
    return (lambda x: x is None or accepts(x)), f"{what} or null"


def check_config_types(config_path: Path, config: dict[str, Any], cls: type) -> None:
    """A ValueError naming ``config_path``, the key and its value when a value of ``config`` is not of the type
    ``cls.__init__`` declares for it (see the module's docstring), or a scaling factor is not above zero."""
    checks = _value_checks(cls)
    for key, value in config.items():
        if key in checks and not checks[key][0](value):
            raise ValueError(f"{config_path}: {key} must be {checks[key][1]}, got {value!r:.80}")
        if key in _POSITIVE and key in checks and not (_is_number(value) and value > 0):
            raise ValueError(f"{config_path}: {key} must be a number above 0, got {value!r:.80}")


def check_config_class(config_path: Path, config: dict[str, Any], cls: type) -> None:
    """A ValueError naming ``config_path`` when its ``_class_name`` is another class than ``cls``: another
    scheduler's for a scheduler (diffusers built ``cls`` from a ``DDIMScheduler`` config in silence, taking what
    keys it shares), another diffusers class for a network (Stable Video Diffusion's UNet config given as GenXD's).
    A network config naming a class diffusers does not have (a user's subclass of ``cls``) or naming none loads."""
    name = config.get("_class_name")
    if name is None or name == cls.__name__:
        return
    import diffusers

    scheduler = hasattr(cls, "set_timesteps")
    if not scheduler and not (isinstance(name, str) and hasattr(diffusers, name)):
        return
    kind = "scheduler" if scheduler else "network"
    note = (" (genxd generate --scheduler picks other samplers)" if scheduler else
            _OTHER_MODELS.get(name, "") if isinstance(name, str) else "")
    raise ValueError(f"{config_path}: the config of another {kind} class ({name!r:.80}); genxd reads "
                     f"{config_path.parent.name}/ as {cls.__name__}{note}")


#: what a folder of another model's network is, where genxd can use it
_OTHER_MODELS = {"UNetSpatioTemporalConditionModel": " (a Stable Video Diffusion model: genxd train's model.init=svd "
                                                     "starts a GenXD model from one, docs/training.md)"}
