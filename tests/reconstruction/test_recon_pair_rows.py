"""The torch rasteriser's (pixel, Gaussian) pair bookkeeping: the row of each pair (a cumulative sum of
marks in place of ``repeat_interleave``) and one chunk or many giving the same image and gradients."""

from __future__ import annotations

import pytest
import torch

from genxd.reconstruction.compositing import _row_of_each_pair
from genxd.reconstruction.rasterizer import rasterize_with_info

from .helpers import random_gaussians


@pytest.mark.parametrize(
    "counts",
    [[3, 1, 2], [0, 0, 2, 0, 0, 1, 3, 0, 0], [5], [0, 4], [1, 0], [1, 1, 1, 1]],
    ids=["full", "empty-rows-everywhere", "one-row", "empty-first", "empty-last", "ones"],
)
def test_row_of_each_pair_is_repeat_interleave(counts: list[int]) -> None:
    cnt = torch.tensor(counts, dtype=torch.int32)
    first = (torch.cumsum(cnt, 0) - cnt).to(torch.int32)
    expected = torch.repeat_interleave(torch.arange(len(counts), dtype=torch.int32), cnt)
    rows = _row_of_each_pair(first, int(cnt.sum()))
    assert rows.dtype == torch.int32 and torch.equal(rows, expected)


def test_row_of_each_pair_on_random_rows() -> None:
    gen = torch.Generator().manual_seed(0)
    cnt = torch.randint(0, 6, (5000,), generator=gen, dtype=torch.int32) * (torch.rand(5000, generator=gen) > 0.3)
    cnt = cnt.to(torch.int32)
    first = (torch.cumsum(cnt, 0) - cnt).to(torch.int32)
    expected = torch.repeat_interleave(torch.arange(5000, dtype=torch.int32), cnt)
    assert torch.equal(_row_of_each_pair(first, int(cnt.sum())), expected)


def test_chunks_give_the_same_image_and_gradients_bit_for_bit() -> None:
    """Chunks of whole rows (``max_pairs``) only split the same pairs: the image and every gradient are
    identical in float32 (each pixel and each Gaussian sums its pairs in the same order)."""
    from genxd.cameras import intrinsics_from_focal, look_at

    g = random_gaussians(300, seed=7)
    c2w = look_at(torch.tensor([[0.3, -0.6, -3.0]]), torch.zeros(3))
    K = intrinsics_from_focal(1.1, 1.2, cx=0.48, cy=0.53)[None]
    background = torch.tensor([0.2, 0.5, 0.9])
    results = []
    for max_pairs in (10_000_000, 500):
        inputs = [g[k].clone().requires_grad_() for k in ("means", "quats", "scales", "opacities", "colors")]
        out = rasterize_with_info(*inputs, c2w, K, 20, 24, background, backend="torch", max_pairs=max_pairs)
        gen = torch.Generator().manual_seed(1)
        loss = (out.rgb * torch.rand(out.rgb.shape, generator=gen)).sum() + (out.alpha * 0.3).sum() + out.depth.sum() * 0.01
        loss.backward()
        results.append([out.rgb.detach(), out.alpha.detach(), out.depth.detach(), *(x.grad for x in inputs)])
        assert out.info["n_pairs"][0] > 4 * 500  # several chunks in the second run
    for whole, chunked in zip(*results):
        assert torch.equal(whole, chunked)
    assert all(float(gr.abs().sum()) > 0 for gr in results[0][3:])
