"""Gaussians beyond the cameras after lifting a generated output (``genxd reconstruct`` with random
initialisation), and what bounding the random initialisation does to them and to held-out quality.

For each input folder (a ``genxd generate`` output), seed and variant: train on the views not held out
(every ``--holdout-every``-th view is held out, as ``genxd reconstruct --holdout-every``), then report

- the held-out and training PSNR / SSIM;
- the fraction of Gaussians outside the cameras' bounding sphere (centre: the mean camera centre, radius: the
  farthest camera) and beyond ``k x d`` of the cameras' common focus (``d`` its distance to the cameras,
  ``genxd.reconstruction.init.camera_focus``), and their share of the summed opacity;
- the share of the held-out renders' blending weight (alpha x transmittance, summed over pixels) that those
  outside the cameras' sphere carry: how much of the held-out images they make;
- the fraction of Gaussians that no training view sees (blending weight < 0.01 px in all of them).

Variants: ``base`` (the default initialisation: random camera, pixel and disparity between 0.25 d and 4 d, seen by
two cameras) and ``sphereK`` (the same points, kept only within ``K x d`` of the focus; drawn until enough).

    OMP_NUM_THREADS=1 python benchmarks/bench_recon_floaters.py outputs/scene_a --variants base,sphere1 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import check_exists, check_out, out_help, positive_int, resolve_out, save_json  # noqa: E402


def blend_weights(model: Any, views: Any) -> torch.Tensor:
    """Per Gaussian, its blending weight summed over the pixels of ``views`` (the gradient of the rendered sum
    with respect to a constant colour of 1 per Gaussian)."""
    from genxd.reconstruction.rasterizer import rasterize_with_info

    p = model.params
    ones = torch.ones(model.num_gaussians, 1, requires_grad=True)
    for i in range(len(views)):
        out = rasterize_with_info(p["means"].detach(), p["quats"].detach(), torch.exp(p["scales"].detach()),
                                  torch.sigmoid(p["opacities"].detach()), ones, views.c2w[i : i + 1],
                                  views.K[i : i + 1], views.height, views.width, backend="torch")
        out.rgb.sum().backward()
    return ones.grad[:, 0].detach()


def floater_stats(model: Any, views: Any, train_views: Any, test_views: Any) -> dict[str, float]:
    from genxd.reconstruction.init import camera_focus

    focus, d = camera_focus(views.c2w)
    centres = views.c2w[:, :3, 3].float()
    if focus is None:
        focus = centres.mean(0)
    means = model.params["means"].detach()
    opacity = torch.sigmoid(model.params["opacities"].detach())
    centre = centres.mean(0)
    outside = (means - centre).norm(dim=-1) > (centres - centre).norm(dim=-1).max()
    r = (means - focus).norm(dim=-1) / d
    stats = {"gaussians": len(means), "outside_camera_sphere": float(outside.float().mean()),
             "opacity_share_outside_camera_sphere": float(opacity[outside].sum() / opacity.sum())}
    for k in (1.5, 2.0, 3.0):
        sel = r > k
        stats[f"beyond_{k:g}d"] = float(sel.float().mean())
        stats[f"opacity_share_beyond_{k:g}d"] = float(opacity[sel].sum() / opacity.sum())
    w_test = blend_weights(model, test_views)
    stats["heldout_weight_share_outside_camera_sphere"] = float(w_test[outside].sum() / w_test.sum())
    unseen = blend_weights(model, train_views) < 0.01
    stats["unseen_by_training_views"] = float(unseen.float().mean())
    return stats


def sphere_init(radius: float):  # noqa: ANN201
    """A ``random_points_in_frusta`` that keeps only points within ``radius x d`` of the cameras' focus."""
    import genxd.reconstruction.init as init

    original = init.random_points_in_frusta

    def bounded(views, num_points, generator=None, min_views=2):  # noqa: ANN001, ANN202
        focus, d = init.camera_focus(views.c2w.float())
        if focus is None:
            return original(views, num_points, generator, min_views)
        parts, total = [], 0
        for _ in range(30):
            pts, cols, src = original(views, num_points, generator, min_views)
            keep = (pts - focus).norm(dim=-1) <= radius * d
            parts.append((pts[keep], cols[keep], src[keep]))
            total += int(keep.sum())
            if total >= num_points:
                break
        return tuple(torch.cat([part[i] for part in parts])[:num_points] for i in range(3))

    return bounded


def run(folder: Path, variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import genxd.reconstruction.init as init
    from genxd.reconstruction.pipeline import holdout_split
    from genxd.reconstruction.trainer import ReconstructionConfig, evaluate_views, train_gaussians
    from genxd.reconstruction.views import load_views

    views = load_views(folder, resolution=args.resolution)
    train, test = holdout_split(len(views), args.holdout_every)
    train_views, test_views = views.subset(train), views.subset(test)
    original = init.random_points_in_frusta
    if variant != "base":
        init.random_points_in_frusta = sphere_init(float(variant.removeprefix("sphere")))
    try:
        result = train_gaussians(train_views, ReconstructionConfig(iterations=args.iterations, seed=seed,
                                                                   init="random"), progress=False)
    finally:
        init.random_points_in_frusta = original
    held, _ = evaluate_views(result.model, test_views, backend="torch")
    seen, _ = evaluate_views(result.model, train_views, backend="torch")
    row = {"input": str(folder), "variant": variant, "seed": seed, "views": len(views), "held_out": len(test),
           "train_seconds": round(result.seconds, 1), "heldout_psnr": held["psnr"], "heldout_ssim": held["ssim"],
           "train_psnr": seen["psnr"], **floater_stats(result.model, views, train_views, test_views)}
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return row


def at_least_2(text: str) -> int:
    """argparse ``type=`` for ``--holdout-every``: an integer of at least 2 (1 would hold out every view)."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", type=Path, nargs="+", help="genxd generate output folders (transforms.json)")
    parser.add_argument("--variants", default="base,sphere1", help="base and/or sphereK (comma-separated)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--iterations", type=positive_int, default=300)
    parser.add_argument("--resolution", type=positive_int, default=64, help="longer image side for training")
    parser.add_argument("--holdout-every", type=at_least_2, default=4, metavar="N", help="hold out every N-th view")
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--out", type=Path, default=None, help=out_help("bench_recon_floaters"))
    args = parser.parse_args(argv)
    check_exists(parser, "inputs", args.inputs)
    check_out(parser, args.out)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v != "base" and not (v.startswith("sphere") and v.removeprefix("sphere").replace(".", "", 1).isdigit()):
            parser.error(f"--variants: unknown variant {v!r} (base or sphereK, e.g. sphere1)")
    torch.set_num_threads(args.threads)
    rows = [run(folder, v, seed, args) for folder in args.inputs for seed in args.seeds for v in variants]
    report = {"machine": platform.processor() or platform.machine(), "threads": args.threads,
              "iterations": args.iterations, "resolution": args.resolution, "holdout_every": args.holdout_every,
              "runs": rows}
    save_json(resolve_out(args.out, "bench_recon_floaters"), report, indent=2)


if __name__ == "__main__":
    main()
