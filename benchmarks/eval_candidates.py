"""Evaluate candidate checkpoints side by side, every (checkpoint, job) in its own process (issue 24).

A job is ``NAME=SEED:SCENES:MODE[+MODE...]``: :func:`genxd.evaluation.evaluate` on ``SCENES`` scenes of
seed ``SEED`` with those modes, float32 with the fast path off (on CUDA equal to the CPU figures up to
floating-point order). The default jobs are the validation scenes (seed 5: 3D single view and photo cards,
what a checkpoint is *chosen* by), the 50 held-out synthetic scenes (seed 7) and the held-out
photographs (pan, zoom), which are reported, never chosen on.

    python benchmarks/eval_candidates.py --device cuda --workers 8 \\
        --model v4=src/genxd/assets/genxd-small --model new=outputs/small_genxd_photo/checkpoints/checkpoint-0000800 \\
        --out eval_candidates.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

DEFAULT_JOBS = (
    "validation=5:24:3d-1view+photo-cards",
    "3d-1view=7:50:3d-1view",
    "3d-3view=7:50:3d-3view",
    "4d=7:50:4d",
    "photos=7:50:photo-pan+photo-zoom",
)


def parse_job(text: str) -> tuple[str, int, int, tuple[str, ...]]:
    """``NAME=SEED:SCENES:MODE+MODE`` -> (name, seed, scenes, modes)."""
    try:
        name, spec = text.split("=", 1)
        seed, scenes, modes = spec.split(":")
        return name, int(seed), int(scenes), tuple(m for m in modes.split("+") if m)
    except ValueError:
        raise SystemExit(f"--job {text!r}: expected NAME=SEED:SCENES:MODE[+MODE...]") from None


def run_job(model: str, seed: int, scenes: int, modes: tuple[str, ...], device: str, steps: int | None,
            threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from genxd.evaluation import evaluate

    t = time.monotonic()
    report = evaluate(model, num_scenes=scenes, steps=steps, device=device, seed=seed, progress=False, modes=modes,
                      dtype="fp32", fast=False)
    report["seconds"] = round(time.monotonic() - t, 1)
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="NAME=CHECKPOINT (repeatable)")
    ap.add_argument("--job", action="append", help=f"NAME=SEED:SCENES:MODE[+MODE] (default: {', '.join(DEFAULT_JOBS)})")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=None, help="sampling steps (default: the checkpoint's)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    models = {}
    for text in args.model:
        name, sep, path = text.partition("=")
        if not sep or not Path(path).is_dir():
            raise SystemExit(f"--model {text!r}: expected NAME=FOLDER with an existing folder")
        models[name] = path
    jobs = [parse_job(j) for j in (args.job or DEFAULT_JOBS)]
    results: dict = {"device": args.device, "steps": args.steps, "models": models, "jobs": list(args.job or DEFAULT_JOBS),
                     "results": {m: {} for m in models}}
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run_job, path, seed, scenes, modes, args.device, args.steps, args.threads): (m, name)
                   for m, path in models.items() for name, seed, scenes, modes in jobs}
        for fut in as_completed(futures):
            m, name = futures[fut]
            report = fut.result()
            results["results"][m][name] = report
            gains = {k: round(v["psnr_gain_db"], 3) for k, v in report.items() if isinstance(v, dict) and "psnr_gain_db" in v}
            extra = {k: v for k, v in report.get("4d", {}).items() if "change" in k} if "4d" in report else {}
            print(f"{m} {name}: {gains} {extra} ({report['seconds']} s)", flush=True)
    from genxd.evaluation import mean_psnr_gain

    for m, by_job in results["results"].items():
        val = by_job.get("validation")
        if val:
            val["score_db"] = mean_psnr_gain(val)
            print(f"{m}: validation score {val['score_db']:+.3f} dB", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    sys.exit(main())
