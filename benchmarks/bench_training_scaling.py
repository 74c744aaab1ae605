"""Training throughput and peak memory of the released model size on 1 GPU vs N GPUs (DDP, FSDP).

Runs ``benchmarks/bench_training.py --accelerate`` under ``accelerate launch`` once per setting and
collects the results in one JSON, with the scaling efficiency of each N-process setting against the
one-process run (``samples/s with N / (N x samples/s with 1)``):

    python benchmarks/bench_training_scaling.py --gpus 1 2 4 --out benchmarks/results/bench_training_scaling.json
    python benchmarks/bench_training_scaling.py --gpus 1 --settings single fsdp fsdp_offload   # one GPU
    python benchmarks/bench_training_scaling.py --smoke --gpus 1 2 --out /tmp/scaling.json      # CPU check

Settings: ``single`` (one process, no wrapper; only for 1 GPU), ``ddp`` (as ``genxd train``: gradients
all-reduced in bf16 under bf16 mixed precision), ``ddp_fp32`` (float32 all-reduce), ``fsdp`` (FSDP2, weights,
gradients and AdamW state sharded), ``fsdp_zero2`` (FSDP2 keeping the gathered weights from forward to
backward: ``--fsdp_reshard_after_forward false``), ``fsdp_offload`` (FSDP2 with the sharded weights and
optimiser on the CPU). Every run: 256x256, 12 frames, bf16, gradient checkpointing (bench_training's defaults),
``--batch-per-gpu`` samples per GPU (default 1; several values give one table each, every efficiency taken
against one GPU with the same batch per GPU).

``--equivalence`` adds one more one-GPU run with the whole global batch of the largest N (batch N x B on one
GPU, unless that run is already in the plan) and compares the losses of its first steps (warm-up and timed) with each N-process run: the data of a
step is fixed by its stream position (``bench_training``), so both see the same samples, noise and
conditions, and only round-off (bf16 autocast, other reduction orders) separates them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_training.py"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import launch_port, out_help, resolve_out, save_json  # noqa: E402

# one FSDP unit per residual block and per transformer (UNetMVTemporalConditionModel._no_split_modules)
FSDP = ["--use_fsdp", "--fsdp_version", "2", "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP"]
SETTINGS = {
    "single": [],
    "ddp": ["--multi_gpu"],  # genxd train's DDP: gradients all-reduced in bf16 under bf16 (ddp_comm_hook auto)
    "ddp_fp32": ["--multi_gpu"],  # DDP with float32 gradient all-reduce (torch's default)
    "ddp_bucket100": ["--multi_gpu"],  # genxd train's DDP with 100 MB buckets (training.ddp_bucket_mb: 100)
    "fsdp": FSDP,
    "fsdp_zero2": [*FSDP, "--fsdp_reshard_after_forward", "false"],  # weights kept gathered from forward to backward
    "fsdp_offload": [*FSDP, "--fsdp_offload_params", "true"],
}
#: extra bench_training arguments of a setting
BENCH_ARGS = {"ddp_fp32": ["--ddp-comm-hook", "none"], "ddp_bucket100": ["--ddp-bucket-mb", "100"]}


def launch_command(setting: str, gpus: int, out: Path, bench_args: list[str], precision: str = "bf16",
                   threads: int | None = None) -> list[str]:
    """The ``accelerate launch`` command of one run.

    CPU threads per process (``threads``, default: the machine's cores shared out; accelerate launch otherwise
    gives every process of a multi-GPU run one thread while a one-process run keeps them all: an unfair
    comparison)."""
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // max(gpus, 1))
    return [sys.executable, "-m", "accelerate.commands.launch", *SETTINGS[setting], "--num_processes", str(gpus),
            "--num_cpu_threads_per_process", str(threads), "--num_machines", "1", "--mixed_precision", precision, "--dynamo_backend", "no",
            "--main_process_port", str(launch_port()), str(BENCH), "--accelerate", "--out", str(out), *bench_args]


def loss_equivalence(reference: dict, runs: list[dict], rtol: float) -> dict:
    """Per-step relative loss differences of each N-process run against one process with batch N."""
    ref = reference.get("warmup_losses", []) + reference["losses"]
    out = {"reference": f"single x 1, batch {reference['batch_per_gpu']}", "reference_losses": ref, "rtol": rtol,
           "runs": []}
    for r in runs:
        losses = r.get("warmup_losses", []) + r["losses"]
        n = min(len(ref), len(losses))
        rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses[:n], ref[:n])]
        out["runs"].append({"setting": r["setting"], "gpus": r["gpus"], "losses": losses, "relative_difference": rel,
                            "max_relative_difference": max(rel) if rel else None,
                            "equal": bool(rel) and max(rel) <= rtol})
    return out


def add_scaling_efficiency(runs: list[dict]) -> None:
    """Set ``scaling_efficiency`` = samples/s / (GPUs x samples/s of one GPU, setting 'single', same batch per GPU)
    on every finished run that has such a reference; the others get none."""
    for r in runs:
        base = next((q for q in runs if q["gpus"] == 1 and q["setting"] == "single"
                     and q["batch_per_gpu"] == r["batch_per_gpu"]), None)
        if base is not None:
            r["scaling_efficiency"] = r["samples_per_s"] / (r["gpus"] * base["samples_per_s"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--settings", nargs="+", default=["single", "ddp", "fsdp"], choices=list(SETTINGS))
    parser.add_argument("--batch-per-gpu", type=int, nargs="+", default=[1],
                        help="Samples per GPU; each value is its own table (efficiency against 1 GPU at that batch).")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900, help="Seconds per run.")
    parser.add_argument("--single-reference-only", action="store_true",
                        help="On 1 GPU run only the 'single' reference (not the wrappers' 1-GPU runs).")
    parser.add_argument("--equivalence", action="store_true",
                        help="Also run one GPU with the largest N's global batch and compare the first steps' losses.")
    parser.add_argument("--loss-rtol", type=float, default=2e-2,
                        help="Relative loss difference counted as 'equal' in the equivalence check (bf16 round-off).")
    parser.add_argument("--smoke", action="store_true",
                        help="Tiny model on CPU processes (gloo; 'single' and 'ddp' only): proves the driver runs.")
    parser.add_argument("--out", default=None, help=out_help("bench_training_scaling")
                        + "; the runs' own JSON files go to the folder NAME_runs beside it (NAME: OUT without .json)")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if args.smoke:
        env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    out = resolve_out(args.out, "bench_training_scaling")
    parts = out.with_name(out.stem + "_runs")
    parts.mkdir(parents=True, exist_ok=True)
    runs = []
    if min(args.batch_per_gpu) < 1:
        parser.error("--batch-per-gpu: at least 1")
    plan = [(setting, gpus, b) for b in args.batch_per_gpu for gpus in args.gpus for setting in args.settings
            # 'single' is the 1-GPU reference; DDP needs 2+ processes; accelerate sets FSDP up only for GPUs
            if not ((setting == "single" and gpus != 1) or (setting.startswith("ddp") and gpus == 1)
                    or (args.smoke and setting.startswith("fsdp"))
                    or (args.single_reference_only and gpus == 1 and setting != "single"))]
    if args.equivalence and max(args.gpus) > 1:
        ref = ("single", 1, max(args.gpus) * args.batch_per_gpu[0])
        if ref not in plan:
            plan.append(ref)
    for setting, gpus, batch in plan:
        part = parts / (f"{setting}_{gpus}.json" if batch == 1 else f"{setting}_{gpus}_batch{batch}.json")
        bench_args = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--batch", str(batch),
                      *BENCH_ARGS.get(setting, []), *(["--smoke"] if args.smoke else [])]
        # --smoke: one thread a process, as OMP_NUM_THREADS above says (it proves the driver runs, times nothing;
        # a two-thread process beside other work spins: 19 s of CPU instead of about 9 on a shared 2-core machine)
        cmd = launch_command(setting, gpus, part, bench_args, "no" if args.smoke else "bf16", 1 if args.smoke else None)
        print(f"[{setting} x {gpus}] {' '.join(cmd)}", flush=True)
        start = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
        entry = {"setting": setting, "gpus": gpus, "batch_per_gpu": batch, "wall_seconds": time.monotonic() - start,
                 "returncode": proc.returncode}
        if proc.returncode == 0:
            entry.update(json.loads(part.read_text()))
        else:
            text = proc.stdout + proc.stderr
            # Python's errors, a process's C++ abort (gloo / c10d: "terminate called ...", "what(): ...") and the
            # launcher's signal lines ("Signal 6 (SIGABRT) received by PID ..."); the last ones are the root cause
            cause = r"Error|error:|terminate called|what\(\)|[Tt]imed? ?out|[Aa]bort|SIG[A-Z]+|Signal \d+"
            errors = [line[:500] for line in text.splitlines() if re.search(cause, line)]
            entry["errors"] = errors[-20:]
            entry["error_tail"] = text[-2000:]
        runs.append(entry)
        print(json.dumps({k: entry.get(k) for k in ("setting", "gpus", "returncode", "seconds_per_step_median",
                                                    "samples_per_s", "peak_memory_gib")}), flush=True)
    ok = [r for r in runs if r["returncode"] == 0]
    add_scaling_efficiency(ok)
    result = {"benchmark": "genxd training, 1 vs N GPUs", "batch_per_gpu": args.batch_per_gpu, "runs": runs}
    n_max, b0 = max(args.gpus), args.batch_per_gpu[0]
    big = next((r for r in ok if r["gpus"] == 1 and r["setting"] == "single" and r["batch_per_gpu"] == n_max * b0), None)
    if big is not None and n_max > 1:
        result["equivalence"] = loss_equivalence(
            big, [r for r in ok if r["gpus"] == n_max and r["batch_per_gpu"] == b0], args.loss_rtol)
    print(json.dumps(result, indent=2))
    save_json(out, result, indent=2)
    return result


if __name__ == "__main__":
    main()
