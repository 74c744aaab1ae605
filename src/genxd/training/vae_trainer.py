"""``genxd train-vae``: train a (small) ``AutoencoderKLTemporalDecoder`` on clips.

Each step encodes every frame, samples the posterior (noise seeded by the sample's stream position),
decodes each clip with the temporal decoder (``num_frames = data.num_frames``) and minimises
``l1 |x - x'| + l2 (x - x')^2 + kl_weight * KL`` (no perceptual loss; see
:class:`genxd.training.config.VAELossConfig`). Checkpoints hold a ``vae/`` folder whose
``scaling_factor`` is measured (``1 / std`` of the latents of ``loss.scale_samples`` fixed clips), so
the latents the UNet sees have unit variance; point ``model.vae.pretrained`` of a GenXD preset at it.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from ..pipelines.tf32 import with_training_tf32
from ..utils.progress import progress_bar
from .config import VAETrainConfig
from .data import build_training_dataset, make_loader, stop_workers
from .ema import averaged_weights, ema_weights_for
from .loop import TrainingRun
from .stops import LastCheckpoint
from .models import VAE_ALLOW_PICKLE_HINT, DiffusersModel, build_vae, count_parameters
from .objective import sample_seed
from .trainer import make_optimizer, save_module

__all__ = ["train_vae", "vae_loss", "measure_scaling_factor", "VAEWithPosterior"]


class VAEWithPosterior(torch.nn.Module):
    """Wraps the VAE so one ``forward`` (what DDP synchronises) encodes, samples and decodes."""

    def __init__(self, vae: DiffusersModel) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, noise: torch.Tensor, num_frames: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x [B*F, 3, H, W]`` in [-1, 1], ``noise`` like the latents -> (reconstruction, mean, logvar)."""
        posterior = self.vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * noise.to(posterior.mean.dtype)
        return self.vae.decode(z, num_frames=num_frames).sample, posterior.mean, posterior.logvar


