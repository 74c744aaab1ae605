"""Close names for a misspelt key: `` (did you mean 'learning_rate'?)`` in the messages refusing unknown config keys
and dataset options."""

from __future__ import annotations

import difflib
from typing import Any, Iterable

__all__ = ["close_matches_note", "close_name_note"]


def close_matches_note(unknown: list[Any], names: Iterable[Any]) -> str:
    """`` (did you mean 'learning_rate'?)`` for those of ``unknown`` close to one of ``names`` (a typo; with several
    unknown keys, each close one as ``'lerning_rate' -> 'learning_rate'``), else ``""``."""
    candidates = [str(n) for n in names]
    guesses = [f"{k!r} -> {m[0]!r}" if len(unknown) > 1 else repr(m[0]) for k in unknown
               if (m := difflib.get_close_matches(str(k), candidates, n=1, cutoff=0.7))]
    return f" (did you mean {', '.join(guesses)}?)" if guesses else ""


def close_name_note(name: str, names: Iterable[Any]) -> str:
    """:func:`close_matches_note` of one ``name`` given for one of ``names`` (lower-case words, such as the camera
    presets), compared lower-cased and stripped: ``'orbi'``, ``'Orbit'`` and ``'orbit '`` all name ``'orbit'``."""
    return close_matches_note([name.strip().lower()], names)
