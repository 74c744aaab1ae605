"""Optimising 3D / 4D Gaussians against posed images (3DGS training, scaled to short runs).

Loss: ``(1 - lambda) L1 + lambda (1 - SSIM)`` with ``lambda = 0.2`` (3DGS), optionally
``+ lambda_lpips LPIPS`` (only when the lpips package and its weights are on disk), plus for 4D scenes a
motion regulariser ``lambda_motion x mean_g |motion_g|`` (mean L2 norm of each Gaussian's motion
coefficients: static parts stay static). One random training view per step, Adam per parameter
with 3DGS learning rates (centres: ``1.6e-4 x scene scale`` decaying to 1% over the run),
densification by :mod:`genxd.reconstruction.densify`, SH degree raised step by step.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal

import torch
from torch import Tensor

from ..caller_style import arg
from ..validation_warnings import GenXDWarning
from .densify import StrategyKind, make_strategy, short_run_schedule
from .gaussians import GaussianModel, MotionBasis
from .init import InitMethod, footprint_layers, init_method_for, initial_points, scene_scale
from .metrics import load_lpips_module, psnr, ssim
from .rasterizer import Backend
from .views import Views

__all__ = ["ReconstructionConfig", "TrainResult", "check_training_views", "train_gaussians", "render_views", "evaluate_views", "view_metrics"]

Mode = Literal["3d", "4d"]


@dataclass
class ReconstructionConfig:
    """Options of :func:`train_gaussians` (defaults suit 64-256 px inputs and 1-3k steps)."""

    iterations: int = 2000
    mode: Mode = "3d"
    device: str = "cpu"
    backend: Backend = "auto"
    seed: int = 0
    # appearance
    sh_degree: int = 1
    sh_degree_interval: int | None = None  # steps per SH degree increase (None: iterations / (2 (sh_degree + 1)))
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # loss
    lambda_dssim: float = 0.2
    lambda_lpips: float = 0.0  # > 0: add lambda x LPIPS (AlexNet) when lpips and its weights are on disk
    # initialisation
    init: InitMethod = "auto"
    init_points: int = 10_000
    init_opacity: float = 0.1
    init_scale: float = 1.0
    #: the initial Gaussians shrink (all by one factor) until the training views are at most this many
    #: Gaussians deep on average (:func:`~genxd.reconstruction.init.footprint_layers`); None: no limit.
    #: Sparse random points of a few views otherwise start as hundreds of layers of large splats and
    #: the first steps crawl on a CPU (docs/reconstruction.md, "On a CPU")
    init_max_layers: float | None = 40.0
    # learning rates: 3DGS / gsplat's, except colours and scales (4x and 2x: runs here are 10-100x
    # shorter than 3DGS's 30,000 steps)
    lr_means: float = 1.6e-4
    lr_means_final_factor: float = 0.01
    lr_scales: float = 1e-2
    lr_quats: float = 1e-3
    lr_opacities: float = 5e-2
    lr_sh0: float = 1e-2
    lr_shN: float = 1e-2 / 20
    # densification
    strategy: StrategyKind = "auto"
    grow_grad2d: float = 2e-4
    grow_scale3d: float = 0.01
    prune_opa: float = 0.005
    prune_scale3d: float = 0.1
    refine_start_iter: int | None = None  # None: short_run_schedule(iterations)
    refine_stop_iter: int | None = None
    refine_every: int | None = None
    reset_every: int | None = None
    max_gaussians: int | None = 200_000
    # 4D
    motion_poly_degree: int = 2
    motion_fourier_terms: int = 2
    lambda_motion: float = 1e-3
    lr_motion: float = 1.6e-3  # x scene scale
    temporal_opacity: bool = False
    lr_time: float = 1e-3

    def __post_init__(self) -> None:
        from .. import job_specs as js
        from .. import validation as v

        # types and ranges as the command line checks them ("iterations=2.5" was a TypeError deep inside)
        self.iterations = v.check(self.iterations, js.RECON_ITERATIONS, "iterations")
        self.seed = v.check(self.seed, v.SEED, "seed")
        if not isinstance(self.mode, str) or self.mode.lower() not in ("3d", "4d"):
            raise ValueError(f"mode must be '3d' or '4d', got {self.mode!r}")
        self.mode = "4d" if self.mode.lower() == "4d" else "3d"  # as genxd.generate takes "3D"
        self.temporal_opacity = v.check(self.temporal_opacity, v.Flag(), "temporal_opacity")
        if self.temporal_opacity and self.mode != "4d":  # a static scene has no time to fade in and out
            from .mode_checks import only_in_4d

            raise ValueError(only_in_4d("temporal_opacity"))
        self.sh_degree = v.check(self.sh_degree, js.SH_DEGREE, "sh_degree")
        self.lambda_dssim = v.check(self.lambda_dssim, v.Float(0.0, 1.0), "lambda_dssim")
        self.lambda_lpips = v.check(self.lambda_lpips, v.Float(0.0, 100.0), "lambda_lpips")
        self.init_points = v.check(self.init_points, js.INIT_POINTS, "init_points")
        self.background = v.check(self.background, v.Colour(), "background")  # (r, g, b) in [0, 1], or a name
        if self.init_max_layers is not None and not self.init_max_layers > 0:
            raise ValueError(f"init_max_layers must be positive or None, got {self.init_max_layers}")

    def densify_kwargs(self) -> dict[str, Any]:
        schedule = short_run_schedule(self.iterations)
        for key in schedule:
            value = getattr(self, key)
            if value is not None:
                schedule[key] = int(value)
        return dict(
            grow_grad2d=self.grow_grad2d,
            grow_scale3d=self.grow_scale3d,
            prune_opa=self.prune_opa,
            prune_scale3d=self.prune_scale3d,
            max_gaussians=self.max_gaussians,
            **schedule,
        )


@dataclass
class TrainResult:
    """A trained model and how training went."""

    model: GaussianModel
    config: ReconstructionConfig
    init_method: str
    scene_scale: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    lpips_loss: bool = False  # whether the LPIPS term was in the loss
    init_shrink: float = 1.0  # factor applied to the initial scales (ReconstructionConfig.init_max_layers)

    def summary(self) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        return {
            "num_gaussians": self.model.num_gaussians,
            "init": self.init_method,
            "scene_scale": self.scene_scale,
            "train_seconds": round(self.seconds, 3),
            "final_train_loss": last.get("loss"),
            "final_train_psnr": last.get("psnr"),
            "lpips_loss": self.lpips_loss,
            "init_shrink": self.init_shrink,
            "config": asdict(self.config),
        }


def _optimizers(model: GaussianModel, config: ReconstructionConfig, scale: float) -> dict[str, torch.optim.Optimizer]:
    lrs = {
        "means": config.lr_means * scale,
        "scales": config.lr_scales,
        "quats": config.lr_quats,
        "opacities": config.lr_opacities,
        "sh0": config.lr_sh0,
        "shN": config.lr_shN,
        "motion": config.lr_motion * scale,
        "time_centers": config.lr_time,
        "time_log_scales": config.lr_time,
    }
    return {
        name: torch.optim.Adam([{"params": [p], "lr": lrs[name], "name": name}], eps=1e-15)
        for name, p in model.params.items()
        if p.requires_grad
    }


def _bound_initial_footprint(model: GaussianModel, points: Tensor, views: Views, max_layers: float | None) -> float:
    """Shrink the initial scales by one factor so that the views are at most ``max_layers`` Gaussians deep.

    The footprint scales with sigma^2, so the factor is ``sqrt(max_layers / layers)``. Returns the factor
    (1.0: unchanged).
    """
    if max_layers is None:
        return 1.0
    sigmas = torch.exp(model.params["scales"].detach()).mean(-1)
    layers = footprint_layers(points, sigmas, views.c2w, views.K, views.height, views.width)
    if layers <= max_layers:
        return 1.0
    shrink = math.sqrt(max_layers / layers)
    with torch.no_grad():
        model.params["scales"].add_(math.log(shrink))
    return shrink


def photometric_loss(pred: Tensor, gt: Tensor, lambda_dssim: float) -> Tensor:
    """3DGS's image loss of renders against their views (``[..., C, H, W]``): ``(1 - λ) L1 + λ (1 - SSIM)``, the
    L1 and the (valid-region Gaussian) SSIM averaged over the batch; ``λ = 0`` skips the SSIM."""
    loss = (1.0 - lambda_dssim) * (pred - gt).abs().mean()
    if lambda_dssim > 0:
        loss = loss + lambda_dssim * (1.0 - ssim(pred, gt).mean())
    return loss


def _motion_regulariser(model: GaussianModel) -> Tensor:
    return model.params["motion"].norm(dim=-1).sum(-1).mean()


def check_training_views(views: Views, config: ReconstructionConfig) -> None:
    """A ValueError when :func:`train_gaussians` cannot fit ``views`` with ``config``: no views, images that are not
    floats in [0, 1] or smaller than the SSIM window, bad cameras, a 4D fit without times, an initialisation the
    views cannot give (``init="colmap"`` without sparse points, ``"depth"`` without depth maps), CUDA asked for and
    absent. ``genxd reconstruct`` checks first, so that such an input gives its error alone, before its notes."""
    if len(views) == 0:
        raise ValueError("no training views")
    views.check_values()
    if config.mode == "4d" and views.times is None:
        raise ValueError("4D reconstruction needs per-view times (transforms.json frames need 'time')")
    if min(views.height, views.width) < 11:
        raise ValueError(f"images must be at least 11x11 (SSIM window), got {views.width}x{views.height}")
    init_method_for(views, config.init)
    if torch.device(config.device).type == "cuda" and not torch.cuda.is_available():
        from ..validation import setting

        raise ValueError(f"{setting('device', 'cuda')} was asked for, but CUDA is not available")


def train_gaussians(
    views: Views,
    config: ReconstructionConfig | None = None,
    progress: bool = True,
    callback: Callable[[int, GaussianModel, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Fit Gaussians to ``views`` (all of them are training views).

    Args:
        views: posed images; for ``mode="4d"`` they need ``times``.
        config: options (default :class:`ReconstructionConfig`).
        progress: show a progress bar with the loss and PSNR.
        callback: called as ``callback(step, model, stats)`` after every step.
    """
    config = config or ReconstructionConfig()
    check_training_views(views, config)
    device = torch.device(config.device)
    # the global generator (the densification's splits draw from it) seeded for repeatable runs, in a fork: the
    # caller's random state is put back afterwards (it was left reseeded to config.seed)
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if device.type == "cuda" else []):
        if device.type == "cuda":
            torch.manual_seed(config.seed)
        else:  # CUDA's generators, outside the fork, are left alone
            torch.default_generator.manual_seed(config.seed)
        return _fit(views, config, device, progress, callback)


