"""The settings a curated video's result depends on, and the check that a rerun on the same output folder asks for
the same ones.

A video already done (or failed) is skipped by the next run on its folder. A run with other settings (``--focal``,
``--motion-threshold``, ``--stride`` ...) kept those results without a word, so a dataset could mix two settings while
its user believed it was all curated with the last one. Each index record now carries the settings its video was
curated with (``settings``; a ``meta.json`` has them in ``config``), and a run whose settings differ for videos it
skips says so in one warning (found by the curation-at-scale audit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeGuard

from ..utils.json_text import json_text
from ..validation import is_cli, setting, warn
from .pipeline import CurationConfig

__all__ = ["FAILURE_ONLY_FIELDS", "NOT_RESULT_FIELDS", "changed_settings", "recorded_settings", "result_settings",
           "source_changed", "source_stamp", "warn_changed_sources", "warn_other_settings"]

#: ``CurationConfig`` fields that do not decide what a video's result is: how fast, on what, how loud.
NOT_RESULT_FIELDS = frozenset({"num_threads", "device", "verbose"})
#: Limits that decide whether a video fails, not what a done one holds: a done video's result is the same under any
#: limit it was within, so they are compared for the failed videos a run keeps only (a video failing for its frames'
#: memory is told to raise ``--max-frame-memory``; the rerun that did warned that every done video had other settings).
FAILURE_ONLY_FIELDS = frozenset({"max_frame_memory_gib"})


def result_settings(config: CurationConfig | dict[str, Any]) -> dict[str, Any]:
    """The fields of ``config`` (a config or the ``config`` of a ``meta.json``) that decide a video's result, as
    JSON gives them back (tuples as lists)."""
    fields = config.to_dict() if isinstance(config, CurationConfig) else config
    return json.loads(json_text({k: v for k, v in fields.items() if k not in NOT_RESULT_FIELDS}))


def recorded_settings(record: dict[str, Any] | None, meta_path: Path | None = None) -> dict[str, Any] | None:
    """The settings a video was curated with: its index record's ``settings``, else (an index written before
    records carried them) the ``config`` of its ``meta.json``; None when neither says."""
    if record is not None and isinstance(record.get("settings"), dict):
        return record["settings"]
    if meta_path is None or not meta_path.is_file():
        return None
    try:
        config = json.loads(meta_path.read_bytes()).get("config")
    except (OSError, ValueError, AttributeError, RecursionError):  # RecursionError: JSON nested too deeply
        return None
    return result_settings(config) if isinstance(config, dict) else None


def changed_settings(before: dict[str, Any] | None, now: dict[str, Any], done: bool = False) -> dict[str, Any]:
    """``{name: earlier value}`` of the settings of ``now`` that ``before`` holds with another value (settings
    ``before`` does not hold, from an older genxd, are not compared; for a ``done`` video, nor
    :data:`FAILURE_ONLY_FIELDS`)."""
    if not isinstance(before, dict):
        return {}
    return {k: before[k] for k, v in now.items()
            if k in before and before[k] != v and not (done and k in FAILURE_ONLY_FIELDS)}


def warn_other_settings(count: int, first_ids: list[str], earlier: dict[str, Any], now: dict[str, Any]) -> None:
    """One warning for the ``count`` skipped videos curated with other settings (``first_ids``: the first few of
    them, all named; ``earlier``: each setting that differed -> an earlier value)."""
    if not count:
        return
    what = ", ".join(f"{setting(name, _shown(name, now[name]))} (was {_shown(name, value)})"
                     for name, value in earlier.items())
    more = count - len(first_ids)
    named = ", ".join(first_ids) + (f" and {more} more" if more > 0 else "")
    warn(f"{count} videos already curated in this folder were curated with other settings, and are kept as they "
         f"were: {what} ({named}); to redo them with these settings, curate into another folder or remove their "
         f"folders (failed ones: {'--retry-failed' if is_cli() else 'retry_failed=True'})")


def _shown(name: str, value: Any) -> str:
    """A setting's value as the caller writes it; ``resize``'s width and height (a list, as JSON gives them back) as
    ``--resize 512x256`` takes them, or as the ``(512, 256)`` of Python (they were named ``[512, 256]``)."""
    if value is None:
        return "none"
    if name == "resize" and isinstance(value, (list, tuple)) and len(value) == 2:
        return "x".join(map(str, value)) if is_cli() else str(tuple(value))
    return str(value)


def source_stamp(path: str | Path) -> tuple[int, int] | None:
    """``(size in bytes, modification time in ns)`` of a video file, recorded with its result (``source_bytes``,
    ``source_mtime_ns``) to tell on a rerun that another file is at its path, or the file was rewritten in place (a
    re-export or a repair of the same length); None for a frames folder or what cannot be read (summing a folder's
    frames costs a call per frame on each rerun of each video). One ``stat``, links followed."""
    try:
        info = Path(path).stat()
    except OSError:
        return None
    import stat

    return (info.st_size, info.st_mtime_ns) if stat.S_ISREG(info.st_mode) else None


def source_changed(record: dict[str, Any] | None, path: str | Path) -> tuple[int, int] | None:
    """``(bytes then, bytes now)`` when the file ``path`` that a done video's ``record`` (its index line, or one made
    from its ``meta.json``) was curated from has another size or modification time now (the same size twice when only
    the time differs); None when it has not, or when the record or the file does not tell (a frames folder; a result
    written before records carried the size, or the time: that one is not compared). ``path`` is read only when the
    record holds a size (one ``stat`` per done video on a resumed run)."""
    if record is None or not _whole_number(then := record.get("source_bytes")):
        return None
    stamp = source_stamp(path)
    if stamp is None:
        return None
    then_ns = record.get("source_mtime_ns")
    if then != stamp[0] or (_whole_number(then_ns) and then_ns != stamp[1]):
        return then, stamp[0]
    return None


def _whole_number(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def warn_changed_sources(changed: list[tuple[str, str, int, int]]) -> None:
    """One warning for the done videos whose file has another size or modification time than the one they were
    curated from (``changed``: ``(video_id, path, bytes then, bytes now)``, the same size where only the time differs;
    the first few named): they are kept as they were, as every done video is, but a card's ``GOPR0001.MP4`` copied
    over the last one's, or a copy still running when it was curated, was kept without a word."""
    if not changed:
        return
    from .run_summary import FAILED_IDS_KEPT

    one = len(changed) == 1
    named = ", ".join(f"{vid} ({path}: {then} bytes then, {now} now)" if then != now else
                      f"{vid} ({path}: {now} bytes then and now, but modified since)"
                      for vid, path, then, now in changed[:FAILED_IDS_KEPT])
    more = len(changed) - FAILED_IDS_KEPT
    warn(f"{len(changed)} {'video' if one else 'videos'} changed since {'it was' if one else 'they were'} curated and "
         f"{'is' if one else 'are'} kept as {'it was' if one else 'they were'}: {named}"
         + (f" and {more} more" if more > 0 else "")
         + f"; to curate {'it' if one else 'them'} again, remove {'its folder' if one else 'their folders'}")
