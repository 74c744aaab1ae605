"""The sections of the training configs (:mod:`genxd.training.config`): one dataclass each, whose
``__post_init__`` refuses a value out of range when the config is read, naming the setting (``training.max_steps``).
``genxd train``'s :class:`~genxd.training.config.TrainConfig` and ``genxd train-vae``'s
:class:`~genxd.training.config.VAETrainConfig` are made of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..data.dataset_options import dataset_entries_error

__all__ = [
    "MIXED_PRECISION",
    "MAX_FIXED_CLIPS",
    "ModelConfig",
    "VAEModelConfig",
    "DataConfig",
    "ConditioningConfig",
    "NoiseConfig",
    "EMAConfig",
    "OptimConfig",
    "CheckpointConfig",
    "ValidationConfig",
    "LoggingConfig",
    "VAELossConfig",
]

MIXED_PRECISION = ("no", "fp16", "bf16")
#: the most clips ``loss.scale_samples`` / ``validation.num_samples`` take: they are read into memory before step 1
MAX_FIXED_CLIPS = 256


@dataclass
class VAEModelConfig:
    """The VAE: ``pretrained`` (a ``vae/`` folder, or a folder holding one; a path ending in
    ``checkpoints/latest`` means the newest checkpoint there; ``bundled``: the bundled model's, from any folder) or a diffusers ``config`` for a randomly
    initialised ``AutoencoderKLTemporalDecoder`` (tests, or ``genxd train-vae``). ``allow_pickle``: the
    ``pretrained`` folder may hold pickle weights (``.bin``) only; they are read then (unpickling can run code: only
    for files you trust); ``genxd train``'s ``model.allow_pickle`` allows them too."""

    pretrained: str | None = None
    config: dict[str, Any] | None = None
    allow_pickle: bool = False


@dataclass
class ModelConfig:
    """How the UNet starts.

    - ``init: scratch``: ``UNetMVTemporalConditionModel(**unet)`` (any size);
    - ``init: genxd``: ``pretrained`` is a GenXD checkpoint folder (``unet/ vae/ scheduler/``; ``bundled``: the
      small model inside the package, wherever genxd is installed and run);
    - ``init: svd``: ``pretrained`` is a Stable Video Diffusion folder (``unet/`` with
      ``UNetSpatioTemporalConditionModel`` weights, ``vae/``) or its ``unet/`` folder; the multiview
      modules copy the temporal ones and ``conv_in`` is widened with zeros (see ``genxd.training.models``).
      ``unet`` may override config keys (e.g. ``num_frames``).
    The VAE defaults to the one of ``pretrained``; the scheduler to the released GenXD one.
    ``allow_pickle``: the UNet and VAE folders may hold pickle weights (``.bin``) only; they are read then
    (unpickling can run code: only for files you trust).
    """

    init: str = "scratch"
    pretrained: str | None = None
    unet: dict[str, Any] = field(default_factory=dict)
    vae: VAEModelConfig = field(default_factory=VAEModelConfig)
    scheduler: str | None = None
    allow_pickle: bool = False

    def __post_init__(self) -> None:
        if self.init not in ("scratch", "genxd", "svd"):
            raise ValueError(f"model.init must be 'scratch', 'genxd' or 'svd', got {self.init!r}")
        if self.init != "scratch" and not self.pretrained:
            raise ValueError(f"model.init={self.init!r} needs model.pretrained (a folder)")


@dataclass
class DataConfig:
    """Training data: a weighted mixture of ``datasets`` entries (``genxd.data.datasets.build_dataset``:
    ``{type: synthetic|photo|camvid|multiview|reconfusion, weight: w, ...options}``), clips of ``num_frames``
    frames at ``height x width`` (width default = height). ``preload``: load every item once into memory
    before training (:class:`genxd.training.data.PreloadedDataset`; for pools that fit in RAM)."""

    num_frames: int = 8
    height: int = 64
    width: int | None = None
    datasets: list[dict[str, Any]] = field(default_factory=lambda: [{"type": "synthetic", "length": 1000}])
    length: int | None = None
    num_workers: int = 2
    shuffle: bool = True
    preload: bool = False

    def __post_init__(self) -> None:
        if self.num_frames < 2:
            raise ValueError(f"data.num_frames must be >= 2, got {self.num_frames}")
        for name in ("height", "width"):  # each named (was "data.height/width must be >= 8, got 0xNone")
            if getattr(self, name) is not None and getattr(self, name) < 8:
                raise ValueError(f"data.{name} must be >= 8, got {getattr(self, name)}")
        if not self.datasets:
            raise ValueError("data.datasets is empty")
        if (error := dataset_entries_error(self.datasets)) is not None:  # was found only as the datasets were built
            raise error
        if self.length is not None and self.length < 1:  # the mixture's words named no setting: "length must be ..."
            raise ValueError(f"data.length must be >= 1 or null, got {self.length}")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0, got {self.num_workers}")


@dataclass
class ConditioningConfig:
    """Per-sample conditioning draws (GenXD's masked latent conditions).

    ``single_view_ratio``: probability of one context view; otherwise 2..``max_context_views``
    (uniform). ``context_frames``: ``first_plus_random`` (frame 0 and random others),
    ``random`` (any frames) or ``first`` (frames 0..V-1). ``condition_dropout``: probability that a
    sample is trained unconditionally (classifier-free guidance). ``video_ratio``: probability that a
    4D sample is trained in video mode (indicator 1: no camera rays).

    ``context_corruption``: probability that a 4D or video sample is trained as a later window of a long
    4D scene (issue 22), whose context is generated, not clean: its context becomes the first ``k``
    frames (``k`` uniform in 1..``max_context_views``, as the windows' overlap) and their latents are
    blurred (Gaussian, sigma uniform in [0, ``context_blur``] latent cells) and noised (standard
    deviation uniform in [0, ``context_noise``], in scaled-latent units, whose spread is about 1);
    the targets stay clean. 0 (default): no extra draws, so every sample is drawn as before.
    """

    single_view_ratio: float = 0.5
    max_context_views: int = 3
    context_frames: str = "first_plus_random"
    condition_dropout: float = 0.1
    video_ratio: float = 0.0
    context_corruption: float = 0.0
    context_noise: float = 0.3
    context_blur: float = 1.0

    def __post_init__(self) -> None:
        for name in ("single_view_ratio", "condition_dropout", "video_ratio", "context_corruption"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"conditioning.{name} must be in [0, 1], got {v}")
        if self.max_context_views < 1:
            raise ValueError(f"conditioning.max_context_views must be >= 1, got {self.max_context_views}")
        for name in ("context_noise", "context_blur"):
            v = getattr(self, name)
            if not 0.0 <= v <= 10.0:
                raise ValueError(f"conditioning.{name} must be in [0, 10], got {v}")
        if self.context_frames not in ("first_plus_random", "random", "first"):
            raise ValueError(
                f"conditioning.context_frames must be first_plus_random, random or first, got {self.context_frames!r}"
            )


@dataclass
class NoiseConfig:
    """EDM log-normal noise levels: ``log(sigma) ~ N(p_mean, p_std)`` (SVD fine-tuning practice)."""

    p_mean: float = 0.7
    p_std: float = 1.6

    def __post_init__(self) -> None:
        if self.p_std <= 0:
            raise ValueError(f"noise.p_std must be > 0, got {self.p_std}")


@dataclass
class EMAConfig:
    """EMA of the weights: ``decay_t = min(decay, 1 - (1 + t) ** -power)`` (warm-up), from ``start_step``."""

    enabled: bool = True
    decay: float = 0.9999
    power: float = 2 / 3
    start_step: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"ema.decay must be in [0, 1), got {self.decay}")
        if not self.power > 0:  # at or below 0 the warm-up's decay is 0 or negative: the average left the weights
            raise ValueError(f"ema.power must be > 0, got {self.power}")
        if self.start_step < 0:
            raise ValueError(f"ema.start_step must be >= 0, got {self.start_step}")


