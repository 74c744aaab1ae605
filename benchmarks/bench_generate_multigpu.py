"""Generation throughput of ``genxd generate`` on 1 process vs N processes (``accelerate launch``).

The released configuration (the UNet layout of ``tests/fixtures/released_unet_layout.json``, 1.93 B
parameters, and a Stable-Video-Diffusion-size VAE) with random weights (speed does not depend on them),
written once as a checkpoint folder; 16 input images (variants of ``examples/*.png``); the command's
defaults (256x256, 12 frames, 25 steps, guidance, the CUDA fast path). Each setting is the real command:

    python -m genxd generate INPUTS --model CKPT --out OUT --summary S.json -q                       # 1 GPU
    accelerate launch --multi_gpu --num_processes N -m genxd generate INPUTS --model CKPT ... -q      # N GPUs

Throughput is counted two ways: over the generation phase (inputs / (last output written - first sampling
started), from the ``started_at`` / ``finished_at`` of the summary's entries: models loaded, steady state) and
over the whole command's wall time (start-up and model loading included). Checks that every input was
written exactly once (one folder each, by one process).

    python benchmarks/bench_generate_multigpu.py --gpus 1 2 --out benchmarks/results/bench_generate_multigpu.json
    python benchmarks/bench_generate_multigpu.py --smoke --gpus 1 2 --out /tmp/gen.json   # CPU, bundled model
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

LAYOUT = ROOT / "tests" / "fixtures" / "released_unet_layout.json"
SCHEDULER = ROOT / "tests" / "fixtures" / "reference_small" / "scheduler"
SVD_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
    block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=768,
    scaling_factor=0.18215, force_upcast=True,
)


def make_released_checkpoint(folder: Path) -> Path:
    """A checkpoint folder (unet/ vae/ scheduler/) of the released configuration with random weights (CUDA)."""
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

    from genxd.models import UNetMVTemporalConditionModel

    torch.manual_seed(0)
    with torch.device("cuda"):  # random init on the GPU: seconds instead of a minute on the CPU
        unet = UNetMVTemporalConditionModel.from_config(json.loads(LAYOUT.read_text())["config"]).to(torch.bfloat16)
        vae = AutoencoderKLTemporalDecoder(**SVD_VAE)
    unet.save_pretrained(folder / "unet")
    vae.save_pretrained(folder / "vae")
    EulerDiscreteScheduler.from_pretrained(SCHEDULER).save_pretrained(folder / "scheduler")
    del unet, vae
    torch.cuda.empty_cache()
    return folder


def make_inputs(folder: Path, count: int) -> list[Path]:
    """``count`` distinct images: the examples, flipped, rotated and cropped in turn."""
    from PIL import Image, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((ROOT / "examples").glob("*.png"))
    out = []
    for i in range(count):
        img = Image.open(sources[i % len(sources)]).convert("RGB")
        variant = i // len(sources)
        if variant % 2:
            img = ImageOps.mirror(img)
        if variant // 2:
            w, h = img.size
            d = min(w, h) // (8 + variant)
            img = img.crop((d, d, w - d, h - d))
        path = folder / f"input_{i:02d}.png"
        img.save(path)
        out.append(path)
    return out


def command(gpus: int, inputs: Path, model: str | None, out: Path, summary: Path, extra: list[str]) -> list[str]:
    """The ``genxd generate`` command on ``gpus`` processes."""
    args = ["generate", str(inputs), "--out", str(out), "--summary", str(summary), "-q", *extra]
    if model:
        args[2:2] = ["--model", model]
    if gpus == 1:
        return [sys.executable, "-m", "genxd", *args]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(gpus),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
            str(port), "-m", "genxd", *args]


def summarise(summary: dict, wall: float, num_inputs: int) -> dict:
    """Throughput figures and the written-once check from a job summary."""
    results = summary["results"]
    written = [r for r in results if r["status"] == "written"]
    outputs = [r["output"] for r in written]
    starts = [r["started_at"] for r in written if r.get("started_at") is not None]
    ends = [r["finished_at"] for r in written if r.get("finished_at") is not None]
    span = max(ends) - min(starts) if starts and ends else None
    per_process: dict[int, int] = {}
    for r in written:
        per_process[r["process_index"]] = per_process.get(r["process_index"], 0) + 1
    return {
        "inputs": num_inputs,
        "written": len(written),
        "each_output_once": len(outputs) == len(set(outputs)) == num_inputs,
        "scenes_per_process": {str(k): v for k, v in sorted(per_process.items())},
        "generation_seconds": span,
        "scenes_per_s_generation": len(written) / span if span else None,
        "wall_seconds": wall,
        "scenes_per_s_wall": len(written) / wall,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--inputs", type=int, default=16)
    parser.add_argument("--checkpoint", default=None, help="Use this checkpoint folder (default: make a random "
                        "released-configuration one in a temporary folder).")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="More `genxd generate` options.")
    parser.add_argument("--smoke", action="store_true", help="CPU processes (gloo), bundled model, 1 step, 2 frames.")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--out", default=None, help=out_help("bench_generate_multigpu"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="genxd_bench_gen_"))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        extra = list(args.extra)
        if args.smoke:
            env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
            model = None
            extra = ["--steps", "1", "--frames", "2", "--device", "cpu", *extra]
        elif args.checkpoint:
            model = args.checkpoint
        else:
            start = time.monotonic()
            model = str(make_released_checkpoint(work / "checkpoint"))
            print(f"random released-configuration checkpoint written in {time.monotonic() - start:.1f} s", flush=True)
        inputs = work / "inputs"
        make_inputs(inputs, args.inputs)
        runs = []
        for gpus in args.gpus:
            out, summary = work / f"out_{gpus}", work / f"summary_{gpus}.json"
            cmd = command(gpus, inputs, model, out, summary, extra)
            print(f"[{gpus} process(es)] {' '.join(cmd)}", flush=True)
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
            wall = time.monotonic() - start
            entry = {"processes": gpus, "returncode": proc.returncode}
            if proc.returncode == 0 and summary.is_file():
                entry.update(summarise(json.loads(summary.read_text()), wall, args.inputs))
            else:
                entry["error_tail"] = (proc.stdout + proc.stderr)[-3000:]
            runs.append(entry)
            print(json.dumps(entry), flush=True)
        base = next((r for r in runs if r["processes"] == 1 and r["returncode"] == 0), None)
        for r in runs:
            if base is not None and r["returncode"] == 0:
                r["speedup_generation"] = r["scenes_per_s_generation"] / base["scenes_per_s_generation"]
                r["speedup_wall"] = r["scenes_per_s_wall"] / base["scenes_per_s_wall"]
        import torch

        result = {
            "benchmark": "genxd generate, 1 vs N processes",
            "mode": "smoke (CPU, bundled model)" if args.smoke else "released configuration, random weights",
            "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() and not args.smoke else "cpu",
            "settings": extra or "command defaults",
            "runs": runs,
            "torch": torch.__version__,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    save_json(resolve_out(args.out, "bench_generate_multigpu"), result, indent=2)
    return result


if __name__ == "__main__":
    main()
