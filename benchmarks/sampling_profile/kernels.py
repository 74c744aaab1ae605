"""``torch.profiler`` breakdowns: kernels (by kind, busy vs idle), time per module label / cascade path / block, a trace."""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .common import CALL_RANGE, KERNEL_CATEGORIES, OUTSIDE, RANGE_PREFIX, sync
from .flops import module_ranges


def _device_type_name(evt) -> str:
    return str(getattr(evt, "device_type", "")).rsplit(".", 1)[-1].upper()


def _is_device_event(evt) -> bool:
    """A device (GPU) kernel / memcpy / memset event, not a user annotation mirrored on the GPU."""
    if _device_type_name(evt) not in ("CUDA", "HIP", "XPU", "PRIVATEUSE1"):
        return False
    activity = str(getattr(evt, "activity_type", "")).lower()
    if any(word in activity for word in ("annotation", "sync", "overhead", "marker")):
        return False
    return not evt.name.startswith(RANGE_PREFIX) and not evt.name.startswith("ProfilerStep")


def _is_cpu_event(evt) -> bool:
    return _device_type_name(evt) == "CPU" and not getattr(evt, "is_async", False)


def _own_device_us(evt) -> float:
    """Device time of the kernels launched directly by a CPU op (annotation mirrors excluded)."""
    if evt.name.startswith(RANGE_PREFIX) or getattr(evt, "is_legacy", False):
        return 0.0
    return float(sum(getattr(k, "duration", 0) for k in getattr(evt, "kernels", ()) if not str(k.name).startswith(RANGE_PREFIX)))


def kernel_category(name: str) -> str:
    """Rough kind of a CUDA kernel from its name (first match in :data:`KERNEL_CATEGORIES`)."""
    low = name.lower()
    for cat, words in KERNEL_CATEGORIES:
        if any(w in low for w in words):
            return cat
    return "other"


