"""``genxd synth``: render synthetic 3D/4D scenes with exact ground truth (``genxd.data.synthetic``)."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .. import validation as v
from .common import UsageError, run_cli
from .terminal_text import printed_path
from .options import CpuCudaDevice, Overwrite, Quiet, Seed, checked
from .synth_runs import SynthRuns, run_settings, settings_said


#: the camera paths ``genxd.data.synthetic`` renders (its ``CAMERA_PATHS``; not imported here, it imports torch:
#: tests/cli/test_cli_messages.py checks that the two agree)
CAMERAS = ("orbit", "forward", "handheld", "static", "sway", "spiral", "dolly", "pan", "zoom", "rotate")

#: ``--format video``'s frame rate without ``--fps`` (the other formats have none: ``--fps`` is refused there)
VIDEO_FPS = 8.0


class Kind(str, Enum):
    static = "3d"
    dynamic = "4d"


class Format(str, Enum):
    folder = "folder"
    video = "video"
    camvid = "camvid"
    reconfusion = "reconfusion"


def _reconfusion_index(out_dir: Path) -> dict[str, str]:
    """``{scene: torch file}`` of the ReConFusion index in ``out_dir`` ({} without one): read once per run (a read per
    clip made a run of N scenes into a folder of N read its index N times)."""
    from genxd.data.reconfusion import INDEX_FILE, read_reconfusion_index

    return read_reconfusion_index(out_dir) if (out_dir / INDEX_FILE).is_file() else {}


def _clash(out_dir: Path, name: str, fmt: str, index: dict[str, str]) -> str | None:
    """What clip ``name`` would replace in ``out_dir``, said as it is on disk (``OUT/x.mp4 already exists``; a
    ReconFusion scene the ``index`` lists without its file: so), or None."""
    if fmt == "video":
        path = next((p for p in (out_dir / f"{name}.mp4", out_dir / f"{name}.json") if p.exists()), None)
    elif fmt == "reconfusion":
        from genxd.data.reconfusion import INDEX_FILE

        if name not in index:
            return None
        path = out_dir / index[name]  # the scene's torch file, as the index names it
        if not os.path.lexists(path):  # "OUT/gone.torch already exists" before
            return f"scene {name!r} is already in {out_dir / INDEX_FILE} (its file {path} is missing)"
    else:
        path = out_dir / name if (out_dir / name).exists() else None
    return None if path is None else f"{path} already exists"


def _complete(out_dir: Path, name: str, fmt: str, index: dict[str, str]) -> bool:
    """Whether clip ``name`` is whole in ``out_dir``: its folder, both files of a video (a stopped replacement of the
    pair finished first), a ReconFusion scene in ``index`` with its file."""
    if fmt == "video":
        from genxd.utils.file_groups import settle

        settle(out_dir / f"{name}.mp4")
        return (out_dir / f"{name}.mp4").is_file() and (out_dir / f"{name}.json").is_file()
    if fmt == "reconfusion":
        return name in index and (out_dir / index[name]).is_file()
    return (out_dir / name).is_dir()


def scene_name(kind: str, seed: int) -> str:
    """The name of the clip of ``seed`` (``synth_3d_000042``)."""
    return f"synth_{kind}_{seed:06d}"


def _present_scenes(out_dir: Path, kind: str, fmt: str, seed: int, num_scenes: int,
                    index: dict[str, str]) -> list[tuple[int, str]]:
    """``(i, name)`` of the clips ``i`` in ``0..num_scenes - 1`` (seed ``seed + i``) whose name is in ``out_dir``'s
    listing (any case: a case-insensitive disk finds ``SYNTH_3D_...`` too; video: ``NAME.mp4`` / ``NAME.json``) or
    in the ReConFusion ``index``, in seed order: only these can clash, so a run of 10,000,000 clips into an empty
    folder checks none (a check of each name took 2 minutes and 2 GB there)."""
    stems = set(index) if fmt == "reconfusion" else set()
    if fmt != "reconfusion" and out_dir.is_dir():
        try:
            with os.scandir(out_dir) as entries:
                for entry in entries:
                    stem, dot, ext = entry.name.rpartition(".") if fmt == "video" else (entry.name, "", "")
                    if fmt != "video" or (dot and ext.casefold() in ("mp4", "json")):
                        stems.add(stem)
        except PermissionError:  # a folder one may write in but not list (-wx): each name is looked up, as before
            return [(i, scene_name(kind, seed + i)) for i in range(num_scenes)]
    prefix = f"synth_{kind}_"
    found: dict[int, str] = {}
    for stem in stems:
        digits = stem.casefold().removeprefix(prefix)
        if digits == stem.casefold() or not digits.isdigit() or not digits.isascii():
            continue
        i = int(digits) - seed
        if 0 <= i < num_scenes and scene_name(kind, seed + i) == prefix + digits:  # 000042, not 42
            found[i] = prefix + digits
    return sorted(found.items())


def _folder_in_the_way(out_dir: Path, fmt: str, present: list[tuple[int, str]], index: dict[str, str],
                       runs: SynthRuns) -> Path | None:
    """The first file this run would write in ``out_dir`` that is a folder there (or a link to one), or None: the
    record of runs, a video's ``NAME.mp4`` / ``NAME.json``, a ReConFusion index or a scene file it names, of the
    ``present`` clips (:func:`_present_scenes`). A file cannot replace a folder, even with --overwrite: found
    before rendering (it was refused when the first clip, or the clip concerned, had been rendered). The folder
    formats write ``NAME/``, which replaces a file of that name."""
    from genxd.data.reconfusion import INDEX_FILE

    written = [runs.path]
    if fmt == "video":
        written += [out_dir / f"{name}{ext}" for _, name in present for ext in (".mp4", ".json")]
    elif fmt == "reconfusion":
        written += [out_dir / INDEX_FILE] + [out_dir / index[name] for _, name in present if name in index]
    return next((path for path in written if path.is_dir()), None)


def _kept_scenes(out_dir: Path, kind: str, seed: int, settings: dict, runs: SynthRuns,
                 present: list[tuple[int, str]], index: dict[str, str]) -> set[str]:
    """The clips of ``present`` (:func:`_present_scenes`) already whole in ``out_dir`` from a run of these
    ``settings`` (:mod:`genxd.cli.synth_runs`): kept and not made again. A UsageError for any other clip there (of
    other settings, of unknown ones, or not whole), naming the first and counting them: nothing is replaced without
    --overwrite. ``index``: the folder's ReConFusion index (:func:`_reconfusion_index`)."""
    kept: set[str] = set()
    refused: list[tuple[str, dict | None]] = []
    for i, name in present:
        what = _clash(out_dir, name, settings["format"], index)
        if what is None:
            continue
        earlier = runs.settings_of(settings["kind"], settings["format"], seed + i)
        if earlier == settings and _complete(out_dir, name, settings["format"], index):
            kept.add(name)
        else:
            refused.append((what, earlier))
    if refused:
        what, earlier = refused[0]
        count = f"{len(refused)} {'clash' if len(refused) == 1 else 'clashes'}"
        if earlier is not None and earlier != settings:
            raise UsageError(f"{what} ({count}), made by a synth run with other settings: "
                             f"{settings_said(earlier, settings)}; use --overwrite to replace, or another folder")
        raise UsageError(f"{what} ({count}); use --overwrite to replace")
    return kept


