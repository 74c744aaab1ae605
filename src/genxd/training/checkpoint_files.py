"""The checkpoint folders of a training run (``OUTPUT_DIR/checkpoints/checkpoint-NNNNNNN``), without torch:
the command line checks them before it loads the trainer (seconds of imports)."""

from __future__ import annotations

import os
from pathlib import Path

from ..checkpoint_folders import checkpoint_order

__all__ = ["CHECKPOINT_PREFIX", "list_checkpoints", "existing_run_error", "output_dir_error", "resume_error",
           "no_checkpoint_note"]

CHECKPOINT_PREFIX = "checkpoint-"


def list_checkpoints(checkpoint_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints in ``checkpoint_dir`` (those with ``training_state.json``), oldest first."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)
             and (p / "training_state.json").is_file()]
    return sorted(found, key=checkpoint_order)


def existing_run_error(output_dir: str | os.PathLike) -> FileExistsError | None:
    """The error for starting a fresh run over ``output_dir`` when it already holds checkpoints, else None."""
    existing = list_checkpoints(Path(output_dir) / "checkpoints")
    if not existing:
        return None
    return FileExistsError(f"{output_dir} already holds checkpoints (newest {existing[-1].name}); pass --resume latest "
                           "to continue, or --overwrite to start over")


def output_dir_error(output_dir: str | os.PathLike) -> NotADirectoryError | None:
    """The error for an ``output_dir`` that cannot be a folder (it, or a folder above it, is a file), else None."""
    path = Path(output_dir)
    for part in (path, *path.parents):
        if part.exists() or part.is_symlink():
            if part.is_dir():
                return None
            if part == path:
                return NotADirectoryError(f"output_dir {output_dir} exists and is not a folder")
            return NotADirectoryError(f"output_dir {output_dir}: {part} exists and is not a folder")
    return None


def resume_error(resume: str | None, overwrite: bool) -> Exception | None:
    """The error for a ``--resume`` value that cannot be resumed from (with ``overwrite``: they contradict), else
    None. ``latest`` is checked by the run itself (no checkpoint yet: a new run starts)."""
    if resume is None:
        return None
    if overwrite:
        return ValueError(f"--resume {resume} and --overwrite contradict: --resume continues from a checkpoint, "
                          "--overwrite deletes the run's checkpoints and starts over; pass one of them")
    if resume == "latest":
        return None
    if not resume.strip():
        return ValueError("--resume is empty: pass 'latest' or a checkpoint folder")
    path = Path(resume)
    if not path.exists():
        return FileNotFoundError(f"{resume}: no such checkpoint folder")
    if not path.is_dir():
        return NotADirectoryError(f"{resume}: not a checkpoint folder (a file)")
    if not (path / "training_state.json").is_file():
        return FileNotFoundError(f"{resume}: not a training checkpoint (no training_state.json)")
    return None


def no_checkpoint_note(checkpoint_dir: str | os.PathLike) -> str:
    """What ``--resume latest`` says when ``checkpoint_dir`` holds no checkpoint (a new run starts)."""
    return f"no checkpoint in {checkpoint_dir}: starting a new run"
