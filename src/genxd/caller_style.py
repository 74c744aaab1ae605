"""Who is calling genxd, the command line or Python, and messages worded for that caller: ``--frames`` on the
command line, ``num_frames`` from Python (``"use --overwrite"`` / ``"pass overwrite=True"``). The command line runs
its checks under :func:`cli_style`; worker processes are handed :func:`caller` and enter :func:`caller_style`.
Re-exported by :mod:`genxd.validation`, whose checks word their refusals through it.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from typing import Any, Iterator


_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("genxd_caller", default="python")

#: Python argument name -> command-line option, where they differ in more than ``_`` vs ``-``.
FLAGS: dict[str, str] = {
    "num_frames": "--frames",
    "num_inference_steps": "--steps",
    "guidance_scale": "--guidance",
    "out_dir": "--out",
    "compile_unet": "--compile",
    "azimuth_range": "--azimuth-range",
    "data_root": "DATA_ROOT",
    "images": "IMAGES",
    "input_list": "--input-list",
    "max_frame_memory_gib": "--max-frame-memory",
    "num_threads": "--threads",
    "ray_address": "--ray",
}


def cli_style() -> contextlib.AbstractContextManager[None]:
    """Within this block, messages name command-line options (``--frames``) instead of arguments."""
    return caller_style("cli")


def is_cli() -> bool:
    return _CALLER.get() == "cli"


def caller() -> str:
    """``"cli"`` or ``"python"``: hand it to worker processes, which start as ``"python"``."""
    return _CALLER.get()


@contextlib.contextmanager
def caller_style(name: str) -> Iterator[None]:
    """Within this block, messages are worded for ``name`` (a :func:`caller` value from the parent process)."""
    if name not in ("cli", "python"):
        raise ValueError(f"caller must be 'cli' or 'python', got {name!r}")
    token = _CALLER.set(name)
    try:
        yield
    finally:
        _CALLER.reset(token)


def arg(name: str) -> str:
    """``name`` (a Python argument) as the caller knows it: ``--frames`` on the command line."""
    if not is_cli():
        return name
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def setting(name: str, value: Any = None) -> str:
    """A setting with a value as the caller writes it: ``--max-frames 388`` or ``max_frames=388``; without a
    value just the name (:func:`arg`)."""
    if value is None:
        return arg(name)
    return f"{arg(name)} {value}" if is_cli() else f"{name}={value}"


def text_setting(name: str, value: Any) -> str:
    """A setting whose value is text (a name, a path) as the caller writes it: ``--camera orbit`` on the command
    line, ``camera='orbit'`` from Python (the value quoted, as Python writes a string)."""
    text = str(value)
    return setting(name, text if is_cli() else repr(text))


def overwrite_hint(verb: str = "use", them: bool = False, purpose: str | None = None) -> str:
    """How to ask for replacing an existing output (``them``: several), in the caller's terms: ``use --overwrite
    to replace it`` (``verb``) on the command line, ``pass overwrite=True to replace it`` from Python; ``purpose``
    instead of ``replace it`` (``"start over"``)."""
    purpose = purpose or f"replace {'them' if them else 'it'}"
    return f"{verb} --overwrite to {purpose}" if is_cli() else f"pass overwrite=True to {purpose}"


#: what torch's CPU allocator says when the machine's memory runs out (a RuntimeError, not an OutOfMemoryError), and
#: the size it asked for
_CPU_ALLOCATOR = "DefaultCPUAllocator: can't allocate memory"
_CPU_ASKED = re.compile(r"tried to allocate (\d+) bytes")


def out_of_memory_message(exc: BaseException, advice: str = "") -> str:
    """torch's out-of-memory paragraph as one line: what ran out (and how much was asked for), then ``advice``; for
    the CPU's memory ``out of CPU memory (tried to allocate 3.5 GiB)``, for Python's ``MemoryError`` ``out of
    memory``."""
    text = " ".join(str(exc).split())
    if _CPU_ALLOCATOR in text or isinstance(exc, MemoryError):
        asked = _CPU_ASKED.search(text)
        what = f"out of {'CPU ' if _CPU_ALLOCATOR in text else ''}memory" + (
            f" (tried to allocate {int(asked.group(1)) / 2**30:,.1f} GiB)" if asked else "")
        return f"{what}: {advice}" if advice else what
    sentences = text.split(". ")
    kept = sentences[:2] if len(sentences) > 1 and sentences[1].startswith("Tried to allocate") else sentences[:1]
    what = " (".join(s.rstrip(".") for s in kept) + (")" if len(kept) > 1 else "")
    what = what.replace("(Tried", "(tried") or "out of memory"
    return f"{what}: {advice}" if advice else what


def is_out_of_memory(exc: BaseException) -> bool:
    """True for ``torch.OutOfMemoryError`` (by name: this module does not import torch), for torch's CPU allocator
    failing (a RuntimeError: ``DefaultCPUAllocator: can't allocate memory``, which every command showed as a
    traceback) and for Python's ``MemoryError``."""
    if isinstance(exc, MemoryError) or is_device_out_of_memory(exc):
        return True
    return isinstance(exc, RuntimeError) and _CPU_ALLOCATOR in str(exc)


def is_device_out_of_memory(exc: BaseException) -> bool:
    """True for ``torch.OutOfMemoryError`` (a GPU's memory; by name: this module does not import torch)."""
    return any(cls.__name__ == "OutOfMemoryError" for cls in type(exc).__mro__)


def switch_hint(name: str) -> str:
    """How to turn on the switch ``name`` (a Python argument): ``use --allow-pickle`` on the command line,
    ``pass allow_pickle=True`` from Python."""
    return f"use {arg(name)}" if is_cli() else f"pass {name}=True"


def skip_hint(them: bool = False) -> str:
    """How to ask for keeping existing outputs (``them``: several): ``--skip-existing to keep it`` on the command
    line, ``skip_existing=True to keep it`` from Python."""
    return f"{'--skip-existing' if is_cli() else 'skip_existing=True'} to keep {'them' if them else 'it'}"


__all__ = ["FLAGS", "cli_style", "is_cli", "caller", "caller_style", "arg", "setting", "text_setting", "overwrite_hint",
           "out_of_memory_message", "is_out_of_memory", "is_device_out_of_memory", "skip_hint", "switch_hint"]
