"""Train, evaluate and export the bundled small GenXD on one GPU, in pieces of at most ten minutes.

The exact commands used for ``src/genxd/assets/genxd-small`` (figures in docs/small_model.md). Stages
run in the order given; ``NAME=M`` gives a stage ``M`` minutes of training:

    python scripts/train_small_h100.py vae=5 probe       # VAE, then UNet throughput eager vs compiled
    python scripts/train_small_h100.py genxd=8           # UNet: new run, or resume its newest checkpoint
    python scripts/train_small_h100.py genxd=6 tune eval export
    python scripts/train_small_h100.py continue=8        # on a fresh machine: from the bundled weights

- ``vae=M``: ``genxd train-vae configs/h100_small_vae.yaml`` (new run); its ``vae/`` goes to $OUT.
- ``probe``: 150 UNet steps eager and 150 with ``training.compile=true``; the faster is used later.
- ``genxd=M`` / ``continue=M``: ``genxd train configs/h100_small_genxd.yaml`` (resumes
  ``outputs/small_genxd`` if it has checkpoints) / ``configs/h100_small_genxd_continue.yaml``.
- ``tune``: guidance scale chosen on 24 validation scenes (seed 5: neither training nor evaluation
  scenes) by 3D single-view PSNR; written into the checkpoint's generation_config.json.
- ``eval``: ``genxd eval`` on the 50 held-out scenes (float32) -> $OUT/eval.json.
- ``export``: the newest checkpoint's pipeline folder as $OUT/genxd-small.tar.partNN (15 MB parts).
- ``+KEY=VALUE``: a dotted config override for the training stages that follow it on the command line,
  e.g. ``+data.datasets.0.seed=1`` trains on a fresh pool of synthetic clips (seeds 5, 7 and 8 are the
  validation and evaluation scenes: never train on them).

Everything goes through the Python API (no CLI dependencies needed on the GPU machine).
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
import time
from pathlib import Path

from genxd.training import load_config, train_genxd, train_vae
from genxd.training.loop import list_checkpoints

OUT = Path(os.environ.get("OUT", "outputs/export"))
QUIET = ["logging.progress_bar=false"]
GENXD_DIR = Path("outputs/small_genxd")
PROBE = Path("outputs/probe.json")


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


def summarize(run_dir: Path, every: int = 1) -> None:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows = [r for r in rows if "loss" in r]
    for r in rows[::every] + rows[-1:]:
        log("  ", {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()})


def newest(run_dir: Path) -> Path:
    found = list_checkpoints(run_dir / "checkpoints")
    if not found:
        raise SystemExit(f"no checkpoint in {run_dir}")
    return found[-1]


def stage_vae(minutes: float) -> None:
    cfg = load_config("configs/h100_small_vae.yaml", [*QUIET, f"training.max_minutes={minutes}"], kind="vae")
    ckpt = train_vae(cfg, overwrite=True)
    summarize(Path(cfg.output_dir), every=5)
    OUT.mkdir(parents=True, exist_ok=True)
    with tarfile.open(OUT / "vae.tar", "w") as tar:
        tar.add(Path(ckpt) / "vae", arcname="vae")
    log("vae:", ckpt)


def stage_probe() -> None:
    speeds = {}
    for compile_ in (False, True):
        out = Path(f"outputs/probe_{int(compile_)}")
        cfg = load_config("configs/h100_small_genxd.yaml", [
            *QUIET, f"output_dir={out}", "data.datasets.0.length=6000", "training.max_steps=200",
            f"training.compile={str(compile_).lower()}", "logging.every_steps=100", "checkpoint.every_steps=0",
            "training.max_minutes=4"], kind="genxd")
        t = time.monotonic()
        try:
            train_genxd(cfg, overwrite=True)
        except Exception as exc:  # compilation unavailable or failing: keep eager
            log(f"probe compile={compile_} failed: {type(exc).__name__}: {exc}")
            speeds[compile_] = 0.0
            continue
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if "loss" in x]
        speeds[compile_] = rows[-1]["samples_per_s"] / cfg.training.batch_size
        log(f"probe compile={compile_}: {time.monotonic() - t:.0f} s in all; steps 101-200 at {speeds[compile_]:.2f} it/s;",
            rows[-1])
    PROBE.write_text(json.dumps({"compile": speeds[True] > 1.1 * speeds[False], "it_per_s": {str(k): v for k, v in speeds.items()}}))
    log("probe:", PROBE.read_text())


EXTRA_OVERRIDES: list[str] = []
RESERVED_SEEDS = {5, 7, 8}  # genxd.evaluation: validation (5), held-out 3D (7) and 4D (8) scenes


def stage_genxd(minutes: float, preset: str = "configs/h100_small_genxd.yaml") -> None:
    overrides = [*QUIET, f"training.max_minutes={minutes}", *EXTRA_OVERRIDES]
    if PROBE.is_file() and json.loads(PROBE.read_text())["compile"]:
        overrides.append("training.compile=true")
    cfg = load_config(preset, overrides, kind="genxd")
    for ds in cfg.data.datasets:
        if ds.get("type") == "synthetic" and int(ds.get("seed", 0)) in RESERVED_SEEDS:
            raise SystemExit(f"synthetic seed {ds['seed']} holds validation/evaluation scenes: not for training")
    resume = "latest" if list_checkpoints(GENXD_DIR / "checkpoints") else None
    if preset.endswith("continue.yaml") and resume is None:
        log("continuing from the bundled weights")
    ckpt = train_genxd(cfg, resume=resume, overwrite=resume is None)
    summarize(GENXD_DIR, every=4)
    log("genxd:", ckpt)


def stage_tune() -> None:
    from genxd.evaluation import evaluate

    ckpt = newest(GENXD_DIR)
    best = None
    for g in (1.0, 1.5, 2.0, 3.0):
        r = evaluate(ckpt, num_scenes=24, guidance=g, device="cuda", seed=5, progress=False, modes=("3d-1view",),
                     dtype="fp32", fast=False)["3d-1view"]
        log(f"tune guidance {g}: psnr {r['psnr']:.2f} baseline {r['baseline_psnr']:.2f} wins {r['fraction_above_baseline']:.2f}")
        if best is None or r["psnr"] > best[1]:
            best = (g, r["psnr"])
    gen_path = ckpt / "generation_config.json"
    gen = json.loads(gen_path.read_text())
    gen["guidance_scale"] = best[0]
    gen_path.write_text(json.dumps(gen, indent=2) + "\n")
    log("tune: guidance", best[0])


def stage_eval() -> None:
    from genxd.evaluation import evaluate

    ckpt = newest(GENXD_DIR)
    OUT.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    report = evaluate(ckpt, num_scenes=50, device="cuda", progress=False, out=OUT / "eval.json", dtype="fp32", fast=False)
    log(f"eval ({time.monotonic() - t:.0f} s):", json.dumps(report, indent=1))


def stage_export() -> None:
    ckpt = newest(GENXD_DIR)
    tar_path = Path("outputs/genxd-small.tar")
    with tarfile.open(tar_path, "w") as tar:  # the pipeline folder only (not the optimiser state)
        for part in ("unet", "vae", "scheduler", "generation_config.json"):
            tar.add(ckpt.resolve() / part, arcname=f"genxd-small/{part}")
    data = tar_path.read_bytes()
    OUT.mkdir(parents=True, exist_ok=True)
    size = 15 * 2**20
    for i in range(0, len(data), size):
        (OUT / f"genxd-small.tar.part{i // size:02d}").write_bytes(data[i : i + size])
    log("exported", ckpt, len(data), "bytes")


def main(argv: list[str]) -> None:
    for arg in argv:
        if arg.startswith("+"):
            EXTRA_OVERRIDES.append(arg[1:])
            continue
        name, _, value = arg.partition("=")
        log("stage", arg)
        if name == "vae":
            stage_vae(float(value or 5))
        elif name == "probe":
            stage_probe()
        elif name == "genxd":
            stage_genxd(float(value or 8))
        elif name == "continue":
            stage_genxd(float(value or 8), "configs/h100_small_genxd_continue.yaml")
        elif name == "tune":
            stage_tune()
        elif name == "eval":
            stage_eval()
        elif name == "export":
            stage_export()
        else:
            raise SystemExit(f"unknown stage {arg!r}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["vae=5", "genxd=8"])
