"""A model folder whose ``generation_config.json`` asks for an absurd frame count, where a job samples at it:
``genxd fewshot`` without ``--frames`` and ``genxd eval`` (which samples at the model's count, no option sets it)
refuse it in one line naming the file and the key, before anything is sampled (fewshot: before the weights load;
eval: once they are, its device and dtype checked first). Before, the count went unchecked to
the sampler (``genxd generate`` with 50000 ran out of memory half a minute in); ``genxd generate``, ``trajectory make
--for-model`` and the demo refuse it already (tests/cli/test_generate_model_frames.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app

from .helpers import model_folder_of_frames as _model_folder

RANGE = "num_frames must be an integer in 2..10000"


@pytest.fixture(scope="module")
def reconfusion(tmp_path_factory):
    """One 8-view scene with a 3-view split."""
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    root = tmp_path_factory.mktemp("fewshot") / "rf"
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    write_reconfusion_scene(root, "scene", render(make_scene(2), c2w, K, 16, 16).rgb, c2w, K,
                            {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    return root


def _bundled_with_frames(folder: Path, num_frames) -> Path:
    """The bundled model's weights (linked) with a generation_config.json asking for ``num_frames``."""
    from genxd.checkpoints import default_model_path

    bundled = default_model_path()
    folder.mkdir(parents=True)
    for part in ("unet", "vae", "scheduler"):
        (folder / part).symlink_to(bundled / part, target_is_directory=True)
    config = json.loads((bundled / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({**config, "num_frames": num_frames}))
    return folder


@pytest.mark.parametrize("num_frames", [50_000, 1])
def test_fewshot_refuses_the_models_absurd_frame_count_naming_its_file(reconfusion, tmp_path, num_frames):
    model = _model_folder(tmp_path / "model", num_frames)
    res = CliRunner().invoke(app, ["fewshot", str(reconfusion), "--model", str(model), "--out", str(tmp_path / "out"),
                                   "--n-views", "3", "-q"])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [
        f"genxd: error: {model / 'generation_config.json'}: {RANGE}, got {num_frames}; genxd fewshot takes it for "
        "--frames, which was not given: give --frames"], res.stderr
    assert not (tmp_path / "out").exists()


def test_fewshot_with_frames_given_does_not_read_the_models_count(reconfusion, tmp_path):
    model = _model_folder(tmp_path / "model", 50_000)
    res = CliRunner().invoke(app, ["fewshot", str(reconfusion), "--model", str(model), "--out", str(tmp_path / "out"),
                                   "--n-views", "3", "--frames", "5", "-q"])
    assert res.exit_code != 0
    assert "num_frames" not in res.stderr, res.stderr  # got past the count: fails loading the weights, not there


@pytest.mark.parametrize("modes", ["3d-1view", "fewshot"])
def test_eval_refuses_the_models_absurd_frame_count_before_sampling(tmp_path, modes):
    model = _bundled_with_frames(tmp_path / "model", 50_000)
    res = CliRunner().invoke(app, ["eval", "--model", str(model), "--modes", modes, "-n", "1", "-q"]
                             if modes != "fewshot" else ["eval", "--model", str(model), "--modes", modes, "-q"])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [
        f"genxd: error: {model / 'generation_config.json'}: {RANGE}, got 50000; genxd eval samples at the model's "
        "frame count: fix the file"], res.stderr


def test_the_python_functions_name_themselves(tmp_path):
    from genxd.evaluation import evaluate
    from genxd.evaluation_fewshot import evaluate_fewshot
    from genxd.validation import InvalidValue

    model = _bundled_with_frames(tmp_path / "model", 1)
    for call, name in ((lambda: evaluate(model, num_scenes=1, progress=False), "evaluate()"),
                       (lambda: evaluate_fewshot(model, num_scenes=1, progress=False), "evaluate_fewshot()")):
        with pytest.raises(InvalidValue) as refused:
            call()
        assert str(refused.value).endswith(f"got 1; {name} samples at the model's frame count: fix the file")
