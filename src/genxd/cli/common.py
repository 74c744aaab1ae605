"""Helpers shared by the sub-commands: one-line errors with exit code 2, warnings, atomic writes.

Every error meant for the user is printed as **one line** ``genxd: error: ...`` on stderr with exit
code 2 and no traceback: option parsing errors (``--frames four``, a missing option) through
:class:`GenxdGroup`, value checks (``genxd.validation``, run while the options are parsed, before the
command starts) through the options' callbacks, and problems found by a command through
:func:`run_cli`. Warnings (:class:`genxd.validation.GenXDWarning`) are one line ``genxd: warning: ...``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import re
import sys
import warnings
from typing import Any, Callable, Iterator, TypeVar

import typer
from typer.core import TyperGroup

from ..utils.io import atomic_dir, atomic_file, is_environment_error  # noqa: F401
from ..utils.json_files import read_json, write_json_atomic  # noqa: F401
from ..utils.command_line import recorded
from ..utils.progress import close_bars
from ..utils.requirements import missing_requirement_message
from ..utils.shared_work import OtherProcessFailed
from ..utils.worker_errors import without_worker_traceback, worker_error
from ..validation import GenXDWarning, cli_style, is_out_of_memory, out_of_memory_message
from .process_exit import interruption, output_closed_passes_click, quiet_when_output_closes
from .terminal_text import escaped_controls, shown

atomic_path = atomic_file  # the name the sub-commands use

T = TypeVar("T")


def _click_class(name: str) -> Any:
    """A class of the click typer runs on (typer may vendor its own copy of click): an exception class, typed ``Any``
    since which click it comes from is known only when it runs."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise ImportError(name)  # pragma: no cover


ClickException = _click_class("ClickException")
ClickUsageError = _click_class("UsageError")


class UsageError(ValueError):
    """A problem with the user's input: printed as one line, exit code 2, no traceback."""


#: Exceptions that mean "the user's input is wrong": one line, exit code 2.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError)


def one_line(text: str) -> str:
    """Collapse a message to one line (a non-UTF-8 byte of a file name shown as ``\\xNN``: :func:`shown`; an error
    raised in a DataLoader worker as its own message: :func:`without_worker_traceback`); a control character left
    after that (a terminal's escape, ``\\x1b``, in a file name) escaped, not sent to the terminal."""
    return escaped_controls(" ".join(shown(without_worker_traceback(str(text))).split()))


