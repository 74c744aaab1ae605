"""Time and accuracy of the turning-camera check of camera paths from videos
(:func:`genxd.cameras.rotation_only.rotation_only_cameras`, run before SfM by ``recover_clip_cameras``).

    python benchmarks/bench_rotation_only.py --out bench_rotation_only.json
    # another tree (e.g. before a change): git archive REF src | tar -x -C /tmp/before, then
    PYTHONPATH=/tmp/before/src python benchmarks/bench_rotation_only.py --out before.json

Clips: 8 synthetic turning cameras (``pan`` in rotate mode, 10 frames, 128 px, focal unknown: it is searched)
and one hand-held clip (a camera that moves: the check must say so and leave it to SfM), rendered once.
Recorded per clip: seconds, method, focal found, mean rotation error against the true cameras.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402

TURNS = ((0, 20), (3, 35), (5, 15), (7, 25), (9, 30), (11, 20), (13, 40), (15, 10))  # (scene seed, degrees)


def _frames(scene_seed: int, c2w: torch.Tensor, size: int = 128) -> np.ndarray:
    from genxd.cameras.geometry import intrinsics_from_focal
    from genxd.data.synthetic import make_scene, render

    out = render(make_scene(scene_seed), c2w.float(), intrinsics_from_focal(1.0).expand(len(c2w), 3, 3), size, size)
    return (out.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help=out_help("bench_rotation_only"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    from genxd.cameras import trajectories
    from genxd.cameras.accuracy import compare_paths
    from genxd.cameras.rotation_only import rotation_only_cameras
    from genxd.data.synthetic import make_clip, orbit_cameras, place_path

    first, _ = orbit_cameras(1, 4.0, 20.0, (30, 30), 1.0, (0, 0.25, 0))
    clips = [(f"turn seed {s}, {a} deg", _frames(s, place_path(trajectories.pan(10, angle=a, mode="rotate")[0],
                                                                   first[0])), a) for s, a in TURNS]
    walk = make_clip(21, "3d", 24, 128, 128, camera="handheld")
    clips.append(("hand-held, 24 frames", (walk.images.permute(0, 2, 3, 1).numpy() * 255 + 0.5)
                  .clip(0, 255).astype(np.uint8), None))
    rows = []
    for name, frames, angle in clips:
        t = time.perf_counter()
        got = rotation_only_cameras(frames, np.ones(frames.shape[:3], bool), focal=None)
        row = {"clip": name, "seconds": round(time.perf_counter() - t, 3), "method": got.get("method"),
               "error": got.get("error")}
        if angle is not None and not got.get("error"):
            truth = place_path(trajectories.pan(10, angle=angle, mode="rotate")[0], first[0])
            row.update(focal=got["focal"], rot_err_deg=compare_paths(got["c2w"], truth.double()).mean_rot_err_deg)
        rows.append(row)
        print(json.dumps(row))
    turns = [r for r in rows if "rot_err_deg" in r]
    summary = {"turning_clips_found": len(turns), "seconds_per_turning_clip": float(np.mean([r["seconds"] for r in rows[:-1]])),
               "hand_held_seconds": rows[-1]["seconds"], "hand_held_rejected": rows[-1]["error"] is not None,
               "rot_err_deg_median": float(np.median([r["rot_err_deg"] for r in turns])),
               "rot_err_deg_max": float(max(r["rot_err_deg"] for r in turns)),
               "focal_err_median": float(np.median([abs(r["focal"] - 1) for r in turns])),
               "focal_err_max": float(max(abs(r["focal"] - 1) for r in turns))}
    print(json.dumps(summary, indent=1))
    save_json(resolve_out(args.out, "bench_rotation_only"),
              {"benchmark": "turning-camera check (genxd.cameras.rotation_only)", "machine": platform.processor()
               or platform.machine(), "threads": 1, "summary": summary, "clips": rows}, indent=1)


if __name__ == "__main__":
    main()
