"""A training config's mapping (YAML, with overrides applied) as its dataclasses (:mod:`genxd.training.config`) and
back: unknown keys refused with the close names, values type-checked lightly (numbers for int / float fields, strings
for str fields), each error naming the setting (``training.learning_rate: expected float, got ...``)."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from ..utils.close_names import close_matches_note

__all__ = ["config_from_dict", "coerce_value", "config_to_dict"]


def config_from_dict(cls: type, data: Any, where: str) -> Any:
    """The dataclass ``cls`` from the mapping ``data`` (None: every default), its sections made of their own
    mappings; ``where``: the dotted name of ``data`` in the config (``""`` for the whole), for messages."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'config'}: expected a mapping, got {type(data).__name__} ({data!r})")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise ValueError(f"{where or 'config'}: unknown key(s) {unknown}{close_matches_note(unknown, names)}; "
                         f"valid keys: {names}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        sub = f"{where}.{key}" if where else key
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a section (hints are classes here)
            kwargs[key] = config_from_dict(hint, value, sub)
        else:
            kwargs[key] = coerce_value(value, hint, sub)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{where or 'config'}: {exc}") from None


def coerce_value(value: Any, hint: Any, where: str) -> Any:
    """Light type checking: numbers for int/float fields, strings for str fields."""
    origin = typing.get_origin(hint)
    allowed = set(typing.get_args(hint)) if origin in (typing.Union, types.UnionType) else {hint}
    if value is None:
        if type(None) in allowed:
            return None
        raise ValueError(f"{where}: must not be null")
    if float in allowed and isinstance(value, (int, float)) and not isinstance(value, bool):
        if int in allowed and isinstance(value, int):
            return value
        if isinstance(value, int) and abs(value) > 2**1023 or not math.isfinite(value):
            raise ValueError(f"{where}: must be a finite number, got {value!r}")
        return float(value)
    if int in allowed and isinstance(value, int) and not isinstance(value, bool):
        return value
    if bool in allowed and isinstance(value, bool):
        return value
    if str in allowed and isinstance(value, str):
        return value
    if str in allowed and bool not in allowed and isinstance(value, bool):
        return "yes" if value else "no"  # YAML 1.1 reads an unquoted no / yes as a boolean
    if float in allowed and isinstance(value, str):
        try:
            number = float(value)  # YAML reads "1e-4" as a string
        except ValueError:
            pass
        else:
            if not math.isfinite(number):
                raise ValueError(f"{where}: must be a finite number, got {value!r}")
            return number
    origins = {typing.get_origin(a) or a for a in allowed}
    if (dict in origins and isinstance(value, dict)) or (list in origins and isinstance(value, list)):
        return value
    if typing.Any in allowed:
        return value
    expected = " or ".join(sorted(getattr(a, "__name__", str(a)) for a in allowed))
    raise ValueError(f"{where}: expected {expected}, got {type(value).__name__} ({value!r})")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain dicts/lists (what is saved beside checkpoints)."""
    return dataclasses.asdict(cfg)