def worker_error_class(text: str) -> type | None:
    """The class of the error a DataLoader worker raised, from the text of the RuntimeError PyTorch raises in its
    place when the class cannot be made again from a message (its ``__init__`` takes more: ``UnicodeDecodeError``,
    a ``ValueError`` subclass with extra fields). Only classes of modules already imported are found; None
    otherwise (other text too)."""
    import builtins
    import sys

    error = worker_error(text)
    if error is None or error[0].rsplit(".", 1)[-1] != text.split(" ", 2)[1]:  # "Caught NAME in DataLoader ..."
        return None
    module, _, qualname = error[0].rpartition(".")
    found = getattr(sys.modules.get(module) if module else builtins, qualname, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def secondary_process() -> bool:
    """Whether this is a process other than the first of a multi-process launch (``accelerate launch`` /
    ``torchrun`` set ``WORLD_SIZE`` and ``RANK``)."""
    from ..utils.shared_work import launch_process

    launch = launch_process()
    return launch is not None and launch[0] != 0


#: Folders that libraries genxd imports create from these variables, and which library (torch creates its compile
#: cache when ``torch._dynamo`` is imported, which diffusers does, also on a CPU where nothing is compiled).
CACHE_FOLDER_VARIABLES = {"TORCHINDUCTOR_CACHE_DIR": "torch creates", "TRITON_CACHE_DIR": "Triton creates",
                          "HF_HOME": "Hugging Face's libraries create", "HF_HUB_CACHE": "Hugging Face's libraries create",
                          "XDG_CACHE_HOME": "several libraries create"}


def with_cache_variable(exc: OSError) -> str:
    """``exc``'s message, naming the environment variable whose folder it is about ("[Errno 13] Permission
    denied: '/ro/ind'" said nothing of ``TORCHINDUCTOR_CACHE_DIR=/ro/ind``)."""
    message = str(exc) or type(exc).__name__
    if not getattr(exc, "filename", None):
        return message
    failed = os.path.abspath(os.fsdecode(exc.filename))
    for name, who in CACHE_FOLDER_VARIABLES.items():
        value = os.environ.get(name)
        if value and os.path.commonpath([failed, os.path.abspath(value)]) == os.path.abspath(value):
            return f"{message} ({name}={value}: {who} that folder; point {name} at a writable folder, or unset it)"
    return message


def fail(message: str) -> "typer.Exit":
    """Print ``genxd: error: message`` to stderr and return an Exit(2) to raise.

    In a multi-process launch only the first process prints while every process checks the same options and files
    (the others would print the same line again; they exit with the same code). Once the work is shared out
    (:mod:`genxd.utils.shared_work`) an error can be one process's own: every process prints it, naming itself
    (``process 1 of 2``: :func:`~genxd.utils.shared_work.process_label`)."""
    from ..utils.shared_work import launch_process, process_label, work_is_shared

    launch = launch_process()
    if launch is not None and work_is_shared():
        typer.echo(f"genxd: error: {process_label(*launch)}: {one_line(message)}", err=True)
    elif not secondary_process():
        typer.echo(f"genxd: error: {one_line(message)}", err=True)
    return typer.Exit(code=2)


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    typer.echo(f"genxd: warning: {one_line(str(message))}", err=True)


@contextlib.contextmanager
def cli_warnings(quiet: bool = False) -> Iterator[None]:
    """GenXD warnings as one line each (none when ``quiet``); other warnings as Python shows them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if quiet else "always", GenXDWarning)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            if issubclass(category, GenXDWarning):
                _show_warning(message, category, filename, lineno)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


#: modules that the model code's imports pull in without using them, deferred until first use (see
#: :mod:`genxd.utils.deferred_import`): diffusers' Euler scheduler module runs ``import scipy.stats`` for its
#: ``use_beta_sigmas`` option only (1.2-1.7 s of ``genxd generate`` on a 2-core AMD EPYC); diffusers' quantizers
#: run ``import bitsandbytes`` (the ``train`` extra) for bitsandbytes-quantized models only (0.4-0.9 s of CPU per
#: ``genxd generate`` / ``genxd train`` process on a shared 2-core machine); ``training.use_8bit_adam`` loads it
#: at its first use
DEFERRED_IMPORTS = ("scipy.stats", "bitsandbytes")


def import_libraries(*modules: str, defer: tuple[str, ...] = ()) -> None:
    """Import ``modules`` (torch, diffusers and genxd's model code: seconds, millions of Python objects) with the
    cyclic garbage collector paused, then move every object made so far to its permanent generation
    (``gc.freeze``), so that the collections while the command runs and the interpreter's exit no longer walk
    them. Measured on a 2-core AMD EPYC (AVX2): ``import genxd.api`` 7.2 -> 5.7 s. The cost: the cyclic garbage
    the imports leave (about 10,000 objects after ``import genxd.api``; collecting it would take 0.7 s) is frozen
    with the rest and stays allocated, a small fraction of a process that holds torch.

    ``defer``: modules to import only on first use (:func:`genxd.utils.deferred_import.defer_import`; for
    commands that import on one thread)."""
    from ..utils.deferred_import import defer_import

    for name in defer:
        defer_import(name)
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_cli(fn: Callable[[], T], quiet: bool = False) -> T:
    """Run ``fn`` as a command body: messages name options (``--frames``), warnings are one line (none if
    ``quiet``), and user errors (bad values, missing or existing files, read-only folders) become one
    ``genxd: error:`` line with exit code 2."""
    from ..utils.shared_work import reset_work_shared

    reset_work_shared()  # a command starts with the checks every process makes alike
    try:
        return _run_body(fn, quiet)
    finally:
        reset_work_shared()  # the next command in this process (tests, notebooks) starts alike too


def _run_body(fn: Callable[[], T], quiet: bool) -> T:
    """:func:`run_cli`'s body: ``fn`` with one-line errors."""
    try:
        try:
            with cli_style(), cli_warnings(quiet):
                return fn()
        except BaseException:
            close_bars()  # their last state before the error line, not after it
            raise
    except OtherProcessFailed:
        raise typer.Exit(code=2) from None  # the process that failed printed the error line
    except USER_ERRORS as exc:
        raise fail(with_cache_variable(exc) if isinstance(exc, OSError) else str(exc) or type(exc).__name__) from None
    except OSError as exc:
        if is_environment_error(exc):  # a full disk, a read-only folder ...: the user's machine, not a bug
            raise fail(with_cache_variable(exc)) from None
        raise
    except ModuleNotFoundError as exc:  # a package genxd requires, missing or broken: how to put it back
        message = missing_requirement_message(exc)
        if message is None:
            raise
        raise fail(message) from None
    except Exception as exc:
        if is_out_of_memory(exc):  # torch's paragraph and traceback: the machine's limit, not a bug
            raise fail(out_of_memory_message(exc)) from None
        caught = worker_error_class(str(exc)) if type(exc) is RuntimeError else None
        if caught is not None and issubclass(caught, USER_ERRORS):  # a user error of a DataLoader worker that
            raise fail(str(exc)) from None  # PyTorch could not raise again as itself: its own line, as the others
        raise
    except KeyboardInterrupt as exc:
        raise _interrupted(exc) from None


@contextlib.contextmanager
def _click_step() -> Iterator[None]:
    """Parsing the command line or invoking a command: a closed output passes click by (``genxd --help | head -1``),
    and Ctrl-C or SIGTERM outside the command's :func:`run_cli` (which says it itself) is its one line and exit code
    (typer made it exit code 130 without a word)."""
    try:
        with output_closed_passes_click():
            yield
    except KeyboardInterrupt as exc:
        raise _interrupted(exc) from None


def _interrupted(exc: KeyboardInterrupt) -> "typer.Exit":
    """Print the line of a command stopped by Ctrl-C or SIGTERM; the Exit (130 / 143) to raise."""
    line, code = interruption(exc)
    if line is not None:
        typer.echo(line, err=True)
    return typer.Exit(code=code)


def note(message: str, quiet: bool = False) -> None:
    """An informational line on stderr (``genxd: message``), silent under ``--quiet``."""
    if not quiet:
        typer.echo(f"genxd: {message}", err=True)


def eprint(*args: object) -> None:
    if sys.stderr is not None:  # None: the caller closed it (2>&-); print would fall back to stdout
        print(*args, file=sys.stderr)


def _option_label(param: Any) -> str:
    if param is None:
        return ""
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if opts and getattr(param, "param_type_name", "option") == "option":
        return max(opts, key=len)
    return str(getattr(param, "name", "") or "").upper()


#: what a value that did not convert must be, by pydantic's error type (typer 0.29) or click's / typer 0.27's
#: type word ("'four' is not a valid int.")
_COERCION_KINDS = {"int_parsing": "an integer", "int_from_float": "an integer", "float_parsing": "a number",
                   "bool_parsing": "true or false", "int": "an integer", "integer": "an integer",
                   "float": "a number", "number": "a number", "bool": "true or false", "boolean": "true or false"}


def _coercion_message(exc: Exception) -> str | None:
    """``must be an integer, got 'four'`` for a value typer could not convert (its message is pydantic's since
    typer 0.29: "Input should be a valid integer, unable to parse string as an integer"; typer 0.27: "'four' is
    not a valid int."; click's: "'four' is not a valid integer."), else None."""
    import re

    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        found = re.fullmatch(r"(.*) is not a valid (int|integer|float|number|bool|boolean)\.?",
                             str(getattr(exc, "message", "")))
        return f"must be {_COERCION_KINDS[found.group(2)]}, got {found.group(1)}" if found else None
    try:
        first = errors()[0]
    except Exception:  # noqa: BLE001 - any other shape: keep typer's own message
        return None
    kind = _COERCION_KINDS.get(first.get("type"))
    return f"must be {kind}, got {first.get('input')!r}" if kind else None


def _choice_message(message: str) -> str | None:
    """``must be one of folder, video, got 'vidoe'`` (the wording of genxd's own choice checks) for a value not
    among an Enum option's choices: typer 0.29 says it in pydantic's words ("Value error, 'vidoe' is not one of
    'folder', 'video'."), click without "Value error, "; else None."""
    import re

    found = re.fullmatch(r"(?:Value error, )?(.+) is not one of (.+?)\.?", message.strip())
    if not found:
        return None
    choices = re.findall(r"'([^']*)'", found.group(2))
    return f"must be one of {', '.join(choices)}, got {found.group(1)}" if choices else None


def _close_option_names(exc: Exception) -> str | None:
    """``No such option: --fram (did you mean --frames?)`` with only the close names: click also offers far
    ones (``--bogus`` -> ``--out``)."""
    import difflib

    name, possible = getattr(exc, "option_name", None), getattr(exc, "possibilities", None)
    if not name or possible is None:
        return None
    close = [p for p in possible if difflib.SequenceMatcher(None, name, p).ratio() >= 0.7]
    return f"No such option: {name}" + (f" (did you mean {' or '.join(close)}?)" if close else "")


def _negative_number_line(exc: Exception, argv: list[str]) -> str | None:
    """For click's ``No such option: -0`` when the user wrote a negative number (``-0.5``) where an option
    was expected: the line names what was written and how to give it."""
    name = getattr(exc, "option_name", None) or ""
    if not re.fullmatch(r"-\d", name[:2]):
        return None
    for i, token in enumerate(argv):
        try:
            float(token)
        except ValueError:
            continue
        if token.startswith(name):
            before = argv[i - 1] if i > 0 and argv[i - 1].startswith("--") and "=" not in argv[i - 1] else None
            how = f" ({before}={token})" if before else " (--option=-0.5; an extra negative argument: put -- before it)"
            return f"{token} reads as an option: a negative number is joined to its option with '='{how}"
    return None


def _dash_file_line(exc: Exception, argv: list[str]) -> str | None:
    """For click's ``No such option: -d`` when the user gave a file whose name starts with a dash (``-dash.png``):
    the line names the file and how to give it."""
    name = getattr(exc, "option_name", None) or ""
    for token in argv:
        if name and token.startswith(name) and token != name and os.path.lexists(token):
            return (f"{token} reads as an option: give a file whose name starts with '-' as ./{token} (or end the "
                    "options with -- and give it after)")
    return None


def click_error_line(exc: Exception, argv: list[str] | None = None) -> str:
    """One line for an option-parsing error, naming the option (``argv``: the command line, where known)."""
    if argv and type(exc).__name__ == "NoSuchOption" and (line := _negative_number_line(exc, argv)):
        return line
    if argv and type(exc).__name__ == "NoSuchOption" and (line := _dash_file_line(exc, argv)):
        return line
    param = getattr(exc, "param", None)
    message = getattr(exc, "message", None) or str(exc)
    label = _option_label(param)
    if type(exc).__name__ == "BadParameter" and label and (coerced := _coercion_message(exc)):
        return one_line(f"{label} {coerced}")
    if type(exc).__name__ == "BadParameter" and label and (choice := _choice_message(message)):
        return one_line(f"{label} {choice}")
    if type(exc).__name__ == "NoSuchOption" and (line := _close_option_names(exc)):
        return one_line(line)
    if type(exc).__name__ == "BadParameter" and label and not message.startswith(label):
        return one_line(f"{label}: {message}")
    if hasattr(exc, "format_message") and type(exc).__name__ != "BadParameter":
        message = exc.format_message()
    extra = re.fullmatch(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message, flags=re.S)
    if extra and not extra.group(1).strip():  # click joins the extra values with spaces: '' shows as "()"
        return "Got an unexpected extra argument that is empty or blank ('')"
    return one_line(message)


#: stands for a hyphen inside a word while help is wrapped (a private-use character: never in help text), so
#: that names are not broken after their hyphens (``genxd trajectory from-`` / ``video``, ``--path-`` / ``scale``)
_UNBROKEN_HYPHEN = "\ue02d"
_WORD_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_click_formatting: Any = importlib.import_module(ClickException.__module__.rsplit(".", 1)[0] + ".formatting")
_click_core: Any = importlib.import_module(ClickException.__module__.rsplit(".", 1)[0] + ".core")


def _unbroken(text: str) -> str:
    return _WORD_HYPHEN.sub(_UNBROKEN_HYPHEN, text)


#: the narrowest help genxd wraps to (click's own floor is 50 columns: on a 40-column terminal every longer line
#: was folded again by the terminal, inside words)
HELP_MIN_WIDTH = 24


class HelpFormatter(_click_formatting.HelpFormatter):
    """click's help formatter, wrapping on spaces only: textwrap would also break a line after a hyphen inside a
    word, and a command or option name copied from the help would then be wrong. It fits terminals narrower than
    click's 50 columns, and keeps the column of descriptions at least as wide as their longest word (click cut
    ``authors/transforms/w2c`` into ``aut`` / ``hors/transforms/`` at 50 columns)."""

    def __init__(self, indent_increment: int = 2, width: int | None = None, max_width: int | None = None) -> None:
        if width is None and _click_formatting.FORCED_WIDTH is None:
            import shutil

            width = max(min(shutil.get_terminal_size().columns, max_width or 80) - 2, HELP_MIN_WIDTH)
        super().__init__(indent_increment, width, max_width)

    def write(self, string: str) -> None:
        super().write(string.replace(_UNBROKEN_HYPHEN, "-"))

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = "Usage: " if prefix is None else prefix
        if self.current_indent + len(prefix) + len(prog) < self.width:
            super().write_usage(prog, _unbroken(args), prefix)
            return
        # ``Usage: python -m genxd trajectory from-video`` wider than the help: the command wrapped too
        self.write(_click_formatting.wrap_text(_unbroken(f"{prog} {args}".strip()), self.width - self.current_indent,
                                               initial_indent=f"{prefix:>{self.current_indent}}",
                                               subsequent_indent=" " * (self.current_indent + 4)) + "\n")

    def write_text(self, text: str) -> None:
        super().write_text(_unbroken(text))

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(self._fitted_term(first), _unbroken(second)) for first, second in rows]
        # the descriptions' column: as wide as their longest word (and 24 columns where the width allows), the
        # terms narrowed to make room (a longer term then stands on its own line, its description below it)
        longest = max((len(word) for _, second in rows for word in second.split()), default=0)
        wanted = max(longest, min(24, self.width // 2))
        col_max = max(min(col_max, self.width - 2 - col_spacing - wanted), 2)
        super().write_dl(rows, col_max, col_spacing)

    def _fitted_term(self, term: str) -> str:
        """``term`` (``--format <authors|transforms|colmap|w2c>``), its value on a line of its own when the two
        together are wider than the help."""
        if self.current_indent + len(term) <= self.width or " " not in term:
            return term
        option, value = term.split(" ", 1)
        indent = self.current_indent + self.indent_increment
        indent -= self.indent_increment * (indent + len(value) > self.width)  # a long list of choices
        return f"{option}\n{'':>{indent}}{value}"


class HelpContext(_click_core.Context):
    formatter_class = HelpFormatter


def _use_help_formatter(command: Any) -> None:
    """Give ``command`` and its sub-commands :class:`HelpContext` (whose help wraps on spaces only)."""
    command.context_class = HelpContext
    for sub in getattr(command, "commands", {}).values():
        _use_help_formatter(sub)


class GenxdGroup(TyperGroup):
    """The ``genxd`` command group: option-parsing errors are one ``genxd: error:`` line, exit code 2, and help is
    wrapped on spaces only (:class:`HelpFormatter`), in every sub-command too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _use_help_formatter(self)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _click_step():  # `genxd --help | head -1`: help is printed while parsing
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _click_step():
            return super().invoke(ctx)

    def main(self, args: Any = None, prog_name: str | None = None,  # type: ignore[override]  # windows_expand_args: in **extra
             complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        with quiet_when_output_closes():  # `genxd info | head -1`: exit 141, nothing more said
            self._main(args, prog_name, complete_var, **extra)

    def _main(self, args: Any, prog_name: str | None, complete_var: str | None, **extra: Any) -> None:
        """:meth:`main` for the command line: one-line errors, then ``sys.exit``."""
        argv = [str(a) for a in (sys.argv[1:] if args is None else args)]
        if "--help" not in argv:
            from .params import empty_path_error

            if (line := empty_path_error(argv)) is not None:  # typer would read '' as the current folder
                typer.echo(f"genxd: error: {line}", err=True)
                sys.exit(2)
        try:
            with recorded(argv):  # messages that say how to run the command again (genxd.utils.command_line)
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `genxd` or `genxd trajectory` alone: the help
                typer.echo(exc.format_message())
                sys.exit(2)
            typer.echo(f"genxd: error: {click_error_line(exc, argv)}", err=True)
            sys.exit(2 if isinstance(exc, ClickUsageError) else exc.exit_code)
        except typer.Abort:  # end of input at a prompt
            typer.echo("genxd: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)
