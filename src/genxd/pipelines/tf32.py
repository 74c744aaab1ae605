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
import dataclasses
import functools
from typing import Any, Callable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


#: TF32 through PyTorch's newer API, whose settings inherit from a parent when "none": the backend's, then the
#: generic one (``torch.backends.fp32_precision``)
_MATMUL, _CONV, _RNN = "cuda.matmul", "cudnn.conv", "cudnn.rnn"


def _setting(name: str) -> Any:
    """The object holding the ``fp32_precision`` of one of the names above."""
    backend, op = name.split(".")
    return getattr(getattr(torch.backends, backend), op)


def _legacy(read: Callable[[], bool]) -> bool | None:
    """A legacy flag, or None where PyTorch refuses to read it: the caller set a state only the new API describes."""
    try:
        return bool(read())
    except RuntimeError:
        return None


@dataclasses.dataclass(frozen=True)
class TF32State:
    """The CUDA float32 precision settings, both APIs: the new API's (matmul, cuDNN conv, cuDNN RNN) and the legacy
    flags behind ``allow_tf32``. A legacy flag PyTorch refuses to read (a mix of the two APIs) is inferred where it
    can be: its getter raises exactly when it disagrees with the new setting."""

    matmul: str
    conv: str
    rnn: str
    legacy_matmul: bool
    legacy_cudnn: bool | None  # unknown when conv and RNN differ and the flag cannot be read

    @classmethod
    def capture(cls) -> "TF32State":
        """The settings now (reads only getters that cannot raise, or catches them)."""
        matmul, conv, rnn = (_setting(name).fp32_precision for name in (_MATMUL, _CONV, _RNN))
        legacy_matmul = _legacy(lambda: torch.backends.cuda.matmul.allow_tf32)
        legacy_cudnn = _legacy(lambda: torch.backends.cudnn.allow_tf32)
        if legacy_matmul is None:
            legacy_matmul = matmul != "tf32"
        if legacy_cudnn is None and (conv == "tf32") == (rnn == "tf32"):
            legacy_cudnn = conv != "tf32"
        return cls(matmul, conv, rnn, legacy_matmul, legacy_cudnn)

    @property
    def readable(self) -> tuple[bool, bool]:
        """Whether the legacy matmul and cuDNN getters answer (the two APIs agree) in this state."""
        return (self.legacy_matmul == (self.matmul == "tf32"),
                self.legacy_cudnn is not None and self.legacy_cudnn == (self.conv == "tf32") == (self.rnn == "tf32"))

    def restore(self) -> None:
        """Put these settings back, writing only what differs now: the legacy flags first (their setters also write
        the new API's settings), then the new API's; a setting equal to what it inherits (the CUDA backend's
        ``torch.backends.cudnn.fp32_precision``, itself inheriting the generic one) goes back to "none"."""
        now = TF32State.capture()
        written = set()  # settings a legacy setter wrote explicitly, even where to the value they had
        if now.legacy_matmul != self.legacy_matmul:
            torch.backends.cuda.matmul.allow_tf32 = self.legacy_matmul
            written.add(_MATMUL)
        if self.legacy_cudnn is not None and now.legacy_cudnn != self.legacy_cudnn:
            torch.backends.cudnn.allow_tf32 = self.legacy_cudnn
            written.update((_CONV, _RNN))
        for name, value in ((_MATMUL, self.matmul), (_CONV, self.conv), (_RNN, self.rnn)):
            setting = _setting(name)
            if name in written or setting.fp32_precision != value:
                setting.fp32_precision = "none" if value == torch.backends.cudnn.fp32_precision else value


@contextlib.contextmanager
def tf32_enabled(on: bool = True) -> Iterator[None]:
    """TF32 matrix products and convolutions within the block when ``on``; every setting put back afterwards.

    PyTorch keeps two APIs for this (the legacy ``allow_tf32`` flags and the newer ``fp32_precision`` settings) and
    raises on later reads once they are mixed. A caller whose legacy getters answer (an untouched process, or either
    API used consistently) gets TF32 through the legacy setters, which write both APIs alike, so that PyTorch's own
    legacy readers (inductor's autotuning keys, accelerate) keep working inside the block; a caller in a state only
    the new API describes gets it through the new API alone. Settings already at TF32 are not written. Off, nothing
    is touched at all."""
    if not on:
        yield
        return
    saved = TF32State.capture()
    matmul_readable, cudnn_readable = saved.readable
    try:
        if saved.matmul != "tf32":
            if matmul_readable:
                torch.backends.cuda.matmul.allow_tf32 = True
            else:
                torch.backends.cuda.matmul.fp32_precision = "tf32"
        if (saved.conv, saved.rnn) != ("tf32", "tf32"):
            if cudnn_readable:
                torch.backends.cudnn.allow_tf32 = True
            else:
                for name in (_CONV, _RNN):
                    _setting(name).fp32_precision = "tf32"
        yield
    finally:
        saved.restore()


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


__all__ = ["TF32State", "tf32_enabled", "tf32_while", "with_pipeline_tf32", "with_training_tf32"]
