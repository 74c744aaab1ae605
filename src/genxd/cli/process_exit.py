"""A quiet, fast exit for the command line after ``gc.freeze``.

The CLI moves every object it made out of the cyclic collector's reach (``gc.freeze``: after the heavy imports in
:func:`genxd.cli.common.import_libraries`, and at the end of :func:`genxd.cli.main`), so that the interpreter's exit
skips a collection over torch, diffusers and the models (2.4 -> 0.25 s on a 2-core EPYC). Objects frozen in reference
cycles are then never freed, which the operating system makes harmless, except that Triton 3.9 and later (its
bindings moved from pybind11 to nanobind) counts its objects at exit: with the CUDA build of torch installed (the
default ``pip install torch`` on Linux, which brings Triton; diffusers imports ``torch._dynamo``, which imports
Triton, also on a CPU), every ``genxd generate`` ended with about 40 lines of "nanobind: leaked 4 instances! ...
leaked 64 types! ... leaked 513 functions!" (torch 2.15, Triton 3.9.0), after the command's own last line.

Triton silences the same report in its own worker processes by pointing the process's stderr at ``/dev/null`` at
exit (``triton/_compile_warmup_pool.py``); genxd does the same for its commands, only when a nanobind Triton is
loaded, and as the last exit handler (registered before the command runs; exit handlers run last-registered
first), so the messages of the command and of every other exit handler still show. Unfreezing and collecting at
exit instead frees the objects but costs the collection the freeze is there to skip (0.56 s here).

A reader that goes before the command's output ends (``genxd info | head -1``, ``less`` quit early) ends the
command quietly with :data:`OUTPUT_CLOSED_EXIT` (:func:`quiet_when_output_closes`): click made it exit code 1,
and output still buffered at exit made Python print "Exception ignored ... BrokenPipeError".
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import sys
from typing import Iterator, NoReturn

from .closed_streams import point_at_devnull

__all__ = ["OUTPUT_CLOSED_EXIT", "OutputClosed", "Terminated", "interrupted_exit", "interruption",
           "nanobind_triton_loaded", "output_closed_passes_click", "quiet_exit_after_freeze",
           "quiet_when_output_closes", "stop_cleanly_on_sigterm"]

#: the exit code of a command whose reader went away: 128 + SIGPIPE, what a shell reports for a program that
#: signal ends (``yes | head -1``), as Ctrl-C gives 130 and SIGTERM 143
OUTPUT_CLOSED_EXIT = 141

_REGISTERED = False


def nanobind_triton_loaded() -> bool:
    """Whether this process has imported a Triton whose bindings are nanobind's (Triton >= 3.9)."""
    libtriton = sys.modules.get("triton._C.libtriton")
    if libtriton is None:
        return False
    try:
        return type(type(libtriton.ir.context)).__module__ == "nanobind"
    except Exception:  # noqa: BLE001 - a Triton laid out otherwise is not the one this is for
        return False


def _silence_stderr_if_triton_reports_leaks() -> None:
    if not nanobind_triton_loaded():
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed stream has nothing left to show
            pass
    point_at_devnull(2)


