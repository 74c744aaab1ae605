"""Time the README's main command on the CPU and make a contact sheet of its frames.

    python benchmarks/bench_generate_cpu.py --threads 2 --out bench_generate_cpu.json \
        --contact-sheet docs/images/contact_sheet_scene_a.png

Runs ``genxd generate examples/scene_a.png --camera orbit --out TMP`` in a fresh process (with
``OMP_NUM_THREADS`` threads; model loading and writing included, as a user sees it), repeats it
``--repeats`` times, prints and writes JSON (wall seconds, median). With ``--contact-sheet`` the
input and the generated frames of the last run are tiled into one PNG (upscaled 2x, nearest).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def contact_sheet(input_png: Path, frames_dir: Path, out: Path, scale: int = 2) -> None:
    from PIL import Image

    from genxd.utils.io import atomic_file

    frames = sorted(frames_dir.glob("*.png"))
    if not frames:
        raise SystemExit(f"no frames in {frames_dir}")
    tiles = [np.asarray(Image.open(p).convert("RGB")) for p in frames]
    h, w = tiles[0].shape[:2]
    first = np.asarray(Image.open(input_png).convert("RGB").resize((w, h), Image.BILINEAR))
    gap = np.full((h, 2, 3), 255, np.uint8)
    row = [first, np.full((h, 6, 3), 255, np.uint8)]
    for t in tiles:
        row += [t, gap]
    sheet = np.concatenate(row[:-1], axis=1).repeat(scale, 0).repeat(scale, 1)
    with atomic_file(out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=str(ROOT / "examples" / "scene_a.png"))
    ap.add_argument("--camera", default="orbit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", default="bench_generate_cpu.json")
    ap.add_argument("--contact-sheet", default=None)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads), CUDA_VISIBLE_DEVICES="")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            out_dir = Path(tmp) / f"run{i}"
            cmd = [sys.executable, "-m", "genxd", "generate", args.image, "--camera", args.camera, "--out", str(out_dir)]
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
        if args.contact_sheet:
            frames_dir = next(p.parent for p in out_dir.rglob("*.png") if "frame" in p.name or p.parent.name == "frames")
            contact_sheet(Path(args.image), frames_dir, Path(args.contact_sheet))
    result = {
        "benchmark": "genxd generate on CPU (README main command)",
        "command": f"genxd generate {Path(args.image).name} --camera {args.camera}",
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "wall_seconds": times,
        "median_wall_seconds": statistics.median(times),
    }
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
