"""``genxd trajectory``: fit few-shot camera paths (the authors' pose_traj_generate) and make preset paths."""

from __future__ import annotations

import inspect
import re
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Mapping, Optional, cast

import typer

from .. import validation as v
from ..camera_presets import CAMERA_PRESETS
from .common import UsageError, note, run_cli
from .terminal_text import printed_path
from .options import Out, Overwrite, Quiet, Seed, checked, flag

if TYPE_CHECKING:  # genxd.cameras imports torch (seconds): for the types only
    from ..cameras.clip_range import ClipBound
    from ..checkpoints import ModelInfo


#: How the presets name their arguments in a refusal -> trajectory make's options (``re`` patterns; a message's
#: subject is matched at its start only, so that words further on stay words: "zoom factor 50 takes the focal
#: length 1 to 50" is "--factor 50 takes the focal length 1 (--focal) to 50").
_PRESET_WORDS = ((r"\bnum_frames\b", "--num-frames"), (r"\bazimuth_range\b", "--azimuth"),
                 (r"^elevation\b", "--elevation"), (r"^zoom factor\b", "--factor"),
                 (r"^(--factor \S+ takes the focal length \S+) to\b", r"\1 (--focal) to"),
                 (r"^frame must\b", "--frame must"), (r"^pan mode\b", "--mode"), (r"^spiral: radius\b", "--radius"))


def preset_refusal(text: str) -> str:
    """A preset's refusal (``genxd.cameras.trajectories``) worded with ``genxd trajectory make``'s options:
    ``num_frames must be ...`` -> ``--num-frames must be ...``."""
    for pattern, option in _PRESET_WORDS:
        text = re.sub(pattern, option, text)
    return text


class DatasetChoice(str, Enum):
    auto = "auto"
    re10k = "re10k"
    co3d = "co3d"
    llff = "llff"
    dtu = "dtu"
    mipnerf360 = "mipnerf360"


class SaveFormat(str, Enum):
    w2c_3x4 = "3x4"
    rows_18 = "18"


class Spacing(str, Enum):
    arc = "arc"
    time = "time"


class PathIntrinsics(str, Enum):
    model = "model"
    clip = "clip"


class Normalization(str, Enum):
    scene = "scene"
    path = "path"
    none = "none"


class CameraSource(str, Enum):
    auto = "auto"
    sfm = "sfm"
    file = "file"


class CameraFormat(str, Enum):
    authors = "authors"
    transforms = "transforms"
    colmap = "colmap"
    w2c = "w2c"


def parse_floats(values: Optional[list[str]], option: str) -> Optional[list[float]]:
    """Finite floats from a repeated and/or comma-separated option (``--shift-x 0.2,0.4 --shift-x -0.2``)."""
    try:
        return v.Numbers(v.Float(-1e6, 1e6)).check(values, option)
    except v.InvalidValue as exc:
        raise UsageError(str(exc)) from None


#: Path type fitted for each dataset kind (the authors' pose_traj_generate dispatch).
PATH_TYPES = {"re10k": "spline", "co3d": "spline", "llff": "spiral", "dtu": "spiral", "mipnerf360": "ellipse"}

SHIFTS = v.Numbers(v.Float(-1e6, 1e6))

#: ``trajectory make``'s ranges of the settings ``--for-model`` can take from a model (its generation_config.json)
MAKE_NUM_FRAMES = v.Int(2, 100_000, optional=True, why="one camera is no path for genxd generate --camera")
MAKE_SIZE = v.Int(1, 65_536, optional=True)
MAKE_SCALE = v.Float(0.0, 1e6, lo_open=True, optional=True)


