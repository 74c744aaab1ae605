"""Curation's motion strength against the ground truth, full pipeline (frames, masks, SfM, depth, motion).

Renders synthetic clips (``genxd.data.synthetic.make_clip``: 4D clips of seeds ``--seed0 ..``, plus
``--static`` 3D clips of seeds ``--static-seed0 ..``), curates each with ``genxd.curation.curate_video`` under
one or more settings, and records the measured motion strength against ``image_motion_strength`` (the exact
ground truth of the same quantity), the verdicts at the default threshold, SfM registration and timings.

    python benchmarks/bench_motion_accuracy.py --clips 20 --static 20 --size 128 --settings sparse \\
        --threads 1 --out benchmarks/results/bench_motion_accuracy_128.json      # reported (held-out) set
    python benchmarks/bench_motion_accuracy.py --clips 20 --seed0 100 --static 20 --static-seed0 2000 \\
        --size 128 --settings sparse --threads 1 \\
        --out benchmarks/results/bench_motion_accuracy_128_dev.json              # development set

Tune on the development set (4D seeds 100-119, 3D seeds 2000-2019), report the held-out one.

Settings (``--settings``, comma list), each swapping the ground truth in for some stages, to find which
stage loses the accuracy: ``sparse`` (default pipeline: flow masks, SfM, sparse SfM depth, pair
estimator), ``triangulate`` (flow masks, triangulated tracks: the estimator before issue 19),
``masks_gt`` (the whole pipeline with the render's object ids as masks, for SfM and the motion stage),
``depth_gt`` (flow masks and SfM, the true depth brought into the SfM frame by the similarity that
aligns the SfM cameras to the true ones), ``known`` (flow masks, but the motion stage fed the clip's
true cameras and depth: the masks are the only estimated stage), ``all_true`` (the motion stage with the
render's object ids, the true cameras and depth: nothing estimated). All with the synthetic cameras' known
focal length (``--focal 1``) unless ``--estimate-focal``. ``--noise`` and ``--video`` make the clips more like
real ones (sensor noise, H.264).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import add_render_dtype, out_help, resolve_out, save_json  # noqa: E402

SETTINGS = ("sparse", "triangulate", "known", "masks_gt", "depth_gt", "all_true")


class _TrueMasks:
    """A masker that returns the render's object ids (what a perfect segmentation model would give)."""

    name = "ground_truth"

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.labels


def align_true_to_sfm(sfm, c2w_true: np.ndarray) -> float:
    """Scale ``s`` of the similarity ``true ~ s R sfm + t`` (rotation from the camera orientations, then
    scale and shift of the centres by least squares; centres alone are degenerate on straight paths)."""
    reg = np.flatnonzero(sfm.registered)
    M = sum(c2w_true[i, :3, :3] @ sfm.c2w[i, :3, :3].T for i in reg)
    U, _, Vt = np.linalg.svd(M)
    R = U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt
    a, b = sfm.c2w[reg, :3, 3] @ R.T, c2w_true[reg, :3, 3]
    a, b = a - a.mean(0), b - b.mean(0)
    return float((a * b).sum() / max((a * a).sum(), 1e-18))


def _depth_gt_motion(clip, frames: np.ndarray, work: Path, args, threshold: float) -> dict:
    """Flow masks and SfM as in the pipeline, the true depth (in SfM units) for the motion stage."""
    from PIL import Image

    from genxd.curation.masks import EpipolarFlowMasker
    from genxd.curation.motion import MotionSettings, estimate_object_motion, verdict
    from genxd.curation.sfm import SfmError, run_sfm

    work.mkdir(parents=True, exist_ok=True)
    names = []
    for i, frame in enumerate(frames):  # the pipeline's own JPEG round trip
        Image.fromarray(frame).save(work / f"{i:06d}.jpg", quality=95)
        names.append(f"{i:06d}.jpg")
    frames = np.stack([np.asarray(Image.open(work / n).convert("RGB")) for n in names])
    labels = EpipolarFlowMasker()(frames)
    try:
        sfm = run_sfm(work, names, work / "sfm", allowed=labels == 0, focal=None if args.estimate_focal else 1.0,
                      num_threads=args.threads, min_registered_fraction=0.75, mapper="auto")
    except SfmError as exc:
        return {"status": "failed", "stage": "sfm", "reason": str(exc)}
    scale = align_true_to_sfm(sfm, clip.c2w.double().numpy())
    depth = clip.render.depth.numpy().astype(np.float32) / scale
    strength = estimate_object_motion(frames, labels, sfm, depth, MotionSettings(threshold=threshold)).strength
    return {"status": "ok", "motion_strength": strength, "verdict": verdict(strength),
            "num_registered": sfm.num_registered, "num_frames": len(frames)}