def _usable_threads(threads: int) -> int:
    """``--threads``, at most the CPUs this process may use (one warning when capped)."""
    from genxd.utils.machine import capped_at_usable_cpus

    return capped_at_usable_cpus(threads, f"--threads {threads}")


def register(app: typer.Typer) -> None:
    @app.command("synth", short_help="Render synthetic scenes and clips with exact cameras.")
    def synth(
        out_dir: Path = typer.Argument(..., help="Output folder (created if missing). Rerunning a command continues it: clips already there from a run of the same settings are kept, the rest made."),
        num_scenes: int = typer.Option(1, "--num-scenes", "-n", callback=checked(v.Int(1, 10_000_000)), help="Number of clips; clip i uses seed SEED + i."),
        kind: Kind = typer.Option(Kind.static, "--kind", help="3d: static scene, moving camera; 4d: moving objects too."),
        fmt: Format = typer.Option(Format.folder, "--format", help="folder (PNG + transforms.json + ground truth), video (mp4 + json), camvid (CamVid-30K: JPEG + COLMAP), reconfusion (torch)."),
        frames: int = typer.Option(16, "--frames", "-f", callback=checked(v.Int(1, 10_000)), help="Frames (views) per clip (reconfusion: at least 2)."),
        size: int = typer.Option(256, "--size", callback=checked(v.Int(8, 4096)), help="Image height and width in pixels, 8-4096."),
        seed: Seed = 0,
        camera: Optional[str] = typer.Option(None, "--camera", help=f"Camera path ({', '.join(CAMERAS)}); random per clip by default."),
        motion_strength: Optional[float] = typer.Option(None, "--motion-strength", callback=checked(v.Float(0.0, 100.0, optional=True, why="world units")), help="4d: net displacement of each object over the clip in world units (scene ~3 units across), 0-100; random in 0.15-1.0 by default. Not the model's motion strength (docs/synthetic.md)."),
        focal: float = typer.Option(1.0, "--focal", callback=checked(v.FOCAL), help="Normalised focal length fx/W, 0.05-100."),
        supersample: int = typer.Option(1, "--supersample", callback=checked(v.Int(1, 15)), help="Anti-aliasing: odd number of samples per pixel side (1, 3)."),
        fps: Optional[float] = typer.Option(None, "--fps", callback=checked(v.FPS), help=f"Video frame rate, 0.01-1000 (--format video only; default {VIDEO_FPS:g})."),
        device: CpuCudaDevice = "cpu",
        threads: Optional[int] = typer.Option(None, "--threads", callback=checked(v.Int(1, 1024, optional=True)), help="CPU threads for torch (default: torch's choice; 1 is often fastest on busy machines)."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """Render synthetic scenes (textured primitives, ground, sky) with exact cameras, depth and motion.

        A stopped run is continued by running the same command again: the clips already in OUT from a run of the same
        settings are kept and the rest made (--num-scenes or --seed may differ: more clips). Clips of other settings,
        or made before genxd recorded its runs, are refused unless --overwrite (docs/synthetic.md).
        """

        def body() -> None:
            import torch

            from genxd.data.synthetic import CAMERA_PATHS, make_clip, write_clip
            from genxd.utils.io import check_writable_dir
            from genxd.utils.progress import progress_bar

            if fmt == Format.reconfusion and frames < 2:
                raise UsageError(f"--frames must be >= 2 for --format reconfusion, got {frames}")
            if fmt == Format.video and size % 2:
                raise UsageError(f"--format video needs an even --size (H.264 yuv420p), got {size}")
            if camera is not None and camera not in CAMERA_PATHS:
                raise UsageError(f"--camera must be one of {', '.join(CAMERA_PATHS)}, got {camera!r}")
            if motion_strength is not None:
                if kind == Kind.static and motion_strength != 0:
                    raise UsageError("--motion-strength needs --kind 4d (3d scenes are static)")
            if fps is not None and fmt != Format.video:  # the other formats write frames, no frame rate
                raise UsageError(f"--fps needs --format video (--format {fmt.value} writes no frame rate)")
            if supersample % 2 == 0:
                raise UsageError(f"--supersample must be an odd integer >= 1, got {supersample}")
            render_device = ("cuda" if torch.cuda.is_available() else "cpu") if device in (None, "auto") else device
            if threads is not None:
                torch.set_num_threads(_usable_threads(threads))
            check_writable_dir(out_dir, "output folder")

            video_fps = VIDEO_FPS if fps is None else fps
            settings = run_settings(kind.value, fmt.value, frames, size, camera, motion_strength, focal, supersample,
                                    video_fps)
            runs = SynthRuns(out_dir)
            index = _reconfusion_index(out_dir) if fmt == Format.reconfusion else {}
            # the clips already in OUT: those kept, and those whose files a folder may be in the way of (--overwrite
            # of a folder format needs neither: its NAME/ replaces a file)
            listed = not overwrite or fmt != Format.folder and fmt != Format.camvid
            present = _present_scenes(out_dir, kind.value, fmt.value, seed, num_scenes, index) if listed else []
            in_the_way = _folder_in_the_way(out_dir, fmt.value, present, index, runs)
            if in_the_way is not None:
                raise UsageError(f"{in_the_way} is a folder; cannot replace it with a file")
            kept = set() if overwrite else _kept_scenes(out_dir, kind.value, seed, settings, runs, present, index)
            names = (scene_name(kind.value, seed + i) for i in range(num_scenes))  # one at a time: -n is up to 10M
            todo = ((i, name) for i, name in enumerate(names) if name not in kept)
            to_make = num_scenes - len(kept)
            written: list[Path] = []
            with progress_bar(total=to_make, desc=f"synth {kind.value} {fmt.value}", unit="clip",
                              disable=quiet or not to_make) as progress:
                for i, name in todo:
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
                        device=render_device,
                    )
                    if not written:  # recorded before its first clip is written: a stopped run is found by the next
                        out_dir.mkdir(parents=True, exist_ok=True)  # made now: a run stopped before leaves no folder
                        runs.start(settings, seed, num_scenes, overwrite)
                    written.append(write_clip(clip, out_dir, name, fmt.value, fps=video_fps, overwrite=overwrite))
                    progress.update(1)
            if to_make:
                runs.finish()
            if quiet:  # what was written, one path a line (as generate -q prints its folders)
                for path in dict.fromkeys(written):
                    typer.echo(printed_path(path))
            else:
                done = f"; kept {len(kept)} already there, made with these settings" if kept else ""
                typer.echo(f"wrote {to_make} {kind.value} clip(s) to {printed_path(out_dir)} ({fmt.value}){done}")

        run_cli(body, quiet)
