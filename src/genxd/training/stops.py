"""How a training run stops, on every process together: a Ctrl-C / SIGTERM held until a step ends
(:mod:`genxd.training.interrupts`), the time limit (``training.max_minutes``), and an item of the data that cannot be
read (a broken image), a loss that is no longer finite (the training diverged: never saved as a checkpoint).

With several processes (``accelerate launch``) every process must stop at the same step, and all of them take part
in the checkpoint of the steps done (the save is collective). They compare their state once per micro-batch, right
after reading it and before the step's first collective (DDP's gradient all-reduce): one all-reduce of
``processes + 2`` numbers (which processes could not read their batch; whether one holds an interrupt; whether one
is past ``max_minutes``) and a host sync. So a process whose batch cannot be read no longer leaves the others waiting
for it inside the step: they all save the steps done and stop (before 2026-12-05 those steps were lost), and an
interrupt is acted on at the end of the step after the one it came in (before, the processes compared every 10
steps, and ``accelerate launch``, which kills its processes 30 s after passing a Ctrl-C on, killed them before the
save once steps took more than about 3 s). One process compares nothing: no collective, no sync.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..utils.shared_work import OtherProcessFailed, process_label, raise_for_failed
from .checkpoint_files import resume_setting

__all__ = ["LastCheckpoint", "LossNotFinite", "RunStops"]

#: What a process reports for its batch: read, an item of the data could not be read (a broken file), another error.
_READ, _DATA_ERROR, _OTHER_ERROR = 0, 1, 2


@dataclass
class LastCheckpoint:
    """A training loop's last checkpoint: its step (the resumed step at the start of a resumed run, -1 at the start
    of a new one) and its folder (main process; None elsewhere and until this run saves one)."""

    step: int
    folder: Path | None = None


class LossNotFinite(FloatingPointError, ValueError):
    """The training loss became NaN or infinite (the training diverged). A FloatingPointError, as it was, and a
    ValueError, so that ``genxd train`` says it in one ``genxd: error:`` line (exit code 2): it was a traceback."""


class RunStops:
    """The stopping part of :class:`genxd.training.loop.TrainingRun` (which provides ``accelerator``, ``optim``,
    ``interrupts``, ``start_time``, ``print``)."""

    accelerator: Any
    optim: Any
    interrupts: Any
    start_time: float
    print: Callable[..., None]
    checkpoint_dir: Path
    resume_from: Path | None
    #: (an interrupt is held, ``max_minutes`` is past) on some process, as agreed when the last batch was read
    _agreed: tuple[bool, bool] = (False, False)
    #: accelerate's micro-batch counter when the step in progress began
    _micro_at_step_start: int = 0

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def _time_over(self) -> bool:
        limit = self.optim.max_minutes
        return limit is not None and time.monotonic() - self.start_time > 60.0 * limit

    def stop_reason(self) -> str | None:
        """``"interrupted"`` once a Ctrl-C / SIGTERM held by :attr:`interrupts` reached any process, ``"time"`` once
        ``max_minutes`` has passed on any of them, else None; the same on every process. One process: as of now.
        Several: as agreed when this step's batches were read (:meth:`next_batch`; no collective here), so a signal
        that comes during a step is acted on at the end of the next one."""
        if self.accelerator.num_processes > 1:
            held, over = self._agreed
        else:
            held, over = self.interrupts.pending is not None, self._time_over()
        return "interrupted" if held else "time" if over else None

    def next_batch(self, data_iter: Any, first: bool, step: int, last_saved: int,
                   checkpoint: Callable[[int], Any]) -> Any:
        """The next batch of ``data_iter`` (``first``: the first micro-batch of step ``step + 1``). An item that cannot
        be read (a broken file: ValueError / OSError) stops the run; the steps since the last checkpoint
        (``last_saved``) are saved first, so that fixing the file and ``--resume latest`` loses nothing. With
        several processes all of them stop (and save) together: the process that failed raises its error, the
        others :class:`genxd.utils.shared_work.OtherProcessFailed`."""
        acc = self.accelerator
        if first:
            self._micro_at_step_start = acc.step  # accelerate's micro-batch counter (what it accumulates by)
        try:
            error: Exception | None
            batch, error = next(data_iter), None
        except (ValueError, OSError) as exc:
            batch, error, code = None, exc, _DATA_ERROR
        except Exception as exc:  # noqa: BLE001 - re-raised below, once the other processes know
            if acc.num_processes == 1:
                raise
            batch, error, code = None, exc, _OTHER_ERROR
        if acc.num_processes == 1:
            if error is not None:
                self._save_before_data_error(step, last_saved, checkpoint, "")
                raise error
            return batch
        codes = self._agree(_READ if error is None else code)
        failed = [rank for rank, c in enumerate(codes) if c != _READ]
        if not failed:
            return batch
        where = f"{process_label(failed, acc.num_processes)}: "
        if all(codes[rank] == _DATA_ERROR for rank in failed):
            self._save_before_data_error(step, last_saved, checkpoint, where)
        acc.wait_for_everyone()  # the main process's line is out before a failed process exits (the launcher then
        # stops the others)
        if error is not None:
            raise error  # its own error line names the process and the file
        raise OtherProcessFailed(f"{where.rstrip(': ')} could not read its next batch: stopped at step {step}")

    def _save_before_data_error(self, step: int, last_saved: int, checkpoint: Callable[[int], Any],
                                where: str) -> None:
        """A batch could not be read: save the steps since ``last_saved``. In the middle of an accumulated step the
        micro-batches of the unfinished step are dropped: accelerate's counter is saved as at the step's start, so
        that the resumed run accumulates the same micro-batches into each step (the gradients are not saved)."""
        if step <= max(last_saved, 0):
            return
        acc = self.accelerator
        counter = acc.step
        acc.step = self._micro_at_step_start
        try:
            checkpoint(step)
        finally:
            acc.step = counter
        self.print(f"{where}an item of the data could not be read: step {step} was saved first (fix or remove the "
                   f"file, then {resume_setting('latest')})")

    def raise_if_diverged(self, step_losses: Sequence[float], step: int, last: LastCheckpoint) -> None:
        """Raise :class:`LossNotFinite` when one of ``step_losses`` (the mean loss of each step up to ``step``, the
        same on every process) is not finite: the training diverged (a learning rate too high, fp16 overflow, a
        non-finite value in the data), and the weights are NaN from there. The trainers call it where they log the
        loss and before every checkpoint, for the steps not logged yet, so that no checkpoint of a diverged run is
        saved: with ``logging.every_steps`` above ``checkpoint.every_steps`` one was, and ``checkpoint.total_limit``
        then pruned the good ones. The error names the last checkpoint (``last``, or the one resumed from), from
        before the divergence. With several processes the main one says it, the others stop without a second line."""
        bad = [i for i, value in enumerate(step_losses) if not math.isfinite(value)]
        if not bad:
            return
        first = step - len(step_losses) + 1 + bad[0]
        if not self.is_main:
            raise OtherProcessFailed(f"the loss is not finite at step {first}")
        raise self.diverged_error(f"the loss is {step_losses[bad[0]]} at step {first}", last)

    def diverged_error(self, what: str, last: LastCheckpoint) -> LossNotFinite:
        """The error of a run whose training diverged (``what``: how it shows, at which step), naming the last
        checkpoint (``last``, or the one resumed from) to resume from with a lower learning rate."""
        saved = last.folder if last.folder is not None else self.resume_from if last.step >= 0 else None
        lower = f"training.learning_rate (now {self.optim.learning_rate:g})"
        if saved is None:
            then = f"no checkpoint was saved: start again with a lower {lower}"
        else:
            then = (f"the last checkpoint, {saved}, is from before it (no later one was saved): resume from it with a "
                    f"lower {lower}: {resume_setting(saved)}")
        return LossNotFinite(f"{what}: the training diverged (a learning rate too high, fp16 overflow or a non-finite "
                             f"value in the data); {then}")

    def raise_if_any_failed(self, error: Exception | None) -> None:
        """Call on every process with its ``error`` or None after work a process may fail alone (the main process's
        share of a checkpoint, the run folder): every process raises when any failed
        (:func:`genxd.utils.shared_work.raise_for_failed`)."""
        failed: list[int] = []
        if self.accelerator.num_processes > 1:
            codes = self._agree(_READ if error is None else _OTHER_ERROR)
            failed = [rank for rank, c in enumerate(codes) if c != _READ]
        raise_for_failed(error, failed, self.accelerator.num_processes)

    def _agree(self, code: int) -> list[int]:
        """All-reduce this process's batch ``code``, held interrupt and time limit; sets :attr:`_agreed` and returns
        every process's code."""
        acc = self.accelerator
        flags = [0.0] * (acc.num_processes + 2)
        flags[acc.process_index] = float(code)
        flags[-2] = float(self.interrupts.pending is not None)
        flags[-1] = float(self._time_over())
        summed = acc.reduce(torch.tensor(flags, device=acc.device), reduction="sum").tolist()
        self._agreed = (summed[-2] > 0, summed[-1] > 0)
        return [int(round(c)) for c in summed[:-2]]

    def end_step(self, step: int, every_steps: int, checkpoint: Callable[[int], Path | None],
                 last: LastCheckpoint) -> bool:
        """The end of step ``step`` in both training loops, after its logging and validation: the checkpoint due
        every ``every_steps`` steps (0: none) or at a stop; a held interrupt raised once that checkpoint is saved;
        True when the loop stops (``max_minutes``). ``last`` is updated when a checkpoint is saved."""
        stop = self.stop_reason()  # max_minutes, or a Ctrl-C / SIGTERM held until this step ended
        if (every_steps > 0 and step % every_steps == 0) or stop:
            last.folder, last.step = checkpoint(step), step
        if stop == "interrupted":
            self.raise_interrupt(step, last.folder)
        if stop:
            self.print(f"max_minutes reached at step {step}: stopping (resume with {resume_setting('latest')})")
        return stop is not None

    def final_checkpoint(self, step: int, checkpoint: Callable[[int], Path | None],
                         last: LastCheckpoint) -> Path | None:
        """The checkpoint of a loop that ended at ``step``: saved now unless :meth:`end_step` saved that step (the
        main process gets its folder, the others None)."""
        if last.step != step:
            return checkpoint(step)
        return self.checkpoint_dir / f"checkpoint-{step:07d}" if self.is_main else None

    def raise_interrupt(self, step: int, saved: Path | None) -> None:
        """Raise the held interrupt (the command exits 130, or 143 for SIGTERM), saying where the run stopped."""
        if saved is not None:
            self.print(f"interrupted at step {step}: checkpoint saved (resume with {resume_setting('latest')})")
        raise (self.interrupts.pending or KeyboardInterrupt)()
