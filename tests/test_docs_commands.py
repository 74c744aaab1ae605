"""Every command line the docs show exists: each ``genxd ...`` line of README.md and docs/*.md (fenced blocks and
inline backticks, tables included; ``python -m genxd`` and ``accelerate launch ... -m genxd`` forms too) is parsed
by the real CLI's own parser, and each ``python benchmarks/SCRIPT.py ...`` line by that script's argparse parser,
without running anything: the sub-command exists, every option exists and takes a value or not as used, choice and
number values are accepted, and (in fenced blocks, whole commands) the required arguments are there; a shipped
input it names (``examples/...``; ``configs/...``, where the presets were before they moved into the package) exists,
and ``genxd train`` loads its config (a repository file or a shipped preset's name) with the line's
``section.key=value`` overrides.

Placeholders (``DIR``, ``N``, ``<scene>``, ``...``, ``camera-*``) are not values to check: only a value written
out is checked. Inline spans are often a command with one of its options (``genxd generate --compile``), so
their missing required arguments are not errors. ``a|b`` and ``--fast/--no-fast`` are alternatives, each checked.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import typer.main

from genxd import validation as v

from tests.helpers import ROOT, load_script

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

#: Doc lines that are wrong on purpose (``file name``, the command's text) -> why. Keep this short.
ALLOWED: dict[tuple[str, str], str] = {
    # the cli-args fuzz findings quote the inputs that failed: --fps 1e-30 is now refused up front, as it should be
    ("docs/robustness_probe.md", "synth --fps 1e-30"): "a refused input the fuzzer found, quoted as such",
}

_FENCE = re.compile(r"^\s*(```+|~~~+)")
_ANGLE = re.compile(r"<[A-Za-z][^<>\s]*>")  # <scene>, <cpu>
_SEPARATORS = {"|", "||", "&&", ";", "&"}
_WRAPPERS = {"time", "nohup", "exec", "env", "sudo", "command", "nice"}
_PYTHONS = re.compile(r"^(.*/)?python(3(\.\d+)?)?$")
_PLACEHOLDER = "PLACEHOLDER"
#: inputs the repository ships: a doc line naming one must name one that exists (configs/: none since the presets moved
#: to src/genxd/configs; a doc line still naming one is stale)
_SHIPPED = ("configs/", "examples/")


@dataclass(frozen=True)
class DocCommand:
    """One command line of the docs: where, its text, the program (``genxd`` or a script's path) and its words."""

    file: str
    line: int
    text: str
    program: str
    argv: tuple[str, ...]
    inline: bool

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: `{self.text}`"


def _words(text: str) -> list[list[str]]:
    """The shell words of ``text`` (comments dropped), split into the commands of a pipeline / list."""
    text = _ANGLE.sub(_PLACEHOLDER, text.replace("\u2026", "..."))
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError:  # an unbalanced quote: a fragment of prose
        return []
    segments: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            segments.append([])
        elif word.endswith(";") and len(word) > 1:
            segments[-1].append(word[:-1])
            segments.append([])
        else:
            segments[-1].append(word)
    return [s for s in segments if s]


def _without_redirections(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if re.fullmatch(r"[0-9&]?>>?|<", word):
            skip = True
            continue
        if re.match(r"[0-9&]?>>?\S|<\S", word) and not word.startswith(_PLACEHOLDER):
            continue  # 2>&1, >out.txt
        out.append(word)
    return out


def _subcommands() -> set[str]:
    from genxd.cli.params import commands

    return {words[0] for words, _fn in commands()}


def _invocation(words: list[str], inline: bool) -> tuple[str, list[str]] | None:
    """``("genxd", args)`` or ``("benchmarks/x.py", args)`` for a command that runs one, else None. In an inline
    span, a sub-command with an option (`generate --camera`) stands for ``genxd generate --camera``."""
    i = 0
    while i < len(words) and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[i]) or words[i] in _WRAPPERS):
        i += 1
        if words[i - 1] == "nice" and i < len(words) and words[i] == "-n":
            i += 2
    if i >= len(words):
        return None
    head, rest = words[i], words[i + 1:]
    if head == "genxd" or head.endswith("/bin/genxd"):
        return "genxd", rest
    if inline and head in _subcommands() and any(w.startswith("--") for w in rest[:3]):
        return "genxd", [head, *rest]  # `generate --camera`, `trajectory make --height H`
    if _PYTHONS.match(head) or head in ("accelerate", "torchrun"):
        for k, word in enumerate(rest):
            if word == "-m" and k + 1 < len(rest):
                return ("genxd", rest[k + 2:]) if rest[k + 1] == "genxd" else None
            if word.endswith(".py"):
                return (word, rest[k + 1:]) if word.startswith("benchmarks/") else None
            if word == "-c":
                return None
    return None