def _frames(clip) -> np.ndarray:
    return (clip.render.rgb.permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)


def _known_motion(clip, frames: np.ndarray, threshold: float, true_masks: bool = False) -> float:
    """The motion stage alone with the clip's known cameras and depth, and the flow masks (or, with
    ``true_masks``, the render's object ids: every input true)."""
    from genxd.curation.masks import EpipolarFlowMasker
    from genxd.curation.motion import MotionSettings, estimate_object_motion
    from genxd.curation.sfm import known_cameras_sfm

    labels = clip.render.object_id.numpy().astype(np.int32) if true_masks else EpipolarFlowMasker()(frames)
    sfm = known_cameras_sfm(clip.c2w.double().numpy(), clip.K.double().numpy(), frames.shape[1], frames.shape[2])
    depth = clip.render.depth.numpy().astype(np.float32)
    return estimate_object_motion(frames, labels, sfm, depth, MotionSettings(threshold=threshold)).strength


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20, help="4D clips (seeds seed0 ..)")
    parser.add_argument("--seed0", type=int, default=0, help="first 4D seed")
    parser.add_argument("--static", type=int, default=0, help="3D (static) clips, seeds static-seed0 ..")
    parser.add_argument("--static-seed0", type=int, default=1000,
                        help="first 3D seed (1000: the reported set; 2000: the development set)")
    parser.add_argument("--size", type=int, default=128, help="frame height and width in pixels")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--supersample", type=int, default=1, help="render anti-aliasing (1 or 3)")
    add_render_dtype(parser, "the clips")
    parser.add_argument("--settings", default="sparse,triangulate", help="comma list of " + ", ".join(SETTINGS))
    parser.add_argument("--estimate-focal", action="store_true", help="let SfM estimate the focal length")
    parser.add_argument("--threads", type=int, default=2, help="threads of the curation")
    parser.add_argument("--mapper", default="auto", help="SfM mapper: auto, incremental or global")
    parser.add_argument("--motion-frame-gap", type=int, default=3,
                        help="frames between a pair's two frames in the motion stage of the pipeline settings "
                             "(sparse, triangulate, masks_gt); the pipeline's default is 3")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="Gaussian noise added to the rendered frames, standard deviation in 8-bit levels "
                             "(a camera sensor's: about 1-3)")
    parser.add_argument("--video", action="store_true",
                        help="curate an H.264 video of the frames (as real clips come) instead of PNG frames; "
                             "every setting then sees the decoded frames")
    parser.add_argument("--mask-working-size", type=int, default=None,
                        help="the flow masker's working size in the pipeline settings "
                             "(EpipolarFlowMasker.working_size; 0: none, frames masked at their own size as "
                             "before 2026-12-02; default: the masker's own)")
    parser.add_argument("--out", default=None, help=out_help("bench_motion_accuracy"))
    args = parser.parse_args()

    import torch

    from genxd.curation import CurationConfig, VideoSource, curate_video
    from genxd.curation.motion import DEFAULT_MOTION_THRESHOLD, verdict
    from genxd.data.synthetic import image_motion_strength, make_clip

    torch.set_num_threads(args.threads)
    settings = args.settings.split(",")
    for s in settings:
        if s not in SETTINGS:
            parser.error(f"unknown setting {s!r}")
    work = Path(tempfile.mkdtemp(prefix="bench_motion_"))
    flow_masker = None  # the pipeline's default
    if args.mask_working_size is not None:
        from genxd.curation.masks import EpipolarFlowMasker

        flow_masker = EpipolarFlowMasker(working_size=args.mask_working_size or None)
    jobs = [("4d", args.seed0 + k) for k in range(args.clips)]
    jobs += [("3d", args.static_seed0 + k) for k in range(args.static)]
    rows = []
    for kind, seed in jobs:
        t0 = time.perf_counter()
        clip = make_clip(seed, kind, args.frames, args.size, args.size, supersample=args.supersample,
                         render_dtype=getattr(torch, args.render_dtype))
        truth = image_motion_strength(clip.scene, clip.render, clip.c2w, clip.K) if kind == "4d" else 0.0
        frames = _frames(clip)
        if args.noise > 0:
            noise = np.random.default_rng(seed).normal(0.0, args.noise, frames.shape)
            frames = np.clip(frames + noise + 0.5, 0, 255).astype(np.uint8)
        folder = work / "in" / f"{kind}_{seed}"
        folder.mkdir(parents=True)
        if args.video:
            from genxd.utils.video import read_mp4, write_mp4

            source = VideoSource(f"{kind}_{seed}", write_mp4(folder / "clip.mp4", frames), "video")
            frames = read_mp4(source.path)  # what curation sees
        else:
            from PIL import Image

            for i, frame in enumerate(frames):
                Image.fromarray(frame).save(folder / f"{i:04d}.png")
            source = VideoSource(folder.name, folder, "frames")
        row = {"kind": kind, "seed": seed, "camera": clip.camera, "world_motion": float(clip.motion_strength),
               "truth": truth, "truth_verdict": verdict(truth), "render_s": round(time.perf_counter() - t0, 2)}
        for setting in settings:
            t0 = time.perf_counter()
            if setting in ("known", "all_true"):
                strength = _known_motion(clip, frames, DEFAULT_MOTION_THRESHOLD, true_masks=setting == "all_true")
                row[setting] = {"status": "ok", "motion_strength": strength, "verdict": verdict(strength)}
            elif setting == "depth_gt":
                row[setting] = _depth_gt_motion(clip, frames, work / f"depth_gt_{kind}_{seed}", args,
                                                DEFAULT_MOTION_THRESHOLD)
            else:
                config = CurationConfig(focal=None if args.estimate_focal else 1.0,
                                        fallback_depth="triangulate" if setting == "triangulate" else "sparse",
                                        num_threads=args.threads, mapper=args.mapper,
                                        motion_frame_gap=args.motion_frame_gap)
                out = work / f"out_{setting}"
                masker = _TrueMasks(clip.render.object_id.numpy().astype(np.int32)) if setting == "masks_gt" else flow_masker
                record = curate_video(source, out, config, masker=masker)
                entry = {k: record.get(k) for k in ("status", "motion_strength", "verdict", "num_registered",
                                                     "num_frames", "stage", "reason")}
                row[setting] = {k: v for k, v in entry.items() if v is not None}
            row[setting]["seconds"] = round(time.perf_counter() - t0, 2)
            m = row[setting].get("motion_strength")
            if m is not None and truth > 0:
                row[setting]["ratio"] = m / truth
        rows.append(row)
        print(json.dumps(row), flush=True)

    summary = {}
    for setting in settings:
        ok = [r for r in rows if r[setting].get("status") == "ok"]
        dyn = [r for r in ok if r["kind"] == "4d" and r["truth"] > 0]
        dyn_all = [r for r in rows if r["kind"] == "4d" and r["truth"] > 0]
        ratios = np.array([r[setting]["motion_strength"] / r["truth"] for r in dyn]) if dyn else np.zeros(0)
        summary[setting] = {
            "curated": f"{len(ok)} / {len(rows)}",
            "within_15pct": f"{int((np.abs(ratios - 1) <= 0.15).sum())} / {len(dyn)}",
            "within_15pct_of_all": f"{int((np.abs(ratios - 1) <= 0.15).sum())} / {len(dyn_all)}",
            "median_ratio": float(np.median(ratios)) if len(ratios) else None,
            "ratio_quartiles": [float(q) for q in np.percentile(ratios, [25, 75])] if len(ratios) else None,
            "verdicts_right": f"{sum(r[setting]['verdict'] == r['truth_verdict'] for r in ok)} / {len(ok)}",
            "verdicts_right_of_all": f"{sum(r[setting]['verdict'] == r['truth_verdict'] for r in ok)} / {len(rows)}",
            "verdicts_right_static": f"{sum(r[setting]['verdict'] == 'static' for r in ok if r['kind'] == '3d')} / "
                                     f"{sum(r['kind'] == '3d' for r in rows)}",
            "seconds_mean": float(np.mean([r[setting]["seconds"] for r in rows])),
        }
    report = {
        "benchmark": "bench_motion_accuracy",
        "args": vars(args),
        "threshold": DEFAULT_MOTION_THRESHOLD,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(), "platform": platform.platform()},
        "summary": summary,
        "clips": rows,
    }
    print(json.dumps(summary, indent=1))
    args.out = str(resolve_out(args.out, "bench_motion_accuracy"))  # also recorded in report["args"]
    save_json(args.out, report, indent=1)
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
