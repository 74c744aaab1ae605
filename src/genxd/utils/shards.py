"""Job-array shards: the inputs task ``K`` of ``N`` independent tasks takes (``--shard K/N``, ``shard=(K, N)``).

Task K takes the inputs ``i`` with ``i % N == K`` of the job's input order (the sorted / listed order every task
sees the same way), so the N tasks cover every input once. Each input keeps its index (its seed, its output name),
so a scene is the same whatever the split. Under ``accelerate launch`` the processes of a task then share its
inputs (:meth:`genxd.pipelines.distributed.ProcessGroup.split`).
"""

from __future__ import annotations

from typing import Sequence, TypeVar

__all__ = ["shard_indices", "shard_line", "summary_name", "taken"]

T = TypeVar("T")


def shard_indices(total: int, shard: tuple[int, int] | None) -> list[int]:
    """The indices of ``total`` inputs that ``shard`` (``(K, N)``, checked; ``None``: all) takes."""
    if shard is None:
        return list(range(total))
    k, n = shard
    return list(range(k, total, n))


def shard_line(shard: tuple[int, int], taken: int, total: int, what: str = "inputs") -> str:
    """What a task has: ``shard 1 of 4: 3 of 10 inputs``."""
    return f"shard {shard[0]} of {shard[1]}: {taken} of {total} {what}"


def summary_name(shard: tuple[int, int] | None, name: str = "summary.json") -> str:
    """A summary's name (the default one's, or ``--summary``'s) for one task of an array
    (``summary.shard-1-of-4.json``; ``report`` -> ``report.shard-1-of-4``), so none replaces another's."""
    if shard is None:
        return name
    tag = f".shard-{shard[0]}-of-{shard[1]}"
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no suffix (``report``, ``.report``): the shard goes at the end
        return f"{name}{tag}"
    return f"{stem}{tag}{dot}{ext}"


def taken(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """The items ``shard`` takes (:func:`shard_indices`)."""
    return [items[i] for i in shard_indices(len(items), shard)]
