"""User paths: paths given as Python arguments (``~`` expanded, empty ones refused); paths listed inside user files
(transforms.json, COLMAP models, ReconFusion index.json), kept inside the listing folder; files that must be regular
files (not folders, pipes or devices)."""

from __future__ import annotations

import errno
import os
import stat
import sys
import unicodedata
from pathlib import Path

__all__ = ["IMAGE_SUFFIXES", "LISTED_IMAGE_SUFFIXES", "as_utf8", "case_note", "find_listed_image", "link_loop", "loop_note", "listed_image", "name_key",
           "path_argument", "path_inside", "reachable", "relative_to_cwd_note", "require_file", "require_readable"]

#: AVIF is read by Pillow (>= 11.3 wheels), HEIC / HEIF through pillow-heif (genxd.utils.image_formats); of an
#: animated GIF (as of an animated WebP or APNG) the first frame is used, with a warning (genxd.utils.images).
#: ``.mpo``: a JPEG with more pictures (MPF) as stereo cameras name it (Fujifilm W3 ``DSCF0001.MPO``, Nintendo 3DS);
#: its first (left) view is read, with a note (genxd.utils.images.views_note).
#: Kept here (and re-exported by genxd.utils.image_paths) so that :data:`LISTED_IMAGE_SUFFIXES` derives from it.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".avif", ".heic", ".heif", ".gif",
                  ".mpo")

#: Suffixes tried for an image listed without one (NeRF-synthetic's transforms.json writes ``./train/r_0``): the
#: input image suffixes, in lower and upper case.
LISTED_IMAGE_SUFFIXES = IMAGE_SUFFIXES + tuple(s.upper() for s in IMAGE_SUFFIXES)


def as_utf8(text: str) -> str:
    """A file name's bytes read as UTF-8 whatever the locale: under ``LC_ALL=C`` (Python's UTF-8 mode off) Python
    reads ``café`` from the file system as ``caf`` and two undecodable bytes (surrogates). Bytes that are not UTF-8
    stay escaped; a string the file system's encoding cannot hold is returned as it is."""
    try:
        return os.fsencode(text).decode("utf-8", "surrogateescape")
    except UnicodeError:  # not a name from the file system: characters its encoding cannot hold
        return text


