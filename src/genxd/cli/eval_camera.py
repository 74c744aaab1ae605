"""``genxd eval-camera``: camera accuracy of generated videos (see genxd.cameras.evaluate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import run_cli
from .options import Quiet, Seed, flag


def register(app: typer.Typer) -> None:
    @app.command("eval-camera", short_help="RotErr / TransErr of generated frames against their path.")
    def eval_camera_cmd(
        generated: Path = typer.Argument(..., help="A generated scene folder (frames/ + cameras.json), or a folder of them (a genxd generate --out folder)."),
        cameras: Optional[Path] = typer.Option(None, "--cameras", help="The requested cameras, if not the scene's cameras.json / transforms.json (any --camera format)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for camera_eval.json and camera_errors.png (default: GENERATED)."),
        estimate_focal: bool = flag("--estimate-focal", help="Let SfM estimate the focal length instead of fixing it to the requested one."),
        no_mask: bool = flag("--no-mask", help="Do not mask moving objects before SfM."),
        seed: Seed = 0,
        quiet: Quiet = False,
    ) -> None:
        """RotErr / TransErr (CameraCtrl's definitions) of generated frames against their requested cameras.

        Exit code 1 when SfM reconstructed no scene at all (the report is still written).
        """

        def job() -> int:
            if not generated.exists():  # before the imports (torch, OpenCV, pycolmap: seconds): a typo fails at once
                raise FileNotFoundError(f"{generated}: no such folder")
            from ..cameras.evaluate import EVAL_JSON, EVAL_PNG, evaluate_camera_accuracy

            report = evaluate_camera_accuracy(generated, cameras=cameras, out=out, known_focal=not estimate_focal,
                                              mask=not no_mask, seed=seed, progress=not quiet)
            summary = report["summary"]
            typer.echo(json.dumps(summary, indent=2))
            where = out if out is not None else generated
            if not quiet:
                typer.echo(f"wrote {Path(where) / EVAL_JSON} and {Path(where) / EVAL_PNG}", err=True)
            for scene, reason in summary["failures"].items():
                typer.echo(f"genxd: warning: {scene}: {reason}", err=True)
            if summary["evaluated"] == 0:
                typer.echo(f"genxd: error: no scene could be reconstructed ({summary['failed']} failed)", err=True)
                return 1
            return 0

        code = run_cli(job)
        if code:
            raise typer.Exit(code=code)
