"""``GenXDPipeline``: GenXD sampling (masked latent conditions, camera rays, motion strength, CFG).

Reproduces the authors' released sampling numerically (float32) and extends it: batches of several
samples, guidance scale 1 (one UNet pass a step), any number of frames and context views at any
frame positions, half precision with the VAE upcast where needed, chunked VAE decoding.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import PIL.Image
import torch
# from their modules, not diffusers' lazy top level: type checkers read that as its placeholder classes (the same
# classes at run time)
from diffusers.models.autoencoders.autoencoder_kl_temporal_decoder import AutoencoderKLTemporalDecoder
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from torch import Tensor

from ..cameras import check_rigid
from ..models import UNetMVTemporalConditionModel
from ..checkpoint_folders import resolve_checkpoint
from ..validation import Float, Int
from .call_arguments import (callback_latents, check_callback, check_generator, context_indices, float_tensor,
                             motion_guidance, motion_strengths, warn_pixel_intrinsics)
from .conditioning import GenXDConditions, build_conditions, mode_to_indicator
from .context_images import ContextImages, to_image_tensor
from .decoding import decode_in_windows, decoded_runs
from .memory import default_overlap, resolve_decode_chunk
from .schedulers import check_scheduler, make_scheduler, model_timestep, scheduler_name
from .tf32 import tf32_enabled, with_pipeline_tf32


@dataclass
class GenXDPipelineOutput(BaseOutput):
    """Result of :class:`GenXDPipeline`.

    - ``frames``: ``[B, F, 3, H, W]`` float in [0, 1] (``output_type="pt"``), ``[B, F, H, W, 3]``
      numpy (``"np"``), a list of lists of PIL images (``"pil"``) or the latents ``[B, F, 4, h, w]``
      (``"latent"``);
    - ``c2w`` ``[B, F, 4, 4]`` and ``K`` ``[B, F, 3, 3]``: the cameras used (project convention);
    - ``context_index`` ``[B, V]``; ``latents``: final latents ``[B, F, 4, h, w]``.
    """

    frames: Any
    latents: Tensor
    c2w: Tensor
    K: Tensor
    context_index: Tensor


class GenXDPipeline(DiffusionPipeline):
    r"""GenXD image(s)-to-3D/4D sampling.

    Components (a checkpoint folder laid out as the released one): ``unet``
    (:class:`~genxd.models.UNetMVTemporalConditionModel`), ``vae``
    (``AutoencoderKLTemporalDecoder``), ``scheduler`` (``EulerDiscreteScheduler``, v-prediction).
    """

    # diffusers declares it without a type, as None
    model_cpu_offload_seq = "vae->unet->vae"  # type: ignore[assignment]
    _callback_tensor_inputs = ["latents"]
    #: the components (set by register_modules): a UNetMVTemporalConditionModel, an AutoencoderKLTemporalDecoder
    #: and the checkpoint's Euler scheduler or another sampler (:meth:`set_scheduler`); Any, as diffusers' own types
    #: read ``config.x`` (a dict's attribute) and ``dtype`` (a decorated property) as errors
    unet: Any
    vae: Any
    scheduler: Any

    def __init__(
        self, unet: UNetMVTemporalConditionModel, vae: AutoencoderKLTemporalDecoder, scheduler: EulerDiscreteScheduler
    ) -> None:
        super().__init__()
        self.register_modules(unet=unet, vae=vae, scheduler=scheduler)
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self._base_scheduler_config = dict(scheduler.config)  # the checkpoint's: other samplers derive from it
        # memory settings (genxd.pipelines.memory.configure_memory sets them together)
        # frames per VAE decoding window: "auto" by image size (the whole clip up to 2 x 512 x 512 pixels in all,
        # so at the bundled model's 64x64 as the authors), a number, or None (always the whole clip)
        self.decode_chunk_size: int | str | None = "auto"
        self.decode_overlap: int | None = None  # frames shared by consecutive windows (None: half a window)
        self.sequential_guidance: bool = False  # guidance branches as two UNet calls (less activation memory)
        self.offload = None  # genxd.pipelines.offload.ModelOffload, or None
        # TF32 matmuls / convolutions during sampling, encoding and decoding (the fast path in bf16 / fp16 sets it);
        # the process's flags are put back after each call (genxd.pipelines.tf32)
        self.tf32: bool = False

    @property
    def _execution_device(self) -> torch.device:
        if self.offload is not None and self.offload.mode != "none":
            return self.offload.device
        return super()._execution_device

    def _use(self, name: str) -> None:
        """Announce a phase (``"vae"``: encoding / decoding, ``"unet"``: denoising) to the model offload."""
        if self.offload is not None:
            self.offload.use(name)

    def set_scheduler(self, name: str) -> None:
        """Sample with scheduler ``name`` (:data:`genxd.pipelines.schedulers.SCHEDULERS`: ``euler`` (the
        checkpoint's own, default), ``dpmpp-2m``, ``dpmpp-3m``, ``dpmpp-2m-sde``, ``unipc``, ``heun``), built
        from the checkpoint's scheduler config."""
        if name != scheduler_name(self.scheduler):
            self.scheduler = make_scheduler(name, self._base_scheduler_config)

    def save_pretrained(self, save_directory: str | Path, *, overwrite: bool = False,  # type: ignore[override]
                        **kwargs: Any) -> None:
        """Save the pipeline as diffusers does (``unet/ vae/ scheduler/ model_index.json``; ``kwargs``: its options,
        ``safe_serialization``, ``variant``, ``max_shard_size`` ...), without writing over anything unasked: a new
        folder is written whole or not at all (made beside ``save_directory`` and renamed in); an existing one (not
        empty) is refused unless ``overwrite=True``, which writes into it as diffusers does (its components' files
        replaced, other files kept). diffusers wrote into any folder: saving over the folder the pipeline was loaded
        from replaced its weights without a word."""
        from ..utils.io import atomic_dir
        from ..validation import Flag, check, overwrite_hint

        check(overwrite, Flag(), "overwrite")
        path = Path(save_directory).expanduser()
        if not path.exists():
            with atomic_dir(path, replace=False) as tmp:
                super().save_pretrained(tmp, **kwargs)
                self._save_generation_config(tmp)
            return
        if not path.is_dir():
            raise NotADirectoryError(f"{path}: is a file, not a folder to save the pipeline in")
        if any(path.iterdir()) and not overwrite:
            raise FileExistsError(f"{path} exists and is not empty; "
                                  f"{overwrite_hint('pass', purpose='write the pipeline into it')} (its unet/, vae/, "
                                  "scheduler/ and model_index.json are replaced, other files kept)")
        super().save_pretrained(path, **kwargs)
        self._save_generation_config(path)

    def _save_generation_config(self, folder: Path) -> None:
        """Write the ``generation_config.json`` of the folder the pipeline was loaded from (its resolution, frames,
        steps ...) into ``folder``: diffusers' save left it out, so a saved bundled model loaded with the released
        model's defaults (256 px, 12 frames)."""
        from ..checkpoints import GENERATION_CONFIG
        from ..utils.io import atomic_file

        text = getattr(self, "generation_config_text", None)
        if text is not None:
            with atomic_file(folder / GENERATION_CONFIG) as tmp:
                tmp.write_text(text, encoding="utf-8")

    @classmethod
    def from_pretrained(  # type: ignore[override]  # its own loader: fewer, safer options than diffusers'
        cls,
        pretrained_model_name_or_path: str | Path,
        torch_dtype: torch.dtype | None = None,
        allow_pickle: bool = False,
        local_files_only: bool = True,
    ) -> "GenXDPipeline":
        """Load ``unet/``, ``vae/`` and ``scheduler/`` from a checkpoint folder laid out as the released
        one (no ``model_index.json`` needed), or a hub id already in the local Hugging Face cache.

        Weights load from safetensors; a component with only pickle weights (``diffusion_pytorch_model.bin``) is a
        FileNotFoundError unless ``allow_pickle=True`` (unpickling can run code: only for files you trust). The
        folder is checked first as :func:`genxd.load_model` checks it
        (:func:`genxd.checkpoints.check_model_folder`): weights the network its config describes lacks, has no
        place for or holds in another shape are one ValueError naming the file and the weight. Nothing is
        ever downloaded, whatever ``local_files_only`` says (taken for callers written for diffusers); other
        diffusers options (``variant``, ``revision``, ``device_map``, ...) are a TypeError, not ignored.
        """
        from ..checkpoints import check_model_folder

        root = resolve_checkpoint(pretrained_model_name_or_path)
        check_model_folder(root, allow_pickle)
        return cls.from_checked_folder(root, torch_dtype)

    @classmethod
    def from_checked_folder(cls, root: Path, torch_dtype: torch.dtype | None = None) -> "GenXDPipeline":
        """The pipeline of the model folder ``root``, once :func:`genxd.checkpoints.check_model_folder` has checked
        it (and allowed its weights' format: safetensors, else the pickle weights it allowed)."""
        from ..checkpoints import GENERATION_CONFIG, uses_safetensors

        unet = UNetMVTemporalConditionModel.from_pretrained(
            root, subfolder="unet", torch_dtype=torch_dtype, use_safetensors=uses_safetensors(root / "unet"))
        vae = AutoencoderKLTemporalDecoder.from_pretrained(
            root, subfolder="vae", torch_dtype=torch_dtype, use_safetensors=uses_safetensors(root / "vae"))
        scheduler = EulerDiscreteScheduler.from_pretrained(root, subfolder="scheduler")
        pipe = cls(unet=unet, vae=vae, scheduler=scheduler)
        generation = root / GENERATION_CONFIG  # the model's sampling defaults: saved with it (save_pretrained)
        pipe.generation_config_text = generation.read_text(encoding="utf-8") if generation.is_file() else None
        return pipe

    # ------------------------------------------------------------------ helpers
    @property
    def latent_multiple(self) -> int:
        """Image sizes must be multiples of this (VAE downsampling x UNet downsampling)."""
        return self.vae_scale_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    def _vae_needs_upcast(self) -> bool:
        return self.vae.dtype == torch.float16 and bool(getattr(self.vae.config, "force_upcast", False))

    @with_pipeline_tf32
    @torch.no_grad()
    def encode_images(self, images: Tensor) -> Tensor:
        """VAE latents (distribution mode, scaled) of images ``[B, V, 3, H, W]`` in [0, 1] -> float32."""
        b, v = images.shape[:2]
        upcast = self._vae_needs_upcast()
        if upcast:
            self.vae.to(torch.float32)
        x = (images.flatten(0, 1) * 2 - 1).to(device=self._execution_device, dtype=self.vae.dtype)
        lat = self.vae.encode(x).latent_dist.mode() * self.vae.config.scaling_factor
        if upcast:
            self.vae.to(torch.float16)
        return lat.reshape(b, v, *lat.shape[1:]).float()

    @with_pipeline_tf32
    @torch.no_grad()
    def decode_latents(self, latents: Tensor, decode_chunk_size: int | None = None,
                       decode_overlap: int | None = None) -> Tensor:
        """Frames ``[B, F, 3, H, W]`` in [0, 1] from scaled latents ``[B, F, 4, h, w]``.

        ``decode_chunk_size`` frames are decoded at a time (default: all frames of a sample, as the authors),
        in windows that share ``decode_overlap`` frames (default: half a window); each frame is kept from the
        window where it has the most neighbours (:mod:`genxd.pipelines.decoding`: the temporal decoder's context).
        """
        b = latents.shape[0]
        if decode_overlap is None:
            decode_overlap = default_overlap(decode_chunk_size)
        with self._vae_decoding() as dtype:
            z = (latents / self.vae.config.scaling_factor).to(dtype)
            out = torch.stack([decode_in_windows(self._vae_decode, z[s], decode_chunk_size, decode_overlap)
                               for s in range(b)])
        return (out / 2 + 0.5).clamp(0, 1)

    @torch.no_grad()
    def decoded_runs(self, latents: Tensor, decode_chunk_size: int,
                     decode_overlap: int | None = None) -> Iterator[Tensor]:
        """One scene's frames ``[n, 3, H, W]`` (in [0, 1], on the CPU), a window at a time and in order, from its
        latents ``[F, 4, h, w]`` (on any device: moved a window at a time): the frames of
        ``decode_latents(latents[None], decode_chunk_size, decode_overlap)[0]``, bit for bit (the same windows, each
        frame kept from the same one: :func:`~genxd.pipelines.decoding.decoded_runs`), without holding them all.
        The VAE is upcast (fp16 with ``force_upcast``) and TF32 (``tf32``) on while a window is decoded only: no
        state is held between the runs, so a stream left unfinished (its consumer raised) does not change the VAE
        under another one (the web app's jobs share one pipeline)."""
        if decode_overlap is None:
            decode_overlap = default_overlap(decode_chunk_size)

        def decode(part: Tensor, n: int) -> Tensor:
            with self._vae_decoding() as dtype, tf32_enabled(getattr(self, "tf32", False)):
                z = (part.to(self._execution_device) / self.vae.config.scaling_factor).to(dtype)
                return self._vae_decode(z, n)

        for run in decoded_runs(decode, latents, decode_chunk_size, decode_overlap):
            yield (run / 2 + 0.5).clamp(0, 1).cpu()

    @contextlib.contextmanager
    def _vae_decoding(self) -> Iterator[torch.dtype]:
        """The VAE in float32 within the block where it needs the upcast (fp16 with ``force_upcast``); yields the
        dtype its decoder takes (it may run in another one: the fast path)."""
        upcast = self._vae_needs_upcast()
        if upcast:
            self.vae.to(torch.float32)
        try:
            yield next(self.vae.decoder.parameters()).dtype
        finally:
            if upcast:
                self.vae.to(torch.float16)

    def _vae_decode(self, z: Tensor, num_frames: int) -> Tensor:
        """Frames ``[n, 3, H, W]`` in [-1, 1] (float32) from unscaled latents ``z [n, 4, h, w]`` (decoder's dtype)."""
        return self.vae.decode(z, num_frames=num_frames).sample.float()

    def _check_inputs(self, images: Tensor, target_c2w: Tensor, target_K: Tensor, context_index: Tensor,
                      context_c2w: Tensor | None, height: int, width: int) -> None:
        b, v, _, h, w = images.shape
        if not torch.isfinite(images).all():
            raise ValueError("context_images contain NaN or infinite values")
        if images.min() < -1e-3 or images.max() > 1 + 1e-3:
            raise ValueError(
                f"context_images must be in [0, 1], got values in [{images.min().item():.3g}, {images.max().item():.3g}]"
            )
        if (h, w) != (height, width):
            raise ValueError(f"context_images are {h}x{w} but height x width is {height}x{width}")
        m = self.latent_multiple
        if height % m or width % m:
            raise ValueError(f"height and width must be multiples of {m}, got {height}x{width}")
        if target_c2w.ndim != 4 or target_c2w.shape[0] != b:
            raise ValueError(f"target_c2w must be [B={b}, F, 4, 4], got {tuple(target_c2w.shape)}")
        check_rigid(target_c2w, "target_c2w")
        f = target_c2w.shape[1]
        if target_K.shape != (b, f, 3, 3):
            raise ValueError(f"target_K must be [B, F, 3, 3] = [{b}, {f}, 3, 3], got {tuple(target_K.shape)}")
        if not torch.isfinite(target_K).all():
            raise ValueError("target_K contains NaN or infinite values")
        if (target_K[..., 0, 0] <= 0).any() or (target_K[..., 1, 1] <= 0).any():
            raise ValueError("target_K focal lengths must be positive (normalised intrinsics: fx/W, fy/H)")
        warn_pixel_intrinsics(target_K)
        if context_index.shape != (b, v):
            raise ValueError(f"context_index must be [B, V] = [{b}, {v}], got {tuple(context_index.shape)}")
        if (context_index < 0).any() or (context_index >= f).any():
            raise ValueError(f"context_index values must be frame indices in [0, {f}), got {context_index.tolist()}")
        for row in context_index.tolist():
            if len(set(row)) != len(row):
                raise ValueError(f"context_index has repeated frames: {row}")
        if v >= f + 1:
            raise ValueError(f"{v} context views but only {f} frames")
        if context_c2w is not None:
            if context_c2w.shape != (b, v, 4, 4):
                raise ValueError(f"context_c2w must be [B, V, 4, 4] = [{b}, {v}, 4, 4], got {tuple(context_c2w.shape)}")
            check_rigid(context_c2w, "context_c2w")

    # ------------------------------------------------------------------ sampling
    @with_pipeline_tf32
    @torch.no_grad()
    def __call__(
        self,
        context_images: ContextImages | None,
        target_c2w: Tensor | np.ndarray | Sequence,
        target_K: Tensor | np.ndarray | Sequence,
        context_index: Tensor | Sequence[int] | None = None,
        context_c2w: Tensor | np.ndarray | None = None,
        mode: str | int = "3d",
        motion_strength: float | Sequence[float] | Tensor = 0.0,
        num_inference_steps: int = 25,
        guidance_scale: float = 3.0,
        height: int | None = None,
        width: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: Tensor | None = None,
        output_type: str = "pt",
        decode_chunk_size: int | str | None = None,
        decode_overlap: int | None = None,
        callback_on_step_end: Callable[[Any, int, Tensor, dict], dict] | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        return_dict: bool = True,
        context_latents: Tensor | None = None,
        motion_guidance_scale: float = 0.0,
    ) -> GenXDPipelineOutput | tuple:
        r"""Generate the frames at ``target_c2w`` from context images.

        Args:
            context_images: ``[B, V, 3, H, W]`` in [0, 1] (or ``[V, 3, H, W]`` / ``[3, H, W]``; ``uint8``
                tensors are 0-255), numpy arrays channels last ``[(B, )(V, )H, W, 3]`` (``uint8`` or floats
                in [0, 1], as ``np.asarray(pil_image)`` gives), PIL image(s), or a list mixing them; a PIL image
                and a grey / RGBA / 16-bit array are read as ``genxd.generate`` reads them (EXIF orientation,
                transparency on white: :mod:`genxd.pipelines.context_images`); not paths (a TypeError).
            target_c2w: ``[B, F, 4, 4]`` (or ``[F, 4, 4]``) OpenCV camera-to-world of every frame (a tensor, numpy
                array or nested list, any float dtype; used in float32).
            target_K: ``[B, F, 3, 3]`` (or ``[F, 3, 3]``) normalised intrinsics (fx/W, fy/H, cx/W, cy/H; pixel
                intrinsics give a GenXDWarning: ``genxd.cameras.normalize_intrinsics`` converts).
            context_index: ``[B, V]`` (or ``[V]``) integer frame indices of the context views (default ``0..V-1``).
            context_c2w: ``[B, V, 4, 4]`` context cameras (default ``target_c2w`` at ``context_index``);
                rays are relative to the first context camera.
            mode: ``"3d"`` (multi-view, indicator 0), ``"video"`` (1) or ``"4d"`` (2).
            motion_strength: a finite number, or ``B`` of them (one per sample); embedded like a timestep
                (0 = static).
            height / width: the output size in pixels; default (and the only values accepted) the context
                images' ``H, W``, multiples of :attr:`latent_multiple` (a ValueError otherwise). Kept for the
                diffusers call signature: resize the context images to change the size.
            num_inference_steps / guidance_scale: sampler steps (``heun``: ``2n - 1`` UNet calls); CFG scale
                (1 = no guidance, one UNet pass a step). The sampler is ``self.scheduler``
                (:meth:`set_scheduler`).
            generator / latents: randomness (one ``torch.Generator``, or a list of one per sample: ``B`` of them;
                for a seed, ``torch.Generator().manual_seed(seed)``: a number is a TypeError);
                ``latents [B, F, 4, h, w]`` is the initial noise before scaling by the scheduler's initial sigma.
            output_type: ``"pt"``, ``"np"``, ``"pil"`` or ``"latent"``.
            decode_chunk_size / decode_overlap: frames decoded at a time (``"auto"``: by image size,
                :mod:`genxd.pipelines.memory`), and frames shared by consecutive windows (default: half a
                window); defaults ``self.decode_chunk_size`` (``"auto"``; None: the whole clip, as the
                authors) and ``self.decode_overlap``.
            callback_on_step_end: ``f(pipe, step, t, {"latents": ...}) -> dict`` (may replace latents).
            callback_on_step_end_tensor_inputs: the tensors passed to ``callback_on_step_end``; only
                ``"latents"`` (the default; any other name is a ValueError).
            return_dict: True (default): a :class:`GenXDPipelineOutput`; False: the tuple ``(frames,)``.
            context_latents: ``[B, V, 4, h, w]`` scaled VAE latents of the context views, used as they
                are instead of encoding ``context_images`` (which must then be None): e.g. frames
                generated by an earlier call (``output.latents``), without a decode / encode round trip
                (:mod:`genxd.pipelines.long_paths`). ``height`` / ``width`` default to ``h, w`` times
                the VAE's scale factor.
            motion_guidance_scale: ``w >= 0`` adds ``w * (cond - cond at motion strength 0)`` to the
                guided prediction (a third UNet branch, the conditions unchanged but the motion strength):
                pushes the frames away from a still scene. 0 (default) is the authors' sampling; only for
                ``"4d"`` / ``"video"`` with a model that embeds the motion strength.
        """
        # 1. check inputs
        if (context_images is None) == (context_latents is None):
            raise ValueError("give exactly one of context_images and context_latents")
        if context_latents is not None:
            context_latents = float_tensor(context_latents, "context_latents", "[B, V, 4, h, w]")
            if context_latents.ndim != 5 or context_latents.shape[2] != self.unet.config.out_channels:
                raise ValueError(f"context_latents must be [B, V, {self.unet.config.out_channels}, h, w], "
                                 f"got {tuple(context_latents.shape)}")
            if not torch.isfinite(context_latents).all():
                raise ValueError("context_latents contain NaN or infinite values")
            # a stand-in for the images' shape only (never encoded): [B, V, 3, H, W] with no memory
            lh, lw = context_latents.shape[-2:]
            images = torch.zeros(()).expand(*context_latents.shape[:2], 3, lh * self.vae_scale_factor,
                                            lw * self.vae_scale_factor)
        else:
            images = to_image_tensor(context_images)
        target_c2w = float_tensor(target_c2w, "target_c2w", "[B, F, 4, 4]")
        target_K = float_tensor(target_K, "target_K", "[B, F, 3, 3]")
        if target_c2w.ndim == 3:
            target_c2w = target_c2w[None].expand(images.shape[0], -1, -1, -1)
        if target_K.ndim == 3:
            target_K = target_K[None].expand(images.shape[0], -1, -1, -1)
        b, v = images.shape[:2]
        context_index = context_indices(context_index, b, v)
        # 0 was the default size without a word, "64" "context_images are 64x64 but height x width is 64x64"
        height = Int(1, optional=True).check(height, "height") or images.shape[-2]
        width = Int(1, optional=True).check(width, "width") or images.shape[-1]
        if context_c2w is not None:
            context_c2w = float_tensor(context_c2w, "context_c2w", "[B, V, 4, 4]")
        self._check_inputs(images, target_c2w, target_K, context_index, context_c2w, height, width)
        check_scheduler(self.scheduler)
        if output_type not in ("pt", "np", "pil", "latent"):
            raise ValueError(f"output_type must be 'pt', 'np', 'pil' or 'latent', got {output_type!r}")
        # NaN passed "< 1" and sampled without guidance; a string failed in a comparison
        guidance_scale = Float(1.0).check(guidance_scale, "guidance_scale")
        motion_guidance_scale = motion_guidance(motion_guidance_scale)
        if motion_guidance_scale > 0 and (self.unet.motion_embedding is None or mode_to_indicator(mode) == 0):
            raise ValueError("motion_guidance_scale needs mode '4d' or 'video' and a model with a motion embedding")
        num_inference_steps = Int(1).check(num_inference_steps, "num_inference_steps")
        check_generator(generator, b)
        callback_tensors = check_callback(callback_on_step_end, callback_on_step_end_tensor_inputs)
        num_frames = target_c2w.shape[1]
        device = self._execution_device
        indicator = torch.full((b,), mode_to_indicator(mode), dtype=torch.long, device=device)
        motion = motion_strengths(motion_strength, b)
        do_cfg = guidance_scale > 1.0

        # 2. encode conditions
        if context_latents is None:
            self._use("vae")
            context_latents = self.encode_images(images)
        else:
            context_latents = context_latents.to(device=device, dtype=torch.float32)
        reference = context_c2w[:, 0] if context_c2w is not None else None
        n_ids = self.unet.config.projection_class_embeddings_input_dim // self.unet.config.addition_time_embed_dim
        cond = build_conditions(
            context_latents,
            context_index.to(device),
            target_c2w.to(device),
            target_K.to(device),
            indicator,
            motion if self.unet.motion_embedding is not None else None,
            num_added_time_ids=n_ids,
            reference_c2w=None if reference is None else reference.to(device),
            use_rays=bool(self.unet.config.ray_condition),
        )
        # the branches of one step: [unconditional] (CFG), conditional, [motion strength 0] (motion guidance)
        branches = ([cond.unconditional()] if do_cfg else []) + [cond]
        if motion_guidance_scale > 0:
            assert cond.motion_ids is not None  # the UNet has a motion embedding (checked above)
            branches.append(dataclasses.replace(cond, motion_ids=torch.zeros_like(cond.motion_ids)))
        sequential = len(branches) > 1 and self.sequential_guidance  # one UNet call per branch
        if not sequential:  # one UNet call for all branches
            conditions = GenXDConditions.cat(branches) if len(branches) > 1 else cond

        # 3. timesteps, 4. initial latents
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        if hasattr(self.scheduler, "set_begin_index"):  # repeated timesteps (Heun, clamped ones) stay in order
            self.scheduler.set_begin_index(0)
        timesteps = self.scheduler.timesteps
        step_kwargs = {"generator": generator} if "generator" in inspect.signature(self.scheduler.step).parameters else {}
        h, w = height // self.vae_scale_factor, width // self.vae_scale_factor
        shape = (b, num_frames, self.unet.config.out_channels, h, w)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32)
        else:
            latents = float_tensor(latents, "latents", "[B, F, 4, h, w]")  # a numpy array too
            if tuple(latents.shape) != shape:
                raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}")
            if not torch.isfinite(latents).all():  # sampled to NaN frames without a word
                raise ValueError("latents contain NaN or infinite values")
            latents = latents.to(device=device, dtype=torch.float32)
        latents = latents * self.scheduler.init_noise_sigma

        # 5. denoising loop (latents kept in float32; the UNet runs in its own dtype)
        self._use("unet")
        unet_dtype = self.unet.dtype
        indicator_int = mode_to_indicator(mode)  # one mode per call, known on the host

        def unet(x: Tensor, timestep: Tensor, c: GenXDConditions) -> Tensor:
            return self.unet(
                c.unet_input(x).to(unet_dtype), timestep, added_time_ids=c.added_time_ids, indicator=indicator_int,
                motion_ids=c.motion_ids, return_dict=False,
            )[0].float()

        self._num_timesteps = len(timesteps)
        with self.progress_bar(total=len(timesteps)) as progress:
            for i, t in enumerate(timesteps):
                timestep = model_timestep(self.scheduler, t, i).float()  # 0.25 ln sigma
                if sequential:  # the guidance branches one after the other: less activation memory
                    x = self.scheduler.scale_model_input(latents, t)
                    preds = [unet(x, timestep, c) for c in branches]
                else:
                    x = torch.cat([latents] * len(branches)) if len(branches) > 1 else latents
                    x = self.scheduler.scale_model_input(x, t)
                    preds = list(unet(x, timestep, conditions).chunk(len(branches)))
                cond_pred = preds[1] if do_cfg else preds[0]
                pred = preds[0] + guidance_scale * (cond_pred - preds[0]) if do_cfg else cond_pred
                if motion_guidance_scale > 0:
                    pred = pred + motion_guidance_scale * (cond_pred - preds[-1])
                latents = self.scheduler.step(pred, t, latents, **step_kwargs).prev_sample
                if callback_on_step_end is not None:
                    available = {"latents": latents}
                    tensors = {k: available[k] for k in callback_tensors}
                    latents = callback_latents(callback_on_step_end(self, i, t, tensors), latents, i)
                progress.update()

        # the context frames are the context latents exactly
        latents = latents * (1 - cond.mask) + cond.context_latents * cond.mask

        # 6. decode
        if output_type == "latent":
            frames: Any = latents
        else:
            self._use("vae")
            chunk = resolve_decode_chunk(self.decode_chunk_size if decode_chunk_size is None else decode_chunk_size,
                                         num_frames, height, width)
            overlap = self.decode_overlap if decode_overlap is None else decode_overlap
            video = self.decode_latents(latents, chunk, default_overlap(chunk) if overlap is None else overlap)
            if output_type == "pt":
                frames = video
            else:
                arr = video.permute(0, 1, 3, 4, 2).cpu().numpy()
                frames = arr if output_type == "np" else [
                    [PIL.Image.fromarray((fr * 255).round().astype(np.uint8)) for fr in clip] for clip in arr
                ]
        self.maybe_free_model_hooks()
        result = GenXDPipelineOutput(
            frames=frames, latents=latents, c2w=target_c2w, K=target_K, context_index=context_index
        )
        return result if return_dict else (frames,)
