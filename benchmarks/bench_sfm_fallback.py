"""Time of curation's SfM (``genxd.curation.run_sfm``, ``mapper="auto"``) on clips whose incremental mapping fails.

With ``mapper="auto"`` (the default of ``genxd curate``) a clip the incremental mapper cannot place goes to the
global mapper. Before session 47 the global attempt built its feature databases again (KLT tracks or SIFT features,
then the verified matches) though the incremental attempt had built the same ones; now it maps a copy of them. The
before form is kept here (the databases not passed on); the cameras must be bitwise equal. Synthetic clips traced in
float64, flow masks as curation makes them, known focal length, one thread; wall and process CPU seconds of
``run_sfm``, best of ``--reps`` (pycolmap's verification threads count in the CPU figure).

    python benchmarks/bench_sfm_fallback.py --reps 3 --out benchmarks/results/bench_sfm_fallback_s47.json
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402

#: (kind, seed): the sway and the pan of tests/curation/test_motion_pipeline_accuracy.py (incremental mapping
#: registers too few of their frames) and a static orbit
CLIPS = [("4d", 8), ("4d", 18), ("3d", 1017)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=positive_int, default=3)
    parser.add_argument("--size", type=positive_int, default=128)
    parser.add_argument("--frames", type=positive_int, default=16)
    parser.add_argument("--out", default=None, help=out_help("bench_sfm_fallback"))
    args = parser.parse_args()
    check_out(parser, args.out)

    import torch
    from PIL import Image

    from genxd.curation import sfm as csfm
    from genxd.curation.masks import EpipolarFlowMasker
    from genxd.data.synthetic import make_clip

    torch.set_num_threads(1)
    now_once = csfm._run_sfm_once

    def before_once(*a, **kw):  # the databases not passed on: each mapper builds its own
        a = list(a)
        if len(a) > 13:
            a[13] = None
        kw.pop("databases", None)
        return now_once(*a, **kw)

    work = Path(tempfile.mkdtemp(prefix="bench_sfm_fallback_"))
    rows = []
    try:
        for kind, seed in CLIPS:
            clip = make_clip(seed, kind, args.frames, args.size, args.size, render_dtype=torch.float64)
            frames = (clip.render.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            images = work / f"{kind}_{seed}"
            images.mkdir()
            names = [f"{i:05d}.png" for i in range(len(frames))]
            for name, frame in zip(names, frames):
                Image.fromarray(frame).save(images / name)
            allowed = EpipolarFlowMasker()(frames) == 0
            results = {}
            for form, once in (("before", before_once), ("now", now_once)):
                csfm._run_sfm_once = once
                best_wall = best_cpu = float("inf")
                try:
                    for rep in range(args.reps):
                        target = work / f"sfm_{kind}_{seed}_{form}_{rep}"
                        wall, cpu = time.perf_counter(), time.process_time()
                        result = csfm.run_sfm(images, names, target, allowed=allowed, focal=1.0, num_threads=1,
                                              min_registered_fraction=0.75, mapper="auto")
                        best_wall = min(best_wall, time.perf_counter() - wall)
                        best_cpu = min(best_cpu, time.process_time() - cpu)
                        shutil.rmtree(target)
                finally:
                    csfm._run_sfm_once = now_once
                results[form] = (result, best_wall, best_cpu)
            before, now = results["before"][0], results["now"][0]
            row = {"clip": f"{kind} seed {seed} {clip.camera}", "mapper": now.mapper, "features": now.features,
                   "registered": int(now.num_registered), "before_wall_s": results["before"][1],
                   "before_cpu_s": results["before"][2], "now_wall_s": results["now"][1], "now_cpu_s": results["now"][2],
                   "cameras_equal": bool(np.array_equal(before.c2w, now.c2w, equal_nan=True))}
            rows.append(row)
            print(f"{row['clip']:22s} {row['mapper']:11s} {row['features']}: before {row['before_wall_s']:.2f} s wall / "
                  f"{row['before_cpu_s']:.2f} s CPU, now {row['now_wall_s']:.2f} / {row['now_cpu_s']:.2f}; cameras equal "
                  f"{row['cameras_equal']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not all(r["cameras_equal"] for r in rows):
        raise SystemExit("the cameras differ from the before form")
    save_json(resolve_out(args.out, "bench_sfm_fallback"),
              {"benchmark": "sfm_fallback", "reps": args.reps, "size": args.size, "frames": args.frames,
               "machine": platform.machine(), "processor": platform.processor(), "results": rows}, indent=2)


if __name__ == "__main__":
    main()
