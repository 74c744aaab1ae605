"""Quality against steps for each sampler (``--scheduler``), on the held-out synthetic scenes.

For every scene of ``genxd eval``'s held-out set (seed 7, the same scenes, context views and noise seeds as
``genxd eval``, so ``euler:25`` reproduces its figures) and each mode (``3d-1view``: context frame 0;
``3d-3view``: frames 0, F/2, F-1), every configuration ``NAME:STEPS`` generates the clip, and is scored on the
non-context frames:

- PSNR / SSIM against the ground-truth renders (what ``genxd eval`` reports);
- the paired difference to the reference configuration (default ``euler:25``: the authors' sampling) on
  the same scenes and noise: mean, and a 95% interval (1.96 standard errors over scenes);
- PSNR of the frames against the reference configuration's frames (how close to the 25-step sampling the
  fewer steps come: PSNR against ground truth alone rewards blur).

A configuration *matches* the reference when its mean PSNR against ground truth is within ``--tolerance-db``
(0.2) of the reference's in every mode (``no_worse``: at most that much below it; fewer steps can score higher
against ground truth by being blurrier, which the PSNR against the reference's frames shows). Work items (scene, mode, configuration) are shared by ``--workers``
processes with ``--threads`` threads each; every finished item is appended to ``OUT.jsonl`` and the
generated frames (uint8) are cached (``--cache``), so a run that stops resumes where it was; ``OUT`` (JSON) is the summary.
Items are keyed by the run's settings too (model path, dataset seed, guidance, device: :func:`run_tag`), so a run
with other settings and the same ``--out`` computes its own items instead of reusing the earlier ones.
Without ``--out``, ``OUT`` is a new ``benchmarks/results/local/bench_schedulers_<UTC time>.json`` (git-ignored): to
resume a stopped run, give its ``--out``.

    # the full curve (32 cores: 16 workers x 2 threads, about half an hour)
    python benchmarks/bench_schedulers.py --scenes 50 --workers 16 --threads 2 \
        --out benchmarks/results/bench_schedulers_50.json
    # a small run on a shared 2-core machine
    nice -n 10 python benchmarks/bench_schedulers.py --scenes 8 --workers 1 --threads 2 \
        --configs euler:25 euler:10 dpmpp-2m:10 --out /tmp/sched.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_exists, check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402

DEFAULT_CONFIGS = [
    "euler:25", "euler:6", "euler:8", "euler:10", "euler:12",
    "dpmpp-2m:8", "dpmpp-2m:10", "dpmpp-2m:12",
    "dpmpp-2m-sde:10", "dpmpp-2m-sde:12",
    "dpmpp-3m:10", "dpmpp-3m:12",
    "unipc:8", "unipc:10", "unipc:12",
    "heun:5", "heun:6",
]
CONTEXTS = ("3d-1view", "3d-3view")


def parse_config(text: str) -> tuple[str, int]:
    from genxd.pipelines.schedulers import SCHEDULERS

    name, _, steps = text.partition(":")
    if name not in SCHEDULERS or not steps.isdigit() or int(steps) < 1:
        raise SystemExit(f"bad configuration {text!r}: NAME:STEPS with NAME one of {', '.join(SCHEDULERS)}")
    return name, int(steps)


def context_index(mode: str, frames: int) -> list[int]:
    return [0] if mode == "3d-1view" else [0, frames // 2, frames - 1]


def run_settings(model: str | None, seed: int, guidance: float | None, device: str) -> dict:
    """What changes an item's result besides (scene, mode, configuration): the model (resolved path), the dataset
    seed, the guidance scale (None: the model's) and the device."""
    return {"model": str(Path(model).resolve()) if model else "bundled:genxd-small", "seed": seed,
            "guidance": guidance, "device": device}


def run_tag(settings: dict) -> str:
    """A short hash of :func:`run_settings`, the first field of every item key."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def item_key(scene: int, mode: str, config: str, tag: str = "") -> str:
    """An item's key in OUT.jsonl: ``TAG|scene|mode|config`` (``main`` always gives its run's tag; rows written before
    the tag existed have no ``TAG|`` and are never reused)."""
    return f"{tag}|{scene}|{mode}|{config}" if tag else f"{scene}|{mode}|{config}"


# ---------------------------------------------------------------- worker side
_STATE: dict = {}


def _init_worker(model: str | None, threads: int, num_scenes: int, seed: int, guidance: float | None,
                 device: str = "cpu", worker: int = 0) -> None:
    import torch

    torch.set_num_threads(threads)
    from genxd.api import load_model
    from genxd.data.datasets import SyntheticDataset

    if device == "cuda":
        # float32 without TF32: the same numerics as the CPU run up to round-off; workers spread over the GPUs
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        device = f"cuda:{worker % torch.cuda.device_count()}"
    lm = load_model(model, device, "fp32", fast=False)
    lm.pipe.set_progress_bar_config(disable=True)
    d = lm.defaults
    res, frames = int(d["resolution"]), int(d["num_frames"])
    _STATE.update(pipe=lm.pipe, res=res, frames=frames, guidance=float(guidance if guidance is not None else d["guidance_scale"]),
                  data=SyntheticDataset(length=num_scenes, num_frames=frames, height=res, kinds=["3d"], seed=seed,
                                        motion_source="world"))


def _run_item(scene: int, mode: str, config: str, cache: str, tag: str) -> dict:
    import numpy as np
    import torch

    from genxd.evaluation import score_clip

    name, steps = parse_config(config)
    pipe, frames = _STATE["pipe"], _STATE["frames"]
    s = _STATE["data"][scene]
    ctx = context_index(mode, frames)
    pipe.set_scheduler(name)
    t0 = time.perf_counter()
    out = pipe(s["frames"][ctx][None], s["c2w"][None], s["K"][None], context_index=[ctx], mode="3d",
               num_inference_steps=steps, guidance_scale=_STATE["guidance"],
               generator=torch.Generator().manual_seed(scene)).frames[0].cpu()
    seconds = time.perf_counter() - t0
    score = score_clip(out, s["frames"], ctx)
    path = cache_path(Path(cache), mode, scene, config)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, (out * 255).round().to(torch.uint8).numpy())
    os.replace(tmp, path)
    return {"key": item_key(scene, mode, config, tag), "tag": tag, "scene": scene, "mode": mode, "config": config,
            "psnr": score.psnr, "ssim": score.ssim, "seconds": seconds}


def _worker_main(args_tuple) -> None:
    """Process entry: take items from the task queue until a None arrives; results go to the result queue."""
    init, tasks, results, worker = args_tuple
    try:
        _init_worker(*init, worker=worker)
    except Exception as exc:  # noqa: BLE001 - reported by the main process
        results.put({"error": f"worker start failed: {exc!r}"})
        return
    while True:
        item = tasks.get()
        if item is None:
            return
        try:
            results.put(_run_item(*item))
        except Exception as exc:  # noqa: BLE001
            results.put({"error": f"{item_key(*item[:3], item[4])}: {exc!r}"})


# ---------------------------------------------------------------- main side
def load_done(jsonl: Path) -> dict[str, dict]:
    done: dict[str, dict] = {}
    if jsonl.is_file():
        for line in jsonl.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["key"]] = row
    return done


def cache_path(cache: Path, mode: str, scene: int, config: str) -> Path:
    """Where an item's frames are cached (``cache`` is per run settings: see :func:`main`)."""
    return cache / f"{mode}_{scene:03d}_{config.replace(':', '_')}.npy"


