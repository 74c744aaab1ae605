"""Curate many videos: resumable, parallel (local processes here, or a Ray cluster through
:mod:`genxd.curation.ray_engine`), failures recorded.

Layout of the output folder::

    OUT/index.jsonl        one JSON line per finished attempt: video_id, source, status ("ok" or
                           "failed"), verdict/motion_strength or stage/reason, seconds, time
    OUT/VIDEO_ID/...       one folder per curated video (see genxd.curation.pipeline)
    OUT/.curate.lock       held (flock) while a run writes to OUT

Resuming: a video whose folder holds ``meta.json`` is done and skipped. A video is built in a
hidden temporary folder and renamed into place only when complete, so a killed run leaves no
half-written video folder (stale temporary folders are removed by the next run). If a run dies
between the rename and the index line, the next run adds the missing line from ``meta.json``.
Failed videos are skipped on later runs unless ``retry_failed`` is set, but for failures of the machine, not of the
video (:data:`RETRIED_STAGES`: a full disk, a forbidden folder, a worker without the mask/depth model's package),
which are always tried again. The mask and depth models and the Ray address are checked before anything is
written (a bad one is one ``ValueError``, and no output folder is created). The index is only
appended to, each line written whole under an exclusive lock (the last line of a video wins).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..utils.io import append_line, check_writable_dir
from ..utils.json_files import read_json
from ..utils.stages import StageCallback
from ..utils.json_text import json_text
from ..utils.motion_units import mentions_old_units, old_unit_motion, old_units_advice
from ..validation import (CURATE_WORKERS, Flag, GenXDWarning, InvalidType, arg, caller_style, check, setting,
                          text_setting, warn)
from ..utils.paths import parts_below, path_argument
from .frames import VideoSource, discover_videos
from .pipeline import META_NAME, CurationConfig, curate_video, video_record
from .local_engine import run_local
from .ray_engine import check_ray_address, check_ray_task_cpus, run_ray, start_or_join_ray
from .run_settings import (changed_settings, recorded_settings, result_settings, source_changed,
                           warn_changed_sources, warn_other_settings)
from .run_summary import DatasetSummary, index_size
from .video_ids import INDEX_NAME as _INDEX_NAME, unique_video_ids

__all__ = [
    "INDEX_NAME",
    "LOCK_NAME",
    "RETRIED_STAGES",
    "DatasetSummary",
    "curate_dataset",
    "read_index",
    "latest_records",
    "append_index",
    "check_models",
    "check_ray_address",
    "RunLockedError",
    "unique_video_ids",
]

INDEX_NAME = _INDEX_NAME  # no video's id (genxd.curation.video_ids.safe_video_id)
#: Failure stages that say nothing about the video (the machine's: a full disk, a forbidden folder; "setup": the
#: worker could not use ``mask_model``/``depth_model``, e.g. ``transformers`` missing on a Ray node): tried again
#: on the next run without ``retry_failed``.
RETRIED_STAGES = frozenset({"environment", "setup"})
LOCK_NAME = ".curate.lock"


class RunLockedError(RuntimeError):
    """Another ``genxd curate`` run is writing to the same output folder."""


def read_index(out_dir: str | os.PathLike, start: int = 0, end: int | None = None) -> list[dict[str, Any]]:
    """All records of ``OUT/index.jsonl`` in order (those of the lines in bytes ``[start, end)``: a run's own lines,
    see :attr:`DatasetSummary.records`). Lines that are not a record (a torn last line, a line that
    is not UTF-8 text, not JSON, or not a JSON object) are ignored, as the index is only a log: a finished
    video's ``meta.json`` says it is done."""
    path = Path(out_dir) / INDEX_NAME
    if not path.exists():
        return []
    if not path.is_file():
        raise IsADirectoryError(f"{path}: expected the curation index file, found a folder")
    records = []
    with open(path, "rb") as fh:
        fh.seek(start)
        at = start
        for raw in fh:
            if end is not None and at >= end:  # lines a later run appended
                break
            at += len(raw)
            try:
                line = raw.decode("utf-8-sig").strip()  # a byte order mark (the file re-saved on Windows): no record lost
            except UnicodeDecodeError:
                continue
            if not line:
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # not JSON, nested too deeply, a number of over 4300 digits
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def latest_records(out_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The last index record of each video id (records without a string ``video_id`` are ignored)."""
    return {r["video_id"]: r for r in read_index(out_dir) if isinstance(r.get("video_id"), str)}


def _retried(record: dict[str, Any]) -> bool:
    """A failed record whose stage is one of :data:`RETRIED_STAGES` (a failure of the machine)."""
    stage = record.get("stage")
    return isinstance(stage, str) and stage in RETRIED_STAGES


def append_index(out_dir: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a single line, whole or not at all (:func:`genxd.utils.io.append_line`: a full disk
    raises, naming the index, instead of leaving a torn line that swallowed the next record), under an exclusive
    lock, flushed to disk."""
    append_line(Path(out_dir) / INDEX_NAME, json_text(record, sort_keys=False), lock=True, sync=True)


@contextlib.contextmanager
def _run_lock(out_dir: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; curated unlocked, as on a file system without locks
        yield
        return

    try:
        fd = os.open(out_dir / LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o644)
    except IsADirectoryError:  # not the errno text alone ('Is a directory: out/.curate.lock')
        raise IsADirectoryError(f"{out_dir / LOCK_NAME}: expected the curation's lock file, found a folder; move it "
                                "out of the dataset folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(f"another genxd curate run is writing to {out_dir}") from None
        except OSError as exc:  # e.g. NFS without its lock service (ENOLCK): curate anyway, and say what is lost
            warnings.warn(GenXDWarning(
                f"cannot lock {out_dir / LOCK_NAME} ({exc.strerror or type(exc).__name__}): the file system has no "
                "file locks, so nothing stops a second genxd curate run writing to the same folder at the same "
                "time; run one at a time there"), stacklevel=4)
        yield
    finally:
        os.close(fd)  # releases the lock


def _clean_stale_parts(out_dir: Path) -> int:
    """Remove temporary ``.VIDEO_ID....part`` folders and Ray run markers (``.genxd-run-*``) left by killed
    runs (we hold the run lock): those named as :func:`~genxd.utils.io.temp_name` names them, by any host (Ray's
    workers write from theirs) and process; any hidden ``.*.part`` folder went (a folder of the user's in OUT)."""
    from ..utils.io import is_temp_name

    removed = 0
    for path in out_dir.glob(".*.part"):
        if is_temp_name(path.name) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    for path in out_dir.glob(".genxd-run-*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _curate_task(source: VideoSource, out_dir: str, config: CurationConfig,
                 on_stage: StageCallback | None = None, caller_name: str = "python",
                 shared_marker: str | None = None, on_note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run in a worker: curate one video, never raise for a bad video. ``caller_name``: the parent's
    :func:`genxd.validation.caller`, so that reasons name ``--max-frames`` for the command line and
    ``max_frames`` for Python (a worker process starts as Python).

    A retried attempt (its worker died, Ray or the local pool ran it again) finds the video done
    when the first attempt renamed its folder into place before dying: the record then comes from
    that folder's ``meta.json`` (``recovered``), so a video is written once whatever the retries.

    ``shared_marker`` (Ray): a file the parent wrote in ``out_dir``; a node that does not see it has another
    folder under that name (not a shared file system), and writing there would lose the video on that node's disk
    while the parent recorded it as done: the task fails with stage ``setup`` instead (the next run tries again).

    ``on_note`` (in this process only, as ``on_stage``): :func:`curate_video`'s.
    """
    with caller_style(caller_name):  # the setup's reasons too (--out / --mask-model: out_dir / mask_model)
        return _curate_one(source, out_dir, config, on_stage, shared_marker, on_note)


def _curate_one(source: VideoSource, out_dir: str, config: CurationConfig, on_stage: StageCallback | None,
                shared_marker: str | None, on_note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`_curate_task`'s work, in the caller's wording."""
    if shared_marker is not None:
        unseen = _unshared_reason(source, Path(out_dir), shared_marker)
        if unseen is not None:
            return video_record(source, "failed", stage="setup", reason=unseen)
    meta_path = Path(out_dir) / source.video_id / META_NAME
    if meta_path.exists():
        return _record_from_meta(source, meta_path)
    try:
        _check_models_once(config)  # checked in the parent too; a Ray node may still lack transformers
    except (ValueError, OSError) as exc:
        return video_record(source, "failed", stage="setup", reason=f"{exc}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GenXDWarning)  # kept in the record, shown by the parent (_show_warnings)
        record = curate_video(source, out_dir, config, on_stage=on_stage, on_note=on_note)
    if record.get("status") != "ok" and meta_path.exists():  # another attempt of this video won the rename
        return _record_from_meta(source, meta_path)
    record.setdefault("settings", result_settings(config))
    return record


def _unshared_reason(source: VideoSource, out_dir: Path, marker: str) -> str | None:
    """Why this node cannot curate ``source`` into the parent's ``out_dir`` (None when it can): the folder or the
    input is not on a file system this node shares with the parent."""
    import socket

    node = socket.gethostname()
    if not (out_dir / marker).is_file():
        return (f"the output folder {out_dir} is not the same folder on node {node} (its run marker {marker} is "
                f"not there): {arg('out_dir')} must be on a file system every Ray node shares")
    if not source.path.exists():
        return (f"the input {source.path} is not on node {node}: the inputs must be on a file system every Ray "
                "node shares")
    return None


#: (mask_model, depth_model) pairs this process found usable (:func:`check_models`).
_CHECKED_MODELS: set[tuple[str | None, str | None]] = set()


def check_models(config: CurationConfig) -> None:
    """Raise a one-line error (``ValueError``, ``FileNotFoundError``) naming ``--mask-model``/``--depth-model``
    unless the models of ``config`` can be loaded here: ``transformers`` importable and each folder a model of
    the right kind (config, weights, image processor; no weights are read)."""
    if config.mask_model is not None:
        from .masks import check_mask_model

        check_mask_model(config.mask_model)
    if config.depth_model is not None:
        from .depth import check_depth_model

        check_depth_model(config.depth_model)


def _check_models_once(config: CurationConfig) -> None:
    key = (config.mask_model, config.depth_model)
    if key == (None, None) or key in _CHECKED_MODELS:
        return
    check_models(config)
    _CHECKED_MODELS.add(key)


def _make_progress(enabled: bool, total: int):
    """The bar over ``total`` videos (genxd's one kind of bar; draws nothing unless ``enabled``)."""
    from ..utils.progress import progress_bar

    return progress_bar(total=total, desc="curate", unit="video", disable=not enabled)


def _show_status(bar, status: str, advance: int = 0) -> None:
    """Put ``status`` (counts, the video and stage at work) after the bar and advance it by ``advance`` videos;
    redrawn at the bar's own pace (a log file gets a line every few seconds, not one per stage)."""
    bar.set_postfix_str(status, refresh=False)
    bar.update(advance)


def curate_dataset(
    inputs: str | os.PathLike | Iterable[str | os.PathLike | VideoSource],
    out_dir: str | os.PathLike,
    config: CurationConfig | None = None,
    workers: int = 1,
    ray_address: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_note: Callable[[str, str], None] | None = None,
) -> DatasetSummary:
    """Curate every video of ``inputs`` into ``out_dir`` (see the module docstring).

    Args:
        inputs: a video file, a folder (see :func:`discover_videos`), or a list of them.
        out_dir: dataset folder (created).
        config: per-video settings; ``num_threads`` is split between workers when left at -1.
        workers: local worker processes (ignored with Ray).
        ray_address: run each video as a Ray task on this cluster (``"auto"``, ``"ray://host:10001"``,
            ``"local"`` for a local Ray instance). Needs the optional ``ray`` package.
        retry_failed: also redo videos whose last record is a failure.
        progress: show a progress bar over videos (on stderr).
        on_record: called with each record of this run as it is counted (in the parent process): each video's
            as it finishes, and first those the run finds (finished videos without their index line, damaged
            folders). The run keeps no records (see :class:`DatasetSummary`).
        on_note: called with ``(video_id, warning)`` as soon as a warning that matters while the video runs is
            known (``NAME is long: N frames go to SfM``, before its minutes of SfM), from videos curated in this
            process (``workers=1``); such a warning is not shown again when the video ends (its record keeps it).
            Without it, or from worker processes and Ray, it is shown when the video ends, as the others.
    Raises:
        RunLockedError: another run holds ``out_dir``.
        ValueError / FileNotFoundError: bad inputs or settings, an unusable mask or depth model
            (:func:`check_models`), no ``ray`` package or nothing answering at ``ray_address``
            (:func:`check_ray_address`), ``num_threads`` above any Ray node's CPUs; raised before ``out_dir`` is
            created or written to.
    """
    if config is not None and not isinstance(config, CurationConfig):
        raise InvalidType(f"{arg('config')} must be a CurationConfig or None, got {type(config).__name__}")
    config = config or CurationConfig()
    workers = check(workers, CURATE_WORKERS, "workers")
    retry_failed = check(retry_failed, Flag(), "retry_failed")  # "no" retried every failed video
    for name, value, what in (("on_record", on_record, "a record"), ("on_note", on_note, "(video_id, warning)")):
        if value is not None and not callable(value):
            raise InvalidType(f"{arg(name)} must be a function of {what} or None, got {value!r} "
                              f"({type(value).__name__})")
    if ray_address is not None and not isinstance(ray_address, str):
        raise InvalidType(f"{arg('ray_address')} must be an address ('auto', 'ray://host:10001', 'local') or None, "
                          f"got {ray_address!r} ({type(ray_address).__name__})")
    if ray_address is not None and workers != 1:  # it was dropped without a word
        warn(f"{setting('workers', workers)} is not used with {text_setting('ray_address', ray_address)}: Ray runs "
             f"one task per video on the cluster's CPUs, {arg('num_threads')} CPUs each")
    inputs, out_dir = _checked_paths(inputs, out_dir)
    chosen = {os.path.abspath(i.path) for i in inputs if isinstance(i, VideoSource)}
    sources = _collect_sources(inputs, out_dir)
    # before a model is checked or Ray started (a local Ray was started, then left, for a file given as out_dir)
    check_writable_dir(out_dir, arg("out_dir"))  # a file there was mkdir's "[Errno 17] File exists: 'x'"
    # checked before anything is written: a bad model or Ray address leaves no folder, lock or index line
    check_models(config)
    if ray_address is not None:
        ray, started = start_or_join_ray(ray_address)
        check_ray_task_cpus(ray, config, started_here=started)  # before anything is written
    if not sources:  # nothing to curate: no folder, lock or index made (genxd curate EMPTY_FOLDER left OUT/.curate.lock)
        end = index_size(out_dir / INDEX_NAME)  # ended: records is this run's none, not a later run's lines
        return DatasetSummary(out_dir=out_dir, total=0, skipped=0, index_start=end, index_end=end)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _run_lock(out_dir):
        _clean_stale_parts(out_dir)
        summary = DatasetSummary(out_dir=out_dir, total=len(sources), skipped=0,
                                 index_start=index_size(out_dir / INDEX_NAME))
        # the earlier index is read for the plan only and let go before any video runs: held for the whole run, it
        # kept every earlier record in memory (20,000 videos: 60 MiB; benchmarks/bench_curate_driver_memory.py)
        todo = _plan(sources, out_dir, config, summary, retry_failed, on_record, chosen)

        if todo:
            counts: Counter = Counter()
            shown: dict[str, list[str]] = {}  # warnings handed to on_note, by video, until the video ends
            with _make_progress(progress, len(todo)) as bar:

                def done(record: dict[str, Any]) -> None:  # a video finished: index, counts, bar, caller
                    append_index(out_dir, record)  # the record of truth: the summary keeps counts only
                    _show_warnings(record, shown.pop(str(record.get("video_id")), []))
                    summary.count(record)
                    counts[record.get("status", "failed")] += 1
                    _show_status(bar, _status_text(counts), advance=1)
                    if on_record is not None:
                        on_record(record)

                def on_stage(video_id: str, stage: str) -> None:
                    _show_status(bar, f"{_status_text(counts)}  {video_id}: {stage}")

                def note(video_id: str, warning: str) -> None:  # passed on only where on_note is given
                    shown.setdefault(video_id, []).append(warning)
                    if on_note is not None:
                        on_note(video_id, warning)

                if ray_address is not None:
                    run_ray(todo, out_dir, config, ray, _curate_task, done, _clean_stale_parts)
                else:
                    run_local(todo, out_dir, config, workers, _curate_task, done, on_stage, _clean_stale_parts,
                              on_note=note if on_note is not None else None)
            _clean_stale_parts(out_dir)  # left by attempts whose worker was killed (then retried)
        summary.index_end = index_size(out_dir / INDEX_NAME)  # under the lock: this run's lines end here
    return summary


def _checked_paths(inputs: Any, out_dir: Any) -> tuple[list[Path | VideoSource], Path]:
    """``curate_dataset``'s ``inputs`` (as a list; ``~`` expanded) and ``out_dir`` as paths, else a ValueError or
    TypeError naming them: ``""`` meant the current folder (``inputs=""`` curated every video there), and ``None``
    or a number was Python's unnamed ``expected str, bytes or os.PathLike object``. The list is read twice: the
    sources whose ids the caller chose keep them (:func:`_plan`)."""
    what = "a video file or folder path"
    if isinstance(inputs, (str, os.PathLike, VideoSource)):
        inputs = [inputs]
    elif isinstance(inputs, (bytes, dict)) or not isinstance(inputs, Iterable):
        raise InvalidType(f"{arg('inputs')} must be {what}, or a list of them, got {inputs!r} "
                          f"({type(inputs).__name__})"[:300])
    checked = [item if isinstance(item, VideoSource) else path_argument(item, "inputs", what) for item in inputs]
    return checked, path_argument(out_dir, "out_dir", "a folder path")


def _plan(sources: list[VideoSource], out_dir: Path, config: CurationConfig, summary: DatasetSummary,
          retry_failed: bool, on_record: Callable[[dict[str, Any]], None] | None,
          chosen: AbstractSet[str] = frozenset()) -> list[VideoSource]:
    """The videos to curate: those not done, nor failed before (unless ``retry_failed`` or a failure of the
    machine). Counts in ``summary`` (and gives ``on_record``) the records this finds: finished videos without their
    index line (recovered), folders without ``meta.json`` or with a damaged one (failed). An input the index records
    under an id of earlier rules keeps that id (:func:`~genxd.curation.video_ids.earlier_ids`; ``chosen``: the
    paths whose ids the caller gave)."""
    from .video_ids import earlier_ids, ids_of_their_own, warn_renamed

    latest = latest_records(out_dir)
    sources = earlier_ids(sources, latest, out_dir, chosen)
    sources, renamed = ids_of_their_own(sources, latest, out_dir, chosen)
    warn_renamed(renamed)
    todo: list[VideoSource] = []
    settings = result_settings(config)

    def found(record: dict[str, Any], last: dict[str, Any] | None = None, recovered: bool = False) -> None:
        if recovered:
            append_index(out_dir, record)
        elif not _append_once(out_dir, last, record):
            summary.unlogged.append(record)  # reported again, but not logged again: kept for summary.records
        summary.count(record, recovered=recovered)
        if on_record is not None:
            on_record(record)

    old_units: list[str] = []  # done videos whose motion strength is in the units before 17875fa
    changed: list[tuple[str, str, int, int]] = []  # done videos whose file has another size or mtime now
    # the reasons name folders absolute (normalised, not resolved): a rerun with -o spelt otherwise (relative,
    # absolute, 'a/../out') gives the same reason, so a damaged folder's line is not logged again (_append_once)
    named_out = Path(os.path.abspath(out_dir))
    for source in sources:
        meta_path = out_dir / source.video_id / META_NAME
        last = latest.get(source.video_id)
        if meta_path.exists() and _old_unit_meta(meta_path):
            old_units.append(source.video_id)
        if meta_path.exists() or (last is not None and last.get("status") == "failed" and not retry_failed
                                  and not _retried(last)):
            earlier = changed_settings(recorded_settings(last, meta_path), settings, done=meta_path.exists())
            if earlier:
                summary.note_other_settings(source.video_id, earlier)
        if meta_path.exists():
            done = last
            if last is None or last.get("status") != "ok":
                try:
                    done = _record_from_meta(source, named_out / source.video_id / META_NAME)
                except (ValueError, IsADirectoryError) as exc:  # damaged (or a folder): recorded as no meta.json is
                    found(video_record(source, "failed", stage="output",
                                       reason=f"{exc}; remove {named_out / source.video_id} to redo this video"), last)
                    continue
                found(done, recovered=True)
            sizes = source_changed(done, source.path)  # a changed file was kept without a word
            if sizes is not None:
                changed.append((source.video_id, str(source.path), *sizes))
            summary.skipped += 1
        elif (out_dir / source.video_id).exists():
            found(video_record(source, "failed", stage="output", reason=_no_meta_reason(named_out / source.video_id)),
                  last)
        elif (last is not None and last.get("status") == "failed" and not retry_failed
              and not _retried(last)):
            summary.skipped += 1
            summary.failed_before += 1
        else:
            todo.append(source)
    warn_other_settings(summary.other_settings_count, list(summary.other_settings), summary.earlier_settings, settings)
    warn_changed_sources(changed)
    if old_units:
        warn(f"{out_dir}: {old_units_advice(len(old_units), len(sources), old_units[0])}")
    return todo


def _no_meta_reason(folder: Path) -> str:
    """Why the video whose folder ``folder`` exists without ``meta.json`` is not curated: a curated video that lost it
    (``images/`` or ``0/`` there) is to be removed and redone; anything else is no curated video (a folder of the
    user's named as the video, ``genxd curate videos -o .`` beside ``data/`` and ``data.mp4``), moved away, not
    removed (the advice was to remove it, whatever it held)."""
    if (folder / "images").is_dir() or (folder / "0").is_dir():
        return f"{folder} exists but has no {META_NAME}; remove it to redo this video"
    return (f"{folder} exists and is not a curated video (no {META_NAME}, images/ or 0/ in it); move it out of the "
            f"dataset folder, or curate into another folder, to curate this video")


def _old_unit_meta(meta_path: Path) -> bool:
    """Whether a done video's ``meta.json`` holds a motion strength in the units before 17875fa on non-square frames
    (parsed only when its bytes hold the old units text: a resumed run of 20,000 videos reads each file once)."""
    try:
        data = meta_path.read_bytes()
        return mentions_old_units(data) and old_unit_motion(json.loads(data))
    except (OSError, ValueError, RecursionError, AttributeError):  # damaged: recorded as such by the plan
        return False


def _show_warnings(record: dict[str, Any], shown: Sequence[str] = ()) -> None:
    """Show the warnings of a video's curation here, where the run is watched (they were collected where it ran:
    this process, a worker, a Ray node), each naming the video; not those ``shown`` while it ran (``on_note``)."""
    notes = record.get("warnings")
    for note in notes if isinstance(notes, list) else []:
        if note not in shown:
            warn(f"{record.get('video_id')}: {note}")


def _collect_sources(inputs, out_dir: Path | None = None) -> list[VideoSource]:
    """The videos of ``inputs``; a folder holding ``out_dir`` is searched without it, and an input folder that is
    ``out_dir`` or lies inside it is refused (its frame folders are this dataset's outputs)."""
    if isinstance(inputs, (str, os.PathLike, VideoSource)):
        inputs = [inputs]
    from .video_ids import check_chosen_id, check_chosen_kept

    sources: list[VideoSource] = []
    for item in inputs:
        if isinstance(item, VideoSource):
            check_chosen_id(item)  # before anything is written
        path = Path(item.path if isinstance(item, VideoSource) else item)
        if out_dir is not None and path.is_dir() and parts_below(path, out_dir) is not None:
            raise ValueError(f"input {path} is inside the output folder {out_dir}: its frame folders are curated "
                             f"outputs; give an {arg('out_dir')} folder outside the inputs")
        sources.extend([item] if isinstance(item, VideoSource) else discover_videos(item, skip=out_dir))
    # absolute (not resolved: a link keeps its name): the index and meta.json name the same file whatever folder the
    # run started in, and the same with --ray (whose tasks need absolute paths) and without; a relative input was
    # recorded as given locally and absolute under Ray (found by the Ray-at-scale audit)
    unique = unique_video_ids(sources)
    check_chosen_kept([item for item in inputs if isinstance(item, VideoSource)], sources, unique)
    return [replace(s, path=Path(os.path.abspath(s.path))) for s in unique]


def _append_once(out_dir: Path, last: dict[str, Any] | None, record: dict[str, Any]) -> bool:
    """Append ``record`` to the index unless the video's last record already says the same (a damaged output
    folder is reported by every run, but logged once: the index is not to grow with each rerun); True when
    appended."""
    same = last is not None and all(last.get(k) == record.get(k) for k in ("status", "stage", "reason"))
    if not same:
        append_index(out_dir, record)
    return not same


def _record_from_meta(source: VideoSource, meta_path: Path) -> dict[str, Any]:
    """The ``ok`` record of a finished video from its ``meta.json``; a ValueError naming the file when it is not
    a JSON object (damaged)."""
    meta = read_json(meta_path, f"a video's {META_NAME}")
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
    return video_record(
        source, "ok", verdict=meta.get("verdict"), motion_strength=meta.get("motion_strength"),
        num_frames=meta.get("num_frames"), num_registered=meta.get("num_registered"),
        mean_reprojection_error=meta.get("mean_reprojection_error"), recovered=True,
        **{key: meta[key] for key in ("source_bytes", "source_mtime_ns") if key in meta},
        **({"settings": result_settings(meta["config"])} if isinstance(meta.get("config"), dict) else {}),
    )


def _status_text(counts: Counter) -> str:
    return f"ok {counts['ok']}  failed {counts['failed']}"

