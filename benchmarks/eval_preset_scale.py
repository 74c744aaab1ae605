"""Do the generated frames follow a camera preset better at the model's scene scale?

    python benchmarks/eval_preset_scale.py --scenes 20 --scales 1,0.5 --paths forward,orbit60 \
        --out benchmarks/results/eval_preset_scale.json

The presets put their subject at distance 2; the bundled model was trained with the median scene depth at 1
(``docs/conventions.md``, "Scene scale"), so ``genxd generate`` scales the presets' camera positions by its
``preset_scale`` (0.5). For each input (the first frame of held-out synthetic 3D scenes, seed 7, and the five
held-out photographs) and each path, the bundled model generates the frames along the preset at each scale,
and SfM recovers the cameras of the generated frames (``genxd eval-camera``'s measure,
``genxd.cameras.evaluate``): RotErr and TransErr against the requested path. The rotations asked are the same at
every scale and TransErr is measured after a similarity alignment, so the figures compare directly: a lower
error means frames that move the way the path asks. No ground truth is needed (the photos have none).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_out, comma_choices, positive_int  # noqa: E402

PATHS = {"forward": ("forward", None), "orbit60": ("orbit", (0.0, 60.0)), "orbit": ("orbit", None)}


def parse_scales(parser: argparse.ArgumentParser, text: str) -> list[float]:
    """``--scales``: comma-separated positive numbers."""
    scales = []
    for item in (p.strip() for p in text.split(",")):
        try:
            value = float(item)
        except ValueError:
            value = float("nan")
        if not value > 0 or value == float("inf"):
            parser.error(f"--scales: {item!r} is not a positive number (e.g. 1,0.5)")
        scales.append(value)
    return scales


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=positive_int, default=20, help="held-out synthetic inputs (seed 7)")
    ap.add_argument("--no-photos", action="store_true", help="leave out the five held-out photographs")
    ap.add_argument("--scales", default="1,0.5", help="preset scales to compare (1 = the presets' own)")
    ap.add_argument("--paths", default="forward,orbit60", help=f"comma-separated: {', '.join(PATHS)}")
    ap.add_argument("--threads", type=positive_int, default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    scales = parse_scales(ap, args.scales)
    paths = comma_choices(ap, "--paths", args.paths, PATHS)
    check_out(ap, args.out)

    from genxd.api import camera_trajectory, load_model
    from genxd.cameras.evaluate import evaluate_scene
    from genxd.data.datasets import SyntheticDataset
    from genxd.data.synthetic.photos import HELD_OUT_PHOTOS, load_photo
    from genxd.evaluation import HELD_OUT_SEED, _camera_scene
    from genxd.evaluation_photos import square_crop
    from genxd.utils.io import write_json_atomic

    if args.threads:
        torch.set_num_threads(args.threads)
    lm = load_model(None, "cpu", "fp32")
    lm.pipe.set_progress_bar_config(disable=True)
    d = lm.defaults
    res, n = int(d["resolution"]), int(d["num_frames"])
    inputs = []
    if args.scenes:
        data = SyntheticDataset(length=args.scenes, num_frames=n, height=res, kinds=["3d"], seed=HELD_OUT_SEED)
        inputs += [(data[i]["name"], data[i]["frames"][0]) for i in range(args.scenes)]
    if not args.no_photos:
        inputs += [(f"photo-{p.name}", square_crop(load_photo(p), res).clamp(0, 1)) for p in HELD_OUT_PHOTOS]
    rows, started = [], time.time()
    with tempfile.TemporaryDirectory(prefix="genxd_preset_scale_") as tmp:
        for path_name in paths:
            preset, azimuths = PATHS[path_name]
            for scale in scales:
                c2w, K = camera_trajectory(preset, n, d.get("focal"), azimuth_range=azimuths, scale=scale)
                for i, (name, image) in enumerate(inputs):
                    frames = lm.pipe(image[None, None], c2w, K, context_index=[0], mode="3d",
                                     num_inference_steps=int(d["num_inference_steps"]),
                                     guidance_scale=float(d["guidance_scale"]),
                                     generator=torch.Generator().manual_seed(i)).frames[0].cpu()
                    folder = _camera_scene(Path(tmp) / f"{path_name}_{scale:g}_{i:03d}", frames, c2w, K)
                    r = evaluate_scene(folder)
                    row = {"path": path_name, "scale": scale, "input": name, "status": r["status"]}
                    if r["status"] == "ok":
                        row.update({k: r["errors"][k] for k in ("RotErr", "TransErr", "mean_rot_err_deg")})
                    else:
                        row["reason"] = r.get("reason")
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for path_name in paths:
        for scale in scales:
            mine = [r for r in rows if r["path"] == path_name and r["scale"] == scale]
            ok = [r for r in mine if r["status"] == "ok"]
            summary[f"{path_name}@{scale:g}"] = {
                "reconstructed": f"{len(ok)} / {len(mine)}",
                "median_RotErr": statistics.median([r["RotErr"] for r in ok]) if ok else None,
                "median_TransErr": statistics.median([r["TransErr"] for r in ok if r["TransErr"] is not None] or [float("nan")]) if ok else None,
                "median_rot_err_deg_per_frame": statistics.median([r["mean_rot_err_deg"] for r in ok]) if ok else None,
            }
        # the same inputs reconstructed at every scale, paired
        by_input = {}
        for r in rows:
            if r["path"] == path_name and r["status"] == "ok":
                by_input.setdefault(r["input"], {})[r["scale"]] = r["RotErr"]
        both = [v for v in by_input.values() if all(s in v for s in scales)]
        if len(scales) == 2 and both:
            a, b = scales
            summary[f"{path_name}: RotErr lower at {b:g} than at {a:g}"] = f"{sum(v[b] < v[a] for v in both)} of {len(both)}"
    print(json.dumps(summary, indent=1))
    write_json_atomic(args.out, {"benchmark": "preset scale vs camera following (SfM on generated frames)",
                                 "command": " ".join(["python", "benchmarks/eval_preset_scale.py"] + [
                                     f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if v not in (None, False)]),
                                 "resolution": res, "frames": n, "seconds": time.time() - started,
                                 "summary": summary, "rows": rows})
    print(f"saved {args.out}", flush=True)


if __name__ == "__main__":
    main()
