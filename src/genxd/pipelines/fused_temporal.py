"""Triton kernels for the multiview-temporal paths of the eager fast path (issue 26): attention over frames
without layout changes, and the three-path blend in one pass.

Why: diffusers' ``TemporalBasicTransformerBlock`` regroups its ``[B*F, S, C]`` tokens into ``[B*S, F, C]``
(a copy in, a copy out) so that attention sees the ``F`` frames of one position as a sequence, and the
attention processor copies the heads back together after ``scaled_dot_product_attention``; on sequences of
12 tokens the flash kernels are also poorly used. Every other op of the block is per token and does not care
about the order. The blend of :class:`~genxd.models.blocks.MVTemporalBlender`
(``g * (a * spatial + (1 - a) * multiview) + (1 - g) * temporal``) is six elementwise kernels in PyTorch.

- :func:`frame_attention` ``(q, k, v [B*F, S, H*D] views, F, H)`` -> ``[B*F, S, H*D]``: softmax attention over
  the ``F`` frames of each (sample, position, head), read and written in the frame-major token order; one
  program per (sample, position, head), the ``F x F`` scores in float32;
- :func:`blend` ``(spatial, multiview, temporal | None, factor, gamma | None)``: the blender's output in one
  pass (float32 arithmetic), ``gamma`` per sample (or per frame) along the outermost dimension.

:func:`install_fused_temporal` switches a UNet's temporal transformer blocks and blenders to them in place
(no parameter changes); inputs the kernels do not take fall back to PyTorch (the original code paths).
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.blocks import MODE_3D, MODE_4D, mode_weights
from .fused_norms import FLOATS as _FLOATS
from .fused_norms import channels_last_dense as _channels_last_dense
from .fused_norms import add_layer_norm, tl, triton

__all__ = ["frame_attention", "blend", "install_fused_temporal"]

_MAX_FRAMES = 64

if triton is not None:

    @triton.jit
    def _frame_attention_kernel(Q, K, V, O, S, F, sq0, sq1, sk0, sk1, sv0, sv1, so0, so1, scale,
                                D: tl.constexpr, BLOCK_F: tl.constexpr):
        """Program (b*S + s, h): attention over the F frames of position s of sample b, head h. Row f of the
        sequence is token (b*F + f, s): offset (b*F + f) * stride0 + s * stride1 + h * D."""
        pid = tl.program_id(0)
        h = tl.program_id(1)
        b = pid // S
        s = pid % S
        fs = tl.arange(0, BLOCK_F)
        ds = tl.arange(0, D)
        fmask = fs < F
        rows = (b * F + fs).to(tl.int64)
        col = h * D + ds[None, :]
        q = tl.load(Q + rows[:, None] * sq0 + s * sq1 + col, mask=fmask[:, None], other=0.0)
        k = tl.load(K + rows[:, None] * sk0 + s * sk1 + col, mask=fmask[:, None], other=0.0)
        v = tl.load(V + rows[:, None] * sv0 + s * sv1 + col, mask=fmask[:, None], other=0.0)
        scores = tl.dot(q, tl.trans(k)) * scale  # [BLOCK_F, BLOCK_F], float32
        scores = tl.where(fmask[None, :], scores, float("-inf"))
        p = tl.exp(scores - tl.max(scores, axis=1)[:, None])
        p = p / tl.sum(p, axis=1)[:, None]
        o = tl.dot(p.to(v.dtype), v)  # [BLOCK_F, D], float32
        tl.store(O + rows[:, None] * so0 + s * so1 + col, o.to(O.dtype.element_ty), mask=fmask[:, None])

    @triton.jit
    def _blend_kernel(XS, XM, XT, A, G, IND, OUT, numel, per_sample, HAS_T: tl.constexpr, MODE_3D: tl.constexpr,
                      MODE_4D: tl.constexpr, BLOCK: tl.constexpr):
        """out = g * (a * xs + (1 - a) * xm) + (1 - g) * xt with a = sigmoid(A[0]) and, for the sample of the
        element (offset // per_sample), g = 1 (3D), sigmoid(G[0]) (4D) or 0 (video) (:func:`mode_weights`)."""
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < numel
        a = tl.sigmoid(tl.load(A).to(tl.float32))
        xs = tl.load(XS + offs, mask=mask, other=0.0).to(tl.float32)
        xm = tl.load(XM + offs, mask=mask, other=0.0).to(tl.float32)
        y = a * xs + (1.0 - a) * xm
        if HAS_T:
            mode = tl.load(IND + offs // per_sample, mask=mask, other=0)
            learned = tl.sigmoid(tl.load(G).to(tl.float32))
            g = tl.where(mode == MODE_3D, 1.0, tl.where(mode == MODE_4D, learned, 0.0))
            xt = tl.load(XT + offs, mask=mask, other=0.0).to(tl.float32)
            y = g * y + (1.0 - g) * xt
        tl.store(OUT + offs, y.to(OUT.dtype.element_ty), mask=mask)


def _kernel_ok(*xs: Tensor) -> bool:
    return triton is not None and all(x.is_cuda and x.dtype in _FLOATS for x in xs)


def frame_attention(q: Tensor, k: Tensor, v: Tensor, num_frames: int, heads: int) -> Tensor:
    """Attention over frames: ``q, k, v [B*F, S, H*D]`` (frame-major tokens, last dimension dense; views of a
    fused q/k/v projection are fine) -> ``[B*F, S, H*D]``, where the sequence of (sample b, position s, head
    h) is the ``F`` tokens ``(b*F + f, s)``. Scale ``D ** -0.5``, no mask."""
    bf, S, inner = q.shape
    d = inner // heads
    pow2 = d >= 16 and (d & (d - 1)) == 0
    if not (_kernel_ok(q, k, v) and q.dtype != torch.float32 and pow2 and num_frames <= _MAX_FRAMES
            and all(t.stride(-1) == 1 and t.shape == q.shape for t in (k, v))):
        B = bf // num_frames

        def heads_first(t: Tensor) -> Tensor:  # [B*F, S, H*D] -> [B*S, H, F, D]
            return t.reshape(B, num_frames, S, heads, d).permute(0, 2, 3, 1, 4).reshape(B * S, heads, num_frames, d)

        o = F.scaled_dot_product_attention(heads_first(q), heads_first(k), heads_first(v))
        return o.reshape(B, S, heads, num_frames, d).permute(0, 3, 1, 2, 4).reshape(bf, S, inner)
    out = torch.empty(bf, S, inner, dtype=q.dtype, device=q.device)
    B = bf // num_frames
    block_f = max(16, triton.next_power_of_2(num_frames))
    _frame_attention_kernel[(B * S, heads)](q, k, v, out, S, num_frames, q.stride(0), q.stride(1), k.stride(0),
                                            k.stride(1), v.stride(0), v.stride(1), out.stride(0), out.stride(1),
                                            float(d) ** -0.5, D=d, BLOCK_F=block_f)
    return out


def blend(spatial: Tensor, multiview: Tensor, temporal: Tensor | None, factor: Tensor,
          gamma: Tensor | None = None, indicator: Tensor | None = None) -> Tensor:
    """``a * spatial + (1 - a) * multiview`` with ``a = sigmoid(factor)`` (``factor`` a 1-element parameter),
    and with ``temporal``: ``g * that + (1 - g) * temporal`` where, for each sample (the inputs' first
    dimension is ``B`` or ``B*F``, sample-major), ``g`` is 1, 0 or ``sigmoid(gamma)`` as its mode in
    ``indicator [B]`` is 3D, video or 4D (:class:`~genxd.models.blocks.MVTemporalBlender`). Inputs of one
    shape and memory layout. Falls back to PyTorch's operators (the blender's own arithmetic) where the
    kernel does not apply."""
    if temporal is not None and (gamma is None or indicator is None):  # the weights come from them
        raise ValueError("blend: a temporal input needs gamma and indicator (the blender's weight of each mode)")
    parts = [spatial, multiview] + ([temporal] if temporal is not None else [])
    same = all(t.shape == spatial.shape and t.stride() == spatial.stride() for t in parts)
    dense = spatial.is_contiguous() or _channels_last_dense(spatial)
    outer = spatial.dim() > 0 and spatial.stride(0) * spatial.shape[0] == spatial.numel()
    modes_ok = temporal is None or (gamma is not None and gamma.numel() == 1 and indicator is not None
                                    and indicator.is_cuda and spatial.shape[0] % max(indicator.numel(), 1) == 0)
    if not (_kernel_ok(*parts) and same and dense and outer and factor.numel() == 1 and modes_ok):
        a = torch.sigmoid(factor.to(spatial.dtype))
        mixed = a * spatial + (1.0 - a) * multiview
        if temporal is None or indicator is None or gamma is None:  # (both given with temporal: checked above)
            return mixed
        g = mode_weights(indicator, gamma, spatial.dtype)
        g = g.repeat_interleave(spatial.shape[0] // g.shape[0]).reshape(-1, *([1] * (spatial.dim() - 1)))
        return g * mixed + (1.0 - g) * temporal
    out = torch.empty_like(spatial)
    numel = spatial.numel()
    block = 2048
    has_t = temporal is not None
    _blend_kernel[(triton.cdiv(numel, block),)](spatial, multiview, temporal if has_t else spatial, factor,
                                                gamma if has_t else factor, indicator if has_t else factor, out,
                                                numel, numel // indicator.numel() if has_t and indicator is not None
                                                else numel,
                                                HAS_T=has_t, MODE_3D=MODE_3D, MODE_4D=MODE_4D, BLOCK=block)
    return out


def _temporal_block_forward(self, hidden_states: Tensor, num_frames: int,
                            encoder_hidden_states: Tensor | None = None, frame_emb: Tensor | None = None) -> Tensor:
    """diffusers ``TemporalBasicTransformerBlock.forward`` (no cross-attention) on the frame-major tokens
    ``[B*F, S, C]`` as they come: the per-token ops in place of order, attention by :func:`frame_attention`,
    the residual adds before ``norm1`` and ``norm3`` fused into them; with ``frame_emb [B*F, 1, C]``, of
    ``hidden_states + frame_emb``, the add fused into ``norm_in``."""
    if frame_emb is not None:
        hidden_states, n_in = add_layer_norm(hidden_states, frame_emb, self.norm_in)
        h = self.ff_in(n_in)
    else:
        h = self.ff_in(self.norm_in(hidden_states))
    h, x = add_layer_norm(h, hidden_states, self.norm1) if self.is_res else (h, self.norm1(h))
    attn = self.attn1
    if getattr(attn, "fused_projections", False):
        q, k, v = attn.to_qkv(x).chunk(3, dim=-1)
    else:
        q, k, v = attn.to_q(x), attn.to_k(x), attn.to_v(x)
    o = frame_attention(q, k, v, num_frames, attn.heads)
    h, n3 = add_layer_norm(attn.to_out[1](attn.to_out[0](o)), h, self.norm3)
    ff = self.ff(n3)
    return ff + h if self.is_res else ff


def _run_temporal_block(self, block: nn.Module, hidden_states: Tensor, frame_emb: Tensor, num_frames: int) -> Tensor:
    """:meth:`~genxd.models.blocks.TransformerMVCascadeTemporalModel.run_temporal_block` with the frame embedding
    handed to a switched block (added inside its first LayerNorm; through the block's ``__call__``, so its hooks
    run), the plain add for any other block."""
    if getattr(getattr(block, "forward", None), "__func__", None) is _temporal_block_forward:
        return block(hidden_states, num_frames=num_frames, frame_emb=frame_emb)
    return type(self).run_temporal_block(self, block, hidden_states, frame_emb, num_frames)


def _blender_multiview_mix(self, x_spatial: Tensor, x_multiview: Tensor) -> Tensor:
    return blend(x_spatial, x_multiview, None, self.spatial_mv_factor)


def _blender_blend_by_mode(self, x_spatial: Tensor, x_multiview: Tensor, x_temporal: Tensor,
                           indicator: Tensor) -> Tensor:
    return blend(x_spatial, x_multiview, x_temporal, self.spatial_mv_factor, self.gamma, indicator)


def _cached_frame_sinusoids(self, num_frames: int, batch: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The transformer's frame-index sinusoids (no weights: a constant per frames, batch, dtype and device) made
    once and kept, which saves about ten small kernels per transformer and call; the learned embedding on top
    runs every call, so weights changed in place are always read. Entries are never dropped (a captured CUDA
    graph may read them); at most 64 are kept, later keys are computed every call."""
    key = (num_frames, batch, dtype, torch.device(device))
    cache = self.__dict__.setdefault("_genxd_frame_sinusoids", {})
    sinusoids = cache.get(key)
    if sinusoids is None:
        sinusoids = type(self).frame_sinusoids(self, num_frames, batch, dtype, device)
        capturing = torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
        if len(cache) < 64 and not capturing:
            cache[key] = sinusoids
    return sinusoids


class SelfAttentionProcessor:
    """diffusers' ``AttnProcessor2_0`` / ``FusedAttnProcessor2_0`` for a plain self-attention on ``[B, N, C]``
    (no norms, mask, residual; rescale factor 1): the same operators without the division of the output by
    the rescale factor, which is a full pass over the activations in PyTorch even when the factor is 1."""

    def __init__(self) -> None:
        from diffusers.models.attention_processor import AttnProcessor2_0, FusedAttnProcessor2_0

        self._general = (AttnProcessor2_0(), FusedAttnProcessor2_0())

    def __call__(self, attn, hidden_states: Tensor, encoder_hidden_states: Tensor | None = None,
                 attention_mask: Tensor | None = None, temb: Tensor | None = None, *args, **kwargs) -> Tensor:
        fused = getattr(attn, "fused_projections", False)
        if encoder_hidden_states is not None or attention_mask is not None or hidden_states.dim() != 3:
            return self._general[int(fused)](attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                                             *args, **kwargs)
        b, n, _ = hidden_states.shape
        if fused:
            q, k, v = attn.to_qkv(hidden_states).chunk(3, dim=-1)
        else:
            q, k, v = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        d = q.shape[-1] // attn.heads
        q, k, v = (t.view(b, n, attn.heads, d).transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, attn.heads * d)
        return attn.to_out[1](attn.to_out[0](o.to(q.dtype)))


def _plain_attention(attn: nn.Module) -> bool:
    """The temporal block's self-attention is the plain one :func:`frame_attention` computes."""
    return (attn.spatial_norm is None and attn.group_norm is None and attn.norm_q is None and attn.norm_k is None
            and not attn.residual_connection and attn.rescale_output_factor == 1.0 and not attn.is_cross_attention
            and abs(attn.scale - (attn.inner_dim // attn.heads) ** -0.5) < 1e-12)


def install_fused_temporal(unet: nn.Module) -> dict[str, int]:
    """Switch ``unet``'s temporal transformer blocks (diffusers' ``TemporalBasicTransformerBlock`` without
    cross-attention, exactly that class) to :func:`frame_attention`, its blenders to :func:`blend`, the
    other plain self-attentions to :class:`SelfAttentionProcessor` and the transformers' frame-index sinusoids
    to a cache, in place. Idempotent. Returns the counts switched."""
    from diffusers.models.attention import TemporalBasicTransformerBlock
    from diffusers.models.attention_processor import Attention

    from ..models.blocks import MVTemporalBlender, TransformerMVCascadeTemporalModel

    counts = {"temporal_blocks": 0, "blenders": 0, "attentions": 0, "frame_sinusoids": 0}
    for m in unet.modules():
        if getattr(m, "_genxd_fused", False):
            continue
        if type(m) is TemporalBasicTransformerBlock and m.attn2 is None and _plain_attention(m.attn1):
            m.forward = types.MethodType(_temporal_block_forward, m)
            m.attn1._genxd_fused = True  # its processor is not used any more
            counts["temporal_blocks"] += 1
        elif type(m) is MVTemporalBlender:
            # the fused kernels replace these methods on this instance only (the class stays the authors' maths)
            m.blend_by_mode = types.MethodType(_blender_blend_by_mode, m)  # type: ignore[method-assign]
            m.multiview_mix = types.MethodType(_blender_multiview_mix, m)  # type: ignore[method-assign]
            counts["blenders"] += 1
        elif isinstance(m, Attention) and _plain_attention(m):
            # diffusers' AttnProcessor annotation lists its own processor classes only
            m.set_processor(SelfAttentionProcessor())  # type: ignore[arg-type]
            counts["attentions"] += 1
        elif type(m) is TransformerMVCascadeTemporalModel:
            m.frame_sinusoids = types.MethodType(_cached_frame_sinusoids, m)  # type: ignore[method-assign]  # this instance only
            m.run_temporal_block = types.MethodType(_run_temporal_block, m)  # type: ignore[method-assign]
            counts["frame_sinusoids"] += 1
        else:
            continue
        m._genxd_fused = True  # type: ignore[assignment]  # torch's Module.__setattr__ stub: tensors and modules only
    return counts
