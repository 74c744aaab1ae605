"""The command line ends on its own last line (genxd.cli.process_exit): after ``gc.freeze`` Triton 3.9's nanobind
bindings printed about 40 lines of "nanobind: leaked 4 instances! ..." at every exit once torch's CUDA build (which
brings Triton) was installed, on a CPU as well (torch 2.15). CI's CPU torch has no Triton, so a stand-in package
plays it: its bindings' types have a metaclass from the module ``nanobind`` and it writes its report to the
process's stderr after the command's exit handlers, as nanobind does at the interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genxd.cli.process_exit import nanobind_triton_loaded
from genxd.utils.messages import add_note

from ..helpers import env_with_path

REPORT = "nanobind: leaked 4 instances!"


def _fake_triton(root: Path, bindings: str) -> Path:
    libtriton = root / "triton" / "_C"
    libtriton.mkdir(parents=True)
    (root / "triton" / "__init__.py").write_text("")
    (libtriton / "__init__.py").write_text("")
    (libtriton / "libtriton.py").write_text(textwrap.dedent(f"""
        import atexit, os, types

        # a nanobind class is an instance of nb_type_0, itself an instance of nanobind.nb_meta
        Meta = type("nb_meta", (type,), {{"__module__": {bindings!r}}})
        ir = types.SimpleNamespace(context=Meta("nb_type_0", (type,), {{}})("context", (), {{}}))

        # nanobind reports after the exit handlers, when the interpreter tears down: one registered before the
        # command's own runs after it, as late as a stand-in can
        atexit.register(os.write, 2, b"{REPORT}\\n")
    """))
    return root


def _genxd_version(tmp_path: Path, fake: Path) -> subprocess.CompletedProcess:
    code = """
        import atexit, sys
        import triton._C.libtriton
        import genxd.cli
        sys.argv = ["genxd", "--version"]
        try:
            genxd.cli.main()
        finally:  # an exit handler registered after the command's, as a library's would be: it still prints
            atexit.register(lambda: print("another exit handler's line", file=sys.stderr))
    """
    env = env_with_path(fake)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_nanobind_triton_leak_report_does_not_follow_the_commands_output(tmp_path):
    done = _genxd_version(tmp_path, _fake_triton(tmp_path / "site", "nanobind"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("genxd ")
    assert REPORT not in done.stderr, done.stderr
    assert "another exit handler's line" in done.stderr  # exit handlers still print: the silence comes last


def test_other_bindings_keep_stderr_to_the_end(tmp_path):
    """A pybind11 Triton (before 3.9) reports nothing; stderr stays open, so whatever Python says at teardown
    (here the stand-in's line) still shows."""
    done = _genxd_version(tmp_path, _fake_triton(tmp_path / "site", "pybind11_builtins"))
    assert done.returncode == 0, done.stderr
    assert REPORT in done.stderr


@pytest.mark.parametrize("bindings, expected", [("nanobind", True), ("pybind11_builtins", False)])
def test_nanobind_triton_is_recognised_by_its_bindings(tmp_path, bindings, expected):
    fake = _fake_triton(tmp_path / "site", bindings)
    code = ("import triton._C.libtriton\nfrom genxd.cli.process_exit import nanobind_triton_loaded\n"
            "print(nanobind_triton_loaded())")
    env = env_with_path(fake)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == [str(expected)], done.stderr


def test_without_triton_nothing_is_loaded():
    if "triton._C.libtriton" in sys.modules:
        pytest.skip("this process has a Triton loaded")
    assert nanobind_triton_loaded() is False


def test_an_interrupted_launch_of_two_processes_says_it_once(monkeypatch):
    """Found by the multi-process audit: Ctrl-C of ``accelerate launch --num_processes 2 -m genxd generate`` (the
    launcher passes it on to each process) printed ``genxd: interrupted`` twice. Now the first process says it,
    another one only what its share kept, naming itself."""
    from genxd.cli.process_exit import Terminated, interruption

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert interruption(KeyboardInterrupt()) == (None, 130)
    assert interruption(Terminated()) == (None, 143)
    kept = KeyboardInterrupt()
    add_note(kept, "kept 2 of 5 windows of a")  # exc.add_note is Python 3.11's
    assert interruption(kept) == ("genxd: interrupted: process 1 of 2: kept 2 of 5 windows of a", 130)
    monkeypatch.setenv("RANK", "0")
    assert interruption(KeyboardInterrupt()) == ("genxd: interrupted", 130)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert interruption(kept) == ("genxd: interrupted: kept 2 of 5 windows of a", 130)  # one process: not named
