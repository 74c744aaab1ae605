"""The files a training run writes in its folder, as ``--overwrite`` deletes them (:func:`remove_run_outputs`) and a
resumed run trims its ``metrics.jsonl`` (:func:`_drop_rows_after`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..utils.io import atomic_file
from .checkpoint_files import CHECKPOINT_PREFIX, remove_checkpoint

__all__ = ["remove_run_outputs", "remove_unfinished_checkpoints"]


#: What a run writes in its folder, by subfolder: the names (regular expressions, matched against the whole name)
#: that ``--overwrite`` deletes; anything else is left.
_UNFINISHED_NAMES = re.compile(rf"\.{re.escape(CHECKPOINT_PREFIX)}\d+\.part")  # a save stopped by a kill
_CHECKPOINT_NAMES = re.compile(rf"{re.escape(CHECKPOINT_PREFIX)}\d+|\.{re.escape(CHECKPOINT_PREFIX)}\d+\.(part|(\d+\.)?old)")
_VALIDATION_NAMES = re.compile(r"\.?step_\d+_\d+\.mp4(\..*\.part\.mp4)?")  # videos and their unfinished temp files
_LOG_NAMES = re.compile(r"events\.out\.tfevents\..*|hparams\.yml")  # TensorBoard (accelerate): logs/KIND/[TIME/]
_TRACKER_RUNS = ("genxd", "vae")  # accelerate's TensorBoard folders: logs/<the run's kind>


def remove_run_outputs(output_dir: Path, keep_checkpoints: bool = False) -> list[Path]:
    """Delete what earlier runs wrote in ``output_dir`` (``--overwrite``): the ``checkpoints/checkpoint-*`` folders
    and links to checkpoints (unlinked; what they point to stays), unfinished ``.checkpoint-*.part`` folders and set-aside ``.checkpoint-*.old`` (``.checkpoint-*.N.old``) ones, the validation videos ``validation/step_*_*.mp4``, the TensorBoard
    files under ``logs/genxd/`` and ``logs/vae/`` (``events.out.tfevents.*``, ``hparams.yml``) and ``metrics.jsonl``.
    Any other file is kept; the folders that end up empty are removed. ``keep_checkpoints``: the finished
    checkpoints stay and are returned (for the caller to delete once it has a checkpoint of its own)."""
    ckpts = output_dir / "checkpoints"
    kept: list[Path] = []
    if ckpts.is_dir():
        for p in ckpts.iterdir():
            # a link (a kept checkpoint linked in by hand) is the run's too: --resume latest takes it; it is
            # unlinked, never followed (remove_checkpoint); skipped, it stayed and a resume took the old line
            if _CHECKPOINT_NAMES.fullmatch(p.name) and (p.is_symlink() or p.is_dir()):
                if keep_checkpoints and not p.name.startswith("."):
                    kept.append(p)
                else:
                    remove_checkpoint(p)
    videos = output_dir / "validation"
    if videos.is_dir():
        for p in videos.iterdir():
            if _VALIDATION_NAMES.fullmatch(p.name) and (p.is_file() or p.is_symlink()):
                p.unlink()
    logs = output_dir / "logs"
    for run in _TRACKER_RUNS:
        root = logs / run
        if not root.is_dir() or root.is_symlink():
            continue
        for folder, dirs, files in os.walk(root, topdown=False):
            for name in files:
                if _LOG_NAMES.fullmatch(name):
                    os.unlink(os.path.join(folder, name))
            if not os.listdir(folder):
                os.rmdir(folder)
    for made in (ckpts, videos, logs):
        if made.is_dir() and not made.is_symlink() and not any(made.iterdir()):
            made.rmdir()
    metrics = output_dir / "metrics.jsonl"
    if metrics.is_file():
        metrics.unlink()
    return kept


def remove_unfinished_checkpoints(checkpoint_dir: Path, keep: Path | None = None) -> str | None:
    """Delete the unfinished checkpoints ``.checkpoint-NNNNNNN.part`` in ``checkpoint_dir`` (a save a kill stopped:
    a later save of the same step removed its own, any other stayed, as large as a checkpoint) but ``keep`` (the
    folder a run resumes from, as odd as that is); the note naming those deleted, None when there were none. Call
    with the run folder's lock held: no other run is writing one."""
    removed = []
    if checkpoint_dir.is_dir():
        for p in sorted(checkpoint_dir.iterdir()):
            if _UNFINISHED_NAMES.fullmatch(p.name) and p.is_dir() and not p.is_symlink() \
                    and (keep is None or not os.path.samefile(p, keep)):
                remove_checkpoint(p)
                removed.append(p.name)
    if not removed:
        return None
    return f"note: removed {', '.join(removed)} in {checkpoint_dir}: unfinished (a save stopped by a kill)"


def _drop_rows_after(metrics: Path, step: int | None) -> None:
    """Remove the rows of ``metrics.jsonl`` logged after ``step`` (a run resumed from that step's checkpoint logs
    those steps again: they appeared twice), rewriting the file atomically; lines that are not a row with a step
    are kept as they are. No file, or no ``step`` (none resumed): nothing to do."""
    if step is None or not metrics.is_file():
        return
    lines = metrics.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True)

    def logged_after(line: str) -> bool:
        try:
            row = json.loads(line.removeprefix("\ufeff"))  # a byte order mark (a Windows editor's): still a row
        except (ValueError, RecursionError):  # not a row (a line nested too deeply is kept as it is, too)
            return False
        at = row.get("step") if isinstance(row, dict) else None
        return isinstance(at, int) and not isinstance(at, bool) and at > step

    kept = [line for line in lines if not logged_after(line)]
    if len(kept) == len(lines):
        return
    with atomic_file(metrics) as tmp:
        tmp.write_text("".join(kept), encoding="utf-8", errors="surrogateescape")
