"""Video ids: the folder name of each curated video (``OUT/VIDEO_ID/``) and its key in ``index.jsonl``.

An ASCII name keeps its letters, digits, ``.``, ``_`` and ``-`` and has every other run replaced by ``_``
(``my clip.mp4`` -> ``my_clip``), as since the first release: datasets curated before resume under the same ids.
A name with other characters keeps letters and digits of every script too (``café``, ``東京``, ``видео``);
when anything of it was replaced (a space, a symbol, a byte that is not text in the file system's encoding) or
cut (a name too long for a folder), it ends with 8 hex digits of the whole name's hash, so two names never share
an id. Names are read as UTF-8 whatever the locale, so a video keeps its id under ``LC_ALL=C``. Before, every character outside ASCII was dropped: ``café`` became ``caf``, and ``東京.mp4``, ``大阪.mp4``
and ``видео.mp4`` all became ``video`` (one folder then refused, "several inputs map to the same video id").
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Set as AbstractSet

from ..utils.paths import as_utf8, name_key

__all__ = ["MAX_ID_BYTES", "earlier_ids", "hashed_video_id", "settle_clashes", "safe_video_id"]

#: the longest id of a name outside ASCII, in UTF-8 bytes: its folder and the hidden ``.VIDEO_ID.xxxx.part``
#: folder it is built in stay under the 255 bytes of a file name on common file systems
MAX_ID_BYTES = 200


def _ascii_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "video"


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, between characters."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _in_file_system_encoding(video_id: str) -> str:
    """``video_id`` as the file system names its folder: the same UTF-8 bytes under every locale (itself under
    UTF-8; under ``LC_ALL=C`` with Python's UTF-8 mode off, the letters outside ASCII as escaped bytes)."""
    return os.fsdecode(video_id.encode("utf-8", "surrogateescape"))


def safe_video_id(text: str) -> str:
    """The video id of ``text`` (a file or folder name, or parent names joined by ``__``): safe as a folder name;
    ASCII names as they always were; other names distinct from each other (see the module's description)."""
    if text.isascii():
        return _ascii_id(text)
    text = as_utf8(text)  # the id the same video got before (a resume finds it)
    kept = re.sub(r"[^\w.-]+", "_", text).strip("._")
    if kept == text and len(kept.encode("utf-8")) <= MAX_ID_BYTES:
        return _in_file_system_encoding(kept)
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    kept = _cut(kept, MAX_ID_BYTES - len(digest) - 1).strip("._")
    return _in_file_system_encoding(f"{kept}_{digest}" if kept else digest)


def hashed_video_id(video_id: str, name: str) -> str:
    """``video_id`` and 8 hex digits of the hash of ``name`` (the input's path)."""
    return f"{video_id}_{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


def settle_clashes(ids: list[str], tries: list[str | None], names: list[str]) -> list[str]:
    """``ids`` that share no folder on a case-insensitive file system (:func:`~genxd.utils.paths.name_key`: ``IMG_1``
    and ``img_1``, one folder on macOS and Windows).

    An id that clashes with no other stays as it is (a resumed curation finds it). A clashing id takes its
    alternative ``tries[i]`` (the file suffix added, a parent folder more; None: none); the ids so chosen that
    still clash take 8 hex digits of the hash of ``names[i]`` (the input's path) instead. One without an
    alternative whose partners took theirs keeps its id (``Clip/`` frames beside ``clip.mp4``: ``Clip``,
    ``clip_mp4``). ValueError when ids still clash (the same name given twice)."""
    counts = Counter(name_key(i) for i in ids)
    clashing = [counts[name_key(i)] > 1 for i in ids]
    chosen = [t if c and t is not None else i for i, t, c in zip(ids, tries, clashing)]
    counts = Counter(name_key(i) for i in chosen)
    out = [hashed_video_id(i, n) if c and counts[name_key(x)] > 1 else x
           for i, c, n, x in zip(ids, clashing, names, chosen)]
    counts = Counter(name_key(i) for i in out)
    dupes = sorted({i for i in out if counts[name_key(i)] > 1})
    if dupes:
        raise ValueError(f"several inputs map to the same video id: {', '.join(dupes)}")
    return out


def _folder_name(video_id: str) -> bool:
    """Whether an id read back from ``index.jsonl`` is one folder's name in ``OUT`` (a hand-edited line is not)."""
    return bool(video_id) and os.path.basename(video_id) == video_id and "\\" not in video_id \
        and not video_id.startswith(".")


def earlier_ids(sources: list, latest: dict[str, dict], out_dir: os.PathLike, given: AbstractSet[str] = frozenset()) -> list:
    """``sources`` with the ids an earlier run on ``out_dir`` gave the same inputs, where the rules for ids have
    changed since (2026-12-05 and -06: videos alike up to case): a source whose id has no record in ``latest`` (the
    last index record of each id) nor a folder in ``out_dir``, while the index holds exactly one other id recorded
    for its path, takes that id, unless another source of the run has or takes an id alike it up to case. Without
    this a resumed curation curated such videos again under the new ids, the old folders left beside them (the
    dataset then held each twice). ``given``: the paths of sources whose ids the caller chose, kept as they are."""
    from dataclasses import replace

    by_source: dict[str, set[str]] = {}
    for video_id, record in latest.items():
        if isinstance(record, dict) and isinstance(record.get("source"), str):
            by_source.setdefault(record["source"], set()).add(video_id)
    taken = Counter(name_key(s.video_id) for s in sources)
    claims: dict[str, list[tuple[int, str]]] = {}
    for i, source in enumerate(sources):
        path = str(source.path)
        if path in given or source.video_id in latest or os.path.lexists(os.path.join(out_dir, source.video_id)):
            continue
        before = by_source.get(path, set()) - {source.video_id}
        if len(before) != 1:
            continue
        old = next(iter(before))
        if _folder_name(old) and not taken[name_key(old)]:
            claims.setdefault(name_key(old), []).append((i, old))
    kept = list(sources)
    for claim in claims.values():
        if len(claim) == 1:
            i, old = claim[0]
            kept[i] = replace(sources[i], video_id=old)
    return kept
