"""Building the models to train: the GenXD UNet (from scratch, a GenXD checkpoint or Stable Video
Diffusion), the frozen VAE and the scheduler; parameter counts and sizes.

**Initialising from Stable Video Diffusion** (``UNetSpatioTemporalConditionModel`` weights), as the
GenXD paper does: every key with the same name and shape is copied; then

- the multiview modules copy the temporal ones (``mv_res_block`` <- ``temporal_res_block``,
  ``multiview_transformer_blocks`` <- ``temporal_transformer_blocks``);
- the spatial/multiview mixing factor ``time_mixer.spatial_mv_factor`` <- SVD's
  ``time_mixer.mix_factor`` (so a 3D-mode res block computes exactly SVD's spatio-temporal res
  block); ``time_mixer.gamma`` keeps its initial value (5, multiview-dominated 4D);
- ``conv_in`` is widened from SVD's 8 input channels (noisy + image latents) to 15: the 7 new
  channels (Plücker rays, mask) get zero weights, so the model starts as SVD on the first 8;
- ``add_embedding.linear_1`` takes the first 512 of SVD's 768 input columns (two of its three
  added time ids: GenXD has two);
- ``motion_embedding`` (new) copies ``time_embedding`` (same shape; motion is embedded like a timestep);
- SVD's cross-attention to CLIP image embeddings (``attn2``, ``norm2``) is not part of GenXD and is dropped.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

from ..checkpoint_folders import bundled_or, component_loop_error, resolve_latest, starting_folder
from ..checkpoints import check_config_sizes, load_component, pickle_only_error
from ..config_groups import check_group_norm_channels
from ..component_fit import check_latent_channels_of
from ..config_weights import (built_parameter_count, check_config_fits_weights, is_weights_index, safetensors_shards,
                              variant_index_names, variant_name, weight_shapes)
from ..models import CONDITIONED_IN_CHANNELS, UNetMVTemporalConditionModel
from ..utils.json_files import read_json
from ..utils.messages import first_line
from ..validation import is_out_of_memory
from .config import ModelConfig, VAEModelConfig

#: how a ``genxd train`` config allows pickle weights, in its refusals
ALLOW_PICKLE_HINT = "set model.allow_pickle=true"
#: the same for a ``genxd train-vae`` config
VAE_ALLOW_PICKLE_HINT = "set vae.allow_pickle=true"

#: a diffusers model or scheduler (``ModelMixin`` / ``SchedulerMixin``) for mypy: Any, because diffusers' top-level
#: names resolve to its ``dummy_pt_objects`` stand-ins (no ``to``, ``config``, ...) and a ``config`` is a FrozenDict read
#: by attribute (``vae.config.scaling_factor``), which no stub types
DiffusersModel = Any

__all__ = [
    "RELEASED_SCHEDULER_CONFIG",
    "SVDConversionReport",
    "unet_config_from_svd",
    "convert_svd_unet_state_dict",
    "load_svd_state_dict",
    "build_unet",
    "check_model_options",
    "check_latent_fit",
    "latent_fit_sources",
    "build_vae",
    "check_vae_config",
    "check_svd_overrides",
    "build_scheduler",
    "resolve_latest",
    "count_parameters",
    "model_bytes",
    "size_multiple",
    "DiffusersModel",
]

#: The released GenXD scheduler (``scheduler/scheduler_config.json`` of the checkpoint).
RELEASED_SCHEDULER_CONFIG: dict[str, Any] = {
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "final_sigmas_type": "zero",
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": False,
    "sigma_max": 700.0,
    "sigma_min": 0.002,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "timestep_type": "continuous",
    "trained_betas": None,
    "use_karras_sigmas": True,
}

_SVD_BLOCKS = {
    "CrossAttnDownBlockSpatioTemporal": "CrossAttnDownBlockMVCascadeTemporal",
    "DownBlockSpatioTemporal": "DownBlockMVCascadeTemporal",
    "CrossAttnUpBlockSpatioTemporal": "CrossAttnUpBlockMVCascadeTemporal",
    "UpBlockSpatioTemporal": "UpBlockMVCascadeTemporal",
}


# ----------------------------------------------------------------------------------------------
# Stable Video Diffusion -> GenXD
# ----------------------------------------------------------------------------------------------


def _svd_unet_dir(folder: str | os.PathLike) -> Path:
    folder = starting_folder(folder)
    if (folder / "unet" / "config.json").is_file():
        return folder / "unet"
    if (folder / "config.json").is_file():
        return folder
    raise FileNotFoundError(f"{folder}: no unet/config.json or config.json (expected a Stable Video Diffusion folder)")


def unet_config_from_svd(svd_config: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A GenXD UNet config with the layout of an SVD ``UNetSpatioTemporalConditionModel`` config."""
    try:
        down = [_SVD_BLOCKS[t] for t in svd_config["down_block_types"]]
        up = [_SVD_BLOCKS[t] for t in svd_config["up_block_types"]]
    except KeyError as exc:
        raise ValueError(f"not a Stable Video Diffusion UNet config: unknown or missing block type {exc}") from None
    cfg = {
        "in_channels": CONDITIONED_IN_CHANNELS,
        "out_channels": svd_config.get("out_channels", 4),
        "down_block_types": down,
        "up_block_types": up,
        "block_out_channels": list(svd_config["block_out_channels"]),
        "addition_time_embed_dim": svd_config.get("addition_time_embed_dim", 256),
        "projection_class_embeddings_input_dim": 2 * svd_config.get("addition_time_embed_dim", 256),
        "layers_per_block": svd_config.get("layers_per_block", 2),
        "transformer_layers_per_block": svd_config.get("transformer_layers_per_block", 1),
        "num_attention_heads": svd_config.get("num_attention_heads", (5, 10, 20, 20)),
        "num_frames": svd_config.get("num_frames", 8),
        "sample_size": svd_config.get("sample_size"),
        "motion_condition": True,
        "ray_condition": True,
    }
    cfg.update(overrides)
    return cfg


