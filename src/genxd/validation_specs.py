"""The rules a user-facing value is checked by (:class:`Spec`: :class:`Number`, :class:`Choice`, :class:`Size` ...)
and the refusals they raise (:class:`InvalidValue`, :class:`InvalidType`), worded through :mod:`genxd.caller_style`.

Re-exported by :mod:`genxd.validation` (the public home of these names), whose shared specs are made of them.
Imports no torch (:class:`Device` imports it only to check a CUDA or MPS device).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Sequence

from .caller_style import arg


class InvalidValue(ValueError):
    """A user-facing value is wrong (type, range, name); the message names the argument."""


class InvalidType(InvalidValue, TypeError):
    """A value of the wrong type (``seed="1"``): a TypeError as Python has it, and an InvalidValue as every refusal."""


# their public home, as tracebacks and pickles name them
InvalidValue.__module__ = InvalidType.__module__ = "genxd.validation"


# ------------------------------------------------------------------------------------------------
# specs
# ------------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return f"{value!r}"


def _type_name(value: Any) -> str:
    return type(value).__name__


class Spec:
    """A rule for one value; ``spec.check(value, label)`` returns the value (normalised) or raises InvalidValue."""

    optional: bool = False

    def check(self, value: Any, label: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        try:
            self.check(value, "value")
        except InvalidValue:
            return False
        return True


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Number(Spec):
    """An integer or a finite real number in ``[lo, hi]`` (``lo_open``/``hi_open``: strict bounds).

    ``why`` (optional) is appended to the message, e.g. what 0 would have meant.
    """

    integer: bool
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    optional: bool = False
    why: str = ""
    nonzero: bool = False

    def describe(self) -> str:
        what = "an integer" if self.integer else "a finite number"
        if self.nonzero:
            what += " other than 0"
        if self.lo is not None and self.hi is not None:
            if self.integer and not (self.lo_open or self.hi_open):
                return f"{what} in {_fmt(self.lo)}..{_fmt(self.hi)}"
            return f"{what} in {'(' if self.lo_open else '['}{_fmt(self.lo)}, {_fmt(self.hi)}{')' if self.hi_open else ']'}"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {_fmt(self.lo)}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {_fmt(self.hi)}")
        return what + (" " + " and ".join(parts) if parts else "")

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        tail = f" ({self.why})" if self.why else ""
        bad = InvalidValue(f"{label} must be {self.describe()}, got {_shown(value)}{tail}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            kind = "an integer" if self.integer else "a number"
            raise InvalidType(f"{label} must be {kind}, got {_shown(value)} ({_type_name(value)})")
        if isinstance(value, numbers.Integral):
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise bad
            if self.integer:
                if not value.is_integer():
                    raise InvalidValue(f"{label} must be an integer, got {_shown(value)}")
                value = int(value)
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            raise bad
        if self.hi is not None and (value > self.hi or (self.hi_open and value == self.hi)):
            raise bad
        if self.nonzero and value == 0:
            raise bad
        return value


def Int(lo: int | None = None, hi: int | None = None, optional: bool = False, why: str = "",
        nonzero: bool = False) -> Number:
    return Number(True, lo, hi, optional=optional, why=why, nonzero=nonzero)


def Float(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False,
          optional: bool = False, why: str = "") -> Number:
    return Number(False, lo, hi, lo_open, hi_open, optional, why)


@dataclass(frozen=True)
class Choice(Spec):
    """One of a fixed set of names (``aliases`` map other spellings to a name; case-insensitive)."""

    choices: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...] = ()
    optional: bool = False

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # an Enum member
            value = value.value
        if not isinstance(value, str):
            raise InvalidType(f"{label} must be {self.describe()}, got {_shown(value)} ({_type_name(value)})")
        key = value.strip().lower()
        table = {c.lower(): c for c in self.choices} | {a.lower(): c for a, c in self.aliases}
        if key not in table:
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}")
        return table[key]


def _items(value: Any) -> list[Any] | None:
    """The items of a list, tuple or array-like (``None`` for anything else, and for what cannot be iterated:
    a 0-d numpy array has ``__len__`` and ``__getitem__`` but no items)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "__len__") and hasattr(value, "__getitem__") and not isinstance(value, (str, bytes, dict)):
        try:
            return list(value)
        except TypeError:
            return None
    return None


