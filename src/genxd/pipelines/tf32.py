"""TF32 for the fast path's sampling and for training only: on within their calls, the caller's flags as they were after.

``torch.backends.cuda.matmul.allow_tf32`` and ``torch.backends.cudnn.allow_tf32`` are process-wide: the fast path
(:func:`genxd.pipelines.fast.enable_fast_path`, bf16 / fp16) set them once and left them on, so after
``genxd.load_model()`` every float32 matrix product of the caller's process ran with a 10-bit mantissa (it once
moved genxd's own Gaussian projection by 0.1 px, docs/reconstruction.md). Now the pipeline holds the wish
(``pipe.tf32``) and its sampling, encoding and decoding turn them on for their own duration; the trainers
(``training.allow_tf32``) likewise.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def tf32_enabled(on: bool = True) -> Iterator[None]:
    """TF32 matrix products and convolutions within the block when ``on``; both flags put back afterwards. Off, the
    flags are not touched at all: a caller who set TF32 through PyTorch's newer API (``torch.backends.fp32_precision``,
    ``torch.set_float32_matmul_precision``) has later reads raise once the legacy flags are written, so a float32
    pipeline or training run must not write them."""
    if not on:
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def tf32_while(wanted: Callable[..., bool]) -> Callable[[F], F]:
    """A decorator: the function runs under :func:`tf32_enabled` when ``wanted(*args, **kwargs)`` (given the
    function's own arguments) is true; signature kept."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tf32_enabled(bool(wanted(*args, **kwargs))):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


#: A pipeline method run with TF32 when its pipeline's ``tf32`` is set.
with_pipeline_tf32 = tf32_while(lambda self, *args, **kwargs: getattr(self, "tf32", False))

#: A trainer ``train(cfg, ...)`` run with TF32 when ``cfg.training.allow_tf32`` (default true) and CUDA is there: it
#: set both flags process-wide and left them on before (genxd train, or train_genxd from Python).
with_training_tf32 = tf32_while(lambda cfg, *args, **kwargs: cfg.training.allow_tf32 and torch.cuda.is_available())


__all__ = ["tf32_enabled", "tf32_while", "with_pipeline_tf32", "with_training_tf32"]
