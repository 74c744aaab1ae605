"""An optimiser's settings on resuming: loading a checkpoint's optimiser state puts back the settings of the run that
wrote it; the resumed run keeps its own (:func:`keep_optimizer_settings`)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["keep_optimizer_settings"]

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
