"""Which checkpoint: the bundled small model, what a model folder's configs say (generation defaults, the
ranges it was trained on, its latent size) without loading weights, and loading it onto a device.

A model folder holds ``unet/``, ``vae/``, ``scheduler/`` and optionally ``generation_config.json``:
generation defaults (``resolution``, ``num_frames``, ``num_inference_steps``, ``guidance_scale``,
``focal``) and ``trained``: ``{"resolution": [lo, hi], "num_frames": [lo, hi], "motion_strength": [lo, hi]}``,
what the model was trained on (``genxd generate`` warns outside it; see ``docs/cli.md``).
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from typing import Any, Iterator

import torch

from . import validation as v
from .checkpoint_folders import BUNDLED_MODEL_DIR  # defined there, free of torch
from .component_fit import check_latent_channels, check_prediction_type, read_config as _read_config
from .config_groups import check_group_norm_channels
from .config_keys import check_config_class, check_config_keys, check_config_types
from .config_weights import (check_config_fits_weights, check_weights_match, variant_index_names, variant_name,
                             weight_shapes)
from .generation_settings import check_defaults as _check_defaults, generation_number as _number
from .generation_settings import trained_ranges as _trained_ranges
from .utils.library_logs import genxd_reports_float16_on_cpu, genxd_reports_missing_weights, library_bars
from .validation import arg, check

GENERATION_CONFIG = "generation_config.json"

#: Defaults when the model folder has no ``generation_config.json`` (the released model's settings).
RELEASED_DEFAULTS = {"resolution": 256, "num_frames": 12, "num_inference_steps": 25, "guidance_scale": 3.0}
#: What the released model was trained on (the authors' config/main.yaml: 256x256, 12 frames; their
#: inference feeds ``100 * (sigmoid(flow) - 0.5)``, below 50), used for folders without a ``trained`` entry.
RELEASED_TRAINED = {"resolution": (256, 256), "num_frames": (12, 12), "motion_strength": (0.0, 50.0)}


def default_model_path() -> Path | None:
    """The small model shipped inside the package, if present."""
    return BUNDLED_MODEL_DIR if (BUNDLED_MODEL_DIR / "unet").is_dir() else None


def pick_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else the CPU; a named device must exist."""
    if isinstance(device, torch.device):
        device = str(device)
    device = check(device, v.DEVICE, "device")
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """Default: bfloat16 on CUDA (the fast path), float32 on CPU."""
    if isinstance(dtype, torch.dtype):  # from Python: the same three as by name
        names = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
        if dtype not in names:
            raise v.InvalidValue(f"{v.arg('dtype')} must be one of fp32, bf16, fp16 (or torch.float32, "
                                 f"torch.bfloat16, torch.float16), got {dtype}")
        dtype = names[dtype]
    dtype_name: str | None = check(dtype, v.DTYPES, "dtype")
    if dtype_name is None or dtype_name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]


