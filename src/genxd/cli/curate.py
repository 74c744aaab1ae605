"""``genxd curate``: videos to CamVid-30K-style 4D data (frames, COLMAP model, motion strength)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import validation as v
from .common import UsageError, run_cli
from .options import Device, Out, Quiet, checked, flag


def register(app: typer.Typer) -> None:
    @app.command("curate")
    def curate(
        inputs: list[Path] = typer.Argument(..., help="Video files, folders of videos, or folders of frames."),
        out: Out("Dataset folder (created; resumable).") = ...,
        stride: int = typer.Option(1, "--stride", callback=checked(v.Int(1, 10_000)), help="Keep every STRIDE-th frame."),
        max_frames: Optional[int] = typer.Option(None, "--max-frames", callback=checked(v.Int(1, 1_000_000, optional=True)), help="Keep at most this many frames."),
        resize: Optional[str] = typer.Option(None, "--resize", callback=checked(v.Size(16, 8192, why="leave it out to keep the video's size")), help="Resize frames: the longer side in pixels (e.g. 512) or WxH, 16-8192 (default: keep the size)."),
        min_frames: int = typer.Option(8, "--min-frames", callback=checked(v.Int(3, 1_000_000, why="SfM needs 3 frames")), help="Fewer frames than this is a failure (at least 3)."),
        workers: int = typer.Option(1, "--workers", callback=checked(v.Int(1, 1024)), help="Local worker processes."),
        ray: Optional[str] = typer.Option(
            None, "--ray", help="Run on a Ray cluster at this address ('auto', 'ray://host:10001', 'local')."
        ),
        mask_model: Optional[Path] = typer.Option(
            None, "--mask-model", help="Local transformers instance-segmentation folder (e.g. Mask2Former)."
        ),
        depth_model: Optional[Path] = typer.Option(
            None, "--depth-model", help="Local transformers relative-depth folder (e.g. Depth Anything V2)."
        ),
        motion_threshold: Optional[float] = typer.Option(
            None, "--motion-threshold", callback=checked(v.Float(0.0, 1.0, optional=True)),
            help="Motion strength (per-frame normalised image displacement, 0-1) above which a video is dynamic "
                 "(default 0.005).",
        ),
        focal: Optional[float] = typer.Option(
            None, "--focal", callback=checked(v.FOCAL), help="Known normalised focal length fx/W (= fy/H); estimated when omitted."
        ),
        features: str = typer.Option("auto", "--features", callback=checked(v.Choice(("auto", "sift", "klt"))), help="SfM correspondences: sift, klt or auto."),
        fallback_depth: str = typer.Option(
            "triangulate", "--fallback-depth", callback=checked(v.Choice(("triangulate", "sparse"))),
            help="Depth without --depth-model: triangulate (each tracked point, with the SfM cameras) or sparse "
            "(interpolated SfM depth).",
        ),
        threads: int = typer.Option(-1, "--threads", callback=checked(v.Int(-1, 1024, nonzero=True)), help="Threads per worker (-1: cores / workers)."),
        device: Device = "cpu",
        retry_failed: bool = flag("--retry-failed", help="Redo videos that failed before."),
        quiet: Quiet = False,
    ) -> None:
        """Curate videos into VIDEO_ID/{images, 0/, meta.json} and an index.jsonl (resumable)."""

        def main() -> None:
            from genxd.curation import CurationConfig, curate_dataset, parse_resize
            from genxd.curation.dataset import RunLockedError
            from genxd.curation.motion import DEFAULT_MOTION_THRESHOLD
            from genxd.utils.io import check_writable_dir

            for item in inputs:
                if not item.exists():
                    raise UsageError(f"input not found: {item}")
            check_writable_dir(out, "--out")
            config = CurationConfig(
                stride=stride,
                max_frames=max_frames,
                resize=parse_resize(resize),
                min_frames=min_frames,
                motion_threshold=DEFAULT_MOTION_THRESHOLD if motion_threshold is None else motion_threshold,
                mask_model=str(mask_model) if mask_model else None,
                depth_model=str(depth_model) if depth_model else None,
                fallback_depth=fallback_depth,
                focal=focal,
                features=features,
                num_threads=threads,
                device=device,
            )
            try:
                summary = curate_dataset(
                    [str(p) for p in inputs], out, config, workers=workers, ray_address=ray,
                    retry_failed=retry_failed, progress=not quiet,
                )
            except RunLockedError as exc:
                raise UsageError(str(exc)) from None
            if summary.total == 0:
                raise UsageError("no videos found in the inputs")
            typer.echo(
                f"curated {summary.total} videos into {out}: {summary.ok} ok, {summary.failed} failed, "
                f"{summary.skipped} already done (index: {out / 'index.jsonl'})"
            )

        run_cli(main, quiet)
