"""Time of curation's default masker (``genxd.curation.masks.EpipolarFlowMasker``) per clip, now and in the form
before session 47.

The masker fits the camera's motion to each frame pair's optical flow (a homography by RANSAC, else a fundamental
matrix) and scores every pixel against it. Before session 47 the homography's RANSAC drew up to 2000 samples (now
``HOMOGRAPHY_MAX_ITERS``, 200) and the per-pixel Sampson distance and homography transfer error were numpy
``[M, 3] @ [3, 3]`` products (now written out per component). The before form is kept here as the reference; the
labels must be bitwise equal and the residual maps equal within float64 rounding. Synthetic clips
(``genxd.data.synthetic.make_clip``, traced in float64); wall and process CPU seconds, best of ``--reps``: on a
loaded machine the CPU figure is the steadier one.

    python benchmarks/bench_flow_masks.py --reps 3 --out benchmarks/results/bench_flow_masks_s47.json
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402

#: (kind, seed, size): a forward walk, a static hand-held clip, a sway, a pan (128 px), and two 256-px clips
CLIPS = [("4d", 5, 128), ("3d", 1000, 128), ("4d", 8, 128), ("3d", 1017, 128), ("4d", 1, 256), ("3d", 1006, 256)]


def sampson_before(F: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """The Sampson distance before session 47 (reference)."""
    ones = np.ones((x1.shape[0], 1))
    p1 = np.hstack([x1, ones])
    p2 = np.hstack([x2, ones])
    Fx1 = p1 @ F.T
    Ftx2 = p2 @ F
    num = np.abs(np.sum(p2 * Fx1, axis=1))
    den = np.sqrt(Fx1[:, 0] ** 2 + Fx1[:, 1] ** 2 + Ftx2[:, 0] ** 2 + Ftx2[:, 1] ** 2) + 1e-12
    return num / den


def transfer_before(Hm: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """The homography transfer error before session 47 (reference)."""
    p = np.hstack([x1, np.ones((x1.shape[0], 1))]) @ Hm.T
    proj = p[:, :2] / np.where(np.abs(p[:, 2:]) < 1e-12, 1e-12, p[:, 2:])
    return np.linalg.norm(proj - x2, axis=1)


def run(masks, frames: np.ndarray, reps: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    best_wall = best_cpu = float("inf")
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        masker = masks.EpipolarFlowMasker()
        labels = masker(frames)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    residual = masks.EpipolarFlowMasker().residual_maps(frames)
    return labels, residual, best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=positive_int, default=3)
    parser.add_argument("--frames", type=positive_int, default=16)
    parser.add_argument("--out", default=None, help=out_help("bench_flow_masks"))
    args = parser.parse_args()
    check_out(parser, args.out)

    import cv2
    import torch

    from genxd.curation import masks
    from genxd.data.synthetic import make_clip

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    now = (masks.epipolar_residual, masks._sampson_distance, masks._homography_transfer_error)
    before = (functools.partial(now[0], homography_max_iters=2000), sampson_before, transfer_before)
    rows = []
    for kind, seed, size in CLIPS:
        clip = make_clip(seed, kind, args.frames, size, size, render_dtype=torch.float64)
        frames = (clip.render.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
        results = {}
        for name, (residual_fn, sampson, transfer) in (("before", before), ("now", now)):
            masks.epipolar_residual, masks._sampson_distance, masks._homography_transfer_error = residual_fn, sampson, transfer
            try:
                results[name] = run(masks, frames, args.reps)
            finally:
                masks.epipolar_residual, masks._sampson_distance, masks._homography_transfer_error = now
        row = {"clip": f"{kind} seed {seed} {clip.camera}", "size": size, "frames": args.frames,
               "before_wall_s": results["before"][2], "before_cpu_s": results["before"][3],
               "now_wall_s": results["now"][2], "now_cpu_s": results["now"][3],
               "labels_equal": bool(np.array_equal(results["before"][0], results["now"][0])),
               "residual_max_abs_diff_px": float(np.abs(results["before"][1] - results["now"][1]).max())}
        rows.append(row)
        print(f"{row['clip']:24s} {size:4d} px: before {row['before_wall_s']:.2f} s wall / {row['before_cpu_s']:.2f} s CPU, "
              f"now {row['now_wall_s']:.2f} / {row['now_cpu_s']:.2f}; labels equal {row['labels_equal']}, residuals "
              f"apart {row['residual_max_abs_diff_px']:.1e} px", flush=True)
    if not all(r["labels_equal"] for r in rows):
        raise SystemExit("the labels differ from the before form")
    save_json(resolve_out(args.out, "bench_flow_masks"),
              {"benchmark": "flow_masks", "reps": args.reps, "machine": platform.machine(),
               "processor": platform.processor(), "torch": torch.__version__, "opencv": cv2.__version__,
               "results": rows}, indent=2)


if __name__ == "__main__":
    main()
