"""Seconds per video of the curation pipeline, each stage timed.

Renders synthetic videos (``genxd.data.synthetic``, 48 frames at 256x256 by default), curates each
with the default classical fallbacks, and prints and saves the per-stage timings (mean over the
videos) as JSON. Also reports the motion strength against the ground truth and the trajectory error.

    python benchmarks/bench_curation.py --videos 3 --frames 48 --size 256 --threads 2 --out bench_curation.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="threads of the curation process")
    parser.add_argument("--cameras", default="handheld,spiral,orbit", help="camera paths, cycled over videos")
    parser.add_argument("--focal", type=float, default=None, help="known focal (default: estimated)")
    parser.add_argument("--features", default="auto")
    parser.add_argument("--out", default=None, help=out_help("bench_curation"))
    args = parser.parse_args()

    import torch

    from genxd.curation import CurationConfig, VideoSource, absolute_trajectory_error, curate_video
    from genxd.data.synthetic import camera_path, image_motion_strength, make_scene, render

    torch.set_num_threads(args.threads)
    cameras = args.cameras.split(",")
    config = CurationConfig(num_threads=args.threads, focal=args.focal, features=args.features)
    work = Path(tempfile.mkdtemp(prefix="bench_curation_"))
    results = []
    try:
        for index in range(args.videos):
            seed = 100 + index
            motion = 0.0 if index % 2 == 0 else 0.8
            camera = cameras[index % len(cameras)]
            scene = make_scene(seed, dynamic=motion > 0, motion_strength=motion)
            c2w, K = camera_path(camera, args.frames, seed=seed)
            times = torch.linspace(0, 1, args.frames) if motion > 0 else torch.zeros(args.frames)
            t0 = time.perf_counter()
            out = render(scene, c2w, K, args.size, args.size, times=times)
            render_s = time.perf_counter() - t0
            frames = (out.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            folder = work / "in" / f"video{index}"
            folder.mkdir(parents=True)
            from PIL import Image

            for i, frame in enumerate(frames):
                Image.fromarray(frame).save(folder / f"{i:04d}.png")
            t0 = time.perf_counter()
            record = curate_video(VideoSource(folder.name, folder, "frames"), work / "out", config)
            seconds = time.perf_counter() - t0
            entry = {"video": folder.name, "camera": camera, "true_motion_world": motion, "status": record["status"],
                     "seconds": seconds, "render_seconds": render_s}
            if record["status"] == "ok":
                meta = json.loads((work / "out" / folder.name / "meta.json").read_text())
                entry["timings"] = meta["timings"]
                entry["motion_strength"] = meta["motion_strength"]
                entry["true_image_motion_strength"] = image_motion_strength(scene, out, c2w, K) if motion > 0 else 0.0
                entry["verdict"] = meta["verdict"]
                entry["sfm_features"] = meta["sfm_features"]
                entry["num_registered"] = meta["num_registered"]
                import pycolmap

                rec = pycolmap.Reconstruction(str(work / "out" / folder.name / "0"))
                est, gt = [], []
                for i in range(args.frames):
                    image = rec.find_image_with_name(f"{i:05d}.jpg")
                    if image is not None and image.has_pose:
                        w2c = np.eye(4)
                        w2c[:3] = image.cam_from_world().matrix()
                        est.append(np.linalg.inv(w2c))
                        gt.append(c2w[i].double().numpy())
                entry["ate_relative"] = absolute_trajectory_error(np.stack(est), np.stack(gt))["relative"]
            else:
                entry["reason"] = record.get("reason")
            results.append(entry)
            print(json.dumps(entry))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ok = [r for r in results if r["status"] == "ok"]
    stages = sorted({k for r in ok for k in r["timings"]})
    summary = {
        "benchmark": "curation",
        "videos": args.videos,
        "frames": args.frames,
        "size": args.size,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "config": config.to_dict(),
        "ok": len(ok),
        "seconds_per_video_mean": float(np.mean([r["seconds"] for r in ok])) if ok else None,
        "stage_seconds_mean": {s: float(np.mean([r["timings"].get(s, 0.0) for r in ok])) for s in stages},
        "results": results,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=2))
    save_json(resolve_out(args.out, "bench_curation"), summary, indent=2)


if __name__ == "__main__":
    main()
