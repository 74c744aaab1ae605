"""Every option of every ``genxd`` command, found by walking the typer app (a new option is covered as
soon as it exists): numeric values are checked before the command starts (issue 18 item 2), every
option has help text, flags are flags, help reads well at 80 columns, and shared options are spelled
the same everywhere (issue 19 item 4)."""

from __future__ import annotations

import enum
import importlib
import math
import pkgutil
import re
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from genxd import validation as v
from genxd.cli import app

from .introspect import all_params, commands, invoke, required_args

runner = CliRunner()
PARAMS = all_params()
NUMERIC = [p for p in PARAMS if p.numeric and p.kind == "option"]
#: The property values: 0, negative, NaN, inf, huge, not a number, a fraction.
VALUES = ["0", "-1", "nan", "inf", "-inf", "1e30", "-1e30", "abc", "2.5", "99999999999999999999"]
CLI_MODULES = [m.name for m in pkgutil.iter_modules(importlib.import_module("genxd.cli").__path__)]


@pytest.fixture
def reached(monkeypatch):
    """Replace every command body by a recorder: the body is reached only when every value passed."""
    calls = []

    def fake_run_cli(fn, quiet=False):
        calls.append(fn)
        return 0

    for name in CLI_MODULES:
        try:
            module = importlib.import_module(f"genxd.cli.{name}")
        except ImportError:  # a command of an extra that is not installed (genxd demo without gradio)
            continue
        if hasattr(module, "run_cli"):
            monkeypatch.setattr(module, "run_cli", fake_run_cli)
    return calls


def _parsed(text: str, integer: bool):
    """What the option would hold if it parsed; None when the text is not a number of that kind."""
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return None


def _expected_ok(p, text: str) -> bool:
    if isinstance(p.spec, v.Size):
        return p.spec.accepts(text)
    integer = p.base is int or (isinstance(p.spec, v.Number) and p.spec.integer)
    value = _parsed(text, integer)
    if value is None:
        return False
    if p.spec is None:
        return True  # no spec: the test below fails on nan/inf anyway
    if isinstance(p.spec, v.Pair):
        return False  # one number is never a pair
    return p.spec.accepts(value) if not isinstance(p.spec, v.Numbers) else p.spec.accepts([text])


def test_every_numeric_option_has_a_validation_spec():
    assert len(NUMERIC) >= 40, [p.flag for p in NUMERIC]  # generate alone has 11
    missing = [f"genxd {' '.join(p.command)} {p.flag}" for p in NUMERIC if p.spec is None]
    assert not missing, f"numeric options without validation: {missing}"


@pytest.mark.parametrize("p", NUMERIC, ids=lambda p: f"{'-'.join(p.command)}{p.flag}")
def test_numeric_option_rejects_bad_values_before_the_command_starts(p, reached):
    base = [*p.command, *required_args(p.command)]
    for text in VALUES:
        reached.clear()
        res = invoke(runner, [*base, p.flag, text])
        err = res.stderr
        if _expected_ok(p, text):
            assert res.exit_code == 0 and reached, (p.flag, text, err)
            continue
        where = f"genxd {' '.join(p.command)} {p.flag} {text}"
        assert res.exit_code == 2, (where, res.exit_code, res.output)
        assert not reached, f"{where}: the command started"
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("genxd: error: "), (where, err)
        assert p.flag in lines[0], (where, lines[0])
        assert "Traceback" not in res.output, where
    # nothing in the range is "a silent default": 0 is either refused or a documented value
    if p.spec is not None and isinstance(p.spec, v.Number) and p.spec.accepts(0):
        lo = p.spec.lo
        assert lo is not None and lo <= 0, p.flag
        if lo == 0 and p.spec.optional is False and p.default not in (0, 0.0):
            # accepted 0 differing from the default must say what it means
            assert "0" in (p.help or ""), f"{p.flag}: 0 is accepted; its help must say what 0 means"


def test_nan_inf_huge_are_refused_by_every_numeric_option():
    for p in NUMERIC:
        for bad in (math.nan, math.inf, -math.inf, 1e30):
            if isinstance(p.spec, v.Numbers):
                assert not p.spec.accepts([str(bad)]), p.flag
            elif isinstance(p.spec, v.Pair):
                assert not p.spec.accepts((bad, 0.0)), p.flag
            elif isinstance(p.spec, v.Size):
                assert not p.spec.accepts(str(bad)) and not p.spec.accepts("100000"), p.flag
            else:
                assert not p.spec.accepts(bad), (p.command, p.flag, bad)