def load_svd_state_dict(folder: str | os.PathLike,
                        allow_pickle: bool = False) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(config, state dict)`` of an SVD UNet folder (single or sharded safetensors, fp32 or fp16 variant; with
    ``allow_pickle`` pickle ``.bin`` weights too, read with ``torch.load(weights_only=True)``)."""
    unet_dir = _svd_unet_dir(folder)
    config = read_json(unet_dir / "config.json", "a Stable Video Diffusion UNet config")
    if not isinstance(config, dict):
        raise ValueError(f"{unet_dir / 'config.json'}: expected a JSON object (a UNet config)")
    check_config_sizes(unet_dir / "config.json", config)  # a count of 2**63 layers would build for ever
    candidates = _svd_weights_names("safetensors")
    pickle_names = _svd_weights_names("bin")
    pickled = [name for name in pickle_names if (unet_dir / name).is_file()]
    if allow_pickle:
        candidates += pickle_names
    for name in candidates:
        path = unet_dir / name
        if not path.is_file():
            continue
        shards = safetensors_shards(path) if is_weights_index(path) else None  # inside the folder only
        check_config_fits_weights(unet_dir / "config.json", config, path,  # before the network is built
                                  shapes=weight_shapes(path, shards))
        if shards is not None:
            state: dict[str, torch.Tensor] = {}
            for shard in shards:
                state.update(_load_weights(shard))
            return config, state
        return config, _load_weights(path)
    if pickled:
        raise pickle_only_error(f"{unet_dir}: no diffusion_pytorch_model(.fp16).safetensors", pickled[0],
                                ALLOW_PICKLE_HINT)
    raise FileNotFoundError(f"{unet_dir}: no diffusion_pytorch_model(.fp16).safetensors")


def _svd_weights_names(kind: str) -> list[str]:
    """diffusers' names for an SVD UNet's ``kind`` weights (``safetensors``, ``bin``), in the order they are looked
    for: the index, the file, then the fp16 variant's index (both names diffusers loads) and file."""
    name = f"diffusion_pytorch_model.{kind}"
    return [f"{name}.index.json", name, *variant_index_names(name, "fp16"), variant_name(name, "fp16")]


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors (a pickle ``.bin`` file's: the caller allowed pickle); a ValueError naming it
    when it is missing, damaged or holds NaN."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (listed in the weights index)")
    pickle = not path.name.endswith(".safetensors")
    try:
        state = (torch.load(path, map_location="cpu", weights_only=True) if pickle else load_file(str(path)))
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a dict of weights")
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors' / torch's own error types for a damaged file
        raise ValueError(f"{path}: not a readable {'pickle weights' if pickle else 'safetensors'} file "
                         f"({first_line(exc, with_type=True, limit=300)})") from None
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{path}: the weight {key} holds NaN or infinite values (a damaged file)")
    return state


