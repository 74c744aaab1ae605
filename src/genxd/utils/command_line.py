"""The command line of the running ``genxd`` command, for messages that say how to run it again.

Recorded by the ``genxd`` command group (:class:`genxd.cli.common.GenxdGroup`) for the length of the command;
None from Python, where a message says "call it again with the same arguments" instead.
"""

from __future__ import annotations

import contextlib
import shlex
from contextvars import ContextVar
from typing import Iterator, Sequence

from .shared_work import launch_process

_ARGV: ContextVar[tuple[str, ...] | None] = ContextVar("genxd_argv", default=None)


@contextlib.contextmanager
def recorded(argv: Sequence[str]) -> Iterator[None]:
    """Within this block, :func:`rerun_command` gives ``genxd ARGV``."""
    token = _ARGV.set(tuple(str(a) for a in argv))
    try:
        yield
    finally:
        _ARGV.reset(token)


def rerun_command(add: Sequence[str] = (), drop: Sequence[str] = ()) -> str | None:
    """The command as typed (``genxd generate a.png --frames 40``), without the flags ``drop`` and with the flags
    ``add`` appended where it lacks them; None outside a ``genxd`` command. After a ``--`` every word is an input
    (``genxd generate -o out -- -a.png``): the flags are looked for, dropped and added before it."""
    argv = _ARGV.get()
    if argv is None:
        return None
    end = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:end] if a not in drop]
    return shlex.join(["genxd", *kept, *(a for a in add if a not in kept), *argv[end:]])


def run_hint(command: str, same: bool = False) -> str:
    """How a message tells to run ``command`` (:func:`rerun_command`'s): ``run: COMMAND`` (``run the same command:
    COMMAND`` when ``same``). In a process of a launch of several (``accelerate launch``, ``torchrun``: it sets
    ``WORLD_SIZE``) the command as run alone would go on in one process: ``run the same launch with: COMMAND``
    (genxd does not know the launcher's own arguments, so it names none)."""
    if launch_process() is not None:
        return f"run the same launch with: {command}"
    return f"run the same command: {command}" if same else f"run: {command}"


__all__ = ["recorded", "rerun_command", "run_hint"]