def test_every_option_and_argument_has_help():
    missing = [f"genxd {' '.join(p.command)} {p.flag}" for p in PARAMS if not (p.help or "").strip()]
    assert not missing, f"no help text: {missing}"


def test_every_command_has_a_description():
    for command, fn in commands():
        assert (fn.__doc__ or "").strip(), command


SHARED = {"quiet": ("--quiet", "-q"), "overwrite": ("--overwrite",), "skip_existing": ("--skip-existing",),
          "seed": ("--seed",), "device": ("--device",), "dtype": ("--dtype",), "model": ("--model", "-m"),
          "out": ("--out", "-o"), "steps": ("--steps",), "guidance": ("--guidance",)}


def test_shared_options_are_spelled_the_same_everywhere():
    for p in PARAMS:
        if p.name in SHARED and p.kind == "option":
            assert set(p.decls) == set(SHARED[p.name]), (p.command, p.name, p.decls)


def test_every_frame_count_takes_n():
    """``trajectory make`` had ``--num-frames`` alone, while ``generate``, ``fewshot`` and ``trajectory from-video``
    take ``-n`` for theirs."""
    counts = [p for p in PARAMS if p.name == "num_frames" and p.kind == "option"]
    assert {p.command for p in counts} >= {("generate",), ("trajectory", "make"), ("trajectory", "from-video")}
    for p in counts:
        assert "-n" in p.decls, (p.command, p.decls)


def test_trajectory_make_n_is_its_frame_count(tmp_path):
    out = tmp_path / "path.json"
    res = invoke(runner, ["trajectory", "make", "orbit", "--out", str(out), "-n", "5"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().endswith(f"wrote 5 cameras (orbit) to {out}")


def test_commands_that_do_work_take_quiet():
    for command, fn in commands():
        if command[0] in ("info", "train", "train-vae", "demo"):  # demo: a server, its output is its log
            continue
        names = {p.name for p in all_params() if p.command == command}
        assert "quiet" in names, command


def test_reconstruct_takes_q(reached):
    res = invoke(runner, ["reconstruct", "in", "-o", "out", "-q"])
    assert res.exit_code == 0 and reached, res.output


def _help(command: tuple[str, ...], width: int) -> str:
    res = invoke(runner, [*command, "--help"], env={"COLUMNS": str(width)}, terminal_width=width,
                 max_content_width=width)
    assert res.exit_code == 0, res.output
    return res.stdout


def _commands_with_help():
    return [c for c, _ in commands()] + [("trajectory",), ()]


@pytest.mark.parametrize("command", _commands_with_help(), ids=lambda c: "-".join(c) or "genxd")
def test_help_reads_well_at_80_columns(command):
    narrow = _help(command, 80)
    wide_words = set(_help(command, 10_000).split())
    assert "<bool>" not in narrow and "\u2026" not in narrow  # flags show no value; nothing truncated
    lines = narrow.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    for line, after in zip(lines, lines[1:]):  # no break after a hyphen inside a word: `genxd trajectory from-` /
        # `video`, `--path-` / `scale` would be copied as wrong names
        assert not (re.search(r"[A-Za-z0-9]-$", line) and re.match(r"\s*[A-Za-z0-9]", after)), \
            f"genxd {' '.join(command)} --help at 80 columns breaks a word at its hyphen:\n{line}\n{after}"
    for token in narrow.split():  # every word is whole
        if token not in wide_words:
            pytest.fail(f"genxd {' '.join(command)} --help at 80 columns cuts a word: {token!r}")


def test_help_wrapper_keeps_hyphenated_names_whole():
    """The names the newcomer found broken, at widths that would break each after its hyphen."""
    from genxd.cli.common import HelpFormatter

    for width in range(30, 81):
        formatter = HelpFormatter(width=width)
        formatter.write_text("More settings: genxd trajectory from-video, see genxd eval-camera; --path-scale "
                             "photo-zoom")
        formatter.write_dl([("--modes", "photo-pan, photo-zoom, camera-3d; the clip's units times --path-scale")])
        formatter.write_usage("genxd trajectory from-video", "[OPTIONS] CLIP --path-scale")
        text = formatter.getvalue()
        assert not re.search(r"[A-Za-z0-9]-\n", text), (width, text)
        for name in ("from-video", "eval-camera", "--path-scale", "photo-zoom", "photo-pan", "camera-3d"):
            assert name in text, (width, name, text)


def test_flags_are_flags():
    root = typer.main.get_command(app)
    for command, _ in commands():
        cmd = root
        for part in command:
            cmd = cmd.commands[part]
        for param in cmd.params:
            if getattr(param, "is_flag", False) and param.secondary_opts:
                # only tri-state switches keep a --no- form (default: automatic)
                assert param.default is None or param.name in ("lpips",), (command, param.name)


def test_trajectory_fit_says_which_path_auto_chose(tmp_path):
    import numpy as np
    import torch

    from genxd.cameras import orbit
    from genxd.data.reconfusion import write_reconfusion_scene

    root = tmp_path / "re10k"
    c2w, K = orbit(num_frames=6, azimuth_range=(0, 60), frame="world")
    images = torch.from_numpy(np.random.default_rng(0).random((6, 3, 16, 16)).astype(np.float32))
    write_reconfusion_scene(root, "s", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5])})
    res = runner.invoke(app, ["trajectory", "fit", str(root), "-o", str(tmp_path / "p"), "--n-views", "3",
                              "--num-points", "4", "-q"])
    assert res.exit_code == 0, res.output
    assert re.search(r"re10k: spline path; chosen by --dataset auto from the folder name 're10k'", res.stdout), res.stdout


