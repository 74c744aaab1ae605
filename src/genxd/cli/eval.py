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
        modes: str = typer.Option("3d-1view,3d-3view,4d", "--modes",
                                  help="Comma-separated: 3d-1view, 3d-3view, 4d (synthetic held-out scenes), "
                                       "photo-pan, photo-zoom, photo-look (held-out photographs, homography ground truth), "
                                       "photo-cards (rendered photo-card scenes), "
                                       "fewshot (3-view reconstruction with / without generated views; slow)."),
        fewshot_scenes: int = typer.Option(10, "--fewshot-scenes", help="Held-out ReconFusion-format scenes of --modes fewshot."),
        fewshot_iterations: int = typer.Option(300, "--fewshot-iterations", help="Gaussian-splatting steps per reconstruction (fewshot)."),
        device: Optional[str] = typer.Option(None, "--device"),
        dtype: Optional[str] = typer.Option(None, "--dtype", help="fp32, bf16 or fp16 (default: fp32 on CPU, bf16 on CUDA)."),
        fast: Optional[bool] = typer.Option(None, "--fast/--no-fast", help="GPU fast path (default: on for CUDA)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the report as JSON here."),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """PSNR / SSIM against ground-truth renders, repeat-input baseline, camera following, 4D motion; held-out photos."""

        def job():
            from ..evaluation import evaluate

            from ..evaluation import EVAL_MODES

            wanted = tuple(m.strip() for m in modes.split(",") if m.strip())
            bad = [m for m in wanted if m not in EVAL_MODES]
            if bad:
                raise ValueError(f"--modes: unknown {bad}; use {', '.join(EVAL_MODES)}")
            if fewshot_scenes < 1 or fewshot_iterations < 1:
                raise ValueError("--fewshot-scenes and --fewshot-iterations must be >= 1")
            report = evaluate(model, num_scenes, steps, guidance, device, progress=not quiet, out=out, modes=wanted,
                              dtype=dtype, fast=fast, fewshot_scenes=fewshot_scenes, fewshot_iterations=fewshot_iterations)
            typer.echo(json.dumps(report, indent=2))

        run_cli(job)
