"""``genxd reconstruct`` (views -> 3D / 4D Gaussians) and ``genxd eval-recon`` (held-out metrics)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from .. import job_specs as js
from .. import validation as v
from .common import import_libraries, note, run_cli
from .options import CpuCudaDevice, Lpips, Out, Overwrite, Quiet, Seed, checked, flag


def _torch_device(device: Optional[str]) -> str:
    """``--device`` for the rasteriser: cpu or cuda[:N] (auto: cuda when available; mps is refused by the option)."""
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _size_said(result: dict) -> str:
    """``WxH`` the metrics were computed at, and the stored size when the reconstruction downsized the images
    (metrics at another resolution are not comparable with published ones)."""
    h, w = result["resolution"]
    stored = result.get("input_resolution") or [h, w]
    if list(stored) == [h, w]:
        return f"{w}x{h}"
    return f"{w}x{h} (downsized from the input's {stored[1]}x{stored[0]} by reconstruct --resolution)"


def _masked_line(masked: dict) -> str:
    """The line saying DTU's masked metrics (:mod:`genxd.reconstruction.masks`)."""
    lp = f", LPIPS {masked['lpips']:.4f}" if masked["lpips"] is not None else ""
    return f"{masked['protocol']}: PSNR {masked['psnr']:.2f} dB, SSIM {masked['ssim']:.4f}{lp}"


