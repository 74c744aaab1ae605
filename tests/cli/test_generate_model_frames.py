"""A model folder whose ``generation_config.json`` asks for an absurd frame count: ``genxd generate`` (and
:func:`genxd.generate`, and the demo) refuse it in one line naming the file and the key before a path of its frames
is made. Before: 1e12 was refused naming ``--frames`` (not given), 50000 ran out of memory after half a minute, 1
was refused as "orbit: the camera path needs at least 2 cameras" or naming ``--window`` (not given), ``"12.0"``
failed as "invalid literal for int()"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cli import app

from ..helpers import model_folder_of_frames as _model_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"
RANGE = "num_frames must be an integer in 2..10000"


@pytest.mark.parametrize("num_frames, extra, says", [
    (1e12, [], f"{RANGE}, got 1000000000000.0; genxd generate takes it for --frames, which was not given: "
               "give --frames"),
    (50_000, [], f"{RANGE}, got 50000; genxd generate takes it for --frames, which was not given: give --frames"),
    (1, [], f"{RANGE}, got 1; genxd generate takes it for --frames, which was not given: give --frames"),
    (1, ["--camera", "{path}"], f"{RANGE}, got 1; genxd generate takes it for --window, which was not given: "
                                "give --window"),  # a camera file's own count: the model's is the window
    (1e12, ["--frames", "8"], f"{RANGE}, got 1000000000000.0; genxd generate takes it for --window, which was not "
                              "given: give --window"),
    ("12.0", [], "num_frames must be a positive whole number, got '12.0'"),
], ids=["1e12", "50000", "one", "one-camera-file", "1e12-frames-given", "text-12.0"])
def test_generate_refuses_an_absurd_frame_count_of_the_model_naming_its_file(tmp_path, num_frames, extra, says):
    model = _model_folder(tmp_path / "model", num_frames)
    path = tmp_path / "path.json"
    made = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(path), "-n", "6", "-q"])
    assert made.exit_code == 0, made.output
    args = ["generate", str(EXAMPLE), "--model", str(model), "-o", str(tmp_path / "out"),
            *(a.format(path=path) for a in extra)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [f"genxd: error: {model / 'generation_config.json'}: {says}"], res.stderr
    assert not (tmp_path / "out" / "scene_a").exists()


def test_the_python_api_names_its_own_arguments(tmp_path):
    import genxd
    from genxd.validation import InvalidValue

    model = _model_folder(tmp_path / "model", 50_000)
    with pytest.raises(InvalidValue) as refused:
        genxd.generate(EXAMPLE, tmp_path / "out", model=model, progress=False)
    assert str(refused.value) == (f"{model / 'generation_config.json'}: {RANGE}, got 50000; genxd.generate takes it "
                                  "for num_frames, which was not given: pass num_frames")


def test_the_model_frame_count_is_not_checked_where_it_is_not_taken():
    from genxd.generate_settings import GenerateSettings, check_model_frames
    from genxd.validation import InvalidValue

    given = GenerateSettings(num_frames=8, window=8).checked()
    check_model_frames(given, Path("m/generation_config.json"), 1e12)  # both given: the model's is not used
    with pytest.raises(InvalidValue, match=r"takes it for window, which was not given: pass window$"):
        check_model_frames(GenerateSettings(num_frames=8).checked(), Path("m/generation_config.json"), 1e12)


def test_trajectory_make_for_model_names_a_frame_count_written_as_text(tmp_path):
    """``"num_frames": "12.0"`` passed the model folder's checks (a number as text) and failed in
    ``int(d["num_frames"])`` as "invalid literal for int() with base 10: '12.0'"."""
    model = _model_folder(tmp_path / "model", "12.0")
    res = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(tmp_path / "p.json"), "--for-model",
                                   str(model)])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [f"genxd: error: {model / 'generation_config.json'}: num_frames must be a "
                                       "positive whole number, got '12.0'"]
    assert not (tmp_path / "p.json").exists()


def test_a_frame_count_int_cannot_read_is_refused_by_the_settings_check():
    from genxd.generation_settings import check_defaults

    check_defaults("c.json", {"num_frames": "12", "resolution": 64, "guidance_scale": 2.0})  # int("12") reads it
    for text in ("12.0", "1e3"):
        with pytest.raises(ValueError, match=rf"^c.json: num_frames must be a positive whole number, got '{text}'$"):
            check_defaults("c.json", {"num_frames": text, "resolution": 64, "guidance_scale": 2.0})


@pytest.mark.parametrize("num_frames", [1, 1e12])
def test_the_demo_refuses_an_absurd_frame_count_before_building_the_page(num_frames):
    pytest.importorskip("gradio")
    from genxd.demo.app import check_model_frames
    from genxd.validation import InvalidValue

    check_model_frames(Path("m/generation_config.json"), 8)
    with pytest.raises(InvalidValue, match=r"^m/generation_config.json: num_frames must be an integer in 2\.\.10000, "
                                           r"got .*; the demo takes it for the Frames slider's start"):
        check_model_frames(Path("m/generation_config.json"), num_frames)