@dataclass
class ModelInfo:
    """What is known about a model folder without loading its weights (its config files).

    ``defaults``: generation settings (``generation_config.json``, else :data:`RELEASED_DEFAULTS`);
    ``trained``: ``{name: (low, high)}`` ranges the model was trained on (resolution, num_frames,
    motion_strength), from the config's ``trained`` entry, else its own resolution / frame count, else
    :data:`RELEASED_TRAINED`; ``latent_multiple``: image sizes must be multiples of it.
    ``defaults["scene_depth"]`` (optional): the depth of the scene seen from the input camera in the model's
    camera units (the normalisation of its training clips), which sets :attr:`preset_scale`.
    """

    path: Path
    bundled: bool
    defaults: dict
    trained: dict
    latent_multiple: int | None
    unet_num_frames: int | None = None  # the UNet config's clip length (the largest window it takes)
    #: a genxd-trained model (its config has ``trained``) whose config does not say ``scene_depth`` at all:
    #: trained before genxd recorded it, so the presets' scale may not be the model's (see :attr:`preset_scale`)
    scene_depth_unstated: bool = False

    @property
    def preset_scale(self) -> float:
        """The factor applied to the camera presets' translations for this model: its ``scene_depth`` over the
        presets' :data:`~genxd.cameras.trajectories.PRESET_SCENE_DEPTH` (2); 1 without a ``scene_depth`` (the
        released model: the presets are the authors' settings). The bundled model's 1.0 gives 0.5: its
        training clips are normalised so that the median depth seen from the first camera is 1, and their
        orbits turn about a point at depth 1.00 (median; 10-90 % 0.93-1.15)."""
        from .cameras.trajectories import PRESET_SCENE_DEPTH

        depth = self.defaults.get("scene_depth")  # None or absent: the presets' own scale
        return float(depth if depth is not None else PRESET_SCENE_DEPTH) / PRESET_SCENE_DEPTH

    @property
    def label(self) -> str:
        return "bundled:genxd-small" if self.bundled else str(self.path)

    def scene_depth_note(self, preset: str = "camera") -> str | None:
        """One line for a model whose config leaves its scene depth unstated (:attr:`scene_depth_unstated`),
        naming ``preset`` (the camera preset asked for); None for every other model."""
        if not self.scene_depth_unstated:
            return None
        return (f"{self.path / GENERATION_CONFIG} has no scene_depth: the {preset} preset keeps the authors' "
                "scale (subject at distance 2); a model trained by genxd train on scene-normalised clips "
                "(synthetic, photo, camvid: the defaults) wants \"scene_depth\": 1.0 there, written by genxd "
                "train since 2026-12-02 (\"scene_depth\": null keeps the authors' scale and this quiet)")

    @property
    def description(self) -> str:
        return "the bundled model" if self.bundled else "this model"


def model_info(model: str | Path | None) -> ModelInfo:
    """Resolve ``model`` (None: the bundled one) and read its configs; no weights are loaded."""
    from .checkpoint_folders import download_hint, resolve_checkpoint

    bundled = model is None
    if bundled:
        path = default_model_path()
        if path is None:
            raise FileNotFoundError(
                f"no {v.arg('model')} given and no bundled model in this installation; get the released one with: "
                + download_hint()
            )
    else:
        if not isinstance(model, (str, os.PathLike)):
            raise v.InvalidType(f"{v.arg('model')} must be a folder or a hub id, got {model!r} ({type(model).__name__})")
        path = resolve_checkpoint(model)
    path = Path(path)
    defaults = dict(RELEASED_DEFAULTS)
    cfg_path = path / GENERATION_CONFIG
    # there but no file (a link to a hub blob that did not arrive, a folder): named, not read as absent (the released
    # model's defaults for a model of other sizes)
    if cfg_path.is_symlink() and not cfg_path.exists():
        raise FileNotFoundError(f"{cfg_path}: no such file{_missing_link_note(cfg_path)}")
    cfg = _read_config(cfg_path) if os.path.lexists(cfg_path) else None
    if cfg is not None:
        _warn_unknown_generation_keys(cfg_path, cfg)
        defaults.update({k: val for k, val in cfg.items() if k != "trained" and not k.startswith("_")})
        if not v.Float(0.0, lo_open=True, optional=True).accepts(depth := defaults.get("scene_depth")):
            raise ValueError(f"{cfg_path}: scene_depth must be a positive number, got {depth!r}")
        _check_defaults(cfg_path, defaults)
        trained = {"resolution": (defaults["resolution"],) * 2, "num_frames": (defaults["num_frames"],) * 2}
        trained.update(_trained_ranges(cfg_path, cfg))
    else:
        trained = dict(RELEASED_TRAINED)
    latent_multiple = unet_num_frames = None
    unet_cfg, vae_cfg = path / "unet" / "config.json", path / "vae" / "config.json"
    if unet_cfg.is_file() and vae_cfg.is_file():
        try:
            levels_vae = len(_read_config(vae_cfg)["block_out_channels"])
            unet_config = _read_config(unet_cfg)
            levels_unet = len(unet_config["block_out_channels"])
            if unet_config.get("num_frames") is not None:  # null: unset (the UNet records it only); 0 is no window
                frames = _number(unet_config["num_frames"])
                if frames is None or frames != int(frames) or frames < 1:
                    raise ValueError(f"{unet_cfg}: num_frames must be a positive whole number, got "
                                     f"{unet_config['num_frames']!r}")
                unet_num_frames = int(frames)
            latent_multiple = 2 ** (levels_vae - 1) * 2 ** (levels_unet - 1)
        except (KeyError, TypeError):
            latent_multiple = None
    return ModelInfo(path=path, bundled=bundled, defaults=defaults, trained=trained, latent_multiple=latent_multiple,
                     unet_num_frames=unet_num_frames,
                     scene_depth_unstated=cfg is not None and "trained" in cfg and "scene_depth" not in cfg)


