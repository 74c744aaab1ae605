"""One line per stage of a long step that has no progress bar of its own (SfM on a clip, ...)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

__all__ = ["StageCallback", "StageLines"]

StageCallback = Callable[[str], None]
"""Called with a short description (``"structure from motion"``) as each stage of a step starts."""


class StageLines:
    """A :data:`StageCallback` that prints ``genxd: LABEL [T s]: STAGE`` on stderr as each stage starts
    (``T``: seconds since the first stage), through :func:`genxd.utils.progress.progress_write` so that the line goes above a progress
    bar already on screen. ``enabled=False``: prints nothing (``--quiet``, processes other than the main one)."""

    def __init__(self, label: str, enabled: bool = True, file: TextIO | None = None) -> None:
        self.label, self.enabled, self.file = label, enabled, file
        self.started: float | None = None

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        if not self.enabled:
            return
        from .progress import progress_write

        progress_write(f"genxd: {self.label} [{now - self.started:.0f} s]: {stage}", file=self.file or sys.stderr)
