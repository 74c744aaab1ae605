"""Tables of a profile run: ``kernels.txt`` and the printed summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) for c in header]] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_kernels_txt(result: dict[str, Any], out_dir: Path, op_table: str | None) -> None:
    parts = []
    rows = [[name, v["median_ms"], v.get("peak_gib") or 0.0, v.get("tflops_per_s") or 0.0]
            for name, v in result["variants"].items() if "median_ms" in v]
    if rows:
        parts.append("# variants (median ms of one guided call)\n")
        parts.append(_table(rows, ["variant", "median ms", "peak GiB", "TFLOP/s"]) + "\n\n")
    prof = result.get("profile", {})
    ks = prof.get("kernels")
    if isinstance(ks, dict) and "top" in ks:
        parts.append(f"# top by {ks['basis']}, {ks['calls']} calls\n")
        parts.append(_table([[r["name"], r["count_per_call"], r["ms_per_call"], r["pct"]] for r in ks["top"]],
                            ["name", "count/call", "ms/call", "%"]))
        if "by_category" in ks:
            parts.append(f"\n\n# kernels by kind ({ks['by_category_note']})\n")
            parts.append(_table([[k, v["count_per_call"], v["ms_per_call"], v["pct"]] for k, v in ks["by_category"].items()],
                                ["kind", "count/call", "ms/call", "%"]))
        idle = {k: v for k, v in ks.get("idle", {}).items() if k != "per_call_in_profile"}
        parts.append(f"\n\n# busy / idle\nkernels per call: {ks.get('kernels_per_call')}, busy ms per call: "
                     f"{ks.get('busy_ms_per_call')}\n{json.dumps(idle, indent=1)}")
    mods = prof.get("modules")
    if isinstance(mods, dict):
        for key in ("by_class", "by_class_plain", "by_path", "by_block"):
            parts.append(f"\n\n# {key} ({mods['basis']}; self = innermost range, total = inclusive)\n")
            parts.append(_table([[k, v["count_per_call"], v["self_ms_per_call"], v["self_pct"], v["total_ms_per_call"]]
                                 for k, v in mods[key].items()], [key, "count/call", "self ms", "self %", "total ms"]))
    conv = result.get("conv3d", {})
    if isinstance(conv, dict) and conv.get("shapes"):
        methods = list(conv["ms_per_call_by_method"])
        parts.append("\n\n# Conv3d in isolation (ms per conv; last row: ms per UNet call)\n")
        body = [[f"{r['input_shape']} k{r['kernel_size']} {r['in_channels']}->{r['out_channels']}", r["count_per_call"],
                 *[r["ms"].get(m, float("nan")) for m in methods]] for r in conv["shapes"]]
        body.append(["per UNet call", conv["conv3d_calls_per_call"], *[conv["ms_per_call_by_method"][m] for m in methods]])
        parts.append(_table(body, ["input shape / kernel / channels", "count/call", *methods]))
    if op_table:
        parts.append("\n\n# torch.profiler key_averages (top ops)\n" + op_table)
    (out_dir / "kernels.txt").write_text("".join(parts) + "\n")


def print_summary(result: dict[str, Any]) -> None:
    meta = result["meta"]
    print(f"\n== profile_sampling: {meta['config']} config, {meta['res']}px, {meta['frames']} frames, "
          f"{meta['parameters'] / 1e9:.3f}B params, {meta['device_name']}")
    flops = result.get("flops", {})
    if "total_used" in flops:
        print(f"FLOPs per call: {flops['total_used'] / 1e12:.3f} TFLOP (attention {max(flops['sdpa_counted'], flops['sdpa_analytic']) / 1e12:.3f})")
    rows = []
    for name, v in result["variants"].items():
        if "median_ms" in v:
            rows.append([name, v["median_ms"], v.get("peak_gib") or 0.0, v.get("tflops_per_s") or 0.0, v.get("status", "ok")])
        else:
            rows.append([name, "-", "-", "-", f"{v.get('status')}: {str(v.get('reason') or v.get('error'))[:70]}"])
    print(_table(rows, ["variant", "median ms", "peak GiB", "TFLOP/s", "status"]))
    prof = result.get("profile", {})
    ks = prof.get("kernels")
    if isinstance(ks, dict) and "top" in ks:
        print(f"\ntop 10 ({ks['basis']}):")
        print(_table([[r["name"][:70], r["count_per_call"], r["ms_per_call"], r["pct"]] for r in ks["top"][:10]],
                     ["name", "count/call", "ms/call", "%"]))
        if "by_category" in ks:
            print("by kernel kind (heuristic): " + ", ".join(f"{k} {v['pct']:.1f}%" for k, v in ks["by_category"].items()))
        idle = ks.get("idle", {})
        if "idle_share_vs_unprofiled_median" in idle or "idle_share_in_profile" in idle:
            print(f"kernels/call {ks.get('kernels_per_call')}, busy {ks.get('busy_ms_per_call'):.2f} ms/call, "
                  f"idle vs unprofiled median {idle.get('idle_share_vs_unprofiled_median')}, "
                  f"idle in profile {idle.get('idle_share_in_profile')}")
    mods = prof.get("modules")
    if isinstance(mods, dict):
        for key in ("by_class", "by_path"):
            print(f"\n{key} ({mods['basis']}):")
            print(_table([[k, v["count_per_call"], v["self_ms_per_call"], v["self_pct"]] for k, v in list(mods[key].items())[:15]],
                         [key, "count/call", "self ms", "self %"]))
    conv = result.get("conv3d", {})
    if "ms_per_call_by_method" in conv:
        print(f"\nConv3d per call by method (ms): {json.dumps({k: round(v, 3) for k, v in conv['ms_per_call_by_method'].items()})}")
    if result["errors"]:
        print("\nerrors:", *[f"  {e['stage']}: {e['error']}" for e in result["errors"]], sep="\n")
