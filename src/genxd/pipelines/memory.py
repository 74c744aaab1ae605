"""Memory settings of sampling, set together: decoding windows, sequential guidance branches, model offload.

Where the memory of a whole sample goes (released configuration, 12 frames, bf16 UNet; H200 figures of
issue 26 and docs/benchmarks.md): the weights are 4.0 GiB (UNet 3.6 GiB in bf16, VAE 0.36 GiB in float32)
and stay on the GPU; one guided UNet call adds well under 1 GiB; decoding adds about 1.2 GiB *per frame
decoded at once* at 512x512 in float32 (0.3 GiB at 256x256): all 12 frames at once is the 18.4 GiB peak.

:func:`configure_memory` with its defaults (what ``genxd generate`` uses):

- ``decode_chunk="auto"``: decoding windows of ``DECODE_WINDOW_PIXELS // (H * W)`` frames (2 at 512x512,
  8 at 256x256, the whole clip when it fits), consecutive windows sharing half their frames
  (:mod:`genxd.pipelines.decoding`); the VAE decoder runs in bfloat16 on the CUDA fast path
  (:func:`genxd.pipelines.fast.enable_fast_path`, ``vae_decoder_dtype``): about 0.6 GiB per frame at 512;
- no offload, guidance branches batched (fastest).

Switches for smaller GPUs: ``sequential_guidance=True`` (the two guidance branches as two UNet calls: half
the call's activations), ``offload="model"`` (only the model in use on the GPU: the UNet's 3.6 GiB while
denoising, the VAE while decoding), ``offload="group"`` (the UNet streamed block by block: a fraction of its
weights on the GPU), smaller ``decode_chunk``. ``benchmarks/bench_memory.py`` measures each set.
"""

from __future__ import annotations

from typing import Literal, Union

import torch

from .offload import OFFLOAD_MODES, enable_offload

#: pixels x frames decoded at once by ``decode_chunk="auto"``: 2 frames at 512x512, 8 at 256x256
DECODE_WINDOW_PIXELS = 2 * 512 * 512

DecodeChunk = Union[int, None, Literal["auto"]]


def auto_decode_chunk(num_frames: int, height: int, width: int) -> int | None:
    """Frames per decoding window for ``decode_chunk="auto"`` (None: the whole clip fits the budget)."""
    frames = max(2, DECODE_WINDOW_PIXELS // max(1, height * width))
    return None if frames >= num_frames else frames


def default_overlap(chunk: int | None) -> int:
    """Frames shared by consecutive windows: half the window (2:1, 3:1, 4:2 ...). On the bundled model this
    halves the gap to whole-clip decoding against windows without overlap (benchmarks/bench_decoding.py)."""
    return 0 if not chunk else chunk // 2


def resolve_decode_chunk(chunk: DecodeChunk | str, num_frames: int, height: int, width: int) -> int | None:
    if chunk == "auto":
        return auto_decode_chunk(num_frames, height, width)
    if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"decode_chunk must be a positive number of frames, 'auto' or None; got {chunk!r}")
    return chunk


def configure_memory(pipe, decode_chunk: DecodeChunk = "auto", decode_overlap: int | None = None,
                     sequential_guidance: bool = False, offload: str = "none",
                     device: str | torch.device | None = None):
    """Set the pipeline's memory switches (see the module docstring); returns the pipeline.

    ``decode_overlap`` None: half the window. ``offload`` is applied once, to a pipeline whose models are
    still where loading put them (``"model"`` / ``"group"`` then move them to ``device`` as needed)."""
    if offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}; got {offload!r}")
    if decode_chunk != "auto":
        resolve_decode_chunk(decode_chunk, 1, 1, 1)
    if decode_overlap is not None and decode_overlap < 0:
        raise ValueError(f"decode_overlap must be >= 0, got {decode_overlap}")
    pipe.decode_chunk_size = decode_chunk
    pipe.decode_overlap = decode_overlap
    pipe.sequential_guidance = bool(sequential_guidance)
    if offload != "none":
        enable_offload(pipe, offload, device)
    return pipe