#: (generation_config.json, its unknown keys) already warned about in this process
_WARNED_GENERATION_KEYS: set[tuple[str, str]] = set()


def _warn_unknown_generation_keys(cfg_path: Path, cfg: dict) -> None:
    """One warning naming ``generation_config.json`` and the keys of it genxd never reads (a misspelt
    ``guidance_scal``: the default was used in silence). A warning, not an error: another tool's keys may be there,
    and checkpoints of ``genxd train`` before 2026-12-07 carried a starting model's keys (it now drops them)."""
    from .generation_settings import GENERATION_KEYS, unknown_generation_keys
    from .utils.close_names import close_matches_note

    unknown = unknown_generation_keys(cfg)
    key = (str(cfg_path.resolve()), repr(unknown))
    if unknown and key not in _WARNED_GENERATION_KEYS:  # once a process: a job reads the configs more than once
        _WARNED_GENERATION_KEYS.add(key)
        v.warn(f"{cfg_path}: unknown key(s) {unknown}{close_matches_note(unknown, GENERATION_KEYS)} are not read "
               f"(genxd reads {', '.join(GENERATION_KEYS)}, and notes named _...)")


@dataclass
class LoadedModel:
    pipe: Any  # a genxd.pipelines.GenXDPipeline (typed loosely: diffusers' pipeline methods are untyped)
    path: Path
    defaults: dict
    bundled: bool
    trained: dict = field(default_factory=lambda: dict(RELEASED_TRAINED))
    scene_depth_unstated: bool = False  # see ModelInfo.scene_depth_unstated
    #: held by a job while it samples (genxd.generate / fewshot): calls from several threads take turns
    lock: "threading.RLock" = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def info(self) -> ModelInfo:
        unet = getattr(self.pipe, "unet", None)
        frames = getattr(getattr(unet, "config", None), "num_frames", None) or getattr(self.pipe, "num_frames", None)
        return ModelInfo(self.path, self.bundled, self.defaults, self.trained, getattr(self.pipe, "latent_multiple", None),
                         unet_num_frames=frames, scene_depth_unstated=self.scene_depth_unstated)


def check_loaded(model: object, loaded: object) -> None:
    """``loaded`` (a job's already loaded model) is a :class:`LoadedModel`, and not given beside ``model`` (the
    loaded one was used and ``model`` silently ignored: ``model="/nonexistent", loaded=lm`` ran)."""
    if loaded is None:
        return
    if not isinstance(loaded, LoadedModel):
        raise v.InvalidType(f"{v.arg('loaded')} must be a model from genxd.load_model(...), got {loaded!r} "
                             f"({type(loaded).__name__})"[:300])
    if model is not None:
        raise v.InvalidValue(f"give {v.arg('model')} or {v.arg('loaded')}, not both ({v.arg('loaded')} is the model "
                             f"already loaded from {loaded.path})")


SAFETENSORS_WEIGHTS = "diffusion_pytorch_model.safetensors"
PICKLE_WEIGHTS = "diffusion_pytorch_model.bin"
#: each component's folder -> its config file and weights file (None: no weights), as
#: ``GenXDPipeline.from_pretrained`` reads them
COMPONENT_FILES = {"unet": ("config.json", SAFETENSORS_WEIGHTS),
                    "vae": ("config.json", SAFETENSORS_WEIGHTS),
                    "scheduler": ("scheduler_config.json", None)}


def uses_safetensors(folder: Path) -> bool:
    """Whether the ``unet/`` or ``vae/`` folder holds safetensors weights (the file or its ``.index.json``), which
    diffusers then loads in place of any pickle ones."""
    return any((folder / name).is_file() for name in (SAFETENSORS_WEIGHTS, SAFETENSORS_WEIGHTS + ".index.json"))


