"""A package genxd requires that cannot be imported (an install made with ``--no-deps``, a package removed or broken
since) is one ``genxd: error:`` line naming it and the pip command that puts it back at genxd's bounds. Before:
``genxd trajectory from-video`` without PyAV ended in a traceback, and ``genxd curate`` without pycolmap failed each
video in turn as an "internal" error with a traceback in the index (found running the CPU suite on a machine
without them)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.utils.requirements import CORE_IMPORTS, missing_requirement_message

from ..helpers import pyproject

runner = CliRunner()


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]).lower()


def test_the_import_names_are_those_of_pyprojects_requirements():
    required = {_name(r) for r in pyproject()["project"]["dependencies"]}
    assert {_name(dist) for dist in CORE_IMPORTS.values()} == required


def test_another_module_is_left_to_its_traceback():
    assert missing_requirement_message(ModuleNotFoundError("No module named 'mydata'", name="mydata")) is None
    message = missing_requirement_message(ModuleNotFoundError("No module named 'cv2.x'", name="cv2.x"))
    assert message is not None and 'pip install "opencv-python-headless>=' in message


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    res = runner.invoke(app, ["synth", str(folder), "--format", "video", "--size", "32", "--frames", "8", "-q"])
    assert res.exit_code == 0, res.output
    (folder / "synth_3d_000000.json").unlink()  # a video alone (its cameras would be read from the clip's meta)
    return folder / "synth_3d_000000.mp4"


def _one_line(res, package: str, requirement: str) -> None:
    assert res.exit_code == 2, (res.output, res.exception)
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error:")]
    assert len(errors) == 1 and f"the package {package} cannot be imported" in errors[0], res.stderr
    assert f'pip install "{requirement}' in errors[0] and "Traceback" not in res.output


def test_from_video_without_pyav_is_one_line(video, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    res = runner.invoke(app, ["trajectory", "from-video", str(video), "-o", str(tmp_path / "path.json")])
    _one_line(res, "av", "av>=")  # was: a ModuleNotFoundError raised through the command
    assert not (tmp_path / "path.json").exists()


def test_curate_without_pycolmap_is_one_line_before_any_video(video, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pycolmap", None)
    res = runner.invoke(app, ["curate", str(video), "-o", str(tmp_path / "out")])
    _one_line(res, "pycolmap", "pycolmap>=")  # was: "synth_3d_000000: failed (internal): ModuleNotFoundError ..."
    assert not (tmp_path / "out" / "index.jsonl").exists()


def test_the_requirement_is_read_from_the_installed_metadata():
    """In a process of its own (no module hidden): the bounds pip has for genxd."""
    code = ("from genxd.utils.requirements import missing_requirement_message as m; "
            "print(m(ModuleNotFoundError('x', name='av')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    dist = next(r for r in pyproject()["project"]["dependencies"] if _name(r) == "av").replace(" ", "")
    assert f'pip install "{dist}"' in out, out
