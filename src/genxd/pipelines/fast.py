"""The GPU fast path: bfloat16, fused attention, batched guidance, ``torch.compile`` (+ CUDA graphs).

What the float32 eager path does (and the authors' code, numerically):
one guided UNet call runs both guidance branches as one batch of ``2B`` (already batched in
:class:`~genxd.pipelines.GenXDPipeline`), every attention through PyTorch's
``scaled_dot_product_attention`` (diffusers' ``AttnProcessor2_0``), float32 weights.

What :func:`enable_fast_path` adds (each switchable):

- ``dtype=torch.bfloat16`` UNet weights and activations (the model computes in the dtype of its
  weights; time/motion sinusoids are made in float32 and cast), bf16 flash attention kernels; the
  VAE stays float32 by default (``vae_dtype``), decoding is cheap next to 25 UNet calls;
- ``compile=True``: ``torch.compile`` of the UNet (inductor, ``mode="default"``; ``"reduce-overhead"``
  adds CUDA graphs; ``max-autotune`` spends over ten minutes autotuning this model and is not
  worth it). Compilation is cached on disk (``TORCHINDUCTOR_CACHE_DIR``, default
  ``~/.cache/genxd/torchinductor``), so the warm-up is paid once per machine and shape; if
  compilation fails the UNet runs eagerly (dynamo falls back) with a warning;
- ``channels_last`` memory format for the convolutions (off by default: measure).

On a machine without CUDA the function returns the pipeline unchanged (with a notice), so code can
call it unconditionally.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

logger = logging.getLogger(__name__)


def compile_available() -> bool:
    """Whether ``torch.compile`` with inductor can run here (CUDA with Triton)."""
    if not torch.cuda.is_available():
        return False
    try:
        import triton  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return hasattr(torch, "compile")


def enable_fast_path(
    pipe,
    dtype: torch.dtype = torch.bfloat16,
    compile: bool = True,
    compile_mode: str = "default",
    vae_dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
    device: str | torch.device | None = None,
):
    """Switch ``pipe`` (a :class:`~genxd.pipelines.GenXDPipeline`) to the fast path, in place.

    Returns the pipeline. Without CUDA it is returned unchanged.
    """
    if not torch.cuda.is_available():
        logger.warning("genxd fast path: CUDA is not available, keeping the float32 eager path")
        return pipe
    device = torch.device(device) if device is not None else (
        pipe.device if pipe.device.type == "cuda" else torch.device("cuda")
    )
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    pipe.unet.to(device=device, dtype=dtype)
    pipe.vae.to(device=device, dtype=vae_dtype)
    if channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
    if compile and compile_available():
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path.home() / ".cache" / "genxd" / "torchinductor"))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
        import torch._dynamo as dynamo

        dynamo.config.suppress_errors = True  # fall back to eager if compilation fails
        if not getattr(pipe.unet, "_genxd_compiled", False):
            pipe.unet.compile(mode=None if compile_mode == "default" else compile_mode, dynamic=False)
            pipe.unet._genxd_compiled = True
    elif compile:
        logger.warning("genxd fast path: torch.compile unavailable (no Triton?), running eagerly")
    return pipe