def pickle_only_error(missing: str, pickled: str, allow_hint: str) -> FileNotFoundError:
    """The refusal of a folder holding only pickle weights ``pickled`` (``missing``: what it lacks, "PATH: no such
    file"), saying how to allow them (``allow_hint``) and why they are not read by default."""
    return FileNotFoundError(f"{missing}, only pickle weights ({pickled}); {allow_hint} to load them (unpickling can "
                             "run code: only for files you trust), or convert them to safetensors")


def component_weights(folder: Path, allow_pickle: bool = False, allow_hint: str | None = None) -> Path:
    """The weights of a ``unet/`` or ``vae/`` folder: its safetensors file (or, for shards, the name their
    ``.index.json`` is beside), else with ``allow_pickle`` its pickle ``.bin`` file (or shards). A
    FileNotFoundError naming the safetensors file otherwise: pickle weights alone say how to allow them
    (``allow_hint``, default the caller's option or argument ``allow_pickle``; unpickling can run code), and
    what the folder holds instead."""
    if uses_safetensors(folder):
        return folder / SAFETENSORS_WEIGHTS
    pickled = [name for name in (PICKLE_WEIGHTS, PICKLE_WEIGHTS + ".index.json") if (folder / name).is_file()]
    if pickled and allow_pickle:
        return folder / PICKLE_WEIGHTS
    if pickled:
        raise pickle_only_error(f"{folder / SAFETENSORS_WEIGHTS}: no such file", pickled[0],
                                allow_hint or v.switch_hint("allow_pickle"))
    raise FileNotFoundError(f"{folder / SAFETENSORS_WEIGHTS}: no such file{_why_no_weights(folder, SAFETENSORS_WEIGHTS)}")


#: the largest sizes a network's config may ask for (layer counts; any other whole number: channels, frames):
#: far above any GenXD / SVD model, far below what would build a network for minutes or exhaust the memory
MAX_CONFIG_LAYERS = 256
MAX_CONFIG_SIZE = 2**16


def check_config_sizes(config_path: Path, config: dict) -> None:
    """A ValueError naming ``config_path`` for a whole number (or one in a list) beyond the bounds above."""
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        bound = MAX_CONFIG_LAYERS if "layers" in key else MAX_CONFIG_SIZE
        for x in values:
            if isinstance(x, int) and not isinstance(x, bool) and abs(x) > bound:
                raise ValueError(f"{config_path}: {key} = {value!r} is beyond any model genxd can build "
                                 f"(at most {bound})")
            if "layers" in key and isinstance(x, int) and not isinstance(x, bool) and x < 1:
                raise ValueError(f"{config_path}: {key} = {value!r}: every block needs at least one layer")


def _check_component(folder: Path, config_name: str, weights_name: str | None, what: str,
                     model_cls: Any = None, allow_pickle: bool = False, allow_hint: str | None = None) -> Path | None:
    """A component folder's config is a readable JSON object (diffusers takes anything else for a hub id and goes
    to the network) without absurd sizes or, with ``model_cls`` (the class built from it), keys it would ignore
    (:func:`~genxd.config_keys.check_config_keys`) or values of another type (:func:`~genxd.config_keys.check_config_types`), its weights are there (:func:`component_weights`: pickle ones
    only with ``allow_pickle``) and, with ``model_cls``, hold exactly the weights the network it builds from the
    config has (:func:`~genxd.config_weights.check_weights_match`): a ValueError / FileNotFoundError naming the file. Returns
    the weights (:func:`component_weights`), None for a folder without them (``weights_name`` None)."""
    config_path = folder / config_name
    if not config_path.is_file():
        instead = " and it is a folder" if config_path.is_dir() else ""  # was: "no such file" alone
        raise FileNotFoundError(f"{config_path}: no such file ({what} holds it{instead})")
    config = _read_config(config_path)
    if model_cls is not None:
        check_config_class(config_path, config, model_cls)
        check_config_keys(config_path, config, model_cls)
        check_config_types(config_path, config, model_cls)
        check_group_norm_channels(config_path, config, model_cls.__name__)
    if weights_name is None:
        return None
    check_config_sizes(config_path, config)
    weights = component_weights(folder, allow_pickle, allow_hint)
    shapes = weight_shapes(weights)  # the headers, read once for both checks
    check_config_fits_weights(config_path, config, weights, shapes=shapes)  # before diffusers builds the network
    if model_cls is not None:
        check_weights_match(config_path, config, model_cls, weights, shapes)  # strict, on the meta device
    return weights


