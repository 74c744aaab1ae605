"""Warnings (not errors) for valid values outside what a model knows: :class:`GenXDWarning`, raised by :func:`warn`
(one line ``genxd: warning: ...`` on the command line) and :func:`warn_outside_trained` for a model's trained ranges.

Re-exported by :mod:`genxd.validation` (the public home of these names).
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar
from typing import Sequence

from .caller_style import arg
from .validation_specs import _fmt


class GenXDWarning(UserWarning):
    """A value is valid but outside what the model knows (results may be poor)."""


GenXDWarning.__module__ = "genxd.validation"  # its public home, as filters and pickles name it


# ------------------------------------------------------------------------------------------------
# warnings
# ------------------------------------------------------------------------------------------------


#: the notes of this thread's (or asyncio task's) innermost
#: :func:`genxd.curation.video_warnings.collected_warnings` block, which :func:`warn` adds to instead of warning
#: (None: outside one)
COLLECTED: ContextVar[list[str] | None] = ContextVar("genxd_collected_warnings", default=None)


def warn(message: str, stacklevel: int | None = None) -> None:
    """A :class:`GenXDWarning` (one line ``genxd: warning: ...`` on the command line), attributed to the first
    caller outside genxd (the user's line in a notebook, not genxd's own), unless ``stacklevel`` says otherwise;
    inside a :func:`~genxd.curation.video_warnings.collected_warnings` block of this thread, added to its notes."""
    if (notes := COLLECTED.get()) is not None:
        if str(message) not in notes:
            notes.append(str(message))
        return
    if stacklevel is None:
        import os

        from .utils.caller_frame import stacklevel_outside

        stacklevel = stacklevel_outside(os.path.dirname(os.path.abspath(__file__)))
    warnings.warn(message, GenXDWarning, stacklevel=stacklevel)


def outside_trained(trained: dict[str, Sequence[float]],
                    values: dict[str, float | None]) -> list[tuple[str, float, float, float]]:
    """``(name, value, lo, hi)`` of each value outside the model's trained range ``trained[name] = (lo, hi)``
    (None values and names without a range are skipped)."""
    out = []
    for name, value in values.items():
        if value is None or name not in trained:
            continue
        lo, hi = (float(v) for v in trained[name])
        if not lo <= float(value) <= hi:
            out.append((name, value, lo, hi))
    return out


def trained_span(lo: float, hi: float) -> str:
    """``"64"`` or ``"0-21.4"``: a trained range as messages write it."""
    return f"{_fmt(lo)}" if lo == hi else f"{_fmt(lo)}-{_fmt(hi)}"


def warn_outside_trained(trained: dict[str, Sequence[float]], values: dict[str, float | None],
                         model_name: str, subjects: dict[str, str] | None = None) -> list[str]:
    """Warn for each value outside the model's trained range ``trained[name] = (lo, hi)``; returns the messages.

    ``subjects[name]``: what the message calls a value the caller did not set as that argument (``"the camera
    path of path.json (4 cameras)"``); by default the argument and its value (``"--frames 4"``)."""
    out = []
    what = {"resolution": "a resolution of", "num_frames": "frame counts of", "motion_strength": "motion strengths of"}
    for name, value, lo, hi in outside_trained(trained, values):
        span = trained_span(lo, hi)
        subject = (subjects or {}).get(name) or f"{arg(name)} {_fmt(value)}"
        msg = (f"{subject} is outside what {model_name} was trained on ({what.get(name, name)} {span}); "
               "results may be poor")
        if name == "num_frames" and value > hi:
            msg = (f"{subject} is beyond {model_name}'s window of {_fmt(hi)} frames "
                   f"(it was trained on {span}); frames past it may fall apart")
        warn(msg)
        out.append(msg)
    return out


__all__ = ["GenXDWarning", "COLLECTED", "warn", "outside_trained", "trained_span", "warn_outside_trained"]
