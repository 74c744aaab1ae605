"""The checkpoint folders of a training run (``OUTPUT_DIR/checkpoints/checkpoint-NNNNNNN``), without torch:
the command line checks them before it loads the trainer (seconds of imports)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHECKPOINT_PREFIX", "list_checkpoints", "existing_run_error"]

CHECKPOINT_PREFIX = "checkpoint-"


def list_checkpoints(checkpoint_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints in ``checkpoint_dir`` (those with ``training_state.json``), oldest first."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)
             and (p / "training_state.json").is_file()]
    return sorted(found, key=lambda p: p.name)


def existing_run_error(output_dir: str | os.PathLike) -> FileExistsError | None:
    """The error for starting a fresh run over ``output_dir`` when it already holds checkpoints, else None."""
    existing = list_checkpoints(Path(output_dir) / "checkpoints")
    if not existing:
        return None
    return FileExistsError(f"{output_dir} already holds checkpoints (newest {existing[-1].name}); pass --resume latest "
                           "to continue, or --overwrite to start over")
