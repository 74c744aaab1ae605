"""``genxd synth``: render synthetic 3D/4D scenes with exact ground truth (``genxd.data.synthetic``)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .common import UsageError, run_cli


class Kind(str, Enum):
    static = "3d"
    dynamic = "4d"


class Format(str, Enum):
    folder = "folder"
    video = "video"
    camvid = "camvid"
    reconfusion = "reconfusion"


def _output_exists(out_dir: Path, name: str, fmt: str) -> bool:
    if fmt == "video":
        return (out_dir / f"{name}.mp4").exists() or (out_dir / f"{name}.json").exists()
    if fmt == "reconfusion":
        from genxd.data.reconfusion import read_reconfusion_index

        return (out_dir / "index.json").is_file() and name in read_reconfusion_index(out_dir)
    return (out_dir / name).exists()


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        out_dir: Path = typer.Argument(..., help="Output folder (created if missing)."),
        num_scenes: int = typer.Option(1, "--num-scenes", "-n", help="Number of clips; clip i uses seed SEED + i."),
        kind: Kind = typer.Option(Kind.static, "--kind", help="3d: static scene, moving camera; 4d: moving objects too."),
        fmt: Format = typer.Option(Format.folder, "--format", help="folder (PNG + transforms.json + ground truth), video (mp4 + json), camvid (CamVid-30K: JPEG + COLMAP), reconfusion (torch)."),
        frames: int = typer.Option(16, "--frames", "-f", help="Frames (views) per clip."),
        size: int = typer.Option(256, "--size", help="Image height and width in pixels."),
        seed: int = typer.Option(0, "--seed", help="Seed of the first clip."),
        camera: Optional[str] = typer.Option(None, "--camera", help="Camera path (orbit, forward, handheld, static, sway, spiral, dolly, pan, zoom); random per clip by default."),
        motion_strength: Optional[float] = typer.Option(None, "--motion-strength", help="4d: net displacement of each object over the clip in world units (scene ~3 units across); random in 0.15-1.0 by default."),
        focal: float = typer.Option(1.0, "--focal", help="Normalised focal length fx/W."),
        supersample: int = typer.Option(1, "--supersample", help="Anti-aliasing: odd number of samples per pixel side (1, 3)."),
        fps: float = typer.Option(8.0, "--fps", help="Video frame rate (format video)."),
        device: str = typer.Option("cpu", "--device", help="Render device: cpu or cuda."),
        threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: torch's choice; 1 is often fastest on busy machines)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs of the same names."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Render synthetic scenes (textured primitives, ground, sky) with exact cameras, depth and motion."""

        def body() -> None:
            import torch
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from genxd.data.synthetic import CAMERA_PATHS, make_clip, write_clip

            if num_scenes < 1:
                raise UsageError(f"--num-scenes must be >= 1, got {num_scenes}")
            if frames < 1 or (fmt == Format.reconfusion and frames < 2):
                raise UsageError(f"--frames must be >= {2 if fmt == Format.reconfusion else 1}, got {frames}")
            if size < 8 or size > 4096:
                raise UsageError(f"--size must be in 8..4096, got {size}")
            if fmt == Format.video and size % 2:
                raise UsageError(f"--format video needs an even --size (H.264 yuv420p), got {size}")
            if seed < 0:
                raise UsageError(f"--seed must be >= 0, got {seed}")
            if camera is not None and camera not in CAMERA_PATHS:
                raise UsageError(f"--camera must be one of {', '.join(CAMERA_PATHS)}, got {camera!r}")
            if motion_strength is not None:
                if kind == Kind.static and motion_strength != 0:
                    raise UsageError("--motion-strength needs --kind 4d (3d scenes are static)")
                if motion_strength < 0:
                    raise UsageError(f"--motion-strength must be >= 0, got {motion_strength}")
            if supersample < 1 or supersample % 2 == 0:
                raise UsageError(f"--supersample must be an odd integer >= 1, got {supersample}")
            if device.startswith("cuda") and not torch.cuda.is_available():
                raise UsageError("--device cuda: CUDA is not available")
            if threads is not None:
                if threads < 1:
                    raise UsageError(f"--threads must be >= 1, got {threads}")
                torch.set_num_threads(threads)
            if out_dir.exists() and not out_dir.is_dir():
                raise UsageError(f"{out_dir} exists and is not a folder")

            names = [f"synth_{kind.value}_{seed + i:06d}" for i in range(num_scenes)]
            if not overwrite:
                clash = [n for n in names if _output_exists(out_dir, n, fmt.value)]
                if clash:
                    raise UsageError(f"{out_dir / clash[0]} already exists ({len(clash)} clashes); pass --overwrite to replace")
            out_dir.mkdir(parents=True, exist_ok=True)
            progress = Progress(
                TextColumn("[bold]synth[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                disable=quiet,
            )
            with progress:
                task = progress.add_task(f"{kind.value} {fmt.value}", total=num_scenes)
                for i, name in enumerate(names):
                    clip = make_clip(
                        seed + i,
                        kind.value,
                        frames,
                        size,
                        size,
                        camera=camera,
                        motion_strength=motion_strength if kind == Kind.dynamic else None,
                        focal=focal,
                        supersample=supersample,
                        device=device,
                    )
                    write_clip(clip, out_dir, name, fmt.value, fps=fps, overwrite=overwrite)
                    progress.advance(task)
            if not quiet:
                typer.echo(f"wrote {num_scenes} {kind.value} clip(s) to {out_dir} ({fmt.value})")

        run_cli(body)
