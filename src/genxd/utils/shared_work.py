"""Whether the processes of an ``accelerate launch`` job have shared out their work.

Before that point every process checks the same options and files, so an error is the same on every process and
the command line prints it once (from the first process, :func:`genxd.cli.common.fail`). From that point on (a
generation job's inputs split between the processes, a training run's data sharded) an error can be one process's
own: a broken image in its share of the data, a GPU out of memory. Such an error used to be printed by the first
process only, so an error on another process was not printed at all (found by the multi-process audit). The jobs
call :func:`mark_work_shared` where their processes part ways; from then on every process prints its own errors.
Its bars and lines name a process one way, :func:`process_label` (``process 1 of 2``).
"""

from __future__ import annotations

import os
from typing import Sequence

__all__ = ["mark_work_shared", "work_is_shared", "reset_work_shared", "OtherProcessFailed", "raise_for_failed",
           "process_label", "launch_process"]

_SHARED = False


def mark_work_shared() -> None:
    """The processes of this job now work on their own shares: each one reports its own errors."""
    global _SHARED
    _SHARED = True


def work_is_shared() -> bool:
    """Whether :func:`mark_work_shared` was called in this process (since the last :func:`reset_work_shared`)."""
    return _SHARED


def reset_work_shared() -> None:
    """Back to "same checks on every process" (a command starting in a process that ran another one: tests)."""
    global _SHARED
    _SHARED = False


class OtherProcessFailed(RuntimeError):
    """This process stopped because another process of the job failed (its batch of training data could not be read):
    that process prints the error; the command line exits 2 here without a second error line."""


def process_label(ranks: int | Sequence[int], num_processes: int) -> str:
    """How genxd names processes of a launch in its progress bars and lines: ``process 1 of 2``, ``processes 0, 3
    of 4`` (generate's bar said ``process 0 of 2``, few-shot's bar nothing, the error lines ``process 1``)."""
    ranks = [ranks] if isinstance(ranks, int) else list(ranks)
    return f"process{'es' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))} of {num_processes}"


def launch_process() -> tuple[int, int] | None:
    """This process's ``RANK`` and the ``WORLD_SIZE`` of a launch of several processes (``accelerate launch``,
    ``torchrun``); ``None`` when not launched, or launched as one process."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        return (int(os.environ.get("RANK", "0")), size) if size > 1 else None
    except ValueError:
        return None


def raise_for_failed(error: Exception | None, failed: Sequence[int], num_processes: int) -> None:
    """The end of a ``raise_if_any_failed`` (:class:`genxd.pipelines.distributed.ProcessGroup`,
    :class:`genxd.training.stops.RunStops`), called on every process after work that one process may fail alone
    (the main process writing the summary, its share of a checkpoint) and a collective telling every process the
    ``failed`` ranks: this process's own ``error``, or :class:`OtherProcessFailed` where another one failed, so that
    every process stops instead of the others waiting in the next collective for a process that is gone (they died
    on the lost connection, a traceback each)."""
    if error is not None:
        raise error
    if failed:
        raise OtherProcessFailed(f"{process_label(failed, num_processes)} failed")
