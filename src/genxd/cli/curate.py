"""``genxd curate``: videos to CamVid-30K-style 4D data (frames, COLMAP model, motion strength)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import validation as v
from .common import UsageError, import_libraries, run_cli
from .terminal_text import escaped_controls, printed_path
from .options import Device, Out, Quiet, checked, flag


#: Failure stages that are the input's fault: a run whose every video failed at one of them exits 2, as bad input
#: does (docs/cli.md); other failures (SfM, internal, the machine) exit 1.
INPUT_STAGES = frozenset({"read", "frames"})


def _record_line(record: dict) -> str:
    """One line per video of this run: verdict and registered frames, or where and why it failed."""
    vid = record.get("video_id")
    if record.get("status") == "ok":
        # a recovered video's numbers come from its meta.json, which may lack them (written by hand, damaged):
        # formatted as numbers, such a line stopped the run with a traceback
        motion = record.get("motion_strength")
        shown = f"{motion:.4f}" if isinstance(motion, (int, float)) and not isinstance(motion, bool) else "?"
        registered, frames = (n if isinstance(n, int) and not isinstance(n, bool) else "?"
                              for n in (record.get("num_registered"), record.get("num_frames")))
        line = f"{vid}: {record.get('verdict')}, motion {shown}, {registered} of {frames} frames registered"
        return escaped_controls(line + (" (recovered)" if record.get("recovered") else ""))
    from .common import one_line

    # one line, whatever the reason text holds; a control character of a file name escaped
    return one_line(f"{vid}: failed ({record.get('stage')}): {record.get('reason', '')}")


def _print_record(record: dict) -> None:
    """Print a video's line as it finishes, above the progress bar (ok on stdout, a failure on stderr): printed
    when the run ended, a failure of a 20,000-video run showed hours after it happened (curate-at-scale audit)."""
    import sys

    from genxd.utils.progress import progress_write

    stream = sys.stdout if record.get("status") == "ok" else sys.stderr
    try:
        progress_write(_record_line(record), file=stream)
        stream.flush()  # tqdm's write does not: stdout into a pipe or a file held the lines until the end
    except BrokenPipeError:
        # the reader went away (genxd curate ... | head -1): the videos are what the run is for, so it goes on and
        # its lines go nowhere; a BrokenPipeError here was an error in the run's callback, which stopped it
        from .closed_streams import point_at_devnull

        point_at_devnull(stream.fileno())


def _print_note(video_id: str, note: str) -> None:
    """A video's warning that matters while it runs (``NAME is long: N frames go to SfM``), above the progress bar
    when it is known: shown with the video's record, it came after the minutes of SfM it warned about."""
    from genxd.utils.progress import progress_write

    from .common import one_line

    progress_write(f"genxd: warning: {one_line(f'{video_id}: {note}')}")


def _counts_line(summary) -> str | None:
    """The run's outcomes by verdict and by failure stage (None when it curated nothing)."""
    parts = []
    if summary.verdicts:
        parts.append("ok: " + ", ".join(f"{n} {verdict}" for verdict, n in summary.verdicts.most_common()))
    if summary.failed_stages:
        parts.append("failed: " + ", ".join(f"{n} at {stage}" for stage, n in summary.failed_stages.most_common()))
    return "  " + "; ".join(parts) if parts else None


