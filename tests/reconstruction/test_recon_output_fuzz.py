"""A ``genxd reconstruct`` output read back for evaluation (``evaluate_scene``: ``reconstruction.json``,
``cameras.json``) as the fuzzer's ``recon-output`` target (``benchmarks/fuzz_targets_views.py``) damaged it.
Before the fixes: a damaged file was an unnamed JSONDecodeError / UnicodeDecodeError, odd fields TypeError,
AttributeError or a tensor-size RuntimeError, a recorded input that no longer exists an error without the
record's name. Each is now one ValueError (or FileNotFoundError) naming the file and the field; a short
fixed-seed run of the target finds nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from genxd.cameras import trajectories
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.reconstruction.pipeline import evaluate_scene
from genxd.scene_outputs import write_scene
from tests.helpers import assert_fuzz_finds_nothing


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    """A 4D reconstruct output (3 steps) of a generate-style scene, every third view held out."""
    root = tmp_path_factory.mktemp("recon_output")
    frames = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=6)
    scene = write_scene(root / "input", frames, c2w, K, [0], frames, {"mode": "4d"}, fps=3.0,
                        times=torch.linspace(0.0, 1.0, 6))
    out = root / "output"
    reconstruct_scene(scene, out, ReconstructionConfig(iterations=3, mode="4d", init_points=200), resolution=None,
                      holdout_every=3, video_frames=2, progress=False)
    return out


def _copy(output: Path, tmp_path: Path, name: str | None = None, change=None, data: bytes | None = None) -> Path:
    out = Path(shutil.copytree(output, tmp_path / "out"))
    if name is not None:
        path = out / name
        if change is not None:
            tree = json.loads(path.read_text())
            change(tree)
            path.write_text(json.dumps(tree))
        else:
            path.write_bytes(data)
    return out


def _evaluate(out: Path):
    return evaluate_scene(out, use_lpips=False, out_path=out / "metrics_test.json", overwrite=True)


def test_the_output_evaluates(output, tmp_path):
    result = _evaluate(_copy(output, tmp_path))
    assert result["test_views"] == [0, 3] and result["psnr"] > 0


@pytest.mark.parametrize("name, change, says", [
    ("reconstruction.json", lambda t: t["config"].update(background=[0, None, 0]),
     "config.background[1]: expected a number, got null"),
    ("reconstruction.json", lambda t: t["config"]["background"].pop(), "config.background: expected 3 numbers, got 2"),
    ("reconstruction.json", lambda t: t.update(config="x"), "config: expected an object, got the string 'x'"),
    ("reconstruction.json", lambda t: t.update(input=5), "input: expected the input folder's path, got the number 5"),
    ("cameras.json", lambda t: t["times"].__setitem__(2, ""), "times[2]: expected a number, got the string ''"),
    ("cameras.json", lambda t: t.update(test=[0, {}]), "test[1]: expected a number, got an object"),
    ("cameras.json", lambda t: t.update(test=[0, -1]), "test[1]: a view number must be >= 0, got -1"),
    ("cameras.json", lambda t: t.update(test=[0, 2**32]), "held-out view 4294967296 is out of range"),
    ("cameras.json", lambda t: t.update(height="16"), "height: expected a number, got the string '16'"),
], ids=["background-null", "background-short", "config-text", "input-number", "times-text", "test-object",
        "test-negative", "test-out-of-range", "height-text"])
def test_a_bad_field_names_its_file_and_field(output, tmp_path, name, change, says):
    out = _copy(output, tmp_path, name, change)
    with pytest.raises(ValueError) as info:
        _evaluate(out)
    message = str(info.value)
    assert message.startswith(f"{out / name}: ") and says in message and "\n" not in message, message


@pytest.mark.parametrize("name", ["reconstruction.json", "cameras.json"])
@pytest.mark.parametrize("data, says", [(b'{"test": [1, ', "not valid JSON"), (b"\xff\xfe{}", "not a text file"),
                                        (b"[1, 2]", "expected a JSON object, got a list of 2 items")])
def test_a_damaged_record_is_named(output, tmp_path, name, data, says):
    out = _copy(output, tmp_path, name, data=data)
    with pytest.raises(ValueError, match=says) as info:
        _evaluate(out)
    assert str(info.value).startswith(f"{out / name}: ")


def test_a_recorded_input_that_is_gone(output, tmp_path):
    out = _copy(output, tmp_path, "reconstruction.json", lambda t: t.update(input=str(tmp_path / "moved")))
    with pytest.raises(FileNotFoundError, match=r"reconstruction.json: the recorded input .*moved does not exist "
                                                r"\(moved\?\); pass input_path"):
        _evaluate(out)


def test_a_4d_output_without_its_motion_is_refused(output, tmp_path):
    """Without motion.npz (not copied along with scene.ply) a 4d output was scored as the scene at t = 0 at every
    held-out time, without a word."""
    out = _copy(output, tmp_path)
    (out / "motion.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"out: no motion\.npz, the motion of this 4d reconstruction's "):
        _evaluate(out)
    assert not (out / "metrics_test.json").exists()


def test_fuzzing_the_output_records_finds_nothing(tmp_path):
    assert_fuzz_finds_nothing("recon-output", 60, tmp_path)
