"""genxd.camera_arguments: the warning for a 3d generation from a camera that does not move."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genxd
import genxd.api
from genxd.cameras import save_camera_json, trajectories
from genxd.cli import app
from genxd.validation import GenXDWarning

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"


class _Stop(Exception):
    """Raised in place of loading the model: every warning of the settings has been given by then."""


@pytest.fixture
def no_model(monkeypatch):
    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(genxd.api, "load_model", stop)


def _python_warnings(tmp_path, **kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(_Stop):
            genxd.generate(EXAMPLE, tmp_path / "out", progress=False, **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


def _cli_warnings(tmp_path, *args) -> list[str]:
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "-o", str(tmp_path / "out"),
                                   *map(str, args)])
    assert isinstance(res.exception, _Stop), res.output
    return [line for line in res.output.splitlines() if line.startswith("genxd: warning:")]


def test_static_camera_in_3d_mode_is_one_warning_worded_for_the_command_line(tmp_path, no_model):
    lines = _cli_warnings(tmp_path, "--mode", "3d", "--camera", "static")
    still = [line for line in lines if "share one pose" in line]
    assert len(still) == 1, lines
    assert still[0].startswith("genxd: warning: --camera static: all 8 cameras share one pose, so --mode 3d ")
    assert "--camera orbit" in still[0] and "--mode 4d" in still[0]


def test_static_camera_in_3d_mode_warns_from_python_in_its_terms(tmp_path, no_model):
    got = [w for w in _python_warnings(tmp_path, mode="3d", camera="static") if "share one pose" in w]
    assert len(got) == 1 and got[0].startswith("camera='static': all 8 cameras share one pose, so mode='3d' "), got
    assert "--" not in got[0]


def test_a_camera_file_of_one_pose_repeated_warns_naming_it(tmp_path, no_model):
    c2w = torch.eye(4).expand(8, 4, 4).clone()
    c2w[:, :3, 3] = torch.tensor([0.3, -0.2, 1.5])  # not the identity: one pose all the same
    K = trajectories.static(8)[1]
    path = tmp_path / "still.json"
    save_camera_json(path, c2w, K, 64, 64)
    got = [w for w in _python_warnings(tmp_path, mode="3d", camera=path) if "share one pose" in w]
    assert len(got) == 1 and got[0].startswith(f"the camera path of {path}: all 8 cameras share one pose"), got


@pytest.mark.parametrize("kwargs", [dict(mode="3d", camera="orbit"), dict(mode="3d", camera="dolly"),
                                    dict(mode="4d", camera="static", motion_strength=8)])
def test_no_warning_for_a_moving_camera_or_a_still_one_outside_3d_mode(tmp_path, no_model, kwargs):
    assert not [w for w in _python_warnings(tmp_path, **kwargs) if "share one pose" in w]
