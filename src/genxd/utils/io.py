"""Atomic, non-clobbering file output shared by all writers (library and command line).

Outputs are written to a hidden temporary sibling and renamed into place, so an interrupted run
(Ctrl-C, a crash, ``kill -9``, a killed worker) never leaves a half-written file or folder under the
final name, and never loses an existing output:

- **Names.** A temporary sibling of ``DIR/NAME`` is ``DIR/.NAME.HOST-PID-XXXXXXXX.part`` (a file keeps
  its extension after it, ``.video.mp4.HOST-PID-XXXXXXXX.part.mp4``, for writers that infer the format);
  an old output moved aside during a replacement is ``DIR/.NAME.HOST-PID-XXXXXXXX.old``. A ``NAME`` over 150
  bytes appears cut, with ``~`` and a hash of the whole name, so that a temporary fits in 255 bytes as its
  output's name does.
- **Not replacing** (no ``--overwrite``): the caller refuses an existing output before the work starts, and the
  writers check again at the rename (``replace=False``): an output another run wrote meanwhile (two runs into one
  folder) is kept and this run's is discarded with a ``FileExistsError``, never renamed over it.
- **Replacing** (``--overwrite``): the old output is renamed aside, the new one renamed in, then the old
  one deleted. A crash at any point leaves the old output (under its name or aside) or the new one
  complete.
- **Symbolic links**: an output path that is a symbolic link (an output folder kept on another disk) is written
  where the link points (:func:`output_target`): the link stays, and with ``--overwrite`` what it points to is
  replaced, by a folder built beside it on the same disk; never a real folder or file in place of the link,
  which would fill the disk the link was avoiding. A link that points nowhere (an unmounted disk?) or in a loop
  is refused in one line, nothing created through it.
- **Permissions**: outputs get the permissions the user's umask gives (``0o777 & ~umask`` for folders,
  ``0o666 & ~umask`` for files), as any ``mkdir`` / ``open`` would; not the private 0700 / 0600 of
  ``mkdtemp`` / ``mkstemp``. A folder that replaces a folder (``--overwrite``, or an empty folder made for the
  output), and a file that replaces a file, keep the old one's mode bits and, where allowed, its group
  (:func:`keep_mode`).
- **Stale temporaries** (the rule of :func:`clean_stale`): before writing ``DIR/NAME`` (and when a job
  starts on an output folder), hidden siblings named as above are cleaned **only when they are clearly
  ours and stale**: the name matches the pattern above, ``HOST`` is this machine, and process ``PID`` is
  not running (or is a newer process that reused the number: it started after the temporary was last
  modified). A stale ``.part`` is deleted; a stale ``.old`` is deleted when ``NAME`` exists, and renamed
  back to ``NAME`` when it does not (the crash came between the two renames). Temporaries of live
  processes (e.g. the other processes of an ``accelerate launch`` job writing their own outputs), of
  other machines sharing the folder, and anything not matching the pattern are left alone. A group of sibling
  outputs replaced as one (:mod:`genxd.utils.file_groups`) whose replacement was stopped is finished first, and the
  temporaries its journal still lists are kept.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import sys
import time
import types
from pathlib import Path
from typing import Iterator

# the JSON readers and writer, re-exported for callers importing them from here (json_files imports this module
# only inside write_json_atomic, so either may be imported first); not MAX_JSON_BYTES, which is set and read there
from .json_files import read_json, read_json_object, write_json_atomic
from .paths import parts_below

_PART_RE = re.compile(
    r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_-]{1,40})-(?P<pid>\d{1,10})-(?P<tag>[0-9a-f]{8})"
    r"\.(?P<kind>part|old)(?P<ext>\.[^.]*)?$"
)


#: OSError numbers that are the user's environment (a full disk, a read-only or forbidden folder, a name too long),
#: not a bug: reported in one line, without a traceback (the CLI, per-input failures of a job).
ENVIRONMENT_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG})


def is_environment_error(exc: BaseException) -> bool:
    """True for an :class:`OSError` whose errno is in :data:`ENVIRONMENT_ERRNOS`."""
    return isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS


def is_damaged_file_error(exc: BaseException) -> bool:
    """True for an :class:`OSError` that a damaged file causes rather than the machine: ``EINVAL`` (a reader
    seeking to an offset the file's own counts put before its start, as zipfile and numpy do) or no errno at all
    (a library's own OSError for bad data, as PIL and plyfile raise). A disk, permission or space error is not."""
    return isinstance(exc, OSError) and exc.errno in (None, errno.EINVAL)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname() or "host")[:40] or "host"


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Bytes of an output's name kept whole in its temporaries' names; a longer name (up to the 255 bytes a file system
#: allows) is cut and given a hash of the whole (:func:`_temp_stem`), so that its temporaries fit in 255 bytes too.
_STEM_BYTES = 150
_SHORT_STEM_RE = re.compile(r"~[0-9a-f]{8}$")


def _temp_stem(name: str) -> str:
    """``name`` as it appears in its temporaries' names: whole, or (past :data:`_STEM_BYTES` bytes) its start and
    ``~`` and 8 hex digits of a hash of the whole name, the same for every temporary of that name."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= _STEM_BYTES:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:8]
    return raw[: _STEM_BYTES - 9].decode("utf-8", "ignore") + "~" + digest


def _is_short_stem(stem: str) -> bool:
    """True for a stem :func:`_temp_stem` shortened (the output's whole name is not in it)."""
    return len(stem.encode("utf-8", "surrogateescape")) > _STEM_BYTES - 4 and bool(_SHORT_STEM_RE.search(stem))


def is_temp_name(name: str, kind: str = "part") -> bool:
    """Whether ``name`` is one :func:`temp_name` gives (of ``kind``), by any host and process: a folder of the user's
    named ``.notes.part`` is not."""
    m = _PART_RE.match(name)
    return m is not None and m["kind"] == kind


def temp_name(name: str, kind: str = "part", ext: str = "") -> str:
    """A hidden sibling name for ``name`` owned by this process (see the module docstring); never over 255 bytes,
    whatever the length of ``name`` (a long one is shortened, :func:`_temp_stem`; an ``ext`` over 16 bytes is not
    a format's extension and is left off)."""
    ext = ext if len(ext.encode("utf-8", "surrogateescape")) <= 16 else ""
    return f".{_temp_stem(name)}.{_host()}-{os.getpid()}-{secrets.token_hex(4)}.{kind}{ext}"


def _process_start_time(pid: int) -> float | None:
    """Start time of process ``pid`` (seconds since the epoch), where /proc tells it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat, counted after the command name
        with open("/proc/stat") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _writer_alive(pid: int, modified: float) -> bool:
    """True if process ``pid`` may still be writing a temporary last modified at ``modified``."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) is TerminateProcess there: it would end whatever process has pid
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    except OSError:
        return True
    started = _process_start_time(pid)
    if started is not None and started > modified + 2.0:  # the number was reused by a newer process
        return False
    return True


def _remove(path: Path) -> None:
    """Delete a file, a link (never followed) or a folder tree; missing is fine."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass


def clean_stale(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Clean the stale temporaries of killed runs in ``folder`` (only those of ``name`` if given).

    Returns the paths removed or restored. See the module docstring for the rule.
    """
    folder = Path(folder)
    done: list[Path] = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return done
    host = _host()
    journals = [e.name for e in entries if e.name.endswith(".group")]
    kept: set[str] = set()
    if journals:  # a group of files whose replacement was stopped is finished first (genxd.utils.file_groups)
        from .file_groups import settle_folder

        kept = settle_folder(folder, journals)
    for entry in entries:
        m = _PART_RE.match(entry.name)
        if m is None or m["host"] != host or (name is not None and m["name"] != _temp_stem(name)):
            continue
        if entry.name in kept:  # listed by a group's journal that is still there: the group's, not stale
            continue
        # the output's own name: a shortened one (a long name) is known only to a caller that gives it
        original = name if name is not None else None if _is_short_stem(m["name"]) else m["name"]
        path = folder / entry.name
        try:
            modified = path.lstat().st_mtime
        except FileNotFoundError:
            continue
        if _writer_alive(int(m["pid"]), modified):
            continue
        try:
            if m["kind"] != "old":
                _remove(path)
            elif original is None:
                continue  # an old output of a long name: restored or removed when that output is written
            elif not os.path.lexists(folder / original):
                os.rename(path, folder / original)  # the replacement died between its two renames
            else:
                _remove(path)
            done.append(path)
        except OSError:  # another process cleaned it first, or it cannot be touched: leave it
            continue
    return done


def moved_aside(path: str | os.PathLike) -> list[Path]:
    """The old outputs of ``path`` that a killed replacement left aside (``.NAME.HOST-PID-TAG.old``, see the module
    docstring) and :func:`clean_stale` did not put back (another machine's, or a read-only folder), newest first."""
    path = Path(path)
    try:
        found = [Path(e.path) for e in os.scandir(path.parent) if (m := _PART_RE.match(e.name)) is not None
                 and m["kind"] == "old" and m["name"] == _temp_stem(path.name)]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.lstat().st_mtime, reverse=True)


def _swap_in(new: Path, path: Path) -> None:
    """Rename ``new`` onto ``path``; an existing ``path`` is moved aside first and deleted last."""
    if not os.path.lexists(path):
        os.rename(new, path)
        return
    aside = path.parent / temp_name(path.name, "old")
    os.rename(path, aside)  # a symbolic link is renamed itself, never followed
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(aside, path)
        raise
    _remove(aside)


def output_target(path: str | os.PathLike) -> Path:
    """Where an output at ``path`` is written: ``path``, or what it points to when it is a symbolic link (the link
    is kept; see the module docstring). A ``FileNotFoundError`` for a link to nothing or a loop of links."""
    path = Path(path)
    if not os.path.islink(path):
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except OSError:
        where = os.readlink(path)
        raise FileNotFoundError(f"{path} is a symbolic link to {where}, which does not exist (a disk not mounted, "
                                "or a loop of links): create it, or remove the link") from None


class WrittenMeanwhile(FileExistsError):
    """An output that another run wrote while this one worked (two tasks of a job array on one output folder)."""


def written_meanwhile(path: Path) -> WrittenMeanwhile:
    """The error for an output that another run wrote while this one worked (checked at the final rename)."""
    from ..validation import overwrite_hint

    return WrittenMeanwhile(f"{path} was written by another run while this one worked (two runs writing the same "
                           f"output?); it is kept and this run's result discarded ({overwrite_hint()})")


def _is_empty_dir(path: Path) -> bool:
    try:
        return not os.path.islink(path) and path.is_dir() and not any(os.scandir(path))
    except OSError:
        return False


def _rename_new_dir(new: Path, path: Path) -> None:
    """Rename the folder ``new`` onto ``path`` only where nothing is, or an empty folder: the rename of a folder
    replaces an empty one in one step and fails on one that has been filled, or on a file, meanwhile."""
    if os.path.lexists(path) and not _is_empty_dir(path):
        raise written_meanwhile(path)
    try:
        os.rename(new, path)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise written_meanwhile(path) from None
        raise


def _rename_new_file(new: Path, path: Path) -> None:
    """Put the file ``new`` at ``path`` only where nothing is: a hard link fails if ``path`` exists (one step);
    on a file system without hard links, check and rename."""
    try:
        os.link(new, path)
    except FileExistsError:
        raise written_meanwhile(path) from None
    except OSError:  # no hard links here (EPERM, ENOTSUP, EMLINK, ...)
        if os.path.lexists(path):
            raise written_meanwhile(path) from None
        os.rename(new, path)
    else:
        new.unlink()


def error_while_writing(code: int, what: str, strerror: str | None = None) -> OSError:
    """``OSError(code, "<strerror> while writing <what>")``: an environment error that named no file (a full disk
    inside a video encoder, torch.save, TensorBoard's writer thread), now naming what was being written.
    ``strerror`` is the original error's text when it had one; the system's text for ``code`` otherwise."""
    return OSError(code, f"{strerror or os.strerror(code)} while writing {what}")


def _naming_the_output(exc: BaseException, path: Path) -> BaseException:
    """A full disk or quota error that names no file (video encoders, PIL and safetensors give none) as the same
    error naming the output being written ("genxd: error: [Errno 28] No space left on device" said nothing of
    where); ``exc`` itself otherwise, and for a ``path`` inside a temporary folder (whose writer names it)."""
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT) and not exc.filename
            and str(path) not in str(exc) and not _PART_RE.match(path.parent.name)):
        return error_while_writing(exc.errno, str(path), exc.strerror)
    return exc


