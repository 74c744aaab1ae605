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


def physical_memory() -> int | None:
    """This machine's memory in bytes (``SC_PHYS_PAGES``), None where it is not known (no sysconf: Windows)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None
    return memory if memory > 0 else None


def bytes_text(num_bytes: float) -> str:
    """``num_bytes`` in GB, TB or PB (the largest of them it is at least one of; decimal units)."""
    unit, scale = next(((u, k) for u, k in (("PB", 1e15), ("TB", 1e12)) if num_bytes >= k), ("GB", 1e9))
    return f"{num_bytes / scale:.3g} {unit}"


__all__ = ["bytes_text", "capped_at_usable_cpus", "cpu_name", "physical_memory", "usable_cpus"]
