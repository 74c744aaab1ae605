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
import stat
from collections import Counter
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from ..utils.paths import as_utf8, name_key
from ..validation import InvalidValue

__all__ = [
    "INDEX_NAME", "MAX_ID_BYTES", "NAME_MAX", "check_chosen_id", "check_chosen_kept", "earlier_ids", "hashed_video_id",
    "ids_of_their_own", "settle_clashes", "safe_video_id", "unique_video_ids", "warn_renamed",
]

#: the longest id of a name outside ASCII, in UTF-8 bytes: its folder and the hidden ``.VIDEO_ID.xxxx.part``
#: folder it is built in stay under the 255 bytes of a file name on common file systems
MAX_ID_BYTES = 200
#: The longest name of a folder on common file systems, in bytes: a longer id (which never worked) is cut to
#: :data:`MAX_ID_BYTES` with a hash; ASCII ids up to this are kept whole (ids of earlier datasets)
NAME_MAX = 255


def _ascii_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "video"


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, between characters."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _in_file_system_encoding(video_id: str) -> str:
    """``video_id`` as the file system names its folder: the same UTF-8 bytes under every locale (itself under
    UTF-8; under ``LC_ALL=C`` with Python's UTF-8 mode off, the letters outside ASCII as escaped bytes)."""
    return os.fsdecode(video_id.encode("utf-8", "surrogateescape"))


#: The dataset folder's index file (``OUT/index.jsonl``, :mod:`genxd.curation.dataset`): no video's id, up to case.
INDEX_NAME = "index.jsonl"


def safe_video_id(text: str) -> str:
    """The video id of ``text`` (a file or folder name, or parent names joined by ``__``): safe as a folder name;
    ASCII names as they always were; other names distinct from each other (see the module's description). A name
    whose id would be the index's (``index.jsonl.mp4``, a frames folder ``index.jsonl``, any letter case) ends with
    8 hex digits of its hash: its folder took the index's name, and no run on that folder could write its index. So
    does one past the :data:`NAME_MAX` bytes of a folder's name (an ASCII name with its folders', a searched folder's
    deep path), cut as a long name outside ASCII is: the run stopped with "File name too long" before any video."""
    video_id = _safe_video_id(text)
    if name_key(video_id) == name_key(INDEX_NAME):
        return hashed_video_id(video_id, text)
    if len(video_id.encode("utf-8", "surrogateescape")) > NAME_MAX:
        digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        return f"{_cut(video_id, MAX_ID_BYTES - len(digest) - 1).strip('._')}_{digest}"
    return video_id


def check_chosen_id(source) -> None:
    """Raise ``ValueError`` (``InvalidType`` for no string) unless ``source.video_id``, an id its caller chose (a
    ``VideoSource`` given), is one folder name of the dataset folder: not empty, at most 255 bytes, no ``/``, ``\\``
    or NUL, not ``.``-first (the folder's own hidden files: a killed run's ``.VIDEO_ID.xxxx.part`` folders, which the
    next run removes), not the index's name (any letter case)."""
    from ..validation import InvalidType, InvalidValue

    video_id = source.video_id
    if not isinstance(video_id, str):
        raise InvalidType(f"video id {video_id!r} of {source.path} must be one folder name: a string, got "
                          f"{type(video_id).__name__}")
    if not video_id:
        why = "not empty"
    elif any(c in video_id for c in "/\\\0"):
        why = "no '/', '\\' or NUL"
    elif video_id.startswith("."):
        why = "not starting with '.' (the dataset folder's own hidden files)"
    elif name_key(video_id) == name_key(INDEX_NAME):
        why = f"not {INDEX_NAME}, the dataset's index"
    elif len(video_id.encode("utf-8", "surrogateescape")) > NAME_MAX:
        why = "at most 255 bytes"
    else:
        return
    raise InvalidValue(f"video id {video_id!r} of {source.path} must be one folder name: {why}")


def check_chosen_kept(chosen: list, given: list, settled: list) -> None:
    """Raise ``ValueError`` where :func:`unique_video_ids` changed an id its caller chose (``chosen``: the
    ``VideoSource`` inputs; ``given``: every source of the run; ``settled``: as it returned them), because another
    input has the same id up to letter case: the caller's ids were replaced by ids of their paths without a word."""
    ids: dict[Path, str] = {}
    for s in chosen:
        ids.setdefault(Path(s.path).resolve(), s.video_id)  # the same input given twice: the first is kept
    for source in settled:
        key = Path(source.path).resolve()
        if key not in ids or source.video_id == ids[key]:
            continue
        video_id = ids[key]
        other = next((s.path for s in given if Path(s.path).resolve() != key
                      and name_key(s.video_id) == name_key(video_id)), None)
        if other is None:  # given again (a folder holding it came first): that one is kept, as before
            continue
        raise InvalidValue(f"video id {video_id!r} of {source.path} is also the id of {other}: give each input an id "
                           "of its own (ids alike up to letter case are one folder on macOS and Windows)")


