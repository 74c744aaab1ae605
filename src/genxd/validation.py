"""One validation layer for every user-facing value, shared by the ``genxd`` command and the Python API.

Every value a user gives (a number of frames, a guidance scale, a device name, a fit mode ...) is
checked here **before any model is loaded or anything is written**:

- numbers must have the right type (an integer option refuses ``2.7``, ``"four"`` and ``True``), be
  finite (no ``nan`` / ``inf``) and lie in the documented range; ``0`` is never a silent "default"
  (leave the argument out, or pass ``None`` from Python, to get the default);
- names come from a fixed set (``mode``, ``fit``, ``dtype`` ...); devices are ``auto``, ``cpu``,
  ``cuda``, ``cuda:N`` or ``mps``, and CUDA must be available when asked for;
- a message names the argument **in the caller's terms**: ``--frames`` on the command line,
  ``num_frames`` from Python (the command line runs the same checks under :func:`cli_style`).

The same :class:`Spec` objects serve both: the command line attaches them to its options
(``genxd.cli.options``), the API functions (``genxd.generate`` ...) call :func:`check`.

Warnings (not errors) for values outside what a model was trained on come from :func:`warn` as
:class:`GenXDWarning` (one line each on the command line).

Motion strength (GenXD's object-motion condition) has one definition, :data:`DEFAULT_MOTION_SCALE`
times the per-frame image displacement of moving objects over the shorter side, with the camera factored out
(``docs/conventions.md``): 0 = still; 1 = objects moving 1% of the image per frame; the hard limit
:data:`MOTION_STRENGTH_MAX` = 100 means objects crossing the whole image every frame.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
import numbers
import re
import warnings
from dataclasses import dataclass, replace
from typing import Any, Sequence

#: The model sees ``DEFAULT_MOTION_SCALE x`` the per-frame image displacement (over the shorter side) of moving objects
#: (camera factored out). Typical real clips: 0.002 - 0.05 per frame, i.e. motion strength 0.2 - 5.
DEFAULT_MOTION_SCALE = 100.0
#: Largest accepted motion strength: a displacement of one whole image per frame (x the scale).
MOTION_STRENGTH_MAX = DEFAULT_MOTION_SCALE * 1.0


class InvalidValue(ValueError):
    """A user-facing value is wrong (type, range, name); the message names the argument."""


class InvalidType(InvalidValue, TypeError):
    """A value of the wrong type (``seed="1"``): a TypeError as Python has it, and an InvalidValue as every refusal."""


class GenXDWarning(UserWarning):
    """A value is valid but outside what the model knows (results may be poor)."""


# who is calling (the command line or Python) and messages worded for it: genxd.caller_style, re-exported here
from .caller_style import (
    FLAGS, arg, caller, caller_style, cli_style, is_cli, is_out_of_memory, out_of_memory_message, overwrite_hint,
    setting, skip_hint, switch_hint, text_setting,
)


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


# ------------------------------------------------------------------------------------------------
# the shared specs (the command line's options use the same objects)
# ------------------------------------------------------------------------------------------------

MODES = Choice(("3d", "video", "4d"), aliases=(("mv", "3d"),))
FITS = Choice(("crop", "pad"))
DTYPES = Choice(("auto", "fp32", "bf16", "fp16"), aliases=(("float32", "fp32"), ("bfloat16", "bf16"),
                                                         ("float16", "fp16")), optional=True)
DEVICE = Device()

NUM_FRAMES = Int(2, 10_000, optional=True, why="leave it out for the model's default")
RESOLUTION = Int(8, 4096, optional=True, why="leave it out for the model's default")
STEPS = Int(1, 1000, optional=True, why="leave it out for the model's default")
GUIDANCE = Float(1.0, 100.0, optional=True, why="1 turns guidance off")
MOTION_STRENGTH = Float(0.0, MOTION_STRENGTH_MAX,
                        why=f"{DEFAULT_MOTION_SCALE:g} x the per-frame image displacement of moving objects; "
                            "see docs/conventions.md")
SEED = Int(0, 2**63 - 1)
#: Paths longer than the model's window (genxd.pipelines.long_paths) and the memory switches.
WINDOW = Int(2, 10_000, optional=True, why="leave it out for the model's frame count")
ANCHORS = Int(0, 10_000, optional=True, why="0: no anchor window (the 3d default)")
OVERLAP = Int(1, 10_000, optional=True)
DECODE_CHUNK = Int(1, 10_000, optional=True, why="leave it out to size it by the image")
#: --path-scale of camera paths taken from a video.
PATH_SCALE = Float(0.0, 1000.0, lo_open=True)
#: a camera path from a video (genxd.cameras.from_video): steps, intrinsics, smoothing in clip frames
PATH_SPACINGS = Choice(("arc", "time"), optional=True)
PATH_INTRINSICS = Choice(("model", "clip"))
PATH_SMOOTHING = Float(0.0, 10_000.0)
#: Samplers of :meth:`genxd.pipelines.GenXDPipeline.set_scheduler` (None: the model's default).
SCHEDULERS = Choice(("euler", "heun", "dpmpp-2m", "dpmpp-3m", "dpmpp-2m-sde", "unipc"), optional=True)
#: Weight offloading of :func:`genxd.checkpoints.load_model` (CUDA).
OFFLOAD = Choice(("none", "model", "group"))
#: fx / W of 0.05 is a 169-degree view (a fisheye's, beyond what a pinhole camera path means); 100 is a 0.6-degree one.
FOCAL = Float(0.05, 100.0, optional=True, why="normalised focal length fx / image width; 0.05 is a 169-degree view")
ELEVATION = Float(-90.0, 90.0, optional=True, why="degrees")
AZIMUTH = Float(-3600.0, 3600.0, why="degrees")
AZIMUTH_RANGE = Pair(AZIMUTH, "-30,30", optional=True)
MAX_RADIUS = 1e4  #: the largest camera distance genxd takes (an orbit's radius)
RADIUS = Float(0.0, MAX_RADIUS, lo_open=True, optional=True)
BATCH_SIZE = Int(1, 1024)
#: video frame rates: ffmpeg cannot store one below 1e-7 (its rational time base; "the video writer did not
#: finish"), and a frame a minute is already a slide show
FPS = Float(0.01, 1000.0, optional=True, why="frames per second")
N_VIEWS = Int(1, 10_000)
NUM_CONTEXT = Int(1, 3, why="GenXD conditions on 1, 2 or 3 views")
STRATEGIES = Choice(("direct", "grouped"))
#: the split rules of ``genxd fewshot-data`` (:mod:`genxd.data.reconfusion_convert`)
FEWSHOT_SPLIT = Choice(("llff", "regnerf-dtu"))
SHARD = Shard()

# SfM settings of genxd curate and genxd eval-camera (and their Python functions): correspondences and threads
SFM_FEATURES = Choice(("auto", "sift", "klt"))
NUM_THREADS = Int(-1, 1024, nonzero=True, why="-1: every core")
# genxd curate shares out the cores: -1 there is cores / workers per worker (CurationConfig itself: every core)
CURATE_THREADS = replace(NUM_THREADS, why="-1: cores / workers")

# genxd curate's settings: its options and genxd.curation.CurationConfig (the Python API) check the same way
CURATE_STRIDE = Int(1, 10_000)
CURATE_WORKERS = Int(1, 1024)
CURATE_MAX_FRAMES = Int(1, 1_000_000, optional=True)
CURATE_RESIZE = Size(16, 8192, why="leave it out to keep the video's size")
CURATE_FRAME_MEMORY = Float(0.0, 1e6, lo_open=True)
CURATE_MIN_FRAMES = Int(3, 1_000_000, why="SfM needs 3 frames")
CURATE_MIN_REGISTERED = Float(0.0, 1.0, lo_open=True)
CURATE_MOTION_THRESHOLD = Float(0.0, 1.0, optional=True)
CURATE_MOTION_GAP = Int(1, 10_000)
CURATE_JPEG_QUALITY = Int(1, 100)
CURATE_MAPPERS = Choice(("auto", "incremental", "global"))
CURATE_FALLBACK_DEPTHS = Choice(("sparse", "triangulate"))


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


__all__ = [
    "DEFAULT_MOTION_SCALE", "MOTION_STRENGTH_MAX", "InvalidValue", "InvalidType", "GenXDWarning", "cli_style", "is_cli", "arg",
    "overwrite_hint", "skip_hint", "Spec", "Number", "Int", "Float", "Choice", "Pair", "Device", "Flag", "check", "ChoiceList", "Numbers", "Size", "Colour",
    "warn", "warn_outside_trained", "outside_trained", "trained_span", "MODES", "FITS", "DTYPES", "DEVICE", "NUM_FRAMES", "RESOLUTION", "STEPS",
    "GUIDANCE", "MOTION_STRENGTH", "SEED", "FOCAL", "ELEVATION", "AZIMUTH", "AZIMUTH_RANGE", "RADIUS",
    "BATCH_SIZE", "FPS", "PATH_SPACINGS", "PATH_INTRINSICS", "PATH_SMOOTHING", "N_VIEWS", "NUM_CONTEXT", "STRATEGIES", "FLAGS",
    "CURATE_STRIDE", "CURATE_WORKERS", "CURATE_MAX_FRAMES", "CURATE_RESIZE", "CURATE_FRAME_MEMORY", "CURATE_MIN_FRAMES", "CURATE_MIN_REGISTERED",
    "CURATE_MOTION_THRESHOLD", "CURATE_MOTION_GAP", "NUM_THREADS", "CURATE_THREADS", "CURATE_JPEG_QUALITY", "SFM_FEATURES", "CURATE_MAPPERS",
    "CURATE_FALLBACK_DEPTHS",
    "caller", "caller_style", "setting", "text_setting", "is_out_of_memory", "out_of_memory_message",
]