@dataclass
class SVDConversionReport:
    """What :func:`convert_svd_unet_state_dict` did with each key."""

    copied: list[str] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)  # genxd key -> how
    initialised: list[str] = field(default_factory=list)  # kept at their initial value
    unused: list[str] = field(default_factory=list)  # SVD keys not used

    def summary(self) -> str:
        return (f"{len(self.copied)} copied, {len(self.derived)} derived from SVD weights, "
                f"{len(self.initialised)} kept at initialisation, {len(self.unused)} SVD tensors unused")


def convert_svd_unet_state_dict(
    svd_state: dict[str, torch.Tensor], genxd_state: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], SVDConversionReport]:
    """A full GenXD state dict from SVD weights (rules in the module docstring).

    ``genxd_state``: the state dict of a freshly built GenXD UNet of the matching layout (its values
    are used for the keys SVD has no counterpart for). Returns ``(state dict, report)``.
    """
    out: dict[str, torch.Tensor] = {}
    report = SVDConversionReport()
    used: set[str] = set()
    for key, init in genxd_state.items():
        source = None
        how = ""
        if key in svd_state:
            source, how = key, ""
        elif ".mv_res_block." in key:
            source, how = key.replace(".mv_res_block.", ".temporal_res_block."), "temporal_res_block"
        elif ".multiview_transformer_blocks." in key:
            source, how = key.replace(".multiview_transformer_blocks.", ".temporal_transformer_blocks."), "temporal_transformer_blocks"
        elif key.endswith(".time_mixer.spatial_mv_factor"):
            source, how = key.replace(".spatial_mv_factor", ".mix_factor"), "time_mixer.mix_factor"
        elif key.startswith("motion_embedding."):
            source, how = "time_embedding." + key[len("motion_embedding."):], "time_embedding"
        if source is None or source not in svd_state:
            out[key] = init.clone()
            report.initialised.append(key)
            continue
        value = svd_state[source].to(init.dtype)
        used.add(source)
        if value.shape == init.shape:
            out[key] = value.clone()
            if how:
                report.derived[key] = f"copied from {how}"
            else:
                report.copied.append(key)
        elif key == "conv_in.weight" and value.shape[0] == init.shape[0] and value.shape[1] < init.shape[1] and value.shape[2:] == init.shape[2:]:
            w = torch.zeros_like(init)
            w[:, : value.shape[1]] = value
            out[key] = w
            report.derived[key] = f"first {value.shape[1]} input channels copied, {init.shape[1] - value.shape[1]} new channels zero"
        elif key == "add_embedding.linear_1.weight" and value.shape[0] == init.shape[0] and value.shape[1] > init.shape[1]:
            out[key] = value[:, : init.shape[1]].clone()
            report.derived[key] = f"first {init.shape[1]} of {value.shape[1]} input columns"
        else:
            raise ValueError(
                f"SVD weight {source} has shape {tuple(value.shape)} but GenXD's {key} is {tuple(init.shape)}: "
                "the SVD UNet and the GenXD config do not have the same layout"
            )
    report.unused = sorted(k for k in svd_state if k not in used)
    return out, report