#: the most clips per process in one micro-batch, and micro-batches per step (``training.batch_size``,
#: ``gradient_accumulation_steps``)
MAX_BATCH = 65536


@dataclass
class OptimConfig:
    """Optimisation (per-device batch; global batch = batch_size x processes x accumulation).

    ``compile``: ``torch.compile`` the UNet's forward (in place) for training; pays off for small
    models whose steps are bound by kernel launches (the first steps are slow while it compiles).
    """

    batch_size: int = 1
    gradient_accumulation_steps: int = 1
    max_steps: int = 1000
    max_minutes: float | None = None
    learning_rate: float = 2e-5
    lr_warmup_steps: int = 500
    lr_schedule: str = "constant"
    min_lr_ratio: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    use_8bit_adam: bool = False
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    compile: bool = False
    allow_tf32: bool = True
    find_unused_parameters: bool = False
    #: DDP gradient all-reduce: "auto" (bf16 under bf16 mixed precision, else float32), "none", "bf16", "fp16"
    ddp_comm_hook: str = "auto"
    ddp_bucket_mb: int = 25  # DDP bucket size (torch's default)
    #: extra loss weight on the moving objects' latent cells (samples with an "object_mask", e.g. synthetic
    #: 4D clips with object_masks: true): a cell's weight is 1 + this x the fraction of object pixels in it
    object_loss_weight: float = 0.0
    ema: EMAConfig = field(default_factory=EMAConfig)

    def __post_init__(self) -> None:
        # max_steps 0 trained nothing and wrote an untrained checkpoint-0000000
        for name, least in (("batch_size", 1), ("gradient_accumulation_steps", 1), ("max_steps", 1)):
            value = getattr(self, name)
            if value < least:
                raise ValueError(f"training.{name} must be an integer >= {least}, got {value!r}")
        # a huge one failed only once the model was built: a MemoryError or 'int too big to convert' traceback
        for name, most, what in (("batch_size", MAX_BATCH, "clips per process in one micro-batch, held in memory "
                                                            "together"),
                                 ("gradient_accumulation_steps", MAX_BATCH, "micro-batches per optimiser step")):
            if getattr(self, name) > most:
                raise ValueError(f"training.{name} must be at most {most} ({what}), got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"training.learning_rate must be > 0, got {self.learning_rate}")
        if self.lr_warmup_steps < 0:
            raise ValueError(f"training.lr_warmup_steps must be >= 0, got {self.lr_warmup_steps}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"training.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:  # torch's words named neither the setting nor the section
                raise ValueError(f"training.{name} must be in [0, 1), got {getattr(self, name)}")
        if not self.adam_epsilon > 0:  # 0: a weight whose gradient is 0 divides 0 by 0 (a non-finite loss at step 2)
            raise ValueError(f"training.adam_epsilon must be > 0, got {self.adam_epsilon}")
        if self.weight_decay < 0:
            raise ValueError(f"training.weight_decay must be >= 0, got {self.weight_decay}")
        if self.max_grad_norm < 0:  # no clipping, without a word (as 0, which says so)
            raise ValueError(f"training.max_grad_norm must be >= 0 (0: no clipping), got {self.max_grad_norm}")
        if self.lr_schedule not in ("constant", "cosine", "linear"):
            raise ValueError(f"training.lr_schedule must be constant, cosine or linear, got {self.lr_schedule!r}")
        if self.ddp_comm_hook not in ("auto", "none", "bf16", "fp16"):
            raise ValueError(f"training.ddp_comm_hook must be auto, none, bf16 or fp16, got {self.ddp_comm_hook!r}")
        if self.ddp_bucket_mb < 1:
            raise ValueError(f"training.ddp_bucket_mb must be >= 1, got {self.ddp_bucket_mb}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"training.mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"training.max_minutes must be > 0, got {self.max_minutes}")
        if not 0.0 <= self.object_loss_weight <= 1000.0:
            raise ValueError(f"training.object_loss_weight must be in 0..1000, got {self.object_loss_weight}")


@dataclass
class CheckpointConfig:
    """Checkpoints ``output_dir/checkpoints/checkpoint-NNNNNNN/``: a full pipeline folder (``unet/ vae/
    scheduler/``, safetensors in ``save_dtype``) plus the accelerate state for exact resume. One is
    also written at the end of a run (and when ``max_minutes`` is reached, and on Ctrl-C / SIGTERM).
    ``every_steps``: 0 writes none on the way."""

    every_steps: int = 500
    total_limit: int | None = 3
    save_dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.every_steps < 0:
            raise ValueError(f"checkpoint.every_steps must be >= 0, got {self.every_steps}")
        if self.total_limit is not None and self.total_limit < 1:
            raise ValueError(f"checkpoint.total_limit must be >= 1 or null, got {self.total_limit}")
        if self.save_dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"checkpoint.save_dtype must be float32, float16 or bfloat16, got {self.save_dtype!r}")


@dataclass
class ValidationConfig:
    """Validation videos every ``every_steps`` (0: off) on the first ``num_samples`` training items."""

    every_steps: int = 0
    num_samples: int = 2
    num_inference_steps: int = 25
    guidance_scale: float = 3.0
    fps: float = 4.0
    seed: int = 0

    def __post_init__(self) -> None:  # checked when the config is read: a bad value failed at the first validation
        for name, least in (("every_steps", 0), ("num_samples", 0), ("num_inference_steps", 1)):
            if getattr(self, name) < least:
                raise ValueError(f"validation.{name} must be an integer >= {least}, got {getattr(self, name)}")
        if self.num_samples > MAX_FIXED_CLIPS:  # each was read into memory before step 1, with no bound
            raise ValueError(f"validation.num_samples must be at most {MAX_FIXED_CLIPS} (clips held in memory for "
                             f"every validation), got {self.num_samples}")
        # the range of the commands' --fps: ffmpeg stores no rate under 1e-7 or over about 1e9, and the first
        # validation failed, maybe hours in ("the video writer (ffmpeg) stopped before finishing")
        from ..validation import FPS, GUIDANCE, SEED

        FPS.check(self.fps, "validation.fps")
        # generate's --guidance and --seed rules: a guidance below 1 (negative, 0.5) sampled unguided without a word,
        # and a seed past 64 bits failed at the first validation (torch's generator; the clips take seed + i)
        self.guidance_scale = GUIDANCE.check(self.guidance_scale, "validation.guidance_scale")
        self.seed = SEED.check(self.seed, "validation.seed")


@dataclass
class LoggingConfig:
    """Scalars every ``every_steps`` to ``output_dir/metrics.jsonl`` and TensorBoard (if installed)."""

    every_steps: int = 10
    tensorboard: bool = True
    progress_bar: bool = True

    def __post_init__(self) -> None:  # a negative count logged every step without a word (0 does so, as before)
        if self.every_steps < 0:
            raise ValueError(f"logging.every_steps must be an integer >= 0 (0: every step), got {self.every_steps}")


@dataclass
class VAELossConfig:
    """``l1 |x - x'| + l2 (x - x')^2`` (means over pixels) ``+ kl_weight * KL`` where KL is summed
    over latent elements and divided by the number of image values (so ``kl_weight=1e-6`` keeps the
    LDM / Stable Diffusion autoencoder ratio). ``scale_samples`` clips measure the latent scaling factor."""

    l1_weight: float = 1.0
    l2_weight: float = 0.0
    kl_weight: float = 1e-6
    scale_samples: int = 16

    def __post_init__(self) -> None:  # checked when the config is read: a bad value failed at the first checkpoint
        for name in ("l1_weight", "l2_weight", "kl_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        if self.l1_weight == 0 and self.l2_weight == 0:
            raise ValueError("loss.l1_weight and loss.l2_weight are both 0: nothing trains the reconstruction")
        if self.scale_samples < 1:
            raise ValueError("loss.scale_samples must be an integer >= 1 (clips that measure the latent scaling "
                             f"factor), got {self.scale_samples}")
        if self.scale_samples > MAX_FIXED_CLIPS:  # each was read into memory before step 1, with no bound
            raise ValueError(f"loss.scale_samples must be at most {MAX_FIXED_CLIPS} (clips held in memory to measure "
                             f"the latent scaling factor), got {self.scale_samples}")
