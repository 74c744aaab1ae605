"""How far the curation pipeline's figures move between machines, library versions and render precisions.

Curates synthetic clips exactly as ``tests/curation/test_motion_pipeline_accuracy.py`` does (``make_clip``, 16 frames,
PNG frames, ``curate_video`` with the defaults, known focal, one thread) and saves, per clip, the ground-truth image
motion strength, the measured one, their ratio and the verdict, with the machine's CPU and library versions. Run it on
each machine (or under other kernel families: ``ATEN_CPU_CAPABILITY=default``, ``OPENCV_CPU_DISABLE=AVX512_SKX``),
then ``--compare`` two results:

    python benchmarks/pipeline_spread.py --render-dtype float64 --out here_f64.json
    python benchmarks/pipeline_spread.py --compare here_f64.json there_f64.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import add_render_dtype, check_exists, check_out, out_help, resolve_out, save_json  # noqa: E402

DEFAULT_CLIPS = ("4d:0,4d:2,4d:5,4d:7,4d:8,4d:12,4d:14,4d:15,4d:17,4d:18,"
                 "3d:1000,3d:1005,3d:1012,3d:1016,3d:1017,3d:1019")


def parse_clips(text: str) -> list[tuple[str, int]]:
    """``"4d:0,3d:1000"`` -> ``[("4d", 0), ("3d", 1000)]``; ValueError names the bad item."""
    clips = []
    for item in text.split(","):
        kind, _, seed = item.strip().partition(":")
        if kind not in ("3d", "4d") or not seed.isdigit():
            raise ValueError(f"{item!r} is not KIND:SEED with KIND 3d or 4d")
        clips.append((kind, int(seed)))
    return clips


def machine() -> dict:
    import cv2
    import pycolmap
    import torch

    return {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "opencv": cv2.__version__,
            "pycolmap": pycolmap.__version__}


def curate_clips(clips: list[tuple[str, int]], size: int, render_dtype: str, root: Path | None = None,
                 verbose: bool = True) -> list[dict]:
    """Render each ``(kind, seed)`` clip (16 frames, ``size`` px, traced in ``render_dtype``), write its frames as
    PNG under ``root / "in"`` (a temporary folder when None), curate it into ``root / "out"`` with the defaults
    (known focal, one thread) and return one row per clip: truth, measured strength, ratio, verdict and the
    record of ``curate_video``."""
    import numpy as np
    import torch
    from PIL import Image

    from genxd.curation import CurationConfig, VideoSource, curate_video
    from genxd.data.synthetic import image_motion_strength, make_clip

    if root is None:
        with tempfile.TemporaryDirectory() as tmp:
            return curate_clips(clips, size, render_dtype, Path(tmp), verbose)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/curation/conftest.py: 2-thread renders crawl on shared cores
    rows = []
    try:
        for kind, seed in clips:
            start = time.perf_counter()
            clip = make_clip(seed, kind, 16, size, size, render_dtype=getattr(torch, render_dtype))
            truth = image_motion_strength(clip.scene, clip.render, clip.c2w, clip.K) if kind == "4d" else 0.0
            frames = (clip.render.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            folder = root / "in" / f"{kind}_{seed}"
            folder.mkdir(parents=True)
            for i, frame in enumerate(frames):
                Image.fromarray(frame).save(folder / f"{i:04d}.png")
            record = curate_video(VideoSource(folder.name, folder, "frames"), root / "out",
                                  CurationConfig(focal=1.0, num_threads=1))
            strength = record.get("motion_strength")
            rows.append({"kind": kind, "seed": seed, "camera": clip.camera, "truth": truth,
                         "status": record.get("status"), "strength": strength, "verdict": record.get("verdict"),
                         "ratio": strength / truth if truth and strength is not None else None,
                         "num_registered": record.get("num_registered"),
                         "seconds": round(time.perf_counter() - start, 2), "record": record})
            if verbose:
                r = rows[-1]
                ratio = "" if r["ratio"] is None else f"ratio {r['ratio']:.3f}"
                print(f"{kind} seed {seed:5d} {clip.camera:9s} {r['status']} {r['verdict']} "
                      f"{'-' if strength is None else f'{strength:.4f}'} {ratio}", flush=True)
    finally:
        torch.set_num_threads(threads)
    return rows


def compare(a_path: Path, b_path: Path) -> dict:
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    by_clip = {(r["kind"], r["seed"]): r for r in b["clips"]}
    rows = []
    for r in a["clips"]:
        other = by_clip.get((r["kind"], r["seed"]))
        if other is None:
            continue
        same = r["verdict"] == other["verdict"] and r["strength"] == other["strength"]
        rows.append({"kind": r["kind"], "seed": r["seed"], "a": r["strength"], "b": other["strength"],
                     "a_ratio": r["ratio"], "b_ratio": other["ratio"], "identical": same})
        print(f"{r['kind']} seed {r['seed']:5d}: {r['strength']} vs {other['strength']}"
              + ("" if same else "   <- differs"))
    print(f"{sum(x['identical'] for x in rows)} of {len(rows)} clips identical")
    return {"a": {"file": str(a_path), **a["machine"], "render_dtype": a["render_dtype"]},
            "b": {"file": str(b_path), **b["machine"], "render_dtype": b["render_dtype"]}, "clips": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="comma-separated KIND:SEED (KIND 3d or 4d)")
    parser.add_argument("--size", type=int, default=128, help="frame side in pixels (default 128)")
    add_render_dtype(parser, "the clips")
    parser.add_argument("--compare", nargs=2, default=None, metavar=("A", "B"), help="two saved results")
    parser.add_argument("--out", default=None, help=out_help("pipeline_spread"))
    args = parser.parse_args(argv)
    check_out(parser, args.out)
    if args.compare is not None:
        check_exists(parser, "--compare", args.compare)
        save_json(resolve_out(args.out, "pipeline_spread_compare"), compare(*map(Path, args.compare)))
        return
    try:
        clips = parse_clips(args.clips)
    except ValueError as exc:
        parser.error(f"--clips: {exc}")
    if not 32 <= args.size <= 1024:
        parser.error(f"--size: {args.size} is outside 32 - 1024")
    rows = [{k: v for k, v in r.items() if k != "record"} for r in curate_clips(clips, args.size, args.render_dtype)]
    save_json(resolve_out(args.out, "pipeline_spread"),
              {"benchmark": "curation pipeline figures (tests/curation/test_motion_pipeline_accuracy.py's way)",
               "machine": machine(), "render_dtype": args.render_dtype, "size": args.size, "clips": rows})


if __name__ == "__main__":
    main()
