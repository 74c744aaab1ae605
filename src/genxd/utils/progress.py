"""genxd's progress bars: one kind everywhere (tqdm, as diffusers' own denoising bar), drawn on stderr so that
stdout carries only a command's result (what it wrote, its summary) and can be piped.

Every bar of genxd comes from :func:`progress_bar`, and lines printed while bars are on screen go through
:func:`progress_write` (above the bars instead of through them). Where stderr is not a terminal (a log file, a
cluster job's output) a bar redraws at most every :data:`LOG_INTERVAL_S` seconds instead of ten times a second:
tqdm writes every redraw into the file, so a 10,000-video curation logged 10,000 states; and each redraw there is
a line of its own (:class:`LogLines`), not tqdm's carriage returns, which a log viewer shows as one long line.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

__all__ = ["LOG_INTERVAL_S", "LogLines", "bar_settings", "close_bars", "closed_on_interrupt", "disable_setting",
           "progress_bar", "progress_write"]

#: Seconds between redraws of a bar whose stream is not a terminal (a log file).
LOG_INTERVAL_S = 10.0


def _is_terminal(stream: IO[str]) -> bool:
    """True for a terminal, and for a Jupyter cell's output (which draws carriage returns as a terminal does)."""
    if type(stream).__module__.split(".")[0] == "ipykernel":
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LogLines:
    """A log file as tqdm's bars see it: every redraw becomes one line (``desc: 40%|####  | 4/10 [...]\\n``).

    tqdm draws a state as ``\\r`` + text + padding and moves between stacked bars with ``\\n`` and ``ESC[A``: right
    on a terminal, but in a file every state of a bar ran together on one line and the cursor moves were left in
    as bytes. Erasing a bar (``leave=False``) writes only blanks, so nothing is logged for it, and a state is not
    logged twice in a row (a bar that closes draws its last state again). Every other
    attribute (``flush``, ``encoding``, ``fileno``) is the underlying stream's."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._last = ""

    def write(self, text: str) -> int:
        drawn = []
        for part in text.replace("\x1b[A", "").replace("\n", "\r").split("\r"):
            line = part.rstrip(" ")
            if line and line != self._last:  # a bar closing redraws the state it last drew: logged once
                drawn.append(line + "\n")
                self._last = line
        if drawn:
            self.stream.write("".join(drawn))
        return len(text)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@functools.cache
def _null_stream() -> IO[str]:
    import os

    return open(os.devnull, "w")  # noqa: SIM115 - kept open for the process's bars


def _stderr() -> IO[str]:
    """stderr, or the null device where the caller closed it (``2>&-``: ``sys.stderr`` is None, and tqdm's bars
    failed writing to it)."""
    return sys.stderr if sys.stderr is not None else _null_stream()


def bar_settings() -> dict[str, Any]:
    """tqdm settings shared by every genxd bar (also given to diffusers' bars, ``pipe.set_progress_bar_config``):
    stderr (a :class:`LogLines` view of it where it is not a terminal), the terminal's width, and the redraw
    interval for terminals and for log files."""
    stream = _stderr()
    if _is_terminal(stream):
        return {"file": stream, "dynamic_ncols": True, "mininterval": 0.1}
    return {"file": LogLines(stream), "dynamic_ncols": True, "mininterval": LOG_INTERVAL_S}


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
                 unit: str = "it", disable: bool = False, leave: bool = True, initial: int = 0,
                 terminal_only: bool = False):
    """A progress bar on stderr (``tqdm.auto``: a widget in Jupyter), over ``iterable`` or counting to ``total``.

    Use it as tqdm: iterate over it, or ``update(n)``, ``set_description(text)``, ``set_postfix(...)``,
    ``set_postfix_str(text)`` and ``close()`` (or ``with``). ``disable``: draw nothing (nor does any bar under
    tqdm's ``TQDM_DISABLE=1``, see :func:`disable_setting`). ``terminal_only``: also
    draw nothing where stderr is not a terminal (for short jobs whose bar would only clutter a log);
    ``leave=False``: erase the bar when it closes."""
    settings = bar_settings()
    disable = disable or (terminal_only and not _is_terminal(settings["file"]))
    return _bar_class()(iterable, total=total, desc=desc, unit=unit, leave=leave, initial=initial,
                        **disable_setting(disable), **settings)


def disable_setting(disable: bool) -> dict[str, bool]:
    """tqdm's ``disable`` for a bar genxd would draw unless ``disable``: given only when True, so that otherwise
    tqdm's own environment convention decides (``TQDM_DISABLE=1`` turns every bar off; tqdm reads it when first
    imported, and an explicit ``disable=False`` overrode it)."""
    return {"disable": True} if disable else {}


@functools.cache
def _bar_class():
    """tqdm's class (``tqdm.auto``'s choice) with ``set_postfix``, ``set_postfix_str`` and ``set_description`` drawing
    at the next ``update`` instead of at once: tqdm's ``refresh=True`` default redrew at every call and so ignored
    the log-file interval (a training run logged 211 bar states in 102 s, one per loss update)."""
    from tqdm.auto import tqdm

    class Bar(tqdm):
        def set_postfix(self, ordered_dict=None, refresh=False, **kwargs):
            super().set_postfix(ordered_dict, refresh=refresh, **kwargs)

        def set_postfix_str(self, s="", refresh=False):
            super().set_postfix_str(s, refresh=refresh)

        def set_description(self, desc=None, refresh=False):
            super().set_description(desc, refresh=refresh)

    return Bar


def progress_write(message: str, file: IO[str] | None = None) -> None:
    """Print ``message`` (on stderr unless ``file``) above the progress bars on screen, not through them."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=file if file is not None else _stderr())


def close_bars() -> None:
    """Close every bar still open (a command stopped by an error, Ctrl-C or SIGTERM), so that its last state is
    drawn before the command's last line: tqdm closes a bar when it is collected, which came after the line
    (``genxd: interrupted``, then a stale ``scenes: 0%`` bar as the last thing on screen)."""
    if "tqdm" not in sys.modules:
        return
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        try:
            bar.close()
        except Exception:  # noqa: BLE001 - a bar on a closed stream has nothing left to draw
            pass


@contextlib.contextmanager
def closed_on_interrupt(bars: list[Any]) -> Iterator[None]:
    """Close ``bars`` (progress bars; those appended within the block too) when an exception (Ctrl-C) leaves the
    block, so a caller's last line is not written over them; a bar closed twice is closed once (tqdm)."""
    try:
        yield
    except BaseException:
        for bar in reversed(bars):
            bar.close()
        raise
