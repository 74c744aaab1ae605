"""``genxd reconstruct`` (views -> 3D / 4D Gaussians) and ``genxd eval-recon`` (held-out metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import UsageError, run_cli


def _parse_background(text: str) -> tuple[float, float, float]:
    names = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0)}
    if text in names:
        return names[text]
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--background: expected black, white or R,G,B in [0, 1], got {text!r}") from None
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise UsageError(f"--background: expected black, white or R,G,B in [0, 1], got {text!r}")
    return values  # type: ignore[return-value]


def register(app: typer.Typer) -> None:
    @app.command("reconstruct")
    def reconstruct(
        input: Path = typer.Argument(..., help="genxd generate output, folder with transforms.json, COLMAP model folder (images/ + 0/ or sparse/0/), or ReconFusion folder"),
        out: Path = typer.Option(..., "--out", "-o", help="output folder (scene.ply, renders/, flythrough.mp4, ...)"),
        iterations: int = typer.Option(2000, help="optimisation steps"),
        resolution: int = typer.Option(256, help="downsize so the longer image side is at most this (0: keep the input's size)"),
        device: str = typer.Option("cpu", help="cpu or cuda"),
        init: str = typer.Option("auto", help="auto, colmap, random or depth"),
        mode: str = typer.Option("3d", help="3d (static) or 4d (time-conditioned Gaussians)"),
        seed: int = typer.Option(0, help="random seed"),
        sh_degree: int = typer.Option(1, help="spherical-harmonics degree (0-3)"),
        holdout_every: int = typer.Option(0, help="hold out every n-th view for evaluation (0: train on all)"),
        scene_key: Optional[str] = typer.Option(None, help="ReconFusion input: the scene key"),
        n_views: Optional[int] = typer.Option(None, help="ReconFusion input: few-shot split train_test_split_{n}"),
        extra_views: Optional[Path] = typer.Option(None, help="another input folder whose views are added to training (e.g. generated views)"),
        init_points: int = typer.Option(10_000, help="points for random / depth initialisation"),
        max_gaussians: int = typer.Option(200_000, help="densification stops growing beyond this many Gaussians"),
        strategy: str = typer.Option("auto", help="densification: auto (gsplat if installed), gsplat, builtin or none"),
        background: str = typer.Option("black", help="background colour: black, white or R,G,B"),
        lambda_lpips: float = typer.Option(0.0, help="weight of an LPIPS loss term (used only if the lpips package and its weights are on disk)"),
        temporal_opacity: bool = typer.Option(False, help="4D: per-Gaussian temporal opacity"),
        per_time_ply: bool = typer.Option(False, help="4D: also write ply/time_XXXX.ply at every input time"),
        video_frames: int = typer.Option(120, help="fly-through video frames (0: no video)"),
        fps: int = typer.Option(30, help="fly-through video frame rate"),
        overwrite: bool = typer.Option(False, help="replace --out if it exists"),
        quiet: bool = typer.Option(False, help="no progress bar"),
    ) -> None:
        """Optimise 3D (or 4D) Gaussians to the input views; write scene.ply, renders and a fly-through."""

        def run() -> None:
            from genxd.reconstruction.pipeline import reconstruct_scene
            from genxd.reconstruction.trainer import ReconstructionConfig

            if init not in ("auto", "colmap", "random", "depth"):
                raise UsageError(f"--init must be auto, colmap, random or depth, got {init!r}")
            if mode not in ("3d", "4d"):
                raise UsageError(f"--mode must be 3d or 4d, got {mode!r}")
            if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
                raise UsageError(f"--device must be cpu or cuda, got {device!r}")
            if strategy not in ("auto", "gsplat", "builtin", "none"):
                raise UsageError(f"--strategy must be auto, gsplat, builtin or none, got {strategy!r}")
            if iterations < 1:
                raise UsageError("--iterations must be >= 1")
            if resolution < 0:
                raise UsageError("--resolution must be >= 0")
            if holdout_every < 0:
                raise UsageError("--holdout-every must be >= 0")
            if lambda_lpips < 0:
                raise UsageError("--lambda-lpips must be >= 0")
            config = ReconstructionConfig(
                iterations=iterations,
                mode=mode,  # type: ignore[arg-type]
                device=device,
                seed=seed,
                sh_degree=sh_degree,
                init=init,  # type: ignore[arg-type]
                init_points=init_points,
                max_gaussians=max_gaussians,
                strategy=strategy,  # type: ignore[arg-type]
                background=_parse_background(background),
                temporal_opacity=temporal_opacity,
                lambda_lpips=lambda_lpips,
            )
            record = reconstruct_scene(
                input,
                out,
                config,
                resolution=resolution or None,
                holdout_every=holdout_every,
                scene_key=scene_key,
                n_views=n_views,
                extra_views=extra_views,
                video_frames=video_frames,
                fps=fps,
                per_time_ply=per_time_ply,
                overwrite=overwrite,
                progress=not quiet,
            )
            line = (
                f"{out}: {record['num_gaussians']} Gaussians, {record['num_train_views']} training views, "
                f"train PSNR {record['train_metrics']['psnr']:.2f} dB"
            )
            if record["test_metrics"] is not None:
                line += f", held-out PSNR {record['test_metrics']['psnr']:.2f} dB ({record['num_test_views']} views)"
            typer.echo(line + f", {record['train_seconds']:.1f} s")

        run_cli(run)

    @app.command("eval-recon")
    def eval_recon(
        scene_dir: Path = typer.Argument(..., help="a genxd reconstruct output folder"),
        input: Optional[Path] = typer.Option(None, "--input", help="the views (default: the input recorded at reconstruction)"),
        scene_key: Optional[str] = typer.Option(None, help="ReconFusion: the scene key"),
        n_views: Optional[int] = typer.Option(None, help="ReconFusion: evaluate on the test views of train_test_split_{n}"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="metrics JSON (default SCENE_DIR/metrics.json)"),
        device: str = typer.Option("cpu", help="cpu or cuda"),
        lpips: bool = typer.Option(True, help="LPIPS when the lpips package and its weights are on disk"),
        save_renders: bool = typer.Option(False, help="write the held-out renders to SCENE_DIR/eval_renders/"),
        overwrite: bool = typer.Option(False, help="replace an existing metrics file"),
    ) -> None:
        """PSNR / SSIM (/ LPIPS) of a reconstruction on its held-out views; writes metrics JSON."""

        def run() -> None:
            from genxd.reconstruction.pipeline import evaluate_scene

            result = evaluate_scene(
                scene_dir,
                input_path=input,
                scene_key=scene_key,
                n_views=n_views,
                device=device,
                use_lpips=lpips,
                save_renders=save_renders,
                out_path=out,
                overwrite=overwrite,
            )
            lp = f", LPIPS {result['lpips']:.4f}" if result["lpips"] is not None else ""
            typer.echo(
                f"{result['protocol']}: {result['num_views']} views, PSNR {result['psnr']:.2f} dB, "
                f"SSIM {result['ssim']:.4f}{lp}"
            )

        run_cli(run)