def quiet_exit_after_freeze() -> None:
    """Register the exit handler once, before a command runs (idempotent)."""
    global _REGISTERED
    if not _REGISTERED:
        atexit.register(_silence_stderr_if_triton_reports_leaks)
        _REGISTERED = True


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a job scheduler's stop), raised in the main thread as Ctrl-C raises
    ``KeyboardInterrupt``, so that the same cleanup runs: temporary outputs removed, an output being replaced put
    back, Ray shut down. Without it the process died at once and left its ``.part`` folders for the next run."""


def interruption(exc: KeyboardInterrupt) -> tuple[str | None, int]:
    """The line and exit code of a command stopped by Ctrl-C (``genxd: interrupted``, 130) or SIGTERM
    (:class:`Terminated`: ``genxd: terminated``, 143 = 128 + 15, as a process the signal kills); the exception's
    notes (``add_note``: what was kept, how to continue) follow on the same line.

    Under a launch of several processes (``accelerate launch`` passes the signal on to each; every process said
    ``genxd: interrupted``) the first process says the line, and another one only when it has notes (what its share
    kept); a line with notes names its process (``genxd: interrupted: process 1 of 2: kept ...``). ``None``:
    nothing to say."""
    from ..utils.shared_work import launch_process, process_label

    notes = list(getattr(exc, "__notes__", ()))  # e.g. the windows of a long path kept
    launch = launch_process()
    if launch is not None and notes:
        notes.insert(0, process_label(*launch))
    terminated = isinstance(exc, Terminated) or _SIGTERM_RAISED  # the latter: a Terminated a library re-raised as
    # KeyboardInterrupt (Ray's blocking calls)
    line, code = ("genxd: terminated", 143) if terminated else ("genxd: interrupted", 130)
    if launch is not None and launch[0] != 0 and not notes:
        return None, code
    return line + "".join(f": {n}" for n in notes), code


def interrupted_exit(exc: KeyboardInterrupt) -> NoReturn:
    """Say :func:`interruption`'s line on stderr and exit with its code."""
    line, code = interruption(exc)
    if line is not None and sys.stderr is not None:  # None: the caller closed it (2>&-)
        print(line, file=sys.stderr, flush=True)
    sys.exit(code)


#: Whether :func:`_raise_terminated` ran in this process: a blocking Ray call (``ray.wait``, ``ray.get``) turns
#: whatever a signal handler raises into a plain ``KeyboardInterrupt``, so that a ``kill`` of ``genxd curate --ray
#: local`` ended as Ctrl-C does ("genxd: interrupted", 130); :func:`interruption` reads it
_SIGTERM_RAISED = False


def _raise_terminated(signum: int, frame: object) -> None:
    global _SIGTERM_RAISED
    _SIGTERM_RAISED = True
    raise Terminated


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread, where nothing else has taken the signal (a
    handler set by whoever started the process, or ignored, is left as it is)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_terminated)


class OutputClosed(Exception):
    """A write to a pipe whose reader has gone (:class:`BrokenPipeError`), carried past click, which would end
    the command with exit code 1 (click catches ``EPIPE`` in its own ``main``)."""


@contextlib.contextmanager
def output_closed_passes_click() -> Iterator[None]:
    """Raise :class:`OutputClosed` for a :class:`BrokenPipeError` of the body (wraps what click runs)."""
    try:
        yield
    except BrokenPipeError as exc:
        raise OutputClosed(str(exc)) from exc


@contextlib.contextmanager
def quiet_when_output_closes() -> Iterator[None]:
    """End with :data:`OUTPUT_CLOSED_EXIT` and nothing more said when the reader of stdout or stderr goes away.

    What is still buffered is written before leaving (a closed pipe is then caught here, not by the
    interpreter's exit); then, as Python's documentation of ``SIGPIPE`` advises, the standard streams point at
    ``os.devnull``, so that the interpreter's own flush at exit finds nothing to fail on."""
    try:
        try:
            yield
        finally:
            if sys.stdout is not None:  # None: the caller closed it (>&-)
                sys.stdout.flush()
    except (BrokenPipeError, OutputClosed):
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            if stream is not None:
                point_at_devnull(fd)
        sys.exit(OUTPUT_CLOSED_EXIT)
    except OSError as exc:
        # standard output on a full disk (`genxd info > /dev/full`, --help / --version to a file that does not fit):
        # a write outside a command's run_cli, which says a full disk itself; one line, not click's traceback
        if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
            raise
        if sys.stdout is not None:
            point_at_devnull(1)  # what is still buffered would fail again at exit
        with contextlib.suppress(OSError, ValueError):
            print(f"genxd: error: cannot write the output: {exc.strerror}", file=sys.stderr, flush=True)
        sys.exit(2)  # as run_cli's full disk
