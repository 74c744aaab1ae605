"""Where CamVid samples live: a video's frames in a folder or a ``.zip`` archive (:class:`_Video`), found by
:class:`.camvid.CamVidDataset`, and the COLMAP models of archived ones extracted to a folder kept per process or
given (``extract_dir``)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ...utils.paths import name_key
from ...validation import warn
from ..archive import SafeZip
from .clips import IMAGE_EXTENSIONS


@dataclass
class _Video:
    name: str
    frames: list[str]  # image file names inside images/, sorted
    folder: Path | None = None  # unpacked sample folder
    archive: SafeZip | None = None
    prefix: str = ""  # member prefix of the sample inside the archive ("" or ".../VIDEO_ID/")
    model_members: list[str] = field(default_factory=list)  # the archive members of the COLMAP model 0/

    def has_meta(self) -> bool:
        """Whether the video has a ``meta.json`` (in its folder, or as an archive member)."""
        if self.folder is not None:
            return (self.folder / "meta.json").is_file()
        return self.archive is not None and self.prefix + "meta.json" in self.archive


def _distinct_roots(roots: list[Path]) -> list[Path]:
    """``roots`` with each folder or archive once (the first of the names that resolve to it), with a warning naming
    those given again: ``root: [cv, cv]`` trained each video twice, silently (a dataset's ``weight`` weighs it)."""
    seen: dict[Path, Path] = {}
    for r in roots:
        again = seen.setdefault(r.resolve(), r)
        if again is not r:
            warn(f"CamVidDataset: root {r} is given more than once (as {again}): its videos are read once (to weigh a "
                 "dataset, give its data.datasets entry a weight)")
    return list(seen.values())


def _distinct_videos(videos: list[_Video]) -> list[_Video]:
    """``videos`` with each video folder or archived sample once (the first found), with a warning counting those
    found again: a root inside another root (``root: [cv, cv/batch_1]``, ``[cv, cv/batch_1.zip]``) trained each of
    its videos twice, silently."""
    def where(v: _Video) -> str:
        return str(v.folder) if v.folder is not None else f"{v.archive.path if v.archive else ''}: {v.prefix}"

    first: dict[tuple[str, str], _Video] = {}
    again: list[tuple[_Video, _Video]] = []
    for v in videos:
        key = (os.path.realpath(v.folder), "") if v.folder is not None else (
            os.path.realpath(v.archive.path) if v.archive is not None else "", v.prefix)
        if (seen := first.setdefault(key, v)) is not v:
            again.append((v, seen))
    if again:
        n = len(again)
        warn(f"CamVidDataset: {n} video{'s are' if n > 1 else ' is'} found again under another root (e.g. "
             f"{where(again[0][0])}, as {where(again[0][1])}: a root inside another root): each is read once (to weigh "
             "a dataset, give its data.datasets entry a weight)")
    return list(first.values())


_MODEL_RE = re.compile(r"^(?P<prefix>(?:.*/)?)0/cameras\.(?:bin|txt)$")
#: an archive member in a folder's ``images/`` (the folder: ``prefix``), to name folders of images without a model
_IMAGES_RE = re.compile(r"^(?P<prefix>(?:.*/)?)images/[^/]+$")


def _has_image_below(folder: Path) -> bool:
    """Whether a sub-folder of ``folder`` (not hidden; any depth) holds an image file (:func:`_is_image`)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if dirpath != str(folder) and any(_is_image(f) for f in filenames):
            return True
    return False


def _is_image(name: str) -> bool:
    """An image file name (or archive member's): not a hidden one, such as the ``._00000.jpg`` macOS writes beside
    each file on an exFAT / FAT drive or a network share, which became a frame of the video without a pose."""
    base = name.rsplit("/", 1)[-1]
    return base.lower().endswith(IMAGE_EXTENSIONS) and not base.startswith(".")


def _name_index(image_names: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """``{name: model index}`` of a COLMAP model's images, and apart ``{name_key(name): index}`` (without
    ``images/``) of those whose key no other shares: a model made on macOS or Windows may name ``IMG_0001.JPG`` the
    file ``img_0001.jpg`` (opened there all the same); such a frame was left without a pose (the frame file's name
    is looked up exactly first). Apart, so that an exact look-up never takes a key: in one mapping a frame
    ``img.jpg`` beside ``IMG.jpg`` (two frames, exact only) took the model's ``IMG.JPG`` by its key."""
    exact = {name: i for i, name in enumerate(image_names)}
    keys = [name_key(name.removeprefix("images/")) for name in image_names]
    counts = Counter(keys)
    return exact, {k: i for i, k in enumerate(keys) if counts[k] == 1}


class _ExtractDir:
    """A per-process temporary folder for COLMAP models extracted from archives, removed when the process exits
    after its DataLoader workers (daemonic processes: ``multiprocessing`` ends them at exit, then runs its finalizers
    of negative priority). An ``atexit`` handler removed it before, while a worker could still be extracting into
    it, which then made the folder again (left in the temp folder) or failed half-way."""

    _path: Path | None = None
    _pid: int | None = None

    @classmethod
    def get(cls) -> Path:
        if cls._path is None or cls._pid != os.getpid():
            from multiprocessing.util import Finalize

            cls._path = Path(tempfile.mkdtemp(prefix="genxd-camvid-"))
            cls._pid = os.getpid()
            path, pid = cls._path, cls._pid
            Finalize(None, lambda: shutil.rmtree(path, ignore_errors=True) if os.getpid() == pid else None,
                     exitpriority=-100)
        return cls._path


@contextlib.contextmanager
def _extracted_model(root: Path, v: _Video) -> Iterator[Path]:
    """The folder ``0/`` of ``v``'s COLMAP model extracted under ``root`` (once: kept for later reads and runs), to
    read in the block.

    It lives in ``root/<the archive path and sample>/<the model members' sizes and CRCs>/0``: an archive rebuilt at the
    same path (a dataset curated again) gets a folder of its own, and the folders of its older versions are removed
    then (they piled up, one per version, in a kept ``extract_dir``). Extracting, pruning and the block hold a lock
    on ``root/<sample>.lock``, so no process reads a folder while another removes it."""
    import hashlib

    from ...utils.file_locks import exclusive_lock
    from ...utils.io import atomic_dir, makedirs

    assert v.archive is not None
    sample = hashlib.sha1(f"{v.archive.path.resolve()}\0{v.prefix}".encode()).hexdigest()[:16]
    version = hashlib.sha1(v.archive.digest(v.model_members).encode()).hexdigest()[:16]
    makedirs(root)
    model_dir = root / sample / version / "0"
    with exclusive_lock(root / f"{sample}.lock"):
        if not model_dir.is_dir():  # extracted whole or not at all: a full disk left a part of the model there
            with contextlib.suppress(FileExistsError):  # (cameras.bin), which later reads took for the model
                with atomic_dir(model_dir, replace=False) as tmp:
                    v.archive.extract(v.model_members, tmp, strip_prefix=v.prefix + "0/")
            for old in (root / sample).iterdir():  # the older versions of this sample's model
                if old.name != version and not old.name.startswith("."):
                    shutil.rmtree(old, ignore_errors=True)
        yield model_dir


_OLD_KEY_RE = re.compile(r"^[0-9a-f]{16}$")


def _prune_old_layout(root: Path) -> None:
    """Remove the models that genxd before 5e057f4 extracted into a kept ``root``, one folder per sample and version
    (``root/<16 hex digits>/0``, its key a hash of the archive, the sample and the version, so no sample's lock or
    later run could find them again): they stayed for good. Nothing reads them now, so no lock guards them; a folder
    is taken for one only when it holds nothing but ``0/`` of files (a user's sample folder has ``images/`` too)."""
    with contextlib.suppress(OSError):
        for old in root.iterdir():
            if not _OLD_KEY_RE.match(old.name) or old.is_symlink() or not (old / "0").is_dir():
                continue
            with contextlib.suppress(OSError):
                if [p.name for p in old.iterdir() if not p.name.startswith(".")] == ["0"] and all(
                        p.is_file() and not p.is_symlink() for p in (old / "0").iterdir()):
                    shutil.rmtree(old, ignore_errors=True)