# ----------------------------------------------------------------------------------------------
# builders
# ----------------------------------------------------------------------------------------------


def check_model_options(cfg: ModelConfig, unet_dir: Path | str | None = None) -> None:
    """Refuse model options that contradict ``model.init`` before anything loads: ``init: genxd`` takes the UNet
    layout from the checkpoint, so ``model.unet`` may only set ``num_frames`` / ``sample_size``; a ``pretrained``
    that is a checkpoint's ``unet/`` (or a run's folder) says which folder to pass."""
    if cfg.init == "genxd" and cfg.pretrained:
        from ..checkpoint_folders import checkpoint_hint

        pretrained = bundled_or(cfg.pretrained)
        assert pretrained is not None  # bundled_or keeps a folder name a str
        hint = checkpoint_hint(pretrained)
        if hint is not None:
            raise ValueError(f"model.pretrained {cfg.pretrained}: {hint}")
    extra = sorted(set(cfg.unet) - {"num_frames", "sample_size"}) if cfg.init == "genxd" else []
    if extra:
        where = unet_dir or _unet_folder(cfg.pretrained)
        raise ValueError(f"model.init=genxd takes the UNet layout from {where}; model.unet may only set "
                         f"num_frames / sample_size, got {extra}")


def _unet_folder(pretrained: str | None) -> Path | str:
    """The ``unet/`` folder a message names for ``model.pretrained``: of the folder it stands for (the bundled
    model's for ``bundled``, the newest checkpoint for ``RUN/checkpoints/latest``), as given where none is found."""
    if not pretrained:
        return "model.pretrained/unet"
    try:
        return starting_folder(pretrained) / "unet"
    except FileNotFoundError:  # no checkpoint for 'latest': loading says so
        return f"{pretrained}/unet"


def build_unet(cfg: ModelConfig, progress: bool = True) -> tuple[UNetMVTemporalConditionModel, str]:
    """The UNet to train and a one-line description of where it came from; ``progress``: diffusers' bar while a
    sharded GenXD UNet loads (``logging.progress_bar``)."""
    if cfg.init == "scratch":
        if not cfg.unet:
            raise ValueError("model.init=scratch needs model.unet (a UNetMVTemporalConditionModel config)")
        check_group_norm_channels("model.unet", cfg.unet, "UNetMVTemporalConditionModel")
        check_config_sizes(Path("model.unet"), cfg.unet)  # before the network is sized: 100000 layers took hours
        check_network_fits_memory(UNetMVTemporalConditionModel, cfg.unet, "model.unet")
        try:
            unet = UNetMVTemporalConditionModel(**cfg.unet)
        except TypeError as exc:
            raise ValueError(f"model.unet: {exc}") from None
        return unet, "random initialisation (model.unet config)"
    root = starting_folder(cfg.pretrained)  # type: ignore[arg-type]
    if cfg.init == "genxd":
        unet_dir = root / "unet" if (root / "unet").is_dir() else root
        if not (unet_dir / "config.json").is_file():
            raise (component_loop_error(root, "unet")  # was: "no unet/config.json" for a unet link to itself
                   or FileNotFoundError(f"{root}: no unet/config.json (expected a GenXD checkpoint folder)"))
        check_model_options(cfg, unet_dir)
        unet = load_component(UNetMVTemporalConditionModel, unet_dir, "a GenXD checkpoint's unet/",
                              cfg.allow_pickle, ALLOW_PICKLE_HINT, progress)
        if cfg.unet:
            unet.register_to_config(**cfg.unet)
        return unet, f"GenXD checkpoint {unet_dir}"
    unet_dir = _svd_unet_dir(root)
    if cfg.unet:
        check_svd_overrides(unet_dir / "config.json", cfg.unet)
    svd_config, svd_state = load_svd_state_dict(unet_dir, cfg.allow_pickle)
    config_path = unet_dir / "config.json"
    try:
        unet = UNetMVTemporalConditionModel(**unet_config_from_svd(svd_config, **cfg.unet))
        state, report = convert_svd_unet_state_dict(svd_state, unet.state_dict())
        unet.load_state_dict(state, strict=True)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign config fails in many ways; all say so
        if is_out_of_memory(exc):
            raise
        raise ValueError(f"{config_path}: cannot build a GenXD UNet from this Stable Video Diffusion UNet "
                         f"({first_line(exc, with_type=True, limit=300)})") from None
    return unet, f"Stable Video Diffusion {root}: {report.summary()}"