def vae_loss(model: torch.nn.Module, frames: torch.Tensor, seeds: list[int], cfg: VAETrainConfig,
             latent_shape: tuple[int, int, int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss of clips ``frames [B, F, 3, H, W]`` in [0, 1] through a :class:`VAEWithPosterior` (possibly
    DDP-wrapped); ``seeds``: one per clip (posterior noise ``[F, *latent_shape]``)."""
    b, f = frames.shape[:2]
    x = frames.flatten(0, 1) * 2 - 1
    noise = torch.cat([torch.randn((f, *latent_shape), generator=torch.Generator().manual_seed(s)) for s in seeds])
    recon, mean, logvar = model(x, noise.to(x.device), f)
    diff = recon.float() - x.float()
    l1, l2 = diff.abs().mean(), (diff**2).mean()
    kl = 0.5 * (mean.float() ** 2 + logvar.float().exp() - 1.0 - logvar.float()).flatten(1).sum(1).mean() / x[0].numel()
    loss = cfg.loss.l1_weight * l1 + cfg.loss.l2_weight * l2 + cfg.loss.kl_weight * kl
    return loss, {"l1": l1.detach(), "l2": l2.detach(), "kl": kl.detach()}


@torch.no_grad()
def measure_scaling_factor(vae: DiffusersModel, clips: list[torch.Tensor]) -> float:
    """``1 / std`` of the posterior means of ``clips`` (each ``[F, 3, H, W]`` in [0, 1])."""
    device = next(vae.parameters()).device
    dtype = next(vae.parameters()).dtype
    latents = [vae.encode((c.to(device, dtype) * 2 - 1)).latent_dist.mode().float() for c in clips]
    std = float(torch.cat([l.flatten() for l in latents]).std())
    return 1.0 / max(std, 1e-6)


@with_training_tf32
def train_vae(cfg: VAETrainConfig, resume: str | None = None, overwrite: bool = False, cpu: bool = False,
              config_path: str | os.PathLike | None = None) -> Path | None:
    """Train the VAE as configured; returns the last checkpoint folder (main process; None elsewhere).

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
    run = TrainingRun(cfg.output_dir, cfg.seed, cfg.training, cfg.checkpoint, cfg.logging, cfg, "vae",
                      resume=resume, overwrite=overwrite, cpu=cpu, config_path=config_path)
    acc = run.accelerator
    opt = cfg.training
    dataset = build_training_dataset(cfg.data, cfg.seed, preload=False)  # the data is checked before the model
    vae = build_vae(cfg.vae, allow_hint=VAE_ALLOW_PICKLE_HINT, progress=run.is_main and cfg.logging.progress_bar,
                    section="vae")
    down = 2 ** (len(vae.config.block_out_channels) - 1)
    height, width = cfg.data.height, cfg.data.width or cfg.data.height
    if height % down or width % down:
        raise ValueError(f"data.height/width must be multiples of {down} for this VAE, got {height}x{width}")
    run.print(f"VAE: {count_parameters(vae) / 1e6:.2f}M parameters, latents 1/{down}")
    if opt.gradient_checkpointing:
        vae.enable_gradient_checkpointing()
    vae.train()
    latent_shape = (vae.config.latent_channels, height // down, width // down)
    if not run.sharded:
        vae.to(acc.device)  # before the optimiser exists, so that AdamW can run fused on CUDA
    optimizer = make_optimizer(vae.parameters(), opt)
    ema = ema_weights_for(vae, opt.ema, run.sharded)
    model, optimizer = acc.prepare(VAEWithPosterior(vae), optimizer)
    unwrapped = vae
    run.data_items = len(dataset)  # type: ignore[arg-type]  # torch's Dataset stub has no __len__; ours have
    start_step = run.resume(ema, optimizer)
    checked_data = dataset  # before preloading: its scenes (skipped ones) are known
    dataset, sampler = run.stream(cfg.data, start_step, dataset)
    loader = make_loader(dataset, sampler, cfg.data.num_workers, pin_memory=acc.device.type == "cuda")
    progress = data_iter = None  # made below; the finally closes what was made
    with run.started():  # the settings passed every check: only now is the run folder changed (--overwrite,
        try:  # config.yaml); however the block is left, the folder's lock goes and the loggers close
            run.print_data(checked_data)
            fixed = []
            val_every = run.validation_every(cfg.validation.every_steps)
            if run.is_main:
                n_fixed = max(cfg.loss.scale_samples, cfg.validation.num_samples if val_every else 0)
                fixed = [dataset[i]["frames"] for i in range(min(n_fixed, len(dataset)))]

            def write_parts(folder: Path, state: dict[str, torch.Tensor] | None, step: int) -> None:
                with averaged_weights(unwrapped, ema):
                    scale = measure_scaling_factor(unwrapped, fixed[: cfg.loss.scale_samples])
                    if not math.isfinite(scale) or scale <= 0:  # its vae/ would scale the UNet's latents by it
                        raise run.diverged_error(f"the latent scaling factor is {scale} at step {step} (latents "
                                                 "not finite)", last)
                    unwrapped.register_to_config(scaling_factor=scale)
                    save_module(unwrapped, folder / "vae", run.save_dtype(), None if ema is not None else state)
                    run.print(f"checkpoint: latent scaling factor {scale:.4f}")
                if ema is not None:
                    ema.save(folder / "ema.safetensors")

            def step_losses() -> list[float]:
                """The mean loss of each whole step in ``window`` (its micro-batches; averaged over the processes)."""
                k = opt.gradient_accumulation_steps
                done = window[: len(window) // k * k]  # a step an unreadable item cut short is not saved either
                if not done:
                    return []
                losses = acc.reduce(torch.stack([w["loss"] for w in done]), reduction="mean")
                return losses.view(-1, k).mean(dim=1).tolist()

            def checkpoint(step: int) -> Path | None:
                # the steps not logged yet: a diverged run is not saved (over the good checkpoints)
                run.raise_if_diverged(step_losses(), step, last)
                state = None
                if ema is None:
                    state = {k[len("vae."):]: v for k, v in acc.get_state_dict(model).items() if k.startswith("vae.")}
                return run.save(step, lambda folder: write_parts(folder, state, step))

            def validate(step: int) -> None:
                if not run.is_main or not fixed:
                    return
                from .validation import psnr, write_side_by_side

                def body() -> dict[str, float]:
                    scores = []
                    for i, clip in enumerate(fixed[: cfg.validation.num_samples]):
                        with torch.no_grad():
                            x = clip.to(acc.device) * 2 - 1
                            recon = unwrapped(x, num_frames=x.shape[0]).sample.float().cpu()
                        recon = (recon / 2 + 0.5).clamp(0, 1)
                        scores.append(psnr(recon, clip))
                        write_side_by_side(run.output_dir / "validation" / f"step_{step:07d}_{i}.mp4", [clip, recon],
                                           fps=cfg.validation.fps)
                    return {"val/psnr": sum(scores) / max(len(scores), 1)}

                with averaged_weights(unwrapped, ema):
                    metrics = body()
                run.log(step, metrics)

            step = start_step
            last = LastCheckpoint(start_step if run.resume_from is not None else -1)
            progress = progress_bar(total=opt.max_steps, initial=step, disable=not (run.is_main and cfg.logging.progress_bar),
                                    desc="genxd train-vae")
            data_iter = iter(loader)
            window: list[dict[str, torch.Tensor]] = []
            t_window, n_window = time.monotonic(), 0
            run.interrupts.__enter__()
            while step < opt.max_steps:
                lr = run.set_lr(optimizer, step)
                for micro in range(opt.gradient_accumulation_steps):
                    batch = run.next_batch(data_iter, micro == 0, step, last.step, checkpoint)
                    with acc.accumulate(model):
                        seeds = [sample_seed(cfg.seed, int(p), salt=1) for p in batch["stream_position"]]
                        loss, parts = vae_loss(model, batch["frames"].to(acc.device), seeds, cfg, latent_shape)
                        acc.backward(loss)
                        if acc.sync_gradients and opt.max_grad_norm > 0:
                            acc.clip_grad_norm_(model.parameters(), opt.max_grad_norm)
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                    window.append({"loss": loss.detach(), **parts})
                step += 1
                n_window += run.global_batch
                if ema is not None:
                    ema.update(unwrapped, step)
                progress.update(1)
                if step % max(1, cfg.logging.every_steps) == 0 or step == opt.max_steps:
                    run.raise_if_diverged(step_losses(), step, last)
                    metrics: dict[str, Any] = {
                        k: float(acc.reduce(torch.stack([w[k] for w in window]).mean(), reduction="mean"))
                        for k in window[0]
                    }
                    metrics.update(lr=lr, samples_per_s=n_window / max(time.monotonic() - t_window, 1e-9))
                    run.log(step, metrics)
                    progress.set_postfix(loss=f"{metrics['loss']:.4f}")
                    window, t_window, n_window = [], time.monotonic(), 0
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
