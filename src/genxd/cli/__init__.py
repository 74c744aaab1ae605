"""The ``genxd`` command line.

Each sub-command lives in its own module ``genxd.cli.<name>`` that defines
``register(app: typer.Typer) -> None``; modules are discovered here, so adding a command needs no
edit of this file. Shared options come from :mod:`genxd.cli.options` (declared once, checked by
:mod:`genxd.validation` while the command line is parsed). Errors meant for users raise
:class:`genxd.cli.common.UsageError` (or any ValueError), printed as one line ``genxd: error: ...``
with exit code 2; so are option-parsing errors (:class:`genxd.cli.common.GenxdGroup`).

Help is plain text (no rich panels), wrapped at the terminal width on spaces, never after a hyphen inside a
name (:class:`genxd.cli.common.HelpFormatter`).
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
from typing import Annotated

import typer

from .common import GenxdGroup
from .process_exit import quiet_exit_after_freeze, stop_cleanly_on_sigterm

app = typer.Typer(
    name="genxd",
    help="GenXD: generate 3D and 4D scenes from images, curate video data, train, reconstruct.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=GenxdGroup,
)

_SKIP = {"common", "options"}


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"genxd {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print genxd's version and exit (`genxd info`: the whole installation).")] = False,
) -> None:
    """GenXD: generate 3D and 4D scenes from images, curate video data, train, reconstruct."""


def _register_unavailable(name: str, exc: ImportError) -> None:
    missing = getattr(exc, "name", None) or str(exc)
    # the module's own message says which extra to install ("genxd demo needs gradio: pip install -e '.[demo]'")
    hint = str(exc) if "pip install" in str(exc) else f"'genxd {name}' needs the Python module {missing!r}: pip install it"

    @app.command(name, help=f"(unavailable here: {hint})",
                 short_help=f"(unavailable: needs {missing!r})", context_settings={
        "allow_extra_args": True, "ignore_unknown_options": True})
    def _unavailable() -> None:
        """Unavailable here: an optional dependency is missing (the error says what to install)."""
        typer.echo(f"genxd: error: {hint}", err=True)
        raise typer.Exit(code=2)


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _SKIP:
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except ImportError as exc:  # a missing optional dependency disables one command, not the CLI
            _register_unavailable(info.name, exc)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    """Console entry point."""
    quiet_exit_after_freeze()  # first registered, last run: Triton's leak report after the freeze (process_exit)
    stop_cleanly_on_sigterm()  # SIGTERM cleans up as Ctrl-C does
    try:
        app()
    finally:
        # the objects of torch, diffusers and the command's models, moved out of the collector's reach: the
        # interpreter's exit then skips a cyclic collection over all of them (2.4 -> 0.25 s on a 2-core EPYC)
        gc.freeze()
