"""The job summary file of ``genxd generate`` / ``genxd fewshot`` (``--summary``): whether a path may take it.

The summary itself is written by :func:`genxd.pipelines.distributed.write_summary` (``{"num_inputs", ...,
"command", "out", "results"}``). A summary that a job wrote is replaced by the next run of a job (a rerun with
``--skip-existing`` reports on the whole input list again); any other existing file is the user's, and is only
replaced with ``--overwrite``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from .utils.io import check_output_file
from .validation import InvalidValue, arg, overwrite_hint

__all__ = ["check_summary_file", "check_summary_apart", "is_job_summary"]

#: a file larger than this is not read to see whether it is a summary (a job's summary is ~200 bytes an input)
_MAX_SUMMARY_BYTES = 64 * 2**20


def is_job_summary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a summary JSON that a genxd job wrote (a regular file; its ``command`` and
    ``results`` fields)."""
    path = Path(path)
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > _MAX_SUMMARY_BYTES:
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("command") in ("generate", "fewshot") \
        and isinstance(data.get("results"), list)


def check_summary_file(path: str | os.PathLike, overwrite: bool) -> Path:
    """``path`` as a place for the summary: a file name whose folder is writable (not a folder), and either new,
    a summary an earlier job wrote, or ``overwrite``; a one-line error naming ``--summary`` otherwise."""
    label = f"summary file ({arg('summary')})"
    path = check_output_file(path, label)
    if os.path.lexists(path) and not overwrite and not is_job_summary(path):
        raise FileExistsError(f"{label} {path} already exists and is not a genxd summary ({overwrite_hint()}, or "
                              "give another file name)")
    return path


def check_summary_apart(summary: str | os.PathLike | None, folders: Sequence[Path], inputs: Sequence[object]) -> None:
    """Refuse a ``summary`` path that is one of the job's output ``folders`` or inside one (``inputs[i]`` makes
    ``folders[i]``): an input named ``summary.json.png`` has ``OUT/summary.json`` as its folder, the default summary
    of a launch of several processes, which was then written by nobody (the folder took its place) after the whole
    job, and the other processes stopped with a traceback. Paths are compared resolved (a symbolic link to a folder
    counts as that folder)."""
    if summary is None:
        return
    resolved = Path(summary).resolve()  # once; each folder resolved too: through symbolic links
    for folder, source in zip(folders, inputs):
        place = Path(folder).resolve()
        if resolved.is_relative_to(place):
            relation = "is" if resolved == place else "lies inside"
            raise InvalidValue(f"the summary file {summary} {relation} the output folder of {source}: give "
                               f"{arg('summary')} another file name")
