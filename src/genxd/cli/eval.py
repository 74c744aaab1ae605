"""``genxd eval``: generation quality on held-out synthetic scenes (see genxd.evaluation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import run_cli


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Checkpoint folder (default: bundled)."),
        num_scenes: int = typer.Option(50, "--num-scenes", "-n", help="Held-out synthetic scenes."),
        steps: Optional[int] = typer.Option(None, "--steps"),
        guidance: Optional[float] = typer.Option(None, "--guidance"),
        modes: str = typer.Option("3d-1view,3d-3view,4d,camera-3d,camera-4d", "--modes", help="Comma-separated: 3d-1view, 3d-3view, 4d, camera-3d, camera-4d (camera accuracy: RotErr / TransErr by SfM, see genxd eval-camera)."),
        device: Optional[str] = typer.Option(None, "--device"),
        dtype: Optional[str] = typer.Option(None, "--dtype", help="fp32, bf16 or fp16 (default: fp32 on CPU, bf16 on CUDA)."),
        fast: Optional[bool] = typer.Option(None, "--fast/--no-fast", help="GPU fast path (default: on for CUDA)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the report as JSON here."),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """PSNR / SSIM against ground-truth renders, repeat-input baseline, camera following, 4D motion."""

        def job():
            from ..evaluation import MODES, evaluate

            wanted = tuple(m.strip() for m in modes.split(",") if m.strip())
            bad = [m for m in wanted if m not in MODES]
            if bad:
                raise ValueError(f"--modes: unknown {bad}; use {', '.join(MODES)}")
            report = evaluate(model, num_scenes, steps, guidance, device, progress=not quiet, out=out, modes=wanted,
                              dtype=dtype, fast=fast)
            typer.echo(json.dumps(report, indent=2))

        run_cli(job)