def makedirs(path: str | os.PathLike) -> Path:
    """``mkdir -p`` with the umask's permissions and a one-line error naming the obstacle."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"{path} exists and is not a folder") from None
    except NotADirectoryError:
        raise NotADirectoryError(f"cannot create the folder {path}: a part of the path is a file") from None
    except PermissionError:
        raise PermissionError(f"cannot create the folder {path}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise PermissionError(f"cannot create the folder {path}: read-only file system") from None
        raise
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same extension); rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched. A ``path`` that is a
    symbolic link is kept and the file it points to replaced (:func:`output_target`). The temporary
    name keeps the extension (``.x.mp4.HOST-PID-TAG.part.mp4``) so writers that infer the format from
    it still work. The file gets the umask's permissions, or those of the file it replaces (:func:`keep_mode`).
    ``replace=False``: a ``path`` that exists by then (another run wrote it) is kept and a ``FileExistsError`` raised.
    """
    path = output_target(path)
    makedirs(path.parent)
    clean_stale(path.parent, path.name)
    tmp_path = path.parent / temp_name(path.name, "part", path.suffix)
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # umask applies
    try:
        yield tmp_path
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(f"{path} is a folder; cannot replace it with a file")
        keep_mode(path, tmp_path)
        if replace:
            os.replace(tmp_path, path)  # replaces the old file in one step
        else:
            _rename_new_file(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        named = _naming_the_output(exc, path)
        if named is not exc:
            raise named from exc
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success move it onto ``path`` (replacing it).

    On failure the temporary folder is removed, so no half-written folder appears under ``path``. An
    existing ``path`` (folder or file) is moved aside, the new folder renamed in, then the old one
    deleted; a ``path`` that is a symbolic link is kept and what it points to replaced (:func:`output_target`). The
    folder gets the umask's permissions, or those of the folder it replaces (:func:`keep_mode`).
    ``replace=False``: an existing ``path`` (other than an empty folder) is kept and a ``FileExistsError``
    raised: another run wrote it while this one worked.
    """
    path = output_target(path)
    check_not_working_folder(path)
    makedirs(path.parent)
    clean_stale(path.parent, path.name)
    tmp = path.parent / temp_name(path.name, "part")
    os.mkdir(tmp, 0o777)  # umask applies
    try:
        yield tmp
        keep_mode(path, tmp)
        if replace:
            _swap_in(tmp, path)
        else:
            _rename_new_dir(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        named = _naming_the_output(exc, path)
        if named is not exc:
            raise named from exc
        raise


def keep_mode(old: Path, new: Path) -> None:
    """Give ``new`` (about to replace ``old``) the permission bits of ``old`` and, where this process may set it, its
    group, when both are of one kind: a folder replacing a folder, a file replacing a file. Nothing otherwise (nothing
    at ``old``, or a file replaced by a folder or the reverse: the umask's stay, as for a new output). A replacement is
    made new, with the umask's permissions: a private 0o700 output folder replaced with ``--overwrite`` became 0o755,
    readable by everyone, a group's setgid 0o2770 one lost its bits and its group's access, and a 0o600 camera file
    or config rewritten became 0o644. A file keeps only the read, write and execute bits (not a setuid / setgid bit,
    which ``cp`` does not carry to new contents either)."""
    try:
        st = os.stat(old)
        kind = stat.S_IFMT(os.stat(new).st_mode)
    except OSError:
        return
    if stat.S_IFMT(st.st_mode) != kind or kind not in (stat.S_IFDIR, stat.S_IFREG):
        return
    mode = stat.S_IMODE(st.st_mode) if kind == stat.S_IFDIR else stat.S_IMODE(st.st_mode) & 0o777
    if os.name == "posix":
        with contextlib.suppress(OSError):
            if st.st_gid != os.stat(new).st_gid:
                os.chown(new, -1, st.st_gid)  # fails when not a member of the group: the umask's group stays
    with contextlib.suppress(OSError):
        os.chmod(new, mode)  # after the chown, which may clear a setgid bit


def check_not_working_folder(path: str | os.PathLike, label: str = "output folder",
                             hint: str = "give a new folder name") -> None:
    """A ValueError when ``path`` is the working folder or a folder above it (``--out .``, ``--out ..``): an output
    written whole is renamed onto its path, and renaming the folder a process (or the user's shell) is in either
    fails after all the work (``.``: "Device or resource busy") or leaves them in a deleted folder. ``hint`` ends
    the message (what the caller can do instead). A mount point (a Docker volume's folder) cannot be renamed over
    either ("Device or resource busy" after all the work): a ValueError too, whose hint is a folder inside it."""
    from .mount_points import is_mount_point

    below = parts_below(os.getcwd(), path)  # resolved: a link to where one is counts too
    if below is not None:
        what = "a folder above the current folder" if below else "the current folder"
        raise ValueError(f"{label} {path} is {what}; the output is written as a new folder and renamed into "
                         f"place, which cannot replace the folder you are in: {hint}")
    if is_mount_point(path):
        raise ValueError(f"{label} {path} is a mount point; the output is written as a new folder and renamed into "
                         f"place, which cannot replace a mount point: give a folder inside it "
                         f"({os.path.join(path, 'NAME')})")


#: the name :func:`check_writable_dir`'s probe files are temporaries of (:func:`temp_name`)
_PROBE = "genxd-probe"
#: the probe files of genxd before 2026-12-07 (``tempfile.mkstemp(prefix=".genxd-probe-")``: no process named), empty
#: and alive for microseconds: one older than _OLD_PROBE_AGE_S seconds was left by a process killed at that instant
_OLD_PROBE_RE = re.compile(r"\.genxd-probe-[a-z0-9_]{8}\Z")
_OLD_PROBE_AGE_S = 60.0


def check_writable_dir(path: str | os.PathLike, label: str = "output folder") -> Path:
    """Raise a one-line error unless ``path`` is, or can be created as, a folder this process may write in.

    Checked before any work starts (no model loaded, nothing written): ``path`` (or the nearest folder
    above it that exists, when it does not exist yet) must be a folder with write permission on a
    writable file system, in which a file can be made (one is made and removed: os.access lets root past a
    folder such as /proc, which takes no new file).
    """
    path = Path(path)
    output_target(path)  # a symbolic link to nothing: said as such, not "exists and is not a folder"
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if probe == path:
        if not path.is_dir():
            raise NotADirectoryError(f"{label} {path} exists and is not a folder")
    elif not probe.is_dir():
        raise NotADirectoryError(f"{label} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == path else f" ({probe} is not)"
        raise PermissionError(f"{label} {path} is not writable{where}: read-only folder or no permission")
    # os.access says yes for root anywhere, also where no file can be made (/proc, /sys): one made and removed, named
    # as a temporary of this process (clean_stale removes it once the process is gone: one killed at that instant
    # left ".genxd-probe-XXXXXXXX" forever); the probes killed processes left in the folder are removed here too
    made = probe / temp_name(_PROBE)
    try:
        os.close(os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        where = "" if probe == path else f" ({probe} is not)"
        raise PermissionError(f"{label} {path} is not writable{where}: no new file can be made there "
                              f"({exc.strerror or exc})") from None
    os.unlink(made)
    _remove_stale_probes(probe)
    return path


def _remove_stale_probes(folder: Path) -> None:
    """Remove the probe files of :func:`check_writable_dir` that processes of this machine, no longer running, left
    in ``folder`` (a live process's probe is kept: the rule of :func:`clean_stale`), and empty ones of the old name
    older than a minute (:data:`_OLD_PROBE_RE`)."""
    try:
        found = [e for e in os.scandir(folder) if e.name.startswith(f".{_PROBE}")]
    except OSError:
        return
    for entry in found:
        with contextlib.suppress(OSError):  # removed by another process first
            if _OLD_PROBE_RE.match(entry.name):  # of a genxd before 2026-12-07: no process to ask
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_size == 0 and time.time() - info.st_mtime > _OLD_PROBE_AGE_S:
                    os.unlink(entry.path)
                continue
            m = _PART_RE.match(entry.name)
            if (m is not None and m["host"] == _host()
                    and not _writer_alive(int(m["pid"]), entry.stat(follow_symlinks=False).st_mtime)):
                os.unlink(entry.path)


def check_output_file(path: str | os.PathLike, label: str = "output file") -> Path:
    """Raise a one-line error unless a file can be written at ``path`` (not a folder; parent writable)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{label} {path} is a folder; give a file name")
    check_writable_dir(path.parent, f"{label} {path}: its folder")
    return path


def _byte_at(fd: int, offset: int) -> bytes:
    """The byte of ``fd`` at ``offset`` (``os.pread``; where it is missing, Windows, a seek and a read: the appends
    that follow go to the end of the file whatever the position, O_APPEND)."""
    if hasattr(os, "pread"):
        return os.pread(fd, 1, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, 1)


def append_line(path: str | os.PathLike, line: str, lock: bool = False, sync: bool = False) -> None:
    """Append ``line`` (a newline is added) to the log file ``path`` whole or not at all.

    A full disk cuts a write short without an error (``write`` returns fewer bytes): the torn line then swallowed
    the next line appended after it. Here a short write is continued, and a failure truncates the file back to
    its size before the write and raises (a full disk naming ``path``). A file not ending in a newline (a line
    torn by a crash) gets one first, so the new line stays whole. ``lock``: hold an exclusive ``flock`` while
    writing (skipped where the file system has none, or the platform: Windows has no ``fcntl``); ``sync``:
    ``fsync`` before returning."""
    fcntl: types.ModuleType | None
    try:
        import fcntl
    except ImportError:  # Windows: no flock (the metrics of a training run, which holds no lock there either)
        fcntl = None

    path = Path(path)
    data = (line.rstrip("\n") + "\n").encode("utf-8", "surrogateescape")
    # umask applies; O_BINARY (Windows): the newline is written as it is, not as CR LF
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if lock and fcntl is not None:
            with contextlib.suppress(OSError):  # no file locks here: the caller writes alone
                fcntl.flock(fd, fcntl.LOCK_EX)
        start = os.lseek(fd, 0, os.SEEK_END)
        if start and _byte_at(fd, start - 1) != b"\n":
            data = b"\n" + data
        try:
            done = 0
            while done < len(data):
                written = os.write(fd, data[done:])
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                done += written
            if sync:
                os.fsync(fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            named = _naming_the_output(exc, path)
            if named is not exc:
                raise named from exc
            raise
    finally:
        os.close(fd)  # releases the lock


__all__ = ["atomic_file", "atomic_dir", "output_target", "clean_stale", "temp_name", "is_temp_name",
           "check_writable_dir", "check_output_file", "makedirs", "write_json_atomic", "append_line",
           "error_while_writing", "read_json", "read_json_object", "is_environment_error", "is_damaged_file_error",
           "WrittenMeanwhile", "written_meanwhile", "keep_mode", "moved_aside"]