#: a shard's name (diffusers' ``diffusion_pytorch_model.fp16-00001-of-00002.safetensors``)
_SHARD_NAME = re.compile(r"-\d{5}-of-\d{5}\.")


def _missing_link_note(path: Path) -> str:
    """Why the link ``path`` names no file, in parentheses: a Hugging Face cache snapshot links into blobs/, written as
    ``*.incomplete`` first."""
    return f" (a link to {os.readlink(path)}, which is not there: a download that stopped? download it again)"


def _why_no_weights(folder: Path, weights_name: str) -> str:
    """What the component ``folder`` holds in place of ``weights_name``, in parentheses ("" when nothing)."""
    weights = folder / weights_name
    if weights.is_dir():  # was "no such file", and for a link to a folder "which is not there"
        link = f"a link to {os.readlink(weights)}, " if weights.is_symlink() else ""
        return f" ({link}a folder, where the weights file should be)"
    if weights.is_symlink():
        return _missing_link_note(weights)
    indexes = sorted(p.name for pattern in variant_index_names(weights_name, "*") for p in folder.glob(pattern))
    if indexes:  # its shards' names inside stay valid: renaming the index loads them all
        return (f" (only the variant index {indexes[0]} is there: rename it to {weights_name}.index.json to load "
                "the weights of its shards, in their own precision)")
    variants = sorted(p.name for p in folder.glob(variant_name(weights_name, "*"))
                      if not _SHARD_NAME.search(p.name))  # a shard alone holds only part of the weights
    if variants:
        return (f" (only the variant {variants[0]} is there: rename it to {weights_name} to load its weights, in "
                "their own precision)")
    return ""


def check_model_folder(path: Path, allow_pickle: bool = False) -> None:
    """Every component of the model folder ``path``, checked before anything is loaded (see
    :func:`_check_component`; ``allow_pickle``: pickle weights are read, their names and shapes with
    ``torch.load(weights_only=True)``)."""
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

    from .models import UNetMVTemporalConditionModel

    classes = {"unet": UNetMVTemporalConditionModel, "vae": AutoencoderKLTemporalDecoder,
               "scheduler": EulerDiscreteScheduler}
    for component, (config_name, weights_name) in COMPONENT_FILES.items():
        _check_component(path / component, config_name, weights_name, f"a model folder's {component}/",
                         classes.get(component), allow_pickle)
    check_latent_channels(path / "unet" / "config.json", path / "vae" / "config.json")
    check_prediction_type(path / "scheduler" / "scheduler_config.json")


def _check_scheduler(scheduler: Any, config_path: Path) -> None:
    """The scheduler's config is only used when sampling starts: its noise levels tried now, on a copy. They must be
    finite, above 0 but for the last one (0, or with ``final_sigmas_type: sigma_min`` Euler's training sigma_min,
    which may be above the config's) and falling up to it: a negative ``sigma_min`` sampled (numpy's ComplexWarning,
    then the log of a negative noise level), a ``sigma_min`` above ``sigma_max`` too."""
    import warnings

    try:
        for steps in (3, 7):
            trial = copy.deepcopy(scheduler)
            with warnings.catch_warnings():  # numpy's ComplexWarning of a negative sigma_min: refused below
                warnings.simplefilter("ignore")
                trial.set_timesteps(steps)
            sigmas = getattr(trial, "sigmas", None)
            if sigmas is None:
                continue
            levels = torch.as_tensor(sigmas, dtype=torch.float64)
            if not bool(torch.isfinite(levels).all()):
                raise ValueError("its noise levels are not finite")
            shown = ", ".join(f"{x:.4g}" for x in levels.tolist())
            if bool((levels[:-1] <= 0).any()) or bool((levels < 0).any()):
                raise ValueError(f"its noise levels are not all above 0: {shown}")
            if bool((levels[1:-1] > levels[:-2]).any()):  # the last: 0, or Euler's "sigma_min" (its training one)
                raise ValueError(f"its noise levels rise (sigma_min above sigma_max?): {shown}")
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged config fails in many ways; all say "damaged"
        raise ValueError(f"{config_path}: the scheduler cannot be used ({_detail(exc, 300)})") from None


