"""Time the README's main command on the CPU (before / after a change in one run), where its time goes, and a
contact sheet of its frames.

    # this checkout alone, median of 3
    python benchmarks/bench_generate_cpu.py --threads 2 --repeats 3 --out bench_generate_cpu.json
    # before (git ref) and after (this checkout) in one run: runs alternate, so both see the same load
    python benchmarks/bench_generate_cpu.py --before main --repeats 3 --out bench_generate_cpu.json
    # where one run's time goes (imports, loading, encoding, UNet calls, decoding, writing), this checkout
    python benchmarks/bench_generate_cpu.py --phases --repeats 3 --out bench_generate_cpu_phases.json

Each run is ``genxd generate examples/scene_a.png --camera orbit --out TMP`` in a fresh process with
``OMP_NUM_THREADS`` threads (model loading and writing included, as a user sees it). Recorded per run: wall
seconds, the child's CPU seconds (user + system: less sensitive than wall time to other jobs on a shared
machine) and the 1-minute load average when it started. ``--before REF`` exports ``src/`` of the git ref
``REF`` (``git archive``) and runs it with ``PYTHONPATH`` pointing there; ``--after-args`` adds options to the
after runs only (e.g. ``--steps 12``). ``--contact-sheet``: the input and the frames of the last after run,
tiled into one PNG (upscaled 2x, nearest).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_exists, check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402

PHASES_SNIPPET = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
marks = {}
def mark(name):
    marks[name] = (time.perf_counter() - t0, time.process_time() - c0)
from genxd.cli.common import DEFERRED_IMPORTS, import_libraries  # as the command line imports (collector paused, then frozen)
import_libraries("torch")
import torch
mark("import_torch")
import_libraries("genxd.api", defer=DEFERRED_IMPORTS)
import genxd.api as api
from genxd.utils.images import load_image
mark("import_genxd")
lm = api.load_model(None, "cpu")
mark("load_model")
pipe, d = lm.pipe, lm.defaults
pipe.set_progress_bar_config(disable=True)
spent = {"unet": [0.0, 0.0], "vae_encode": [0.0, 0.0], "vae_decode": [0.0, 0.0]}
def timed(name, fn):
    def run(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*a, **k)
        spent[name][0] += time.perf_counter() - t
        spent[name][1] += time.process_time() - c
        return out
    return run
pipe.unet.forward = timed("unet", pipe.unet.forward)
pipe.vae.encode = timed("vae_encode", pipe.vae.encode)
pipe.vae.decode = timed("vae_decode", pipe.vae.decode)
res, n = int(d["resolution"]), int(d["num_frames"])
c2w, K = api.camera_trajectory("orbit", n, d.get("focal"), scale=lm.info.preset_scale)
img = load_image(sys.argv[1], res, res)
mark("inputs")
out = pipe(img[None, None], c2w, K, context_index=[0], mode="3d", num_inference_steps=int(d["num_inference_steps"]),
           guidance_scale=float(d["guidance_scale"]), generator=torch.Generator().manual_seed(0))
mark("sample")
api.write_scene(__import__("pathlib").Path(sys.argv[2]) / "scene", out.frames[0], c2w, K, [0],
                img[None].expand(n, -1, -1, -1), {}, fps=n / 2)
mark("write")
print("PHASES " + json.dumps({"marks": marks, "inside_sample": spent, "threads": torch.get_num_threads()}))
__import__("gc").freeze()  # as genxd.cli.main before the interpreter's exit
"""


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


