"""The ``genxd`` typer app: the root options, and every sub-command found in :mod:`genxd.cli` (each module with a
``register(app)``; one whose optional dependency is missing is listed as unavailable, naming what to install).
Imported by :func:`genxd.cli.main` inside its handling of Ctrl-C (``import genxd.cli`` stays light)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated

import typer

from . import __path__ as _CLI_PATH
from .common import GenxdGroup

app = typer.Typer(
    name="genxd",
    help="GenXD: generate 3D and 4D scenes from images, curate video data, train, reconstruct.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=GenxdGroup,
)

_SKIP = {"common", "options", "root"}


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
    # the module's own message says which extra to install ('genxd demo needs gradio: pip install "genxd[demo]"')
    hint = str(exc) if "pip install" in str(exc) else f"'genxd {name}' needs the Python module {missing!r}: pip install it"

    @app.command(name, help=f"(unavailable here: {hint})",
                 short_help=f"(unavailable: needs {missing!r})", context_settings={
        "allow_extra_args": True, "ignore_unknown_options": True})
    def _unavailable() -> None:
        """Unavailable here: an optional dependency is missing (the error says what to install)."""
        typer.echo(f"genxd: error: {hint}", err=True)
        raise typer.Exit(code=2)


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(_CLI_PATH), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _SKIP:
            continue
        try:
            module = importlib.import_module(f"{__package__}.{info.name}")
        except ImportError as exc:  # a missing optional dependency disables one command, not the CLI
            _register_unavailable(info.name, exc)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()
