"""VAE decoding in overlapping frame windows (memory), keeping the temporal decoder's context.

Stable Video Diffusion's ``AutoencoderKLTemporalDecoder`` mixes frames only through its temporal
convolutions (kernel 3 along time, zero padding at the clip's ends; GroupNorm and attention work per frame),
so decoding a clip in pieces is exact per frame except near a piece's ends, where the decoder sees zero padding
instead of the neighbouring frames. Decoding in windows of ``chunk`` frames that overlap by ``overlap``
frames and keeping each frame from the window where it lies farthest from a cut (the frames near a cut are
decoded again, with their neighbours, by the next window) keeps that error small; the clip's own first and
last frames are exact in any window. Cost: ``ceil((F - overlap) / (chunk - overlap))`` windows of ``chunk``
frames instead of one of ``F``; peak memory: that of ``chunk`` frames.

Measured on the bundled model (``benchmarks/bench_decoding.py``; docs/benchmarks.md): frames from windows
against the whole-clip decode.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch
from torch import Tensor


def frame_windows(num_frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` windows of ``chunk`` frames covering ``0..num_frames``, consecutive ones sharing
    ``overlap`` frames; the last one ends at ``num_frames`` (so every window is full length). One window when
    ``chunk >= num_frames``."""
    if chunk < 1:
        raise ValueError(f"decode_chunk_size must be >= 1, got {chunk}")
    if not 0 <= overlap < chunk:
        raise ValueError(f"decode_overlap must be in [0, decode_chunk_size - 1] = [0, {chunk - 1}], got {overlap}")
    if chunk >= num_frames:
        return [(0, num_frames)]
    stride = chunk - overlap
    count = math.ceil((num_frames - overlap) / stride)
    starts = [min(i * stride, num_frames - chunk) for i in range(count)]
    return [(s, s + chunk) for s in sorted(set(starts))]


def window_owner(num_frames: int, windows: list[tuple[int, int]]) -> list[int]:
    """For each frame, the window it is taken from: the one where the frame is farthest from a cut (a window
    end that is not an end of the clip); ties go to the earlier window."""
    owner = []
    for f in range(num_frames):
        best, best_margin = -1, -1
        for w, (s, e) in enumerate(windows):
            if not s <= f < e:
                continue
            left = f - s if s > 0 else num_frames  # no cut on this side
            right = e - 1 - f if e < num_frames else num_frames
            margin = min(left, right)
            if margin > best_margin:
                best, best_margin = w, margin
        owner.append(best)
    return owner


def decoded_runs(decode: Callable[[Tensor, int], Tensor], z: Tensor, chunk: int | None,
                 overlap: int = 0) -> Iterator[Tensor]:
    """One clip ``z [F, ...]`` decoded with ``decode(z_window, num_frames) -> [n, ...]`` in windows
    (:func:`frame_windows`; ``chunk`` None or >= F: the whole clip at once), a window at a time: each window's kept
    frames (:func:`window_owner`: a run, the runs in order, together the clip's ``F`` frames)."""
    f = z.shape[0]
    windows = frame_windows(f, chunk or f, overlap if chunk and chunk < f else 0)
    owner = window_owner(f, windows)
    for w, (s, e) in enumerate(windows):
        kept = [i for i in range(s, e) if owner[i] == w]
        if kept:
            yield decode(z[s:e], e - s)[kept[0] - s:kept[-1] + 1 - s]


@torch.no_grad()
def decode_in_windows(decode: Callable[[Tensor, int], Tensor], z: Tensor, chunk: int | None,
                      overlap: int = 0) -> Tensor:
    """Decode one clip ``z [F, C, h, w]`` with ``decode(z_window, num_frames) -> [n, 3, H, W]``, in windows
    (:func:`decoded_runs`). Returns ``[F, 3, H, W]``."""
    f = z.shape[0]
    out: Tensor | None = None
    start = 0
    for run in decoded_runs(decode, z, chunk, overlap):
        if out is None:
            if len(run) == f:  # one window: the clip decoded whole
                return run
            out = run.new_empty((f, *run.shape[1:]))
        out[start:start + len(run)] = run
        start += len(run)
    assert out is not None
    return out
