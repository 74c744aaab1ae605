"""Reading untrusted zip archives safely (CamVid-30K ships as ``batch_N.zip`` files).

:class:`SafeZip` checks every member when the archive is opened and refuses the whole archive
(``ValueError``) when a member

- has an absolute path (``/x``, ``C:/x``, ``\\\\server\\x``) or a ``..`` component (path traversal),
- is a symbolic link, or is encrypted,
- is the same file as another member (the same name, or one that normalises to it),
- is a file and also the folder of another member,
- is larger than :attr:`ArchiveLimits.max_member_bytes`, or compresses better than
  :attr:`ArchiveLimits.max_compression_ratio` (a zip bomb),

or when the archive as a whole is over budget: more than :attr:`ArchiveLimits.max_members` members,
more than :attr:`ArchiveLimits.max_total_bytes` uncompressed, or (once past
:attr:`ArchiveLimits.total_ratio_min_bytes`) more than :attr:`ArchiveLimits.max_total_ratio` times its
compressed bytes: many small members that each pass the per-member checks cannot add up to a bomb; nor can
members that overlap (a quoted-overlap bomb: their compressed sizes add up to more than the file, refused).
A member whose data is corrupt (CRC mismatch, broken deflate stream) raises ``ValueError`` naming the
archive and the member when it is read. Members are read into memory (:meth:`SafeZip.read`, capped at the declared size) or extracted
under a destination folder (:meth:`SafeZip.extract`) that no member can escape.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from ..utils.io import is_damaged_file_error

__all__ = ["ArchiveLimits", "SafeZip", "check_member_name", "check_torch_archive"]

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps applied to every archive (defaults suit CamVid-30K batches of JPEG frames)."""

    max_total_bytes: int = 256 * GiB
    max_member_bytes: int = 4 * GiB
    max_compression_ratio: float = 100.0
    #: members smaller than this are not ratio-checked (tiny text files compress very well)
    ratio_check_min_bytes: int = 1 * MiB
    #: most members in one archive (a CamVid-30K batch holds a few hundred thousand frames)
    max_members: int = 2_000_000
    #: the whole archive's uncompressed / compressed bytes (JPEG frames: ~1; COLMAP text: ~4)
    max_total_ratio: float = 20.0
    #: archives that unpack to less than this are not ratio-checked as a whole
    total_ratio_min_bytes: int = 64 * MiB

    def __post_init__(self) -> None:
        if min(self.max_total_bytes, self.max_member_bytes, self.max_members) <= 0 or self.total_ratio_min_bytes < 0:
            raise ValueError("archive size and count limits must be positive")
        if self.max_compression_ratio <= 1 or self.max_total_ratio <= 1:
            raise ValueError(
                f"compression ratio limits must be > 1, got {self.max_compression_ratio} and {self.max_total_ratio}"
            )

    @classmethod
    def from_config(cls, value: "ArchiveLimits | Mapping[str, Any] | None", name: str = "archive_limits"
                    ) -> "ArchiveLimits | None":
        """``value`` as limits: None (the defaults), limits, or a mapping of some of them (a config's
        ``archive_limits``); a ValueError naming ``name`` and the limit otherwise (a misspelt limit or a quoted number
        was a TypeError's traceback, a number alone an AttributeError when an archive was opened)."""
        if value is None or isinstance(value, ArchiveLimits):
            return value
        known = [f.name for f in fields(cls)]
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be a mapping of limits ({', '.join(known)}), got {value!r}")
        unknown = [k for k in value if k not in known]
        if unknown:
            from ..utils.close_names import close_matches_note

            raise ValueError(f"{name}: unknown limit{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}{close_matches_note(unknown, known)}; accepted: "
                             f"{', '.join(known)}")
        for key, number in value.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(f"{name}.{key} must be a number, got {number!r}")
        return cls(**value)

    def total_budget(self, compressed_bytes: int) -> int:
        """The most uncompressed bytes allowed for an archive holding ``compressed_bytes`` of member data."""
        by_ratio = max(self.total_ratio_min_bytes, int(self.max_total_ratio * compressed_bytes))
        return min(self.max_total_bytes, by_ratio)