def settings_for_model(info: ModelInfo, given: Mapping[str, object]) -> dict[str, object]:
    """``given`` (``{option: value or None}`` for ``--num-frames``, ``--height``, ``--width``, ``--scale``,
    ``--focal``) with each option not given taken from the ``--for-model`` model (``info``: its frame count, size,
    scene scale and focal), as ``genxd generate --camera NAME`` takes them; each value taken is checked against the
    range of the option that sets it, and the values returned are the ones checked.

    A UsageError naming the model's generation_config.json for one outside it: the option was not given, so a
    refusal naming it (``--num-frames must be ...``) named what the user had not written, and a one-camera path,
    which ``--num-frames`` refuses, was written."""
    from ..checkpoints import GENERATION_CONFIG
    from ..generation_settings import check_model_setting

    d = info.defaults
    from_model = {"--num-frames": ("num_frames", int(d["num_frames"])),
                  "--height": ("height" if d.get("height") else "resolution", int(d.get("height") or d["resolution"])),
                  "--width": ("width" if d.get("width") else "resolution", int(d.get("width") or d["resolution"])),
                  "--scale": ("scene_depth / 2 (the presets' scale)", info.preset_scale),
                  "--focal": ("focal", d.get("focal"))}
    checks = {"--num-frames": MAKE_NUM_FRAMES, "--height": MAKE_SIZE, "--width": MAKE_SIZE, "--scale": MAKE_SCALE,
              "--focal": v.FOCAL}
    settings = dict(given)
    for option, (name, value) in from_model.items():
        if given[option] is not None:  # given here: it wins
            continue
        try:
            check_model_setting(info.path / GENERATION_CONFIG, name, value, checks[option],
                                f"--for-model takes it for {option}, which was not given: give {option}")
        except v.InvalidValue as exc:
            raise UsageError(str(exc)) from None
        settings[option] = value
    return settings