def export_ref(ref: str, dest: Path) -> Path:
    """``src/`` of git ref ``ref`` extracted under ``dest``; returns the folder to put on PYTHONPATH."""
    proc = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_generate_cpu: --before {ref}: {proc.stderr.decode(errors='replace').strip()}")
    archive = proc.stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def timed_run(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``; wall and CPU seconds (the child's user + system time) and the load average at the start.

    A child that fails ends this script (exit 1, no traceback) with the last lines of its stderr (genxd's
    ``genxd: error: ...`` line)."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        tail = "\n".join("  " + line for line in proc.stderr.strip().splitlines()[-5:])
        what = "genxd generate" if "-m" in cmd and "genxd" in cmd else "the phases run"
        raise SystemExit(f"bench_generate_cpu: {what} failed (exit {proc.returncode}):\n{tail}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "load_1min": load, "stdout": proc.stdout}


def summarize(runs: list[dict]) -> dict:
    return {"wall_seconds": [r["wall_s"] for r in runs], "cpu_seconds": [r["cpu_s"] for r in runs],
            "load_1min": [r["load_1min"] for r in runs],
            "median_wall_seconds": statistics.median(r["wall_s"] for r in runs),
            "median_cpu_seconds": statistics.median(r["cpu_s"] for r in runs)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=str(ROOT / "examples" / "scene_a.png"))
    ap.add_argument("--camera", default="orbit")
    ap.add_argument("--threads", type=positive_int, default=2)
    ap.add_argument("--repeats", type=positive_int, default=1)
    ap.add_argument("--before", default=None, help="git ref to time against (its src/, same command, alternating runs)")
    ap.add_argument("--after-args", default="", help="extra genxd generate options for the after runs only")
    ap.add_argument("--phases", action="store_true", help="time the phases of one run of this checkout instead")
    ap.add_argument("--out", default=None, help=out_help("bench_generate_cpu"))
    ap.add_argument("--contact-sheet", default=None)
    args = ap.parse_args(argv)
    check_exists(ap, "--image", args.image)
    check_out(ap, args.out)
    check_out(ap, args.contact_sheet, "--contact-sheet")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads), CUDA_VISIBLE_DEVICES="")
    after_env = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    result: dict = {
        "benchmark": "genxd generate on CPU (README main command)",
        "command": f"genxd generate {Path(args.image).name} --camera {args.camera}", "threads": args.threads,
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.phases:
            runs = []
            for i in range(args.repeats):
                r = timed_run([sys.executable, "-c", PHASES_SNIPPET, args.image, str(tmp / f"p{i}")], after_env)
                line = next(l for l in r["stdout"].splitlines() if l.startswith("PHASES "))
                runs.append({**json.loads(line[len("PHASES "):]), "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                             "load_1min": r["load_1min"]})
            result.update(kind="phases", runs=runs, **summarize(runs))
        else:
            variants = {"after": (after_env, shlex.split(args.after_args))}
            if args.before:
                before_env = dict(env, PYTHONPATH=str(export_ref(args.before, tmp)))
                variants = {"before": (before_env, []), **variants}
                result["before_ref"] = args.before
                result["after_args"] = args.after_args
            runs: dict[str, list[dict]] = {k: [] for k in variants}
            for i in range(args.repeats):
                for name, (venv, extra) in variants.items():  # alternating: both see the same load
                    out_dir = tmp / f"{name}{i}"
                    cmd = [sys.executable, "-m", "genxd", "generate", args.image, "--camera", args.camera,
                           "--out", str(out_dir), "--quiet", *extra]
                    r = timed_run(cmd, venv)
                    runs[name].append({k: v for k, v in r.items() if k != "stdout"})
                    print(f"{name} run {i}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s cpu, load {r['load_1min']:.1f}",
                          flush=True)
            for name, rs in runs.items():
                result[name] = summarize(rs)
            if args.before:
                result["speedup_wall"] = result["before"]["median_wall_seconds"] / result["after"]["median_wall_seconds"]
                result["speedup_cpu"] = result["before"]["median_cpu_seconds"] / result["after"]["median_cpu_seconds"]
            result.update({k: result["after"][k] for k in ("wall_seconds", "median_wall_seconds")})
            if args.contact_sheet:
                last = tmp / f"after{args.repeats - 1}"
                frames_dir = next(p.parent for p in last.rglob("*.png") if p.parent.name == "frames")
                contact_sheet(Path(args.image), frames_dir, Path(args.contact_sheet))
    print(json.dumps(result, indent=2))
    save_json(resolve_out(args.out, "bench_generate_cpu"), result, indent=2)
    return result


if __name__ == "__main__":
    main()