def name_key(name: str) -> str:
    """What the file systems of macOS (APFS, HFS+) and Windows (NTFS) compare of a file name: its letters up to case
    and Unicode normalisation (``Clip`` and ``clip``; ``café`` typed as one character or as ``e`` and an accent).
    Two names of one key are one file or folder there.

    The name is read as UTF-8 first (:func:`as_utf8`: the bytes those systems would be given), so ``CAFÉ`` and
    ``café`` match under ``LC_ALL=C`` too. Full Unicode case folding (``ß`` as ``ss``, ``ﬁ`` as ``fi``) and
    normalisation are more than NTFS compares (a table of one character to one, no normalisation): ``straße`` and
    ``strasse`` share a key, two names there. Kept so on purpose: a key too wide costs two names a hash suffix they
    did not need, a key too narrow would put two inputs in one folder where the file system folds more (APFS folds
    case to sequences of characters and ignores normalisation)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", as_utf8(name)).casefold())


def path_argument(value: object, name: str, what: str = "a file or folder path") -> Path:
    """The Python argument ``name`` as a path: ``~`` expanded (as a shell does on the command line; ``out_dir="~/x"``
    made a folder named ``~`` here), and an empty or blank string refused instead of meaning the current folder
    (``out_dir=""`` wrote into it, ``images=""`` took every image there). InvalidValue naming the argument."""
    from ..validation import InvalidType, InvalidValue, arg

    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        raise InvalidType(f"{arg(name)} must be {what}, got {value!r} ({type(value).__name__})"[:300])
    if not os.fspath(value).strip():
        raise InvalidValue(f"{arg(name)} is empty ({os.fspath(value)!r}): pass {what}")
    try:
        return Path(value).expanduser()
    except RuntimeError:  # "~name" of no user (or no home folder): the name as written, as a shell leaves it
        return Path(value)


def path_inside(folder: str | os.PathLike, relative: str, listed_in: str | os.PathLike) -> Path:
    """``folder / relative``, refused when ``relative`` is absolute or leaves ``folder`` through ``..``.

    Raises ValueError naming ``listed_in`` (the file that lists the path). The check is on the path as
    written, after normalising ``.`` and ``..`` (``a/../b.png`` is fine, ``../b.png``, ``/etc/passwd`` and
    ``C:/x`` are not); symbolic links inside the folder are followed: they are the folder owner's doing.
    """
    folder = Path(folder)
    text = str(relative).replace("\\", "/")
    if not text or "\x00" in text:
        raise ValueError(f"{listed_in}: empty or invalid file path {relative!r}")
    if text.startswith("/") or (len(text) >= 2 and text[1] == ":"):
        raise ValueError(f"{listed_in}: file path {relative!r} is absolute; only files inside {folder} are read")
    normal = os.path.normpath(text)
    if normal == ".." or normal.startswith("../"):
        raise ValueError(f"{listed_in}: file path {relative!r} points outside {folder}; only files inside it are read")
    return folder / normal


def find_listed_image(base: Path) -> Path | None:
    """The file ``base``, else ``base`` with the first of :data:`LISTED_IMAGE_SUFFIXES` that is a file; None when
    neither is there. No check of where ``base`` is: the callers make it (:func:`listed_image`)."""
    for candidate in (base, *(base.with_name(base.name + suffix) for suffix in LISTED_IMAGE_SUFFIXES)):
        if candidate.is_file():
            return candidate
    return None


def listed_image(folder: str | os.PathLike, file_path: str, listed_in: str | os.PathLike) -> Path:
    """The image ``file_path`` inside ``folder`` as ``listed_in`` (a transforms.json) names it, with or without one of
    :data:`LISTED_IMAGE_SUFFIXES`. ValueError from :func:`path_inside` for a path that is absolute or leaves
    ``folder``; FileNotFoundError naming the path and ``listed_in`` when no such file is there."""
    base = path_inside(folder, file_path, listed_in)
    found = find_listed_image(base)
    if found is None:
        raise FileNotFoundError(f"{base}: image listed in {Path(listed_in).name} not found{case_note(base)}")
    return found


def case_note(path: str | os.PathLike) -> str:
    """For a file not found: ``" (its folder holds NAME, which differs only in letter case: ...)"`` when the folder
    holds such a file (a listing made on macOS or Windows, whose file systems ignore case, read on Linux), else
    ``""``. A name listed without a suffix (``frame``) also matches an image of that stem (``FRAME.PNG``), as the
    listing is read; never another file of it (``frame.json``, ``000.png.bak``), nor the listed name itself (a
    dangling link, a folder); a name listed with a suffix that is not an image's (``frame.0001``) is one without,
    as the listing is read (``Frame.0001.png``). Names alike only up to Unicode normalisation are worded so; the
    listed name itself, which a file-system encoding that is not UTF-8 (``LC_ALL=C``) cannot name, is said to be
    that."""
    path = Path(path)
    parent, name = path.parent, path.name
    # without an image suffix, the listing is read with each one added (find_listed_image): frame, frame.0001
    key, bare = name_key(name), os.path.splitext(name)[1].lower() not in IMAGE_SUFFIXES

    def alike(c: str) -> bool:
        if c == name:
            return False
        stem, suffix = os.path.splitext(c)
        return name_key(c) == key or (bare and suffix.lower() in IMAGE_SUFFIXES and name_key(stem) == key)

    try:
        if not parent.is_dir():
            return ""
        found = next((c for c in sorted(os.listdir(parent)) if alike(c) and (parent / c).is_file()), None)
    except (OSError, ValueError):  # unreadable folder, a NUL character
        return ""
    if found is None:
        return ""
    compared = found if name_key(found) == key else os.path.splitext(found)[0]
    shown, read = as_utf8(found), as_utf8(compared)  # under LC_ALL=C: café, not escaped bytes
    if read != compared and unicodedata.normalize("NFC", read) == unicodedata.normalize("NFC", name):
        return (f" (its folder holds {shown}, the name listed, which this Python cannot name: its file-system "
                f"encoding is {sys.getfilesystemencoding()}, not UTF-8 (a locale such as LC_ALL=C); run with "
                "PYTHONUTF8=1 or a UTF-8 locale)")
    if read.casefold() == name.casefold():
        return (f" (its folder holds {shown}, which differs only in letter case: the listing was made where case is "
                "ignored, on macOS or Windows; rename the file or correct the listing)")
    return (f" (its folder holds {shown}, which differs only in letter case or Unicode form: the listing was made "
            "where these are ignored, on macOS; rename the file or correct the listing)")


def require_file(path: str | os.PathLike, missing: str = "no such file") -> Path:
    """``path`` when it is a regular file (or a link to one). FileNotFoundError ``"{path}: {missing}"`` when
    nothing is there, with :func:`case_note` (a file of the folder whose name differs only in letter case);
    IsADirectoryError for a folder, ValueError naming anything else (a named pipe, a device):
    such a path used to read as "no such file", and opening a named pipe would wait for a writer for ever."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # NotADirectoryError: a file as a folder of the path
        raise FileNotFoundError(f"{path}: {missing}{case_note(path)}") from None
    except OSError as exc:  # a link loop, a name too long, no permission to look
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # an embedded NUL character
        raise ValueError(f"{str(path)!r}: not a valid path (it holds a NUL character)") from None
    if stat.S_ISREG(mode):
        return path
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path}: is a folder, not a file")
    kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
    raise ValueError(f"{path}: is {kind}, not a regular file")


