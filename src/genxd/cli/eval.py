"""``genxd eval``: generation quality on held-out synthetic scenes (see genxd.evaluation)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import job_specs as js
from .. import validation as v
from ..utils.json_text import json_text
from .common import UsageError, import_libraries, run_cli
from .options import AllowPickle, Device, Dtype, Guidance, Model, Overwrite, Quiet, Steps, checked


def _eval_modes() -> tuple[str, ...]:
    """The modes ``genxd.evaluation`` knows (read when an eval command line is checked)."""
    from ..evaluation import EVAL_MODES

    return EVAL_MODES


def register(app: typer.Typer) -> None:
    @app.command("eval", short_help="Evaluate a model on held-out scenes and photographs.")
    def eval_cmd(
        model: Model = None,
        num_scenes: Optional[int] = typer.Option(None, "--num-scenes", "-n", callback=checked(js.EVAL_SCENES), help="Held-out synthetic scenes of the synthetic modes (3d-1view, 3d-3view, 4d, photo-cards, camera-*; default 50; the photo modes use every held-out photograph, fewshot --fewshot-scenes)."),
        steps: Steps = None,
        guidance: Guidance = None,
        modes: str = typer.Option("3d-1view,3d-3view,4d", "--modes", callback=checked(v.ChoiceList(_eval_modes)),
                                  help="Comma-separated: 3d-1view, 3d-3view, 4d (synthetic held-out scenes), "
                                       "photo-pan, photo-zoom, photo-look (held-out photographs, homography ground truth), "
                                       "photo-cards (rendered photo-card scenes), "
                                       "fewshot (held-out synthetic scenes: 3-view reconstruction with / without generated views; slow; captures of yours: genxd fewshot-data), "
                                       "camera-3d, camera-4d (camera accuracy: RotErr / TransErr by SfM, see genxd eval-camera)."),
        motion_strength: Optional[float] = typer.Option(
            None, "--motion-strength", callback=checked(v.MOTION_STRENGTH),
            help="4d: the motion strength compared with 0, 0-100 (default 8: inside what the bundled model was "
                 "trained on; 100 x the per-frame image displacement, docs/conventions.md)."),
        fewshot_scenes: Optional[int] = typer.Option(None, "--fewshot-scenes", callback=checked(js.EVAL_SCENES), help="Held-out ReconFusion-format scenes of --modes fewshot (default 10)."),
        fewshot_iterations: Optional[int] = typer.Option(None, "--fewshot-iterations", callback=checked(js.FEWSHOT_ITERATIONS), help="Gaussian-splatting steps per reconstruction (fewshot; default 300)."),
        device: Device = None,
        dtype: Dtype = None,
        fast: Optional[bool] = typer.Option(None, "--fast/--no-fast", help="GPU fast path (default: on for CUDA)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the report as JSON to this file, after each mode (an existing one is refused unless --overwrite; modes_left: the modes still to run)."),
        overwrite: Overwrite = False,
        allow_pickle: AllowPickle = False,
        quiet: Quiet = False,
    ) -> None:
        """PSNR / SSIM against ground-truth renders, repeat-input baseline, camera following, 4D motion; held-out photos."""

        def job():
            from ..output_folders import check_report_file
            from ..utils.shared_work import launch_process

            if launch_process() is not None:  # each process ran the whole evaluation, printing and writing its report
                raise UsageError("genxd eval does not share its work between processes: run it without accelerate "
                                 "launch (or with --num_processes 1)")

            if out is not None:  # before the imports (torch: seconds) and the evaluation (minutes)
                check_report_file(out, overwrite, "--out")
            import_libraries("genxd.evaluation")
            from ..evaluation import evaluate
            from ..pipelines.cublas_workspace import prefer_no_cublas_workspace

            prefer_no_cublas_workspace(device)  # as genxd generate: before the model loads

            # None: not given (the default; evaluate says a value given for none of the modes unused)
            report = evaluate(model, num_scenes, steps, guidance, device, progress=not quiet, out=out, modes=modes,
                              dtype=dtype, fast=fast, motion_strength=motion_strength, fewshot_scenes=fewshot_scenes,
                              fewshot_iterations=fewshot_iterations, overwrite=overwrite, allow_pickle=allow_pickle)
            if out is None or not quiet:  # with -q and --out the file holds the report: only "wrote" is said
                typer.echo(json_text(report, indent=2))
            if out is not None:
                typer.echo(f"wrote {out}", err=True)

        run_cli(job, quiet)
