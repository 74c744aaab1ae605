"""Walk every command and option of the ``genxd`` typer app (so new commands and options are covered).

Read from typer's own records of the app (``registered_commands`` / ``registered_groups``) and each
command function's signature: every parameter's names, help, Python type and the validation spec its
callback carries (``genxd.cli.options.checked``).
"""

from __future__ import annotations

import enum
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import typer
import typer.main
from typer.models import ArgumentInfo, OptionInfo

from genxd.cli import app


@dataclass
class Param:
    command: tuple[str, ...]
    name: str
    kind: str  # "option" or "argument"
    decls: tuple[str, ...]
    help: str | None
    base: Any  # int, float, bool, str, Path, list, an Enum ...
    default: Any
    required: bool
    spec: Any  # genxd.validation.Spec or None

    @property
    def flag(self) -> str:
        """The long option name (``--frames``)."""
        longs = [d for d in self.decls if d.startswith("--")]
        return max(longs, key=len) if longs else self.name

    @property
    def numeric(self) -> bool:
        from genxd import validation as v

        if self.base in (int, float):
            return True
        return isinstance(self.spec, (v.Number, v.Numbers, v.Pair, v.Size))


def _base(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base(args[0]) if len(args) == 1 else annotation
    if origin in (list, typing.List):
        return list
    return annotation


def commands(typer_app: typer.Typer = app, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for info in typer_app.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        yield prefix + (name,), info.callback
    for group in typer_app.registered_groups:
        yield from commands(group.typer_instance, prefix + (group.name,))


def params(command: tuple[str, ...], fn: Any) -> list[Param]:
    hints = typing.get_type_hints(fn, include_extras=True)
    out = []
    for name, p in inspect.signature(fn).parameters.items():
        info = p.default if isinstance(p.default, (OptionInfo, ArgumentInfo)) else None
        default = info.default if info is not None else p.default
        ann = hints.get(name)
        if typing.get_origin(ann) is typing.Annotated:
            for meta in typing.get_args(ann)[1:]:
                if isinstance(meta, (OptionInfo, ArgumentInfo)):
                    info = meta
        assert info is not None, f"genxd {' '.join(command)}: parameter {name} is not a typer option or argument"
        kind = "argument" if isinstance(info, ArgumentInfo) else "option"
        decls = tuple(info.param_decls or ())
        if isinstance(info.default, str) and info.default.startswith("-"):  # Annotated: the first name
            decls = (info.default, *decls)
            default = p.default
        decls = decls or (f"--{name.replace('_', '-')}",)
        required = default is ... or (default is inspect.Parameter.empty)
        out.append(Param(command, name, kind, decls, info.help, _base(ann), default, required,
                         getattr(info.callback, "spec", None)))
    return out


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