@dataclass(frozen=True)
class Pair(Spec):
    """Two numbers, each checked by ``item`` (from Python: a 2-sequence; from text: ``'a,b'`` or ``'a:b'``)."""

    item: Number
    example: str = "-30,30"
    optional: bool = False

    def describe(self) -> str:
        return f"two numbers like '{self.example}'"

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        parts: Sequence[Any]
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,:]", value.strip())]
            try:
                parts = [float(p) for p in parts]
            except ValueError:
                raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}") from None
        else:
            items = _items(value)
            if items is None:
                raise InvalidType(f"{label} must be {self.describe()}, got {_shown(value)} ({_type_name(value)})")
            parts = items
        if len(parts) != 2:
            raise InvalidValue(f"{label} must be {self.describe()}, got {len(parts)} values: {value!r}")
        return tuple(self.item.check(p, label) for p in parts)


@dataclass(frozen=True)
class ChoiceList(Spec):
    """A comma-separated list (or a sequence) of names from ``choices``, at least one (``choices`` may be a
    function returning them, called when a value is checked)."""

    choices: Any  # tuple[str, ...] | Callable[[], tuple[str, ...]]
    optional: bool = False

    def _names(self) -> tuple[str, ...]:
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def describe(self) -> str:
        return "a comma-separated list of " + ", ".join(self._names())

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) for x in items):
            raise InvalidValue(f"{label} must be {self.describe()}, got {_shown(value)}")
        items = [x.strip() for x in items if x.strip()]
        bad = [x for x in items if x not in self._names()]
        if bad or not items:
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}")
        return tuple(items)


@dataclass(frozen=True)
class Numbers(Spec):
    """Numbers from a repeated and/or comma- or space-separated option (``0.2,0.4 -0.2``), each ``item``."""

    item: Number
    optional: bool = True

    def describe(self) -> str:
        return f"numbers separated by commas, each {self.item.describe()}"

    def check(self, value: Any, label: str) -> Any:
        if value is None or (isinstance(value, (list, tuple)) and not value):
            if self.optional:
                return None
            raise InvalidValue(f"{label} must be {self.describe()}")
        texts = [value] if isinstance(value, (str, numbers.Real)) else _items(value)
        if texts is None:
            raise InvalidType(f"{label} must be {self.describe()}, got {_shown(value)} ({_type_name(value)})")
        out: list[float] = []
        for text in texts:
            parts = re.split(r"[,\s]+", text.strip()) if isinstance(text, str) else [text]
            for part in parts:
                if part == "":
                    continue
                try:  # a whole number as written ("0", not "0.0", in a message of the item's check)
                    number = int(part) if isinstance(part, str) and re.fullmatch(r"[+-]?\d+", part) else float(part)
                except (TypeError, ValueError):
                    raise InvalidValue(f"{label}: {part!r} is not a number") from None
                out.append(self.item.check(number, label))
        return out or None


@dataclass(frozen=True)
class Size(Spec):
    """An image size: ``N`` (the longer side) or ``WxH``, each side in ``lo..hi`` pixels."""

    lo: int = 16
    hi: int = 8192
    optional: bool = True
    why: str = ""

    def describe(self) -> str:
        return f"N (the longer side) or WxH, in pixels ({self.lo}..{self.hi})"

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        tail = f" ({self.why})" if self.why else ""
        text = str(value).strip().lower()
        m = re.fullmatch(r"(\d{1,9})(?:\s*x\s*(\d{1,9}))?", text)
        if m is None or isinstance(value, (bool, float)):
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}{tail}")
        sides = [int(g) for g in m.groups() if g is not None]
        if not all(self.lo <= x <= self.hi for x in sides):
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}{tail}")
        return "x".join(str(x) for x in sides)


