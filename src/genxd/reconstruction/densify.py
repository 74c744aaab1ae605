"""Densification and pruning of Gaussians (3DGS adaptive density control).

:func:`make_strategy` returns gsplat's ``DefaultStrategy`` when gsplat is importable (it is pure
PyTorch) and :class:`DensifyStrategy` otherwise: the same rules with the same interface
(``initialize_state``, ``check_sanity``, ``step_pre_backward``, ``step_post_backward``), editing the
parameter dict and the per-parameter Adam optimisers in place:

- every ``refine_every`` steps in ``(refine_start_iter, refine_stop_iter)``: Gaussians whose mean
  screen-space gradient (in NDC units, as 3DGS) exceeds ``grow_grad2d`` are **duplicated** when
  small (max scale <= ``grow_scale3d`` x scene scale) or **split** in two otherwise (new centres
  sampled from the Gaussian, scales / 1.6); then Gaussians with opacity < ``prune_opa`` are pruned
  (and, after the first opacity reset, those larger than ``prune_scale3d`` x scene scale);
- every ``reset_every`` steps the opacities are clamped to ``2 prune_opa``.

The defaults are 3DGS's; :func:`short_run_schedule` scales the schedule to a short run.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor

from ..utils.extras import install_extra
from .rasterizer import quat_to_rotmat

__all__ = ["DensifyStrategy", "make_strategy", "short_run_schedule"]

StrategyKind = Literal["auto", "gsplat", "builtin", "none"]


def short_run_schedule(iterations: int) -> dict[str, int]:
    """Refinement schedule for a run of ``iterations`` steps (3DGS: 500 / 15,000 / 100 / 3,000 of 30,000).

    Starts after 10% (at most 500 steps), stops at 60%, refines every 1% (50-100 steps) and
    resets opacities only in runs long enough to recover (>= 6,000 steps).
    """
    iterations = max(int(iterations), 1)
    refine_every = int(min(100, max(50, iterations // 100)))
    start = int(min(500, max(refine_every, iterations // 10)))
    stop = int(min(15_000, max(start + 1, iterations * 6 // 10)))
    reset_every = 3000 if iterations >= 6000 else iterations + 1
    return {"refine_start_iter": start, "refine_stop_iter": stop, "refine_every": refine_every, "reset_every": reset_every}


@torch.no_grad()
def _edit_params(
    params: torch.nn.ParameterDict,
    optimizers: dict[str, torch.optim.Optimizer],
    param_fn: Callable[[str, Tensor], Tensor],
    state_fn: Callable[[str, Tensor], Tensor],
    names: list[str] | None = None,
) -> None:
    """Replace parameters (``param_fn(name, old) -> new``) and remap their optimiser state."""
    for name in names if names is not None else list(params.keys()):
        old = params[name]
        new = torch.nn.Parameter(param_fn(name, old.data), requires_grad=old.requires_grad)
        optimizer = optimizers.get(name)
        if optimizer is not None:
            for group in optimizer.param_groups:
                if all(p is not old for p in group["params"]):
                    continue
                state = optimizer.state.pop(old, None)
                if state is not None:
                    for key, value in list(state.items()):
                        if key != "step" and torch.is_tensor(value) and value.shape == old.shape:
                            state[key] = state_fn(key, value)
                    optimizer.state[new] = state
                group["params"] = [new if p is old else p for p in group["params"]]
        params[name] = new


@dataclass
class DensifyStrategy:
    """3DGS clone / split / prune with gsplat ``DefaultStrategy``'s interface and defaults."""

    prune_opa: float = 0.005
    grow_grad2d: float = 0.0002
    grow_scale3d: float = 0.01
    prune_scale3d: float = 0.1
    refine_start_iter: int = 500
    refine_stop_iter: int = 15_000
    reset_every: int = 3000
    refine_every: int = 100
    max_gaussians: int | None = None
    verbose: bool = False

    def initialize_state(self, scene_scale: float = 1.0) -> dict[str, Any]:
        return {"grad2d": None, "count": None, "scene_scale": float(scene_scale)}

    def check_sanity(self, params: torch.nn.ParameterDict, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        for key in ("means", "scales", "quats", "opacities"):
            if key not in params:
                raise ValueError(f"densification needs params[{key!r}]")
        trainable = {name for name, p in params.items() if p.requires_grad}
        if trainable != set(optimizers.keys()):
            raise ValueError("every trainable parameter needs its own optimiser (and only those)")

    def step_pre_backward(
        self, params: torch.nn.ParameterDict, optimizers: dict, state: dict, step: int, info: dict
    ) -> None:
        if "means2d" not in info:
            raise ValueError("densification needs info['means2d'] from the rasteriser")
        if info["means2d"].requires_grad:
            info["means2d"].retain_grad()

    def step_post_backward(
        self,
        params: torch.nn.ParameterDict,
        optimizers: dict[str, torch.optim.Optimizer],
        state: dict[str, Any],
        step: int,
        info: dict[str, Any],
        packed: bool = False,
    ) -> None:
        if step >= self.refine_stop_iter:
            return
        self._update_state(params, state, info)
        if step > self.refine_start_iter and step % self.refine_every == 0:
            n_dupli, n_split = self._grow(params, optimizers, state)
            n_prune = self._prune(params, optimizers, state, step)
            if self.verbose:
                print(f"step {step}: +{n_dupli} duplicated, +{n_split} split, -{n_prune} pruned -> {len(params['means'])}")
            state["grad2d"].zero_()
            state["count"].zero_()
        if step > 0 and step % self.reset_every == 0:
            self._reset_opacity(params, optimizers, 2.0 * self.prune_opa)

    # -- internals ----------------------------------------------------------------------------

    @torch.no_grad()
    def _update_state(self, params: torch.nn.ParameterDict, state: dict, info: dict) -> None:
        grad = info["means2d"].grad
        n = len(params["means"])
        if state["grad2d"] is None or len(state["grad2d"]) != n:
            state["grad2d"] = torch.zeros(n, device=params["means"].device)
            state["count"] = torch.zeros(n, device=params["means"].device)
        if grad is None:
            return
        grad = grad.clone()
        grad[..., 0] *= info["width"] / 2.0 * info["n_cameras"]
        grad[..., 1] *= info["height"] / 2.0 * info["n_cameras"]
        radii = info["radii"]
        visible = (radii > 0).all(dim=-1) if radii.ndim == 3 else radii > 0  # C G (gsplat < 1.5: [C, G])
        cam_ids, gs_ids = torch.where(visible)
        state["grad2d"].index_add_(0, gs_ids, grad[cam_ids, gs_ids].norm(dim=-1))
        state["count"].index_add_(0, gs_ids, torch.ones_like(gs_ids, dtype=torch.float32))

    @torch.no_grad()
    def _grow(self, params: torch.nn.ParameterDict, optimizers: dict, state: dict) -> tuple[int, int]:
        grads = state["grad2d"] / state["count"].clamp_min(1)
        high = grads > self.grow_grad2d
        if self.max_gaussians is not None:
            room = self.max_gaussians - len(grads)
            if room <= 0:
                return 0, 0
            high = _largest_within(high, grads, room)
        small = torch.exp(params["scales"]).max(dim=-1).values <= self.grow_scale3d * state["scene_scale"]
        dupli = high & small
        split = high & ~small
        n_dupli, n_split = int(dupli.sum()), int(split.sum())
        if n_dupli:
            sel = torch.where(dupli)[0]
            _edit_params(
                params,
                optimizers,
                lambda name, p: torch.cat([p, p[sel]]),
                lambda key, v: torch.cat([v, torch.zeros_like(v[sel])]),
            )
            split = torch.cat([split, torch.zeros(n_dupli, dtype=torch.bool, device=split.device)])
            state["grad2d"] = torch.cat([state["grad2d"], torch.zeros(n_dupli, device=split.device)])
            state["count"] = torch.cat([state["count"], torch.zeros(n_dupli, device=split.device)])
        if n_split:
            sel = torch.where(split)[0]
            rest = torch.where(~split)[0]
            scales = torch.exp(params["scales"][sel])
            rotmats = quat_to_rotmat(params["quats"][sel])
            samples = torch.einsum("nij,bnj->bni", rotmats, torch.randn(2, len(sel), 3, device=scales.device) * scales)

            def split_param(name: str, p: Tensor) -> Tensor:
                if name == "means":
                    new = (p[sel][None] + samples).reshape(-1, 3)
                elif name == "scales":
                    new = torch.log(scales / 1.6).repeat(2, 1)
                else:
                    new = p[sel].repeat(2, *([1] * (p.dim() - 1)))
                return torch.cat([p[rest], new])

            _edit_params(
                params,
                optimizers,
                split_param,
                lambda key, v: torch.cat([v[rest], torch.zeros_like(v[sel]).repeat(2, *([1] * (v.dim() - 1)))]),
            )
            zeros = torch.zeros(2 * len(sel), device=scales.device)
            state["grad2d"] = torch.cat([state["grad2d"][rest], zeros])
            state["count"] = torch.cat([state["count"][rest], zeros])
        return n_dupli, n_split

    @torch.no_grad()
    def _prune(self, params: torch.nn.ParameterDict, optimizers: dict, state: dict, step: int) -> int:
        prune = torch.sigmoid(params["opacities"].flatten()) < self.prune_opa
        if step > self.reset_every:
            prune |= torch.exp(params["scales"]).max(dim=-1).values > self.prune_scale3d * state["scene_scale"]
        if bool(prune.all()):  # never remove every Gaussian
            prune[torch.argmax(params["opacities"])] = False
        n = int(prune.sum())
        if n:
            keep = torch.where(~prune)[0]
            _edit_params(params, optimizers, lambda name, p: p[keep], lambda key, v: v[keep])
            state["grad2d"] = state["grad2d"][keep]
            state["count"] = state["count"][keep]
        return n

    @torch.no_grad()
    def _reset_opacity(self, params: torch.nn.ParameterDict, optimizers: dict, value: float) -> None:
        logit = math.log(value / (1 - value))
        _edit_params(
            params,
            optimizers,
            lambda name, p: torch.clamp(p, max=logit),
            lambda key, v: torch.zeros_like(v),
            names=["opacities"],
        )


@functools.lru_cache(maxsize=None)
def _largest_within(grow: Tensor, grads: Tensor, room: int) -> Tensor:
    """``grow [N]`` (bool) cut to the ``room`` (>= 0) entries of largest ``grads [N]``; itself when it holds no more:
    the growth rule of ``max_gaussians``, for both strategies."""
    if int(grow.sum()) <= room:
        return grow
    keep = torch.zeros_like(grow)
    if room > 0:
        keep[torch.topk(torch.where(grow, grads, float("-inf")), room).indices] = True
    return keep


def _gsplat_strategy_class(default_strategy: type) -> type:
    """gsplat's ``DefaultStrategy`` with the opacity reset on the rule above (every ``reset_every`` steps, never at
    step 0), whichever gsplat is installed: gsplat 1.5.0-1.5.2 also reset at step 0 (``step % reset_every == 0``),
    which left every Gaussian at opacity 0.01 from the first step (a 300-step lift in `genxd demo` came out nearly
    transparent: its splat viewer drew 4 % of its pixels), and 1.5.3's ``step % reset_every == 0 & step > 0``
    is never true (``0 & step`` binds first), so it never resets. Step 0 only gathers the gradient statistics
    (refinement starts after ``refine_start_iter >= 0``); at a reset step gsplat's own ``reset_opa`` runs after
    gsplat's step (clamping twice is the same as once)."""
    from gsplat.strategy.ops import reset_opa

    class GsplatDefaultStrategy(default_strategy):
        __doc__ = _gsplat_strategy_class.__doc__

        def step_post_backward(self, params, optimizers, state, step, info, packed=False):  # noqa: ANN001
            if step >= self.refine_stop_iter:
                return
            if step == 0:
                self._update_state(params, state, info, packed=packed)
                return
            super().step_post_backward(params, optimizers, state, step, info, packed=packed)
            if step % self.reset_every == 0:
                reset_opa(params=params, optimizers=optimizers, state=state, value=self.prune_opa * 2.0)

        @torch.no_grad()
        def _grow_gs(self, params, optimizers, state, step):  # noqa: ANN001
            # ``max_gaussians`` (set by make_strategy; gsplat has no cap): at most that many Gaussians after the
            # growth, the ones with the largest gradients grown first, as DensifyStrategy does
            cap = getattr(self, "max_gaussians", None)
            if cap is not None:
                grads = state["grad2d"] / state["count"].clamp_min(1)
                grow = grads > self.grow_grad2d
                radii_rule = step < self.refine_scale2d_stop_iter
                if radii_rule:
                    grow |= state["radii"] > self.grow_scale2d
                keep = _largest_within(grow, grads, max(cap - len(params["means"]), 0))
                if keep is not grow:  # cut to the room left
                    state["grad2d"] = torch.where(keep, state["grad2d"], torch.zeros_like(state["grad2d"]))
                    if radii_rule:
                        state["radii"] = torch.where(keep, state["radii"], torch.zeros_like(state["radii"]))
            return super()._grow_gs(params, optimizers, state, step)

    return GsplatDefaultStrategy


def make_strategy(kind: StrategyKind = "auto", **kwargs: Any) -> Any:
    """A densification strategy: gsplat's ``DefaultStrategy`` (``"gsplat"``, or ``"auto"`` when
    gsplat is importable), the built-in :class:`DensifyStrategy` (``"builtin"``), or None (``"none"``).

    ``kwargs`` are the shared options (``prune_opa, grow_grad2d, grow_scale3d, prune_scale3d,
    refine_start_iter, refine_stop_iter, reset_every, refine_every``) and ``max_gaussians`` (no growth past that
    many Gaussians, the largest gradients grown first; gsplat's strategy has no such option, genxd's subclass adds
    it: before, ``--max-gaussians 8000`` with gsplat installed ended with 10,829 Gaussians).
    """
    if kind == "none":
        return None
    if kind in ("auto", "gsplat"):
        try:
            from gsplat.strategy import DefaultStrategy
        except Exception as exc:
            if kind == "gsplat":
                raise ValueError(f"densification strategy 'gsplat' needs gsplat installed ({exc}): "
                                 f"{install_extra('gsplat')}") from None
        else:
            gs_kwargs = {k: v for k, v in kwargs.items() if k not in ("max_gaussians",)}
            strategy = _gsplat_strategy_class(DefaultStrategy)(**gs_kwargs)
            strategy.max_gaussians = kwargs.get("max_gaussians")
            return strategy
    if kind not in ("auto", "builtin"):
        raise ValueError(f"unknown densification strategy {kind!r}: expected auto, gsplat, builtin or none")
    return DensifyStrategy(**kwargs)
