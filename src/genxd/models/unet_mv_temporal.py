"""``UNetMVTemporalConditionModel``: the GenXD UNet (Stable Video Diffusion with multiview-temporal modules).

Loads the released checkpoint's ``unet/`` folder with strict key matching (the class name and the
config keys are the released ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import Tensor, nn

from .blocks import DOWN_BLOCKS, MODE_3D, UP_BLOCKS, UNetMidBlockMVCascadeTemporal

#: Input channels of the released model: 4 noisy latents + 4 condition latents + 6 Plücker + 1 mask.
CONDITIONED_IN_CHANNELS = 15


@dataclass
class UNetMVTemporalOutput(BaseOutput):
    """``sample``: ``[B, F, out_channels, h, w]`` (v-prediction for the released model)."""

    sample: Tensor


def _per_block(value, n: int, name: str) -> list:
    if isinstance(value, int):
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"{name} must be an int or have one entry per block ({n}), got {value}")
    return value


# ignored below: diffusers types ModelMixin.config_name and ConfigMixin.config_name differently
class UNetMVTemporalConditionModel(ModelMixin, ConfigMixin):  # type: ignore[misc]
    r"""The GenXD denoiser.

    Inputs of :meth:`forward`:

    - ``sample`` ``[B, F, in_channels, h, w]``: for the released model the 15 channels are
      ``[noisy latents (4), masked condition latents (4), Plücker rays (6), context mask (1)]``;
    - ``timestep``: scalar or ``[B]`` (the scheduler's continuous timestep, ``0.25 * log(sigma)``);
    - ``added_time_ids`` ``[B, n]`` or ``[B, F, n]`` with ``n * addition_time_embed_dim ==
      projection_class_embeddings_input_dim`` (GenXD: per-frame ``[fps-like id, cond. aug.]``);
    - ``indicator`` ``[B]`` long in {0: 3D multi-view, 1: video, 2: 4D}, or one Python int for the whole
      batch (then the model knows the mode on the host; see ``skip_zero_weight_paths``);
    - ``motion_ids`` ``[B]`` (motion strength, embedded like a timestep) when ``motion_condition``.

    Constructor arguments are the released ``unet/config.json`` keys. Keys the released model
    carries but does not use (``camera_embedding_dim`` <= 0 or None, ``uncertainty_condition``,
    ``camera_add_time``, ``scale_add_time``, ``ray_condition``) are accepted and recorded. ``num_frames`` is
    recorded only (the clip length it was built for; :meth:`forward` takes the frames of ``sample``, as in
    diffusers' ``UNetSpatioTemporalConditionModel``): None leaves generate's window to ``generation_config.json``.
    """

    _supports_gradient_checkpointing = True
    #: units that must not be split: FSDP's TRANSFORMER_BASED_WRAP policy shards per unit (accelerate reads
    #: this list when no class is named), as does a diffusers ``device_map`` (diffusers types it as None only)
    _no_split_modules = ["MVCascadeTemporalResBlock", "TransformerMVCascadeTemporalModel"]  # type: ignore[assignment]
    #: skip paths whose blend weight is exactly zero: with a batch that is all 3D (``indicator`` passed
    #: as the Python int 0, known on the host), the temporal path's weight is ``1 - 1 = 0`` and it is not
    #: computed (same output; about a third fewer FLOPs). Off by default, so that the float32 eager path
    #: does the authors' work; the fast path (:func:`genxd.pipelines.fast.enable_fast_path`) turns it on.
    skip_zero_weight_paths: bool = False

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = CONDITIONED_IN_CHANNELS,
        out_channels: int = 4,
        down_block_types: Sequence[str] = (
            "CrossAttnDownBlockMVCascadeTemporal",
            "CrossAttnDownBlockMVCascadeTemporal",
            "CrossAttnDownBlockMVCascadeTemporal",
            "DownBlockMVCascadeTemporal",
        ),
        up_block_types: Sequence[str] = (
            "UpBlockMVCascadeTemporal",
            "CrossAttnUpBlockMVCascadeTemporal",
            "CrossAttnUpBlockMVCascadeTemporal",
            "CrossAttnUpBlockMVCascadeTemporal",
        ),
        block_out_channels: Sequence[int] = (320, 640, 1280, 1280),
        addition_time_embed_dim: int = 256,
        projection_class_embeddings_input_dim: int = 512,
        layers_per_block: int | Sequence[int] = 2,
        cross_attention_dim: int | None = None,
        transformer_layers_per_block: int | Sequence[int] = 1,
        num_attention_heads: int | Sequence[int] = (5, 10, 20, 20),
        num_frames: int | None = 8,
        camera_embedding_dim: int | None = -1,
        uncertainty_condition: bool = False,
        camera_add_time: bool = False,
        ray_condition: bool = True,
        scale_add_time: bool = False,
        motion_condition: bool = True,
    ) -> None:
        super().__init__()
        n = len(down_block_types)
        if len(up_block_types) != n or len(block_out_channels) != n:
            raise ValueError(
                f"down_block_types, up_block_types and block_out_channels must have the same length, got "
                f"{len(down_block_types)}, {len(up_block_types)}, {len(block_out_channels)}"
            )
        if cross_attention_dim is not None:
            raise ValueError("cross_attention_dim must be None: GenXD's UNet has no cross-attention")
        if camera_embedding_dim is not None and camera_embedding_dim > 0:
            raise ValueError("camera_embedding_dim > 0 (a CLIP/camera projection) is not part of the released model")
        for t in down_block_types:
            if t not in DOWN_BLOCKS:
                raise ValueError(f"unknown down block type {t!r}; expected one of {sorted(DOWN_BLOCKS)}")
        for t in up_block_types:
            if t not in UP_BLOCKS:
                raise ValueError(f"unknown up block type {t!r}; expected one of {sorted(UP_BLOCKS)}")
        if projection_class_embeddings_input_dim % addition_time_embed_dim != 0:
            raise ValueError("projection_class_embeddings_input_dim must be a multiple of addition_time_embed_dim")
        for c in block_out_channels:
            if c % 32 != 0:
                raise ValueError(f"block_out_channels must be multiples of 32 (GroupNorm), got {list(block_out_channels)}")

        heads = _per_block(num_attention_heads, n, "num_attention_heads")
        layers = _per_block(layers_per_block, n, "layers_per_block")
        t_layers = _per_block(transformer_layers_per_block, n, "transformer_layers_per_block")

        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        time_embed_dim = block_out_channels[0] * 4
        self.time_proj = Timesteps(block_out_channels[0], True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(block_out_channels[0], time_embed_dim)
        self.add_time_proj = Timesteps(addition_time_embed_dim, True, downscale_freq_shift=0)
        self.add_embedding = TimestepEmbedding(projection_class_embeddings_input_dim, time_embed_dim)
        self.motion_embedding = TimestepEmbedding(block_out_channels[0], time_embed_dim) if motion_condition else None

        self.down_blocks = nn.ModuleList()
        out_ch = block_out_channels[0]
        for i, block_type in enumerate(down_block_types):
            in_ch, out_ch = out_ch, block_out_channels[i]
            self.down_blocks.append(
                DOWN_BLOCKS[block_type](
                    in_channels=in_ch,
                    out_channels=out_ch,
                    temb_channels=time_embed_dim,
                    num_layers=layers[i],
                    transformer_layers_per_block=t_layers[i],
                    num_attention_heads=heads[i],
                    add_downsample=i < n - 1,
                )
            )

        self.mid_block = UNetMidBlockMVCascadeTemporal(
            block_out_channels[-1], time_embed_dim, transformer_layers_per_block=t_layers[-1], num_attention_heads=heads[-1]
        )

        self.up_blocks = nn.ModuleList()
        rev_ch = list(reversed(block_out_channels))
        rev_heads, rev_layers, rev_t_layers = heads[::-1], layers[::-1], t_layers[::-1]
        out_ch = rev_ch[0]
        for i, block_type in enumerate(up_block_types):
            prev_out, out_ch = out_ch, rev_ch[i]
            in_ch = rev_ch[min(i + 1, n - 1)]
            self.up_blocks.append(
                UP_BLOCKS[block_type](
                    in_channels=in_ch,
                    prev_output_channel=prev_out,
                    out_channels=out_ch,
                    temb_channels=time_embed_dim,
                    num_layers=rev_layers[i] + 1,
                    transformer_layers_per_block=rev_t_layers[i],
                    num_attention_heads=rev_heads[i],
                    add_upsample=i < n - 1,
                )
            )

        self.conv_norm_out = nn.GroupNorm(num_channels=block_out_channels[0], num_groups=32, eps=1e-5)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(block_out_channels[0], out_channels, kernel_size=3, padding=1)

    # ------------------------------------------------------------------ checks
    @staticmethod
    def normalize_conditions(sample: Tensor, indicator: Any, motion_ids: Any) -> tuple[Tensor, Tensor | None]:
        """``indicator`` as a long ``[B]`` tensor on ``sample``'s device (one value is broadcast over the
        batch) and ``motion_ids`` as a tensor (or None), as :meth:`forward` uses them."""
        if isinstance(indicator, int) and not isinstance(indicator, bool):  # made on the device: graph-capturable
            indicator = torch.full((sample.shape[0],), indicator, dtype=torch.long, device=sample.device)
        if not torch.is_tensor(indicator):
            indicator = torch.as_tensor(indicator)
        indicator = indicator.to(sample.device).long().reshape(-1)
        if indicator.numel() == 1 and sample.shape[0] > 1:
            indicator = indicator.expand(sample.shape[0])
        if motion_ids is not None and not torch.is_tensor(motion_ids):
            motion_ids = torch.as_tensor(motion_ids, dtype=torch.float32)
        return indicator, motion_ids

    def _check_inputs(self, sample: Tensor, added_time_ids: Tensor, indicator: Tensor, motion_ids: Tensor | None) -> None:
        cfg: Any = self.config  # diffusers' FrozenDict, typed as a dict: its keys are read as attributes
        if sample.ndim != 5:
            raise ValueError(f"sample must be [batch, frames, channels, height, width], got shape {tuple(sample.shape)}")
        b, f, c, h, w = sample.shape
        if c != cfg.in_channels:
            raise ValueError(f"sample has {c} channels, the model expects in_channels={cfg.in_channels}")
        down = 2 ** (len(cfg.block_out_channels) - 1)
        if h % down or w % down:
            raise ValueError(f"latent height and width must be multiples of {down}, got {h}x{w}")
        if indicator.ndim != 1 or indicator.shape[0] != b:
            raise ValueError(f"indicator must have shape [batch]=[{b}], got {tuple(indicator.shape)}")
        bad = ~((indicator == 0) | (indicator == 1) | (indicator == 2))
        if bool(bad.any()):
            raise ValueError(f"indicator values must be in {{0: 3D, 1: video, 2: 4D}}, got {indicator.tolist()}")
        n_ids = cfg.projection_class_embeddings_input_dim // cfg.addition_time_embed_dim
        if added_time_ids.ndim == 2:
            ok = added_time_ids.shape == (b, n_ids)
        elif added_time_ids.ndim == 3:
            ok = added_time_ids.shape == (b, f, n_ids)
        else:
            ok = False
        if not ok:
            raise ValueError(
                f"added_time_ids must be [batch, {n_ids}] or [batch, frames, {n_ids}] = [{b}, {f}, {n_ids}], "
                f"got {tuple(added_time_ids.shape)}"
            )
        if motion_ids is not None:
            if self.motion_embedding is None:
                raise ValueError("motion_ids given but the model was built with motion_condition=False")
            if motion_ids.numel() != b:
                raise ValueError(f"motion_ids must have one value per sample ({b}), got shape {tuple(motion_ids.shape)}")

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        sample: Tensor,
        timestep: Tensor | float | int,
        added_time_ids: Tensor,
        indicator: Tensor | int,
        motion_ids: Tensor | None = None,
        encoder_hidden_states: Tensor | None = None,
        return_dict: bool = True,
    ) -> UNetMVTemporalOutput | tuple[Tensor]:
        """Denoise ``sample [B, F, C, h, w]``; returns ``[B, F, out_channels, h, w]``.

        ``encoder_hidden_states`` is accepted for call compatibility with the authors' pipeline and
        ignored: the released model has no cross-attention.
        """
        skip_temporal = bool(self.skip_zero_weight_paths and isinstance(indicator, int) and indicator == MODE_3D)
        indicator, motion_ids = self.normalize_conditions(sample, indicator, motion_ids)
        if not torch.compiler.is_compiling():  # the checks synchronise with the GPU; traced graphs skip them
            self._check_inputs(sample, added_time_ids, indicator, motion_ids)
        batch, num_frames = sample.shape[:2]
        dtype = sample.dtype

        # 1. time, conditioning embeddings (per frame)
        timesteps = torch.as_tensor(timestep, device=sample.device)
        if timesteps.ndim == 0:
            timesteps = timesteps[None]
        timesteps = timesteps.expand(batch)
        emb = self.time_embedding(self.time_proj(timesteps).to(dtype))  # B T

        add_emb = self.add_time_proj(added_time_ids.flatten()).to(dtype)
        if added_time_ids.ndim == 3:
            add_emb = self.add_embedding(add_emb.reshape(batch * num_frames, -1))  # B*F T
        else:
            add_emb = self.add_embedding(add_emb.reshape(batch, -1)).repeat_interleave(num_frames, dim=0)
        emb = emb.repeat_interleave(num_frames, dim=0) + add_emb  # B*F T
        if motion_ids is not None:
            assert self.motion_embedding is not None  # _check_inputs refuses motion_ids without it
            motion = self.time_proj(motion_ids.to(sample.device).flatten()).to(dtype)
            motion = self.motion_embedding(motion).repeat_interleave(num_frames, dim=0)
            emb = torch.cat([emb, motion], dim=-1)  # B*F 2T: [time | motion]

        # 2. UNet
        h = self.conv_in(sample.flatten(0, 1))
        skips: tuple[Tensor, ...] = (h,)
        for block in self.down_blocks:
            h, res = block(h, emb, indicator, num_frames, skip_temporal)
            skips += res
        h = self.mid_block(h, emb, indicator, num_frames, skip_temporal)
        for block in self.up_blocks:
            n_res = len(block.resnets)  # type: ignore[arg-type]  # torch types a submodule as Tensor | Module
            res, skips = skips[-n_res:], skips[:-n_res]
            h = block(h, res, emb, indicator, num_frames, skip_temporal)
        h = self.conv_out(self.conv_act(self.conv_norm_out(h)))
        out = h.reshape(batch, num_frames, *h.shape[1:])
        if not return_dict:
            return (out,)
        return UNetMVTemporalOutput(sample=out)
