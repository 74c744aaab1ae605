"""TF32 for the fast path's sampling only: on within a pipeline's calls, the caller's flags as they were after.

``torch.backends.cuda.matmul.allow_tf32`` and ``torch.backends.cudnn.allow_tf32`` are process-wide: the fast path
(:func:`genxd.pipelines.fast.enable_fast_path`, bf16 / fp16) set them once and left them on, so after
``genxd.load_model()`` every float32 matrix product of the caller's process ran with a 10-bit mantissa (it once
moved genxd's own Gaussian projection by 0.1 px, docs/reconstruction.md). Now the pipeline holds the wish
(``pipe.tf32``) and its sampling, encoding and decoding turn them on for their own duration.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def tf32_enabled(on: bool = True) -> Iterator[None]:
    """TF32 matrix products and convolutions within the block when ``on``; both flags put back afterwards."""
    if not on:
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def with_pipeline_tf32(method: F) -> F:
    """A pipeline method run under :func:`tf32_enabled` when its pipeline's ``tf32`` is set (signature kept)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with tf32_enabled(bool(getattr(self, "tf32", False))):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


__all__ = ["tf32_enabled", "with_pipeline_tf32"]