def _detail(exc: BaseException, limit: int) -> str:
    """``Type: message`` on one line, the message cut to ``limit`` characters."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:limit]}"


def _damaged(path: Path, what: str, exc: BaseException) -> ValueError:
    return ValueError(f"{path}: cannot load {what} from this folder ({_detail(exc, 400)})")


def _load_pipeline(pipeline_cls: Any, path: Path, dtype: torch.dtype, allow_pickle: bool = False,
                   progress: bool = True) -> Any:
    """``pipeline_cls.from_pretrained(path)`` (its loading once the folder is checked): a damaged model folder (a
    config whose values its component cannot be built from, weights that are not a readable safetensors file or
    do not fit the config, a scheduler that cannot make its noise levels) is a ValueError naming the folder and
    what was wrong."""
    check_model_folder(path, allow_pickle)
    try:
        # check_model_folder refused missing weights (check_weights_match) before: diffusers' warning stays quiet
        with genxd_reports_missing_weights(), library_bars(progress):
            pipe = pipeline_cls.from_checked_folder(path, torch_dtype=dtype)  # never the hub
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - diffusers fails in many ways on a damaged folder; all say "damaged"
        if v.is_out_of_memory(exc):  # the machine's limit, reported as such by the CLI
            raise
        raise _damaged(path, "the model", exc) from exc
    _check_scheduler(pipe.scheduler, path / "scheduler" / "scheduler_config.json")
    return pipe


def load_component(component_cls: Any, folder: str | Path, what: str, allow_pickle: bool = False,
                   allow_hint: str | None = None, progress: bool = True) -> Any:
    """``component_cls.from_pretrained(folder)`` for one UNet, VAE (``diffusion_pytorch_model.safetensors``) or
    scheduler folder (``scheduler_config.json``; a class with ``set_timesteps``), from local files only and
    checked as :func:`load_model` checks a model folder's components (config, sizes, weights present and
    finite, noise levels): a ValueError / FileNotFoundError naming the file otherwise. ``what`` names the
    folder in messages ("a VAE folder"); ``allow_pickle``: pickle ``.bin`` weights are read too (they can run
    code); ``allow_hint``: how the caller allows them, in a refusal (``"set model.allow_pickle=true"``; default
    the option or argument ``allow_pickle``); ``progress``: diffusers' "Loading checkpoint shards" bar of a
    sharded folder (off: not drawn)."""
    folder = Path(folder)
    scheduler = hasattr(component_cls, "set_timesteps")
    config_name, weights_name = ("scheduler_config.json", None) if scheduler else COMPONENT_FILES["unet"]
    weights = _check_component(folder, config_name, weights_name, what, component_cls, allow_pickle, allow_hint)
    try:
        kwargs = {} if weights is None else {"use_safetensors": weights.name == SAFETENSORS_WEIGHTS}
        with genxd_reports_missing_weights(), library_bars(progress):
            component = component_cls.from_pretrained(folder, local_files_only=True, **kwargs)  # never the hub
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - as in _load_pipeline
        if v.is_out_of_memory(exc):
            raise
        raise _damaged(folder, component_cls.__name__, exc) from exc
    if scheduler:
        _check_scheduler(component, folder / config_name)
    else:
        assert weights is not None  # _check_component returns the weights of a component with a weights name
        _check_weights(component, weights, torch.device("cpu"))
    return component


def _check_weights(module: torch.nn.Module, weights: Path, device: torch.device) -> None:
    """A ValueError naming ``weights`` when ``module`` has a weight holding NaN or infinite values (a damaged file:
    safetensors has no checksum). A weight the file does not hold was refused before loading
    (:func:`~genxd.config_weights.check_weights_match`). The values are checked on ``device``, where the weights
    are used (on a GPU, milliseconds for the released model; on a 2-core CPU about 2 s per 250M float32 weights,
    0.05 s for the bundled model); weights kept on the host (offloading) are copied there one at a time.

    Weights already on ``device`` are looked at together first: one norm per weight in a few fused calls (a
    weight holding NaN or an infinity has a non-finite norm); only a weight whose norm is not finite (a damaged
    one, or one so large that its norm overflows) is then checked value by value. The bundled model's 1,040
    weights: 0.10 -> 0.02 s on a 2-core CPU (docs/benchmarks.md)."""
    named = [(name, param.detach()) for name, param in module.named_parameters() if param.is_floating_point()]
    here = [(name, p) for name, p in named if p.device == device and p.numel()]
    suspects = {name for name, _ in named} - {name for name, _ in here}  # elsewhere (offloaded) or empty
    foreach_norm = getattr(torch, "_foreach_norm", None)
    if foreach_norm is None:  # a torch without it: every weight value by value
        suspects = {name for name, _ in named}
    else:
        with torch.no_grad():
            for i in range(0, len(here), 256):  # in groups: a few fused calls, no copy of the weights
                group = here[i:i + 256]
                norms = torch.stack([n.float() for n in foreach_norm([p for _, p in group])])
                finite = torch.isfinite(norms).tolist()
                suspects |= {name for (name, _), ok in zip(group, finite) if not ok}
    for name, param in named:
        if name in suspects and not bool(torch.isfinite(param.to(device)).all()):
            raise ValueError(f"{weights}: the weight {name} holds NaN or infinite values (a damaged file)")


def _pipeline_modules(pipe: Any, path: Path) -> list[tuple[torch.nn.Module, Path]]:
    """The pipeline's UNet and VAE, each with its weights file."""
    return [(module, component_weights(path / component, allow_pickle=True)) for component in ("unet", "vae")
            if isinstance(module := getattr(pipe, component, None), torch.nn.Module)]


