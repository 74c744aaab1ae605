"""Samplers for GenXD's noise schedule, by name (``genxd generate --scheduler``).

The released checkpoint's scheduler is Stable Video Diffusion's: ``EulerDiscreteScheduler`` with
v-prediction, Karras sigmas (rho 7) from ``sigma_max`` 700 down to ``sigma_min`` 0.002 and a final 0,
continuous timesteps (the UNet sees ``c_noise = 0.25 ln sigma``) and the model input scaled by
``c_in = 1 / sqrt(sigma^2 + 1)``. That is the EDM formulation (Karras et al. 2022) with ``sigma_data = 1``.

Which diffusers classes fit (checked with diffusers 0.42.1; :func:`make_scheduler` builds them from the
checkpoint's ``scheduler_config.json``, so ``sigma_min`` / ``sigma_max`` / ``prediction_type`` carry over):

- ``EDMEulerScheduler`` / ``EDMDPMSolverMultistepScheduler``: the EDM formulation natively; with
  ``sigma_data = 1`` their ``c_in``, ``c_skip``, ``c_out`` and ``c_noise`` are the checkpoint's (EDM Euler
  gives exactly the checkpoint's sigmas and timesteps). Used for ``dpmpp-2m``, ``dpmpp-3m``, ``dpmpp-2m-sde``.
- ``HeunDiscreteScheduler``, ``DPMSolverMultistepScheduler``, ``UniPCMultistepScheduler``: accept the
  config (v-prediction, Karras sigmas between the config's ``sigma_min`` and ``sigma_max``), but their
  timesteps are training-step indices (clamped at 999 for every sigma above 14.6), so the pipeline gives the
  UNet ``0.25 ln sigma`` of the current step instead (:func:`model_timestep`). DPM-Solver and UniPC work on
  ``x / sqrt(sigma^2 + 1)`` (variance-preserving form: no input scaling, initial noise sigma 1): exactly
  the UNet's input. Their repeated timesteps also make diffusers' "find the step by its timestep" pick the
  wrong step: the pipeline sets ``set_begin_index(0)``.

No scheduler touches the conditions: the context frames of the UNet input are the clean context latents at
every model call (:meth:`~genxd.pipelines.conditioning.GenXDConditions.unet_input`, whatever the sampler
did to the noisy latents there), and they replace the sampled latents once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from diffusers import (
    EDMDPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    UniPCMultistepScheduler,
)
from torch import Tensor


@dataclass(frozen=True)
class SchedulerChoice:
    """One ``--scheduler`` value: the diffusers class, its settings on top of the checkpoint's config, and
    how many UNet calls (per guidance branch) ``n`` steps cost."""

    cls: type[Any]  # a diffusers scheduler class
    settings: dict = field(default_factory=dict)
    help: str = ""
    edm: bool = False  # built from EDM parameters (sigma_data 1) instead of the checkpoint's full config
    calls: Callable[[int], int] = lambda n: n


SCHEDULERS: dict[str, SchedulerChoice] = {
    "euler": SchedulerChoice(EulerDiscreteScheduler, {}, "the checkpoint's own (SVD Euler, Karras sigmas): the authors' sampling"),
    "heun": SchedulerChoice(HeunDiscreteScheduler, {}, "Heun (2nd order): n steps cost 2n - 1 UNet calls",
                            calls=lambda n: 2 * n - 1),
    "dpmpp-2m": SchedulerChoice(EDMDPMSolverMultistepScheduler, dict(solver_order=2, algorithm_type="dpmsolver++"),
                                "DPM-Solver++ 2M, Karras sigmas (EDM form)", edm=True),
    "dpmpp-3m": SchedulerChoice(EDMDPMSolverMultistepScheduler, dict(solver_order=3, algorithm_type="dpmsolver++"),
                                "DPM-Solver++ 3M, Karras sigmas (EDM form)", edm=True),
    "dpmpp-2m-sde": SchedulerChoice(EDMDPMSolverMultistepScheduler, dict(solver_order=2, algorithm_type="sde-dpmsolver++"),
                                    "DPM-Solver++ 2M SDE (stochastic: uses the generator)", edm=True),
    "unipc": SchedulerChoice(UniPCMultistepScheduler, dict(solver_order=2, solver_type="bh2"),
                             "UniPC (bh2, order 2), Karras sigmas"),
}

DEFAULT_SCHEDULER = "euler"


def scheduler_names() -> list[str]:
    return list(SCHEDULERS)


def make_scheduler(name: str, base_config: Mapping[str, Any]) -> Any:
    """A fresh scheduler ``name`` (see :data:`SCHEDULERS`) for a checkpoint whose scheduler config is
    ``base_config`` (the released / bundled ``scheduler_config.json``: Euler, v-prediction, Karras sigmas).

    Raises ValueError for an unknown name, or when the checkpoint's schedule is not the Karras /
    continuous-timestep one the other samplers are mapped onto (then only ``euler`` is offered)."""
    if name not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}; got {name!r}")
    choice = SCHEDULERS[name]
    cfg = {k: v for k, v in dict(base_config).items() if not k.startswith("_")}
    if name == DEFAULT_SCHEDULER:
        return EulerDiscreteScheduler.from_config(cfg)
    if not (cfg.get("use_karras_sigmas") and cfg.get("sigma_min") and cfg.get("sigma_max")):
        raise ValueError(f"scheduler {name!r} needs a checkpoint scheduler with Karras sigmas and sigma_min/"
                         f"sigma_max (the released one's); this checkpoint's config has none: use 'euler'")
    if choice.edm:
        return choice.cls(sigma_min=float(cfg["sigma_min"]), sigma_max=float(cfg["sigma_max"]), sigma_data=1.0,
                          sigma_schedule="karras", rho=7.0, prediction_type=cfg.get("prediction_type", "v_prediction"),
                          num_train_timesteps=int(cfg.get("num_train_timesteps", 1000)),
                          final_sigmas_type=cfg.get("final_sigmas_type", "zero"), **choice.settings)
    return choice.cls.from_config({**cfg, "use_karras_sigmas": True, **choice.settings})


def check_scheduler(scheduler: Any) -> None:
    """Refuse a scheduler GenXD cannot sample with (ValueError naming its class), before any model call: it must
    be a sigma-based diffusers scheduler (``sigmas``, as Euler, Heun, EDM, DPM-Solver, UniPC keep) predicting
    ``v_prediction``, the UNet's output. An alphas-only one (``DDIMScheduler``, ``DDPMScheduler``) failed deep in
    the loop with ``no attribute 'sigmas'``; an ``epsilon`` one ran and made wrong frames silently."""
    name = type(scheduler).__name__
    hint = f"use pipe.set_scheduler(name) with one of {', '.join(SCHEDULERS)}"
    if not hasattr(scheduler, "sigmas") or not hasattr(scheduler, "step"):
        raise ValueError(f"{name} cannot sample GenXD: it has no noise levels (sigmas), and GenXD's UNet is "
                         f"conditioned on 0.25 ln sigma (the EDM / Karras schedule); {hint}")
    prediction = getattr(scheduler.config, "prediction_type", None)
    if prediction != "v_prediction":
        raise ValueError(f"{name} has prediction_type={prediction!r}, but GenXD's UNet predicts 'v_prediction' "
                         f"(pass prediction_type='v_prediction' when building it, or {hint})")


def uses_sigma_timesteps(scheduler: Any) -> bool:
    """True when ``scheduler.timesteps`` are not the UNet's ``0.25 ln sigma`` (training-step indices).

    Decided by class: a config's ``timestep_type`` only means something to ``EulerDiscreteScheduler``
    (other classes built from the checkpoint's config carry it along unused)."""
    if hasattr(scheduler, "precondition_noise"):  # EDM schedulers: c_noise = 0.25 ln sigma
        return False
    cfg = scheduler.config
    continuous = (isinstance(scheduler, EulerDiscreteScheduler) and getattr(cfg, "timestep_type", None) == "continuous"
                  and getattr(cfg, "prediction_type", None) == "v_prediction")
    return not continuous


def model_timestep(scheduler: Any, t: Tensor, index: int) -> Tensor:
    """The UNet's timestep at model call ``index`` (the ``index``-th entry of ``scheduler.timesteps``):
    ``t`` itself for Euler / EDM schedulers, else ``0.25 ln sigma`` of that call."""
    if not uses_sigma_timesteps(scheduler):
        return t
    sigma = scheduler.sigmas[index].to(device=t.device, dtype=torch.float32)
    return 0.25 * sigma.log()


def scheduler_name(scheduler: Any) -> str | None:
    """The ``--scheduler`` name a scheduler instance was built as (None if it is none of them)."""
    for name, choice in SCHEDULERS.items():
        if type(scheduler) is not choice.cls:
            continue
        if all(getattr(scheduler.config, k, None) == v for k, v in choice.settings.items()):
            return name
    return None


def model_calls(name: str, steps: int) -> int:
    """UNet calls (per guidance branch) of ``steps`` steps of scheduler ``name``."""
    return SCHEDULERS[name].calls(int(steps))
