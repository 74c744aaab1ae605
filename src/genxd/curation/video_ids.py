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

from ..utils.paths import name_key

__all__ = ["MAX_ID_BYTES", "distinct_ids", "safe_video_id"]

#: the longest id of a name outside ASCII, in UTF-8 bytes: its folder and the hidden ``.VIDEO_ID.xxxx.part``
#: folder it is built in stay under the 255 bytes of a file name on common file systems
MAX_ID_BYTES = 200


def _ascii_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "video"


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, between characters."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _as_utf8(text: str) -> str:
    """A file name's bytes read as UTF-8 whatever the locale: under ``LC_ALL=C`` Python reads ``café`` from the
    file system as ``caf`` and two undecodable bytes, and the id would differ from the one the same video got
    before (a resume would curate it again). Bytes that are not UTF-8 stay escaped (surrogates)."""
    try:
        return os.fsencode(text).decode("utf-8", "surrogateescape")
    except UnicodeError:  # not a name from the file system: characters its encoding cannot hold
        return text


def _in_file_system_encoding(video_id: str) -> str:
    """``video_id`` as the file system names its folder: the same UTF-8 bytes under every locale (itself under
    UTF-8; under ``LC_ALL=C`` with Python's UTF-8 mode off, the letters outside ASCII as escaped bytes)."""
    return os.fsdecode(video_id.encode("utf-8", "surrogateescape"))


def safe_video_id(text: str) -> str:
    """The video id of ``text`` (a file or folder name, or parent names joined by ``__``): safe as a folder name;
    ASCII names as they always were; other names distinct from each other (see the module's description)."""
    if text.isascii():
        return _ascii_id(text)
    text = _as_utf8(text)
    kept = re.sub(r"[^\w.-]+", "_", text).strip("._")
    if kept == text and len(kept.encode("utf-8")) <= MAX_ID_BYTES:
        return _in_file_system_encoding(kept)
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    kept = _cut(kept, MAX_ID_BYTES - len(digest) - 1).strip("._")
    return _in_file_system_encoding(f"{kept}_{digest}" if kept else digest)


def distinct_ids(ids: list[str], names: list[str]) -> list[str]:
    """``ids`` with those that share a folder on a case-insensitive file system (:func:`~genxd.utils.paths.name_key`:
    ``IMG_1`` and ``img_1``, one folder on macOS and Windows) given 8 hex digits of the hash of their ``names`` (the
    inputs' paths) each; the others as they are."""
    counts = Counter(name_key(i) for i in ids)
    return [i if counts[name_key(i)] == 1 else
            f"{i}_{hashlib.sha256(n.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}" for i, n in zip(ids, names)]