def test_values_that_do_not_parse_and_unknown_options_read_as_one_plain_line():
    """typer's own messages are pydantic's ("Input should be a valid integer, unable to parse string as an
    integer") and click suggests far option names (``--bogus`` -> ``--out``): both are rewritten."""
    cases = [(["generate", "x.png", "--frames", "four"], "genxd: error: --frames must be an integer, got 'four'"),
             (["generate", "x.png", "--seed", "1.5"], "genxd: error: --seed must be an integer, got '1.5'"),
             (["generate", "x.png", "--guidance", "abc"], "genxd: error: --guidance must be a number, got 'abc'"),
             (["generate", "x.png", "--bogus"], "genxd: error: No such option: --bogus"),
             (["generate", "x.png", "--fram", "3"], "genxd: error: No such option: --fram (did you mean --frames?)"),
             # click joins extra values with spaces: an empty one read "Got unexpected extra argument ()"
             (["info", ""], "genxd: error: Got an unexpected extra argument that is empty or blank ('')"),
             # a stray negative number read as click's "No such option: -0" (found by the cli-args fuzz target)
             (["synth", "x", "--focal", "1", "-0.5"], "genxd: error: -0.5 reads as an option: a negative number is "
              "joined to its option with '=' (--option=-0.5; an extra negative argument: put -- before it)")]
    for args, expected in cases:
        res = invoke(runner, args)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert res.exit_code == 2 and lines == [expected], (args, res.stderr)
    res = invoke(runner, ["info", "x"])  # a value that is not blank: click's own words (typer's copy: "argument(s)")
    assert res.exit_code == 2 and re.fullmatch(r"genxd: error: Got unexpected extra argument(\(s\))? \(x\)\n",
                                               res.stderr), res.stderr


