"""Outputs made of several sibling files (or folders) replaced as one group.

``genxd trajectory from-video -o OUT.json`` writes ``OUT.json``, ``OUT_transforms.json`` and ``OUT.png``; ``genxd synth
--format video`` writes ``NAME.mp4`` and ``NAME.json``; ``evaluate_scene`` writes ``eval_renders/`` and ``metrics.json``.
Each was written by its own atomic writer (:mod:`genxd.utils.io`), one after the other: a stop between two renames
(Ctrl-C, ``kill -9``, a power cut) left the new ``OUT.json`` beside the old ``OUT_transforms.json``, each valid alone, so
nothing told a user who later gave the stale one to ``genxd generate``.

:func:`atomic_group` writes every member to a hidden temporary sibling first (:func:`genxd.utils.io.temp_name`). Only
when all are complete (and flushed to disk) does it write a **journal** beside each member, ``.NAME.group``, which lists
the whole group (each member, its new temporary and the name its old folder is moved aside to), then renames the new
members in and deletes the journals last. So:

- a stop before the journals leaves the old group whole (the temporaries are cleaned as stale, :func:`clean_stale`);
- a stop after them leaves a journal, and the next write **or read** through genxd of any member (:func:`settle`:
  :func:`genxd.utils.json_files.read_json`, :func:`genxd.utils.io.clean_stale`, the video readers) finishes the
  renames, the new group whole, before it goes on. The new members were complete before the journal existed, so the
  group is always rolled forward, never back.

A journal is settled only when it is clearly stale, by the rule of :func:`genxd.utils.io.clean_stale`: this machine's,
its process gone, or older than :data:`STALE_AFTER` whoever wrote it. One of a live process (a replacement taking
milliseconds) is waited for a moment; a younger one of another machine sharing the folder cannot be checked and is
refused in one line naming it, never read past. Settling holds a lock on the journal (two readers at once), and
nothing in a journal is trusted beyond what :func:`atomic_group` writes (:func:`_parse`).

Why a journal rather than a shared id in each file that readers compare: a PNG and an mp4 carry no such field a user's
tools keep, each member is also read alone (``--camera OUT_transforms.json`` without ``OUT.json``), and a mismatch
found at read time would only say that the group is lost; the journal repairs it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
import types
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from . import io as _io
from .disk_sync import fsync_file, fsync_folder
from .json_files import read_json_object, write_json_atomic

fcntl: types.ModuleType | None
try:
    import fcntl
except ImportError:  # Windows: no file locks (readers settling one group at once then rely on _roll_forward's skips)
    fcntl = None

#: Suffix of a group's journals (``.NAME.group`` beside member ``NAME``).
SUFFIX = ".group"
_KEY = "genxd_file_group"
#: A journal older than this (seconds since it was written) is stale whoever wrote it: a live replacement holds its
#: journals for its renames only (milliseconds; seconds on a slow network disk). This settles a journal whose owner
#: cannot be checked from here: another machine's, another container's (its own host name, its own process numbers).
STALE_AFTER = 600.0
#: The journals this process is writing now (another of its threads may read a member meanwhile): any other journal
#: of this process is one whose replacement failed and ended (a notebook, the web demo), not one at work.
_ACTIVE: set[str] = set()


class GroupBeingReplaced(OSError):
    """A member of a group that another process is replacing (or was, on another machine)."""


def journal_path(path: str | os.PathLike) -> Path:
    """The journal that a replacement of a group holding ``path`` leaves beside it."""
    return Path(_journal_str(path))


def _journal_str(path: str | os.PathLike) -> str:
    """:func:`journal_path` as a string, by string operations: :func:`settle` runs before every read_json, and
    building a Path there cost more than the lstat (about 10 us per read); ``os.path.split`` and ``join`` another
    2.5 us, where one separator (POSIX) allows ``rpartition`` (the same file: ``a//b`` gives ``a//.b.group``)."""
    text = os.fspath(path)
    if os.altsep is None:
        head, sep, name = text.rpartition(os.sep)
        return f"{head}{sep}.{_io._temp_stem(name)}{SUFFIX}"
    head, name = os.path.split(text)
    return os.path.join(head, f".{_io._temp_stem(name)}{SUFFIX}")


def _fsync_path(path: Path) -> None:
    """Flush a member's finished temporary ``path`` to disk: a file, or a folder with every file and folder below it
    (each folder after its files, the deepest first, ``path`` last: a subfolder's entries are its own, which flushing
    ``path`` does not write). Where a file system or platform cannot (no ``O_DIRECTORY``, a folder not openable), go
    on: the journal's order still holds against a stop."""
    if path.is_dir() and not path.is_symlink():
        for root, _, files in os.walk(path, topdown=False):
            for f in files:
                with contextlib.suppress(OSError):
                    fsync_file(Path(root) / f)
            fsync_folder(root)
        return
    with contextlib.suppress(OSError):
        fsync_file(path)


def _temp_beside(name: object, member: Path, kind: str, here: Path) -> Path | None:
    """``name`` (relative to the journal's folder ``here``) as a path, when it is a genxd temporary of ``member`` of
    ``kind`` in ``member``'s folder (what :func:`atomic_group` writes); None otherwise."""
    if not isinstance(name, str) or not name:
        return None
    path = Path(os.path.normpath(here / name))
    m = _io._PART_RE.match(path.name)
    if m is None or m["kind"] != kind or m["name"] != _io._temp_stem(member.name) or path.parent != member.parent:
        return None
    return path


def _parse(journal: Path, data: object) -> dict | None:
    """The record of ``journal`` as :func:`_roll_forward` uses it, or None for one that is not what
    :func:`atomic_group` writes. A journal is acted on by every read of a member, so nothing in it is trusted
    beyond that: each temporary must be a genxd temporary of its member, beside it, and the journals deleted are
    those of the members, this one among them (a file named ``.x.group`` put in a shared or downloaded folder must
    not make a read rename or delete other files: ``"journals": ["/home/me/notes.txt"]`` deleted it before)."""
    if not isinstance(data, dict) or data.get(_KEY) != 1 or not isinstance(data.get("members"), list):
        return None
    here = journal.parent
    members = []
    for m in data["members"]:
        if not isinstance(m, dict) or not isinstance(m.get("path"), str) or not m["path"]:
            return None
        path = Path(os.path.normpath(here / m["path"]))
        folder = m.get("folder") is True
        new = _temp_beside(m.get("new"), path, "part", here)
        old = _temp_beside(m.get("old"), path, "old", here) if folder and m.get("old") is not None else None
        if new is None or (m.get("old") is not None and old is None):
            return None
        members.append((path, new, old, folder))
    journals = [journal_path(path) for path, _, _, _ in members]
    if Path(os.path.normpath(journal)) not in journals:
        return None
    return {"host": data.get("host"), "pid": data.get("pid"), "members": members, "journals": journals}


def _read_journal(journal: Path, fd: int | None = None) -> dict | None:
    """A journal's record (:func:`_parse`), or None for a file of that name that is not one (or is gone); from the
    open ``fd`` when given (the file locked, whatever is at its name now)."""
    if fd is None:
        return _parse(journal, read_json_object(journal))
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        data = json.loads(b"".join(chunks))
    except (OSError, ValueError, RecursionError):
        return None
    return _parse(journal, data)


def _roll_forward(journal: Path, record: dict) -> None:
    """Finish the replacement a journal records: every member whose new temporary is still there is renamed in
    (a folder's old one moved aside first), the old ones deleted, the journals deleted last. Idempotent: a stop in
    here leaves a journal that does the rest next time; a temporary another process renamed in meanwhile (two
    readers at once where no file lock serialises them) is skipped."""
    members = record["members"]
    for path, new, old, folder in members:
        if not os.path.lexists(new):
            continue  # renamed in already
        try:
            if folder:
                if os.path.lexists(path):
                    if old is not None and os.path.lexists(old):
                        _io._remove(path)  # cannot happen in order; never keep two old ones
                    else:
                        os.rename(path, old)
                os.rename(new, path)
            elif os.path.lexists(path) and os.path.samefile(new, path):
                os.unlink(new)  # put in by a hard link (replace=False) and stopped before the temporary's unlink
            else:
                os.replace(new, path)
        except FileNotFoundError:
            if os.path.lexists(new):
                raise
    for _, _, old, _ in members:
        if old is not None:
            _io._remove(old)
    for j in [j for j in record["journals"] if j != journal] + [journal]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(j)


def _owner_alive(journal: Path, record: dict, modified: float) -> bool | None:
    """True: the process that wrote ``journal`` may still be at work; False: gone (this machine), or the journal is
    older than :data:`STALE_AFTER`; None: another machine's, which cannot be checked from here."""
    if time.time() - modified > STALE_AFTER:
        return False
    if record.get("host") != _io._host():
        return None
    try:
        pid = int(record.get("pid") or 0)
    except (TypeError, ValueError):
        return False
    if pid == os.getpid():
        return os.path.abspath(journal) in _ACTIVE  # a journal this process left after a failed replacement: not at work
    return _io._writer_alive(pid, modified)


def _finish_error(journal: Path, record: dict, exc: OSError) -> OSError:
    """A replacement that cannot be finished here (a read-only folder or disk, no permission), in one line naming
    the group rather than a hidden temporary; the errno kept (the command line says it without a traceback)."""
    names = ", ".join(p.name for p, _, _, _ in record["members"])
    return OSError(exc.errno, f"{journal.parent}: the replacement of {names} (written as one group) was stopped and "
                   f"cannot be finished here ({exc.strerror or exc}); the new files are complete: let genxd read "
                   f"or write one of them once where it may write in {journal.parent} ({journal.name})")


@contextlib.contextmanager
def _locked(journal: Path) -> Iterator[int | None]:
    """Hold an exclusive lock on ``journal``'s file (two readers settling one group at once, DataLoader workers:
    one finishes it, the other then finds it gone). Yields the open descriptor, or None when the journal is gone or
    replaced by a new one meanwhile; without file locks (Windows, some network disks) the descriptor unlocked."""
    try:
        fd = os.open(journal, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        yield None
        return
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(journal))
        except FileNotFoundError:
            same = False
        yield fd if same else None
    finally:
        os.close(fd)  # releases the lock


def _settle_journal(journal: Path) -> str:
    """``"done"`` (settled, or nothing to settle), ``"busy"`` (a live writer), ``"foreign"`` (another machine's)."""
    with _locked(journal) as fd:
        if fd is None:
            return "done"
        record = _read_journal(journal, fd)
        if record is None:
            return "done"
        alive = _owner_alive(journal, record, os.fstat(fd).st_mtime)
        if alive is None:
            return "foreign"
        if alive:
            return "busy"
        try:
            _roll_forward(journal, record)
        except OSError as exc:
            raise _finish_error(journal, record, exc) from exc
        return "done"


def settle(path: str | os.PathLike, wait: float = 3.0) -> None:
    """Before ``path`` is read or written: finish a replacement of its group that a stopped run left half done
    (see the module docstring). A live replacement is waited for up to ``wait`` seconds; one still going then, or
    one of another machine written less than :data:`STALE_AFTER` ago, is a :class:`GroupBeingReplaced` naming it.
    Costs one ``lstat`` when there is none."""
    journal_str = _journal_str(path)
    try:
        os.lstat(journal_str)  # the journal, or a dangling link of its name (os.path.lexists, without its call)
    except (OSError, ValueError):  # ValueError: a NUL in the name, which nothing is at
        return
    journal = Path(journal_str)
    deadline = time.monotonic() + wait
    while True:
        state = _settle_journal(journal)
        if state == "done":
            return
        if state == "busy" and time.monotonic() < deadline:
            time.sleep(0.05)
            continue
        data = read_json_object(journal)
        who = f"process {data.get('pid')} on {data.get('host')}"
        raise GroupBeingReplaced(errno.EBUSY, f"{path} is being replaced together with the files written with it by "
                                 f"{who} ({journal}); use it when that run has ended (a replacement stopped on "
                                 f"another machine is finished here {STALE_AFTER / 60:.0f} minutes after it began)")


def settle_folder(folder: Path, names: Iterable[str]) -> set[str]:
    """Settle the journals named ``names`` in ``folder`` (:func:`genxd.utils.io.clean_stale` passes those it finds),
    without waiting; returns the names of the temporaries that journals still left (a live or another machine's
    replacement, or one that could not be finished) list, which must not be cleaned as stale."""
    kept: set[str] = set()
    for name in names:
        journal = folder / name
        try:
            state = _settle_journal(journal)
        except OSError:
            state = "failed"
        if state != "done" and (record := _read_journal(journal)) is not None:
            for _, new, old, _ in record["members"]:
                kept.update(p.name for p in (new, old) if p is not None)
    return kept


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


@contextlib.contextmanager
def atomic_group(paths: Sequence[str | os.PathLike], replace: bool = True,
                 folders: Iterable[str | os.PathLike] = ()) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths`` (an empty file each, keeping its extension; an empty folder for those in
    ``folders``); on success rename them onto ``paths`` as one group (module docstring), the first member first.

    On an error before the renames nothing is changed and the temporaries are removed. ``replace=False``: an
    existing member (another run wrote it while this one worked) is kept, nothing is renamed, and a
    :class:`genxd.utils.io.WrittenMeanwhile` raised; the first member is put in place only where nothing is (one
    step), so that of two runs writing one group at once, one keeps it whole. Symbolic links among ``paths`` are
    kept and what they point to replaced (:func:`genxd.utils.io.output_target`).
    """
    folder_set = {os.path.abspath(_io.output_target(f)) for f in folders}
    targets = [Path(os.path.abspath(_io.output_target(p))) for p in paths]
    if len(set(targets)) != len(targets):
        raise ValueError(f"a group's files must differ: {[str(p) for p in paths]}")
    is_folder = [str(t) in folder_set for t in targets]
    for target, folder in zip(targets, is_folder):
        if folder:
            _io.check_not_working_folder(target)
        _io.makedirs(target.parent)
        settle(target)
        _io.clean_stale(target.parent, target.name)
    temps: list[Path] = []
    written: list[Path] = []  # the journals this run wrote
    journals: list[Path] = []
    active: set[str] = set()  # this run's journals, in _ACTIVE while it runs
    renaming = False  # every journal written: from here on the group is rolled forward, never back
    try:
        for target, folder in zip(targets, is_folder):
            if folder:
                tmp = target.parent / _io.temp_name(target.name, "part")
                os.mkdir(tmp, 0o777)  # umask applies
            else:
                tmp = target.parent / _io.temp_name(target.name, "part", target.suffix)
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            temps.append(tmp)
        yield list(temps)
        for target, folder in zip(targets, is_folder):
            if folder and os.path.lexists(target) and not target.is_dir():
                raise NotADirectoryError(f"{target} is a file; cannot replace it with a folder")
            if not folder and target.is_dir() and not target.is_symlink():
                raise IsADirectoryError(f"{target} is a folder; cannot replace it with a file")
            if not replace and os.path.lexists(target) and not (folder and _io._is_empty_dir(target)):
                raise _io.written_meanwhile(target)
        for target, tmp in zip(targets, temps):
            _io.keep_mode(target, tmp)  # a member replacing one of its kind keeps its permissions and group
            _fsync_path(tmp)
        members = [(t, n, t.parent / _io.temp_name(t.name, "old") if f else None, f)
                   for t, n, f in zip(targets, temps, is_folder)]
        journals = [journal_path(t) for t in targets]
        own = {"members": members, "journals": journals}
        active.update(str(j) for j in journals)  # targets are absolute: so are these
        _ACTIVE.update(active)
        for journal in journals:  # each complete before the first rename: written aside, then linked in
            here = journal.parent
            record = {_KEY: 1, "host": _io._host(), "pid": os.getpid(),
                      "members": [{"path": _rel(t, here), "new": _rel(n, here), "old": _rel(o, here) if o else None,
                                   "folder": f} for t, n, o, f in members],
                      "journals": [_rel(j, here) for j in journals]}
            try:
                write_json_atomic(journal, record, overwrite=False, indent=None)
            except FileExistsError:
                raise GroupBeingReplaced(errno.EBUSY, f"{targets[0]} is being replaced by another run ({journal}); "
                                         "this run's result is discarded") from None
            written.append(journal)
            _fsync_path(journal)
            # the journal's name in its folder: the folder's entries only (it was walked like a member's folder, every
            # file below the output's folder flushed for each group written there: a user's whole folder for
            # trajectory from-video -o ~/path.json, every earlier clip of a synth --format video run for each clip)
            fsync_folder(here)
        first, first_new, _, first_folder = members[0]
        if not replace:  # the claim: in place only where nothing is, in one step; refused: nothing renamed yet
            (_io._rename_new_dir if first_folder else _io._rename_new_file)(first_new, first)
        renaming = True
        _roll_forward(journals[0], own)
    except BaseException as exc:
        if renaming:  # the new group is complete: finish it; a stop in there leaves a journal the next access finishes
            with contextlib.suppress(BaseException):
                if os.path.lexists(journals[0]):
                    _roll_forward(journals[0], own)
            raise
        for journal in written:
            with contextlib.suppress(OSError):
                os.unlink(journal)
        _discard(temps)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _naming_member(exc, temps, targets) from exc
        raise
    finally:
        _ACTIVE.difference_update(active)


def _discard(temps: Sequence[Path]) -> None:
    for tmp in temps:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _naming_member(exc: OSError, temps: Sequence[Path], targets: Sequence[Path]) -> OSError:
    """A full disk raised while writing a member's temporary, naming the member instead of the temporary."""
    text = str(exc.strerror or exc)
    for tmp, target in zip(temps, targets):
        text = text.replace(str(tmp), str(target))
    if not any(str(t) in text for t in targets):
        text = f"{text} while writing {targets[0]}"
    return OSError(exc.errno, text)


__all__ = ["atomic_group", "settle", "settle_folder", "journal_path", "GroupBeingReplaced", "SUFFIX"]