def load_model(model: str | Path | None = None, device: str | None = None, dtype: str | torch.dtype | None = None,
               fast: bool | None = None, compile_unet: bool = False, offload: str = "none",
               allow_pickle: bool = False, progress: bool = True) -> LoadedModel:
    """Load a GenXD pipeline (``model`` None: the bundled small model) onto ``device`` (``"auto"`` / None: CUDA when
    available, ``"cpu"``, ``"cuda"``, ``"mps"``, each with an index or not: ``"cuda:N"``) in ``dtype`` (``"fp32"``, ``"bf16"``, ``"fp16"`` or
    those ``torch.dtype``; ``"auto"`` / None: bf16 on CUDA, fp32 elsewhere).

    ``fast`` (default: on for CUDA) turns on the GPU fast path (:mod:`genxd.pipelines.fast`: bf16, CUDA-graph
    replays, channels-last, the zero-weight temporal path skipped in 3D); ``compile_unet`` adds
    ``torch.compile`` of the UNet's blocks in place of the fast path's Triton kernels: after a warm-up of
    1.3-1.6 minutes per image size the first time, no faster than the default fast path on an H200 (25.4 vs
    24.2 ms per 3D call at 256x256; docs/benchmarks.md). ``offload`` (CUDA): ``"model"`` keeps only the
    model in use on the GPU, ``"group"`` also streams the UNet block by block (:mod:`genxd.pipelines.offload`).
    On a CPU: the exact 3D temporal skip and channels-last convolutions (``enable_cpu_path``). Memory
    defaults (:func:`genxd.pipelines.memory.configure_memory`): VAE decoding in windows sized by the image
    (the whole clip at the bundled model's size). ``allow_pickle``: a folder whose ``unet/`` or ``vae/`` has
    only pickle weights (``diffusion_pytorch_model.bin``) loads (unpickling can run code: only for files you
    trust); without it, such a folder is refused saying so. ``progress=False``: no bar while loading (diffusers'
    "Loading checkpoint shards" of a sharded folder).
    """
    from .pipelines import GenXDPipeline
    from .pipelines.memory import configure_memory
    from .pipelines.offload import OFFLOAD_MODES

    if not isinstance(offload, str) or offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}; got {offload!r}")
    fast = check(fast, v.Flag(optional=True), "fast")
    compile_unet = check(compile_unet, v.Flag(), "compile_unet")
    allow_pickle = check(allow_pickle, v.Flag(), "allow_pickle")
    progress = check(progress, v.Flag(), "progress")
    dev = pick_device(device)
    dt = pick_dtype(dtype, dev)
    info = model_info(model)  # after the settings: a bad dtype with a missing model named the model
    use_fast = fast if fast is not None else dev.type == "cuda"
    if offload != "none" and not (dev.type == "cuda" and use_fast):
        raise ValueError(f"{arg('offload')} needs a CUDA GPU (it moves weights between the GPU and the host)")
    if dev.type == "cpu" and dt == torch.float16:
        import warnings

        warnings.warn(v.GenXDWarning(f"{v.arg('dtype')} fp16 on a CPU runs about 3x slower than fp32 (few float16 "
                                     "kernels there); fp32, the default, or bf16 are faster"), stacklevel=2)
    pipe = _load_pipeline(GenXDPipeline, info.path, dt, allow_pickle, progress)
    if offload == "none":
        with genxd_reports_float16_on_cpu():  # diffusers' paragraph says it "will fail": it runs, slowly
            pipe.to(dev)  # with offload the weights stay on the host until used
    for module, weights in _pipeline_modules(pipe, info.path):  # on the device, not over a host copy
        _check_weights(module, weights, dev)
    if use_fast:
        from .pipelines.fast import enable_fast_path

        # the UNet keeps the chosen dtype (--dtype fp32: the authors' numerics, still replayed as a graph)
        enable_fast_path(pipe, dtype=dt, compile=compile_unet, offload=offload, device=dev)
    elif dev.type == "cpu":
        from .pipelines.fast import enable_cpu_path

        enable_cpu_path(pipe)  # the exact 3D skip and channels-last convolutions
    configure_memory(pipe)  # decoding windows by image size
    return LoadedModel(pipe=pipe, path=info.path, defaults=info.defaults, bundled=info.bundled, trained=info.trained,
                       scene_depth_unstated=info.scene_depth_unstated)


