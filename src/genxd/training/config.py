"""Training configuration: YAML presets (shipped ones by name: ``genxd/configs/*.yaml``,
:mod:`genxd.training.presets`) with ``base:`` inheritance and dotted overrides.

A preset is a YAML mapping whose sections are the dataclasses below. ``base: other.yaml`` (relative
to the preset's folder; a bare file name not there: the shipped preset of that name) merges the preset
onto another one (mappings merge key by key, anything else is replaced). Command-line overrides ``section.key=value`` (values parsed as YAML, list items by
index: ``data.datasets.0.weight=2``) are applied last (reading the YAML: :mod:`genxd.training.config_yaml`). Unknown keys are errors naming the valid ones.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.dataset_options import dataset_entries_error
from ..generation_settings import generation_section_error
from ..utils.close_names import close_matches_note
from .config_yaml import merge_mappings, apply_overrides, load_yaml_with_bases
from .presets import resolve_config
from .unet_only_settings import refuse_unet_settings

__all__ = [
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
    "TrainConfig",
    "VAETrainConfig",
    "load_yaml_with_bases",
    "apply_overrides",
    "load_config",
    "config_to_dict",
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
        from ..validation import FPS

        FPS.check(self.fps, "validation.fps")


@dataclass
class LoggingConfig:
    """Scalars every ``every_steps`` to ``output_dir/metrics.jsonl`` and TensorBoard (if installed)."""

    every_steps: int = 10
    tensorboard: bool = True
    progress_bar: bool = True

    def __post_init__(self) -> None:  # a negative count logged every step without a word (0 does so, as before)
        if self.every_steps < 0:
            raise ValueError(f"logging.every_steps must be an integer >= 0 (0: every step), got {self.every_steps}")


#: the largest run ``seed``: the run seeds numpy's global generator too (accelerate's ``set_seed``), which takes 32 bits
MAX_RUN_SEED = 2**32 - 1


def _check_run_seed(seed: int) -> None:
    """A ValueError naming ``seed`` when it is outside 0..:data:`MAX_RUN_SEED` (numpy's words named no setting:
    "Seed must be between 0 and 2**32 - 1")."""
    if not 0 <= seed <= MAX_RUN_SEED:
        raise ValueError(f"seed must be an integer in 0..{MAX_RUN_SEED}, got {seed}")


@dataclass
class TrainConfig:
    """``genxd train`` (see ``docs/training.md``)."""

    output_dir: str = "outputs/genxd-train"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    training: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    #: what the checkpoints' ``generation_config.json`` says over the starting model's (``guidance_scale: 2.5``)
    generation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_run_seed(self.seed)
        if (error := generation_section_error(self.generation)) is not None:
            raise error  # a misspelt key was written into every checkpoint, a bad value made them unusable


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


@dataclass
class VAETrainConfig:
    """``genxd train-vae``: an ``AutoencoderKLTemporalDecoder`` on clips (the temporal decoder sees
    ``data.num_frames`` frames at a time)."""

    output_dir: str = "outputs/genxd-vae"
    seed: int = 0
    vae: VAEModelConfig = field(default_factory=VAEModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: VAELossConfig = field(default_factory=VAELossConfig)
    training: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def __post_init__(self) -> None:
        _check_run_seed(self.seed)


# ----------------------------------------------------------------------------------------------
# dict <-> dataclass
# ----------------------------------------------------------------------------------------------


def _from_dict(cls: type, data: Any, where: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'config'}: expected a mapping, got {type(data).__name__} ({data!r})")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise ValueError(f"{where or 'config'}: unknown key(s) {unknown}{close_matches_note(unknown, names)}; "
                         f"valid keys: {names}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        sub = f"{where}.{key}" if where else key
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a section (hints are classes here)
            kwargs[key] = _from_dict(hint, value, sub)
        else:
            kwargs[key] = _coerce(value, hint, sub)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{where or 'config'}: {exc}") from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Light type checking: numbers for int/float fields, strings for str fields."""
    origin = typing.get_origin(hint)
    allowed = set(typing.get_args(hint)) if origin in (typing.Union, types.UnionType) else {hint}
    if value is None:
        if type(None) in allowed:
            return None
        raise ValueError(f"{where}: must not be null")
    if float in allowed and isinstance(value, (int, float)) and not isinstance(value, bool):
        if int in allowed and isinstance(value, int):
            return value
        if isinstance(value, int) and abs(value) > 2**1023 or not math.isfinite(value):
            raise ValueError(f"{where}: must be a finite number, got {value!r}")
        return float(value)
    if int in allowed and isinstance(value, int) and not isinstance(value, bool):
        return value
    if bool in allowed and isinstance(value, bool):
        return value
    if str in allowed and isinstance(value, str):
        return value
    if str in allowed and bool not in allowed and isinstance(value, bool):
        return "yes" if value else "no"  # YAML 1.1 reads an unquoted no / yes as a boolean
    if float in allowed and isinstance(value, str):
        try:
            number = float(value)  # YAML reads "1e-4" as a string
        except ValueError:
            pass
        else:
            if not math.isfinite(number):
                raise ValueError(f"{where}: must be a finite number, got {value!r}")
            return number
    origins = {typing.get_origin(a) or a for a in allowed}
    if (dict in origins and isinstance(value, dict)) or (list in origins and isinstance(value, list)):
        return value
    if typing.Any in allowed:
        return value
    expected = " or ".join(sorted(getattr(a, "__name__", str(a)) for a in allowed))
    raise ValueError(f"{where}: expected {expected}, got {type(value).__name__} ({value!r})")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain dicts/lists (what is saved beside checkpoints)."""
    return dataclasses.asdict(cfg)


#: The command that trains a config of each kind.
_COMMANDS = {"genxd": "genxd train", "vae": "genxd train-vae"}


#: the sections that make a config one trainer's: none of the other's has them
_OWN_SECTIONS = {"genxd": {"model", "conditioning", "noise"}, "vae": {"vae", "loss"}}


def _check_kind(data: dict[str, Any], path: str | os.PathLike, kind: str) -> None:
    """A ValueError naming the right command where ``data``'s sections are all the other trainer's, some are not
    ``kind``'s and one is a section of that trainer alone (:data:`_OWN_SECTIONS`; ``genxd train-vae tiny``: ``model``
    and ``conditioning`` are ``genxd train``'s). A stray section alone (``generation:`` in a VAE config) is not a
    config of the other trainer: the unknown section is said as any other."""
    classes = {"genxd": TrainConfig, "vae": VAETrainConfig}
    other = "vae" if kind == "genxd" else "genxd"
    ours, theirs = ({f.name for f in dataclasses.fields(classes[k])} for k in (kind, other))
    foreign = sorted(set(data) - ours)
    if foreign and set(data) <= theirs and set(data) & _OWN_SECTIONS[other]:
        raise ValueError(f"{path}: a config of {_COMMANDS[other]} (its section(s) {', '.join(foreign)} are "
                         f"{_COMMANDS[other]}'s, not {_COMMANDS[kind]}'s): give it to {_COMMANDS[other]}")


def load_config(path: str | os.PathLike | None, overrides: list[str] | None = None, kind: str = "genxd") -> Any:
    """A :class:`TrainConfig` (``kind="genxd"``) or :class:`VAETrainConfig` (``kind="vae"``) from a YAML
    file or the name of a shipped preset (``"tiny"``; :func:`~genxd.training.presets.resolve_config`; None:
    defaults) and overrides."""
    cls = {"genxd": TrainConfig, "vae": VAETrainConfig}.get(kind)
    if cls is None:
        raise ValueError(f"kind must be 'genxd' or 'vae', got {kind!r}")
    if path is not None:
        path = resolve_config(path, kind)
    layers: list[tuple[Path, dict[str, Any]]] = []
    own = load_yaml_with_bases(path, layers=layers) if path is not None else {}
    if path is not None:
        _check_kind(own, path, kind)
    from_file = merge_mappings(config_to_dict(cls()), own)
    data = apply_overrides(from_file, list(overrides or []))
    try:
        cfg = _from_dict(cls, data, "")
        _warn_unused_vae_config(cfg, kind, layers, list(overrides or []))
        if kind == "vae":  # set by the user, not by a run's own config.yaml (it lists every setting)
            refuse_unet_settings(cfg, [data for p, data in layers if not _written_by_genxd(p)],
                                 list(overrides or []))
        return cfg
    except ValueError as exc:
        if path is None or str(path) in str(exc):
            raise
        if overrides:  # an override's own error names the setting only (the file is fine without it)
            try:
                _from_dict(cls, from_file, "")
            except ValueError:
                pass
            else:
                raise
        # a value of the file (or of one of its bases): the message names the file
        raise ValueError(f"{path}: {exc}") from None


def _written_by_genxd(path: Path) -> bool:
    """Whether ``path`` is a run's resolved ``config.yaml`` (its first line :data:`~genxd.training.checkpoint_files.
    CONFIG_MARK`): every setting of it is there, set by the user or not."""
    from .checkpoint_files import CONFIG_MARK

    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            return fh.readline().rstrip() == CONFIG_MARK
    except OSError:
        return False


#: where each trainer's config has its VAE section
_VAE_SECTION = {"genxd": ("model", "vae"), "vae": ("vae",)}


def _warn_unused_vae_config(cfg: Any, kind: str, layers: list[tuple[Path, dict[str, Any]]],
                            overrides: list[str]) -> None:
    """A warning when the VAE section's ``config`` goes unused because a folder is loaded (with its own config):
    its ``pretrained``, else for ``genxd train`` with ``model.init`` genxd / svd the VAE of ``model.pretrained``; and
    one source set both: one YAML file (less its bases) or the command line's overrides. A preset's ``config`` with
    a folder of another source (``genxd train-vae tiny_vae vae.pretrained=DIR``: fine-tune DIR) is the way to start
    from a folder, and not warned of."""
    name = ".".join(_VAE_SECTION[kind])
    vae = cfg.model.vae if kind == "genxd" else cfg.vae
    from_model = kind == "genxd" and not vae.pretrained and cfg.model.init in ("genxd", "svd")
    if not vae.config or not (vae.pretrained or from_model):
        return
    sources: list[tuple[str, Any]] = [(f"in {p}", data) for p, data in layers if not _written_by_genxd(p)]
    try:
        sources.append(("on the command line", apply_overrides({}, overrides)))
    except ValueError:  # overrides that only apply onto the file's values: none sets the whole section
        pass
    for where, data in sources:
        section: Any = data
        for key in _VAE_SECTION[kind]:
            section = section.get(key) if isinstance(section, dict) else None
        if not (isinstance(section, dict) and section.get("config")):
            continue
        model = data.get("model")
        if vae.pretrained and section.get("pretrained"):
            loaded = f"{name}.pretrained ({vae.pretrained})"
        elif from_model and isinstance(model, dict) and model.get("pretrained"):
            loaded = f"the VAE of model.pretrained ({cfg.model.pretrained}, model.init={cfg.model.init})"
        else:
            continue
        from ..validation import warn

        warn(f"{name}.config is not used: {loaded} is loaded with its own config (both are set {where}; leave one "
             "out)")
        return
