"""Generation over many inputs, across the processes of ``accelerate launch`` (or in one process).

``accelerate launch --num_processes N -m genxd generate ...`` starts N copies of the command; each
takes its share of the inputs with accelerate's :meth:`PartialState.split_between_processes`
(contiguous, in input order), writes its outputs (each atomically, by exactly one process), records a
:class:`SceneResult` per input (a failure on one input is recorded, the others still run), and the
main process writes the summary JSON once every process has finished (:func:`write_summary`).

Run without a launcher, nothing distributed is touched (accelerate's shared state is left alone, so a
later ``Accelerator`` in the same Python process is not affected): :class:`ProcessGroup` is then one
process that takes every input.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence, TypeVar

import torch

from ..utils.io import is_environment_error
from ..utils.json_files import write_json_atomic
from ..utils.shared_work import process_label, raise_for_failed
from ..caller_style import is_device_out_of_memory
from ..validation import arg, is_cli, is_out_of_memory, out_of_memory_message

T = TypeVar("T")

#: Exceptions that mean "this input is bad" (reported in one line, exit code 2), as ``genxd.cli.common.run_cli``.
INPUT_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError)

#: Environment variables that carry the number of processes of a launched job (as accelerate reads them).
_WORLD_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_world_size() -> int:
    """Number of processes of the job this process was launched in (1 when not launched)."""
    for var in _WORLD_SIZE_VARS:
        value = os.environ.get(var)
        if value:
            try:
                return max(1, int(value))
            except ValueError:
                raise ValueError(f"environment variable {var}={value!r} is not a number of processes") from None
    return 1


def one_process_launch_warning() -> str | None:
    """A warning when ``accelerate launch`` started one process where several were asked for, else ``None``.

    accelerate 1.x starts several processes only through torchrun (``--multi_gpu``, set by itself when it sees
    several GPUs) or MPI (``--mpirun_hostfile``); ``accelerate launch --cpu --num_processes 2`` (or
    ``--num_processes 2`` on a machine with one GPU or none) starts one process, silently. Its simple launcher sets
    ``ACCELERATE_USE_CPU`` always and ``MASTER_ADDR`` / ``MASTER_PORT`` only for several processes or machines:
    those without a number of processes above 1 are the sign."""
    env = os.environ
    if launched_world_size() > 1 or "ACCELERATE_USE_CPU" not in env or not ("MASTER_ADDR" in env and "MASTER_PORT" in env):
        return None
    return ("accelerate launch started this command in one process although it set up several (MASTER_ADDR / "
            "MASTER_PORT without WORLD_SIZE): accelerate 1.x starts several processes only with --multi_gpu "
            "(torchrun; on a CPU: CUDA_VISIBLE_DEVICES= accelerate launch --multi_gpu --num_processes N) or an MPI "
            "hostfile; running in one process")


@dataclass
class SceneResult:
    """What happened to one input: ``status`` is ``written``, ``skipped`` (output existed) or ``failed``."""

    index: int  # position of the input in the job's input list
    input: str
    output: str
    status: str
    error: str | None = None
    error_type: str | None = None  # exception class name of a failure
    process_index: int = 0  # the process that handled the input
    started_at: float | None = None  # wall clock (time.time()) when this input's sampling started
    finished_at: float | None = None  # wall clock when its output was written (or it failed)
    bad_input: bool = False  # a failure caused by the input (bad file, bad value; INPUT_ERRORS or a subclass)

    @property
    def failure(self) -> str:
        """``input: error`` for a failed input, the input named once (errors that name their file start with it)."""
        error = self.error
        return error if error is not None and error.startswith(self.input) else f"{self.input}: {error}"

    @property
    def input_error(self) -> bool:
        """True when the failure is a problem with the input (bad file, bad value), not a crash: ``bad_input``
        (set by :func:`failed_result` for any subclass too), or one of :data:`INPUT_ERRORS` by name."""
        return self.bad_input or self.error_type in {cls.__name__ for cls in INPUT_ERRORS}


def failure_message(exc: BaseException) -> str:
    """One line for a failed input: the exception's text, or for running out of GPU memory its first sentence
    and what to change (torch's own message is a paragraph); out of the CPU's memory, the size asked for and what
    to change (not ``--offload``, which needs a GPU)."""
    if is_out_of_memory(exc):
        if not is_device_out_of_memory(exc):  # the CPU's memory: no offload
            return out_of_memory_message(exc, f"try a smaller {arg('decode_chunk')} or {arg('resolution')}")
        offload = "--offload model" if is_cli() else "offload='model'"
        return out_of_memory_message(exc, f"try {offload}, a smaller {arg('decode_chunk')} or {arg('resolution')}, "
                                          "or another device")
    return " ".join(str(exc).split()) or type(exc).__name__


def failed_result(index: int, input: str, output: str, exc: BaseException, process_index: int,
                  num_processes: int = 1) -> SceneResult:
    """Record a failure. Unexpected exception types also print their traceback to stderr (after a line naming the
    input, and the process when there are several); bad input, the environment (a full disk, a read-only folder:
    :func:`genxd.utils.io.is_environment_error`) and running out of GPU memory are one line, without one."""
    unexpected = not isinstance(exc, INPUT_ERRORS) and not is_environment_error(exc) and not is_out_of_memory(exc)
    if unexpected and sys.stderr is not None:  # None: the caller closed it (2>&-)
        who = f"{process_label(process_index, num_processes)}: " if num_processes > 1 else ""
        print(f"genxd: {who}{input} failed:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
    return SceneResult(index, input, output, "failed", failure_message(exc), type(exc).__name__, process_index,
                       bad_input=isinstance(exc, INPUT_ERRORS))


class ProcessGroup:
    """The processes sharing one generation job: accelerate's ``PartialState`` when launched, else one process.

    Args:
        device: the requested device (``None``/``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...); under a
            launcher, CPU (gloo) is used when it is ``"cpu"`` or CUDA is not available.
    """

    def __init__(self, device: str | None = None):
        self.state = None
        if launched_world_size() > 1:
            from accelerate import PartialState

            wants_cpu = device is not None and device != "auto" and torch.device(device).type == "cpu"
            self.state = PartialState(cpu=wants_cpu or not torch.cuda.is_available())

    @property
    def num_processes(self) -> int:
        return 1 if self.state is None else self.state.num_processes

    @property
    def process_index(self) -> int:
        return 0 if self.state is None else self.state.process_index

    @property
    def is_main_process(self) -> bool:
        return self.process_index == 0

    def label(self, what: str) -> str:
        """``what`` naming this process when there are several (``scenes (process 0 of 2)``): the description of a
        bar over this process's share, as :func:`genxd.utils.shared_work.process_label` names it in lines."""
        return what if self.num_processes == 1 else f"{what} ({process_label(self.process_index, self.num_processes)})"

    def device(self, requested: str | None) -> str | None:
        """The device this process should use: the launcher's (``cuda:LOCAL_RANK``) for ``None``/``auto``/``cuda``."""
        if self.state is None or self.num_processes == 1:
            return requested
        if requested in (None, "auto") or (requested == "cuda" and self.state.device.type == "cuda"):
            return str(self.state.device)
        return requested

    def split(self, items: Sequence[T]) -> list[T]:
        """This process's share of ``items`` (contiguous, in order; the shares cover ``items`` exactly once)."""
        items = list(items)
        if self.state is None:
            return items
        with self.state.split_between_processes(items) as share:
            return list(share)

    def wait_for_everyone(self) -> None:
        """Barrier: no process goes on before every process has reached this point."""
        if self.state is not None:
            self.state.wait_for_everyone()

    def gather(self, results: list[SceneResult]) -> list[SceneResult]:
        """Every process's results, on every process, sorted by input index."""
        if self.state is not None and self.num_processes > 1:
            from accelerate.utils import gather_object

            results = gather_object(results)
        return sorted(results, key=lambda r: r.index)

    def raise_if_any_failed(self, error: Exception | None) -> None:
        """Call on every process with its ``error`` or None after work one process may fail alone: every process
        raises when any failed (:func:`genxd.utils.shared_work.raise_for_failed`)."""

        failed: list[int] = []
        if self.state is not None and self.num_processes > 1:
            from accelerate.utils import gather_object

            failed = [rank for rank, bad in enumerate(gather_object([error is not None])) if bad]
        raise_for_failed(error, failed, self.num_processes)


def write_summary(path: str | os.PathLike, results: Sequence[SceneResult], num_processes: int = 1,
                  extra: dict[str, Any] | None = None) -> Path:
    """Write the job summary JSON (replacing an older one): counts and one entry per input.

    ``{"num_inputs", "num_processes", "written", "skipped", "failed", **extra, "results": [{index, input, output,
    status, error, error_type, process_index, started_at, finished_at, bad_input}, ...]}``.
    """
    counts = {s: sum(r.status == s for r in results) for s in ("written", "skipped", "failed")}
    summary = {"num_inputs": len(results), "num_processes": num_processes, **counts, **(extra or {}),
               "results": [asdict(r) for r in results]}
    return write_json_atomic(path, summary)


def write_summary_once(group: ProcessGroup, path: str | os.PathLike | None, results: Sequence[SceneResult],
                       extra: dict[str, Any]) -> None:
    """The main process writes the summary (none when ``path`` is None); call on every process: when the main
    process cannot write it (a full disk), it raises its error and the others
    :class:`genxd.utils.shared_work.OtherProcessFailed`."""
    error = None
    if path is not None and group.is_main_process:
        try:
            write_summary(path, results, group.num_processes, extra)
        except Exception as exc:  # noqa: BLE001 - raised below, once the other processes know
            error = exc
    group.raise_if_any_failed(error)


def describe_failures(results: Sequence[SceneResult], what: str = "inputs", errors: int = 0) -> str | None:
    """One line naming the failed inputs (``None`` when none failed): the first ``errors`` with their error
    (``bad.png: cannot read``; each input named once), the others by name, five at most."""
    failed = [r for r in results if r.status == "failed"]
    if not failed:
        return None
    parts = [r.failure for r in failed[:errors]]
    if rest := [r.input for r in failed[errors:]]:
        names = ", ".join(rest[:5]) + (", ..." if len(rest) > 5 else "")
        parts.append(f"{len(rest)} more: {names}" if parts else names)
    return f"{len(failed)} of {len(results)} {what} failed: {'; '.join(parts)}"


class GenerationError(RuntimeError):
    """Some inputs of a :func:`genxd.generate` / :func:`genxd.fewshot` job failed; ``results`` says which."""

    def __init__(self, results: Sequence[SceneResult], what: str = "inputs"):
        """A ValueError when no result failed (it said "0 of 0 inputs failed")."""
        message = describe_failures(results, what, errors=3)
        if message is None:
            raise ValueError(f"GenerationError needs a failed result; got {len(results)} {what}, none failed")
        super().__init__(message)
        self.results, self.what = list(results), what

    def __reduce__(self) -> tuple:
        """Rebuilt from its results (a job run in another process: its error unpickled in the caller's)."""
        return type(self), (self.results, self.what)


__all__ = ["ProcessGroup", "SceneResult", "GenerationError", "write_summary", "describe_failures",
           "failed_result", "launched_world_size", "one_process_launch_warning", "INPUT_ERRORS"]
