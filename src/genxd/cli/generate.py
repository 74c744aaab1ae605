"""``genxd generate`` and ``genxd fewshot``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Optional, overload

import typer

from .. import validation as v
from ..camera_presets import CAMERA_PRESETS, missing_camera_error
from ..utils.paths import reachable, require_file
from .common import DEFERRED_IMPORTS, UsageError, import_libraries, note, one_line, run_cli
from .terminal_text import printed_path
from .options import (AllowPickle, Anchors, Compile, Device, Dtype, Frames, Guidance, Model, MotionStrength, Out, Overlap,
                      Overwrite, Quiet, Resolution, Seed, Shard, SkipExisting, Steps, Summary, Window, checked, flag)

if TYPE_CHECKING:
    from ..pipelines.distributed import ProcessGroup, SceneResult

SUMMARY_NAME = "summary.json"


def read_input_list(path: Path) -> list[Path]:
    """Paths listed in a UTF-8 text file, one a line (blank lines and ``#`` comments skipped; Windows line ends and
    byte order mark taken).

    Relative paths are relative to the list file's folder.
    """
    if reachable(path, "input list") and path.is_dir():
        raise IsADirectoryError(f"{path}: the input list is a folder; give a text file (one path a line)")
    require_file(path, "no such input list file")  # a pipe (`--input-list <(ls)`) or a device is no list file
    try:  # UTF-8 whatever the locale; a Windows editor's byte order mark is not part of the first path
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: the input list is not UTF-8 text") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            if any(ord(c) < 32 for c in line):
                raise ValueError(f"{path}: line {number} is not a path ({line!r})")
            entry = Path(line).expanduser()
            entries.append(entry if entry.is_absolute() else path.parent / entry)
    if not entries:
        raise ValueError(f"{path}: the input list names no files")
    return entries


def summary_path(summary: Optional[Path], out: Path, group: "ProcessGroup") -> Optional[Path]:
    """``--summary`` if given; else ``OUT/summary.json`` under several processes, none in one process. The job
    writes it under its task's name with ``--shard`` (:func:`shard_summary`)."""
    if summary is not None:
        return summary
    return out / SUMMARY_NAME if group.num_processes > 1 else None


@overload
def shard_summary(summary: Path, shard: tuple[int, int] | None) -> Path: ...
@overload
def shard_summary(summary: None, shard: tuple[int, int] | None) -> None: ...
@overload
def shard_summary(summary: Optional[Path], shard: tuple[int, int] | None) -> Optional[Path]: ...
def shard_summary(summary: Optional[Path], shard: tuple[int, int] | None) -> Optional[Path]:
    """The file a job of task K of N (``--shard K/N``) writes for ``summary``: ``FILE.shard-K-of-N.json`` beside it
    (:func:`genxd.utils.shards.summary_name`, as :func:`genxd.scene_outputs.check_job` names it)."""
    from ..utils.shards import summary_name

    return None if summary is None else summary.with_name(summary_name(shard, summary.name))


def report(results: "list[SceneResult]", group: "ProcessGroup", summary: Optional[Path], what: str,
           quiet: bool = False) -> int:
    """Print the outcome (main process only), wait for every process, return the exit code.

    stdout: the folders written; stderr: skipped folders (not with ``quiet``) and one line per failure,
    then one ``genxd: error:`` line. Exit code 0 when nothing failed, 2 when only bad inputs failed (as
    one bad input always did), 1 when anything else failed.
    """
    from ..pipelines.distributed import describe_failures

    failed = [r for r in results if r.status == "failed"]
    if group.is_main_process:
        for r in results:
            if r.status == "written":
                typer.echo(printed_path(r.output))  # one folder a line, whatever its name holds
            elif r.status == "skipped" and not quiet:
                typer.echo(f"genxd: skipped (exists): {printed_path(r.output)}", err=True)
        for r in failed:
            typer.echo(f"genxd: failed: {one_line(r.failure)}", err=True)
        if failed:
            written = sum(r.status == "written" for r in results)
            where = f"; summary: {summary}" if summary is not None else ""
            typer.echo(f"genxd: error: {describe_failures(results, what)} ({written} written{where})", err=True)
        for stream in (sys.stdout, sys.stderr):  # None when the caller closed it (`genxd generate ... >&-`)
            if stream is not None:
                stream.flush()
    group.wait_for_everyone()  # no process exits (non-zero) before the main one has reported
    if not failed:
        return 0
    return 2 if all(r.input_error for r in failed) else 1


