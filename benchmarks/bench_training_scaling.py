"""Training throughput and peak memory of the released model size on 1 GPU vs N GPUs (DDP, FSDP).

Runs ``benchmarks/bench_training.py --accelerate`` under ``accelerate launch`` once per setting and
collects the results in one JSON, with the scaling efficiency of each N-process setting against the
one-process run (``samples/s with N / (N x samples/s with 1)``):

    python benchmarks/bench_training_scaling.py --gpus 1 2 4 --out benchmarks/results/bench_training_scaling.json
    python benchmarks/bench_training_scaling.py --gpus 1 --settings single fsdp fsdp_offload   # one GPU
    python benchmarks/bench_training_scaling.py --smoke --gpus 1 2 --out /tmp/scaling.json      # CPU check

Settings: ``single`` (one process, no wrapper; only for 1 GPU), ``ddp``, ``fsdp`` (FSDP2, weights,
gradients and AdamW state sharded), ``fsdp_offload`` (FSDP2 with the sharded weights and optimiser on the
CPU). Every run: 256x256, 12 frames, batch 1 per GPU, bf16, gradient checkpointing (bench_training's defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_training.py"
# one FSDP unit per residual block and per transformer (UNetMVTemporalConditionModel._no_split_modules)
FSDP = ["--use_fsdp", "--fsdp_version", "2", "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP"]
SETTINGS = {
    "single": [],
    "ddp": ["--multi_gpu"],
    "fsdp": FSDP,
    "fsdp_offload": [*FSDP, "--fsdp_offload_params", "true"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(setting: str, gpus: int, out: Path, bench_args: list[str], precision: str = "bf16") -> list[str]:
    """The ``accelerate launch`` command of one run."""
    return [sys.executable, "-m", "accelerate.commands.launch", *SETTINGS[setting], "--num_processes", str(gpus),
            "--num_machines", "1", "--mixed_precision", precision, "--dynamo_backend", "no",
            "--main_process_port", str(_free_port()), str(BENCH), "--accelerate", "--out", str(out), *bench_args]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--settings", nargs="+", default=["single", "ddp", "fsdp"], choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900, help="Seconds per run.")
    parser.add_argument("--smoke", action="store_true",
                        help="Tiny model on CPU processes (gloo; 'single' and 'ddp' only): proves the driver runs.")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_training_scaling.json"))
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if args.smoke:
        env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    out = Path(args.out)
    parts = out.with_name(out.stem + "_runs")
    parts.mkdir(parents=True, exist_ok=True)
    runs = []
    for gpus in args.gpus:
        for setting in args.settings:
            if (setting == "single" and gpus != 1) or (setting == "ddp" and gpus == 1):
                continue  # 'single' is the 1-GPU reference; DDP needs 2+ processes
            if args.smoke and setting.startswith("fsdp"):
                continue  # accelerate sets FSDP up only for GPU processes
            part = parts / f"{setting}_{gpus}.json"
            bench_args = ["--steps", str(args.steps), "--warmup", str(args.warmup), *(["--smoke"] if args.smoke else [])]
            cmd = launch_command(setting, gpus, part, bench_args, "no" if args.smoke else "bf16")
            print(f"[{setting} x {gpus}] {' '.join(cmd)}", flush=True)
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
            entry = {"setting": setting, "gpus": gpus, "wall_seconds": time.monotonic() - start,
                     "returncode": proc.returncode}
            if proc.returncode == 0:
                entry.update(json.loads(part.read_text()))
            else:
                text = proc.stdout + proc.stderr
                errors = [line[:500] for line in text.splitlines() if "Error" in line or "error:" in line]
                entry["errors"] = errors[:20]
                entry["error_tail"] = text[-2000:]
            runs.append(entry)
            print(json.dumps({k: entry.get(k) for k in ("setting", "gpus", "returncode", "seconds_per_step_median",
                                                        "samples_per_s", "peak_memory_gib")}), flush=True)
    base = next((r for r in runs if r["gpus"] == 1 and r["setting"] == "single" and r["returncode"] == 0), None)
    for r in runs:
        if base is not None and r["returncode"] == 0:
            r["scaling_efficiency"] = r["samples_per_s"] / (r["gpus"] * base["samples_per_s"])
    result = {"benchmark": "genxd training, 1 vs N GPUs", "runs": runs}
    text = json.dumps(result, indent=2)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(text + "\n")
    tmp.replace(out)
    print(text)
    return result


if __name__ == "__main__":
    main()
