"""How many video tasks an engine of :func:`genxd.curation.curate_dataset` keeps handed out at a time (the local
pool of ``--workers N`` and ``--ray``): enough that no worker waits for work, few enough that the driver's memory
and its collecting do not grow with the number of videos."""

from __future__ import annotations

__all__ = ["IN_FLIGHT_PER_SLOT", "MIN_IN_FLIGHT", "tasks_in_flight"]

#: Fewest tasks kept handed out, and how many per task that can run at once.
MIN_IN_FLIGHT = 16
IN_FLIGHT_PER_SLOT = 2


def tasks_in_flight(slots: int) -> int:
    """How many tasks to keep handed out when ``slots`` of them can run at once: twice as many, at least
    :data:`MIN_IN_FLIGHT`; the next ones are handed out as those finish."""
    return max(MIN_IN_FLIGHT, IN_FLIGHT_PER_SLOT * max(int(slots), 0))
