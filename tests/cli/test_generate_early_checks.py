"""`genxd generate`'s mistakes that fail before the model code is imported (torch, diffusers: seconds): a typo in
the camera preset, an output that cannot be a folder, a summary file that is a folder (found by a newcomer: each
failed only after 5-7 s and a note about the bundled model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import genxd.cli.generate as generate_cli
from genxd.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"


def test_the_early_preset_names_are_the_trajectories():
    """The torch-free names (the early check's, and the help's: a preset added to PRESETS fails this until named
    there too) are PRESETS' names in its order."""
    from genxd.camera_presets import CAMERA_PRESETS
    from genxd.cameras.trajectories import PRESETS

    assert CAMERA_PRESETS == tuple(PRESETS) and generate_cli.CAMERA_PRESETS is CAMERA_PRESETS


@pytest.mark.parametrize("extra, line", [
    (["--camera", "orbitt"], "--camera must be one of dolly, forward, orbit, pan, spiral, static, zoom or a camera "
                             "file / folder, got 'orbitt' (did you mean 'orbit'?)"),
    (["--camera", "circle"], "--camera must be one of dolly, forward, orbit, pan, spiral, static, zoom or a camera "
                             "file / folder, got 'circle'"),  # close to none: the list alone
    # written as a path: a camera file not found, in the words of genxd.generate's own check (it said "--camera must be
    # one of dolly, ... or a camera file / folder, got 'cams.jsn'" here, then "cams.jsn: camera file or folder not
    # found" from Python; the generate review, session 59)
    (["--camera", "{folder}/cams.jsn"], "{folder}/cams.jsn: camera file or folder not found"),
    (["--camera", "poses/"], "poses: camera file or folder not found"),
    (["-o", "{readme}"], "output folder (--out) {readme} exists and is not a folder"),
    (["--summary", "{folder}"], "summary file (--summary) {folder} is a folder; give a file name"),
])
def test_mistakes_fail_before_the_model_code_is_imported(tmp_path, monkeypatch, extra, line):
    def no_imports(*args, **kwargs):
        raise AssertionError("the model code was imported before the check")

    monkeypatch.setattr(generate_cli, "import_libraries", no_imports)
    readme = tmp_path / "README.md"
    readme.write_text("mine")
    folder = tmp_path / "outputs"
    folder.mkdir()
    values = {"readme": readme, "folder": folder}
    args = ["generate", str(EXAMPLE), *(a.format(**values) for a in extra)]
    if "-o" not in extra:
        args += ["-o", str(tmp_path / "out")]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == ["genxd: error: " + line.format(**values)]
    assert readme.read_text() == "mine" and not any(folder.iterdir())


def test_a_preset_names_its_frames_as_the_caller_does():
    """``--camera forward --frames 10`` said "num_frames divisible by 4" on the command line."""
    from genxd.api import camera_trajectory
    from genxd.validation import InvalidValue, cli_style

    with cli_style(), pytest.raises(InvalidValue, match=r"^forward mode needs --frames divisible by 4 .*got 10$"):
        camera_trajectory("forward", num_frames=10)
    with pytest.raises(InvalidValue, match=r"^forward mode needs num_frames divisible by 4"):
        camera_trajectory("forward", num_frames=10)


@pytest.mark.parametrize("camera, close", [("Orbit", "orbit"), ("spirl", "spiral"), ("circle", None)])
def test_a_misspelt_preset_is_named_by_the_python_api_too(camera, close):
    """genxd.generate's own check (genxd.camera_arguments) says the preset meant, as the command line does."""
    from genxd.camera_arguments import camera_path_of
    from genxd.validation import InvalidValue

    with pytest.raises(InvalidValue) as caught:
        camera_path_of(camera)
    message = str(caught.value)
    assert message.startswith("camera must be one of ") and f"got {camera!r}" in message
    assert message.endswith(f"(did you mean {close!r}?)" if close else f"got {camera!r}"), message


@pytest.mark.parametrize("camera", ["cams.jsn", "poses/", "./orbit", "sub/orbit"])
def test_a_missing_camera_file_is_refused_in_the_same_words_early_and_by_the_python_api(tmp_path, monkeypatch,
                                                                                        camera):
    """The command line's early check (before the model code is imported) and genxd.generate's own check
    (genxd.camera_arguments.camera_path_of) refuse a missing camera file alike."""
    from genxd.camera_arguments import camera_path_of

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as by_python:
        camera_path_of(camera)
    res = runner.invoke(app, ["generate", str(EXAMPLE), "-o", "out", "--camera", camera])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [f"genxd: error: {by_python.value}"]


def test_a_summary_file_that_is_an_input_is_refused_overwrite_or_not(tmp_path, monkeypatch):
    """``--summary photo.png --overwrite`` (or the --camera file) replaced the input with the job's summary JSON after
    the job (the generate review, session 59): an output is never written over what the run reads (docs/cli.md).
    Refused before the model code is imported, and by genxd.generate_scenes before any model loads."""
    import shutil

    import genxd
    import genxd.api
    from genxd.cameras import save_camera_json, trajectories

    photo = tmp_path / "photo.png"
    shutil.copy(EXAMPLE, photo)
    cams = tmp_path / "cams.json"
    save_camera_json(cams, *trajectories.orbit(num_frames=8), 64, 64)
    kept = {p: p.read_bytes() for p in (photo, cams)}

    def no_imports(*args, **kwargs):
        raise AssertionError("the model code was imported before the check")

    with monkeypatch.context() as m:
        m.setattr(generate_cli, "import_libraries", no_imports)
        for summary, extra in ((photo, []), (cams, ["--camera", str(cams)])):
            res = runner.invoke(app, ["generate", str(photo), "-o", str(tmp_path / "out"), "--summary", str(summary),
                                      "--overwrite", *extra])
            assert res.exit_code == 2, res.output
            assert res.stderr.splitlines() == [
                f"genxd: error: summary file (--summary) {summary} is the input {summary}: writing the output "
                "replaces it, and the input with it; give another output file"]

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the check")

    monkeypatch.setattr(genxd.api, "load_model", no_model)
    with pytest.raises(ValueError, match=r"^summary file \(summary\) .*cams\.json is the input .*cams\.json: "):
        genxd.generate_scenes(photo, tmp_path / "out", camera=cams, summary=cams, overwrite=True, progress=False)
    with pytest.raises(ValueError, match=r"^summary file \(summary\) .*photo\.png is the input .*photo\.png: "):
        genxd.generate_scenes(photo, tmp_path / "out", summary=photo, overwrite=True, progress=False)
    assert {p: p.read_bytes() for p in kept} == kept and not (tmp_path / "out").exists()
