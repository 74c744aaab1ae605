"""``genxd train``: GenXD training on accelerate (one process, DDP or FSDP through ``accelerate launch``).

The loop, per optimiser step ``s`` (global batch ``G``): for each micro-batch, encode the clips with
the frozen VAE, draw each sample's context views / noise level / noise / dropout from its stream
position (:mod:`genxd.training.objective`), build the conditions exactly as the pipeline does, and
back-propagate the v-prediction loss on the non-context frames; then clip gradients, step AdamW
(learning rate from :func:`genxd.training.loop.lr_at`), update the EMA. Checkpoints, validation
videos and logs at their intervals; a final checkpoint at the end (or when ``max_minutes`` is up).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from ..utils.json_text import json_text
from ..pipelines.tf32 import with_training_tf32
from ..utils.progress import progress_bar
from .config import OptimConfig, TrainConfig
from .data import build_training_dataset, make_loader, stop_workers
from .ema import averaged_weights, ema_weights_for
from ..checkpoint_folders import starting_folder
from .loop import TrainingRun
from .stops import LastCheckpoint
from .optional_packages import EIGHT_BIT_ADAM_MISSING
from .models import (ALLOW_PICKLE_HINT, DiffusersModel, build_scheduler, build_unet, build_vae, check_latent_fit,
                     check_model_options, count_parameters, size_multiple)
from .objective import SampleDrawer, encode_latents, genxd_loss

__all__ = ["train_genxd", "make_optimizer", "save_module", "scene_depth_entry", "inherited_generation"]


def scene_depth_entry(datasets: list[dict]) -> dict[str, float | None]:
    """``{"scene_depth": 1.0}`` for ``generation_config.json`` when every training dataset normalises its clips'
    cameras by the scene (``camera_normalization: scene``, given or the dataset class's default: the median
    depth seen from the first camera becomes 1), so that camera presets are scaled to the model
    (:attr:`genxd.checkpoints.ModelInfo.preset_scale`); else ``{"scene_depth": None}`` (JSON null: the presets'
    own scale, the data's scale not known; stated, so that ``genxd generate`` does not take the model for one
    trained before genxd recorded it)."""
    import inspect

    from genxd.data.datasets.mixture import dataset_class

    def mode(spec: dict) -> str:
        if "camera_normalization" in spec:
            return str(spec["camera_normalization"])
        cls = dataset_class(str(spec.get("type")))
        param = inspect.signature(cls).parameters.get("camera_normalization") if cls is not None else None
        return str(param.default) if param is not None else "unknown"

    return {"scene_depth": 1.0 if {mode(d) for d in datasets} == {"scene"} else None}


#: What a run writes into its checkpoints' ``generation_config.json`` itself (its data's size and camera scale);
#: ``trained`` (the starting model's ranges: its data, not this run's) and ``_`` notes are not inherited either.
RUN_GENERATION_KEYS = frozenset({"resolution", "height", "width", "num_frames", "scene_depth", "trained"})
#: A checkpoint's sampling defaults when the starting model states none (the released model's).
DEFAULT_GENERATION = {"num_inference_steps": 25, "guidance_scale": 3.0}


def inherited_generation(model: Any) -> tuple[dict[str, Any], str | None]:
    """The starting model's generation settings (``model.init: genxd``: its ``generation_config.json``, e.g. the
    bundled model's focal 1.1, 10 steps, guidance 2.0), less what this run defines itself
    (:data:`RUN_GENERATION_KEYS`), ``_`` notes and keys genxd never reads (a misspelt ``guidance_scal``, another
    tool's: copied, every checkpoint of the run was warned of at generation); ``{}`` for other inits or a folder
    without the file. With a warning naming the keys left out, None when there are none."""
    if model.init != "genxd" or not model.pretrained:
        return {}, None
    from ..checkpoints import GENERATION_CONFIG
    from ..generation_settings import GENERATION_KEYS, unknown_generation_keys
    from ..utils.close_names import close_matches_note
    from ..utils.json_files import read_json

    try:
        path = starting_folder(model.pretrained) / GENERATION_CONFIG
    except FileNotFoundError:
        return {}, None  # build_unet says what is missing
    if not path.is_file():
        return {}, None
    found = read_json(path, "a model's generation settings")
    if not isinstance(found, dict):
        raise ValueError(f"{path}: expected a JSON object (generation settings), got {type(found).__name__}")
    unknown = unknown_generation_keys(found)
    warning = (f"{path}: unknown key(s) {unknown}{close_matches_note(unknown, GENERATION_KEYS)} are not copied into "
               f"this run's checkpoints (genxd never reads them; it reads {', '.join(GENERATION_KEYS)}, and notes "
               "named _...)") if unknown else None
    return {k: v for k, v in found.items() if k in GENERATION_KEYS and k not in RUN_GENERATION_KEYS}, warning


def make_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW (``torch.optim``), or bitsandbytes' 8-bit AdamW when ``use_8bit_adam``.

    On CUDA, torch's AdamW runs fused (one kernel per parameter group, no temporaries the size of the
    model: the multi-tensor ``foreach`` implementation allocates several full-size temporaries, about
    15 GB for the released 1.93B-parameter UNet)."""
    params = [p for p in params if p.requires_grad]
    kwargs: dict[str, Any] = dict(lr=cfg.learning_rate, betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_epsilon,
                  weight_decay=cfg.weight_decay)
    if cfg.use_8bit_adam:
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise ValueError(EIGHT_BIT_ADAM_MISSING) from None
        return bnb.optim.AdamW8bit(params, **kwargs)
    fused = bool(params) and all(p.is_cuda and p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(params, **kwargs, fused=fused)


def save_module(module: DiffusersModel, folder: Path, dtype: torch.dtype,
                state_dict: dict[str, torch.Tensor] | None = None) -> None:
    """Write a diffusers model folder (``config.json`` + ``diffusion_pytorch_model.safetensors``) with
    floating-point weights cast to ``dtype``; ``state_dict`` replaces the module's own weights."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    module.save_config(folder)
    sd = module.state_dict() if state_dict is None else state_dict
    out = {k: (v.detach().to("cpu", dtype) if v.dtype.is_floating_point else v.detach().cpu()).contiguous()
           for k, v in sd.items()}
    save_file(out, str(folder / "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})


def _vae_multiple(vae: DiffusersModel, unet: DiffusersModel) -> tuple[int, int]:
    vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
    return vae_scale, vae_scale * 2 ** (len(unet.config.block_out_channels) - 1)


@with_training_tf32
def train_genxd(cfg: TrainConfig, resume: str | None = None, overwrite: bool = False, cpu: bool = False,
                config_path: str | os.PathLike | None = None) -> Path | None:
    """Train GenXD as configured; returns the last checkpoint folder (main process; None elsewhere).

    Args:
        cfg: the configuration (:func:`load_config`); ``cfg.output_dir`` is the run folder.
        resume: ``"latest"`` (the run folder's newest checkpoint; none yet: a new run starts) or a checkpoint
            folder to continue from.
        overwrite: start over in a run folder that holds an earlier run's checkpoints (deleted once this run has
            one); without it (default) such a folder is refused. With ``resume``: a ValueError (they contradict).
        cpu: train on the CPU even where a GPU is available. config_path: the YAML file ``cfg`` came from: when it
            is the run folder's own ``config.yaml``, that file is kept and the resolved configuration is written
            beside it (``config.resolved.yaml``).
    """
    run = TrainingRun(cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, "genxd",
                      resume=resume, overwrite=overwrite, cpu=cpu, config_path=config_path)
    acc = run.accelerator
    opt = cfg.training
    inherited, left_out = inherited_generation(cfg.model)
    if left_out is not None:
        run.print(f"warning: {left_out}")
    # the data first: a missing root, a mistyped option or a bad size is refused before the model loads (seconds)
    check_model_options(cfg.model)
    check_latent_fit(cfg.model)  # as generation refuses such a model folder, and before minutes of loading
    height, width = cfg.data.height, cfg.data.width or cfg.data.height
    multiple = size_multiple(cfg.model)
    if multiple is not None and (height % multiple or width % multiple):
        raise ValueError(f"data.height/width must be multiples of {multiple} for this VAE and UNet, got {height}x{width}")
    dataset = build_training_dataset(cfg.data, cfg.seed, preload=False)

    # models (identical on every process: the seed is set before they are built)
    bars = run.is_main and cfg.logging.progress_bar
    unet, origin = build_unet(cfg.model, progress=bars)
    fallback = cfg.model.pretrained if cfg.model.init in ("genxd", "svd") else None
    vae = build_vae(cfg.model.vae, fallback=fallback, allow_pickle=cfg.model.allow_pickle, allow_hint=ALLOW_PICKLE_HINT,
                    progress=bars)
    sched_path = cfg.model.scheduler
    if (sched_path is None and cfg.model.init == "genxd" and fallback
            and (starting_folder(fallback) / "scheduler").is_dir()):
        sched_path = fallback
    scheduler = build_scheduler(sched_path)
    vae_scale, multiple = _vae_multiple(vae, unet)
    if height % multiple or width % multiple:
        raise ValueError(f"data.height/width must be multiples of {multiple} for this VAE and UNet, got {height}x{width}")
    check_latent_fit(cfg.model, unet, vae)  # the built models' own configs
    unet.register_to_config(num_frames=cfg.data.num_frames, sample_size=height // vae_scale)
    unet_config: Any = unet.config  # the one registered now (diffusers' FrozenDict, read by attribute)
    n_ids = unet_config.projection_class_embeddings_input_dim // unet_config.addition_time_embed_dim
    use_rays, use_motion = bool(unet_config.ray_condition), unet.motion_embedding is not None
    run.print(f"UNet: {origin}; {count_parameters(unet) / 1e6:.2f}M parameters; VAE {count_parameters(vae) / 1e6:.2f}M (frozen)")

    vae.requires_grad_(False).eval()
    if opt.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    fsdp = run.sharded
    if not fsdp:
        unet.to(acc.device)  # before the optimiser exists, so that AdamW can run fused on CUDA
    if opt.compile:
        unet.compile()  # in place: parameter names (checkpoints, EMA) stay the same
    optimizer = make_optimizer(unet.parameters(), opt)
    ema = ema_weights_for(unet, opt.ema, fsdp)
    unet, optimizer = acc.prepare(unet, optimizer)
    vae_dtype = torch.bfloat16 if opt.mixed_precision == "bf16" else torch.float32
    vae.to(acc.device)
    if vae_dtype != torch.float32:
        vae.to(dtype=vae_dtype)

    run.data_items = len(dataset)  # type: ignore[arg-type]  # torch's Dataset stub has no __len__; ours have
    start_step = run.resume(ema, optimizer)
    checked_data = dataset  # before preloading: its scenes (skipped ones) are known
    dataset, sampler = run.stream(cfg.data, start_step, dataset)
    latent_channels = vae.config.latent_channels
    drawer = SampleDrawer(cfg.seed, cfg.data.num_frames, (latent_channels, height // vae_scale, width // vae_scale),
                          cfg.conditioning, cfg.noise)  # each sample's draws are made in the DataLoader workers
    loader = make_loader(dataset, sampler, cfg.data.num_workers, pin_memory=acc.device.type == "cuda", draw=drawer)
    progress = data_iter = None  # made below; the finally closes what was made
    with run.started():  # the settings passed every check: only now is the run folder changed (--overwrite,
        try:  # config.yaml); however the block is left, the folder's lock goes and the loggers close
            run.print_data(checked_data)
            val_samples = []
            val_every = run.validation_every(cfg.validation.every_steps)
            if val_every > 0 and run.is_main:
                val_samples = [dataset[i] for i in range(min(cfg.validation.num_samples, len(dataset)))]
            scheduler_config = dict(scheduler.config)
            unwrapped = acc.unwrap_model(unet)

            def write_parts(folder: Path, unet_state: dict[str, torch.Tensor] | None) -> None:
                dtype = run.save_dtype()
                save_module(unwrapped, folder / "unet", dtype, ema.state_dict() if ema is not None else unet_state)
                save_module(vae, folder / "vae", dtype)
                scheduler.save_pretrained(folder / "scheduler")
                if ema is not None:
                    ema.save(folder / "ema.safetensors")
                gen = {"resolution": height, "height": height, "width": width, "num_frames": cfg.data.num_frames,
                       **DEFAULT_GENERATION, **inherited, **scene_depth_entry(cfg.data.datasets), **cfg.generation}
                (folder / "generation_config.json").write_text(json_text(gen, indent=2) + "\n")

            def checkpoint(step: int) -> Path | None:
                if window:  # the steps not logged yet: a diverged run is not saved (over the good checkpoints)
                    run.raise_if_diverged(torch.stack(window).tolist(), step, last)
                state = None if ema is not None else acc.get_state_dict(unet)
                return run.save(step, lambda folder: write_parts(folder, state))

            def validate(step: int) -> None:
                if not run.is_main or not val_samples:
                    return
                from .validation import validate_genxd

                with averaged_weights(unwrapped, ema), acc.autocast():
                    metrics = validate_genxd(unwrapped, vae, scheduler_config, val_samples, run.output_dir / "validation",
                                             step, cfg.validation.num_inference_steps, cfg.validation.guidance_scale,
                                             cfg.validation.fps, cfg.validation.seed)
                run.log(step, metrics)

            step = start_step
            last = LastCheckpoint(start_step if run.resume_from is not None else -1)
            progress = progress_bar(total=opt.max_steps, initial=step, disable=not (run.is_main and cfg.logging.progress_bar),
                                    desc="genxd train")
            data_iter = iter(loader)
            window: list[torch.Tensor] = []
            t_window, n_window, data_wait = time.monotonic(), 0, 0.0
            run.interrupts.__enter__()
            while step < opt.max_steps:
                lr = run.set_lr(optimizer, step)
                per_sample = []
                grad_norm = None
                for micro in range(opt.gradient_accumulation_steps):
                    t_data = time.monotonic()
                    batch = run.next_batch(data_iter, micro == 0, step, last.step, checkpoint)
                    data_wait += time.monotonic() - t_data
                    with acc.accumulate(unet):
                        latents = encode_latents(vae, batch["frames"].to(acc.device, non_blocking=True))
                        draws = batch["draws"]
                        if tuple(draws[0].noise.shape) != tuple(latents.shape[1:]):
                            raise ValueError(f"noise drawn for latents {tuple(draws[0].noise.shape)}, the VAE gives "
                                             f"{tuple(latents.shape[1:])}")
                        object_mask = batch.get("object_mask") if opt.object_loss_weight > 0 else None
                        if object_mask is not None:
                            object_mask = object_mask.to(acc.device, non_blocking=True)
                        loss, losses = genxd_loss(unet, latents, batch["c2w"], batch["K"], batch["motion_strength"], draws,
                                                  num_added_time_ids=n_ids, use_rays=use_rays, use_motion=use_motion,
                                                  object_mask=object_mask, object_weight=opt.object_loss_weight)
                        acc.backward(loss)
                        if acc.sync_gradients and opt.max_grad_norm > 0:
                            grad_norm = acc.clip_grad_norm_(unet.parameters(), opt.max_grad_norm)
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                    per_sample.append(losses)
                step += 1
                if ema is not None:
                    ema.update(unwrapped, step)
                step_losses = acc.gather(torch.cat(per_sample).float())
                window.append(step_losses.mean().detach())
                n_window += run.global_batch
                progress.update(1)
                if step % max(1, cfg.logging.every_steps) == 0 or step == opt.max_steps:
                    elapsed = time.monotonic() - t_window
                    run.raise_if_diverged(torch.stack(window).tolist(), step, last)
                    mean_loss = float(torch.stack(window).mean())
                    metrics: dict[str, Any] = {"loss": mean_loss, "lr": lr,
                                               "samples_per_s": n_window / max(elapsed, 1e-9),
                                               "data_wait_fraction": data_wait / max(elapsed, 1e-9)}
                    if grad_norm is not None:
                        metrics["grad_norm"] = float(grad_norm)
                    if ema is not None:
                        metrics["ema_decay"] = ema.current_decay(step)
                    run.log(step, metrics)
                    progress.set_postfix(loss=f"{metrics['loss']:.4f}", lr=f"{lr:.2e}",
                                         data=f"{metrics['data_wait_fraction']:.0%}")
                    window, t_window, n_window, data_wait = [], time.monotonic(), 0, 0.0
                if val_every > 0 and step % val_every == 0:
                    validate(step)
                if run.end_step(step, cfg.checkpoint.every_steps, checkpoint, last):
                    break
            final = run.final_checkpoint(step, checkpoint, last)
        finally:  # the loop's own: its bar, and its DataLoader workers (a kept traceback would keep them)
            if progress is not None:
                progress.close()
            stop_workers(data_iter)  # the error's traceback may keep the iterator (then exit waited for ever)
            del data_iter
    run.finish()
    if run.is_main:
        run.print(f"done at step {step}; checkpoint {final}")
    return final if run.is_main else None