def frames_psnr(cache: Path, mode: str, scene: int, a: str, b: str) -> float | None:
    import numpy as np

    pa, pb = (cache_path(cache, mode, scene, c) for c in (a, b))
    if not (pa.is_file() and pb.is_file()):
        return None
    fa, fb = np.load(pa).astype(np.float64) / 255, np.load(pb).astype(np.float64) / 255
    ctx = context_index(mode, fa.shape[0])
    keep = [i for i in range(fa.shape[0]) if i not in ctx]
    mse = float(((fa[keep] - fb[keep]) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def summarize(done: dict[str, dict], configs: list[str], reference: str, modes: list[str], scenes: int,
              cache: Path, tolerance: float, tag: str = "") -> dict:
    from genxd.pipelines.schedulers import model_calls

    out: dict = {"reference": reference, "tolerance_db": tolerance, "configs": {}}
    for config in configs:
        name, steps = parse_config(config)
        row: dict = {"scheduler": name, "steps": steps, "unet_calls": model_calls(name, steps), "modes": {}}
        for mode in modes:
            paired = [(done[item_key(i, mode, config, tag)], done[item_key(i, mode, reference, tag)])
                      for i in range(scenes)
                      if item_key(i, mode, config, tag) in done and item_key(i, mode, reference, tag) in done]
            if not paired:
                continue
            diffs = [a["psnr"] - b["psnr"] for a, b in paired]
            agree = [frames_psnr(cache, mode, a["scene"], config, reference) for a, _ in paired] if config != reference else []
            agree = [x for x in agree if x is not None and math.isfinite(x)]
            sem = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
            row["modes"][mode] = {
                "scenes": len(paired),
                "psnr": statistics.mean(a["psnr"] for a, _ in paired),
                "ssim": statistics.mean(a["ssim"] for a, _ in paired),
                "psnr_minus_reference": statistics.mean(diffs),
                "psnr_minus_reference_ci95": 1.96 * sem,
                "psnr_vs_reference_frames": statistics.mean(agree) if agree else None,
                "seconds_per_sample": statistics.median(a["seconds"] for a, _ in paired),
            }
        complete = bool(row["modes"]) and len(row["modes"]) == len(modes)
        row["matches_reference"] = complete and all(
            abs(m["psnr_minus_reference"]) <= tolerance for m in row["modes"].values())
        row["no_worse_than_reference"] = complete and all(
            m["psnr_minus_reference"] >= -tolerance for m in row["modes"].values())
        out["configs"][config] = row
    return out


def print_table(summary: dict, modes: list[str]) -> None:
    head = f"{'config':<18}{'calls':>6}"
    for mode in modes:
        head += f" | {mode + ' PSNR':>14}{'vs ref':>8}{'+-':>6}{'frames':>8}"
    print(head + " | match | no worse")
    for config, row in summary["configs"].items():
        line = f"{config:<18}{row['unet_calls']:>6}"
        for mode in modes:
            m = row["modes"].get(mode)
            if m is None:
                line += " | " + " " * 36
                continue
            agree = m["psnr_vs_reference_frames"]
            line += (f" | {m['psnr']:>9.2f} ({m['scenes']:>2}){m['psnr_minus_reference']:>+8.2f}"
                     f"{m['psnr_minus_reference_ci95']:>6.2f}{(f'{agree:.1f}' if agree else '-'):>8}")
        print(line + f" | {'yes' if row['matches_reference'] else 'no':>5} | {'yes' if row['no_worse_than_reference'] else 'no'}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint folder (default: the bundled small model)")
    ap.add_argument("--scenes", type=positive_int, default=50, help="held-out scenes (genxd eval uses 50)")
    ap.add_argument("--seed", type=int, default=7, help="held-out dataset seed (7: genxd eval's)")
    ap.add_argument("--modes", nargs="+", default=list(CONTEXTS), choices=CONTEXTS)
    ap.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS, help="NAME:STEPS (default: %(default)s)")
    ap.add_argument("--reference", default="euler:25", help="configuration the others are compared with")
    ap.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's)")
    ap.add_argument("--tolerance-db", type=float, default=0.2)
    ap.add_argument("--workers", type=positive_int, default=1, help="processes")
    ap.add_argument("--threads", type=positive_int, default=2, help="torch threads per process")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: the workers share out the visible GPUs (float32, TF32 off)")
    ap.add_argument("--cache", default=None,
                    help="folder for the generated frames (default: ~/.cache/genxd/bench_schedulers/OUT's name)")
    ap.add_argument("--out", default=None, help=out_help("bench_schedulers") + "; OUT.jsonl beside it logs every "
                    "finished item: run again with the same --out to resume")
    args = ap.parse_args(argv)

    configs = list(dict.fromkeys([args.reference, *args.configs]))
    for c in configs:
        try:
            parse_config(c)
        except SystemExit as exc:
            ap.error(str(exc))
    if args.model is not None:
        check_exists(ap, "--model", args.model)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            ap.error("--device cuda: cuda requested but not available")
    check_out(ap, args.out)
    settings = run_settings(args.model, args.seed, args.guidance, args.device)
    tag = run_tag(settings)
    out = resolve_out(args.out, "bench_schedulers")
    out.parent.mkdir(parents=True, exist_ok=True)
    jsonl = out.with_suffix(".jsonl")
    cache = (Path(args.cache) if args.cache else Path.home() / ".cache" / "genxd" / "bench_schedulers" / out.stem) / tag
    cache.mkdir(parents=True, exist_ok=True)
    done = load_done(jsonl)
    # scene-major order: after k scenes every configuration has k paired scenes
    todo = [(i, mode, c, str(cache), tag) for i in range(args.scenes) for mode in args.modes for c in configs
            if item_key(i, mode, c, tag) not in done]
    mine = sum(k.startswith(tag + "|") for k in done)
    print(f"settings {tag} {json.dumps(settings)}: {mine} items done, {len(todo)} to run "
          f"({args.workers} workers x {args.threads} threads)", flush=True)
    started = time.perf_counter()
    errors: list[str] = []
    if todo:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        init = (args.model, args.threads, args.scenes, args.seed, args.guidance, args.device)
        procs = [ctx.Process(target=_worker_main, args=((init, tasks, results, w),)) for w in range(max(1, args.workers))]
        for p in procs:
            p.start()
        for item in todo:
            tasks.put(item)
        for _ in procs:
            tasks.put(None)
        with jsonl.open("a") as log:
            remaining = len(todo)
            while remaining:
                row = results.get()
                if "error" in row:
                    errors.append(row["error"])
                    print("error:", row["error"], file=sys.stderr, flush=True)
                    if row["error"].startswith("worker start failed"):
                        for p in procs:
                            p.terminate()
                        raise SystemExit(row["error"])
                    remaining -= 1
                    continue
                log.write(json.dumps(row) + "\n")
                log.flush()
                done[row["key"]] = row
                remaining -= 1
                print(f"[{len(todo) - remaining}/{len(todo)}] {row['key']}: {row['psnr']:.2f} dB, {row['seconds']:.1f} s", flush=True)
        for p in procs:
            p.join()
    summary = summarize(done, configs, args.reference, args.modes, args.scenes, cache, args.tolerance_db, tag)
    summary.update({
        "benchmark": "quality against steps per sampler, held-out synthetic scenes",
        "model": settings["model"], "settings_tag": tag, "guidance": args.guidance, "scenes": args.scenes, "seed": args.seed, "modes": args.modes,
        "workers": args.workers, "threads": args.threads, "device": args.device, "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "wall_seconds_this_run": time.perf_counter() - started, "errors": errors,
    })
    print_table(summary, args.modes)
    save_json(out, summary, indent=2)
    return summary


if __name__ == "__main__":
    main()