def check_member_name(name: str) -> str:
    """Return the member's normalised relative POSIX path; ValueError if absolute or escaping."""
    if "\x00" in name:
        raise ValueError(f"member name {name!r} contains a NUL byte")
    norm = name.replace("\\", "/")
    drive = len(norm) >= 2 and norm[1] == ":" and norm[0].isascii() and norm[0].isalpha()  # C:, not 1:2.txt
    if norm.startswith("/") or drive:
        raise ValueError(f"member {name!r} has an absolute path")
    parts = _name_parts(norm)
    if not parts:  # "" or "./": zipfile's is_dir() fails on an empty name with an IndexError
        raise ValueError(f"member {name!r} has an empty name")
    if any(p == ".." for p in parts):
        raise ValueError(f"member {name!r} escapes the archive folder ('..' in its path)")
    return "/".join(parts)


def _name_parts(name: str) -> list[str]:
    """The folder and file names of a member's POSIX path, without empty and ``.`` parts (none: an empty name)."""
    return [p for p in PurePosixPath(name).parts if p not in ("", ".")]


def check_torch_archive(path: str | os.PathLike) -> None:
    """Refuse (``ValueError`` naming ``path``) a torch file that is a zip breaking :class:`SafeZip`'s size and
    compression-ratio limits, from its directory alone: ``torch.load`` inflates deflated records, so a few MB of
    compressed zeros could claim gigabytes. A file that is not a zip (torch's legacy format) is left to torch."""
    if zipfile.is_zipfile(path):
        SafeZip(path)


