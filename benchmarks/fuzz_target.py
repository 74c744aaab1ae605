"""What the input fuzzer (``benchmarks/fuzz_inputs.py``) runs: a :class:`FuzzTarget`, and how an outcome is judged.

A target names one reader of user files (``call``), the valid inputs it starts from (``make_seeds``), how a case
is made from a seed (``mutate``), and what a clear refusal is (``allowed`` exception types whose message names
the input). Targets live in ``benchmarks/fuzz_targets_*.py``, each module a list ``TARGETS``.
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

__all__ = ["FuzzTarget", "judge", "OUTCOMES", "BAD_OUTCOMES"]

#: ok: read without error; clear: an allowed error naming the input; unnamed: an allowed error that does not
#: name it; internal: any other exception; crash: the reading process died; hang: no answer in time.
OUTCOMES = ("ok", "clear", "unnamed", "internal", "memory", "crash", "hang")
BAD_OUTCOMES = ("unnamed", "internal", "memory", "crash", "hang")


@dataclass(frozen=True)
class FuzzTarget:
    """One reader of user files under fuzzing.

    name: short id (``colmap-bin``). what: one line for the report.
    make_seeds(folder) -> paths: writes valid inputs (files or folders) under ``folder``; runs once per run.
    mutate(rng, seed, dest) -> str: writes a mutated copy of ``seed`` at ``dest``; returns what it did.
    call(path): the reader, run in the worker process; its return value is ignored.
    allowed: exception types that are a clear refusal when their message names the input.
    requires: ``(module, how to install it)`` pairs of optional packages the target needs; without them the
    runner skips it, saying so.
    """

    name: str
    what: str
    make_seeds: Callable[[Path], list[Path]]
    mutate: Callable[[random.Random, Path, Path], str]
    call: Callable[[Path], Any]
    allowed: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError)
    requires: tuple[tuple[str, str], ...] = ()

    def missing(self) -> str | None:
        """What to install for this target, or None when everything it needs is there."""
        import importlib.util

        absent = [how for module, how in self.requires if importlib.util.find_spec(module) is None]
        return "; ".join(absent) or None


def _names(path: Path) -> list[str]:
    """Names a message may use for the input: the path's own name and, for a folder, its files' names."""
    names = [path.name]
    if path.is_dir():
        names += [p.name for p in path.rglob("*")]
    return names


def _where(exc: BaseException) -> str:
    """The innermost frame in genxd's code (``file:line``), or the innermost frame at all."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/genxd/" in f.filename.replace("\\", "/")]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    return f"{Path(frame.filename).name}:{frame.lineno}"


def judge(target: FuzzTarget, path: Path) -> dict[str, str]:
    """Run ``target.call(path)`` and judge it: ``{"outcome", "type", "message", "where"}``."""
    try:
        target.call(path)
    except MemoryError as exc:
        return {"outcome": "memory", "type": "MemoryError", "message": str(exc)[:300], "where": _where(exc)}
    except target.allowed as exc:
        message = str(exc)
        named = any(n and n in message for n in _names(path))
        return {"outcome": "clear" if named else "unnamed", "type": type(exc).__name__, "message": message[:300],
                "where": _where(exc)}
    except Exception as exc:  # noqa: BLE001 - the point: anything else is a finding
        return {"outcome": "internal", "type": type(exc).__name__, "message": str(exc)[:300], "where": _where(exc)}
    return {"outcome": "ok", "type": "", "message": "", "where": ""}