def _clean(args: list[str]) -> list[str]:
    """Usage notation out: ``[--opt X]`` brackets, lone ``...``."""
    out = []
    for word in args:
        if word.startswith("[") and (word == "[" or word.startswith("[-")):
            word = word[1:]
        while word.endswith("]") and word.count("]") > word.count("["):
            word = word[:-1]
        if word not in ("...", "[...]"):
            out.append(word)
    return out


def _variants(args: list[str]) -> list[tuple[str, ...]]:
    """``--fast/--no-fast`` and ``a|b|c`` stand for each alternative: one argument list per alternative."""
    choices = []
    for word in args:
        if word.startswith("--") and "/--" in word:
            choices.append(word.split("/"))
        elif "|" in word and not is_placeholder(word):
            choices.append(word.split("|"))
        else:
            choices.append([word])
    width = max(len(c) for c in choices) if choices else 1
    return [tuple(c[min(k, len(c) - 1)] for c in choices) for k in range(width)]


def _commands_in(text: str, file: str, line: int, inline: bool) -> Iterator[DocCommand]:
    code, hash_, comment = text.partition(" #")
    if hash_ and not inline:  # a command in a comment ("# or: genxd eval ...", "# = python benchmarks/x.py ..."):
        start = re.search(r"(?<![\w./-])(genxd|python) ", comment)  # often a fragment, so taken as inline
        if start:  # up to the prose around it ("genxd train-vae, below)")
            fragment = re.split(r"[,;)](?:\s|$)", comment[start.start():])[0]
            yield from _commands_in(fragment, file, line, inline=True)
    for words in _words(text):
        found = _invocation(_without_redirections(words), inline)
        if found is None:
            continue
        program, args = found
        for argv in _variants(_clean(args)):
            yield DocCommand(file, line, " ".join(text.split()), program, argv, inline)


def doc_commands(path: Path) -> list[DocCommand]:
    """Every genxd / benchmark-script command line of one markdown file."""
    name = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[DocCommand] = []
    prose: list[str] = []
    fence: str | None = None
    pending, pending_line = "", 0
    indented = False  # in an indented code block (four spaces after a blank line)
    for number, line in enumerate(lines, 1):
        match = _FENCE.match(line)
        indented = fence is None and not match and line.startswith("    ") and line.strip() != "" and (
            indented or pending != "" or number == 1 or lines[number - 2].strip() == "")
        if fence is None and match:
            fence = match.group(1)
            prose.append("")
            continue
        if fence is not None or indented:
            prose.append("")
            if fence is not None and line.strip().startswith(fence):
                fence = None
                continue
            text = re.sub(r"^\s*\$\s+", "", line)  # a shell prompt
            if not pending:
                pending_line = number
            if text.rstrip().endswith("\\"):
                pending += text.rstrip()[:-1] + " "
                continue
            found += _commands_in(pending + text, name, pending_line, inline=False)
            pending = ""
            continue
        prose.append(line)
    text = "\n".join(prose)
    for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
        number = text.count("\n", 0, match.start()) + 1
        found += _commands_in(match.group(1).replace("\n", " "), name, number, inline=True)
    return found


def is_placeholder(value: str) -> bool:
    """A value standing for one the reader chooses: ``N``, ``DIR``, ``OUT_STEM``, ``<scene>``, ``...``, ``*``."""
    if _PLACEHOLDER in value or "..." in value or "*" in value:
        return True
    if re.fullmatch(r"[A-Z]+x[A-Z]+", value):  # WxH
        return True
    return not re.search(r"[a-z]", value) and bool(re.search(r"\b[A-Z][A-Z0-9_]*\b", value))  # N, DIR, W,H, OUT_STEM; not 4D


# ------------------------------------------------------------------------------------------------
# genxd: the typer app's own parser
# ------------------------------------------------------------------------------------------------

def _check_device_names(spec: v.Device, values: list[str]) -> None:
    """``spec``'s check of a device name, without its check that this machine has the device."""
    for value in values:
        name = value.strip().lower()
        if not v._DEVICE_RE.match(name) or name.split(":")[0] not in spec.allow:
            raise v.InvalidValue(f"{value!r} is not a device name: {spec.describe()}")


