"""A file made to appear at a second name: a symbolic link where the system allows one, else a hard link, else a
copy. Windows makes symbolic links only with a privilege (an administrator, or Developer Mode): without it
``os.symlink`` raises ``OSError`` (WinError 1314, "A required privilege is not held by the client"), and on some
systems ``NotImplementedError``; a hard link needs the same volume, a copy always works but costs the file's size."""

from __future__ import annotations

import os
import shutil
import warnings

__all__ = ["link_file", "no_symlink_note"]


def link_file(source: str | os.PathLike, target: str | os.PathLike, purpose: str | None) -> str:
    """Make ``target`` name the file ``source``: ``"symlink"``, ``"hardlink"`` (same file, where symbolic links are
    not allowed) or ``"copy"`` (neither: another file, which writes to ``target`` do not reach). When it is not a
    symbolic link, a one-line warning says so (:func:`no_symlink_note`), naming ``purpose`` (what the link is for);
    ``purpose=None``: no warning (the caller says it once for several)."""
    source = os.path.abspath(source)
    try:
        os.symlink(source, target)
        return "symlink"
    except (OSError, NotImplementedError):
        pass
    try:
        os.link(source, target)
        made = "hardlink"
    except OSError:  # another volume, a file system without hard links
        shutil.copyfile(source, target)
        made = "copy"
    if purpose is not None:
        no_symlink_note(purpose, made, stacklevel=4)
    return made


def no_symlink_note(purpose: str, made: str, stacklevel: int = 3) -> None:
    """The one-line warning of :func:`link_file` (``made``: ``"hardlink"`` or ``"copy"``)."""
    from ..validation import GenXDWarning

    instead = "hard links" if made == "hardlink" else "copies"
    warnings.warn(GenXDWarning(f"symbolic links are not allowed here (on Windows: without Developer Mode or an "
                               f"administrator's rights): {instead} are used for {purpose}"), stacklevel=stacklevel)
