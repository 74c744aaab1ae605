"""A data loader whose fourth batch is a broken image, for the tests of a data error in the middle of a run (one
process: ``test_interrupt.py``; one of two processes: ``test_multi_process_errors.py``, which imports this module
by path inside its launched script, so it has no package-relative imports)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

#: The error a broken image gives, as the loader raises it.
BROKEN_IMAGE_ERROR = "scene_2/images/frame_00005.png: cannot read image (broken data stream)"


class ThreeBatchesThenBroken:
    """The first three batches of ``loader``, then the ValueError of a broken image."""

    def __init__(self, loader: Iterable[Any]) -> None:
        self.loader = loader

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.loader)
        for _ in range(3):
            yield next(batches)
        raise ValueError(BROKEN_IMAGE_ERROR)
