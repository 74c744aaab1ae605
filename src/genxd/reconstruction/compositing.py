"""Front-to-back alpha compositing of projected Gaussians in pure PyTorch (the ``"torch"`` backend of
:mod:`genxd.reconstruction.rasterizer`, gsplat 1.5.3's ``rasterize_to_pixels`` in "classic" mode): the
(pixel, Gaussian) pairs inside each Gaussian's alpha >= 1/255 ellipse, ordered per pixel by a stable radix
sort, with transmittance from segmented cumulative sums in float64 and an analytic backward pass.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .projection import ALPHA_THRESHOLD

__all__ = ["MAX_ALPHA", "TRANSMITTANCE_THRESHOLD"]

#: gsplat 1.5.3 clamps alpha to 0.999 (the original 3DGS code used 0.99).
MAX_ALPHA = 0.999
#: a pixel stops compositing before its transmittance would fall to this value.
TRANSMITTANCE_THRESHOLD = 1e-4


def _stable_argsort_pixels(pid: Tensor, num_pixels: int) -> Tensor:
    """Stable argsort of pixel ids ``[M]`` (int64). On CPU: numpy's O(M) radix sort on 16-bit keys
    (two passes above 65,536 pixels), much faster than a comparison sort; elsewhere ``torch.sort``."""
    if pid.device.type != "cpu":
        return torch.sort(pid, stable=True)[1]
    keys = pid.numpy()
    if num_pixels <= 1 << 16:
        order = np.argsort(keys.astype(np.uint16), kind="stable")
    else:  # least-significant-digit radix sort in two stable passes
        order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
        high = (keys[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return torch.from_numpy(order.astype(np.int64, copy=False))  # argsort gives int64 (intp) already


def _segment_exclusive_cumsum(values: Tensor, pid: Tensor, num_pixels: int) -> tuple[Tensor, Tensor]:
    """For pairs sorted by pixel (``pid [M]`` non-decreasing): per pair, the sum of ``values`` over
    the earlier pairs of its pixel ``[M]``, and the per-pixel totals ``[P]``; in float64."""
    v = values.double()
    totals = torch.zeros(num_pixels, dtype=torch.float64, device=v.device).index_add_(0, pid, v)
    pixel_base = torch.cumsum(totals, 0) - totals  # sum over all earlier pixels
    exclusive = torch.cumsum(v, 0) - v
    return exclusive - pixel_base.index_select(0, pid), totals


def _row_of_each_pair(row_first: Tensor, m: int) -> Tensor:
    """The row of each of ``m`` pairs laid out row after row, row ``j`` from pair ``row_first[j]`` on
    (``row_first [R]`` int32, non-decreasing; a row without pairs has its successor's first pair).
    The same as ``repeat_interleave(arange(R), counts)``, about twice as fast on a CPU: a mark at
    each row's first pair, and a cumulative sum (the last row starting at or before each pair)."""
    marks = torch.zeros(m + 1, dtype=torch.int32, device=row_first.device)
    marks.index_add_(0, row_first.long(), torch.ones_like(row_first))
    return torch.cumsum(marks[:m], 0, dtype=torch.int32) - 1


def _candidate_pairs(
    attrs: Tensor, radii: Tensor, height: int, width: int, max_pairs: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(pixel, Gaussian) pairs that may have alpha >= 1/255, Gaussians given front to back.

    Each Gaussian is scanned row by row over its bounding box; in each row only the pixel span
    inside the ellipse ``sigma <= log(255 opacity)`` (where alpha >= 1/255) is enumerated (solved
    in closed form, with a small margin). Alphas below 1/255 (margin pixels) are set to 0.

    Args: ``attrs [6, n]`` (mean x, mean y, conic a, b, c, opacity), ``radii [n, 2]``.
    Returns ``(local [M], pid [M], alpha [M], dx [M], dy [M])`` ordered Gaussian by Gaussian
    (front to back); ``local``/``pid`` int64; ``dx, dy`` = mean - pixel centre.
    """
    device, dtype = attrs.device, attrs.dtype
    n = attrs.shape[1]
    my = attrs[1]
    ry = radii[:, 1].to(dtype)
    y0 = torch.ceil(my - ry - 0.5).clamp(min=0).to(torch.int32)
    y1 = torch.floor(my + ry - 0.5).clamp(max=height - 1).to(torch.int32)
    rows_per = (y1 - y0 + 1).clamp(min=0)
    n_rows = int(rows_per.sum())
    empty_i = torch.zeros(0, dtype=torch.long, device=device)
    empty_f = torch.zeros(0, dtype=dtype, device=device)
    if n_rows == 0:
        return empty_i, empty_i, empty_f, empty_f, empty_f
    # one entry per (Gaussian, image row)
    row_g = torch.repeat_interleave(torch.arange(n, device=device, dtype=torch.int32), rows_per)
    row_first = torch.cumsum(rows_per, 0, dtype=torch.int32) - rows_per
    row_y = y0.index_select(0, row_g) + torch.arange(n_rows, device=device, dtype=torch.int32) - row_first.index_select(0, row_g)
    r_mx, r_my, r_a, r_b, r_c, r_o = attrs.index_select(1, row_g).unbind(0)
    dy = r_my - (row_y.to(dtype) + 0.5)
    level = torch.log(r_o * 255.0)  # alpha >= 1/255  <=>  sigma <= level
    # 0.5 a dx^2 + (b dy) dx + (0.5 c dy^2 - level) <= 0
    disc = (r_b * dy) ** 2 - r_a * (r_c * dy * dy - 2.0 * level)
    half = torch.sqrt(disc.clamp_min(0.0))
    margin = 1e-3
    col_lo = torch.ceil(r_mx - 0.5 - (-r_b * dy + half) / r_a - margin).clamp(min=0)
    col_hi = torch.floor(r_mx - 0.5 - (-r_b * dy - half) / r_a + margin).clamp(max=width - 1)
    counts = torch.where(disc >= 0, (col_hi - col_lo + 1).clamp(min=0), torch.zeros_like(col_lo)).to(torch.int32)
    # per row: sigma(dx) = (A dx + B) dx + C with dx = base - k for the k-th pixel of the span
    row_coeffs = torch.stack([r_mx - 0.5 - col_lo, 0.5 * r_a, r_b * dy, 0.5 * r_c * dy * dy, r_o, dy])
    row_pixel = row_y * width + col_lo.to(torch.int32)  # first pixel of each span
    cum = torch.cumsum(counts, 0, dtype=torch.int64)
    first = (cum - counts).to(torch.int32)
    total = int(cum[-1])
    if total >= 2**31:
        raise ValueError(f"too many (pixel, Gaussian) pairs ({total}); lower the resolution or the Gaussian count")
    bounds = [0]
    if total > max_pairs:  # chunks of at most ~max_pairs candidates, whole rows each
        cut_points = torch.searchsorted(cum, torch.arange(max_pairs, total, max_pairs, device=device))
        bounds += sorted(set(int(c) for c in cut_points.tolist() if 0 < int(c) < n_rows))
    bounds.append(n_rows)
    outs: list[tuple[Tensor, ...]] = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        cnt = counts[start:stop]
        m = int(cnt.sum())
        if m == 0:
            continue
        offset = int(first[start])
        r = _row_of_each_pair(first[start:stop] - offset, m) + start
        k = torch.arange(offset, offset + m, device=device, dtype=torch.int32) - first.index_select(0, r)
        base, A, B, Cq, o, pair_dy = row_coeffs.index_select(1, r).unbind(0)
        dx = base - k.to(dtype)
        alpha = torch.clamp(o * torch.exp(-((A * dx + B) * dx + Cq)), max=MAX_ALPHA)
        alpha = torch.where(alpha >= ALPHA_THRESHOLD, alpha, 0.0)
        # int64 indices: index_add_ along dim 1 is far slower with int32 indices on CPU
        local = row_g.index_select(0, r).long()
        pid = (row_pixel.index_select(0, r) + k).long()
        outs.append((local, pid, alpha, dx, pair_dy))
    if not outs:
        return empty_i, empty_i, empty_f, empty_f, empty_f
    if len(outs) == 1:
        return outs[0]  # type: ignore[return-value]
    return tuple(torch.cat(parts) for parts in zip(*outs))  # type: ignore[return-value]


class _Composite(torch.autograd.Function):
    """Front-to-back alpha compositing of depth-sorted Gaussians into one image, with an
    analytic backward pass (the same maths as gsplat's ``rasterize_to_pixels`` kernels).

    Inputs: ``attrs [6, G]`` (mean x, mean y, conic a, b, c, opacity), ``features [F, G]``
    (colour channels and depth), ``order [n]`` the visible Gaussians front to back, ``radii [G, 2]``.
    Outputs: ``features_sum [F, P]`` (``sum_i alpha_i T_i f_i``), the final transmittance ``T [P]``
    and the number of contributing pairs.

    Pairs stay in Gaussian-major order; only the transmittance (a per-pixel running product) is
    computed in pixel-sorted order (a stable radix sort keeps each pixel's pairs front to back)
    and scattered back.
    """

    @staticmethod
    def forward(
        ctx, attrs: Tensor, features: Tensor, order: Tensor, radii: Tensor, height: int, width: int, max_pairs: int
    ):
        P = height * width
        # work on the visible Gaussians in depth order (contiguous), pairs index into them
        attrs_sorted = attrs.index_select(1, order)
        features_sorted = features.index_select(1, order)
        local, pid, alpha, dx, dy = _candidate_pairs(attrs_sorted, radii.index_select(0, order), height, width, max_pairs)
        perm = _stable_argsort_pixels(pid, P)
        pid_sorted = pid.index_select(0, perm)
        log_1m_sorted = torch.log1p(-alpha).index_select(0, perm).double()
        log_T_sorted, _ = _segment_exclusive_cumsum(log_1m_sorted, pid_sorted, P)
        # a pixel stops before the Gaussian that would take its transmittance to <= 1e-4 (and all
        # later ones): those pairs get alpha 0
        used_sorted = (log_T_sorted + log_1m_sorted) > math.log(TRANSMITTANCE_THRESHOLD)
        used = torch.empty_like(used_sorted).index_copy_(0, perm, used_sorted)
        alpha = alpha * used
        # exp and the cast are element-wise: taken before the pairs go back to Gaussian order (4 bytes a pair)
        T_sorted = torch.exp(log_T_sorted).to(alpha.dtype)
        T = torch.empty_like(T_sorted).index_copy_(0, perm, T_sorted)
        weight = alpha * T
        out = features.new_zeros(features.shape[0], P).index_add_(1, pid, features_sorted.index_select(1, local).mul_(weight))
        log_T_final = torch.zeros(P, dtype=torch.float64, device=attrs.device).index_add_(
            0, pid_sorted, log_1m_sorted * used_sorted
        )
        T_final = torch.exp(log_T_final).to(alpha.dtype)
        ctx.save_for_backward(attrs_sorted, features_sorted, order, local, pid, perm, pid_sorted, alpha, T, dx, dy, T_final)
        ctx.num_gaussians = attrs.shape[1]
        ctx.num_pixels = P
        n_pairs = torch.tensor(int((alpha > 0).sum()))
        ctx.mark_non_differentiable(n_pairs)
        return out, T_final, n_pairs

    @staticmethod
    def backward(ctx, grad_out: Tensor, grad_T_final: Tensor, _grad_n_pairs: Tensor):
        attrs, features, order, local, pid, perm, pid_sorted, alpha, T, dx, dy, T_final = ctx.saved_tensors
        P = ctx.num_pixels
        n = attrs.shape[1]  # visible Gaussians (sorted); G in total
        if grad_out is None:
            grad_out = features.new_zeros(features.shape[0], P)
        if grad_T_final is None:
            grad_T_final = T_final.new_zeros(P)
        weight = alpha * T
        F = features.shape[0]
        # the per-pair gradients of the features (rows :F) and of the attributes (rows F:), written in
        # place into one buffer and scattered onto the Gaussians by one index_add_ (the same sums, in
        # the same order, as two separate scatters)
        pair_grads = features.new_empty(F + 6, local.numel())
        g = grad_out.index_select(1, pid)  # F M
        torch.mul(g, weight, out=pair_grads[:F])
        dot = g.mul_(features.index_select(1, local)).sum(0)  # <f_i, dL/dC_pixel>
        # later_i = sum over the later pairs j of the same pixel of w_j <f_j, g>
        contribution = weight * dot
        contribution_sorted = contribution.index_select(0, perm)
        before_sorted, totals = _segment_exclusive_cumsum(contribution_sorted, pid_sorted, P)
        later_sorted = totals.index_select(0, pid_sorted) - before_sorted - contribution_sorted.double()
        later_sorted = later_sorted.to(alpha.dtype)
        later = torch.empty_like(later_sorted).index_copy_(0, perm, later_sorted)
        tail = later + (grad_T_final * T_final).index_select(0, pid)
        # dC/dalpha_i = T_i f_i - (sum_{j>i} w_j f_j + T_final bg) / (1 - alpha_i); 0 where clamped
        grad_alpha = torch.where(alpha < MAX_ALPHA, T * dot - tail / (1.0 - alpha), 0.0)
        conic_a, conic_b, conic_c, opacity = attrs[2:].index_select(1, local).unbind(0)  # the means are not used
        grad_sigma = -alpha * grad_alpha  # d alpha / d sigma = -alpha (0 for unused pairs)
        torch.mul(grad_sigma, conic_a * dx + conic_b * dy, out=pair_grads[F])
        torch.mul(grad_sigma, conic_b * dx + conic_c * dy, out=pair_grads[F + 1])
        torch.mul(grad_sigma * 0.5 * dx, dx, out=pair_grads[F + 2])
        torch.mul(grad_sigma * dx, dy, out=pair_grads[F + 3])
        torch.mul(grad_sigma * 0.5 * dy, dy, out=pair_grads[F + 4])
        torch.div(grad_alpha * alpha, opacity.clamp_min(1e-12), out=pair_grads[F + 5])  # d alpha / d opacity = exp(-sigma)
        grads = features.new_zeros(F + 6, n).index_add_(1, local, pair_grads)
        G = ctx.num_gaussians
        grad_attrs = attrs.new_zeros(6, G).index_copy_(1, order, grads[F:])
        grad_features = features.new_zeros(F, G).index_copy_(1, order, grads[:F])
        return grad_attrs, grad_features, None, None, None, None, None


def _composite_one_camera(
    means2d: Tensor,
    conics: Tensor,
    opacities: Tensor,
    depths: Tensor,
    colors: Tensor,
    radii: Tensor,
    height: int,
    width: int,
    max_pairs: int,
) -> tuple[Tensor, Tensor, Tensor, int]:
    """Composite one camera's Gaussians (those with ``radii > 0``) front to back.

    Args: per-Gaussian ``means2d [G, 2]``, ``conics [G, 3]``, ``opacities [G]``, ``depths [G]``,
    ``colors [G, D]``, ``radii [G, 2]`` (int).
    Returns: colour ``[D, P]`` (no background), depth sum ``[P]``, final transmittance ``[P]`` and
    the number of composited pairs, with P = H * W pixels.
    """
    P = height * width
    D = colors.shape[-1]
    visible = torch.nonzero((radii > 0).any(-1), as_tuple=True)[0]
    order = visible[torch.argsort(depths.detach()[visible], stable=True)]  # front to back
    if order.numel() == 0:
        return colors.new_zeros(D, P), colors.new_zeros(P), colors.new_ones(P), 0
    # channels first, so that the per-pair gathers and scatters run along the last dimension
    attrs = torch.cat([means2d.t(), conics.t(), opacities[None]], 0)  # 6 G
    features = torch.cat([colors.t(), depths[None]], 0)  # D+1 G
    out, T_final, n_pairs = _Composite.apply(attrs, features, order, radii, height, width, max_pairs)
    return out[:D], out[D], T_final, int(n_pairs)
