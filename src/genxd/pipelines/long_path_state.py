"""Long paths that survive an interruption: the windows done so far, kept in the output folder.

A long path (:mod:`genxd.pipelines.long_paths`) takes minutes to hours. While it runs, after every sampling
call, each scene's state is saved in ``OUT/.genxd-partial/NAME/`` (``NAME``: the scene's output folder): the
latents of the frames that call added, as a file of their own (``part-00003-1a2b3c4d.safetensors``: the call's number and the start of
the part's digest, so a run never replaces a part another run's index names; ``latents [k, 4, h, w]`` float32 and
``frames [k]``; the first part holds the inputs' latents too), then the index ``state.safetensors``
(``known [N]``: the frames in the parts; its metadata: a fingerprint of everything that decides the frames,
:meth:`PartialRuns.fingerprint`, :mod:`~genxd.pipelines.long_path_fingerprint`: the model's files, the input image as decoded, the cameras, the plan, seed, steps,
guidance, motion strength, sampler, precision, device kind, offloading, the scenes sampled together, the genxd and
torch versions; and ``parts``: each part's size and digest). Every file is written atomically
(:func:`genxd.utils.io.atomic_file`) and the index last, so a crash at any point leaves the previous index and the
parts it names whole (a part written after it is not named, and is written again). Parts named
``part-00003.safetensors`` (94e5726 until the digest was in the name) are read too. Format 1 and 2 (until
94e5726) rewrote the latents of every frame of the path at every call (``latents [N, 4, h, w]`` in
``state.safetensors``): the bytes written grew with the square of the path (1,024 frames at 256x256: 1.6 GB for a
16 MiB state); they are still read.

The same job run again continues. Before the model loads, a scene's state is checked against the job's
fingerprint and its parts against their digests: one that differs, or a part missing or changed, is refused (the scene fails with a line naming what differs; ``overwrite``
discards it and starts over); a matching one is loaded, the sampling calls whose windows are all known are
skipped and the others run as they would have (the noise of the whole path is drawn once per scene from its
seed; the contexts are the saved latents, bit for bit; the calls group the same windows of the same
scenes), so the frames are bitwise those of an uninterrupted run. The folder is removed once the scene is
written. Reading a state: ``safetensors.safe_open(PATH, "pt").metadata()["fingerprint"]``.

Cost: per scene and call, a file of the frames the call made (a window of 12 frames at 512x512: 0.8 MB) and the
index (a byte a frame and some 30 bytes a call), measured in ``docs/long_paths.md`` against the time of a window.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, overload

import torch
from torch import Tensor

from .. import validation as v
from ..utils.command_line import rerun_command, run_hint
from ..utils.io import atomic_file
from ..utils.json_text import json_text
from ..utils.messages import add_note
from .long_path_fingerprint import (device_kind, image_digest, job_fingerprint, model_files_digest, tensor_digest,
                                    timed_model_files_digest)
from .long_path_plans import LongPathPlan

PARTIAL_FOLDER = ".genxd-partial"
#: the state's format: 3 saves each call's frames as a part and an index (2: every frame in one file at every call;
#: 1: as 2, the model's weights fingerprinted by their modification times, not their bytes)
STATE_FORMAT = 3
STATE_FILE = "state.safetensors"
#: the k-th part of a format-3 state (:meth:`PartialRun.save`) and the first 8 hex digits of its digest
#: (:func:`part_file`)
PART_FILE = "part-{:05d}-{}.safetensors"
#: the k-th part as 94e5726 named it (without its digest: another run's k-th part replaced it), still read
OLD_PART_FILE = "part-{:05d}.safetensors"
#: how genxd plans a path's windows from its cameras: 2 since 2026-12-05 (the exact camera distances of
#: :class:`~genxd.pipelines.long_path_distance.CameraDistances`, which break some ties otherwise than ``torch.cdist``'s
#: did: a path with repeated cameras can get another plan); a state without the entry (formats 1-3 until then) was
#: planned by 1. Not a setting: a state whose plan is the same continues whatever planned it; it explains a plan
#: that differs (:meth:`PartialRuns._refusal`)
#: 3 since 2026-12-06: a 4D / video window too small to hold both inputs around the frames it makes holds the later
#: one (:func:`~genxd.pipelines.long_path_temporal.plan_temporal`: ``plan_temporal(9, [0, 4], 3, 1)`` changed)
#: 4 since 2026-12-07: the progressive 3D plan's first stage takes a full window where one of fewer frames saved no
#: stage (:func:`~genxd.pipelines.long_path_plans.plan_progressive`: a 9-13-frame orbit in windows of 8 was made in
#: windows of 4-6, 4-6 and 8 frames, now 8 and 8)
PLANNER = 4
#: when each planner came (the refusal of a state planned otherwise names the first after the state's)
PLANNER_SINCE = {2: "2026-12-05", 3: "2026-12-06", 4: "2026-12-07"}
#: the settings that made the plan (:attr:`LongPathPlan.settings`), fingerprint entries of their own since 2026-12-05:
#: a plan that differs is another planner's (:data:`PLANNER`) only where they are the same. A state without them
#: (until then) is compared by its plan alone (they decided nothing else)
PLAN_SETTINGS = ("window", "overlap", "anchors", "strategy")
#: fingerprint entries that matter only while windows remain to sample (a complete state is only decoded)
SAMPLING_ONLY = ("batch", "windows_per_call")
#: a state file's header (:meth:`PartialRun.read_header`), None when there is none, or why it cannot be read
_Header = tuple[dict, Tensor] | ValueError | None
#: fingerprint entries that are digests, named in messages by what they stand for
DIGESTS = {"input": "the input image", "cameras": "the camera path", "plan": "the plan of windows",
           "model_files": "the model's files"}
LABELS = {"batch": "scenes sampled together", "windows_per_call": "windows per sampling call", "device": "device",
          "genxd": "genxd version", "torch": "torch version", "format": "state format", "model": "model",
          "strategy": "long-path strategy"}


def part_file(k: int, digest: str) -> str:
    """The file name of the ``k``-th part of a state, whose :func:`tensor_digest` is ``digest``."""
    return PART_FILE.format(k, digest[:8])


def _checked_parts(parts: object) -> list[list]:
    """An index's ``parts`` (``[[size, digest], ...]``, :meth:`PartialRun.save`); a ValueError for anything else
    (a damaged index), which the state's check refuses (and ``overwrite`` discards) as an unreadable file."""
    if not isinstance(parts, list) or not all(
            isinstance(p, list) and len(p) == 2 and type(p[0]) is int and p[0] >= 0 and isinstance(p[1], str)
            for p in parts):
        raise ValueError("its parts entry is not a list of [size, digest] pairs")
    return parts


