"""CamVid-30K training clips: ``VIDEO_ID/images/*.jpg`` + COLMAP model ``VIDEO_ID/0/`` (+ ``meta.json``),
from folders or ``batch_N.zip`` archives read in place."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ...utils.io import check_writable_dir
from ...utils.motion_units import old_unit_motion, old_units_advice
from ...utils.paths import loop_note, name_key, relative_to_cwd_note
from ...validation import DEFAULT_MOTION_SCALE, warn
from ..archive import ArchiveLimits, SafeZip
from .camvid_dropped import _NAMED_VIDEOS, _dropped_advice, _Lost
from .camvid_samples import (_IMAGES_RE, _MODEL_RE, _distinct_roots, _distinct_videos, _extracted_model, _ExtractDir,
                             _has_image_below, _is_image, _name_index, _prune_old_layout, _Video)
from .clips import _as_list, _Cameras, _ClipDataset, _decode_image, _integral, _read_image, _real, _switch
from .frame_times import (UNEVEN_CLIP_TOLERANCE, fits, frame_interval, frame_times, largest_miss, nearest_frames,
                          registered_frames, timed_clips, uneven_clip_steps, usable_times)
from .left_out import CamVidLeftOut
from .registered_counts import registered_image_counts
from .view_lenses import Lens, pinhole_views

__all__ = ["CamVidDataset"]


def _unread_kind(meta: dict) -> str | None:
    """``"kind 'static'"``: the ``kind`` / ``verdict`` a ``meta.json`` gives when neither is a value
    :meth:`CamVidDataset._kind_of` reads (``3d`` / ``4d``, ``static`` / ``dynamic``, any case); None when one is,
    or when it gives neither (or null)."""
    given = {key: meta[key] for key in ("kind", "verdict") if meta.get(key) is not None}
    if str(given.get("kind", "")).lower() in ("3d", "4d") or str(given.get("verdict", "")).lower() in ("static", "dynamic"):
        return None
    return ", ".join(f"{key} {value!r}" for key, value in given.items()) or None


class CamVidDataset(_ClipDataset):
    """CamVid-30K samples ``VIDEO_ID/images/*.jpg`` + COLMAP model ``VIDEO_ID/0/`` (+ ``meta.json``).

    Args:
        root: a folder (searched up to ``max_depth`` levels for sample folders and ``*.zip``
            archives), a single ``.zip``, or a list of them. Archives are read in place, safely
            (:class:`genxd.data.archive.SafeZip`: traversal, symlinks and zip bombs are refused).
        num_frames / stride / clip_spacing: clips of ``num_frames`` frames taken every ``stride``
            frames (a list: all strides), starting every ``clip_spacing`` frames (default: the clip
            span, i.e. non-overlapping clips). Frames without a COLMAP pose are skipped (the nearest
            window of registered frames is used).
        height / width / fit / pad_value: output size (width default = height), crop or pad.
        kind: ``"auto"`` reads ``meta.json`` (``kind`` 3d/4d, or ``verdict`` static/dynamic),
            falling back to ``default_kind``; or force ``"3d"`` / ``"4d"``.
        motion_keys: ``meta.json`` keys tried in order for the motion strength (missing: 0).
        motion_scale: factor applied to the stored motion strength (see the package docstring).
        camera_normalization: ``"scene"`` (COLMAP points), ``"path"`` or ``"none"``.
        archive_limits: caps for zip archives (:class:`genxd.data.archive.ArchiveLimits` or dict).
        extract_dir: where the COLMAP models of archived samples are extracted, one version of each sample's
            kept (default: a private temporary folder per process, removed at exit); the models extracted there
            by genxd before 5e057f4 (``<16 hex digits>/0/``, one per version) are removed.
        undistort: frames of a camera with lens distortion (``genxd curate``'s and CamVid-30K's ``SIMPLE_RADIAL``)
            are undistorted as ``genxd reconstruct`` undistorts them (:func:`.view_lenses.pinhole_views`); False
            ignores the distortion (the stored pixels with the pinhole part of the camera, as the authors' training
            read them).
    """

    _timed: dict[int, list[float]]  # scene -> its frame times, for the videos whose clips are timed
    _clip_targets: dict[int, tuple[list[float], int]]  # clip index -> (even target times, stride)
    _posless_warned: set[int]  # scenes whose model lacks poses meta.json records (:meth:`_pick`)

    def __init__(
        self,
        root: str | os.PathLike | Sequence[str | os.PathLike],
        num_frames: int = 8,
        height: int = 256,
        width: int | None = None,
        stride: int | Sequence[int] = 1,
        clip_spacing: int | None = None,
        fit: str = "crop",
        pad_value: float = 1.0,
        kind: str = "auto",
        default_kind: str = "4d",
        motion_keys: Sequence[str] = ("image_motion_strength", "motion_strength"),
        motion_scale: float = DEFAULT_MOTION_SCALE,
        camera_normalization: str = "scene",
        archive_limits: ArchiveLimits | dict | None = None,
        max_depth: int = 3,
        cache_size: int = 8,
        extract_dir: str | os.PathLike | None = None,
        undistort: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(num_frames, height, width, fit, pad_value, camera_normalization, stride, clip_spacing,
                         "clip", 1, seed, cache_size)
        self.extract_dir = None if extract_dir is None else Path(extract_dir)
        self.undistort = _switch(undistort, "undistort")
        if kind not in ("auto", "3d", "4d"):
            raise ValueError(f"kind must be 'auto', '3d' or '4d', got {kind!r}")
        if default_kind not in ("3d", "4d"):
            raise ValueError(f"default_kind must be '3d' or '4d', got {default_kind!r}")
        self.kind, self.default_kind = kind, default_kind
        # one key alone (motion_keys: motion_strength) is that key: its characters were tried, none found, and every
        # video trained as 4D with motion strength 0
        self.motion_keys, self.motion_scale = (tuple(str(k) for k in _as_list(motion_keys)),
                                             _real(motion_scale, "motion_scale", 0.0))
        limits = ArchiveLimits.from_config(archive_limits)
        if (max_depth := _integral(max_depth, "max_depth")) < 0:  # -1 found no sample, a string was a TypeError
            raise ValueError(f"max_depth must be >= 0, got {max_depth}")
        self.videos: list[_Video] = []
        given = [Path(r) for r in _as_list(root)]
        for r in given:  # before _distinct_roots resolves them: a loop of links was pathlib's RuntimeError there
            if not r.exists():
                raise FileNotFoundError(f"{r}: no such file or folder{loop_note(r) or relative_to_cwd_note(r)}")
        roots = _distinct_roots(given)
        if not roots:
            raise ValueError("CamVidDataset: no root given")
        left_out = CamVidLeftOut()  # folders holding half a video (warned)
        for r in roots:
            if r.is_file():
                self._add_archive(r, limits, left_out)
            else:
                self._scan(r, limits, max_depth, left_out)
        left_out.warn()
        self.videos = _distinct_videos(self.videos)
        if not self.videos:
            raise ValueError(f"no CamVid samples (VIDEO_ID/images/ + VIDEO_ID/0/cameras.bin) found under {', '.join(map(str, roots))}")
        # the default folder is made here, by the process building the dataset, which removes it at exit: each
        # DataLoader worker made one of its own before, which its exit (no exit handlers run) left in the temp folder
        archived = any(v.archive is not None for v in self.videos)
        self._models_dir = self.extract_dir or (_ExtractDir.get() if archived else None)
        if archived and self.extract_dir is not None:
            # here, not in a DataLoader worker at the first clip, after the model was built (a file, a loop of links)
            check_writable_dir(self.extract_dir, "extract_dir")
            _prune_old_layout(self.extract_dir)
        self._build_clips()
        self._check_records(roots)
        self._check_registered_counts()

    def _check_registered_counts(self) -> None:
        """What the ``images.bin`` headers of the unpacked videos whose clips are taken frame by frame say
        (:mod:`.registered_counts`; no model is read): those that register fewer images than a clip's frames are not
        trained (:meth:`_drop_few_registered`; their clips repeated frames), those that register more than their
        ``images/`` holds are named (:meth:`_warn_missing_frames`). Videos whose clips were picked in time by
        ``meta.json`` are left to their own note (they lost the clips that need a frame without a pose)."""
        with_clips = {s for s, _ in self.clips} - set(self._timed)
        models = {s: folder / "0" for s in sorted(with_clips) if (folder := self.videos[s].folder) is not None}
        counts = registered_image_counts(models)
        few = {s: k for s, k in counts.items() if k < self.num_frames}
        if few:
            self._drop_few_registered(few, models)
        self._warn_missing_frames({s: k for s, k in counts.items() if s not in few})

    def _drop_few_registered(self, few: dict[int, int], models: dict[int, Path]) -> None:
        """Remove the clips of the videos ``few`` (``{scene: registered count}``, ``models`` their model folders),
        counted in ``num_skipped_scenes`` and said in one warning naming the first."""
        s, k = next(iter(few.items()))
        example = f"e.g. {models[s]}: {k} of {len(self.videos[s].frames)}"
        keep = [i for i, (scene, _) in enumerate(self.clips) if scene not in few]
        if not keep:
            raise ValueError(f"no CamVid video's COLMAP model registers a clip's {self.num_frames} images ({example})")
        self._clip_targets = {new: self._clip_targets[old] for new, old in enumerate(keep) if old in self._clip_targets}
        self.clips = [self.clips[i] for i in keep]
        self.num_skipped_scenes += len(few)
        warn(f"{len(few)} of {len({scene for scene, _ in self.clips}) + len(few)} videos are not trained: their COLMAP "
             f"model registers fewer images than a clip's {self.num_frames} frames ({example}); curate them again or "
             f"remove them")

    def _warn_missing_frames(self, counts: dict[int, int]) -> None:
        """One warning naming the first of the videos whose model registers more images (``counts``: ``{scene:
        registered count}``) than their ``images/`` holds files: frames are missing there (a copy cut short), and
        their clips, taken frame by frame from the files, jump over them in time (trained all the same)."""
        short = [s for s, k in counts.items() if k > len(self.videos[s].frames)]
        if not short:
            return
        v, images = self.videos[short[0]], self.videos[short[0]].folder / "images"  # type: ignore[operator]
        warn(f"{len(short)} of {len({scene for scene, _ in self.clips})} videos have fewer image files than their "
             f"COLMAP model registers (e.g. {images}: {len(v.frames)} files, {counts[short[0]]} "
             f"registered): frames are missing (a copy cut short?), and their clips, taken frame by frame from the "
             f"files, jump over them in time; copy the videos again or remove them")

    def _check_records(self, roots: list[Path]) -> None:
        """Read the ``meta.json`` of each video that gives clips and trains as 4D once (none with ``kind="3d"``;
        30,000 of them are not kept in memory): re-pick the clips of a variable-frame-rate one evenly in time
        (:meth:`_retime`), and warn once for each kind of record that trains badly.

        The warnings: videos without a motion strength (no ``meta.json``, or one with none of ``motion_keys``: 0,
        still objects; CamVid-30K as released is such, and the model would learn that motion strength 0 moves
        objects); motion strengths in the units before 17875fa on non-square frames; non-square synthetic clips whose
        meta.json has no units for their image_motion_strength (:mod:`genxd.utils.motion_units`); videos with clips
        picked in time dropped (:meth:`_retime`), each named with their count. Videos that train as 3D (motion and
        pace unused) count in none and keep their clips taken frame by frame."""
        self._timed = {}
        self._clip_targets = {}
        self._posless_warned = set()
        if self.kind == "3d":
            return
        used = sorted({s for s, _ in self.clips})  # videos too short for any clip train nothing
        bare: list[str] = []
        unread_kinds: list[str] = []  # a meta.json kind / verdict of no known value: trained as default_kind
        out_of_range: list[str] = []  # a motion strength outside 0-1: already scaled, in pixels, negative
        old_units: list[str] = []
        old_synthetic: list[str] = []  # image_motion_strength of synthetic clips written before its units field
        dropped: list[_Lost] = []  # what each video lost and why
        clips_of: dict[int, list[list[int]]] = {}
        for s, positions in self.clips:
            clips_of.setdefault(s, []).append(positions)
        retimed: dict[int, list[tuple[list[int], list[float], int]]] = {}
        for s in used:
            meta = self._peek_meta(s)
            if meta is None:
                if self.kind == "4d" or (self.kind == "auto" and self.default_kind == "4d"):
                    bare.append(self.videos[s].name)
                continue
            if self.kind == "auto" and (unread := _unread_kind(meta)) is not None:
                unread_kinds.append(f"{self.videos[s].name} ({unread})")
            key = self._motion_key(meta)
            if key is None and self._kind_of(meta) == "4d":
                bare.append(self.videos[s].name)
            elif key is not None and self._kind_of(meta) == "4d" and old_unit_motion(meta, key):
                (old_synthetic if key == "image_motion_strength" else old_units).append(self.videos[s].name)
            if key is not None and self._kind_of(meta) == "4d" and not 0 <= meta[key] <= 1:
                out_of_range.append(f"{self._meta_name(s)}: {key} {meta[key]!r}")
            if self._kind_of(meta) == "4d" and (timed := self._retime(s, meta, clips_of[s])) is not None:
                retimed[s], lost = timed
                if lost is not None:
                    dropped.append(lost)
        where = ", ".join(str(r) for r in roots)
        if dropped:
            named = "; ".join(lost.text for lost in dropped[:_NAMED_VIDEOS])
            more = len(dropped) - _NAMED_VIDEOS
            warn(f"{where}: {len(dropped)} of {len(used)} videos train as 4D with clips picked evenly in time "
                 f"(variable frame rate, by the frame times of their meta.json) that are not trained: {named}"
                 f"{f'; and {more} more videos' if more > 0 else ''}; {_dropped_advice(dropped)}")
        if retimed:
            self._replace_clips(retimed)
        if out_of_range:  # 3.5 (already x100) trained as 350, in silence
            warn(f"{where}: {len(out_of_range)} of {len(used)} videos have a meta.json motion strength outside 0 to 1 "
                 f"(e.g. {out_of_range[0]}), trained as given (times motion_scale {self.motion_scale:g}): it is the "
                 "per-frame image displacement of moving objects over the shorter side, typically 0.002-0.05 (1: "
                 "crossing the image every frame; docs/conventions.md); a value already scaled (x100) or in pixels?")
        if unread_kinds:  # a hand-written "kind": "static" trained as 4D, in silence
            warn(f"{where}: {len(unread_kinds)} of {len(used)} videos have a meta.json whose kind the dataset does not "
                 f"read (e.g. {unread_kinds[0]}): they train as default_kind {self.default_kind}; give kind 3d or 4d "
                 f"(or verdict static or dynamic, as genxd curate writes it)")
        if bare:
            warn(f"{where}: {len(bare)} of {len(used)} videos train as 4D with no motion strength (no meta.json, or "
                 f"one with none of {', '.join(self.motion_keys)}; e.g. {bare[0]}): they are trained as 4D clips with "
                 f"motion strength 0, which the model then takes for moving objects (0 means still ones); give each a "
                 f"meta.json with its motion_strength (as genxd curate writes it), or train them as 3D (kind: 3d, or "
                 f"default_kind: 3d for the videos without one)")
        if old_units:
            warn(f"{where}: {old_units_advice(len(old_units), len(used), old_units[0])}")
        if old_synthetic:
            warn(f"{where}: {old_units_advice(len(old_synthetic), len(used), old_synthetic[0], synthetic=True)}")

    def _retime(self, scene: int, meta: dict, clips: list[list[int]]
                ) -> tuple[list[tuple[list[int], list[float], int]], _Lost | None] | None:
        """``(kept, lost)`` when one of ``scene``'s ``clips`` taken frame by frame is unevenly spaced in time by
        ``meta``'s frame times (:func:`.frame_times.uneven_clip_steps`: a variable frame rate): ``kept`` are
        ``(frames, even target times, stride)`` of its clips picked evenly in time (:func:`.frame_times.timed_clips`),
        ``lost`` what it lost for the note (:class:`_Lost`), None when nothing. A dropped clip is counted as lost
        to frames without a pose where it would fit had every frame one, else to the video's rate; a video that gives
        no clip, to its poses where all its frames would give one. None to keep the clips taken frame by frame (a
        constant rate, jitter of a few ms, no usable times: frame folders, records before 6e2b619)."""
        times = usable_times(frame_times(meta, self.videos[scene].frames))
        if times is None or not any(uneven_clip_steps([times[p] for p in c]) for c in clips):
            return None
        self._timed[scene] = times
        registered = registered_frames(meta, self.videos[scene].frames)
        if registered is None:  # not recorded for every frame: the COLMAP model says
            registered = self._cameras(scene).valid
        dt = frame_interval(times)
        v = self.videos[scene]
        every = list(range(len(times)))
        kept: list[tuple[list[int], list[float], int]] = []
        example: str | None = None
        missing: str | None = None  # a frame without a pose that a dropped clip needed
        n_dropped = n_posless = 0
        for stride in self.strides:
            good, bad = timed_clips(times, self.num_frames, stride, self.clip_spacing, registered)
            kept += [(positions, targets, stride) for positions, targets in good]
            for positions, targets in bad:
                wanted = nearest_frames(times, every, targets)  # the clip were every frame posed
                if fits(times, wanted, targets, stride * dt):
                    n_posless += 1
                    missing = missing or v.frames[next(p for p in wanted if p not in set(registered))]
                    continue
                n_dropped += 1
                if example is None:
                    example = (f"frames {positions} for steps of {stride * dt:.3g} s from {targets[0]:.3g} s, one "
                               f"{largest_miss(times, positions, targets):.3g} s off")
        left = f"{len(kept)} left" if kept else "none left"
        poses = f"SfM registered {len(registered)} of its {len(times)} frames"
        if n_dropped or n_posless:
            parts = []
            if n_dropped:
                slow = [b - a for a, b in zip(times, times[1:]) if b - a > (1 + UNEVEN_CLIP_TOLERANCE) * dt]
                parts.append(f"{n_dropped} clip{'s' if n_dropped != 1 else ''} of {v.name} dropped ({left}; e.g. "
                             f"{example}): its frames are too far apart for the clip's time step")
            if n_posless:
                parts.append(f"{n_posless} clip{'s' if n_posless != 1 else ''} "
                             f"{'more' if n_dropped else f'of {v.name} dropped ({left})'} for frames without a pose "
                             f"({poses}; e.g. {missing})")
            return kept, _Lost("; and ".join(parts), slow if n_dropped else None, posless=bool(n_posless))
        if not kept:
            step = min(self.strides) * dt
            clip = f"one clip of {self.num_frames} frames at steps of {step:.3g} s ({(self.num_frames - 1) * step:.3g} s"
            if any(timed_clips(times, self.num_frames, stride, self.clip_spacing)[0] for stride in self.strides):
                span = times[registered[-1]] - times[registered[0]] if registered else 0.0
                return kept, _Lost(f"{v.name} gives no clip for frames without a pose: {poses}, which span "
                                   f"{span:.3g} s, less than {clip})", None, posless=True)
            return kept, _Lost(f"{v.name} gives no clip: its frames span {times[-1] - times[0]:.3g} s, less than "
                               f"{clip}; the step is the interval most of its frames have)", None, short=True)
        return kept, None

    def _replace_clips(self, retimed: dict[int, list[tuple[list[int], list[float], int]]]) -> None:
        """Put each ``retimed`` video's clips in place of those taken frame by frame (in the same place of
        ``self.clips``), keeping their target times for :meth:`_pick`; a video none of whose clips fits gives none
        (named in the note of :meth:`_check_records`; not in ``num_skipped_scenes``, which counts videos with too
        few frames)."""
        clips: list[tuple[int, list[int]]] = []
        done: set[int] = set()
        for s, positions in self.clips:
            if s not in retimed:
                clips.append((s, positions))
            elif s not in done:  # the first of the video's old clips: all its new ones; the later old ones go
                done.add(s)
                for new_positions, targets, stride in retimed[s]:
                    self._clip_targets[len(clips)] = (targets, stride)
                    clips.append((s, new_positions))
        if not clips:
            raise ValueError(f"{type(self).__name__}: no video has clips that fit their frame times")
        self.clips = clips

    def _pick(self, index: int, scene: int, wanted: list[int], cams: _Cameras) -> tuple[list[int], float]:
        """A clip picked in time (:meth:`_retime`, among the frames with a pose) is read from its frames; its motion
        strength, a speed per extracted frame (``genxd curate``'s median over frame pairs: per frame interval where
        the rate is the video's usual one), is taken ``stride`` times, its step being ``stride`` intervals
        (:func:`.frame_times.frame_interval`). Where the COLMAP model lacks a pose that ``meta.json`` says a frame has
        (a model made again), each is read from the frame with a pose nearest its time, with a warning once per video.
        Other clips are read as taken frame by frame."""
        timed = self._clip_targets.get(index)
        if timed is None:
            if len(cams.valid) < self.num_frames:  # an archived video's, a text model's (_check_registered_counts: others)
                v = self.videos[scene]
                where = v.folder / "0" if v.folder is not None else f"{v.archive.path}: {v.prefix}0/"  # type: ignore[union-attr]
                raise ValueError(f"{where}: the COLMAP model registers {len(cams.valid)} of the {len(v.frames)} images "
                                 f"of {v.name}, fewer than a clip's {self.num_frames} frames (its clips would repeat "
                                 f"frames): curate the video again or remove it")
            return super()._pick(index, scene, wanted, cams)
        targets, stride = timed
        valid = set(cams.valid)
        if all(p in valid for p in wanted):
            return wanted, float(stride)
        if scene not in self._posless_warned:
            self._posless_warned.add(scene)
            missing = [self.videos[scene].frames[p] for p in wanted if p not in valid]
            warn(f"{self.videos[scene].name}: meta.json marks frames registered that its COLMAP model 0/ has no pose "
                 f"for (e.g. {missing[0]}): its clips picked in time are read from the nearest frames with a pose, "
                 f"which may repeat; curate it again, or correct the frames' registered in meta.json")
        return nearest_frames(self._timed[scene], cams.valid, targets), float(stride)

    def _peek_meta(self, scene: int) -> dict | None:
        """The video's ``meta.json`` for the checks above, not kept (30,000 of them would be held in memory); None
        without one, ``{}`` for one that is not a JSON object (the error is raised when a clip of it is loaded)."""
        if not self.videos[scene].has_meta():
            return None
        try:
            meta = json.loads(self._meta_bytes(scene))
        except (ValueError, RecursionError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def _meta_name(self, scene: int) -> str:
        """The video's ``meta.json`` as a message names it: its path, or ``ARCHIVE: member PREFIXmeta.json``."""
        v = self.videos[scene]
        if v.folder is not None:
            return str(v.folder / "meta.json")
        assert v.archive is not None
        return f"{v.archive.path}: member {v.prefix}meta.json"

    def _meta_bytes(self, scene: int) -> bytes:
        """The raw ``meta.json`` of a video that has one (:meth:`_Video.has_meta`), from its folder or archive."""
        v = self.videos[scene]
        if v.folder is not None:
            return (v.folder / "meta.json").read_bytes()
        assert v.archive is not None  # a video is in a folder or in an archive
        return v.archive.read(v.prefix + "meta.json")

    def _scan(self, folder: Path, limits: ArchiveLimits | None, max_depth: int, left_out: CamVidLeftOut) -> None:
        """Add the sample folders and archives under ``folder`` (``max_depth`` levels). Links to folders are searched
        as the folders they name, each folder once (a loop of links, two links to one video): a linked video folder
        was left out without a word. Folders holding half a video (``images/`` without a model ``0/``, ``0/`` without
        ``images/`` or with its frames in sub-folders of it) are added to ``left_out`` (archives' too)."""
        seen: set[str] = set()
        half: set[str] = set()  # the folders added to left_out
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            depth = len(Path(dirpath).relative_to(folder).parts)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # hidden: temporary / partial
            here = Path(dirpath)
            model = any((here / "0" / f"cameras.{e}").is_file() for e in ("bin", "txt"))
            if "images" in dirnames and model:
                frames = sorted(f for f in os.listdir(here / "images") if _is_image(f))
                if not frames and _has_image_below(here / "images"):  # 0 frames: a scene too short, said as such
                    left_out.nested_images.append(str(here))
                else:
                    self.videos.append(_Video(name=here.name, frames=frames, folder=here))
                dirnames[:] = []
                continue
            if ("images" in dirnames or model) and not any(str(p) in half for p in here.parents):
                (left_out.no_images if model else left_out.no_model).append(str(here))  # not its sparse/ again
                half.add(str(here))
            for f in sorted(filenames):
                if f.lower().endswith(".zip"):
                    self._add_archive(here / f, limits, left_out)
            if depth >= max_depth:
                dirnames[:] = []

    def _add_archive(self, path: Path, limits: ArchiveLimits | None, left_out: CamVidLeftOut | None = None) -> None:
        """Add the samples of the archive ``path``; its member folders holding half a video are added to
        ``left_out`` as ``ARCHIVE/FOLDER``."""
        if path.suffix.lower() != ".zip":
            raise ValueError(f"{path}: expected a folder or a .zip archive")
        archive = SafeZip(path, limits)
        names = archive.names()
        prefixes = sorted({m.group("prefix") for n in names if (m := _MODEL_RE.match(n))})
        with_images = {m.group("prefix") for n in names if (m := _IMAGES_RE.match(n)) and _is_image(n)}
        no_model = sorted(with_images - set(prefixes))
        if left_out is not None:
            left_out.no_model.extend(f"{path}/{p}".rstrip("/") for p in no_model)
        for prefix in prefixes:
            frames = sorted(
                n[len(prefix) + len("images/"):]
                for n in names
                if n.startswith(prefix + "images/") and _is_image(n) and "/" not in n[len(prefix) + len("images/"):]
            )
            if not frames:  # said once: a folder of images with its model in sparse/0/ is said as without a model
                if left_out is not None and not any(p and prefix.startswith(p) for p in no_model):
                    nested = any(n.startswith(prefix + "images/") and _is_image(n) for n in names)
                    (left_out.nested_images if nested else left_out.no_images).append(f"{path}/{prefix}".rstrip("/"))
                continue
            name = prefix.rstrip("/").rsplit("/", 1)[-1] or path.stem
            model = [n for n in names if n.startswith(prefix + "0/") and "/" not in n[len(prefix) + 2:]]
            self.videos.append(_Video(name=name, frames=frames, archive=archive, prefix=prefix, model_members=model))

    def scene_names(self) -> list[str]:
        return [v.name for v in self.videos]

    def _num_views(self, scene: int) -> int:
        return len(self.videos[scene].frames)

    def _meta(self, scene: int) -> dict:
        """The video's ``meta.json`` (``{}`` without one), read with its COLMAP model and kept with it only (in the
        cameras' cache of ``cache_size`` videos: every video's, kept for good, grew each DataLoader worker by all
        of them over an epoch)."""
        v = self.videos[scene]
        meta: dict = {}
        try:
            if v.has_meta():
                meta = json.loads(self._meta_bytes(scene))
        except (ValueError, RecursionError) as exc:  # not JSON or UTF-8; nested too deeply; a 4300-digit number
            detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
            raise ValueError(f"{v.name}: meta.json is not valid JSON ({detail})") from None
        return meta if isinstance(meta, dict) else {}

    def _load_cameras(self, scene: int) -> _Cameras:
        from genxd.cameras import read_colmap_model

        v = self.videos[scene]
        if v.folder is not None:
            model_dir = v.folder / "0"
            model = read_colmap_model(model_dir, allow_distortion=True)
        else:
            with _extracted_model(self._models_dir or _ExtractDir.get(), v) as model_dir:
                try:
                    model = read_colmap_model(model_dir, allow_distortion=True)
                except (ValueError, FileNotFoundError) as exc:  # named the temporary folder it was extracted to
                    said = str(exc).replace(str(model_dir), f"{v.archive.path}: {v.prefix}0")  # type: ignore[union-attr]
                    raise (ValueError if isinstance(exc, ValueError) else FileNotFoundError)(said) from None
        where = str(model_dir) if v.archive is None else f"{v.archive.path}: {v.prefix}0/"
        model_K, model_lenses = pinhole_views(model.camera_models, model.camera_params, model.heights, model.widths,
                                              model.K.float(), self.undistort, where, model.image_names)
        meta = self._meta(scene)
        model_K = self._square_still_camera(scene, meta, model_K, model.heights, model.widths)
        lenses: list[Lens | None] | None = None if model_lenses is None else [None] * len(v.frames)
        sizes: list[tuple[int, int] | None] = [None] * len(v.frames)
        exact, by_key = _name_index(model.image_names)
        frame_keys = Counter(name_key(frame) for frame in v.frames)  # a frame's key that another frame shares: exact only
        n = len(v.frames)
        c2w = torch.eye(4).repeat(n, 1, 1)
        K = torch.eye(3).repeat(n, 1, 1)
        valid = []
        for p, frame in enumerate(v.frames):
            j = exact.get(frame, exact.get(f"images/{frame}"))
            if j is None and frame_keys[key := name_key(frame)] == 1:
                j = by_key.get(key)
            if j is not None:
                c2w[p], K[p] = model.c2w[j].float(), model_K[j]
                sizes[p] = (model.heights[j], model.widths[j])
                if lenses is not None and model_lenses is not None:  # one is None when the other is
                    lenses[p] = model_lenses[j]
                valid.append(p)
        if not valid:
            raise ValueError(f"{v.name}: the COLMAP model registers none of the {n} images")
        points = model.points_xyz.float() if model.points_xyz.numel() else None
        return _Cameras(c2w, K, valid, points, meta, lenses, sizes)

    def _square_still_camera(self, scene: int, meta: dict, model_K: Tensor, heights: list[int],
                             widths: list[int]) -> Tensor:
        """``model_K`` with fy = fx in pixels for an old still-camera curation
        (:func:`genxd.curation.static_camera.square_still_camera`), with a warning once per run (per loader worker)
        naming the video."""
        from genxd.curation.static_camera import OLD_STILL_CAMERA, square_still_camera

        square = square_still_camera(meta, model_K, heights, widths)
        if square is None:
            return model_K
        if not getattr(self, "_square_warned", False):
            self._square_warned = True
            warn(f"{self.videos[scene].name}: {OLD_STILL_CAMERA}; this and other such videos (not named again) are "
                 f"rewritten by re-curating them (remove their folders and run genxd curate again)")
        return square

    def _view_name(self, scene: int, position: int) -> str:
        v = self.videos[scene]
        if v.folder is not None:
            return str(v.folder / "images" / v.frames[position])
        assert v.archive is not None
        return f"{v.archive.path}: member {v.prefix + 'images/' + v.frames[position]!r}"

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        v = self.videos[scene]
        if v.folder is not None:
            return [_read_image(v.folder / "images" / v.frames[p]) for p in positions]
        assert v.archive is not None
        return [_decode_image(v.archive.read(member), f"{v.archive.path}: member {member!r}")
                for member in (f"{v.prefix}images/{v.frames[p]}" for p in positions)]

    def _kind_of(self, meta: dict) -> str:
        """``"3d"`` / ``"4d"``: ``kind``, else what ``meta`` says (``kind``, else ``verdict``), else ``default_kind``."""
        if self.kind != "auto":
            return self.kind
        stored = str(meta.get("kind", "")).lower()
        verdict = str(meta.get("verdict", "")).lower()
        if stored in ("3d", "4d"):
            return stored
        if verdict in ("static", "dynamic"):
            return "3d" if verdict == "static" else "4d"
        return self.default_kind

    def _motion_key(self, meta: dict) -> str | None:
        """The first of ``motion_keys`` that ``meta`` gives a finite number for (None: motion strength 0)."""
        for key in self.motion_keys:
            value = meta.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                return key
        return None

    def _kind_and_motion(self, scene: int, cams: _Cameras) -> tuple[str, float]:
        meta = cams.meta
        key = self._motion_key(meta)
        motion = 0.0 if key is None else float(meta[key])
        return self._kind_of(meta), motion * self.motion_scale