def register(app: typer.Typer) -> None:
    @app.command("curate", short_help="Curate videos: camera poses and motion strength (COLMAP).")
    def curate(
        inputs: list[Path] = typer.Argument(..., help="Video files, folders of videos, or folders of frames."),
        out: Annotated[Path, Out("Dataset folder (created; resumable).")] = ...,  # type: ignore[assignment]  # typer: ... marks it required
        stride: int = typer.Option(1, "--stride", callback=checked(v.CURATE_STRIDE), help="Keep every STRIDE-th frame."),
        max_frames: Optional[int] = typer.Option(None, "--max-frames", callback=checked(v.CURATE_MAX_FRAMES), help="Keep at most this many frames."),
        resize: Optional[str] = typer.Option(None, "--resize", callback=checked(v.CURATE_RESIZE), help="Resize frames: the largest longer side in pixels (e.g. 512: larger frames are scaled down, smaller ones kept) or an exact WxH, 16-8192 (default: keep the size)."),
        max_frame_memory: float = typer.Option(
            1.0, "--max-frame-memory", callback=checked(v.CURATE_FRAME_MEMORY),
            help="The most memory one video's frames may take, in GiB (after --resize); a video needing more fails "
                 "with what to pass instead (curating peaks at about 7x its frames).",
        ),
        min_frames: int = typer.Option(8, "--min-frames", callback=checked(v.CURATE_MIN_FRAMES), help="Fewer frames than this is a failure (at least 3)."),
        min_registered: float = typer.Option(
            0.75, "--min-registered", callback=checked(v.CURATE_MIN_REGISTERED),
            help="SfM must register at least this fraction of the frames, in (0, 1], else the video fails.",
        ),
        workers: int = typer.Option(1, "--workers", callback=checked(v.CURATE_WORKERS), help="Local worker processes."),
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
            None, "--motion-threshold", callback=checked(v.CURATE_MOTION_THRESHOLD),
            help="Motion strength (per-frame normalised image displacement, 0-1) above which a video is dynamic "
                 "(default 0.005; genxd generate's --motion-strength is 100x this: 0.5).",
        ),
        focal: Optional[float] = typer.Option(
            None, "--focal", callback=checked(v.FOCAL), help="Known normalised focal length fx/W (square pixels: fy = fx); estimated when omitted."
        ),
        features: str = typer.Option("auto", "--features", callback=checked(v.SFM_FEATURES), help="SfM correspondences: sift, klt or auto."),
        mapper: str = typer.Option(
            "auto", "--mapper", callback=checked(v.CURATE_MAPPERS),
            help="SfM mapper: incremental, global (GLOMAP) or auto (incremental, then global when it fails).",
        ),
        fallback_depth: str = typer.Option(
            "sparse", "--fallback-depth", callback=checked(v.CURATE_FALLBACK_DEPTHS),
            help="Depth without --depth-model: sparse (interpolated SfM depth; motion measured pair by pair) or "
            "triangulate (each tracked point, with the SfM cameras; under-measures moving objects).",
        ),
        threads: int = typer.Option(-1, "--threads", callback=checked(v.CURATE_THREADS), help="Threads per worker (-1: cores / workers; with --ray, 1 per video task)."),
        device: Device = "cpu",
        retry_failed: bool = flag("--retry-failed", help="Redo videos that failed before."),
        quiet: Quiet = False,
        verbose: bool = flag("--verbose", help="Show COLMAP's own log lines."),
    ) -> None:
        """Curate videos into VIDEO_ID/{images, 0/, meta.json} and an index.jsonl (resumable)."""

        def main() -> None:
            import_libraries("genxd.curation")
            from genxd.curation import CurationConfig, curate_dataset, parse_resize
            from genxd.curation.dataset import RunLockedError
            from genxd.curation.local_engine import WorkersKeepDying
            from genxd.curation.motion import DEFAULT_MOTION_THRESHOLD
            from genxd.utils.io import check_writable_dir
            from genxd.utils.paths import path_argument
            from genxd.utils.pycolmap_import import load_pycolmap

            load_pycolmap()  # SfM needs it for every video: missing, it is one line here, not a failure per video

            # '~' expanded as curate_dataset will (a quoted '~/x': the shell left it): checked where it is curated
            sources = [path_argument(item, "inputs", "a video file or folder path") for item in inputs]
            out_dir = path_argument(out, "out", "a folder path")
            for item in sources:
                if not item.exists():
                    raise UsageError(f"input not found: {item}")
            check_writable_dir(out_dir, "--out")
            for option, folder in (("--mask-model", mask_model), ("--depth-model", depth_model)):
                if folder is not None and not folder.is_dir():  # before CurationConfig: name the option
                    raise UsageError(f"{option} folder not found: {folder}")
            config = CurationConfig(
                stride=stride,
                max_frames=max_frames,
                resize=parse_resize(resize),
                max_frame_memory_gib=max_frame_memory,
                min_frames=min_frames,
                min_registered=min_registered,
                motion_threshold=DEFAULT_MOTION_THRESHOLD if motion_threshold is None else motion_threshold,
                mask_model=str(mask_model) if mask_model else None,
                depth_model=str(depth_model) if depth_model else None,
                fallback_depth=fallback_depth,
                focal=focal,
                features=features,
                mapper=mapper,
                num_threads=threads,
                device=device,
                verbose=verbose,
            )
            try:
                summary = curate_dataset(
                    [str(p) for p in sources], out_dir, config, workers=workers, ray_address=ray,
                    retry_failed=retry_failed, progress=not quiet, on_record=_print_record,
                    on_note=None if quiet else _print_note,
                )
            except RunLockedError as exc:
                raise UsageError(str(exc)) from None
            except WorkersKeepDying as exc:  # the machine's fault, not the videos': exit code 1, as SfM failing
                typer.echo(f"genxd: error: {exc}", err=True)
                raise typer.Exit(code=1) from None
            if summary.total == 0:
                raise UsageError("no videos found in the inputs")
            # a video that failed before is skipped, not done: counted as "already done", a rerun of a folder whose
            # videos had all failed read "0 ok, 0 failed, 3 already done"
            before = summary.failed_before
            redone = "it" if before == 1 else "them"
            failed_before = f", {before} failed before (skipped; --retry-failed redoes {redone})" if before else ""
            typer.echo(
                f"curated {summary.total} videos into {printed_path(out)}: {summary.ok} ok, {summary.failed} failed, "
                f"{summary.skipped - before} already done{failed_before} (index: {printed_path(out / 'index.jsonl')})"
            )
            counts = _counts_line(summary)
            if counts is not None:
                typer.echo(counts)
            if summary.failed and summary.ok == 0:
                # as genxd generate and docs/cli.md: 2 when every failure is the input's (a video that cannot be
                # read, or has too few frames), else 1 (SfM failed, a bug, the machine). Every video this run
                # curated: videos done by an earlier run and skipped do not make a run whose new videos all
                # failed a success (it exited 0; found by the curation-at-scale audit)
                # (the summary keeps the first failed ids and the counts by stage, not the records)
                more = summary.failed - len(summary.failed_ids)
                named = ", ".join(summary.failed_ids) + (f" and {more} more" if more > 0 else "")
                which = f"{summary.failed} videos of this run" if summary.skipped else f"{summary.failed} videos"
                typer.echo(f"genxd: error: all {which} failed: {named}", err=True)
                raise typer.Exit(code=2 if all(stage in INPUT_STAGES for stage in summary.failed_stages) else 1)

        run_cli(main, quiet)
