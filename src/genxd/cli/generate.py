"""``genxd generate`` and ``genxd fewshot``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from .common import UsageError, run_cli

if TYPE_CHECKING:
    from ..pipelines.distributed import ProcessGroup, SceneResult

SUMMARY_NAME = "summary.json"


def read_input_list(path: Path) -> list[Path]:
    """Paths listed in a text file, one a line (blank lines and ``#`` comments skipped).

    Relative paths are relative to the list file's folder.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such input list file")
    entries = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entry = Path(line).expanduser()
            entries.append(entry if entry.is_absolute() else path.parent / entry)
    if not entries:
        raise ValueError(f"{path}: the input list names no files")
    return entries


def summary_path(summary: Optional[Path], out: Path, group: "ProcessGroup") -> Optional[Path]:
    """``--summary`` if given; else ``OUT/summary.json`` under several processes, none in one process."""
    if summary is not None:
        return summary
    return out / SUMMARY_NAME if group.num_processes > 1 else None


def report(results: "list[SceneResult]", group: "ProcessGroup", summary: Optional[Path], what: str) -> int:
    """Print the outcome (main process only), wait for every process, return the exit code.

    stdout: the folders written; stderr: skipped folders and one line per failure, then one
    ``genxd: error:`` line. Exit code 0 when nothing failed, 2 when only bad inputs failed (as one bad
    input always did), 1 when anything else failed.
    """
    from ..pipelines.distributed import describe_failures

    failed = [r for r in results if r.status == "failed"]
    if group.is_main_process:
        for r in results:
            if r.status == "written":
                typer.echo(r.output)
            elif r.status == "skipped":
                typer.echo(f"genxd: skipped (exists): {r.output}", err=True)
        for r in failed:
            detail = r.error if (r.error or "").startswith(r.input) else f"{r.input}: {r.error}"
            typer.echo(f"genxd: failed: {detail}", err=True)
        if failed:
            written = sum(r.status == "written" for r in results)
            where = f"; summary: {summary}" if summary is not None else ""
            typer.echo(f"genxd: error: {describe_failures(results, what)} ({written} written{where})", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
    group.wait_for_everyone()  # no process exits (non-zero) before the main one has reported
    if not failed:
        return 0
    return 2 if all(r.input_error for r in failed) else 1


def _parse_range(text: Optional[str]) -> Optional[tuple[float, float]]:
    if text is None:
        return None
    parts = text.replace(":", ",").split(",")
    if len(parts) != 2:
        raise UsageError(f"--azimuth-range must be two numbers like '-30,30', got {text!r}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise UsageError(f"--azimuth-range must be two numbers like '-30,30', got {text!r}") from None


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate_cmd(
        images: Optional[List[Path]] = typer.Argument(None, help="Image files and/or folders of images (one scene per image)."),
        input_list: Optional[Path] = typer.Option(None, "--input-list", help="Text file naming more inputs, one a line (relative to its folder)."),
        out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder (one sub-folder per image)."),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Checkpoint folder (unet/ vae/ scheduler/) or a hub id in the local HF cache. Default: the bundled small model."),
        camera: str = typer.Option("orbit", "--camera", "-c", help="orbit, forward, spiral, dolly, zoom, pan, static, or a camera-path .json (authors' format or transforms.json)."),
        mode: str = typer.Option("3d", "--mode", help="3d (multi-view), video, or 4d (camera and objects move)."),
        motion_strength: float = typer.Option(0.0, "--motion-strength", help="Object motion strength (4d/video)."),
        num_frames: Optional[int] = typer.Option(None, "--frames", "-n", help="Number of frames (default: the model's)."),
        resolution: Optional[int] = typer.Option(None, "--resolution", "-r", help="Square resolution in pixels (default: the model's)."),
        elevation: Optional[float] = typer.Option(None, "--elevation", help="Camera elevation in degrees (orbit/forward)."),
        azimuth_range: Optional[str] = typer.Option(None, "--azimuth-range", help="Azimuth range in degrees, e.g. '0,360' or '-30,30' (orbit/forward)."),
        radius: Optional[float] = typer.Option(None, "--radius", help="Orbit radius (orbit/forward)."),
        focal: Optional[float] = typer.Option(None, "--focal", help="Normalised focal length fx/W (default: the preset's)."),
        steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (default: the model's)."),
        guidance: Optional[float] = typer.Option(None, "--guidance", help="Classifier-free guidance scale (1 = off)."),
        seed: int = typer.Option(0, "--seed", help="Random seed (image i uses seed + i)."),
        fit: str = typer.Option("crop", "--fit", help="crop (centre crop) or pad (pad with white) to a square."),
        batch_size: int = typer.Option(1, "--batch-size", help="Scenes per sampling call (GPU)."),
        device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)."),
        dtype: Optional[str] = typer.Option(None, "--dtype", help="fp32, bf16 or fp16 (default: bf16 on CUDA, fp32 on CPU)."),
        compile_unet: bool = typer.Option(False, "--compile", help="CUDA: torch.compile the UNet's blocks (about 1.5 min per image size the first time, cached on disk; then ~1.5x faster UNet calls). Pays when generating many scenes in one run."),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Sampler: euler (the authors'), dpmpp-2m, dpmpp-3m, dpmpp-2m-sde, unipc, heun (heun: 2n-1 UNet calls for n steps). Default: the model's (docs/benchmarks.md: quality against steps)."),
        offload: str = typer.Option("none", "--offload", help="CUDA, small GPUs: none; model (only the model in use on the GPU); group (the UNet streamed block by block: least memory, slowest). See docs/benchmarks.md for memory and time."),
        decode_chunk: Optional[int] = typer.Option(None, "--decode-chunk", help="Frames decoded at once by the VAE (in half-overlapping windows; less memory). Default: by image size (2 at 512x512, the whole clip when small)."),
        sequential_guidance: bool = typer.Option(False, "--sequential-guidance", help="Run the two guidance branches as two UNet calls (less GPU memory, a little slower)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output folders."),
        skip_existing: bool = typer.Option(False, "--skip-existing", help="Keep existing output folders, generate the others (resume a job)."),
        summary: Optional[Path] = typer.Option(None, "--summary", help="Write a JSON summary (one entry per input) here; default under several processes: OUT/summary.json."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Generate a 3D / 4D scene from each input image along a camera path.

        Several processes (``accelerate launch --num_processes N -m genxd generate ...``) share the inputs.
        """

        def job() -> int:
            from ..api import generate_scenes
            from ..pipelines.distributed import ProcessGroup

            if fit not in ("crop", "pad"):
                raise UsageError(f"--fit must be 'crop' or 'pad', got {fit!r}")
            if mode.lower() not in ("3d", "mv", "video", "4d"):
                raise UsageError(f"--mode must be 3d, video or 4d, got {mode!r}")
            from ..pipelines.offload import OFFLOAD_MODES
            from ..pipelines.schedulers import SCHEDULERS

            if scheduler is not None and scheduler not in SCHEDULERS:
                raise UsageError(f"--scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
            if offload not in OFFLOAD_MODES:
                raise UsageError(f"--offload must be one of {', '.join(OFFLOAD_MODES)}, got {offload!r}")
            if decode_chunk is not None and decode_chunk < 1:
                raise UsageError(f"--decode-chunk must be >= 1 frame, got {decode_chunk}")
            inputs = list(images or []) + (read_input_list(input_list) if input_list is not None else [])
            if not inputs:
                raise UsageError("no inputs: give image files / folders, or --input-list FILE")
            group = ProcessGroup(device)
            if model is None and group.is_main_process:
                from ..api import default_model_path

                if default_model_path() is not None:
                    typer.echo("genxd: no --model given, using the bundled small model (genxd-small; trained on synthetic scenes)", err=True)
            summary_file = summary_path(summary, out, group)
            results = generate_scenes(
                inputs, out, model, device=device, dtype=dtype, compile_unet=compile_unet, offload=offload,
                overwrite=overwrite, skip_existing=skip_existing,
                summary=summary_file, progress=not quiet,
                camera=camera, mode=mode, motion_strength=motion_strength, num_frames=num_frames,
                resolution=resolution, num_inference_steps=steps, guidance_scale=guidance, seed=seed,
                focal=focal, elevation=elevation, azimuth_range=_parse_range(azimuth_range), radius=radius,
                fit=fit, batch_size=batch_size, scheduler=scheduler, decode_chunk=decode_chunk,
                sequential_guidance=sequential_guidance,
            )
            return report(results, group, summary_file, "inputs")

        code = run_cli(job)
        if code:
            raise typer.Exit(code=code)

    @app.command("fewshot")
    def fewshot_cmd(
        data_root: Path = typer.Argument(..., help="ReconFusion-format folder (index.json + scene files)."),
        out: Path = typer.Option(Path("outputs/fewshot"), "--out", "-o", help="Output folder (one sub-folder per group)."),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Checkpoint folder or cached hub id (default: bundled)."),
        strategy: str = typer.Option("direct", "--strategy", help="direct (at the split's test views) or grouped (along fitted trajectories)."),
        pose_dir: Optional[Path] = typer.Option(None, "--pose-dir", help="Fitted trajectories for 'grouped' (genxd trajectory fit output, DATA_NAME folder)."),
        n_views: int = typer.Option(9, "--n-views", help="Which few-shot split (train_test_split_N)."),
        num_context: int = typer.Option(3, "--num-context", help="Context views per generation (1, 2 or 3)."),
        num_frames: Optional[int] = typer.Option(None, "--frames", "-n"),
        resolution: Optional[int] = typer.Option(None, "--resolution", "-r"),
        steps: Optional[int] = typer.Option(None, "--steps"),
        guidance: Optional[float] = typer.Option(None, "--guidance"),
        seed: int = typer.Option(0, "--seed"),
        save_target_only: bool = typer.Option(False, "--save-target-only", help="Write only the generated target frames."),
        pad_to_square: bool = typer.Option(False, "--pad-to-square", help="Pad (not crop) to square; outputs are un-padded."),
        device: Optional[str] = typer.Option(None, "--device"),
        dtype: Optional[str] = typer.Option(None, "--dtype"),
        compile_unet: bool = typer.Option(False, "--compile", help="CUDA: torch.compile the UNet (see genxd generate --help)."),
        overwrite: bool = typer.Option(False, "--overwrite"),
        skip_existing: bool = typer.Option(False, "--skip-existing", help="Keep existing group folders, generate the others."),
        summary: Optional[Path] = typer.Option(None, "--summary", help="Write a JSON summary (one entry per group) here; default under several processes: OUT/summary.json."),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """Generate novel views of few-shot ReconFusion scenes (grouped or direct, as the authors).

        Several processes (``accelerate launch --num_processes N -m genxd fewshot ...``) share the groups.
        """

        def job() -> int:
            from ..api import fewshot_scenes
            from ..pipelines.distributed import ProcessGroup

            if not data_root.exists():
                raise FileNotFoundError(f"{data_root}: no such folder")
            group = ProcessGroup(device)
            summary_file = summary_path(summary, out, group)
            results = fewshot_scenes(
                data_root, out, model, strategy=strategy, pose_dir=pose_dir, n_views=n_views, num_context=num_context,
                num_frames=num_frames, resolution=resolution, num_inference_steps=steps, guidance_scale=guidance,
                seed=seed, save_target_only=save_target_only, pad_to_square=pad_to_square, device=device,
                dtype=dtype, compile_unet=compile_unet, overwrite=overwrite, skip_existing=skip_existing, summary=summary_file, progress=not quiet,
            )
            return report(results, group, summary_file, "groups")

        code = run_cli(job)
        if code:
            raise typer.Exit(code=code)