def _interval_union_us(intervals: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def profile_calls(unet: nn.Module, inputs: dict[str, Tensor], device: torch.device, calls: int) -> Any:
    """``torch.profiler`` over ``calls`` synchronised calls, each inside a ``genxd.call#i`` range."""
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.no_grad():
        unet(**inputs)
        sync(device)
        with profile(activities=activities) as prof:
            for i in range(calls):
                with record_function(f"{CALL_RANGE}{i}"):
                    unet(**inputs)
                    sync(device)
    return prof


def kernel_summary(prof: Any, calls: int, device: torch.device, eager_median_ms: float | None, top: int) -> dict[str, Any]:
    """Top kernels (CUDA) or top CPU ops (CPU), kernel counts, busy and idle time per call."""
    events = list(prof.events())
    call_ranges = [(e.time_range.start, e.time_range.end) for e in events if _is_cpu_event(e) and e.name.startswith(CALL_RANGE)]
    out: dict[str, Any] = {"calls": calls}
    if device.type == "cuda":
        kernels = [e for e in events if _is_device_event(e)]
        out["basis"] = "cuda kernel time (device events: kernels, memcpy, memset)"
        durations = [(e.name, e.time_range.end - e.time_range.start) for e in kernels]
    else:
        kernels = []
        out["basis"] = "cpu self time of ops (no CUDA: kernel, busy and idle figures skipped)"
        durations = [(e.name, e.self_cpu_time_total) for e in events
                     if _is_cpu_event(e) and not e.name.startswith(RANGE_PREFIX)]
    total_us = sum(d for _, d in durations)
    by_name: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for name, d in durations:
        by_name[name][0] += 1
        by_name[name][1] += d
    rows = sorted(by_name.items(), key=lambda kv: -kv[1][1])[:top]
    out["top"] = [
        {"name": name[:120], "count": int(c), "count_per_call": c / calls, "total_ms": t / 1000,
         "ms_per_call": t / 1000 / calls, "pct": 100 * t / total_us if total_us else 0.0}
        for name, (c, t) in rows
    ]
    out["distinct_names"] = len(by_name)
    out["total_ms_per_call"] = total_us / 1000 / calls
    out["events_per_call"] = len(durations) / calls
    if device.type != "cuda":
        out["idle"] = {"status": "skipped", "reason": "needs CUDA kernel events"}
        return out
    out["kernels_per_call"] = len(kernels) / calls
    categories: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for name, d in durations:
        cat = kernel_category(name)
        categories[cat][0] += 1
        categories[cat][1] += d
    out["by_category"] = {
        cat: {"count_per_call": c / calls, "ms_per_call": t / 1000 / calls, "pct": 100 * t / total_us if total_us else 0.0}
        for cat, (c, t) in sorted(categories.items(), key=lambda kv: -kv[1][1])
    }
    out["by_category_note"] = "heuristic, from kernel names (first match of KERNEL_CATEGORIES); by_class is exact"
    out["mean_kernel_us"] = total_us / len(kernels) if kernels else None
    out["busy_ms_per_call"] = total_us / 1000 / calls
    idle: dict[str, Any] = {}
    if eager_median_ms:
        idle["unprofiled_median_ms"] = eager_median_ms
        idle["idle_share_vs_unprofiled_median"] = 1 - out["busy_ms_per_call"] / eager_median_ms
    per_call = []
    intervals = sorted((e.time_range.start, e.time_range.end) for e in kernels)
    for start, end in call_ranges:
        inside = [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]
        busy = _interval_union_us(inside)
        span = (max(e for _, e in inside) - min(s for s, _ in inside)) if inside else 0.0
        per_call.append({"wall_ms": (end - start) / 1000, "busy_ms": busy / 1000, "gpu_span_ms": span / 1000,
                         "kernels": len(inside)})
    if per_call:
        wall = sum(c["wall_ms"] for c in per_call)
        busy = sum(c["busy_ms"] for c in per_call)
        idle["per_call_in_profile"] = per_call
        idle["idle_share_in_profile"] = 1 - busy / wall if wall else None
        idle["note"] = ("wall = CPU range of the call incl. final synchronize (profiler overhead included); "
                        "busy = union of kernel intervals inside it; idle = wall - busy. "
                        "idle_share_vs_unprofiled_median compares kernel time with the unprofiled median.")
    out["idle"] = idle
    return out


def module_breakdown(prof: Any, by_range: dict[str, dict[str, Any]], calls: int, device: torch.device) -> dict[str, Any]:
    """Time per module label / class / cascade path / UNet block from the module ranges.

    Each CPU op's own time (device time of the kernels it launched, or its self CPU time without
    CUDA) goes to the innermost enclosing range (``self``) and, once, to every distinct name among
    its enclosing ranges (``total``). Ops under no range of a grouping get :data:`OUTSIDE`'s name.
    """
    use_device = device.type == "cuda"
    events = [e for e in prof.events() if _is_cpu_event(e)]
    chains: dict[int, tuple[str, ...]] = {}

    def chain_of(evt) -> tuple[str, ...]:
        key = id(evt)
        if key in chains:
            return chains[key]
        path, node, todo = (), evt, []
        while node is not None and id(node) not in chains:
            todo.append(node)
            node = getattr(node, "cpu_parent", None)
        if node is not None:
            path = chains[id(node)]
        for n in reversed(todo):
            if n.name in by_range:
                path = path + (n.name,)
            chains[id(n)] = path
        return chains[key]

    own: list[tuple[tuple[str, ...], float]] = []
    for e in events:
        t = _own_device_us(e) if use_device else (0.0 if e.name.startswith(CALL_RANGE) else e.self_cpu_time_total)
        if t:
            own.append((chain_of(e), t))
    attributed = sum(t for _, t in own)
    device_total = None
    coverage_fallback = False
    if use_device:
        kernels = [e for e in prof.events() if _is_device_event(e)]
        device_total = sum(k.time_range.end - k.time_range.start for k in kernels)
        if device_total and attributed < 0.5 * device_total:
            # fallback: link each kernel to the CPU runtime call that launched it (same correlation id)
            runtime = {e.id: e for e in events if e.name.startswith(("cuda", "cu")) and not e.name.startswith(RANGE_PREFIX)}
            own = [(chain_of(runtime[k.id]), k.time_range.end - k.time_range.start) for k in kernels if k.id in runtime]
            attributed = sum(t for _, t in own)
            coverage_fallback = True
    counts = Counter(e.name for e in events if e.name in by_range)

    def group(key: str) -> dict[str, dict[str, float]]:
        outside = OUTSIDE[key]
        acc: dict[str, dict[str, float]] = defaultdict(lambda: {"self_us": 0.0, "total_us": 0.0, "calls": 0})
        for chain, t in own:
            names = [by_range[r][key] for r in chain if by_range[r][key] is not None]
            acc[names[-1] if names else outside]["self_us"] += t
            for name in set(names):
                acc[name]["total_us"] += t
        for rng, n in counts.items():
            name = by_range[rng][key]
            if name is not None:
                acc[name]["calls"] += n
        acc[outside]["total_us"] = acc[outside]["self_us"]
        base = attributed or 1.0
        return {
            name: {"self_ms_per_call": v["self_us"] / 1000 / calls, "total_ms_per_call": v["total_us"] / 1000 / calls,
                   "self_pct": 100 * v["self_us"] / base, "total_pct": 100 * v["total_us"] / base,
                   "count_per_call": v["calls"] / calls}
            for name, v in sorted(acc.items(), key=lambda kv: -kv[1]["self_us"]) if v["self_us"] or v["total_us"]
        }

    return {
        "basis": "cuda kernel time" if use_device else "cpu self time",
        "attributed_ms_per_call": attributed / 1000 / calls,
        "device_kernel_ms_per_call": device_total / 1000 / calls if device_total is not None else None,
        "attribution_via_runtime_correlation": coverage_fallback,
        "by_class": group("label"),
        "by_class_plain": group("cls"),
        "by_path": group("path"),
        "by_block": group("block"),
    }


def export_trace(unet: nn.Module, inputs: dict[str, Tensor], device: torch.device, labels, out_dir: Path,
                 max_mb: float) -> dict[str, Any]:
    """Chrome trace of one call with module ranges, gzipped to ``trace.json.gz`` (dropped above ``max_mb``)."""
    with module_ranges(labels):
        prof = profile_calls(unet, inputs, device, 1)
    raw = out_dir / "trace.json"
    gz = out_dir / "trace.json.gz"
    prof.export_chrome_trace(str(raw))
    with open(raw, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    raw_mb = raw.stat().st_size / 2**20
    raw.unlink()
    mb = gz.stat().st_size / 2**20
    if mb > max_mb:
        gz.unlink()
        return {"status": "skipped", "reason": f"gzipped trace {mb:.1f} MB > {max_mb} MB", "raw_mb": raw_mb}
    return {"status": "ok", "path": gz.name, "mb": mb, "raw_mb": raw_mb}