def test_an_input_file_whose_name_starts_with_a_dash_is_named_with_how_to_give_it(tmp_path, monkeypatch):
    """``genxd generate -dash.png`` said "No such option: -d" (click reads -dash.png as the short options -d -a
    ...; found by the hostile-environment audit): the line names the file and the two ways to give it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-dash.png").write_bytes(b"")
    res = invoke(runner, ["generate", "-dash.png", "-o", "out"])
    assert res.exit_code == 2 and res.stderr.strip() == (
        "genxd: error: -dash.png reads as an option: give a file whose name starts with '-' as ./-dash.png (or end "
        "the options with -- and give it after)"), res.stderr
    res = invoke(runner, ["generate", "-Znothere.png", "-o", "out"])  # no such file: click's line, as before
    assert res.exit_code == 2 and res.stderr.strip() == "genxd: error: No such option: -Z", res.stderr


CHOICES = [p for p in PARAMS if p.kind == "option" and isinstance(p.base, type) and issubclass(p.base, enum.Enum)]


@pytest.mark.parametrize("p", CHOICES, ids=lambda p: f"{'-'.join(p.command)}{p.flag}")
def test_a_value_outside_an_option_s_choices_reads_as_one_plain_line(p, reached):
    """``genxd synth --format vidoe``: typer 0.29 says "Value error, 'vidoe' is not one of 'folder', ..."
    (pydantic's words): the line reads as genxd's own choice checks (``--mode must be one of 3d, video, 4d``)."""
    assert len(CHOICES) >= 9, [p.flag for p in CHOICES]  # synth --kind/--format, 7 of trajectory
    res = invoke(runner, [*p.command, *required_args(p.command), p.flag, "vidoe"])
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    choices = ", ".join(str(c.value) for c in p.base)
    assert res.exit_code == 2 and not reached, res.output
    assert lines == [f"genxd: error: {p.flag} must be one of {choices}, got 'vidoe'"], res.stderr


def test_click_s_own_conversion_messages_read_the_same():
    """Older typer versions (pyproject allows >= 0.12) convert with click ("'four' is not a valid integer.") or
    their own wording (0.27: "'four' is not a valid int."): the same line comes out. (typer's own exception classes: click itself may not be
    installed.)"""
    from types import SimpleNamespace

    import typer

    from genxd.cli.common import click_error_line

    def option(flag):
        return SimpleNamespace(opts=[flag], param_type_name="option", name=flag.strip("-"))

    bad = typer.BadParameter
    assert click_error_line(bad("'four' is not a valid integer.", param=option("--frames"))) == \
        "--frames must be an integer, got 'four'"
    assert click_error_line(bad("'x' is not a valid float.", param=option("--guidance"))) == \
        "--guidance must be a number, got 'x'"
    assert click_error_line(bad("'four' is not a valid int.", param=option("--frames"))) == \
        "--frames must be an integer, got 'four'"  # typer 0.27's own wording
    assert click_error_line(bad("must be >= 1", param=option("--frames"))) == "--frames: must be >= 1"
    exceptions = sys.modules[typer.BadParameter.__mro__[1].__module__]  # the click typer runs on
    unknown = exceptions.NoSuchOption("--bogus", possibilities=["--out", "--overwrite"])
    assert click_error_line(unknown) == "No such option: --bogus"
    assert click_error_line(bad("'vidoe' is not one of 'folder', 'video'.", param=option("--format"))) == \
        "--format must be one of folder, video, got 'vidoe'"  # click's Choice, without pydantic's "Value error, "
    unknown = exceptions.NoSuchOption("--overwrit", possibilities=["--out", "--overwrite"])
    assert click_error_line(unknown) == "No such option: --overwrit (did you mean --overwrite?)"


PATH_PARAMS = [p for p in PARAMS if p.path]


@pytest.mark.parametrize("p", PATH_PARAMS, ids=lambda p: f"{'-'.join(p.command)}-{p.flag if p.kind == 'option' else p.name}")
def test_an_empty_path_is_named_not_read_as_the_current_folder(p, reached):
    """typer reads ``--input ''`` as ``Path('.')``: the command then ran on the current folder, or refused it as
    '.: not a supported input' (found by the cli-args fuzz target). Every path option and argument given as
    ``''`` (also ``--opt=``) is one line naming it, before the command runs."""
    assert len(PATH_PARAMS) >= 20, [p.flag for p in PATH_PARAMS]
    args = required_args(p.command)
    if p.kind == "option":
        forms = [[*p.command, *args, p.flag, ""], [*p.command, *args, f"{p.flag}= "]]
        expected = f"genxd: error: {p.flag} is empty: pass a file or folder name"
    else:  # the empty value in the argument's place
        arguments = [q for q in PARAMS if q.command == p.command and q.kind == "argument"]
        forms = [[*p.command, *["" if q.name == p.name else "x" for q in arguments], *args[len(arguments):]]]
        expected = (f"genxd: error: {p.name.upper()} holds an empty name: pass file or folder names" if p.base is list
                    else f"genxd: error: {p.name.upper()} is empty: pass a file or folder name")
    for argv in forms:
        res = invoke(runner, argv)
        assert res.exit_code == 2 and res.stderr.splitlines() == [expected], (argv, res.stderr)
    assert not reached, reached


def test_empty_values_that_are_not_paths_are_left_to_their_own_checks():
    from genxd.cli.params import empty_path_error

    assert empty_path_error(["train", "a.yaml", ""]) is None  # an override, not a path
    assert empty_path_error(["generate", "x.png", "--camera", ""]) is None  # a preset name or a file: its own check
    assert empty_path_error(["generate", "x.png", "--seed", ""]) is None
    assert empty_path_error(["nosuchcommand", ""]) is None
    assert empty_path_error(["generate", "--", ""]) == "IMAGES holds an empty name: pass file or folder names"


def test_a_frame_rate_ffmpeg_cannot_store_is_refused_before_any_work(tmp_path, reached):
    """``synth --format video --fps 1e-30`` rendered the clip, then failed in the video writer with "[Errno 5]
    the video writer did not finish" (ffmpeg stores no rate under 1e-7; found by the cli-args fuzz target)."""
    res = invoke(runner, ["synth", str(tmp_path / "s"), "--format", "video", "--fps", "1e-30"])
    assert res.exit_code == 2 and res.stderr.splitlines() == [
        "genxd: error: --fps must be a finite number in [0.01, 1000], got 1e-30 (frames per second)"]
    assert not reached and not (tmp_path / "s").exists()
    assert v.FPS.accepts(0.01) and v.FPS.accepts(8.0) and not v.FPS.accepts(0.001)


def test_options_are_read_as_written_not_through_get_type_hints(monkeypatch):
    """Before Python 3.11, ``typing.get_type_hints`` wraps an annotation whose default is ``None`` in ``Optional[...]``,
    so ``Annotated[Optional[str], typer.Option(...)] = None`` came back as ``Optional[Annotated[...]]`` and the option
    was not found: on Python 3.10 every genxd command crashed ("parameter model is not a typer option or argument").
    The same behaviour put back here, on any Python: the walk over the options must not depend on it."""
    import inspect
    import typing

    from genxd.cli.params import commands as all_commands
    from genxd.cli.params import params

    real = typing.get_type_hints

    def as_on_python_310(obj, globalns=None, localns=None, include_extras=False):
        hints = real(obj, globalns, localns, include_extras=include_extras)
        defaults = {n: p.default for n, p in inspect.signature(obj).parameters.items()}
        return {n: typing.Optional[h] if defaults.get(n, 0) is None else h for n, h in hints.items()}

    monkeypatch.setattr(typing, "get_type_hints", as_on_python_310)
    walked = [params(command, fn) for command, fn in all_commands(app)]
    assert sum(len(p) for p in walked) > 100  # every command's options, the model option among them
    assert any(p.name == "model" for ps in walked for p in ps)


def test_device_help_lists_every_device_its_check_accepts():
    # genxd eval / generate / curate --help listed auto, cpu, cuda, cuda:N but not mps, which the check accepts;
    # reconstruct / eval-recon / synth listed no mps but let it through to refuse it in the command
    devices = [p for p in PARAMS if isinstance(p.spec, v.Device)]
    assert {p.command[0] for p in devices} >= {"generate", "eval", "curate", "reconstruct", "synth"}
    for p in devices:
        # cpu:N and mps:N passed the check (torch reads them) but no help listed them
        accepted = list(p.spec.allow) + [f"{d}:N" for d in ("cpu", "cuda", "mps") if d in p.spec.allow]
        for name in accepted:
            assert re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", p.help), (p.command, name, p.help)
        if "mps" not in accepted:
            assert "mps" not in p.help, (p.command, p.help)
    assert "mps" in v.DEVICE.allow
    for name in ("cpu:0", "cpu:3"):
        assert v.DEVICE.check(name, "--device") == name  # accepted, as the help now says


def test_an_empty_path_after_a_flag_or_blank_is_named():
    """Mutation round 4: a flag skipping the token after it (``--quiet --out ''`` read as an empty IMAGES) or a
    blank value (``--out ' '``, not stripped) passed every empty-path test."""
    from genxd.cli.params import empty_path_error

    assert empty_path_error(["generate", "x.png", "--quiet", "--out", ""]) == "--out is empty: pass a file or folder name"
    assert empty_path_error(["generate", "x.png", "--out", " "]) == "--out is empty: pass a file or folder name"
    assert empty_path_error(["generate", "x.png", "--quiet", "--out", "o"]) is None
