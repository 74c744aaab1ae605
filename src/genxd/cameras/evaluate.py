"""``genxd eval-camera``: how well generated videos follow their requested cameras.

For each scene folder (frames + a camera file), the cameras of the generated frames are recovered by
SfM (:func:`genxd.cameras.from_video.recover_clip_cameras`: moving objects masked, frames under 256 px
upscaled, the requested focal length fixed when all frames share it) and compared with the requested
ones (:func:`genxd.cameras.accuracy.compare_paths`: CameraCtrl's RotErr / TransErr, both paths relative
to their first camera, TransErr after one least-squares scale; TransErr_sim3 after a similarity). Works on
any folder with frames and a camera file: ``genxd generate`` outputs (``frames/*.png`` + ``cameras.json``),
synthetic clip folders (``images/`` + ``transforms.json``), or
another tool's output with its cameras converted to one of the :func:`read_camera_path` formats.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["find_scenes", "evaluate_scene", "evaluate_camera_accuracy", "summarise", "draw_error_curves",
           "failure_line", "output_paths", "EVAL_JSON", "EVAL_PNG"]

EVAL_JSON = "camera_eval.json"
EVAL_PNG = "camera_errors.png"
_FRAME_FOLDERS = ("frames", "images", "rgb")
_CAMERA_FILES = ("cameras.json", "transforms.json")
#: what a scene's failure reason and warnings advise (eval-camera reads every frame: no max_frames to raise; the
#: focal length is the requested one unless estimated, and a scene has no other to give)
_SCENE_ADVICE = ("; more or larger frames, or more camera movement or texture, may work", "")


def _holds_images(folder: Path) -> bool:
    """Whether ``folder`` holds an image file (not a hidden one) directly."""
    from ..utils.frame_files import IMAGE_EXTENSIONS

    return any(p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") for p in folder.iterdir())


def _frames_of(folder: Path) -> Path | None:
    for name in _FRAME_FOLDERS:
        sub = folder / name
        if sub.is_dir() and _holds_images(sub):
            return sub
    if (folder / "video.mp4").is_file():
        return folder / "video.mp4"
    return None


def _cameras_of(folder: Path) -> Path | None:
    for name in _CAMERA_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def find_scenes(root: str | Path) -> list[Path]:
    """Scene folders under ``root``: ``root`` itself when it holds frames and a camera file, else every folder
    below it that does, at any depth (sorted; a scene's own sub-folders, hidden folders and links to folders
    are not searched, but a link that is itself a scene folder is one, each scene once: a real folder before a link
    to it). Raises ValueError when there are none; folders with a camera file but no frames, and folders with
    frames but no camera file, are named in a warning each (left out)."""
    import os

    from ..utils.paths import loop_note

    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such folder{loop_note(root)}")
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder (expected a generated scene folder or a folder of them)")
    if _frames_of(root) is not None and _cameras_of(root) is not None:
        return [root]
    scenes, frameless, cameraless, linked = [], [], [], []
    for here, dirs, _ in os.walk(root):
        keep = []
        for name in sorted(dirs):
            sub = Path(here) / name
            if name.startswith("."):
                continue
            if sub.is_symlink():  # not searched (a loop, a scene found twice); a link to a scene folder is one
                if _frames_of(sub) is not None and _cameras_of(sub) is not None:
                    linked.append(sub)
                continue
            frames, cameras = _frames_of(sub) is not None, _cameras_of(sub) is not None
            if frames and cameras:
                scenes.append(sub)
            else:
                keep.append(name)
                if cameras:
                    frameless.append(sub)
                elif frames:
                    cameraless.append(sub)
        dirs[:] = keep  # descend only into folders that are not scenes
    # links to scene folders (a folder of links to the scenes to compare was 'no scene folder'), each scene once
    found = {os.path.realpath(s) for s in scenes}
    for link in linked:
        if (target := os.path.realpath(link)) not in found:
            scenes.append(link)
            found.add(target)
    if not scenes:
        raise ValueError(f"{root}: no scene folder with frames (frames/, images/, rgb/ or video.mp4) and a camera file "
                         f"(cameras.json or transforms.json){_no_scene_hint(root)}")
    # left out in silence before: a generation stopped before its frames, frames under another name; a camera file
    # deleted or renamed, another tool's output without one
    _warn_left_out(frameless, "a camera file but no frames (frames/, images/, rgb/ or video.mp4)")
    _warn_left_out(cameraless, "frames but no camera file (cameras.json or transforms.json)")
    return sorted(scenes)


def _no_scene_hint(folder: Path) -> str:
    """What to give for ``folder``, in which :func:`find_scenes` found no scene, when it is a scene without its
    camera file, or holds frames itself (a scene's ``frames/`` given as the generated folder); else ``""``: a suffix
    for the error."""
    from ..caller_style import arg

    if (frames := _frames_of(folder)) is not None:
        shown = frames.name + ("/" if frames.is_dir() else "")
        return f"; it has frames ({shown}) but no camera file: give one with {arg('cameras')}"
    if not _holds_images(folder):
        return ""
    if folder.name in _FRAME_FOLDERS:
        above = "the current folder" if folder.parent == Path(".") else str(folder.parent)
        return f"; it holds frames itself: give the scene folder above it, {above}"
    return ("; it holds frames itself: a scene's frames are read from its frames/, images/ or rgb/ folder "
            "(or its video.mp4)")


def _warn_left_out(folders: Sequence[Path], holding: str) -> None:
    """One warning naming the ``folders`` (the first 3) that :func:`find_scenes` left out, each ``holding`` ..."""
    if folders:
        from ..validation import warn

        shown = ", ".join(str(p) for p in folders[:3]) + (", ..." if len(folders) > 3 else "")
        warn(f"{len(folders)} folder{'s' if len(folders) > 1 else ''} with {holding} left out: {shown}")


def _count_mismatch(scene: Path, frames: int, cameras: int, cam_file: Path) -> str:
    return f"{scene}: {frames} frames but {cameras} cameras in {cam_file}"


def _requested_cameras(scene: Path, cameras: str | Path | None, given: Any = None) -> tuple[Path, Path, Any]:
    """``(camera file, frames, requested CameraPath)`` of a scene, checked before SfM: a camera file that cannot be
    read, or a frame count (a frame folder's image files, a video's decoded frames) other than its camera count, is
    a ValueError naming the scene and the file (a frame missing or extra was found after the scene's SfM, and in a
    folder of scenes after the SfM of those before it). ``given``: the CameraPath of ``cameras`` (float64,
    perspective) that the caller read already, not read again (each read said the file's warnings again)."""
    from ..curation.frames import count_frames
    from .reader import perspective_only, read_camera_path

    cam_file = Path(cameras) if cameras is not None else _cameras_of(scene)
    frames = _frames_of(scene)
    if cam_file is None or frames is None:
        raise ValueError(f"{scene}: needs frames (frames/, images/, rgb/ or video.mp4) and a camera file")
    requested = given if given is not None else perspective_only(read_camera_path(cam_file, dtype=torch.float64))
    count = count_frames(frames, exact=True)  # None: a video that cannot be read (SfM says why)
    if count is not None and count != len(requested):
        raise ValueError(_count_mismatch(scene, count, len(requested), cam_file))
    order = _listed_order(frames, cam_file, requested.names)
    if order is not None:  # a transforms.json listing the frames in another order than their names
        import copy

        requested = copy.copy(requested)
        requested.c2w, requested.K = requested.c2w[order], requested.K[order]
        requested.names = [requested.names[i] for i in order]  # type: ignore[index]  # names: not None (order)
        requested.times = requested.times[order] if requested.times is not None else None
    return cam_file, frames, requested


def _listed_order(frames: Path, cam_file: Path, names: Sequence[str] | None) -> list[int] | None:
    """The camera of each frame, in frame order, when the camera file names the frame folder's images (a
    ``transforms.json``'s ``file_path``) in another order than theirs (by name, numbers as numbers: as SfM reads
    them); None otherwise: the cameras are the frames' in their order (they were paired by position always, so a
    listing in another order, such as colmap2nerf's in COLMAP's image order, was scored against other frames'
    cameras). Some of the frame folder's images named, others not there (renamed, or another folder's), or one
    named twice (others not at all): None too, and a warning. Images of another folder only (a camera file from
    elsewhere): None, nothing said."""
    from ..utils.frame_files import frame_files  # the order read_frames reads a frame folder in
    from ..utils.paths import find_listed_image, path_inside

    if names is None or not frames.is_dir():
        return None
    listed: list[Path] = []
    elsewhere: list[str] = []  # the names not of a frame here, in listing order: not found, or another folder's
    files = [file.resolve() for file in frame_files(frames)]
    frame_set = set(files)
    for name in names:
        try:
            found = find_listed_image(path_inside(cam_file.parent, name, cam_file))
        except ValueError:  # not a path inside the camera file's folder: a name only
            return None
        file = None if found is None else found.resolve()
        if file not in frame_set:
            elsewhere.append(name)
        if file is not None:
            listed.append(file)
    if elsewhere:
        if len(elsewhere) < len(names):  # the listing is of these frames, partly: paired otherwise than it says
            from ..validation import warn

            verb = "is" if len(elsewhere) == 1 else "are"
            warn(f"{cam_file}: {len(elsewhere)} of the {len(names)} frames it lists {verb} not in {frames} "
                 f"({elsewhere[0]}{', ...' if len(elsewhere) > 1 else ''}): its cameras are paired with the frames "
                 "by position")
        return None
    camera_of = {file: i for i, file in enumerate(listed)}
    if len(camera_of) != len(listed):  # the frames' listing (each name one of them: above), a frame named twice
        from ..validation import warn

        seen: set[Path] = set()
        twice = []  # the names of files named before
        for name, file in zip(names, listed):
            if file in seen:
                twice.append(name)
            seen.add(file)
        unlisted = len(set(files) - seen)
        again = "is a frame" if len(twice) == 1 else "are frames"
        warn(f"{cam_file}: {len(twice)} of the {len(names)} frames it lists {again} listed before "
             f"({twice[0]}{', ...' if len(twice) > 1 else ''}) and {unlisted} of the {len(files)} in {frames} "
             f"{'is' if unlisted == 1 else 'are'} not listed: its cameras are paired with the frames by position")
        return None
    if set(camera_of) != frame_set:  # fewer names than frames (refused before this, by the count's check)
        return None
    order = [camera_of[file] for file in files]
    return None if order == list(range(len(order))) else order


def evaluate_scene(
    scene: str | Path,
    *,
    cameras: str | Path | None = None,
    known_focal: bool = True,
    mask: bool = True,
    features: str = "auto",
    seed: int = 0,
    num_threads: int = -1,
) -> dict[str, Any]:
    """Recover the cameras of one scene's frames and compare them with the requested ones.

    Args:
        scene: a folder with frames and a camera file (see :func:`find_scenes`).
        cameras: the requested cameras (default: the scene's ``cameras.json`` / ``transforms.json``).
        known_focal: fix the focal length to the requested one in SfM (when all frames share it; a camera file of
            another shape than the frames is fitted to them as ``genxd generate`` fits it: the centre crop);
            False: SfM estimates it.
    Returns:
        a JSON-able dict: ``status`` ("ok" / "failed"), ``reason``, ``method`` (sfm / rotation-only /
        static), ``num_frames``, ``num_registered``, ``errors`` (:class:`PathErrors` as a dict), ``seconds``.
    """
    started = time.perf_counter()
    scene = Path(scene)
    return _scene_result(scene, _requested_cameras(scene, cameras), started, known_focal=known_focal, mask=mask,
                         features=features, seed=seed, num_threads=num_threads)


def _scene_result(scene: Path, requested_cameras: tuple[Path, Path, Any], started: float, *, known_focal: bool,
                  mask: bool, features: str, seed: int, num_threads: int) -> dict[str, Any]:
    """:func:`evaluate_scene` of a scene whose cameras were read and checked (:func:`_requested_cameras`);
    ``started``: the :func:`time.perf_counter` its ``seconds`` count from."""
    from .accuracy import compare_paths
    from .from_video import ClipAdvice, recover_clip_cameras

    cam_file, frames, requested = requested_cameras
    K = requested.K
    if known_focal and requested.intrinsics_known:  # a camera of another shape than the frames: as generate fits it
        from ..curation.frames import VideoReadError, read_frames

        try:
            height, width = read_frames(frames, 1, 1)[0].shape[:2]
        except VideoReadError:
            pass  # unreadable frames: SfM below says so
        else:
            K = requested.intrinsics_for(height, width, "crop")
    shared = bool((K - K[:1]).abs().max() < 1e-9) and abs(float(K[0, 0, 0]) - float(K[0, 1, 1])) < 1e-9 \
        and abs(float(K[0, 0, 2]) - 0.5) < 1e-9 and abs(float(K[0, 1, 2]) - 0.5) < 1e-9
    focal = float(K[0, 0, 0]) if known_focal and shared and requested.intrinsics_known else None
    result: dict[str, Any] = {"scene": str(scene), "cameras": str(cam_file), "frames": str(frames),
                              "num_frames": len(requested), "focal_fixed": focal}
    try:
        cams = recover_clip_cameras(frames, source="sfm", focal=focal, mask=mask, features=features, seed=seed,
                                    num_threads=num_threads, max_frames=None, advice=ClipAdvice(*_SCENE_ADVICE))
    except ValueError as exc:
        return {**result, "status": "failed", "reason": str(exc), "num_registered": 0,
                "seconds": round(time.perf_counter() - started, 3)}
    if cams.num_clip_frames != len(requested):  # a video whose frames could not be counted before
        raise ValueError(_count_mismatch(scene, cams.num_clip_frames, len(requested), cam_file))
    idx = cams.frame_indices
    result.update({"method": cams.method, "num_registered": len(idx), "registered": idx,
                   "sfm": {k: v for k, v in cams.report.items() if k not in ("source",)}})
    if len(idx) < 2:
        return {**result, "status": "failed", "reason": "fewer than 2 frames registered",
                "seconds": round(time.perf_counter() - started, 3)}
    if not torch.isfinite(cams.c2w).all():  # compare_paths' ValueError stopped a folder's run after all its SfM
        return {**result, "status": "failed",
                "reason": "structure from motion gave cameras with NaN or infinite values",
                "seconds": round(time.perf_counter() - started, 3)}
    errors = compare_paths(cams.c2w, requested.c2w[idx])
    return {**result, "status": "ok", "errors": errors.to_dict(), "seconds": round(time.perf_counter() - started, 3)}


def failure_line(scene: str, reason: str) -> str:
    """A failed scene's warning line (without ``genxd: warning:``): ``scene: reason``, or the reason alone where it
    already names a path in the scene (SfM's reasons start with the frame folder: the scene said twice)."""
    named = reason.startswith(scene) and reason[len(scene):len(scene) + 1] in (":", "/", os.sep)
    return reason if named else f"{scene}: {reason}"


def _threads_used(num_threads: int) -> int:
    """The SfM thread count a ``num_threads`` stands for (-1: this machine's usable cores), as the report records it:
    another count can give other cameras on poorly constrained scenes."""
    from ..utils.machine import usable_cpus

    return usable_cpus() if num_threads < 1 else int(num_threads)


def _mean(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.mean(finite) if finite else None


def summarise(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean figures over the scenes that succeeded; failures counted (and listed)."""
    ok = [r for r in results if r["status"] == "ok"]
    keys = ("RotErr", "TransErr", "TransErr_sim3", "mean_rot_err_deg", "mean_centre_err", "centre_err_rel",
            "mean_centre_err_sim3", "centre_err_sim3_rel")
    out: dict[str, Any] = {"scenes": len(results), "evaluated": len(ok), "failed": len(results) - len(ok),
                           "failures": {r["scene"]: r["reason"] for r in results if r["status"] != "ok"}}
    for key in keys:
        out[f"mean_{key}" if not key.startswith("mean_") else key] = _mean([r["errors"][key] for r in ok])
    out["registered_fraction"] = (sum(r["num_registered"] for r in results) / max(1, sum(r["num_frames"] for r in results)))
    out["scenes_with_TransErr"] = sum(r["errors"]["TransErr"] is not None for r in ok)
    return out


def _scene_labels(scenes: Sequence[str]) -> list[str]:
    """The scenes' folder names, or, where two share one (``run1/scene_a``, ``run2/scene_a``: one line of the plot
    replaced the other), their paths from the folder above them all."""
    import os

    names = [Path(s).name for s in scenes]
    if len(set(names)) == len(names):
        return names
    common = os.path.commonpath([str(Path(s).absolute()) for s in scenes])
    return [Path(os.path.relpath(Path(s).absolute(), common)).as_posix() for s in scenes]


def draw_error_curves(results: Sequence[dict[str, Any]], title: str = "", max_lines: int = 7):
    """Per-frame rotation error (degrees) and anchored centre error of each scene, as a PIL image."""
    from ..utils.plot import line_chart

    ok = [r for r in results if r["status"] == "ok"]
    rot, cen = {}, {}
    for r, label in zip(ok[:max_lines], _scene_labels([r["scene"] for r in ok[:max_lines]])):
        idx = r["registered"]
        rot[label] = (idx, r["errors"]["rot_err_deg"])
        if r["errors"]["centre_err"] is not None:
            cen[label] = (idx, r["errors"]["centre_err"])
    if len(ok) > max_lines:  # the mean over all scenes, frame by frame
        n = max(r["num_frames"] for r in ok)
        for store, key in ((rot, "rot_err_deg"), (cen, "centre_err")):
            sums, counts = np.zeros(n), np.zeros(n)
            for r in ok:
                if r["errors"][key] is None:
                    continue
                for i, v in zip(r["registered"], r["errors"][key]):
                    sums[i] += v
                    counts[i] += 1
            have = counts > 0
            if have.any():
                store[f"mean of {len(ok)}"] = (np.flatnonzero(have).tolist(), (sums[have] / counts[have]).tolist())
    panels = [{"title": "rotation error", "xlabel": "frame", "ylabel": "degrees", "series": rot},
              {"title": "camera-centre error (after alignment)", "xlabel": "frame", "ylabel": "path units", "series": cen}]
    return line_chart(panels, title=title)


def output_paths(out: str | Path, plot: bool = True) -> list[Path]:
    """The files :func:`evaluate_camera_accuracy` writes into the folder ``out``."""
    return [Path(out) / EVAL_JSON] + ([Path(out) / EVAL_PNG] if plot else [])


def evaluate_camera_accuracy(
    root: str | Path,
    *,
    cameras: str | Path | None = None,
    out: str | Path | None = None,
    known_focal: bool = True,
    mask: bool = True,
    features: str = "auto",
    seed: int = 0,
    num_threads: int = -1,
    progress: bool = True,
    plot: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """``genxd eval-camera``: evaluate every scene under ``root`` (see :func:`find_scenes`).

    Writes ``camera_eval.json`` (per scene and mean) and ``camera_errors.png`` (per-frame curves) into
    ``out`` (default: ``root``), atomically and together (:func:`genxd.utils.file_groups.atomic_group`: a failure
    or a stop leaves both old files or both new ones). ``cameras`` overrides the requested camera file (one scene
    only: ``root`` with frames, a camera file of its own or not). Existing outputs are refused (FileExistsError)
    before any SfM unless ``overwrite``.
    Returns the report dict (``scenes``: per-scene results, ``summary``: means).
    """
    from ..output_folders import existing_files_error, output_files_error
    from ..utils.file_groups import atomic_group
    from ..utils.io import check_writable_dir
    from ..utils.json_files import write_json_atomic
    from ..utils.progress import progress_bar
    from .. import validation as v
    from ..validation import arg
    from .reader import perspective_only, read_camera_path

    # checked first, as genxd eval-camera's options: features="x" ran SfM and recorded "x", seed=-1, num_threads=0
    # or 1.5 and known_focal="x" went on to SfM (minutes) before a library refused them or took them as they were
    features = v.check(features, v.SFM_FEATURES, "features")
    seed = v.check(seed, v.SEED, "seed")
    num_threads = v.check(num_threads, v.NUM_THREADS, "num_threads")
    for name, value in (("known_focal", known_focal), ("mask", mask), ("progress", progress), ("plot", plot),
                        ("overwrite", overwrite)):
        v.check(value, v.Flag(), name)
    if cameras is not None and Path(root).is_dir() and _frames_of(Path(root)) is not None:
        scenes = [Path(root)]  # its frames, and the cameras given: no camera file of its own needed
    else:
        scenes = find_scenes(root)
    if cameras is not None and len(scenes) != 1:
        raise ValueError(f"{arg('cameras')} names one camera file but {root} holds {len(scenes)} scenes")
    out_dir = Path(out) if out is not None else Path(root)
    targets = output_paths(out_dir, plot)
    # before any SfM (minutes): a wrong camera file, an output that exists or a folder that cannot be written
    given = None if cameras is None else perspective_only(read_camera_path(cameras, dtype=torch.float64))
    if (error := output_files_error(targets, overwrite)) is not None:  # a folder in a file's place, too
        raise error
    check_writable_dir(out_dir, "output folder")
    # every scene's cameras and frame count, before the first SfM; each camera file read once (its warnings said
    # once: it was read again for the scene's evaluation, and --cameras a third time)
    requested = [_requested_cameras(s, cameras, given) for s in scenes]
    for s, (_, frames, _) in zip(scenes, requested):
        if plot and frames.is_dir() and frames.resolve() == out_dir.resolve():
            raise ValueError(f"{out_dir} is the frame folder of scene {s}: {EVAL_PNG} written there would be read as "
                             "one of its frames; choose another output folder")
    results = []
    # off when stderr is not a terminal; closed (erased) before an error is printed
    with progress_bar(total=len(scenes), desc="eval-camera", unit="scene", disable=not progress, leave=False,
                      terminal_only=True) as bar:
        for s, scene_cameras in zip(scenes, requested):
            bar.set_description(f"eval-camera {s.name}", refresh=False)
            results.append(_scene_result(s, scene_cameras, time.perf_counter(), known_focal=known_focal, mask=mask,
                                         features=features, seed=seed, num_threads=num_threads))
            bar.update(1)
    report = {"root": str(root), "definitions": "RotErr = sum_j arccos((tr(R_gen^j R_gt^jT) - 1) / 2) in degrees, "
              "both paths relative to their first camera; TransErr = sum_j ||C_gt^j - s C_gen^j|| over camera centres "
              "after the anchored least-squares scale s (TransErr_sim3: after a free similarity, Umeyama); "
              "SfM cameras are known only up to scale, so TransErr measures the path's shape in requested units "
              "(docs/camera_paths_from_video.md)", "known_focal": known_focal, "mask": mask, "seed": seed,
              "sfm_threads": _threads_used(num_threads),
              "summary": summarise(results), "scenes": results}
    if not overwrite and (error := existing_files_error(targets)) is not None:
        raise error  # made while SfM ran (another run): not replaced without asking
    # the report and its plot are one output, replaced together or not at all: the report written first, then a
    # failure while drawing (or a stop between the two renames) left the new report beside an earlier run's plot
    with atomic_group(targets, replace=overwrite) as tmp:
        write_json_atomic(tmp[0], report)
        if plot:
            draw_error_curves(results, f"camera errors: {Path(root).name}").save(tmp[1], format="PNG")
    if not plot:
        _warn_stale_plot(out_dir)
    return report


def _warn_stale_plot(out_dir: Path) -> None:
    """One warning when a report written without its plot (``plot=False``) lies beside a ``camera_errors.png``: an
    earlier run's (or the user's own), which reads as this report's plot. It is kept (not this run's to remove)."""
    stale = out_dir / EVAL_PNG
    if os.path.lexists(stale):
        from ..validation import warn

        warn(f"{stale} is not the plot of the {EVAL_JSON} written beside it (plot=False drew none): it is an earlier "
             "run's, kept as it was; remove it, or evaluate with plot=True to replace it")