def _safe_video_id(text: str) -> str:
    """:func:`safe_video_id` before the index's name is kept free."""
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
    """``video_id`` and 8 hex digits of the hash of ``name`` (the input's path); ``video_id`` cut where both would
    pass :data:`NAME_MAX` bytes."""
    if len(video_id.encode("utf-8", "surrogateescape")) > NAME_MAX - 9:
        video_id = _cut(video_id, MAX_ID_BYTES - 9).strip("._")
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
    dataset then held each twice). A path no record names is compared by the file it is (links resolved: the index
    records paths as given), so that a video given through a link (``v/link.mp4 -> clip.mp4``, curated as ``clip``)
    resumes under its id too; it was curated again as ``link``. ``given``: the paths of sources whose ids the caller
    chose, kept as they are."""
    from dataclasses import replace

    by_source: dict[str, set[str]] = {}
    for video_id, record in latest.items():
        if isinstance(record, dict) and isinstance(record.get("source"), str):
            by_source.setdefault(record["source"], set()).add(video_id)
    by_file: dict[str | None, set[str]] | None = None  # by_source by the file each path is: built when first needed
    taken = Counter(name_key(s.video_id) for s in sources)
    claims: dict[str, list[tuple[int, str]]] = {}
    for i, source in enumerate(sources):
        path = str(source.path)
        if path in given or source.video_id in latest or os.path.lexists(os.path.join(out_dir, source.video_id)):
            continue
        if path not in by_source:  # another spelling of a recorded path (through a link): the same file
            if by_file is None:  # one realpath per recorded path, once, and only for a run with inputs not recorded
                by_file = {}
                for recorded, ids in by_source.items():
                    by_file.setdefault(_file_of(recorded), set()).update(ids)
                by_file.pop(None, None)
            before = by_file.get(_file_of(path), set()) - {source.video_id}
        else:
            before = by_source[path] - {source.video_id}
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


def _file_of(path: str) -> str | None:
    """The file ``path`` is, links resolved (``os.path.realpath``); None for a path no file can have (a NUL in an
    index line's ``source`` written by hand)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


#: How many bytes of each end of two files :func:`_same_content` compares (with their sizes).
_COMPARED_BYTES = 1 << 20


def _same_content(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` hold the same video: one file, or files of one size whose first and last MiB are the
    same (a copy), or frame folders of the same file names and sizes. True where that cannot be read (an input not
    told apart is resumed, as before)."""
    try:
        if os.path.samefile(a, b):
            return True
        if os.path.isdir(a) and os.path.isdir(b):
            def listing(folder: str) -> list[tuple[str, int]]:
                with os.scandir(folder) as entries:
                    return sorted((e.name, e.stat().st_size) for e in entries if e.is_file())

            return listing(a) == listing(b)
        first, second = os.stat(a), os.stat(b)
        if not (stat.S_ISREG(first.st_mode) and stat.S_ISREG(second.st_mode)) or first.st_size != second.st_size:
            return False  # not opened: a named pipe would block the run
        size = first.st_size
        with open(a, "rb") as fa, open(b, "rb") as fb:
            if fa.read(_COMPARED_BYTES) != fb.read(_COMPARED_BYTES):
                return False
            at = max(0, size - _COMPARED_BYTES)
            fa.seek(at)
            fb.seek(at)
            return fa.read() == fb.read()
    except OSError:
        return True


def _recorded_source(video_id: str, latest: dict[str, dict], out_dir: os.PathLike) -> str | None:
    """The input the output folder holds ``video_id`` for: its last index record's ``source``, else its ``meta.json``'s
    (a folder whose index line is missing); None when neither says."""
    import json

    record = latest.get(video_id)
    if isinstance(record, dict):
        source = record.get("source")
        return source if isinstance(source, str) else None
    try:
        meta = json.loads((Path(out_dir) / video_id / "meta.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    source = meta.get("source") if isinstance(meta, dict) else None
    return source if isinstance(source, str) else None


def _one_folder_more(source, video_id: str) -> str | None:
    """``video_id`` with the name of one folder more above ``source`` than it names (``GOPR0001`` of
    ``card2/GOPR0001.MP4``: ``card2__GOPR0001``; ``sub__clip`` of ``r2/sub/clip.mp4``: ``r2__sub__clip``); None when the
    id is not of the path's names or no folder is left above them."""
    path = Path(source.path)
    stem = path.with_suffix("") if source.kind == "video" else path
    parts = stem.parts
    for depth in range(1, len(parts)):
        for suffix in ("", f"_{path.suffix.lstrip('.')}") if source.kind == "video" else ("",):
            if safe_video_id("__".join(parts[-depth:]) + suffix) == video_id:
                above = parts[-depth - 1]
                return None if above == stem.anchor else safe_video_id("__".join(parts[-depth - 1:]) + suffix)
    return None


def ids_of_their_own(sources: list, latest: dict[str, dict], out_dir: os.PathLike,
                     given: AbstractSet[str] = frozenset()) -> tuple[list, list[tuple[object, str, str]]]:
    """``sources`` where none has the id the output folder ``out_dir`` holds for another video (cameras name the
    files of every card alike: ``card2/GOPR0001.MP4`` curated into a folder that holds ``card1/GOPR0001.MP4`` as
    ``GOPR0001``, which it was skipped as): such a source takes the id the index records for its path (one only), else
    one folder's name more (``card2__GOPR0001``), else 8 hex digits of its path's hash. Another video: the input
    recorded for the id is another path, still there, of other content (:func:`_same_content`: not the same video
    moved or copied, which is resumed). ``latest``: the last index record of each id; ``given``: the paths of sources
    whose ids the caller chose, kept as they are. Returns the sources and, for each source given a new id (not one an
    earlier run gave it), ``(source, the id taken, the input it is taken by)``."""
    from dataclasses import replace

    by_source: dict[str, set[str]] = {}
    for video_id, record in latest.items():
        if isinstance(record, dict) and isinstance(record.get("source"), str):
            by_source.setdefault(record["source"], set()).add(video_id)
    in_run = Counter(name_key(s.video_id) for s in sources)
    kept, changed = list(sources), []

    def free(video_id: str, path: str) -> bool:
        """No other input of the run has ``video_id`` and the folder holds nothing under it but ``path``'s."""
        held = video_id in latest or os.path.lexists(os.path.join(out_dir, video_id))
        return not in_run[name_key(video_id)] and (not held or _recorded_source(video_id, latest, out_dir) == path)

    for i, source in enumerate(sources):
        path = str(source.path)
        if path in given or not (source.video_id in latest or os.path.lexists(os.path.join(out_dir, source.video_id))):
            continue
        owner = _recorded_source(source.video_id, latest, out_dir)
        if owner is None or owner == path:
            continue
        before = by_source.get(path, set()) - {source.video_id}
        earlier = next(iter(before)) if len(before) == 1 else None
        if earlier is not None and _folder_name(earlier) and not in_run[name_key(earlier)]:
            new = earlier  # the id an earlier run gave it for this reason
        elif not os.path.isabs(owner) or not os.path.lexists(owner) or _same_content(owner, path):
            continue  # the same video, moved or copied (or not told apart): resumed
        else:
            wider = _one_folder_more(source, source.video_id)
            new = wider if wider is not None and free(wider, path) else hashed_video_id(source.video_id, path)
            changed.append((replace(source, video_id=new), source.video_id, owner))
        in_run[name_key(source.video_id)] -= 1
        in_run[name_key(new)] += 1
        kept[i] = replace(source, video_id=new)
    return kept, changed


def warn_renamed(renamed: list[tuple[Any, str, str]]) -> None:
    """One warning for the videos given an id of their own because the output folder holds theirs for another
    video (:func:`ids_of_their_own`), naming the first few."""
    from ..validation import warn
    from .run_summary import FAILED_IDS_KEPT as FIRST_NAMED

    if not renamed:
        return
    shown = "; ".join(f"{taken} ({source.path}, beside {owner}); curated as {source.video_id}"
                      for source, taken, owner in renamed[:FIRST_NAMED])
    more = len(renamed) - FIRST_NAMED
    count = f"{len(renamed)} video has" if len(renamed) == 1 else f"{len(renamed)} videos have"
    warn(f"{count} the id of another video already in this folder: {shown}"
         + (f"; and {more} more" if more > 0 else ""))


def unique_video_ids(sources: list) -> list:
    """The sources with distinct video ids (order kept).

    The same path given twice counts once. Different inputs whose ids collide (two folders both called
    ``frames``, ``a/clip.mp4`` and ``b/clip.mp4``) take as many of their parent folders' names as needed
    to differ: ``a__frames`` and ``b__frames`` (as always). Inputs no parent tells apart (``clip.mp4`` and the
    frames folder ``clip/`` of one folder, or ``clip.mp4`` and ``clip.mov`` given as files) take no parent: a
    video's id takes its file suffix (``clip_mp4``, as a folder searched gives it), else 8 hex digits of its
    path's hash. Ids that then differ only in letter case or Unicode normalisation (``a/Clip.mp4`` and
    ``b/clip.mp4``: one folder on macOS and Windows) take one parent folder more than their id names when that
    tells them apart (``a__Clip``, ``b__clip``; ``r1__sub__Clip`` for ``sub__Clip`` of a folder ``r1`` searched),
    else 8 hex digits of their path's hash (``A/clip.mp4`` and ``a/clip.mp4`` on Linux: ``A__clip_`` and 8 hex
    digits); other ids are unchanged. Ids depend only on the paths, so a rerun with the same inputs finds the same
    ids (and resumes).
    """
    from dataclasses import replace

    seen: set[Path] = set()
    unique: list = []
    for source in sources:
        key = Path(source.path).resolve()
        if key not in seen:
            seen.add(key)
            unique.append(source)
    paths = [Path(s.path).resolve() for s in unique]
    stems = [p.with_suffix("") if s.kind == "video" else p for s, p in zip(unique, paths)]

    def with_parents(i: int, depth: int, suffix: bool = False) -> str:
        text = "__".join(stems[i].parts[-(depth + 1):])
        return safe_video_id(f"{text}_{paths[i].suffix.lstrip('.')}" if suffix else text)

    def above(i: int, depth: int) -> Path | None:
        """The folder whose name ``depth + 1`` parents would add (None past the root)."""
        return stems[i].parents[depth] if depth < len(stems[i].parents) else None

    ids = [s.video_id for s in unique]
    depth = {i: 0 for i in range(len(unique))}
    stuck: set[int] = set()
    for _ in range(64):  # parents added while ids are the same exactly (ids as before: a resume finds them)
        groups: dict[str, list[int]] = {}
        for i, vid in enumerate(ids):
            groups.setdefault(vid, []).append(i)
        clashing = [g for g in groups.values() if len(g) > 1 and not set(g) <= stuck]
        if not clashing:
            break
        for group in clashing:
            if len({above(i, depth[i]) for i in group}) == 1:  # one folder above them all: no parent tells
                stuck.update(group)
                continue
            for i in group:
                depth[i] += 1
                ids[i] = with_parents(i, depth[i])
    counts = Counter(ids)
    for i in sorted(stuck):  # as a searched folder gives them: a video's suffix, else a hash
        if counts[ids[i]] > 1 and unique[i].kind == "video":
            ids[i] = safe_video_id(f"{ids[i]}_{paths[i].suffix.lstrip('.')}")
    counts = Counter(ids)
    ids = [hashed_video_id(vid, str(paths[i])) if i in stuck and counts[vid] > 1 else vid
           for i, vid in enumerate(ids)]

    def one_parent_more(i: int) -> str:
        """``ids[i]`` with one parent folder more than it names: a searched folder's ``sub__Clip`` (its relative
        path) as ``r1__sub__Clip``, its ``sub__clip_mp4`` as ``r1__sub__clip_mp4``; the path's next parent for an id
        that is not of its path (one given by the caller)."""
        for d in range(depth[i], len(stems[i].parts)):
            for suffix in (False, True) if unique[i].kind == "video" else (False,):
                if with_parents(i, d, suffix) == ids[i]:
                    return with_parents(i, d + 1, suffix)
        return with_parents(i, depth[i] + 1)

    alike: dict[str, list[int]] = {}
    for i, vid in enumerate(ids):
        alike.setdefault(name_key(vid), []).append(i)

    def one_folder(i: int) -> Path | None:
        """The folder of ``ids[i]`` and of every id alike it up to case, when no parent tells them apart."""
        group = alike[name_key(ids[i])]
        folders = {above(j, depth[j]) for j in group}
        return next(iter(folders)) if len(group) > 1 and len(folders) == 1 else None

    # Alike up to case where no parent tells them apart (one folder's Clip.mp4 and clip.MOV given apart: genxd curate
    # v/*): the ids a search of that folder gives, a video's suffix (a frames folder: none), then a hash of the path
    # below it. One parent more, then a hash of the whole path, gave other ids: a curation of the folder resumed
    # with its files given apart curated them again.
    tries = [(with_parents(i, depth[i], suffix=True) if unique[i].kind == "video" else None)
             if one_folder(i) is not None else one_parent_more(i) for i in range(len(unique))]
    hashed = [paths[i].relative_to(folder).as_posix() if (folder := one_folder(i)) is not None else str(paths[i])
              for i in range(len(unique))]
    ids = settle_clashes(ids, tries, hashed)  # ids alike up to case
    return [s if s.video_id == vid else replace(s, video_id=vid) for s, vid in zip(unique, ids)]
