"""Module labels (class[cascade path], UNet block), profiler ranges per module, and the FLOP count of one call."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from .common import MODULE_RANGE, PATH_OF_BLOCK_CLASS, PATH_OF_RES_ATTRIBUTE, UNHOOKED_CLASSES


def module_labels(unet: nn.Module) -> dict[str, dict[str, Any]]:
    """For every module that gets a profiler range: ``{fqn: {module, cls, label, path, block}}``.

    ``label`` is the class name with the cascade path in brackets when the module sits in one
    (``Attention[multiview]``, ``Conv3d[temporal]``); ``block`` is the UNet block (``down_blocks.0``,
    ``mid_block``, ``conv_in``, ...). The root model and containers get none.
    """
    modules = dict(unet.named_modules())
    path_of: dict[str, str | None] = {"": None}
    info: dict[str, dict[str, Any]] = {}
    for fqn, module in modules.items():
        if not fqn:
            continue
        parent_fqn, _, attr = fqn.rpartition(".")
        parent = modules[parent_fqn]
        path = path_of.get(parent_fqn)
        if type(parent).__name__ == "MVCascadeTemporalResBlock" and attr in PATH_OF_RES_ATTRIBUTE:
            path = PATH_OF_RES_ATTRIBUTE[attr]
        if type(module).__name__ in PATH_OF_BLOCK_CLASS:
            path = PATH_OF_BLOCK_CLASS[type(module).__name__]
        path_of[fqn] = path
        cls = type(module).__name__
        if cls in UNHOOKED_CLASSES:
            continue
        parts = fqn.split(".")
        block = ".".join(parts[:2]) if parts[0] in ("down_blocks", "up_blocks") and len(parts) > 1 else parts[0]
        info[fqn] = {"module": module, "cls": cls, "label": f"{cls}[{path}]" if path else cls, "path": path, "block": block}
    return info


@contextlib.contextmanager
def module_ranges(labels: dict[str, dict[str, Any]]) -> Iterator[dict[str, dict[str, Any]]]:
    """Open a ``record_function`` range ``genxd.mod::<label> <fqn>`` around every labelled module's
    forward (pre/post hooks; closed even when the forward raises). Yields ``{range name: info}``."""
    from torch.autograd.profiler import record_function

    handles = []
    by_range: dict[str, dict[str, Any]] = {}
    for fqn, item in labels.items():
        name = f"{MODULE_RANGE}{item['label']} {fqn}"
        by_range[name] = item
        stack: list = []

        def pre(_module, _args, _name=name, _stack=stack):
            rf = record_function(_name)
            rf.__enter__()
            _stack.append(rf)

        def post(_module, _args, _out, _stack=stack):
            if _stack:
                _stack.pop().__exit__(None, None, None)

        handles.append(item["module"].register_forward_pre_hook(pre))
        handles.append(item["module"].register_forward_hook(post, always_call=True))
    try:
        yield by_range
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------------------------- FLOPs
def count_flops(unet: nn.Module, inputs: dict[str, Tensor], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """FLOPs of one call with ``FlopCounterMode``: total, per op, per module label/class/block.

    Per label: ``total`` (inclusive, counting each module once even if nested in one of the same
    label) and ``self`` (minus the module's children). Attention FLOPs (``4 * B * N^2 * C`` per
    self-attention) are also computed from the inputs of every ``Attention`` (``sdpa_analytic``);
    ``sdpa_counted`` is what the counter attributed to the ``Attention`` modules themselves (the
    flash/efficient SDPA op on CUDA, ``bmm`` on the math path); when that is zero (no formula for
    the kernel that ran, e.g. the CPU flash kernel) the analytic figure is added to ``total_used``
    (the figure TFLOP/s is computed from).
    """
    from torch.utils.flop_counter import FlopCounterMode

    attn_flops: Counter = Counter()
    attn_shapes: dict[str, Counter] = defaultdict(Counter)
    handles = []
    for item in labels.values():
        if item["cls"] != "Attention":
            continue

        def hook(module, args, kwargs, _label=item["label"]):
            h = args[0] if args else kwargs["hidden_states"]
            if kwargs.get("encoder_hidden_states") is not None:
                return  # cross-attention: not in this model
            if h.dim() == 4:  # [B, C, H, W]
                b, c, n = h.shape[0], h.shape[1], h.shape[2] * h.shape[3]
            else:  # [B, N, C]
                b, n, c = h.shape
            attn_flops[_label] += 4 * b * n * n * c
            attn_shapes[_label][f"batch={b} tokens={n} channels={c} heads={module.heads}"] += 1

        handles.append(item["module"].register_forward_pre_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            unet(**inputs)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    total = int(counter.get_total_flops())
    per_op = {str(op): int(v) for op, v in counts.get("Global", {}).items()}
    sdpa_analytic = int(sum(attn_flops.values()))

    root = type(unet).__name__
    module_total: dict[str, int] = {}
    for key, ops in counts.items():
        if key == "Global" or key == root:
            continue
        fqn = key[len(root) + 1:] if key.startswith(root + ".") else key
        module_total[fqn] = int(sum(ops.values()))
    children: dict[str, list[str]] = defaultdict(list)
    for fqn in module_total:
        parent = fqn.rpartition(".")[0]
        while parent and parent not in module_total:
            parent = parent.rpartition(".")[0]
        if parent:
            children[parent].append(fqn)

    def aggregate(key: str) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "self": 0})
        for fqn, tot in module_total.items():
            item = labels.get(fqn)
            if item is None:
                continue
            name = item[key]
            out[name]["self"] += tot - sum(module_total[c] for c in children.get(fqn, ()))
            ancestors = fqn.split(".")
            nested = any(
                labels.get(".".join(ancestors[:i]), {}).get(key) == name for i in range(1, len(ancestors))
            )
            if not nested:
                out[name]["total"] += tot
        return {k: v for k, v in sorted(out.items(), key=lambda kv: -kv[1]["total"]) if v["total"] or v["self"]}

    # what the counter saw of attention, whatever kernel ran (flash/efficient op, or bmm on the math
    # path): the Attention modules' own FLOPs, i.e. without their q/k/v/out Linear children
    sdpa_counted = sum(
        module_total[fqn] - sum(module_total[c] for c in children.get(fqn, ()))
        for fqn, item in labels.items() if item["cls"] == "Attention" and fqn in module_total
    )
    used = total + (sdpa_analytic if sdpa_counted == 0 else 0)
    return {
        "total": total,
        "total_used": used,
        "sdpa_counted": sdpa_counted,
        "sdpa_analytic": sdpa_analytic,
        "sdpa_added_analytically": sdpa_counted == 0 and sdpa_analytic > 0,
        "per_op": dict(sorted(per_op.items(), key=lambda kv: -kv[1])),
        "by_class": aggregate("label"),
        "by_class_plain": aggregate("cls"),
        "by_block": aggregate("block"),
        "attention_analytic_by_label": dict(attn_flops.most_common()),
        "attention_shapes_by_label": {k: dict(v) for k, v in attn_shapes.items()},
    }