def _genxd_problems(command: DocCommand, root: Any) -> list[str]:
    from genxd.cli.params import commands, params

    args = list(command.argv)
    if args and args[0].endswith(":"):  # a message quoted ("genxd train: warning: ..."), not a command
        return []
    group, words = root, []
    while hasattr(group, "commands"):  # a group: the next word names its sub-command
        while args and args[0].startswith("-"):
            opt = args.pop(0)
            if not any(opt in p.opts + p.secondary_opts for p in group.params) and opt != "--help":
                return [f"genxd {' '.join(words)}: no option {opt}".replace("  ", " ")]
        if not args:
            return []
        if is_placeholder(args[0]):
            return []
        name = args.pop(0)
        if name not in group.commands:
            return [f"no sub-command 'genxd {' '.join([*words, name])}'"]
        group, words = group.commands[name], [*words, name]
    cmd = group
    if cmd.context_settings.get("ignore_unknown_options"):  # unavailable here (optional dependency missing)
        return []
    ctx = cmd.make_context(" ".join(["genxd", *words]), [], resilient_parsing=True)
    ctx.resilient_parsing = False
    from genxd.cli.common import ClickUsageError

    if command.inline and args and args[-1].startswith("-") and "=" not in args[-1]:
        try:  # an inline span naming an option without its value (`genxd curate --ray`)
            cmd.make_parser(ctx).parse_args(args=list(args))
        except ClickUsageError as exc:
            if "requires an argument" in exc.format_message():
                args = args[:-1]
    try:
        opts, extra, _order = cmd.make_parser(ctx).parse_args(args=list(args))
    except ClickUsageError as exc:
        return [exc.format_message()]
    problems = []
    if extra:
        problems.append(f"unexpected extra argument(s) {extra}")
    is_path = {p.name: p.path for p in params(tuple(words), dict(commands())[tuple(words)])}
    for param in cmd.get_params(ctx):
        raw = opts.get(param.name)
        written = [] if raw is None or isinstance(raw, bool) else [raw] if isinstance(raw, str) else list(raw)
        for value in written:
            if is_path.get(param.name) and value.startswith(_SHIPPED) and not (ROOT / value).exists():
                problems.append(f"{value}: no such file in the repository")
        if raw is None:
            if param.required and not command.inline and "--help" not in args:
                problems.append(f"missing {'/'.join(param.opts)}")
            continue
        if is_path.get(param.name) or isinstance(raw, bool):
            continue
        kept = [x for x in written if not is_placeholder(x)]
        if not kept:
            continue
        try:
            if isinstance(getattr(param.callback, "spec", None), v.Device):
                _check_device_names(param.callback.spec, kept)  # not whether this machine has CUDA
            else:
                param.process_value(ctx, kept[0] if isinstance(raw, str) else type(raw)(kept))
        except Exception as exc:  # noqa: BLE001 - any refusal of a written-out value is the finding
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            problems.append(f"{'/'.join(param.opts) or param.name} {kept}: {message}")
    if words[0] in ("train", "train-vae") and not problems:
        problems += _config_problems(words[0], opts)
    return problems


def _config_problems(command: str, opts: dict[str, Any]) -> list[str]:
    """A shipped config (a repository file, or a preset by name: ``genxd train tiny``) with its ``section.key=value``
    overrides, loaded as ``genxd train`` loads it; a bare name that is no preset is a problem."""
    from genxd.training.config import load_config

    config, overrides = opts.get("config"), list(opts.get("overrides") or ())
    if not config or is_placeholder(str(config)) or any(is_placeholder(o) for o in overrides):
        return []
    config = str(config)
    is_name = "/" not in config and not config.endswith((".yaml", ".yml"))
    if not (ROOT / config).is_file() and not is_name:
        return []  # the reader's own file (my.yaml)
    try:
        load_config(ROOT / config if (ROOT / config).is_file() else config, overrides,
                    kind="vae" if command == "train-vae" else "genxd")
    except Exception as exc:  # noqa: BLE001 - a refused override is the finding
        return [f"{config} {' '.join(overrides)}: {exc}"]
    return []


# ------------------------------------------------------------------------------------------------
# benchmark scripts: their argparse parsers
# ------------------------------------------------------------------------------------------------

class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


class _Refused(Exception):
    pass


class _PlaceholderType:
    def __init__(self, convert: Any):
        self.convert = convert
        self.__name__ = getattr(convert, "__name__", "value")

    def __call__(self, value: str) -> Any:
        return value if is_placeholder(value) else self.convert(value)


class _PlaceholderChoices(list):
    def __contains__(self, value: object) -> bool:
        return (isinstance(value, str) and is_placeholder(value)) or super().__contains__(value)


_PARSERS: dict[str, argparse.ArgumentParser | str] = {}