def build_vae(cfg: VAEModelConfig, fallback: str | None = None, allow_pickle: bool = False,
              allow_hint: str | None = None, progress: bool = True, section: str = "model.vae") -> DiffusersModel:
    """The VAE: ``cfg.pretrained`` (a vae folder or a folder with ``vae/``), else ``fallback/vae``, else
    a random one from ``cfg.config``; ``allow_pickle`` (or ``cfg.allow_pickle``) / ``allow_hint`` / ``progress``:
    as :func:`~genxd.checkpoints.load_component`; ``section``: where ``cfg`` is in the config, for messages
    (``model.vae`` in ``genxd train``'s, ``vae`` in ``genxd train-vae``'s)."""
    path = cfg.pretrained or fallback
    if path is not None:
        root = starting_folder(path)
        vae_dir = root / "vae" if (root / "vae" / "config.json").is_file() else root
        if not (vae_dir / "config.json").is_file():
            raise (component_loop_error(root, "vae")
                   or FileNotFoundError(f"{root}: no vae/config.json or config.json (expected a VAE folder)"))
        return load_component(AutoencoderKLTemporalDecoder, vae_dir, "a VAE folder", allow_pickle or cfg.allow_pickle,
                              allow_hint, progress)
    if not cfg.config:
        raise ValueError(f"the VAE needs {section}.pretrained (a folder) or {section}.config (a diffusers config)")
    check_vae_config(cfg.config, f"{section}.config")
    check_network_fits_memory(AutoencoderKLTemporalDecoder, cfg.config, f"{section}.config")
    try:
        return AutoencoderKLTemporalDecoder(**cfg.config)
    except TypeError as exc:
        raise ValueError(f"{section}.config: {exc}") from None


def check_vae_config(config: dict[str, Any], where: str) -> None:
    """A ValueError naming ``where`` (``vae.config``) for a VAE config that builds but cannot train on RGB clips:
    a value of another type than the class declares, channels other than 3 in and out (one out channel trained in
    silence, the loss broadcasting it over three), no latent channels, a level count that differs between
    ``block_out_channels`` and ``down_block_types`` (an IndexError at the first step)."""
    from ..config_keys import check_config_keys, check_config_types

    check_config_types(Path(where), config, AutoencoderKLTemporalDecoder)  # the path is only named
    check_group_norm_channels(where, config, "AutoencoderKLTemporalDecoder")  # norm_num_groups: said as such
    # a misspelt key: the one it is close to (the constructor's TypeError named the key alone)
    check_config_keys(Path(where), config, AutoencoderKLTemporalDecoder)
    check_config_sizes(Path(where), config)
    for key in ("in_channels", "out_channels"):
        if config.get(key, 3) != 3:
            raise ValueError(f"{where}: {key} must be 3 (the clips are RGB), got {config[key]!r}")
    if config.get("latent_channels", 4) < 1:
        raise ValueError(f"{where}: latent_channels must be a whole number >= 1, got {config['latent_channels']!r}")
    defaults = inspect.signature(AutoencoderKLTemporalDecoder).parameters
    channels = config.get("block_out_channels", defaults["block_out_channels"].default)
    blocks = config.get("down_block_types", defaults["down_block_types"].default)
    if not channels or any(c < 1 for c in channels):
        raise ValueError(f"{where}: block_out_channels must be whole numbers >= 1, got {channels!r}")
    if len(channels) != len(blocks):
        raise ValueError(f"{where}: block_out_channels has {len(channels)} entries, down_block_types {len(blocks)}: "
                         "one of each per level")