def check_model_folder(model: str | None) -> None:
    """``--model``, if given, is a checkpoint folder or a hub id in the local cache (torch-free, before the imports)."""
    if model is not None:
        from ..checkpoint_folders import resolve_checkpoint

        resolve_checkpoint(model)


def check_inputs_and_outputs(inputs: list[Path], out: Path, overwrite: bool, skip_existing: bool,
                             model: str | None = None, camera: str | None = None,
                             summary: Path | None = None,
                             shard: tuple[int, int] | None = None) -> tuple[list[Path], list[str]]:
    """The job's first checks, before the model code is imported (torch, diffusers: seconds): every input
    exists and is an image (or a folder of them), ``--model`` (if given) is a checkpoint folder or a cached
    hub id, ``--camera`` is a preset name or an existing path, ``--out`` can be a folder, ``--summary`` a file,
    and no output folder (of the ``--shard``'s inputs) exists unless ``--overwrite`` / ``--skip-existing``. The job makes the same checks
    again; here they only make the common mistakes (a typo in a path or a name, running the same command
    twice) fail at once. Returns the image paths and their output folders' names."""
    from ..output_folders import check_existing, check_inputs_kept, output_names
    from ..utils.image_paths import collect_images
    from ..summary_file import check_summary_file
    from ..utils.io import check_writable_dir

    paths = collect_images(inputs)
    check_model_folder(model)
    if camera is not None and camera not in CAMERA_PRESETS and not reachable(camera, "camera file or folder"):
        raise missing_camera_error(camera)  # the words of genxd.api's check
    check_writable_dir(out, f"output folder ({v.arg('out_dir')})")
    camera_file = [camera] if camera is not None and camera not in CAMERA_PRESETS else []
    if summary is not None:
        check_summary_file(shard_summary(summary, shard), overwrite)
        check_inputs_kept(shard_summary(summary, shard), [*paths, *camera_file], f"summary file ({v.arg('summary')})")
    from ..utils.shards import taken

    names = output_names(paths)  # of all inputs: an input's name is the same in every task of an array
    check_existing([out / name for name in taken(names, shard)], overwrite, skip_existing, [*paths, *camera_file])
    return paths, names


def start_sampling_job(device: str | None) -> ProcessGroup:
    """Import the model code and return the job's :class:`~genxd.pipelines.distributed.ProcessGroup` (accelerate's
    when launched), with this process's cuBLAS set for sampling before the model loads
    (:mod:`genxd.pipelines.cublas_workspace`)."""
    import_libraries("genxd.api", "genxd.pipelines.distributed", defer=DEFERRED_IMPORTS)
    from ..pipelines.cublas_workspace import prefer_no_cublas_workspace
    from ..pipelines.distributed import ProcessGroup, one_process_launch_warning

    group = ProcessGroup(device)
    if (warning := one_process_launch_warning()) is not None:
        v.warn(warning)
    prefer_no_cublas_workspace(group.device(device))
    return group


def note_renamed(paths: list[Path], names: list[str], out: Path, quiet: bool) -> None:
    """Say which inputs got another output name (``names``: :func:`~genxd.output_folders.output_names`): another
    input has the same name, or control characters (a newline ...) or a leading ``.`` were replaced."""
    from ..output_folders import plain_name, visible_name

    if quiet:
        return
    for p, name in zip(paths, names):
        shown = printed_path(p)  # on one line, a non-UTF-8 byte as \xNN
        if name != visible_name(plain_name(p.stem)):
            note(f"{shown} -> {printed_path(out / name)} (another input has the same name)")
        elif name != p.stem:
            replaced = [what for what, changed in (("control characters in the name", plain_name(p.stem) != p.stem),
                                                   ("its leading '.' (a hidden folder)", p.stem.startswith(".")))
                        if changed]
            note(f"{shown} -> {printed_path(out / name)} ({' and '.join(replaced)} replaced by _)")


