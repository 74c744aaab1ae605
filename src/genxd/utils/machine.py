"""The machine a run is on, for reports (``genxd info``, benchmark results)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what :mod:`platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask on Linux, e.g. under ``taskset`` or a container's
    cpuset; elsewhere :func:`os.cpu_count`); at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def capped_at_usable_cpus(threads: int, described: str) -> int:
    """``threads``, at most :func:`usable_cpus` (more only adds threads that wait: each reserves its stack, and
    under a memory limit OpenMP aborted a process without a word); one warning when capped, which starts with
    ``described`` (the setting as the caller wrote it, e.g. ``--threads 64``)."""
    import warnings

    from ..validation import GenXDWarning

    cpus = usable_cpus()
    if threads > cpus:
        warnings.warn(GenXDWarning(f"{described} is more than the {cpus} CPUs this process may use: using {cpus}"),
                      stacklevel=3)
        return cpus
    return threads


__all__ = ["capped_at_usable_cpus", "cpu_name", "usable_cpus"]