def _script_parser(script: str) -> argparse.ArgumentParser | str:
    """The argparse parser ``script``'s ``main`` builds (captured as it parses), or why there is none."""
    if script not in _PARSERS:
        if not (ROOT / script).is_file():
            _PARSERS[script] = f"no script {script}"
            return _PARSERS[script]
        module = load_script(script)
        original = argparse.ArgumentParser.parse_args

        def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
            raise _Captured(self)

        argparse.ArgumentParser.parse_args = capture  # type: ignore[method-assign]
        try:
            module.main()
            _PARSERS[script] = f"{script}: main() did not parse arguments"
        except _Captured as captured:
            _PARSERS[script] = captured.parser
        finally:
            argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    return _PARSERS[script]


def _script_problems(command: DocCommand) -> list[str]:
    parser = _script_parser(command.program)
    if isinstance(parser, str):
        return [parser]

    def refuse(message: str) -> None:
        raise _Refused(message)

    saved = [(a, a.type, a.choices) for a in parser._actions]
    for action in parser._actions:
        if action.type is not None:
            action.type = _PlaceholderType(action.type)
        if action.choices is not None and not isinstance(action.choices, dict):
            action.choices = _PlaceholderChoices(action.choices)
    parser.error = refuse  # type: ignore[method-assign]
    try:
        parser.parse_args(list(command.argv))
    except _Refused as exc:
        if not (command.inline and str(exc).startswith("the following arguments are required")):
            return [str(exc)]
    finally:
        del parser.error
        for action, kind, choices in saved:
            action.type, action.choices = kind, choices
    return []


# ------------------------------------------------------------------------------------------------
# the tests
# ------------------------------------------------------------------------------------------------

def all_doc_commands() -> list[DocCommand]:
    return [c for path in DOCS for c in doc_commands(path)]


def _allowed(command: DocCommand) -> bool:
    return any(file == command.file and text in command.text for file, text in ALLOWED)


def test_docs_genxd_commands_parse() -> None:
    from genxd.cli.root import app

    root = typer.main.get_command(app)
    found = [c for c in all_doc_commands() if c.program == "genxd"]
    assert len(found) > 100, "the extraction lost the docs' genxd command lines"
    bad = [f"{c}: {'; '.join(p)}" for c in found if not _allowed(c) for p in [_genxd_problems(c, root)] if p]
    assert not bad, "doc command lines the CLI refuses:\n" + "\n".join(bad)


def test_docs_benchmark_commands_parse() -> None:
    found = [c for c in all_doc_commands() if c.program != "genxd"]
    assert len(found) > 50, "the extraction lost the docs' benchmark command lines"
    bad = [f"{c}: {'; '.join(p)}" for c in found if not _allowed(c) for p in [_script_problems(c)] if p]
    assert not bad, "doc benchmark lines their scripts refuse:\n" + "\n".join(bad)


@pytest.mark.parametrize("text, expected", [
    ("genxd generate x.png --frmaes 3", "no such option"),
    ("genxd generat x.png", "no sub-command"),
    ("genxd generate x.png --mode 5d", "--mode"),
    ("genxd generate x.png --frames", "requires an argument"),
    ("genxd eval-camera", "missing"),
    ("genxd trajectory mak NAME", "no sub-command"),
    ("genxd demo --device gpu0", "not a device name"),
    ("genxd train tiny training.max_stepz=5", "max_stepz"),
    ("genxd train tinny", "no such config file, nor a preset"),
    ("genxd train configs/tiny.yaml", "no such file in the repository"),
    ("genxd generate examples/scene_z.png", "no such file"),
    ("genxd generate x.png --overwrite=yes", "does not take a value"),
])
def test_checker_finds_wrong_lines(text: str, expected: str) -> None:
    from genxd.cli.root import app

    [command] = _commands_in(text, "t.md", 1, inline=False)
    problems = _genxd_problems(command, typer.main.get_command(app))
    assert any(expected.lower() in p.lower() for p in problems), problems


@pytest.mark.parametrize("text", [
    "genxd generate DIR --frames N --mode 4d -o OUT",
    "CUDA_VISIBLE_DEVICES= accelerate launch --num_processes 2 -m genxd generate photos/ --out o  # two GPUs",
    "genxd trajectory make NAME --out FILE [--format authors|transforms|colmap|w2c]",
    "genxd eval --fast/--no-fast",
    "python -m genxd --version",
])
def test_checker_takes_placeholders_and_notation(text: str) -> None:
    from genxd.cli.root import app

    commands = list(_commands_in(text, "t.md", 1, inline="[" in text or "/--" in text))
    assert commands
    root = typer.main.get_command(app)
    assert all(not _genxd_problems(c, root) for c in commands), [(c, _genxd_problems(c, root)) for c in commands]