@dataclass(frozen=True)
class Colour(Spec):
    """``black``, ``white`` or ``R,G,B`` with each channel in [0, 1]; returns an ``(r, g, b)`` tuple."""

    optional: bool = False

    def describe(self) -> str:
        return "black, white or R,G,B with each in [0, 1]"

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        names = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0)}
        if isinstance(value, str) and value.strip().lower() in names:
            return names[value.strip().lower()]
        try:
            rgb = tuple(float(x) for x in (value.split(",") if isinstance(value, str) else value))
        except (TypeError, ValueError):
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}") from None
        if len(rgb) != 3 or not all(math.isfinite(x) and 0.0 <= x <= 1.0 for x in rgb):
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}")
        return rgb


#: the devices that take an index (``cuda:1``; torch reads ``cpu:N`` as the one CPU, ``mps:N`` as the one GPU)
_INDEXED_DEVICES = ("cpu", "cuda", "mps")
_DEVICE_RE = re.compile(rf"^(auto|(?:{'|'.join(_INDEXED_DEVICES)})(:\d{{1,3}})?)$")


@dataclass(frozen=True)
class Device(Spec):
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``mps``, each but ``auto`` with an index or not
    (``cuda:N``); CUDA must be available if asked."""

    optional: bool = True
    allow: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")

    def names(self) -> list[str]:
        """The accepted devices as a user writes them (``cuda:N`` after ``cuda``, likewise ``cpu:N``, ``mps:N``)."""
        return [n for name in self.allow for n in ((name, f"{name}:N") if name in _INDEXED_DEVICES else (name,))]

    def describe(self) -> str:
        return "one of " + ", ".join(self.names())

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        if not isinstance(value, str):
            if type(value).__name__ == "device" and hasattr(value, "type"):  # a torch.device
                value = str(value)
            else:
                raise InvalidType(f"{label} must be {self.describe()}, got {_shown(value)} ({_type_name(value)})")
        name = value.strip().lower()
        m = _DEVICE_RE.match(name)
        base = None if m is None else name.split(":")[0]
        if base is None or base not in self.allow:
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}")
        if base == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise InvalidValue(f"{label} {value}: CUDA is not available on this machine (use cpu)")
            if ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
                raise InvalidValue(f"{label} {value}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        if base == "mps":
            import torch

            if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
                raise InvalidValue(f"{label} mps: the MPS backend is not available on this machine")
        return name


@dataclass(frozen=True)
class Flag(Spec):
    """``True`` or ``False`` (from Python; ``0``/``1`` and strings are refused)."""

    optional: bool = False

    def describe(self) -> str:
        return "True or False"

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        if not isinstance(value, bool):
            raise InvalidType(f"{label} must be True or False, got {_shown(value)} ({_type_name(value)})")
        return value


@dataclass(frozen=True)
class Shard(Spec):
    """A job array's task: ``K/N`` (text) or ``(K, N)`` (Python), integers with ``0 <= K < N``; returns ``(K, N)``."""

    optional: bool = True

    def describe(self) -> str:
        return "K/N: task K (0-based) of N tasks, integers with 0 <= K < N (e.g. 0/4)"

    def check(self, value: Any, label: str) -> Any:
        if value is None and self.optional:
            return None
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*", value)
            if m is None:
                raise InvalidValue(f"{label} must be {self.describe()}, got {value!r}")
            parts: Any = [int(m[1]), int(m[2])]
        else:
            parts = _items(value)
            if parts is None or len(parts) != 2 or not all(
                    isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in parts):
                raise InvalidType(f"{label} must be {self.describe()}, got {_shown(value)} ({_type_name(value)})")
        k, n = (int(x) for x in parts)
        if n < 1:
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r} (N, the number of tasks, must be >= 1)")
        if not 0 <= k < n:
            raise InvalidValue(f"{label} must be {self.describe()}, got {value!r} (K counts from 0: the last of {n} "
                               f"tasks is {n - 1}/{n})")
        return (k, n)


def check(value: Any, spec: Spec, name: str) -> Any:
    """Check ``value`` (the Python argument ``name``) against ``spec``; the message names it as the caller does."""
    return spec.check(value, arg(name))


__all__ = [
    "InvalidValue", "InvalidType", "Spec", "Number", "Int", "Float", "Choice", "Pair", "ChoiceList", "Numbers", "Size",
    "Colour", "Device", "Flag", "Shard", "check",
]