def check_network_fits_memory(model_cls: Any, config: dict[str, Any], where: str) -> None:
    """A ValueError naming ``where`` (``vae.config``, ``model.unet``) when the weights of the network ``model_cls`` builds from
    ``config`` would not fit in this machine's memory at float32 (training needs several times that: gradients, the
    optimiser's state). Sizes each below :data:`~genxd.checkpoints.MAX_CONFIG_SIZE` can still ask for that
    (``block_out_channels: [60000, ...]``: 130 GB): torch's allocator failed with a traceback of 30 lines while the
    network was built, or the build was killed without a word. Nothing is checked where either is unknown, nor for a
    key the class does not take (its constructor says so; diffusers' from_config would log a line of its own)."""
    from ..utils.machine import bytes_text, physical_memory

    if set(config) - set(inspect.signature(model_cls).parameters):
        return
    memory = physical_memory()
    count = None if memory is None else built_parameter_count(model_cls, config)
    if memory is None or count is None or 4 * count <= memory:
        return
    raise ValueError(f"{where}: a network of {count / 1e6:,.0f}M parameters, {bytes_text(4 * count)} at float32 "
                     f"before any gradient or optimiser state, more than this machine's {bytes_text(memory)} of memory: "
                     "use fewer or narrower blocks")


def check_svd_overrides(config_path: Path, overrides: dict[str, Any]) -> None:
    """``model.unet`` of ``model.init: svd`` (applied over the SVD UNet config ``config_path`` converted to GenXD's,
    :func:`unet_config_from_svd`), checked before the SVD weights are read (gigabytes) and the network is built: a
    size beyond any model (:func:`~genxd.checkpoints.check_config_sizes`, naming ``model.unet``), then a network
    that would not fit in memory (:func:`check_network_fits_memory`, naming the config and ``model.unet``). A config
    that cannot be read or converted is left to the loader, which names what is wrong."""
    check_config_sizes(Path("model.unet"), overrides)  # the path is only named
    try:
        svd_config = read_json(config_path, "a Stable Video Diffusion UNet config")
        config = unet_config_from_svd(svd_config, **overrides)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return
    check_network_fits_memory(UNetMVTemporalConditionModel, config, f"{config_path} (as a GenXD UNet, with model.unet)")


def build_scheduler(path: str | None) -> DiffusersModel:
    """The Euler v-prediction scheduler saved with checkpoints (default: the released GenXD one)."""
    if path is None:
        return EulerDiscreteScheduler.from_config(RELEASED_SCHEDULER_CONFIG)
    root = starting_folder(path)
    folder = root / "scheduler" if (root / "scheduler").is_dir() else root
    sched = load_component(EulerDiscreteScheduler, folder, "a scheduler folder")
    if sched.config.prediction_type != "v_prediction":
        raise ValueError(f"{root}: scheduler prediction_type is {sched.config.prediction_type!r}; GenXD trains v_prediction")
    return sched