@dataclass
class Scene:
    """A scene of the job: its output folder's ``name``, its decoded input ``image [3, H, W]`` (or images
    ``[I, 3, H, W]``; float in [0, 1] or uint8) and ``seed``; ``plan``: its own plan where the job's scenes have different paths (``genxd
    fewshot``'s groups; None: the job's), ``settings``: fingerprint entries of its own (its cameras' digest)."""

    name: str
    image: Tensor
    seed: int
    plan: LongPathPlan | None = None
    settings: dict = field(default_factory=dict)


def plan_digest(plan: LongPathPlan) -> str:
    return hashlib.sha256(json_text(plan.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _normalised(obj: Any) -> Any:
    return json.loads(json_text(obj, sort_keys=True))  # NaN as null: equal to itself


class PartialRun:
    """One scene's state: ``folder / state.safetensors`` and its parts (see the module docstring)."""

    def __init__(self, folder: Path, fingerprint: dict, plan: LongPathPlan | None):
        self.folder, self.fingerprint, self.plan = folder, _normalised(fingerprint), plan
        self.known: Tensor | None = None  # [N] bool: the frames in the file (None: no file yet)
        #: the file's ``(fingerprint, known [N] bool)`` as the job's check read it (None: no file)
        self.header: tuple[dict, Tensor] | None = None
        #: a file's header in this format's terms (:meth:`PartialRuns.upgraded`; set by the job's check)
        self.upgrade: Callable[[tuple[dict, Tensor]], tuple[dict, Tensor]] = lambda header: header
        #: the parts the index names (``[size, digest]`` each) and the frames they hold, as restored or saved
        self.parts: list[list] = []
        self.in_parts: Tensor | None = None

    @property
    def path(self) -> Path:
        return self.folder / STATE_FILE

    def read(self, names: Sequence[str] | None) -> tuple[dict, list[list] | None, dict[str, Tensor]]:
        """``(fingerprint, parts (None: a format 1-2 file), {name: tensor})`` (``names`` None: all the file's), in one
        opening; a ValueError naming the file when it cannot be read."""
        from safetensors import safe_open

        try:
            with safe_open(str(self.path), "pt") as f:
                meta = f.metadata() or {}
                fingerprint = json.loads(meta["fingerprint"])
                parts = _checked_parts(json.loads(meta["parts"])) if "parts" in meta else None
                return fingerprint, parts, {name: f.get_tensor(name) for name in (f.keys() if names is None else names)}
        except Exception as exc:  # noqa: BLE001 - missing entries, a damaged file, safetensors' own error type
            raise ValueError(f"{self.path} cannot be read ({' '.join(str(exc).split()) or type(exc).__name__})") from None

    def read_header(self) -> tuple[dict, Tensor] | None:
        """The file's ``(fingerprint, known [N] bool)``; None without a file (a ValueError: :meth:`read`, or a part
        the index names missing, of another size or content (:meth:`_parts`), or the parts holding other frames
        than the index lists). Every part is read (as fast as the disk: 16 MiB for 1,024 frames at 256x256), so
        that a state which cannot be continued is refused before the model loads, where ``overwrite`` discards it."""
        if not self.path.is_file():
            for folder in (self.folder.parent, self.folder):  # found by the first save, after a sampling call
                if folder.exists() and not folder.is_dir():  # a link to a folder (another disk) is one
                    raise NotADirectoryError(f"{folder} is a file, where genxd keeps the windows of a long path (a "
                                             "folder): move it away")
            return None
        fingerprint, parts, tensors = self.read(("known",))
        known = tensors["known"].bool()
        if parts is not None:
            self._check_frames(torch.cat([torch.zeros(0, dtype=torch.int64)]
                                         + [part["frames"].clone() for part in self._parts(parts)]), known)  # not views of every part
        return fingerprint, known

    def _check_frames(self, frames: Tensor, known: Tensor) -> None:
        """A ValueError unless the parts' ``frames`` are those of ``known [N]``, each once."""
        n = known.shape[0]
        if (frames.dtype != torch.int64 or frames.dim() != 1 or not bool(((frames >= 0) & (frames < n)).all())
                or frames.unique().numel() != frames.numel()
                or not torch.equal(torch.zeros(n, dtype=torch.bool).index_fill_(0, frames, True), known)):
            raise self._other_frames()

    def _other_frames(self) -> ValueError:
        return ValueError(f"{self.path} cannot be read (its parts hold other frames than it lists)")

    def _part_path(self, k: int, digest: str) -> Path:
        path = self.folder / part_file(k, digest)
        old = self.folder / OLD_PART_FILE.format(k)
        return old if not path.is_file() and old.is_file() else path

    def _sized_part(self, k: int, size: int, digest: str) -> Path:
        """The ``k``-th part's file; a ValueError naming it when it is missing or not of ``size`` bytes."""
        path = self._part_path(k, digest)
        if not path.is_file() or path.stat().st_size != size:
            raise ValueError(f"{self.path} cannot be read ({path.name}, which it names, is "
                             f"{'missing' if not path.is_file() else 'of another size'})")
        return path

    def _parts(self, parts: list[list]) -> Iterator[dict[str, Tensor]]:
        """The parts the index names, one at a time, each checked against its size and digest (a ValueError naming
        the first missing, of another size, unreadable or of other content)."""
        from safetensors.torch import load_file

        for k, (size, digest) in enumerate(parts):
            path = self._sized_part(k, size, digest)
            try:
                part = load_file(str(path))
                ok = tensor_digest(part["latents"], part["frames"]) == digest
            except Exception as exc:  # noqa: BLE001 - a damaged part, safetensors' own error type
                raise ValueError(f"{self.path} cannot be read ({path.name}: "
                                 f"{' '.join(str(exc).split()) or type(exc).__name__})") from None
            if not ok:
                raise ValueError(f"{self.path} cannot be read ({path.name} is not the part it names)")
            yield part

    def differences(self, header: tuple[dict, Tensor]) -> list[str]:
        """What differs between a file's fingerprint (``header``: :meth:`read_header`) and this run's (``[]``:
        nothing)."""
        saved, known = header
        complete = bool(known.all())
        keys = sorted(set(saved) | set(self.fingerprint))
        return [_difference(k, saved.get(k), self.fingerprint.get(k)) for k in keys if k != "planner"
                and saved.get(k) != self.fingerprint.get(k) and not (complete and k in SAMPLING_ONLY)
                and not (k in PLAN_SETTINGS and (k not in saved or k not in self.fingerprint))]

    def restore(self, latents: Tensor, known: Tensor) -> None:
        """Put the saved frames into ``latents [N, 4, h, w]`` and ``known [N]`` (in place)."""
        if not self.path.is_file():
            return
        saved, parts, data = self.read(None)  # one opening: the fingerprint and the frames (or the parts' names)
        saved, mask = self.upgrade((saved, data["known"].bool()))
        # the fingerprint again: changed since the job's check (another run writing the same folder?)
        if found := self.differences((saved, mask)):
            raise ValueError(f"{self.path}: made with other settings ({'; '.join(found)})")
        if tuple(mask.shape) != tuple(known.shape):
            raise ValueError(f"{self.path}: {tuple(mask.shape)[0]} frames, expected {tuple(known.shape)[0]}")
        if parts is None:  # format 1 or 2: every frame in the file; the next save writes them as the first part
            frames, values = mask.nonzero().flatten(), data["latents"]
            if tuple(values.shape) != tuple(latents.shape):
                raise ValueError(f"{self.path}: latents {tuple(values.shape)}, expected {tuple(latents.shape)}")
            latents[frames] = values[frames].to(latents.dtype)
            in_parts = torch.zeros_like(mask)
        else:  # read again (checked by the job's check too): changed since?
            self._restore_parts(parts, latents, mask)
            in_parts = mask.clone()
        known |= mask
        self.known = known.clone()
        self.parts, self.in_parts = list(parts or []), in_parts

    def _restore_parts(self, parts: list[list], latents: Tensor, mask: Tensor) -> None:
        """Write the parts the index names into ``latents [N, 4, h, w]`` a part at a time (each checked:
        :meth:`_parts`), so that continuing holds one part, not the whole state; a ValueError unless they hold the
        frames of ``mask [N]``, each once. Every part's file, size, frames and latents' shape are checked first
        (:meth:`_part_layout`: not their latents), so that a part gone or changed in shape since the job's check
        leaves ``latents`` as it was (only one whose bytes changed in between is found while writing)."""
        layout = self._part_layout(parts, tuple(latents.shape[1:]), mask)
        for k, part in enumerate(self._parts(parts)):
            if not torch.equal(part["frames"], layout[k]) or part["latents"].shape != (len(layout[k]), *latents.shape[1:]):
                raise self._other_frames()  # changed since its layout was read
            latents[part["frames"]] = part["latents"].to(latents.dtype)

    def _part_layout(self, parts: list[list], frame_shape: tuple[int, ...], mask: Tensor) -> list[Tensor]:
        """Each part's frames; a ValueError unless every part the index names is there, of its size, with latents
        ``[k, *frame_shape]`` for its ``k`` frames, the parts' frames being those of ``mask [N]`` each once (their
        latents are not read)."""
        from safetensors import safe_open

        found = []
        for k, (size, digest) in enumerate(parts):
            path = self._sized_part(k, size, digest)
            try:
                with safe_open(str(path), "pt") as f:
                    shape, frames = tuple(f.get_slice("latents").get_shape()), f.get_tensor("frames")
            except Exception as exc:  # noqa: BLE001 - a damaged part, safetensors' own error type
                raise ValueError(f"{self.path} cannot be read ({path.name}: "
                                 f"{' '.join(str(exc).split()) or type(exc).__name__})") from None
            if tuple(shape[1:]) != frame_shape or frames.dim() != 1 or shape[0] != frames.shape[0]:
                raise ValueError(f"{self.path} cannot be read ({path.name}: latents {tuple(shape)}, expected "
                                 f"[k, {', '.join(map(str, frame_shape))}])")
            if frames.dtype != torch.int64:
                raise self._other_frames()
            found.append(frames)
        self._check_frames(torch.cat([torch.zeros(0, dtype=torch.int64), *found]), mask)
        return found

    def save(self, latents: Tensor, known: Tensor) -> None:
        """Write the frames of ``known`` not saved yet as a part, then the index naming it: each file atomically,
        the index last (a crash leaves the previous index, and the parts it names, whole)."""
        from safetensors.torch import save_file

        known = known.detach().cpu().bool()
        in_parts = self.in_parts if self.in_parts is not None else torch.zeros_like(known)
        new = (known & ~in_parts).nonzero().flatten()
        parts = list(self.parts)
        if len(new):
            part = {"latents": latents.detach()[new.to(latents.device)].float().cpu().contiguous(),
                    "frames": new.to(torch.int64).contiguous()}
            digest = tensor_digest(part["latents"], part["frames"])
            with atomic_file(self.folder / part_file(len(parts), digest)) as tmp:
                save_file(part, str(tmp))
                parts.append([tmp.stat().st_size, digest])
        in_parts = in_parts | known
        with atomic_file(self.path) as tmp:
            save_file({"known": in_parts.to(torch.uint8).contiguous()}, str(tmp),
                      metadata={"fingerprint": json_text(self.fingerprint, sort_keys=True), "parts": json_text(parts)})
        self.parts, self.in_parts, self.known = parts, in_parts, known.clone()

    @property
    def planned(self) -> LongPathPlan:
        """``plan``, which every run of a job has (:meth:`PartialRuns.check` gives it its scene's); a run made only to
        read, restore or remove a state may have none."""
        assert self.plan is not None, f"{self.folder}: a state read without its plan has no windows"
        return self.plan

    def windows_done(self) -> int:
        """Windows of the plan whose new frames are all saved."""
        return 0 if self.known is None else windows_done(self.planned, self.known)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.parent.rmdir()  # the last scene's: no .genxd-partial left behind
        except OSError:
            pass


def windows_done(plan: LongPathPlan, known: Tensor) -> int:
    """Windows of ``plan`` whose new frames are all ``known [N]``."""
    return sum(all(bool(known[f]) for f in w.targets) for w in plan.windows)


def _kept_in(run: PartialRun, header: tuple[dict, Tensor]) -> str:
    """What a refused state (``header``: :meth:`PartialRun.read_header`) holds: ``"2 of 3 windows"`` of ``run``'s
    plan where the state was made with that plan, else ``"8 of 12 frames"`` of its own path (another plan's windows
    are not the state's, and its path may be shorter than this one: ``known [N]`` is the state's ``N``)."""
    saved, known = header
    if saved.get("plan") == run.fingerprint.get("plan") and known.numel() == run.planned.num_frames:
        return f"{windows_done(run.planned, known)} of {len(run.planned.windows)} windows"
    return f"{int(known.sum())} of {known.numel()} frames"


def _difference(key: str, was: Any, now: Any) -> str:
    if key in DIGESTS:
        return f"{DIGESTS[key]} differs"
    name = LABELS.get(key) or v.arg(key)
    return f"{name} {was} (now {now})"


class BatchState:
    """The states of the scenes sampled together (what :func:`~genxd.pipelines.long_paths.sample_long` keeps)."""

    def __init__(self, runs: Sequence[PartialRun]):
        self.runs = list(runs)

    def restore(self, latents: Tensor, known: Tensor) -> None:
        """``latents [B, N, 4, h, w]`` and ``known [B, N]`` filled in place from the saved states."""
        for j, run in enumerate(self.runs):
            run.restore(latents[j], known[j])

    def save(self, latents: Tensor, known: Tensor) -> None:
        for j, run in enumerate(self.runs):
            run.save(latents[j], known[j])


class PartialRuns:
    """The states of a long-path job's scenes in ``out_dir / .genxd-partial``.

    ``job``: the fingerprint entries common to its scenes (:meth:`fingerprint` adds each scene's); ``plan``: the
    scenes' plan (None: each :class:`Scene` has its own); ``model_folder``: the job's model (:func:`job_fingerprint`'s),
    with which a state of an earlier format is read in this one's terms (:meth:`upgraded`)."""

    def __init__(self, out_dir: Path, plan: LongPathPlan | None, job: dict, overwrite: bool = False,
                 show: bool = False, model_folder: Path | None = None):
        self.root, self.plan, self.overwrite, self.show = Path(out_dir) / PARTIAL_FOLDER, plan, overwrite, show
        self.job = {"format": STATE_FORMAT, "planner": PLANNER, **job}
        self.model_folder = model_folder
        self.runs: dict[int, PartialRun] = {}
        self.current: list[int] = []  # the scenes being sampled (batch)
        self.written = False  # a scene of the job is written (the same command would refuse it)

    @classmethod
    def checked(cls, out_dir: Path, plan: LongPathPlan | None, job: dict, scenes: dict[int, Scene], batch_size: int,
                written: Sequence[str], overwrite: bool, show: bool,
                model_folder: Path | None = None) -> tuple[PartialRuns, list[int], dict[int, ValueError]]:
        """A job's states, checked before the model loads (:meth:`check`): ``(states, scenes to sample, {scene: why
        its state is refused})``. ``written``: the names of the scenes whose outputs exist (skipped), whose states
        are removed first (:meth:`forget`; the main process's task: the others pass none)."""
        partials = cls(out_dir, plan, job, overwrite, show, model_folder)
        partials.forget(written)
        ready, refused = partials.check(scenes, batch_size)
        return partials, ready, refused

    def fingerprint(self, scene: Scene, batch: list[str]) -> dict:
        plan = self._plan_of(scene)
        return {**self.job, **scene.settings, **(plan.settings or {}), "plan": plan_digest(plan),
                "input": image_digest(scene.image), "seed": scene.seed, "batch": batch if len(batch) > 1 else None}

    def _plan_of(self, scene: Scene) -> LongPathPlan:
        plan = scene.plan or self.plan
        if plan is None:
            raise ValueError(f"scene {scene.name!r} has no plan and the job none for every scene")
        return plan

    def check(self, scenes: dict[int, Scene], batch_size: int) -> tuple[list[int], dict[int, ValueError]]:
        """``(scenes to sample, in order; {scene: why its state is refused}``): a state made with other settings
        (or unreadable) is refused unless ``overwrite`` (then deleted). A refused scene leaves its batch, which
        changes its batch mates' fingerprints: checked again until no state is refused (each file read once)."""
        ready = list(scenes)
        refused: dict[int, ValueError] = {}
        headers: dict[int, _Header] = {}
        while True:
            new: dict[int, ValueError] = {}
            for k in range(0, len(ready), batch_size):
                batch = ready[k:k + batch_size]
                for i in batch:
                    run = PartialRun(self.root / scenes[i].name, self.fingerprint(scenes[i], [scenes[j].name for j in batch]),
                                     self._plan_of(scenes[i]))
                    run.upgrade = self.upgraded
                    self.runs[i] = run
                    if i not in headers:
                        try:
                            headers[i] = self.upgraded(run.read_header())
                        except ValueError as exc:
                            headers[i] = exc
                    why, headers[i] = self._refusal(run, headers[i])  # None once discarded (overwrite)
                    if why is None:
                        header = headers[i]
                        assert not isinstance(header, ValueError)  # an unreadable state is refused or discarded
                        run.header = header
                    else:
                        new[i] = ValueError(why)
            if not new:
                self._say_continued(ready)
                return ready, refused
            refused.update(new)
            ready = [i for i in ready if i not in new]

    @overload
    def upgraded(self, header: tuple[dict, Tensor]) -> tuple[dict, Tensor]: ...

    @overload
    def upgraded(self, header: None) -> None: ...

    def upgraded(self, header: tuple[dict, Tensor] | None) -> tuple[dict, Tensor] | None:
        """``header`` (:meth:`PartialRun.read_header`) in this format's terms: a format-2 state as this format (its
        fingerprint is the same; its frames are read from its one file, :meth:`PartialRun.restore`); a format-1 state whose model digest
        (:func:`timed_model_files_digest`) is the job's model folder's as it is now gets this job's ``model_files``
        and format, so the state continues after an upgrade of genxd; its 3D motion strength reads 0, as 3D settings
        record it now (42fc5d6: the frames do not use it; an earlier genxd recorded the one given). Any other header
        as it is."""
        if header is not None and header[0].get("format") == 2:  # the same fingerprint; every frame in one file
            return {**header[0], "format": STATE_FORMAT}, header[1]
        if header is None or header[0].get("format") != 1:
            return header
        saved, known = header
        if saved.get("mode") == "3d":
            saved = {**saved, "motion_strength": 0.0}
        if (self.model_folder is not None and "model_files" in self.job
                and saved.get("model_files") == self._timed_model_digest):
            saved = {**saved, "format": STATE_FORMAT, "model_files": self.job["model_files"]}
        return saved, known

    @functools.cached_property
    def _timed_model_digest(self) -> str:
        """The model folder's :func:`timed_model_files_digest` (it reads the small files): once a job."""
        assert self.model_folder is not None  # read only where the job has a model folder (upgraded)
        return timed_model_files_digest(self.model_folder)

    def _refusal(self, run: PartialRun, header: _Header) -> tuple[str | None, _Header]:
        """``(why the state of run is refused, its header after)``: ``header`` is its file's
        (:meth:`PartialRun.read_header`, or why it cannot be read); why is None when the state is usable or there is
        none, or was discarded (``overwrite``: the header after is then None)."""
        replanned = None
        if isinstance(header, ValueError):
            problem = str(header)
        else:
            if header is None or not (found := run.differences(header)):
                return None, header
            if header[0].get("format", self.job["format"]) == self.job["format"]:
                replanned = self._replanned(run, header)
            whose = {"planner": "an interrupted run of an earlier genxd",
                     "maybe": "an interrupted run of an earlier genxd or with other settings"}.get(
                         replanned or "" if len(found) == 1 else "", "an interrupted run with other settings")
            problem = f"{run.folder} holds {_kept_in(run, header)} of {whose}: {'; '.join(found)}"
        if self.overwrite:
            v.warn(f"{problem}; discarded ({v.arg('overwrite')})")
            shutil.rmtree(run.folder, ignore_errors=True)
            return None, None
        saved_format = None if isinstance(header, ValueError) else header[0].get("format", self.job["format"])
        start_over = v.overwrite_hint("pass", purpose="start over")
        if isinstance(saved_format, int) and saved_format < self.job["format"]:
            # not upgraded (:meth:`upgraded`): its model's times changed, and the genxd that wrote it refuses it too
            return (f"{problem}: it cannot be continued (state format {saved_format} fingerprinted the weights by "
                    "their modification times, which have changed: nothing can confirm the same model); "
                    f"{start_over}"), header
        if saved_format is None or isinstance(header, ValueError):  # unreadable: no settings continue it
            return f"{problem}: {start_over}", header
        state_planner = header[0].get("planner", 1)
        # the first planner after the state's: a planner-1 state's plans changed on 2026-12-05, not with planner 3
        since = PLANNER_SINCE.get(state_planner + 1 if isinstance(state_planner, int) else self.job["planner"], "now")
        planners = f"since {since}: planner {self.job['planner']}, the state's {state_planner}"
        if replanned == "planner":
            how = (f"this genxd plans some camera paths otherwise than the one that wrote it ({planners}): that genxd "
                   "can continue it with the settings it was run with")
        elif replanned == "maybe":  # a state that did not record the plan's settings: either may hold
            how = (f"if it was run with this {v.arg('window')}, {v.arg('overlap')} and {v.arg('anchors')}, this genxd "
                   f"plans its camera path otherwise ({planners}) and the genxd that wrote it can continue it with the "
                   "settings it was run with; otherwise run with those settings to continue it")
        elif saved_format == self.job["format"]:
            how = "run with those settings to continue it"
        else:
            how = f"the genxd that wrote it (state format {saved_format}) can continue it"
        return f"{problem}: {how}, or {start_over}", header

    def _replanned(self, run: PartialRun, header: tuple[dict, Tensor]) -> str | None:
        """Whether the state's plan differs because another planner (:data:`PLANNER`) made it: ``"planner"`` where
        both record the same plan settings (:data:`PLAN_SETTINGS`), ``"maybe"`` where either records none (a state
        of before 2026-12-05: other settings may have planned it too), None where the plans are the same, the
        planners are or the settings differ."""
        saved = header[0]
        if saved.get("plan") == run.fingerprint.get("plan") or saved.get("planner", 1) == self.job["planner"]:
            return None
        if not all(k in saved and k in run.fingerprint for k in PLAN_SETTINGS):
            return "maybe"
        return "planner" if all(saved[k] == run.fingerprint[k] for k in PLAN_SETTINGS) else None

    def forget(self, names: Sequence[str]) -> None:
        """Remove the states of the scenes ``names``, whose outputs exist (skipped: a kill between writing a scene
        and removing its state left it)."""
        for name in names:
            if (self.root / name).exists():
                PartialRun(self.root / name, {}, self.plan).remove()

    def _say_continued(self, ready: Sequence[int]) -> None:
        """One line per scene that continues from kept windows (with ``show``)."""
        from ..utils.progress import progress_write

        for i in ready if self.show else ():
            run = self.runs[i]
            if run.header is not None:  # as the check read it
                progress_write(f"genxd: long path: continuing {run.folder.name} from the "
                               f"{windows_done(run.planned, run.header[1])} of {len(run.planned.windows)} windows "
                               f"kept in {run.folder}")

    def batch(self, idx: Sequence[int]) -> BatchState:
        """The states of the scenes ``idx`` (sampled together, now)."""
        self.current = list(idx)
        return BatchState([self.runs[i] for i in idx])

    def done(self, i: int) -> None:
        """The scene is written: its state is removed."""
        self.written = True
        if i in self.runs:
            self.runs.pop(i).remove()

    @contextlib.contextmanager
    def noting_kept(self) -> Iterator[None]:
        """Ctrl-C or SIGTERM within this block carries :meth:`kept_note` (``genxd: interrupted: kept ...``)."""
        try:
            yield
        except KeyboardInterrupt as exc:
            if (kept := self.kept_note()) is not None:
                add_note(exc, kept)
            raise

    def kept_note(self, scenes: Sequence[int] | None = None) -> str | None:
        """One line for an interrupted or failed batch (``scenes``, default the current one): the windows kept and
        how to continue; None when nothing was kept."""
        scenes = self.current if scenes is None else scenes
        runs = [self.runs[i] for i in scenes if i in self.runs and self.runs[i].known is not None]
        if not runs:
            return None
        run = runs[0]
        assert run.known is not None  # runs holds those with frames kept
        names = ", ".join(r.folder.name for r in runs)
        frames = f"{int(run.known.sum())} of {run.planned.num_frames} frames"
        skip = self.written and not self.overwrite
        command = rerun_command(("--skip-existing",) if skip else ())
        if command is not None:
            how = f"to continue, {run_hint(command)}"
        else:
            how = f"to continue, make the same call again{' with skip_existing=True' if skip else ''}"
        return (f"kept {run.windows_done()} of {len(run.planned.windows)} windows ({frames}) of {names} in "
                f"{self.root}; {how}")


__all__ = ["PARTIAL_FOLDER", "PLANNER", "PLAN_SETTINGS", "STATE_FILE", "PART_FILE", "part_file", "STATE_FORMAT", "timed_model_files_digest", "job_fingerprint",
           "PartialRuns", "PartialRun", "BatchState", "Scene", "tensor_digest", "image_digest", "model_files_digest",
           "device_kind"]
