"""TF32 for a training run only: on for the trainer's duration on CUDA, the caller's flags as they were after.

``training.allow_tf32`` (default true) asks for TF32 matrix products and convolutions while training on a GPU.
``TrainingRun`` used to set ``torch.backends.cuda.matmul.allow_tf32`` / ``cudnn.allow_tf32`` process-wide and leave
them on, so a Python caller's own float32 products after ``train_genxd(...)`` ran with a 10-bit mantissa (as the
sampling pipeline's did before :mod:`genxd.pipelines.tf32`). Now the trainers run inside
:func:`~genxd.pipelines.tf32.tf32_enabled`, which puts both flags back when they return or raise.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import torch

from ..pipelines.tf32 import tf32_enabled

F = TypeVar("F", bound=Callable[..., Any])


def with_training_tf32(train: F) -> F:
    """A trainer ``train(cfg, ...)`` run with TF32 on when ``cfg.training.allow_tf32`` and CUDA is available; the
    process's flags restored afterwards (signature kept)."""

    @functools.wraps(train)
    def wrapper(cfg: Any, *args: Any, **kwargs: Any) -> Any:
        with tf32_enabled(bool(cfg.training.allow_tf32) and torch.cuda.is_available()):
            return train(cfg, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


__all__ = ["with_training_tf32"]