def latent_fit_sources(cfg: ModelConfig) -> tuple[tuple[dict | None, str], tuple[dict | None, str]]:
    """``((UNet config, where it comes from), (VAE config, where it comes from))`` as :func:`build_unet` and
    :func:`build_vae` will read them, nothing built: ``model.unet`` / ``model.vae.config`` (a YAML section), a
    folder's ``config.json``, a Stable Video Diffusion UNet config converted to GenXD's. A config that cannot be
    read is None (its builder says why)."""
    unet: dict | None = None
    vae: dict | None = None
    unet_source, vae_source = "model.unet", "model.vae.config"
    try:
        if cfg.init == "genxd":
            root = starting_folder(cfg.pretrained)  # type: ignore[arg-type]
            path = (root / "unet" if (root / "unet").is_dir() else root) / "config.json"
            unet, unet_source = read_json(path, "a GenXD UNet config"), str(path)
        elif cfg.init == "svd":
            path = _svd_unet_dir(cfg.pretrained) / "config.json"  # type: ignore[arg-type]
            unet_source = f"{path} (as a GenXD UNet{', with model.unet' if cfg.unet else ''})"
            unet = unet_config_from_svd(read_json(path, "a Stable Video Diffusion UNet config"), **cfg.unet)
        else:
            unet = dict(cfg.unet)
    except (OSError, ValueError, TypeError, KeyError):
        unet = None
    vae_folder = cfg.vae.pretrained or (cfg.pretrained if cfg.init in ("genxd", "svd") else None)
    try:
        if vae_folder:
            root = starting_folder(vae_folder)
            path = (root / "vae" if (root / "vae" / "config.json").is_file() else root) / "config.json"
            vae, vae_source = read_json(path, "a VAE config"), str(path)
        else:
            vae = cfg.vae.config
    except (OSError, ValueError, TypeError):
        vae = None
    return ((unet if isinstance(unet, dict) else None, unet_source),
            (vae if isinstance(vae, dict) else None, vae_source))


def check_latent_fit(cfg: ModelConfig, unet: DiffusersModel = None, vae: DiffusersModel = None) -> None:
    """A ValueError naming both configs when the UNet does not take and predict the VAE's latents, as generation
    refuses such a model folder (:func:`genxd.component_fit.check_latent_channels`): from the configs before
    anything loads; with the built ``unet`` and ``vae``, from theirs."""
    (unet_config, unet_source), (vae_config, vae_source) = latent_fit_sources(cfg)
    if unet is not None and vae is not None:
        unet_config, vae_config = dict(unet.config), dict(vae.config)
    if unet_config is not None and vae_config is not None:
        check_latent_channels_of(unet_config, vae_config, unet_source, vae_source)


def size_multiple(cfg: ModelConfig) -> int | None:
    """What image sizes must be multiples of (VAE downsampling x UNet downsampling), from the model configs alone
    (no weights read), so that a bad ``data.height`` is refused before the model loads; None when the configs cannot
    tell (the model's own check runs once it is built)."""
    import inspect

    def levels(config: Any) -> int | None:
        channels = config.get("block_out_channels") if isinstance(config, dict) else None
        return len(channels) if isinstance(channels, (list, tuple)) and channels else None

    def folder_config(path: str | None, sub: str) -> Any:
        root = starting_folder(path)  # type: ignore[arg-type]
        for folder in (root / sub, root):
            if (folder / "config.json").is_file():
                return read_json(folder / "config.json", "a model config")
        return None

    try:
        vae_source = cfg.vae.pretrained or (cfg.pretrained if cfg.init in ("genxd", "svd") else None)
        if not vae_source and cfg.vae.config is None:  # build_vae refuses it (no folder, no config)
            return None
        vae = folder_config(vae_source, "vae") if vae_source else \
            {"block_out_channels": (cfg.vae.config or {}).get("block_out_channels",
                                                      inspect.signature(AutoencoderKLTemporalDecoder).parameters["block_out_channels"].default)}
        if cfg.init == "scratch":
            unet = {"block_out_channels": cfg.unet.get("block_out_channels", inspect.signature(
                UNetMVTemporalConditionModel).parameters["block_out_channels"].default)}
        else:
            unet = folder_config(cfg.pretrained, "unet")
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    v, u = levels(vae), levels(unet)
    return None if v is None or u is None else 2 ** (v - 1) * 2 ** (u - 1)


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def model_bytes(module: torch.nn.Module, dtype: torch.dtype = torch.float32) -> int:
    """Bytes of the weights stored in ``dtype`` (what a safetensors file holds, headers aside)."""
    return count_parameters(module) * torch.tensor([], dtype=dtype).element_size()
