"""``genxd eval-camera``: camera accuracy of generated videos (see genxd.cameras.evaluate)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..output_folders import output_files_error
from ..utils.json_text import json_text
from ..utils.paths import loop_note
from .common import run_cli
from .terminal_text import printed_path
from .. import validation as v
from .options import Overwrite, Quiet, Seed, checked, flag

#: genxd.cameras.evaluate.EVAL_JSON and EVAL_PNG (importing that module takes seconds: torch), for the early check
OUTPUT_NAMES = ("camera_eval.json", "camera_errors.png")
#: the suffixes of those files: an ``-o report.json`` meant as the report's name (a folder of that name is made)
FILE_SUFFIXES = tuple(sorted({Path(name).suffix for name in OUTPUT_NAMES}))


def register(app: typer.Typer) -> None:
    @app.command("eval-camera", short_help="RotErr / TransErr of generated frames against their path.")
    def eval_camera_cmd(
        generated: Path = typer.Argument(..., help="A generated scene folder (frames/ + cameras.json), or a folder of them (a genxd generate --out folder)."),
        cameras: Optional[Path] = typer.Option(None, "--cameras", help="The requested cameras, if not the scene's cameras.json / transforms.json (any --camera format)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for camera_eval.json and camera_errors.png (default: GENERATED); existing ones are refused unless --overwrite."),
        estimate_focal: bool = flag("--estimate-focal", help="Let SfM estimate the focal length instead of fixing it to the requested one."),
        no_mask: bool = flag("--no-mask", help="Do not mask moving objects before SfM."),
        seed: Seed = 0,
        threads: int = typer.Option(1, "--threads", callback=checked(v.NUM_THREADS), help="SfM threads per scene (-1: every core). Another count can give other cameras on poorly constrained scenes; recorded in camera_eval.json."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """RotErr / TransErr (CameraCtrl's definitions) of generated frames against their requested cameras.

        Prints the mean figures (JSON); with -q only the files written. Existing outputs are refused unless
        --overwrite. Exit code 1 when SfM reconstructed no scene at all (the report is still written).
        """

        def job() -> int:
            # before the imports (torch, OpenCV, pycolmap: seconds): a typo or a repeated command fails at once
            if not generated.exists():  # find_scenes' line
                raise FileNotFoundError(f"{generated}: no such folder{loop_note(generated)}")
            if cameras is not None and not cameras.exists():  # read_camera_path's line
                raise FileNotFoundError(f"{cameras}: no such camera file or folder{loop_note(cameras)}")
            where = Path(out if out is not None else generated)
            if out is not None and out.suffix.lower() in FILE_SUFFIXES and not out.is_dir():
                v.warn(f"-o names a folder; {out} will be a folder holding {' and '.join(OUTPUT_NAMES)}")
            if error := output_files_error([where / name for name in OUTPUT_NAMES], overwrite):
                raise error  # evaluate_camera_accuracy's check, made again there
            from ..cameras.evaluate import evaluate_camera_accuracy, failure_line, output_paths

            report = evaluate_camera_accuracy(generated, cameras=cameras, out=out, known_focal=not estimate_focal,
                                              mask=not no_mask, seed=seed, num_threads=threads, progress=not quiet,
                                              overwrite=overwrite)
            summary = report["summary"]
            written = output_paths(where)
            if quiet:  # what was written, one path a line (as generate -q and synth -q)
                for path in written:
                    typer.echo(printed_path(path))
            else:
                typer.echo(json_text(summary, indent=2))
                typer.echo(f"wrote {' and '.join(printed_path(p) for p in written)}", err=True)
                for scene, reason in summary["failures"].items():
                    typer.echo(f"genxd: warning: {failure_line(scene, reason)}", err=True)
            if summary["evaluated"] == 0:
                typer.echo(f"genxd: error: no scene could be reconstructed ({summary['failed']} failed)", err=True)
                return 1
            return 0

        code = run_cli(job, quiet)
        if code:
            raise typer.Exit(code=code)