class SafeZip:
    """A validated read-only zip archive.

    Args:
        path: the ``.zip`` file.
        limits: size and compression caps (:class:`ArchiveLimits`).
    Raises:
        ValueError: the archive is not a zip, or a member breaks a rule (see the module docstring);
            the message names the archive and the member.

    The file handle is opened lazily per process, so an instance can be shared with DataLoader workers.
    """

    def __init__(self, path: str | os.PathLike, limits: ArchiveLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or ArchiveLimits()
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such archive")
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = zf.infolist()
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{self.path}: not a zip archive ({exc})") from None
        except NotImplementedError as exc:  # a version zipfile does not read (a newer tool's, or damaged): a bare
            raise ValueError(f"{self.path}: not a readable zip archive ({exc})") from None  # NotImplementedError before
        except UnicodeDecodeError as exc:  # a name flagged as UTF-8 that is not: zipfile's bare words before
            raise ValueError(f"{self.path}: not a readable zip archive (a member name is not valid UTF-8: "
                             f"{exc.object[max(0, exc.start - 40):exc.end + 40]!r})") from None
        if len(infos) > self.limits.max_members:
            raise ValueError(
                f"{self.path}: refused unsafe archive: {len(infos)} members (limit {self.limits.max_members})"
            )
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            try:
                name = self._check(info)
            except ValueError as exc:
                raise ValueError(f"{self.path}: refused unsafe archive: {exc}") from None
            if info.is_dir():
                continue
            first = self._infos.setdefault(name, info)
            if first is not info:  # read as the last of them before, in silence
                raise ValueError(f"{self.path}: refused unsafe archive: members {first.filename!r} and "
                                 f"{info.filename!r} are one file, {name!r}")
        self._check_folders()
        total = sum(info.file_size for info in infos)
        packed = sum(info.compress_size for info in infos)
        if total > self.limits.max_total_bytes:
            raise ValueError(
                f"{self.path}: refused unsafe archive: members add up to more than "
                f"{self.limits.max_total_bytes} bytes uncompressed ({total}; zip bomb?)"
            )
        size = self.path.stat().st_size
        if packed > size:  # a quoted-overlap bomb: its members share their bytes, each counted in packed
            raise ValueError(
                f"{self.path}: refused unsafe archive: its members' compressed data add up to {packed} bytes, more "
                f"than the archive's {size}: members overlap (zip bomb?)"
            )
        if total > self.limits.total_budget(packed):
            raise ValueError(
                f"{self.path}: refused unsafe archive: {len(infos)} members add up to {total} bytes uncompressed "
                f"from {packed} compressed (ratio {total / max(packed, 1):.0f}:1, limit "
                f"{self.limits.max_total_ratio:.0f}:1 past {self.limits.total_ratio_min_bytes} bytes; zip bomb?)"
            )
        self._handle: zipfile.ZipFile | None = None
        self._pid: int | None = None

    def _check_folders(self) -> None:
        """Refuse a file member that is also the folder of another (``0`` beside ``0/cameras.bin``): the two cannot
        both be unpacked (extracting them failed half-way with a bare ``OSError``)."""
        folder_of: dict[str, str] = {}  # folder -> a member inside it
        for name in self._infos:
            folder = name.rpartition("/")[0]
            while folder and folder not in folder_of:
                folder_of[folder] = name
                folder = folder.rpartition("/")[0]
        clash = next((name for name in self._infos if name in folder_of), None)
        if clash is not None:
            raise ValueError(f"{self.path}: refused unsafe archive: member {self._infos[clash].filename!r} is a file "
                             f"and the folder of member {self._infos[folder_of[clash]].filename!r}")

    def _check(self, info: zipfile.ZipInfo) -> str:
        name = check_member_name(info.filename)
        mode = (info.external_attr >> 16) & 0xFFFF
        if stat.S_ISLNK(mode):
            raise ValueError(f"member {info.filename!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise ValueError(f"member {info.filename!r} is encrypted")
        if info.file_size > self.limits.max_member_bytes:
            raise ValueError(
                f"member {info.filename!r} is {info.file_size} bytes uncompressed "
                f"(limit {self.limits.max_member_bytes})"
            )
        if info.file_size >= self.limits.ratio_check_min_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > self.limits.max_compression_ratio:
                raise ValueError(
                    f"member {info.filename!r} has compression ratio {ratio:.0f}:1 "
                    f"(limit {self.limits.max_compression_ratio:.0f}:1; zip bomb?)"
                )
        return name

    # ------------------------------------------------------------------ access
    def names(self) -> list[str]:
        """Normalised member paths (files only), in archive order."""
        return list(self._infos)

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def _zip(self) -> zipfile.ZipFile:
        if self._handle is None or self._pid != os.getpid():
            self._handle = zipfile.ZipFile(self.path)
            self._pid = os.getpid()
        return self._handle

    def digest(self, names: list[str]) -> str:
        """A hex digest of members ``names`` as the archive lists them (name, size, CRC-32): it changes when the
        archive is rebuilt with other contents for them (nothing is read but the central directory)."""
        h = hashlib.sha1()
        for name in names:
            info = self._infos.get(name)
            h.update(f"{name}\0{info and info.file_size}\0{info and info.CRC}\0".encode())
        return h.hexdigest()

    def read(self, name: str) -> bytes:
        """The bytes of member ``name`` (never more than its declared, checked size).

        Raises:
            FileNotFoundError: no such member.
            ValueError: the member's data is corrupt (CRC mismatch, broken compressed stream, truncated
                archive) or not the declared size; the message names the archive and the member.
        """
        info = self._infos.get(name)
        if info is None:
            raise FileNotFoundError(f"{self.path}: no member {name!r}")
        try:
            with self._zip().open(info) as fh:
                data = fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise ValueError(f"{self.path}: member {name!r} is corrupt ({exc})") from None
        except OSError as exc:
            if not is_damaged_file_error(exc):  # a disk or permission error, not the archive's
                raise
            # a corrupt local header: zipfile seeks to an offset before the start of the file
            raise ValueError(f"{self.path}: member {name!r} is corrupt ({exc.strerror or exc})") from None
        if len(data) != info.file_size:
            raise ValueError(f"{self.path}: member {name!r} does not match its declared size")
        return data

    def extract(self, names: list[str], destination: str | os.PathLike, strip_prefix: str = "",
                overwrite: bool = False) -> Path:
        """Write members ``names`` under ``destination`` (minus ``strip_prefix``); returns ``destination``.

        All or nothing: the members are written under temporary names and renamed once every one is read, so a
        failure leaves none of them, nor a folder this call made.

        Raises:
            FileExistsError: a file is already at a member's path (unless ``overwrite``; nothing is written then),
                or a folder is (always), or a file is where a member's folder would be.
            ValueError: a member would be written outside ``destination``, two members to one path or one to the
                folder of another, or one has no name left (once ``strip_prefix`` is taken off: the prefix is its
                whole name; callers pass files, :meth:`names`, and a folder prefix ending in ``/``), or a member is
                corrupt (:meth:`read`).
        A name listed twice in ``names`` is written once.
        """
        made = _missing_folders(Path(destination).absolute())
        dest = Path(destination).resolve()
        dest.mkdir(parents=True, exist_ok=True)
        targets: list[tuple[str, Path]] = []
        parts: list[Path] = []
        try:
            member_of: dict[Path, str] = {}  # each target -> its member
            for name in dict.fromkeys(names):  # a name listed twice is written once
                rel = name[len(strip_prefix):] if strip_prefix and name.startswith(strip_prefix) else name
                if rel != name and not _name_parts(rel.replace("\\", "/")):  # was "member '' has an empty name"
                    raise ValueError(f"{self.path}: member {name!r} has no name once strip_prefix {strip_prefix!r} is "
                                     "taken off (the prefix is its whole name)")
                target = (dest / check_member_name(rel)).resolve()
                if dest != target and dest not in target.parents:
                    raise ValueError(f"{self.path}: member {name!r} would be written outside {dest}")
                if target.is_dir() or (target.exists() and not overwrite):
                    raise FileExistsError(f"{target} already exists (member {name!r}"
                                          f"{'' if target.is_dir() else '; pass overwrite=True to replace it'})")
                first = member_of.setdefault(target, name)
                if first != name:  # the second's rename failed after the first was written
                    raise ValueError(f"{self.path}: members {first!r} and {name!r} would both be written to {target} "
                                     f"(strip_prefix {strip_prefix!r})")
                targets.append((name, target))
            _check_target_folders(self.path, dest, member_of)
            for name, target in targets:
                made += _missing_folders(target.parent)
                target.parent.mkdir(parents=True, exist_ok=True)
                parts.append(target.with_name(f".{target.name}.part"))
                parts[-1].write_bytes(self.read(name))
        except BaseException:
            for part in parts:
                with contextlib.suppress(OSError):
                    part.unlink()
            for folder in sorted(made, key=lambda p: len(p.parts), reverse=True):  # the deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        for (_, target), part in zip(targets, parts):
            os.replace(part, target)
        return dest

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_handle"] = None
        state["_pid"] = None
        return state


def _check_target_folders(archive: Path, dest: Path, member_of: dict[Path, str]) -> None:
    """Refuse (before anything is written) a target that is the folder of another (``0`` and ``0/x`` once a prefix is
    stripped: a ``.part`` file was left behind), and a file where a target's folder would be (a bare ``OSError``)."""
    for target, name in member_of.items():
        folder = target.parent
        while folder != dest:
            if folder in member_of:
                raise ValueError(f"{archive}: member {member_of[folder]!r} would be written to {folder}, the folder of "
                                 f"member {name!r}")
            if folder.exists() and not folder.is_dir():
                raise FileExistsError(f"{folder} is a file, where member {name!r} needs a folder")
            folder = folder.parent


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist (the folders a ``mkdir(parents=True)`` would make)."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing
