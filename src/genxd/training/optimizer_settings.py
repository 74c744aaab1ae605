"""An optimiser's settings on resuming: loading a checkpoint's optimiser state puts back the settings of the run that
wrote it; the resumed run keeps its own (:func:`keep_optimizer_settings`). An optimiser of another kind than the
checkpoint's cannot take its state (:func:`optimizer_kind_error`). The learning rate is the config's schedule's at
every step: one that differs from the checkpoint's at the step resumed is said (:func:`schedule_change_note`)."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import torch

__all__ = ["keep_optimizer_settings", "optimizer_kind_error", "schedule_change_note"]

#: the optimiser each value of ``training.use_8bit_adam`` makes (:func:`genxd.training.trainer.make_optimizer`)
_KINDS = {False: "torch's AdamW", True: "bitsandbytes' AdamW8bit"}

#: the config's settings named in the note on those the checkpoint's run had otherwise
_WORDS = {"weight_decay": "weight decay", "betas": "Adam betas", "eps": "Adam epsilon"}


def keep_optimizer_settings(optimizer: torch.optim.Optimizer, made: list[dict[str, Any]]) -> str | None:
    """Put back ``optimizer``'s settings as it was ``made`` (its param groups less ``params``) after its state was
    loaded: the config's (weight decay, betas, eps) and this device's (``fused``, ``foreach``, ``capturable``);
    not the learning rate (set at every step from the config). A fused or capturable group keeps each parameter's
    ``step`` as float32 on the parameter's device, as torch's loading does for one: a checkpoint of a CPU run (not
    fused, its steps on the CPU) resumed on CUDA (fused) failed at its first step in ``_fused_adamw_``. Returns the
    note naming the config's settings that the checkpoint's run had otherwise, or None."""
    changed: dict[str, str] = {}
    for group, settings in zip(optimizer.param_groups, made):
        for key, value in settings.items():
            if key in _WORDS and key in group and group[key] != value:
                was = tuple(group[key]) if isinstance(group[key], (list, tuple)) else group[key]
                changed.setdefault(key, f"{_WORDS[key]} {was} -> {value}")
        group.update((k, v) for k, v in settings.items() if k != "lr")
        if group.get("fused") or group.get("capturable"):
            for p in group["params"]:
                step = optimizer.state.get(p, {}).get("step")
                if isinstance(step, torch.Tensor):
                    optimizer.state[p]["step"] = step.to(dtype=torch.float32, device=p.device)
    if not changed:
        return None
    return (f"note: resuming with other optimiser settings than the checkpoint's: {', '.join(changed.values())} "
            "(the config's are used; its Adam moments are the checkpoint's)")


def optimizer_kind_error(checkpoint: "os.PathLike[str] | str", saved_training: dict[str, Any], use_8bit_adam: bool) -> ValueError | None:
    """A ValueError when ``checkpoint``'s run (``saved_training``: the ``training`` section of its ``config.yaml``) made
    its optimiser with another ``use_8bit_adam`` than this run: the two optimisers keep other state (``exp_avg`` /
    ``exp_avg_sq``; ``state1`` / ``state2`` quantised), and the loaded state failed at the first step with a
    ``KeyError`` traceback. None when they agree or the checkpoint does not say."""
    was = saved_training.get("use_8bit_adam")
    if not isinstance(was, bool) or was == bool(use_8bit_adam):
        return None
    return ValueError(f"{checkpoint} was trained with training.use_8bit_adam: {str(was).lower()} ({_KINDS[was]}), this "
                      f"run has {str(bool(use_8bit_adam)).lower()} ({_KINDS[bool(use_8bit_adam)]}): the optimiser's "
                      f"state cannot be resumed by the other; resume with training.use_8bit_adam="
                      f"{str(was).lower()}, or start a new output_dir")


#: the settings of the learning-rate schedule (:func:`genxd.training.loop.lr_at`), less the learning rate itself (a
#: change of which the note on other settings names)
_SCHEDULE = ("lr_schedule", "lr_warmup_steps", "min_lr_ratio", "max_steps")


def schedule_change_note(saved_training: dict[str, Any], optim: Any, step: int) -> str | None:
    """The note for a run resumed at ``step`` whose learning-rate schedule (``optim``, an ``OptimConfig``) differs from
    the checkpoint's (``saved_training``: the ``training`` section of its ``config.yaml``) so that the learning rate of
    the next step does: ``training.max_steps`` raised under a cosine or linear decay (the decay starts over from a
    higher rate), another warm-up or floor. The config's schedule is used, as documented; it jumped without a word.
    None when the rate is the same, or the checkpoint does not say."""
    from .loop import lr_at

    changed = {k: saved_training[k] for k in _SCHEDULE if k in saved_training and saved_training[k] != getattr(optim, k)}
    if not changed:
        return None
    try:  # at this run's learning rate (another one is said in the note on other settings)
        theirs = dataclasses.replace(optim, **changed)  # checked as a config is: a damaged value says nothing
    except (TypeError, ValueError):
        return None
    ours_lr, their_lr = lr_at(step, optim), lr_at(step, theirs)
    if math.isclose(ours_lr, their_lr, rel_tol=1e-9, abs_tol=0.0):
        return None
    settings = ", ".join(f"training.{k} {v} -> {getattr(optim, k)}" for k, v in changed.items())
    return (f"note: resuming with another learning-rate schedule than the checkpoint's ({settings}): step {step + 1} "
            f"trains at learning rate {ours_lr:.3g}, where the checkpoint's schedule is at {their_lr:.3g} (the "
            "config's schedule is used)")
