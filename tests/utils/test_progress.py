"""genxd's progress bars: one kind everywhere, on stderr, and sparing with log files."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

from genxd.utils import progress

SRC = Path(__file__).parents[2] / "src" / "genxd"


def _imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_bar_comes_from_genxd_utils_progress():
    """Curation and ``synth`` drew rich bars, everything else tqdm bars (two styles, one of them redrawn ten
    times a second into log files): every module now asks :mod:`genxd.utils.progress` for its bars."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "utils" / "progress.py":
            continue
        direct = {name for name in _imports_of(path) if name.split(".")[0] == "tqdm" or name == "rich.progress"}
        if direct:
            offenders.append(f"{path.relative_to(SRC)}: {sorted(direct)}")
    assert not offenders, offenders


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, interval", [(io.StringIO(), progress.LOG_INTERVAL_S), (_Terminal(), 0.1)])
def test_a_log_file_gets_a_redraw_every_few_seconds_a_terminal_ten_a_second(monkeypatch, stream, interval):
    monkeypatch.setattr("sys.stderr", stream)
    with progress.progress_bar(total=1000, desc="work") as bar:
        assert bar.mininterval == interval
        for i in range(1000):
            bar.set_postfix(loss=f"{1 / (i + 1):.4f}")  # tqdm redrew at every call: a training log's every step
            bar.set_description(f"work {i % 2}")
            bar.update(1)
    text = stream.getvalue()
    assert "work 1" in text and "1000/1000" in text and "loss=0.0010" in text  # the last state is drawn when the bar closes
    if interval == progress.LOG_INTERVAL_S:  # the first and the last state, not one per update, a line each
        assert "\r" not in text and len(text.splitlines()) <= 3, text


def test_a_log_file_gets_each_state_as_a_line_without_carriage_returns_or_cursor_moves(monkeypatch):
    """tqdm's carriage returns ran every state of a bar into one line of a log file (a cluster job's output), and
    stacked bars left their cursor moves (ESC[A) in it as bytes; an erased bar (``leave=False``) logs nothing."""
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with progress.progress_bar(total=2, desc="scenes") as outer:
        for i in range(2):
            with progress.progress_bar(total=3, desc="denoising", leave=False) as inner:
                inner.update(3)
            progress.progress_write(f"genxd: wrote scene {i}")
            outer.update(1)
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text, repr(text)
    lines = text.splitlines()
    assert all(line == line.rstrip() and line for line in lines), lines  # no padding, no blank lines
    assert lines[-1].startswith("scenes: 100%") and "2/2" in lines[-1]
    assert all(a != b for a, b in zip(lines, lines[1:])), lines  # a closing bar's last state is not logged again
    assert lines.index("genxd: wrote scene 0") < lines.index("genxd: wrote scene 1")


def test_a_state_drawn_twice_in_a_row_is_logged_once():
    """A bar that closes draws its last state again (``scenes: 100%`` twice at the end of a generate log)."""
    log = io.StringIO()
    lines = progress.LogLines(log)
    for text in ("\rscenes: 50%", "\rscenes: 100%  ", "\rscenes: 100%", "\n", "\rscenes: 50%"):
        lines.write(text)
    assert log.getvalue() == "scenes: 50%\nscenes: 100%\nscenes: 50%\n"


def test_a_jupyter_cell_is_drawn_as_a_terminal():
    """ipykernel's output stream says it is no terminal, but draws carriage returns as one."""
    stream = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})()
    assert progress._is_terminal(stream)


def test_terminal_only_bars_draw_nothing_into_a_log(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    with progress.progress_bar(total=3, desc="fitting", terminal_only=True) as bar:
        bar.update(3)
    assert log.getvalue() == ""


def test_progress_write_goes_to_stderr(capsys):
    progress.progress_write("genxd: a line")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "genxd: a line\n"


def test_close_bars_draws_the_last_state_of_every_open_bar_now(capsys):
    """A command stopped by an error or a signal: its bars were closed when collected, after the command's last
    line (`genxd: interrupted`, then a stale `scenes: 0%` bar)."""
    from genxd.utils.progress import close_bars, progress_bar

    bars = [progress_bar(total=3, desc="first"), progress_bar(total=2, desc="second")]
    bars[0].update(1)
    close_bars()
    assert all(bar.disable for bar in bars)  # tqdm marks a closed bar disabled
    err = capsys.readouterr().err
    assert "first" in err and "second" in err
    close_bars()  # nothing open: nothing happens
    assert capsys.readouterr().err == ""


def test_tqdm_disable_in_the_environment_turns_genxd_bars_off(tmp_path):
    """``TQDM_DISABLE=1`` (tqdm's own convention) was ignored: every genxd bar passed ``disable=False`` explicitly,
    which overrides it. Without the variable the bars draw as before. (tqdm reads it when first imported: a
    fresh process.)"""
    import os
    import subprocess
    import sys

    code = ("from genxd.utils.progress import progress_bar\n"
            "print([progress_bar(total=3).disable, progress_bar(total=3, disable=True).disable])\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    env["PYTHONPATH"] = str(SRC.parent) + os.pathsep + env.get("PYTHONPATH", "")

    def run(extra):
        done = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True,
                              timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run({"TQDM_DISABLE": "1"}) == "[True, True]"
    assert run({}) == "[False, True]"
    # diffusers' denoising bars get the same setting (pipe.set_progress_bar_config)
    assert progress.disable_setting(False) == {} and progress.disable_setting(True) == {"disable": True}