def configure_sampling(pipe: Any, scheduler: str, decode_chunk: int | None = None,
                       sequential_guidance: bool = False) -> None:
    """A job's sampler and memory switches on a loaded pipeline (``genxd.pipelines.schedulers``,
    ``genxd.pipelines.memory``; offloading was applied by :func:`load_model`). Stand-in pipelines
    without ``set_scheduler`` (tests) are left as they are."""
    if not hasattr(pipe, "set_scheduler"):
        return
    from .pipelines.memory import configure_memory

    pipe.set_scheduler(scheduler)
    configure_memory(pipe, decode_chunk=decode_chunk or "auto", sequential_guidance=sequential_guidance,
                     offload="none")


#: What a job sets on a loaded pipeline (:func:`configure_sampling`, its progress bars) and puts back afterwards
_JOB_SETTINGS = ("scheduler", "decode_chunk_size", "decode_overlap", "sequential_guidance", "_progress_bar_config")


@contextlib.contextmanager
def job_settings_restored(pipe: Any) -> Iterator[None]:
    """Within the block a job may set the pipeline's sampler, memory switches and progress bars; afterwards they
    are as the caller had them (a notebook's ``lm.pipe`` after ``genxd.generate(..., loaded=lm, progress=False)``
    kept the job's bars off, and its sampler)."""
    saved = {name: getattr(pipe, name) for name in _JOB_SETTINGS if hasattr(pipe, name)}
    try:
        yield
    finally:
        for name in _JOB_SETTINGS:
            if name in saved:
                setattr(pipe, name, saved[name])
            elif hasattr(pipe, name):  # made by the job (diffusers makes _progress_bar_config on first use)
                delattr(pipe, name)


__all__ = ["check_model_folder", "COMPONENT_FILES", "component_weights", "uses_safetensors", "pickle_only_error",
           "configure_sampling", "job_settings_restored", "BUNDLED_MODEL_DIR", "GENERATION_CONFIG",
           "RELEASED_DEFAULTS", "RELEASED_TRAINED", "default_model_path", "pick_device", "pick_dtype", "ModelInfo",
           "model_info", "LoadedModel", "load_model"]