def parts_below(path: str | os.PathLike, folder: str | os.PathLike) -> tuple[str, ...] | None:
    """``path``'s parts below ``folder`` (both resolved; ``()`` for the folder itself), or None when ``path`` is
    not ``folder`` or inside it."""
    try:
        return _resolved(path).relative_to(_resolved(folder)).parts
    except ValueError:
        return None


def _resolved(path: str | os.PathLike) -> Path:
    """``path`` resolved as :func:`os.path.realpath` resolves it: a loop of symbolic links left as it stands
    (``Path.resolve`` raised pathlib's 'RuntimeError: Symlink loop from ...': ``genxd reconstruct views --extra-views
    LOOP`` stopped with it before the input was checked)."""
    return Path(os.path.realpath(path))


def relative_to_cwd_note(path: str | os.PathLike) -> str:
    """`` (a relative path: from the current folder, CWD)`` for a relative ``path`` that was not found, else ``""``:
    a path written in a config file is taken from where the command runs, not from the config file's folder."""
    return "" if os.path.isabs(path) else f" (a relative path: from the current folder, {os.getcwd()})"


def reachable(path: str | os.PathLike, what: str) -> bool:
    """Whether ``path`` exists (symbolic links followed, as :meth:`Path.exists`), with a path this user may not
    reach said as such: a folder above it that may not be entered was the system's "[Errno 13] Permission denied:
    'PATH'" (``Path.exists`` raises it up to Python 3.13; from 3.14 it would read "no such file"). Raises
    ``PermissionError("PATH: the WHAT is not readable: no permission to enter FOLDER")``."""
    try:
        os.stat(path)
        return True
    except PermissionError:
        pass
    except (OSError, ValueError):  # missing, a file above it, a loop of links, a NUL in the name
        return False
    path = Path(path)
    blocked = next((folder for folder in reversed(path.absolute().parents)
                    if folder.is_dir() and not os.access(folder, os.X_OK)), None)
    if blocked is None:  # denied for another reason (a security module): the system's words, naming the path
        raise _not_readable(path, what)
    raise _not_readable(path, what, f" to enter {blocked}")


def link_loop(path: str | os.PathLike, hops: int = 8) -> str | None:
    """``"unet -> other -> unet"``: the links ``path`` goes through when following them never ends (a link to
    itself, or links in a loop: the system's ELOOP), up to ``hops`` of them (then ``-> ...``); None for any other
    path (there, missing, a link to nothing). :meth:`Path.exists` reads such a link as not there."""
    try:
        os.stat(path)
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            return None
    except ValueError:  # a NUL in the name
        return None
    current = Path(path)
    names, seen = [current.name], {os.path.normpath(current.absolute())}
    for _ in range(hops):
        if not current.is_symlink():  # the loop is in a folder above a target: the chain so far
            return " -> ".join(names)
        target = os.readlink(current)
        names.append(target)
        current = Path(os.path.normpath(current.absolute().parent / target))
        if str(current) in seen:
            return " -> ".join(names)
        seen.add(str(current))
    return " -> ".join([*names, "..."])


def loop_note(path: str | os.PathLike) -> str:
    """For a path not found: ``" (a loop of symbolic links: a -> b -> a)"`` when it is such a loop
    (:func:`link_loop`, which :meth:`Path.exists` reads as not there), else ``""``."""
    chain = link_loop(path)
    return "" if chain is None else f" (a loop of symbolic links: {chain})"


def require_readable(path: str | os.PathLike, what: str) -> None:
    """Raise ``PermissionError("PATH: the WHAT is not readable: no permission")`` unless this user may read ``path``
    (a folder: list and enter it), as :func:`os.access` says; the loaders' own error was the system's "[Errno 13]
    Permission denied" naming a file inside, or one the folder does not hold."""
    if not os.access(path, os.R_OK | (os.X_OK if os.path.isdir(path) else 0)):
        raise _not_readable(path, what)


def _not_readable(path: str | os.PathLike, what: str, where: str = "") -> PermissionError:
    return PermissionError(f"{path}: the {what} is not readable: no permission{where}")