def _fit(views: Views, config: ReconstructionConfig, device: torch.device, progress: bool,
         callback: Callable[[int, GaussianModel, dict[str, float]], None] | None) -> TrainResult:
    """The training loop of :func:`train_gaussians` (its arguments checked, the random state seeded)."""
    generator = torch.Generator().manual_seed(config.seed)

    scale = scene_scale(views.c2w)
    init = initial_points(views, config.init, config.init_points, config.seed)
    init_method = init.method
    basis = MotionBasis(config.motion_poly_degree, config.motion_fourier_terms) if config.mode == "4d" else None
    model = GaussianModel.from_points(
        init.points,
        init.colors,
        sh_degree=config.sh_degree,
        opacity=config.init_opacity,
        scale_multiplier=config.init_scale,
        motion_basis=basis,
        temporal_opacity=config.temporal_opacity,
        device=device,
    )
    init_shrink = _bound_initial_footprint(model, init.points, views, config.init_max_layers)
    if model.is_dynamic and init.times is not None:
        with torch.no_grad():  # a point seen at time t sits there at t (and is visible around t)
            model.params["anchor_times"].copy_(init.times.to(device))
            if model.has_temporal_opacity:
                model.params["time_centers"].copy_(init.times.to(device))
    optimizers = _optimizers(model, config, scale)
    means_decay = config.lr_means_final_factor ** (1.0 / max(config.iterations, 1))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizers["means"], gamma=means_decay)
    strategy = make_strategy(config.strategy, **config.densify_kwargs())
    strategy_state = None
    if strategy is not None:
        strategy.check_sanity(model.params, optimizers)
        strategy_state = strategy.initialize_state(scene_scale=scale)

    images = views.images.to(device)
    c2w = views.c2w.to(device)
    K = views.K.to(device)
    times = views.times
    H, W = views.height, views.width
    background = torch.tensor(config.background, dtype=torch.float32, device=device)
    lpips_net = None
    if config.lambda_lpips > 0:
        lpips_net = load_lpips_module(device=device)
        if lpips_net is None:
            # genxd's warning (one line on the command line, none with -q), naming the option as the caller knows it
            warnings.warn(
                f"{arg('lambda_lpips')} > 0 but the lpips package or its AlexNet weights are not on disk "
                "(nothing is downloaded): training without the LPIPS term",
                GenXDWarning, stacklevel=2,
            )
    sh_interval = config.sh_degree_interval or max(1, config.iterations // (config.sh_degree + 1) // 2)

    history: list[dict[str, float]] = []
    bar = None
    if progress:
        from ..utils.progress import progress_bar

        bar = progress_bar(total=config.iterations, desc="reconstruct", unit="step", leave=False)
    order: list[int] = []
    running_loss, running_psnr, n_running = 0.0, 0.0, 0
    start = time.perf_counter()
    for step in range(config.iterations):
        if not order:
            order = torch.randperm(len(views), generator=generator).tolist()
        i = order.pop()
        sh_degree = min(step // sh_interval, config.sh_degree)
        t = float(times[i]) if (times is not None and model.is_dynamic) else None
        out = model.render(c2w[i : i + 1], K[i : i + 1], H, W, time=t, background=background, sh_degree=sh_degree, backend=config.backend)
        if strategy is not None:
            strategy.step_pre_backward(model.params, optimizers, strategy_state, step, out.info)
        pred = out.rgb
        gt = images[i : i + 1]
        loss = photometric_loss(pred, gt, config.lambda_dssim)
        if lpips_net is not None:
            loss = loss + config.lambda_lpips * lpips_net(pred * 2 - 1, gt * 2 - 1).mean()
        if model.is_dynamic and config.lambda_motion > 0:
            loss = loss + config.lambda_motion * _motion_regulariser(model)
        if loss.requires_grad:
            loss.backward()
            for optimizer in optimizers.values():
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            if strategy is not None:
                strategy.step_post_backward(model.params, optimizers, strategy_state, step, out.info, packed=False)
            scheduler.step()
        elif model.num_gaussians == 0:
            raise ValueError(f"no Gaussians left to fit at step {step} (every one was pruned); start from more "
                             f"points ({arg('init_points')}) or prune less")
        # else no Gaussian reaches this view (a few initial points; the rasteriser gave the background alone):
        # nothing to learn from it this step (the learning rate decays per optimiser step)

        with torch.no_grad():
            step_psnr = float(psnr(pred.detach().clamp(0, 1), gt).mean())
        stats = {
            "step": step,
            "loss": float(loss.detach()),
            "psnr": step_psnr,
            "num_gaussians": model.num_gaussians,
            "seconds": time.perf_counter() - start,
        }
        running_loss += stats["loss"]
        running_psnr += step_psnr
        n_running += 1
        if (step + 1) % 10 == 0 or step + 1 == config.iterations:
            history.append({**stats, "loss": running_loss / n_running, "psnr": running_psnr / n_running})
            if bar is not None:
                bar.set_postfix(loss=f"{running_loss / n_running:.4f}", psnr=f"{running_psnr / n_running:.2f}", n=model.num_gaussians)
            running_loss, running_psnr, n_running = 0.0, 0.0, 0
        if bar is not None:
            bar.update(1)
        if callback is not None:
            callback(step, model, stats)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    for p in model.params.values():
        p.requires_grad_(False)
    return TrainResult(model, config, init_method, scale, seconds, history, lpips_loss=lpips_net is not None,
                       init_shrink=init_shrink)


#: values (views x 3 x H x W) scored at once by :func:`view_metrics` (2^19: 10 views of 128 px, one of 512 px)
METRIC_CHUNK_VALUES = 1 << 19


def _bar(total: int, desc: str | None):
    """A progress bar for one phase (None when ``desc`` is None: no progress shown)."""
    if desc is None:
        return None
    from ..utils.progress import progress_bar

    return progress_bar(total=total, desc=desc, unit="view", leave=False)


@torch.no_grad()
def render_views(
    model: GaussianModel,
    c2w: Tensor,
    K: Tensor,
    height: int,
    width: int,
    times: Tensor | None = None,
    background: Tensor | None = None,
    backend: Backend = "auto",
    progress: str | None = None,
) -> Tensor:
    """Render ``[N, 3, H, W]`` (clamped to [0, 1]) at cameras ``c2w [N, 4, 4]``, ``K [N, 3, 3]``.

    ``progress``: the label of a progress bar over the N renders (None: no bar).
    """
    frames = []
    bar = _bar(len(c2w), progress)
    for i in range(len(c2w)):
        t = float(times[i]) if (times is not None and model.is_dynamic) else None
        out = model.render(c2w[i : i + 1], K[i : i + 1], height, width, time=t, background=background, backend=backend)
        frames.append(out.rgb.clamp(0, 1).cpu())
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return torch.cat(frames) if frames else torch.zeros(0, 3, height, width)


@torch.no_grad()
def view_metrics(
    renders: Tensor, views: Views, lpips_fn: Callable[[Tensor, Tensor], Tensor] | None = None
) -> dict[str, Any]:
    """PSNR / SSIM (/ LPIPS) of ``renders [N, 3, H, W]`` against ``views.images``: means and per view.

    The views are scored a few at a time (:data:`METRIC_CHUNK_VALUES` values a chunk): SSIM's filtered
    intermediates of all N at once held about 12x the renders (0.7 GB over 300 views of 128 px)."""
    chunk = max(1, METRIC_CHUNK_VALUES // max(1, renders.shape[1:].numel()))
    parts: list[tuple[Tensor, Tensor, Tensor | None]] = []
    for start in range(0, max(len(renders), 1), chunk):  # once for no views: their empty results
        pred = renders[start : start + chunk]
        gt = views.images[start : start + chunk].float().cpu()
        parts.append((psnr(pred, gt), ssim(pred, gt), None if lpips_fn is None else lpips_fn(pred, gt).cpu()))
    per_psnr, per_ssim = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    metrics: dict[str, Any] = {
        "num_views": len(views),
        "psnr": float(per_psnr.mean()),
        "ssim": float(per_ssim.mean()),
        "lpips": None,
        "per_view": [
            {"name": n, "psnr": float(p), "ssim": float(s)} for n, p, s in zip(views.names, per_psnr, per_ssim)
        ],
    }
    if lpips_fn is not None:
        per_lpips = torch.cat([p[2] for p in parts if p[2] is not None])  # all given with lpips_fn
        metrics["lpips"] = float(per_lpips.mean())
        for row, value in zip(metrics["per_view"], per_lpips):
            row["lpips"] = float(value)
    return metrics


@torch.no_grad()
def evaluate_views(
    model: GaussianModel,
    views: Views,
    background: Tensor | None = None,
    lpips_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    backend: Backend = "auto",
    progress: str | None = None,
) -> tuple[dict[str, Any], Tensor]:
    """PSNR / SSIM (/ LPIPS) of renders at ``views`` against their images.

    Returns ``(metrics, renders [N, 3, H, W])``; metrics hold the means and per-view values.
    """
    renders = render_views(
        model, views.c2w, views.K, views.height, views.width, views.times, background, backend, progress=progress
    )
    return view_metrics(renders, views, lpips_fn), renders