def register(app: typer.Typer) -> None:
    trajectory = typer.Typer(
        help="Camera paths: fit (trajectories fitted to few-shot ReconFusion data), make (preset paths), "
             "from-video (a path from a video, by SfM).",
        short_help="Camera paths: presets, fits to few-shot data, from videos.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )

    @trajectory.command("fit", short_help="Fit a camera path to each scene's few-shot views.")
    def fit(
        data_root: Path = typer.Argument(..., help="ReconFusion torch folder (with index.json), e.g. reconfusion-torch/re10k."),
        out: Annotated[Path, Out("Output folder; poses go to OUT/<data name>/<key>/gen_poses_w2c.json.")] = ...,  # type: ignore[assignment]  # typer: ... marks it required
        num_points: int = typer.Option(120, "--num-points", "-n", callback=checked(v.Int(1, 1_000_000)), help="Poses sampled along each path copy."),
        shift_x: Optional[list[str]] = typer.Option(None, "--shift-x", "-sx", callback=checked(SHIFTS), help="Extra copies shifted along world x (ratios; repeat or comma-separate: 0.2,0.4,-0.2,-0.4)."),
        shift_z: Optional[list[str]] = typer.Option(None, "--shift-z", "-sz", callback=checked(SHIFTS), help="Extra copies shifted along world z (ratios)."),
        multiscale: Optional[list[str]] = typer.Option(None, "--multiscale", "-ms", callback=checked(v.Numbers(v.Float(0.0, 1e6, lo_open=True))), help="Extra copies with positions scaled by these factors (> 0)."),
        dataset: DatasetChoice = typer.Option(DatasetChoice.auto, "--dataset", help="Path type; auto: from the folder name (re10k/co3d: spline, llff/dtu: spiral, else ellipse)."),
        n_views: int = typer.Option(9, "--n-views", callback=checked(v.N_VIEWS), help="Few-shot split whose train views are fitted (train_test_split_N)."),
        z_rate: float = typer.Option(0.0, "--z-rate", callback=checked(v.Float(-1e3, 1e3)), help="Spiral (llff/dtu) depth oscillation rate."),
        return_center: bool = flag("--return-center", help="Spiral: put a centre camera first."),
        shift_zy: bool = flag("--shift-zy", help="Spiral: apply --shift-z along world y instead."),
        data_poses: bool = flag("--data-poses", help="Write all the dataset's cameras instead of a fitted path (authors' --save_data_pose)."),
        save_format: SaveFormat = typer.Option(SaveFormat.w2c_3x4, "--save-format", help="3x4: list of w2c 3x4; 18: {'camera': [N][18]}."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """Fit a camera path to each scene's few-shot views (the authors' tools/pose_traj_generate.py)."""

        def body() -> None:
            from genxd.cameras.fit import dataset_kind, fit_reconfusion
            from genxd.utils.io import check_writable_dir

            if not data_root.is_dir():
                raise UsageError(f"{data_root}: {'is a file, not a folder' if data_root.exists() else 'no such folder'}")
            check_writable_dir(out, "--out")
            name = Path(data_root).resolve().name
            kind = dataset_kind(name) if dataset is DatasetChoice.auto else dataset.value
            written = fit_reconfusion(
                data_root,
                out,
                kind=kind,
                n_views=n_views,
                num_points=num_points,
                shift_x=cast("list[float] | None", shift_x),  # numbers: its option's callback parsed them
                shift_z=cast("list[float] | None", shift_z),  # numbers: its option's callback parsed them
                multiscale=cast("list[float] | None", multiscale),  # numbers: its option's callback parsed them
                z_rate=z_rate,
                return_center=return_center,
                shift_zy=shift_zy,
                data_poses=data_poses,
                save_format=save_format.value,
                overwrite=overwrite,
                progress=not quiet,
            )
            base = Path(out) / name
            how = f"chosen by --dataset auto from the folder name {name!r}" if dataset is DatasetChoice.auto else "--dataset"
            path = "the dataset's own cameras" if data_poses else f"{PATH_TYPES.get(kind, kind)} path"
            typer.echo(f"wrote {len(written)} pose file(s) under {printed_path(base)} ({kind}: {path}; {how})")

        run_cli(body, quiet)

    @trajectory.command("make", short_help="Write a preset camera path (orbit, forward, pan, ...).")
    def make(
        name: str = typer.Argument(..., help=f"Preset: {', '.join(CAMERA_PRESETS)}."),
        out: Annotated[Path, Out("Output file (authors/transforms/w2c JSON) or folder (colmap).")] = ...,  # type: ignore[assignment]  # typer: ... marks it required
        fmt: CameraFormat = typer.Option(CameraFormat.authors, "--format", help="authors: GenXD camera JSON; transforms: nerfstudio; colmap: binary model; w2c: bare w2c list."),
        num_frames: Optional[int] = typer.Option(None, "--num-frames", "-n", callback=checked(MAKE_NUM_FRAMES), help="Number of cameras, at least 2 (default: 12, or the --for-model model's)."),
        height: Optional[int] = typer.Option(None, "--height", callback=checked(MAKE_SIZE), help="Image height in pixels (default: 256, or the --for-model model's)."),
        width: Optional[int] = typer.Option(None, "--width", callback=checked(MAKE_SIZE), help="Image width in pixels (default: 256, or the --for-model model's)."),
        focal: Optional[float] = typer.Option(None, "--focal", callback=checked(v.FOCAL), help="Normalised focal length fx/W, 0.05-100 (default: the preset's); pixels are square (fy = fx in pixels)."),
        elevation: Optional[float] = typer.Option(None, "--elevation", callback=checked(v.ELEVATION), help="orbit/forward: elevation in degrees, strictly between -90 and 90 (not straight down or up)."),
        azimuth: Optional[str] = typer.Option(None, "--azimuth", callback=checked(v.AZIMUTH_RANGE), help="orbit/forward: azimuth range 'a1,a2' in degrees."),
        radius: Optional[float] = typer.Option(None, "--radius", callback=checked(v.RADIUS), help="orbit/forward/spiral: radius, > 0."),
        distance: Optional[float] = typer.Option(None, "--distance", callback=checked(v.Float(-1e4, 1e4, optional=True)), help="dolly/pan(translate): distance travelled."),
        angle: Optional[float] = typer.Option(None, "--angle", callback=checked(v.Float(-3600.0, 3600.0, optional=True)), help="pan: rotation in degrees."),
        factor: Optional[float] = typer.Option(None, "--factor", callback=checked(v.Float(0.0, 100.0, lo_open=True, optional=True)), help="zoom: focal multiplier at the last frame, > 0."),
        mode: Optional[str] = typer.Option(None, "--mode", callback=checked(v.Choice(("rotate", "translate"), optional=True)), help="pan: rotate or translate."),
        frame: Optional[str] = typer.Option(None, "--frame", callback=checked(v.Choice(("first", "world"), optional=True)), help="orbit/forward: 'first' (relative to the first camera) or 'world' (authors' world)."),
        scale: Optional[float] = typer.Option(None, "--scale", callback=checked(MAKE_SCALE), help="Multiply the camera positions (default: 1, the presets' own scale with the subject at 2, or the --for-model model's)."),
        for_model: Optional[str] = typer.Option(None, "--for-model", help="Make the path as `genxd generate --camera NAME` makes it for this model: 'bundled' or a model folder (its focal, frames, size and scene scale; options given here win)."),
        jitter: float = typer.Option(0.0, "--jitter", callback=checked(v.Float(0.0, 100.0)), help="Add a smooth hand-held jitter of this amplitude (0: none)."),
        seed: Seed = 0,
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """Write a preset camera path (project convention: first camera = identity) to a camera file."""

        def body() -> None:
            from genxd.cameras import formats, trajectories
            from genxd.cameras.camera_path import square_pixel_intrinsics
            from genxd.checkpoint_folders import BUNDLED
            from genxd.checkpoints import RELEASED_DEFAULTS, model_info
            from genxd.utils import json_files
            from genxd.utils.io import atomic_file, check_writable_dir

            if name not in trajectories.PRESETS:
                from genxd.utils.close_names import close_name_note

                close = close_name_note(name, trajectories.PRESETS)  # 'orbi', 'Orbit', 'orbit '
                raise UsageError(f"unknown camera path {name!r}{close}; choose from "
                                 f"{', '.join(sorted(trajectories.PRESETS))}")
            if out.is_dir() and fmt is not CameraFormat.colmap:  # --overwrite would not help: say so first
                raise UsageError(f"{out} is a folder; --format {fmt.value} writes a file: give a file name "
                                 f"(e.g. {out / (name + '.json')})")
            if fmt is not CameraFormat.colmap and out.suffix.lower() != ".json":  # read_camera_path reads .json only
                raise UsageError(f"{out}: --format {fmt.value} writes a JSON file, which genxd reads back (generate "
                                 f"--camera) by its .json ending: give a name ending in .json (e.g. "
                                 f"{out.with_suffix('.json') if out.suffix else out.with_name(out.name + '.json')})")
            if out.exists() and not out.is_dir() and fmt is CameraFormat.colmap:
                raise UsageError(f"{out} is a file; --format colmap writes a folder: give a folder name")
            # a folder without a model takes one: the writer keeps its other files and replaces a model only
            holds_model = not out.is_dir() or any((out / f).exists() for f in (
                *formats.COLMAP_MODEL_FILES, "cameras.txt", "images.txt", "points3D.txt"))
            if out.exists() and not overwrite and holds_model:
                raise UsageError(f"{out} already exists (use --overwrite to replace it)")
            check_writable_dir(out.parent, "--out's folder")
            if fmt is CameraFormat.w2c:  # poses only: what these set would be dropped without a word
                given_size = [o for o, value in (("--focal", focal), ("--height", height), ("--width", width))
                              if value is not None]
                if given_size:
                    raise UsageError(f"{given_size[0]} does not apply to --format w2c: a w2c list stores poses only "
                                     "(genxd generate gives it the model's focal length and size); write the "
                                     "intrinsics with --format authors, transforms or colmap")
            n, h, w, pos_scale, f = num_frames, height, width, scale, focal
            if for_model is not None:
                if not for_model.strip():
                    raise UsageError("--for-model is empty: pass 'bundled' or a model folder, or leave it out for "
                                     "the authors' preset")
                try:
                    info = model_info(None if for_model == BUNDLED else for_model)
                except FileNotFoundError as exc:  # worded for generate's --model ("then pass --model DIR")
                    raise FileNotFoundError(re.sub(r"--model\b", "--for-model", str(exc))) from None
                given_here = {"--num-frames": n, "--height": h, "--width": w, "--scale": pos_scale, "--focal": f}
                settings = settings_for_model(info, given_here)  # the model's values for those not given, checked
                n, h, w = (cast(Optional[int], settings[o]) for o in ("--num-frames", "--height", "--width"))
                pos_scale, f = (cast(Optional[float], settings[o]) for o in ("--scale", "--focal"))
            authors_size = int(RELEASED_DEFAULTS["resolution"])
            n = n or trajectories.AUTHORS_NUM_FRAMES
            h, w, pos_scale = h or authors_size, w or authors_size, 1.0 if pos_scale is None else pos_scale
            kwargs: dict[str, object] = {"num_frames": n}
            given = {
                "focal": f, "elevation": elevation, "radius": radius, "distance": distance,
                "angle": angle, "factor": factor, "mode": mode, "frame": frame,
            }  # fmt: skip
            if azimuth is not None:
                given["azimuth_range"] = azimuth
            generator = trajectories.PRESETS[name]
            accepted = inspect.signature(generator).parameters
            for key, value in given.items():
                if value is None:
                    continue
                if key not in accepted:
                    option = "--azimuth" if key == "azimuth_range" else f"--{key}"
                    raise UsageError(f"{option} does not apply to the {name!r} path")
                kwargs[key] = value
            try:
                c2w, K = generator(**kwargs)
            except ValueError as exc:  # the presets name their Python arguments
                raise UsageError(preset_refusal(str(exc))) from None
            K = square_pixel_intrinsics(K, h, w)  # as every camera and tool has: --focal is fx / W, fy = fx
            c2w = trajectories.scale_translations(c2w, pos_scale)
            if jitter > 0:
                c2w = trajectories.handheld_jitter(c2w, amplitude=jitter, seed=seed)
            if fmt is CameraFormat.w2c and bool((K != K[:1]).any()):  # a zoom: its poses alone are a still camera
                raise UsageError(f"the {name!r} path changes its focal length from frame to frame, which --format "
                                 "w2c does not store (poses only: it would read back as a still camera); use "
                                 "--format authors, transforms or colmap")
            if fmt is CameraFormat.colmap:
                names = [f"{i:05d}.png" for i in range(len(c2w))]
                formats.write_colmap_model(out, c2w, K, h, w, names, overwrite=overwrite)
            else:
                with atomic_file(out, replace=overwrite) as written:  # out takes the file only if it reads back
                    if fmt is CameraFormat.authors:
                        formats.save_camera_json(written, c2w, K, h, w)
                    elif fmt is CameraFormat.transforms:
                        formats.save_transforms_json(written, c2w, K, h, w)
                    else:
                        formats.save_w2c_list_json(written, c2w)
                    size, limit = written.stat().st_size, json_files.MAX_JSON_BYTES
                    if size > limit:  # 100,000 cameras: a 72 MiB transforms.json, which generate --camera refused
                        raise UsageError(f"--num-frames {len(c2w)} makes a JSON file of {size / 2**20:.3g} MiB, over "
                                         f"the {limit / 2**20:.2g} MiB genxd reads back (generate --camera): give "
                                         "fewer frames, or --format colmap (binary)")
            typer.echo(f"wrote {len(c2w)} cameras ({name}) to {printed_path(out)}")

        run_cli(body, quiet)

    @trajectory.command("from-video", short_help="Make a camera path from a video (SfM).")
    def from_video(
        clip: Path = typer.Argument(..., help="Video file, folder of frames, or the clip's cameras (COLMAP model, genxd curate sample, transforms.json, any --camera file)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output camera file (authors' JSON); OUT_STEM_transforms.json and OUT_STEM.png (the path seen from above and from the side) are written beside it."),
        num_frames: int = typer.Option(12, "--num-frames", "-n", callback=checked(v.Int(2, 10_000)), help="Cameras in the path, 2-10000."),
        spacing: Spacing = typer.Option(Spacing.arc, "--spacing", help="arc: even steps along the path (3D); time: the clip's own timing (4D)."),
        smoothing: float = typer.Option(0.0, "--smoothing", callback=checked(v.PATH_SMOOTHING), help="Smooth the clip's cameras: Gaussian sigma in clip frames (0: off)."),
        path_scale: float = typer.Option(1.0, "--path-scale", callback=checked(v.PATH_SCALE), help="Size of the path: the median depth of the scene seen from the first camera becomes this (the model's scene scale is 1)."),
        normalization: Normalization = typer.Option(Normalization.scene, "--normalization", help="scene: by the scene depth (else path); path: the farthest camera at --path-scale from the first; none: the clip's units times --path-scale."),
        intrinsics: PathIntrinsics = typer.Option(PathIntrinsics.model, "--intrinsics", help="model: fx/W = fy/H = --focal, centred; clip: the clip's own (centre-cropped to a square)."),
        focal: Optional[float] = typer.Option(None, "--focal", callback=checked(v.FOCAL), help="Normalised focal length fx/W of the path with --intrinsics model (default: the bundled model's, 1.1)."),
        clip_focal: Optional[float] = typer.Option(None, "--clip-focal", callback=checked(v.FOCAL), help="The clip's normalised focal length fx/W if known (SfM estimates it otherwise; knowing it helps a lot)."),
        source: CameraSource = typer.Option(CameraSource.auto, "--source", help="auto: the clip's camera file if it has one (a video's: NAME.json or NAME_transforms.json beside NAME.mp4), else SfM; sfm: always SfM on the frames; file: only a camera file."),
        stride: Optional[int] = typer.Option(None, "--stride", callback=checked(v.Int(1, 10_000, optional=True)), help="Use every STRIDE-th frame from the start (default: --max-frames frames spread evenly over the whole clip)."),
        max_frames: int = typer.Option(48, "--max-frames", callback=checked(v.Int(3, 100_000, why="SfM needs 3 frames")), help="Use at most this many frames of the clip for SfM."),
        start: Optional[str] = typer.Option(None, "--start", help="Use the clip from here: seconds from its first frame (2.5), or a frame index with an f (30f: 0f is the first frame; a frame folder's files are counted in name order from 0, whatever numbers their names hold). A frame folder takes frame indices only; cameras from a camera file are not cut (--source sfm)."),
        end: Optional[str] = typer.Option(None, "--end", help="Use the clip up to here, this frame not included: seconds (7.5) or a frame index (90f); past the clip's end: to its end."),
        size: Optional[int] = typer.Option(None, "--size", callback=checked(v.Int(16, 8192, optional=True)), help="Side of the square output frames in pixels (default: the clip's shorter side)."),
        no_mask: bool = flag("--no-mask", help="Do not mask moving objects before SfM."),
        overwrite: Overwrite = False,
        quiet: Quiet = False,
    ) -> None:
        """Make a camera path from a video: SfM (moving objects masked) or the clip's own cameras."""

        def body() -> None:
            bounds: tuple[ClipBound | None, ClipBound | None] = (None, None)
            if start is not None or end is not None:  # genxd.cameras imports torch (2 s): only then
                from genxd.cameras.clip_range import check_bounds

                bounds = check_bounds(start, end)  # a negative or unreadable value: before the clip is read
            if not clip.exists():  # before the imports (torch, OpenCV, pycolmap: seconds): a typo fails at once
                raise FileNotFoundError(f"{clip}: no such video, frame folder or camera file")
            from genxd.cameras.from_video import path_summary, write_video_path
            from genxd.utils.stages import StageLines

            written = write_video_path(
                clip, out, num_frames, spacing=spacing.value, smoothing=smoothing, path_scale=path_scale,
                normalization=normalization.value, intrinsics=intrinsics.value, model_focal=focal,
                clip_focal=clip_focal, source=source.value, stride=stride, max_frames=max_frames, size=size,
                mask=not no_mask, overwrite=overwrite, on_stage=StageLines(clip.name, not quiet),
                **({"start": bounds[0], "end": bounds[1]} if any(b is not None for b in bounds) else {}),
            )
            report = written["report"]
            for f in written["files"]:
                typer.echo(printed_path(f))
            if not quiet:
                typer.echo(path_summary(report), err=True)
            for line in report.get("notes", []):
                note(f"note: {line}", quiet)
            for warning in [] if quiet else report.get("warnings", []):
                typer.echo(f"genxd: warning: {warning}", err=True)

        run_cli(body, quiet)

    app.add_typer(trajectory, name="trajectory")
