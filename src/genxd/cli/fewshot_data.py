"""``genxd fewshot-data``: your own capture (a COLMAP model, a transforms.json) as a ReconFusion torch scene with the
few-shot splits (``genxd.data.reconfusion_convert``), for ``genxd fewshot``, ``trajectory fit`` and ``reconstruct``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import validation as v
from .common import run_cli
from .options import Out, Overwrite, Quiet, checked
from .terminal_text import printed_path


def register(app: typer.Typer) -> None:
    @app.command("fewshot-data", short_help="Your capture as a ReconFusion scene with few-shot splits.")
    def fewshot_data(
        source: Path = typer.Argument(..., help="COLMAP model folder (images/ + 0/, sparse/0/ or sparse/: COLMAP, LLFF, mip-NeRF 360 scenes) , a folder with transforms.json (nerfstudio, instant-ngp, genxd synth / generate), or a DTU scan (IDR's image/ + cameras.npz, or DTU/Rectified/scanN with DTU/Calibration/cal18)."),
        out: Annotated[Path, Out("ReconFusion folder to write (index.json + <key>.torch; a scene is added to an existing index).")] = ...,  # type: ignore[assignment]  # typer: ... marks it required
        key: Optional[str] = typer.Option(None, "--key", help="Scene key (default: the source folder's name)."),
        n_views: Optional[list[str]] = typer.Option(None, "--n-views", metavar="<n,...>", callback=checked(v.Numbers(v.Int(1, 10_000))), help="Few-shot settings written as train_test_split_N (comma-separated; default 3,6,9 as ReconFusion)."),
        split: str = typer.Option("llff", "--split", callback=checked(v.FEWSHOT_SPLIT), help="llff: test views every --hold-th, training views spaced evenly over the others (LLFF / mip-NeRF 360 in RegNeRF and ReconFusion); regnerf-dtu: RegNeRF's DTU split (49 views named in DTU's order, rect_001 ... rect_049)."),
        hold: Optional[int] = typer.Option(None, "--hold", callback=checked(v.Int(2, 1_000_000, optional=True)), help="With --split llff: every HOLD-th view (index % HOLD == 0) is a test view (default 8, as LLFF / mip-NeRF 360 in RegNeRF and ReconFusion)."),
        resolution: Optional[int] = typer.Option(None, "--resolution", callback=checked(v.Int(8, 16384, optional=True)), help="Downsize so the longer image side is at most this (default: keep)."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """Write a capture as a ReconFusion scene (views by image name, undistorted to pinhole cameras; test views
        every 8th, n training views spaced evenly over the others, or RegNeRF's DTU split with --split regnerf-dtu),
        for genxd fewshot, trajectory fit, reconstruct."""

        def body() -> None:
            from genxd.data.reconfusion_convert import DEFAULT_SHOTS, convert_to_reconfusion, counted
            from genxd.utils.io import check_writable_dir

            check_writable_dir(out, "--out")
            shots = [int(n) for n in n_views] if n_views else list(DEFAULT_SHOTS)
            path, name, splits = convert_to_reconfusion(source, out, key, shots=shots, hold=hold,
                                                        split=split, resolution=resolution, overwrite=overwrite)
            if quiet:
                typer.echo(printed_path(path))
                return
            test = next(iter(splits.values()))[1]
            typer.echo(f"wrote scene {name!r} to {printed_path(out)}: {counted(len(test), 'test view')} "
                       f"({', '.join(map(str, test[:6]))}{', ...' if len(test) > 6 else ''}), training views "
                       + "; ".join(f"{n}: {', '.join(map(str, ids))}" for n, (ids, _) in splits.items()))

        run_cli(body, quiet)
