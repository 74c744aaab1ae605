"""What mapping on one thread costs: SfM's mappers run on ``genxd.curation.sfm.MAPPER_THREADS`` (1) threads so
that cameras do not depend on the machine (docs/curation_accuracy.md, "Same input, same result"); this times
``recover_clip_cameras`` (what ``genxd trajectory from-video`` runs; curation maps the same way) on synthetic
clips with the mappers on 1 thread and on ``--threads`` threads, the other stages on ``--threads`` either way,
alternating in one process, and reports the mapping stage's time, the whole call's, and how far the cameras of
the two settings are apart.

    python benchmarks/bench_mapper_threads.py --frames 48 --size 256 --threads 2 --reps 3 \\
        --out benchmarks/results/bench_mapper_threads.json
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402


def make_clip(folder: Path, camera: str, frames: int, size: int, seed: int) -> Path:
    """A ``genxd synth`` video (static scene, moving camera) in ``folder``; its path."""
    subprocess.run([sys.executable, "-m", "genxd", "synth", str(folder), "--format", "video", "--camera", camera,
                    "-f", str(frames), "--size", str(size), "--seed", str(seed), "-q"], check=True)
    return next(folder.glob("*.mp4"))


def time_recovery(video: Path, mapper_threads: int, threads: int) -> dict:
    """One ``recover_clip_cameras`` call (SfM) with the mappers on ``mapper_threads`` threads."""
    from genxd.cameras.clip_cameras import recover_clip_cameras
    from genxd.curation import sfm

    sfm.MAPPER_THREADS = mapper_threads
    t0 = time.perf_counter()
    cams = recover_clip_cameras(video, source="sfm", num_threads=threads)
    wall = time.perf_counter() - t0
    timings = cams.report.get("timings", {})
    mapped = [timings[k] for k in ("sfm_map", "refine") if k in timings]  # the mapping and the re-bundling
    return {"wall_s": wall, "map_s": sum(mapped) if mapped else None, "c2w": cams.c2w, "method": cams.method}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", default="orbit,forward", help="synth camera paths, comma-separated")
    parser.add_argument("--frames", type=positive_int, default=48, help="frames per clip")
    parser.add_argument("--size", type=positive_int, default=256, help="clip height and width (pixels)")
    parser.add_argument("--threads", type=positive_int, default=2, help="threads of every other stage, and the "
                        "mappers' thread count compared with 1")
    parser.add_argument("--reps", type=positive_int, default=3, help="calls per setting per clip (alternating)")
    parser.add_argument("--out", default=None, help=out_help("bench_mapper_threads"))
    args = parser.parse_args(argv)
    check_out(parser, args.out)
    import torch

    from genxd.cameras.accuracy import compare_paths
    from genxd.curation import sfm

    kept = sfm.MAPPER_THREADS
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench_mapper_threads_") as tmp:
            for i, camera in enumerate(c.strip() for c in args.cameras.split(",") if c.strip()):
                video = make_clip(Path(tmp) / camera, camera, args.frames, args.size, seed=3 + i)
                runs: dict[int, list[dict]] = {1: [], args.threads: []}
                for _ in range(args.reps):
                    for t in runs:
                        runs[t].append(time_recovery(video, t, args.threads))
                one, many = runs[1], runs[args.threads]
                apart = [float(compare_paths(a["c2w"], b["c2w"]).mean_rot_err_deg) for a in one for b in many
                         if a["c2w"].shape == b["c2w"].shape]
                same_one = all(torch.equal(r["c2w"], one[0]["c2w"]) for r in one)
                row = {"camera": camera, "frames": args.frames, "size": args.size, "method": one[0]["method"],
                       "map_s_1": statistics.median(r["map_s"] for r in one if r["map_s"] is not None),
                       f"map_s_{args.threads}": statistics.median(r["map_s"] for r in many if r["map_s"] is not None),
                       "wall_s_1": statistics.median(r["wall_s"] for r in one),
                       f"wall_s_{args.threads}": statistics.median(r["wall_s"] for r in many),
                       "one_thread_runs_bitwise_equal": same_one,
                       "rot_apart_deg_max": max(apart) if apart else None}
                rows.append(row)
                print(f"{camera}: mapping {row['map_s_1']:.2f} s on 1 thread, {row[f'map_s_{args.threads}']:.2f} s "
                      f"on {args.threads}; whole call {row['wall_s_1']:.2f} / {row[f'wall_s_{args.threads}']:.2f} s; "
                      f"1-thread runs bitwise equal: {same_one}; rotations apart up to "
                      f"{row['rot_apart_deg_max'] if row['rot_apart_deg_max'] is not None else float('nan'):.2g} deg")
    finally:
        sfm.MAPPER_THREADS = kept
    save_json(resolve_out(args.out, "bench_mapper_threads"),
              {"command": " ".join(sys.argv), "machine": platform.processor() or platform.machine(),
               "threads": args.threads, "reps": args.reps, "clips": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
