"""Walk every command and option of the ``genxd`` typer app (so new commands and options are covered): the
walk itself is :mod:`genxd.cli.params` (the CLI uses it too); here the helpers the tests add to it."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Iterator

import typer
import typer.main

from genxd.cli import app
from genxd.cli.params import Param, params
from genxd.cli.params import commands as _commands


def commands(typer_app: typer.Typer = app, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(command words, function)`` of every command of ``typer_app``."""
    return _commands(typer_app, prefix)


_BUILT: list[Any] = []


def invoke(runner: Any, args: list[str], **kwargs: Any) -> Any:
    """``runner.invoke(app, args)`` on the app built once (building it takes a third of a second)."""
    import typer.testing

    if not _BUILT:
        _BUILT.append(typer.main.get_command(app))
    getter = getattr(typer.testing, "_get_command", None)
    if getter is None:  # pragma: no cover - another typer version: build each time
        return runner.invoke(app, args, **kwargs)
    typer.testing._get_command = lambda _app: _BUILT[0]
    try:
        return runner.invoke(app, args, **kwargs)
    finally:
        typer.testing._get_command = getter


def all_params() -> list[Param]:
    return [p for cmd, fn in commands() for p in params(cmd, fn)]


def required_args(command: tuple[str, ...]) -> list[str]:
    """Placeholder values for a command's required arguments and options (so parsing gets to the rest)."""
    fn = dict(commands())[command]
    args: list[str] = []
    for p in params(command, fn):
        if not p.required:
            continue
        value = "x"
        if isinstance(p.base, type) and issubclass(p.base, enum.Enum):
            value = list(p.base)[0].value
        args += [value] if p.kind == "argument" else [p.decls[0], value]
    return args


__all__ = ["Param", "commands", "params", "all_params", "required_args", "invoke", "Path"]