def register(app: typer.Typer) -> None:
    @app.command("reconstruct", short_help="Fit 3D / 4D Gaussians to views; write a .ply and a video.")
    def reconstruct(
        input: Path = typer.Argument(..., help="genxd generate output, folder with transforms.json, COLMAP model folder (images/ + 0/ or sparse/0/), or ReconFusion folder."),
        out: Annotated[Path, Out("Output folder (scene.ply, renders/, flythrough.mp4, ...).")] = ...,  # type: ignore[assignment]  # typer: ... marks it required
        iterations: Optional[int] = typer.Option(None, "--iterations", callback=checked(replace(js.RECON_ITERATIONS, optional=True)), help="Optimisation steps (default: 2000 on CUDA, 500 on a CPU)."),
        resolution: Optional[int] = typer.Option(None, "--resolution", callback=checked(js.RECON_RESOLUTION), help="Downsize so the longer image side is at most this (default: 256 on CUDA, 128 on a CPU; 0: keep the input's size)."),
        device: CpuCudaDevice = "cpu",
        init: str = typer.Option("auto", "--init", callback=checked(v.Choice(("auto", "colmap", "random", "depth"))), help="Initial Gaussians: auto, colmap, random or depth."),
        mode: str = typer.Option("3d", "--mode", callback=checked(v.Choice(("3d", "4d"))), help="3d (static) or 4d (time-conditioned Gaussians)."),
        seed: Seed = 0,
        sh_degree: int = typer.Option(1, "--sh-degree", callback=checked(js.SH_DEGREE), help="Spherical-harmonics degree (0-3)."),
        holdout_every: int = typer.Option(0, "--holdout-every", callback=checked(js.HOLDOUT_EVERY), help="Hold out every n-th view for evaluation (0: train on all)."),
        scene_key: Optional[str] = typer.Option(None, "--scene-key", help="ReconFusion input: the scene key (also picks a genxd fewshot output's groups for --extra-views, and the scene subfolder of --masks)."),
        n_views: Optional[int] = typer.Option(None, "--n-views", callback=checked(v.Int(1, 1_000_000, optional=True)), help="ReconFusion input: the few-shot split train_test_split_N."),
        extra_views: Optional[List[Path]] = typer.Option(None, "--extra-views", metavar="<path>", help="Views added to training (e.g. generated views): an input folder, or a genxd fewshot output folder (all groups of the reconstructed scene: the ReconFusion input's, or --scene-key). May be given several times."),
        init_points: int = typer.Option(10_000, "--init-points", callback=checked(js.INIT_POINTS), help="Points for random / depth initialisation."),
        max_gaussians: int = typer.Option(200_000, "--max-gaussians", callback=checked(v.Int(1, 1_000_000_000)), help="Densification stops growing beyond this many Gaussians."),
        strategy: str = typer.Option("auto", "--strategy", callback=checked(v.Choice(("auto", "gsplat", "builtin", "none"))), help="Densification: auto (gsplat if installed), gsplat, builtin or none."),
        background: str = typer.Option("black", "--background", callback=checked(v.Colour()), help="Background colour: black, white or R,G,B (each 0-1)."),
        lambda_lpips: float = typer.Option(0.0, "--lambda-lpips", callback=checked(v.Float(0.0, 100.0)), help="Weight of an LPIPS loss term, 0-100 (used only if the lpips package and its weights are on disk)."),
        temporal_opacity: bool = flag("--temporal-opacity", help="4D: per-Gaussian temporal opacity."),
        per_time_ply: bool = flag("--per-time-ply", help="4D: also write ply/time_XXXX.ply at every input time."),
        masks: Optional[Path] = typer.Option(None, "--masks", help="DTU: a folder of object masks of the held-out views (idrmasks/SCAN: NNN.png or mask/NNN.png); adds RegNeRF's masked PSNR / SSIM / LPIPS to the held-out metrics."),
        lpips: Lpips = True,
        video_frames: int = typer.Option(120, "--video-frames", callback=checked(js.VIDEO_FRAMES), help="Fly-through video frames (0: no video)."),
        fps: int = typer.Option(30, "--fps", callback=checked(js.VIDEO_FPS), help="Fly-through video frame rate."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """Optimise 3D (or 4D) Gaussians to the input views; write scene.ply, renders and a fly-through."""

        def run() -> None:
            import_libraries("genxd.reconstruction.pipeline")
            from genxd.reconstruction.pipeline import default_iterations, default_resolution, reconstruct_scene
            from genxd.reconstruction.trainer import ReconstructionConfig
            from genxd.utils.io import check_writable_dir
            from genxd.utils.paths import loop_note

            if not input.exists():
                raise FileNotFoundError(f"{input}: no such file or folder{loop_note(input)}")
            check_writable_dir(out, "--out")  # an existing folder must be writable to be replaced
            check_writable_dir(out.parent, "--out's parent folder")  # the new folder is renamed in there
            torch_device = _torch_device(device)
            steps = default_iterations(torch_device) if iterations is None else iterations
            size = default_resolution(torch_device) if resolution is None else resolution
            defaults_note = None
            if (iterations is None or resolution is None) and not torch_device.startswith("cuda"):
                # only what was not given: "--iterations 200" is the user's, not a default
                parts = [(f"{steps} steps", "--iterations")] if iterations is None else []
                parts += [(f"{size} px", "--resolution")] if resolution is None else []
                defaults_note = (f"CPU default{'s' if len(parts) > 1 else ''}: {' at '.join(p for p, _ in parts)} "
                                 f"({', '.join(o for _, o in parts)} to change)")
            config = ReconstructionConfig(
                iterations=steps,
                mode=mode,  # type: ignore[arg-type]
                device=torch_device,
                seed=seed,
                sh_degree=sh_degree,
                init=init,  # type: ignore[arg-type]
                init_points=init_points,
                max_gaussians=max_gaussians,
                strategy=strategy,  # type: ignore[arg-type]
                background=background,  # type: ignore[arg-type]  # (r, g, b), parsed by the option's callback
                temporal_opacity=temporal_opacity,
                lambda_lpips=lambda_lpips,
            )
            record = reconstruct_scene(
                input,
                out,
                config,
                resolution=size or None,
                holdout_every=holdout_every,
                scene_key=scene_key,
                n_views=n_views,
                extra_views=extra_views or None,
                video_frames=video_frames,
                fps=fps,
                per_time_ply=per_time_ply,
                overwrite=overwrite,
                progress=not quiet,
                masks=masks,
                use_lpips=lpips,
                on_ready=None if defaults_note is None else (lambda: note(defaults_note, quiet)),  # after the checks
                on_note=lambda message: note(message, quiet),
            )
            line = (
                f"{out}: {record['num_gaussians']} Gaussians, {record['num_train_views']} training views, "
                f"train PSNR {record['train_metrics']['psnr']:.2f} dB"
            )
            if record["test_metrics"] is not None:
                line += f", held-out PSNR {record['test_metrics']['psnr']:.2f} dB ({record['num_test_views']} views)"
            typer.echo(line + f", {record['train_seconds']:.1f} s")
            if record["test_metrics"] is not None and (masked := record["test_metrics"].get("masked")) is not None:
                typer.echo(_masked_line(masked))

        run_cli(run, quiet)

    @app.command("eval-recon", short_help="PSNR / SSIM of a reconstruction on its held-out views.")
    def eval_recon(
        scene_dir: Path = typer.Argument(..., help="A genxd reconstruct output folder."),
        input: Optional[Path] = typer.Option(None, "--input", help="The views (default: the input recorded at reconstruction)."),
        scene_key: Optional[str] = typer.Option(None, "--scene-key", help="ReconFusion: the scene key (also picks the scene subfolder of --masks)."),
        n_views: Optional[int] = typer.Option(None, "--n-views", callback=checked(v.Int(1, 1_000_000, optional=True)), help="ReconFusion: evaluate on the test views of train_test_split_N."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Metrics JSON file (default: SCENE_DIR/metrics.json)."),
        device: CpuCudaDevice = "cpu",
        lpips: Lpips = True,
        save_renders: bool = flag("--save-renders", help="Write the held-out renders to SCENE_DIR/eval_renders/."),
        masks: Optional[Path] = typer.Option(None, "--masks", help="DTU: a folder of object masks (idrmasks/SCAN: NNN.png or mask/NNN.png); adds RegNeRF's masked PSNR / SSIM / LPIPS."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """PSNR / SSIM (/ LPIPS) of a reconstruction on its held-out views; writes metrics JSON."""

        def run() -> None:
            from genxd.reconstruction.pipeline import evaluate_scene

            result = evaluate_scene(
                scene_dir,
                input_path=input,
                scene_key=scene_key,
                n_views=n_views,
                device=_torch_device(device),
                use_lpips=lpips,
                save_renders=save_renders,
                out_path=out,
                overwrite=overwrite,
                masks=masks,
            )
            lp = f", LPIPS {result['lpips']:.4f}" if result["lpips"] is not None else ""
            if lpips and result["lpips"] is None:
                from genxd.reconstruction.metrics import lpips_unavailable_reason

                lp = f", LPIPS not computed: {lpips_unavailable_reason() or 'the lpips network failed to load'}"
            typer.echo(
                f"{result['protocol']}: {result['num_views']} views at {_size_said(result)}, "
                f"PSNR {result['psnr']:.2f} dB, SSIM {result['ssim']:.4f}{lp}"
            )
            if (masked := result.get("masked")) is not None:
                typer.echo(_masked_line(masked))

        run_cli(run, quiet)
