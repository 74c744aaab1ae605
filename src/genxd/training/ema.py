"""Exponential moving average of model weights (kept in float32, saved as safetensors)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import torch
from torch import nn

if TYPE_CHECKING:
    from .config import EMAConfig

__all__ = ["EMAWeights", "averaged_weights", "ema_weights_for"]


class EMAWeights:
    """EMA of a model's floating-point parameters, by name.

    ``decay_t = min(decay, 1 - (1 + t) ** -power)`` where ``t`` counts updates after ``start_step``
    (a warm-up: early averages forget the random start quickly). Before ``start_step`` the EMA copies
    the weights.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, power: float = 2 / 3, start_step: int = 0) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay, self.power, self.start_step = float(decay), float(power), int(start_step)
        self._params = {name: p for name, p in model.named_parameters() if p.dtype.is_floating_point}  # no copies
        self.shadow: dict[str, torch.Tensor] = {name: p.detach().float().clone() for name, p in self._params.items()}
        self.num_updates = 0

    @torch.no_grad()
    def restart(self) -> None:
        """Average from the model's weights as they are now (a run resumed from a checkpoint that kept no EMA:
        its weights were loaded into the model after this was made)."""
        self.shadow = {name: p.detach().float().clone().to(self.shadow[name].device)
                       for name, p in self._params.items()}
        self.num_updates = 0

    def current_decay(self, step: int) -> float:
        t = step - self.start_step
        if t <= 0:
            return 0.0
        return min(self.decay, 1.0 - (1.0 + t) ** -self.power)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """One EMA update after optimiser step ``step`` (1-based)."""
        decay = self.current_decay(step)
        shadows, params = [], []
        for name, p in model.named_parameters():
            s = self.shadow.get(name)
            if s is None:
                continue
            if s.device != p.device:
                self.shadow[name] = s = s.to(p.device)
            shadows.append(s)
            params.append(p.detach() if p.dtype == torch.float32 else p.detach().float())
        if shadows:  # multi-tensor kernels: a handful of launches instead of two per parameter
            torch._foreach_mul_(shadows, decay)
            torch._foreach_add_(shadows, params, alpha=1.0 - decay)
        self.num_updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged weights (float32, CPU copies)."""
        return {k: v.detach().cpu().contiguous() for k, v in self.shadow.items()}

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights into ``model``'s parameters (cast to their dtype)."""
        for name, p in model.named_parameters():
            if name in self.shadow:
                p.copy_(self.shadow[name].to(device=p.device, dtype=p.dtype))

    def save(self, path: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        save_file(self.state_dict(), str(path), metadata={"num_updates": str(self.num_updates)})

    def load(self, path: str | os.PathLike) -> None:
        """The averaged weights saved at ``path`` (a checkpoint's ``ema.safetensors``). A file that cannot be read
        (cut short, missing) is the checkpoint's damaged-checkpoint error
        (:func:`~genxd.training.checkpoint_files.damaged_checkpoint_error`); one without a weight of this model a
        ValueError naming the file and the weights missing."""
        from safetensors import SafetensorError, safe_open

        from .checkpoint_files import damaged_checkpoint_error

        path = Path(path)
        try:
            with safe_open(str(path), "pt") as fh:  # one open: the weights and the metadata
                state = {k: fh.get_tensor(k) for k in fh.keys()}
                num_updates = int((fh.metadata() or {}).get("num_updates", 0))
        except (OSError, ValueError, RuntimeError, EOFError, SafetensorError) as exc:  # ValueError: num_updates
            raise damaged_checkpoint_error(path.parent, path.name, exc) from None
        missing = sorted(set(self.shadow) - set(state))
        if missing:
            raise ValueError(f"{path}: EMA weights missing for {len(missing)} parameters, e.g. {missing[:3]}")
        for k in self.shadow:
            self.shadow[k] = state[k].to(self.shadow[k].device).float()
        self.num_updates = num_updates


def ema_weights_for(model: nn.Module, settings: EMAConfig, sharded: bool) -> EMAWeights | None:
    """The trainers' EMA of ``model``'s weights as ``settings`` (``training.ema``) ask: None when it is off. A
    ValueError under FSDP (``sharded``), which this EMA of whole parameters does not support."""
    if not settings.enabled:
        return None
    if sharded:  # refused before the averaged copy of every weight is made
        raise ValueError("training.ema.enabled is not supported with FSDP (set training.ema.enabled=false)")
    return EMAWeights(model, settings.decay, settings.power, settings.start_step)


@contextlib.contextmanager
def averaged_weights(model: nn.Module, ema: EMAWeights | None) -> Iterator[nn.Module]:
    """``model`` in eval mode for the block, holding ``ema``'s averaged weights (its own unchanged where ``ema`` is
    None); after it (an error too) its own weights are back and it is in train mode again (the trainers' validation
    and checkpoint writing)."""
    backup = None
    if ema is not None:
        backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
        ema.copy_to(model)
    model.eval()
    try:
        yield model
    finally:
        if backup is not None:
            model.load_state_dict(backup)
        model.train()