def register(app: typer.Typer) -> None:
    @app.command("generate", short_help="Generate 3D / 4D scenes from images along a camera path.")
    def generate_cmd(
        images: Optional[List[Path]] = typer.Argument(None, help="Image files and/or folders of images (one scene per image)."),
        input_list: Optional[Path] = typer.Option(None, "--input-list", help="Text file naming more inputs, one a line (relative to its folder)."),
        out: Annotated[Path, Out("Output folder: one sub-folder per image, named after it (same names get the extension added).")] = Path("outputs"),
        model: Model = None,
        camera: str = typer.Option("orbit", "--camera", "-c", help=f"{', '.join(CAMERA_PRESETS)}, or a camera file / folder: authors' JSON, w2c list, transforms.json, COLMAP model, genxd curate / generate output (see docs/cameras.md)."),
        camera_from_video: Optional[Path] = typer.Option(None, "--camera-from-video", help="Take the camera path from a video (or a frame folder, or its COLMAP model / transforms.json): SfM with moving objects masked, relative to the first camera, resampled to --frames; replaces --camera. More settings: genxd trajectory from-video."),
        camera_start: Optional[str] = typer.Option(None, "--camera-start", help="With --camera-from-video: use the clip from here, seconds from its first frame (2.5) or a frame index (30f: 0f is the first frame; a frame folder's files are counted in name order from 0, whatever numbers their names hold)."),
        camera_end: Optional[str] = typer.Option(None, "--camera-end", help="With --camera-from-video: use the clip up to here, not included (seconds or a frame index such as 90f)."),
        path_scale: float = typer.Option(1.0, "--path-scale", callback=checked(v.PATH_SCALE), help="With --camera-from-video: size of the path; the median depth of the scene seen from the first camera becomes this (the model's scene scale is 1)."),
        mode: str = typer.Option("3d", "--mode", callback=checked(v.MODES), help="3d (multi-view), video, or 4d (camera and objects move)."),
        motion_strength: MotionStrength = 0.0,
        num_frames: Frames = None,
        resolution: Resolution = None,
        elevation: Optional[float] = typer.Option(None, "--elevation", callback=checked(v.ELEVATION), help="Camera elevation in degrees, strictly between -90 and 90 (orbit/forward)."),
        azimuth_range: Optional[str] = typer.Option(None, "--azimuth-range", callback=checked(v.AZIMUTH_RANGE), help="Azimuth range in degrees, e.g. '0,360' or '-30,30' (orbit/forward)."),
        radius: Optional[float] = typer.Option(None, "--radius", callback=checked(v.RADIUS), help="Orbit radius, > 0 (orbit/forward; presets' units: subject at 2, scaled to the model's scene depth)."),
        focal: Optional[float] = typer.Option(None, "--focal", callback=checked(v.FOCAL), help="Normalised focal length fx/W, 0.05-100 (default: the preset's)."),
        steps: Steps = None,
        guidance: Guidance = None,
        seed: Seed = 0,
        fit: str = typer.Option("crop", "--fit", callback=checked(v.FITS), help="crop (centre crop) or pad (pad with white) to a square."),
        fps: Optional[float] = typer.Option(None, "--fps", callback=checked(v.FPS), help="Frame rate of video.mp4 and compare.mp4, 0.01-1000 (default: frames / 2, from 1 to 30)."),
        batch_size: int = typer.Option(1, "--batch-size", callback=checked(v.BATCH_SIZE), help="Scenes per sampling call, 1-1024 (GPU)."),
        window: Window = None,
        anchors: Anchors = None,
        overlap: Overlap = None,
        device: Device = None,
        dtype: Dtype = None,
        scheduler: Optional[str] = typer.Option(None, "--scheduler", callback=checked(v.SCHEDULERS), help="Sampler: euler (the authors'), dpmpp-2m, dpmpp-3m, dpmpp-2m-sde, unipc, heun (heun: 2n-1 UNet calls for n steps). Default: the model's (docs/benchmarks.md: quality against steps)."),
        offload: str = typer.Option("none", "--offload", callback=checked(v.OFFLOAD), help="CUDA, small GPUs: none; model (only the model in use on the GPU); group (the UNet streamed block by block: least memory, slowest). See docs/benchmarks.md for memory and time."),
        decode_chunk: Optional[int] = typer.Option(None, "--decode-chunk", callback=checked(v.DECODE_CHUNK), help="Frames decoded at once by the VAE (in half-overlapping windows; less memory). Default: by image size (2 at 512x512, the whole clip when small)."),
        sequential_guidance: bool = flag("--sequential-guidance", help="Run the two guidance branches as two UNet calls (less GPU memory, a little slower)."),
        compile_unet: Compile = False,
        allow_pickle: AllowPickle = False,
        overwrite: Overwrite = False,
        skip_existing: SkipExisting = False,
        summary: Summary = None,
        shard: Shard = None,
        quiet: Quiet = False,
    ) -> None:
        """Generate a 3D / 4D scene from each input image along a camera path.

        Several processes (``accelerate launch --num_processes N -m genxd generate ...``) share the inputs.

        A path longer than the model's window (--frames above it) is made window by window; the windows done are
        kept in OUT/.genxd-partial while it runs, so after Ctrl-C, a crash or a killed job the same command
        continues from them (the same frames, bit for bit); kept windows of other settings are refused, and
        --overwrite starts over (docs/long_paths.md).
        """

        def job() -> int:
            if camera_from_video is None and path_scale != 1.0:
                raise UsageError("--path-scale applies to --camera-from-video only")
            if camera_from_video is None and (camera_start is not None or camera_end is not None):
                raise UsageError(f"{'--camera-start' if camera_start is not None else '--camera-end'} applies to "
                                 "--camera-from-video only")
            if camera_start is not None or camera_end is not None:  # genxd.cameras imports torch (2 s): only then
                from ..cameras.clip_range import check_bounds

                check_bounds(camera_start, camera_end, ("camera_start", "camera_end"))  # before the inputs are read
            inputs = list(images or []) + (read_input_list(input_list) if input_list is not None else [])
            if not inputs:
                raise UsageError("no inputs: give image files / folders, or --input-list FILE")
            paths, names = check_inputs_and_outputs(inputs, out, overwrite, skip_existing, model,
                                                     None if camera_from_video is not None else camera, summary,
                                                     shard)  # type: ignore[arg-type]  # --shard: (K, N), parsed by its callback
            group = start_sampling_job(device)
            from ..api import default_model_path, generate_scenes

            if model is None and group.is_main_process and default_model_path() is not None:
                note("no --model given, using the bundled small model (genxd-small; trained on synthetic and photo-textured scenes)", quiet)
            summary_file = summary_path(summary, out, group)
            if group.is_main_process:
                from ..utils.shards import taken

                note_renamed(taken(paths, shard), taken(names, shard), out, quiet)  # type: ignore[arg-type]
            from_video: dict[str, Any] = ({"camera_from_video": camera_from_video, "path_scale": path_scale,
                                           "camera_start": camera_start, "camera_end": camera_end}
                                          if camera_from_video is not None else {})
            results = generate_scenes(
                paths, out, model, device=device, dtype=dtype, compile_unet=compile_unet, offload=offload, allow_pickle=allow_pickle,  # as checked
                overwrite=overwrite, skip_existing=skip_existing,
                summary=summary_file, progress=not quiet, shard=shard,
                camera=camera, mode=mode, motion_strength=motion_strength, num_frames=num_frames,
                resolution=resolution, num_inference_steps=steps, guidance_scale=guidance, seed=seed,
                focal=focal, elevation=elevation, azimuth_range=azimuth_range, radius=radius,  # type: ignore[arg-type]  # parsed by the callback
                fit=fit, fps=fps, batch_size=batch_size, window=window, anchors=anchors, overlap=overlap,  # type: ignore[arg-type]  # checked by the callback
                scheduler=scheduler, decode_chunk=decode_chunk, sequential_guidance=sequential_guidance,
                **from_video,
            )
            return report(results, group, shard_summary(summary_file, shard), "inputs", quiet)  # type: ignore[arg-type]

        code = run_cli(job, quiet)
        if code:
            raise typer.Exit(code=code)

    @app.command("fewshot", short_help="Novel views of few-shot ReconFusion scenes.")
    def fewshot_cmd(
        data_root: Path = typer.Argument(..., help="ReconFusion-format folder (index.json + scene files; genxd fewshot-data writes one from a capture of yours)."),
        out: Annotated[Path, Out("Output folder (one sub-folder per group).")] = Path("outputs/fewshot"),
        model: Model = None,
        strategy: str = typer.Option("direct", "--strategy", callback=checked(v.STRATEGIES), help="direct (at the split's test views) or grouped (along fitted trajectories)."),
        pose_dir: Optional[Path] = typer.Option(None, "--pose-dir", help="Fitted trajectories for 'grouped' (genxd trajectory fit output, DATA_NAME folder)."),
        n_views: int = typer.Option(9, "--n-views", callback=checked(v.N_VIEWS), help="Which few-shot split (train_test_split_N)."),
        num_context: int = typer.Option(3, "--num-context", callback=checked(v.NUM_CONTEXT), help="Context views per generation (1, 2 or 3)."),
        num_frames: Frames = None,
        resolution: Resolution = None,
        steps: Steps = None,
        guidance: Guidance = None,
        seed: Seed = 0,
        save_target_only: bool = flag("--save-target-only", help="Write only the generated target frames."),
        pad_to_square: bool = flag("--pad-to-square", help="Pad (not crop) to square; outputs are un-padded."),
        window: Window = None,
        anchors: Anchors = None,
        overlap: Overlap = None,
        device: Device = None,
        dtype: Dtype = None,
        compile_unet: Compile = False,
        allow_pickle: AllowPickle = False,
        overwrite: Overwrite = False,
        skip_existing: SkipExisting = False,
        summary: Summary = None,
        shard: Shard = None,
        quiet: Quiet = False,
    ) -> None:
        """Generate novel views of few-shot ReconFusion scenes (grouped or direct, as the authors).

        Several processes (``accelerate launch --num_processes N -m genxd fewshot ...``) share the groups.
        """

        def job() -> int:
            if not reachable(data_root, "data folder"):  # before the model code's imports: a typo fails at once
                raise FileNotFoundError(f"{data_root}: no such folder")
            check_model_folder(model)
            group = start_sampling_job(device)
            from ..api import fewshot_scenes

            summary_file = summary_path(summary, out, group)
            results = fewshot_scenes(
                data_root, out, model, strategy=strategy, pose_dir=pose_dir, n_views=n_views, num_context=num_context,
                num_frames=num_frames, resolution=resolution, num_inference_steps=steps, guidance_scale=guidance,
                seed=seed, save_target_only=save_target_only, pad_to_square=pad_to_square, window=window,
                anchors=anchors, overlap=overlap, device=device,
                dtype=dtype, compile_unet=compile_unet, allow_pickle=allow_pickle, overwrite=overwrite, skip_existing=skip_existing, summary=summary_file, progress=not quiet,
                shard=shard,
            )
            return report(results, group, shard_summary(summary_file, shard), "groups", quiet)  # type: ignore[arg-type]

        code = run_cli(job, quiet)
        if code:
            raise typer.Exit(code=code)
