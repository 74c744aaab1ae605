"""Every command and parameter of the ``genxd`` typer app, read from typer's records of the app
(``registered_commands`` / ``registered_groups``) and each command function's signature: names, help, Python
type and the validation spec its callback carries (:func:`genxd.cli.options.checked`).

Used by :func:`empty_path_error` (a path given as ``''``) and by the tests that walk every option.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import typer
from typer.models import ArgumentInfo, OptionInfo

__all__ = ["Param", "commands", "params", "empty_path_error"]


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
    path: bool = False  # a Path, or a list of them

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


def _mentions_path(annotation: Any) -> bool:
    if annotation is Path:
        return True
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        args = args[:1]
    return any(_mentions_path(a) for a in args)


def commands(typer_app: typer.Typer | None = None,
             prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(command words, function)`` of every command (``("trajectory", "make")`` ...)."""
    if typer_app is None:
        from . import app

        typer_app = app
    for info in typer_app.registered_commands:
        assert info.callback is not None  # a command registered with @app.command
        name = info.name or info.callback.__name__.replace("_", "-")
        yield prefix + (name,), info.callback
    for group in typer_app.registered_groups:
        assert group.name is not None  # genxd's groups are all added with a name
        yield from commands(group.typer_instance, prefix + (group.name,))


def params(command: tuple[str, ...], fn: Any) -> list[Param]:
    """The parameters of the command function ``fn``, in order."""
    # the annotations as written: typing.get_type_hints on Python 3.10 wraps an annotation whose default is None in
    # Optional[...], which hides Annotated[Optional[str], typer.Option(...)] (removed in 3.11)
    signature = inspect.signature(fn, eval_str=True)
    hints = {name: p.annotation for name, p in signature.parameters.items() if p.annotation is not p.empty}
    out = []
    for name, p in signature.parameters.items():
        info = p.default if isinstance(p.default, (OptionInfo, ArgumentInfo)) else None
        default = info.default if info is not None else p.default
        ann = hints.get(name)
        if typing.get_origin(ann) is typing.Annotated:
            for meta in typing.get_args(ann)[1:]:
                if isinstance(meta, (OptionInfo, ArgumentInfo)):
                    info = meta
        if info is None:
            raise TypeError(f"genxd {' '.join(command)}: parameter {name} is not a typer option or argument")
        kind = "argument" if isinstance(info, ArgumentInfo) else "option"
        decls = tuple(info.param_decls or ())
        if isinstance(info.default, str) and info.default.startswith("-"):  # Annotated: the first name
            decls = (info.default, *decls)
            default = p.default
        decls = decls or (f"--{name.replace('_', '-')}",)
        required = default is ... or (default is inspect.Parameter.empty)
        out.append(Param(command, name, kind, decls, info.help, _base(ann), default, required,
                         getattr(info.callback, "spec", None), _mentions_path(ann)))
    return out


def empty_path_error(argv: list[str]) -> str | None:
    """The error line for a path option or argument given as an empty string (``--input ''``), which typer would
    read as the current folder (``Path('')`` is ``.``), else None. Options and arguments are matched the way
    click parses them: ``--opt VALUE``, ``--opt=VALUE``, positionals in order (a list argument takes the rest)."""
    table = dict(commands())
    command = next((tuple(argv[:n]) for n in (2, 1) if tuple(argv[:n]) in table), None)
    if command is None:
        return None
    ps = params(command, table[command])
    options = {d: p for p in ps if p.kind == "option" for d in p.decls}
    positionals: list[str] = []
    rest = argv[len(command):]
    i = 0
    value: str | None  # an option's value; None: none follows it
    while i < len(rest):
        token = rest[i]
        if token == "--":
            positionals += rest[i + 1:]
            break
        name, eq, value = token.partition("=")
        p = options.get(name) if token.startswith("--") and eq else options.get(token)
        if p is None:
            if not token.startswith("-") or token == "-":
                positionals.append(token)
            i += 1
            continue
        if p.base is bool:
            i += 1
            continue
        if not eq:
            value = rest[i + 1] if i + 1 < len(rest) else None
        if p.path and value is not None and not value.strip():
            return f"{p.flag} is empty: pass a file or folder name"
        i += 1 if eq else 2
    arguments = [p for p in ps if p.kind == "argument"]
    for k, p in enumerate(arguments):
        if p.base is list:  # takes the rest, but for the arguments after it
            taken, positionals = positionals[:len(positionals) - (len(arguments) - k - 1)], \
                positionals[len(positionals) - (len(arguments) - k - 1):]
        else:
            taken, positionals = positionals[:1], positionals[1:]
        if p.path and any(not t.strip() for t in taken):
            if p.base is list:
                return f"{p.name.upper()} holds an empty name: pass file or folder names"
            return f"{p.name.upper()} is empty: pass a file or folder name"
    return None
