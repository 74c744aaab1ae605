"""Ctrl-C and SIGTERM during training: held until the current optimiser step ends, so that the run can save a
checkpoint of a complete step (the model, optimiser, EMA and accelerate's step counter agree) before it stops.

The first signal is recorded; the training loop asks :attr:`StepBoundaryInterrupts.pending` after each step, saves
and raises it (``KeyboardInterrupt``, or :class:`genxd.cli.process_exit.Terminated` for SIGTERM: the command exits
130 / 143 as before). A second Ctrl-C raises at once (a save in progress is then removed: checkpoints are written
atomically); a second SIGTERM is held as the first was: a job scheduler sends it to every process of a job (``scancel``,
a time limit), so a process under ``accelerate launch`` / ``torchrun`` gets it twice, once more from the launcher passing
it on, and lost the steps since the last checkpoint. A scheduler that will not wait sends SIGKILL. Only handlers genxd owns are replaced: Python's default Ctrl-C handler, and the command line's SIGTERM
handler; a process started with other handlers keeps them.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["StepBoundaryInterrupts", "ignore_interrupts_in_worker"]


class StepBoundaryInterrupts:
    """A context manager holding the first SIGINT / SIGTERM (main thread only) in :attr:`pending`."""

    def __init__(self) -> None:
        self.pending: type[KeyboardInterrupt] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StepBoundaryInterrupts":
        if threading.current_thread() is not threading.main_thread():
            return self
        from ..cli.process_exit import Terminated, _raise_terminated

        for sig, owned, exc in ((signal.SIGINT, signal.default_int_handler, KeyboardInterrupt),
                                (signal.SIGTERM, _raise_terminated, Terminated)):
            current = signal.getsignal(sig)
            if current is owned:
                self._previous[sig] = current
                signal.signal(sig, self._handler(exc))
        return self

    def _handler(self, exc: type[KeyboardInterrupt]):
        def hold(signum: int, frame: object) -> None:
            if self.pending is None:
                self.pending = exc
            elif signum != signal.SIGTERM:
                raise exc  # a second Ctrl-C: stop now

        return hold

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def ignore_interrupts_in_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: a Ctrl-C or SIGTERM sent to the whole process group leaves the workers alone,
    so the main process can finish its step and save (it shuts them down as it exits); a worker whose main process
    is gone exits by itself (PyTorch's watchdog)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
