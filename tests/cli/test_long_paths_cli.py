"""``genxd generate`` / ``genxd fewshot`` / ``genxd.generate`` with more frames than the model's window."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest
import torch
from typer.testing import CliRunner

from genxd.api import default_model_path
from genxd.cameras import formats, orbit
from genxd.cameras.trajectories import scale_translations
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene

from .models_once import _loaded_by_arguments, models_loaded_once  # noqa: F401  (fixtures)

runner = CliRunner()
# these tests are about the long paths a command plans and runs: each model (the bundled one, reference_small) is
# loaded once for the module, by the first command asking for it (tests/cli/test_generate_cameras.py and
# test_generate_cli.py run the commands' loading)
pytestmark = pytest.mark.usefixtures("models_loaded_once")


def _run(args):  # the bundled model's runs below use --guidance 1 (one UNet pass a step, not two): what they check
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _err(res) -> str:
    return res.output  # click >= 8.2: stdout and stderr together


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("long_imgs")
    rgb = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    PIL.Image.fromarray(rgb).save(d / "scene.png")
    return d / "scene.png"


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_generate_20_frames_with_the_bundled_model(image, tmp_path):
    out = tmp_path / "out"
    res = _run(["generate", image, "--out", out, "--frames", "20", "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0, res.output
    # the plan is printed before sampling: window 8, 7 new frames on each side of the input, then 5 between them
    assert ("genxd: long path: 20 frames, window 8, progressive: 3 chunks in 2 sampling calls "
            "x 1 step = 2 UNet calls") in _err(res)
    assert "window of 8 frames" not in _err(res)  # made window by window: not a warning
    d = out / "scene"
    assert len(list((d / "frames").glob("*.png"))) == 20
    cams = formats.load_camera_json(d / "cameras.json")
    tj = formats.load_transforms_json(d / "transforms.json")
    c2w, K = orbit(num_frames=20, focal=1.1)  # the bundled model's focal (generation_config.json)
    c2w = scale_translations(c2w, 0.5)  # and its scene depth 1: the preset's positions x 0.5
    torch.testing.assert_close(cams.c2w.float(), c2w, atol=1e-5, rtol=0)
    torch.testing.assert_close(tj.c2w.float(), c2w, atol=1e-5, rtol=0)
    torch.testing.assert_close(cams.K.float(), K, atol=1e-6, rtol=0)
    assert len(formats.load_w2c_list_json(d / "cameras_rel.json")) == 20
    meta = json.loads((d / "meta.json").read_text())
    assert meta["num_frames"] == 20 and meta["long_path"]["strategy"] == "progressive"
    windows = meta["long_path"]["windows"]
    assert windows[0]["frames"] == list(range(8)) and windows[1]["frames"] == [0] + list(range(19, 12, -1))
    # the orbit closes between the two first windows, seeing both of them
    assert windows[2]["stage"] == 1 and {7, 13} <= set(windows[2]["context"])
    assert all(w["context"][0] == 0 for w in windows) and len(windows) == 3


def test_python_api_4d_long_path(image, tmp_path, reference_small):
    import genxd

    folders = genxd.generate(image, tmp_path / "o", model=reference_small, num_frames=14, window=6, overlap=2,
                             mode="4d", motion_strength=5.0, resolution=64, num_inference_steps=1, progress=False)
    meta = json.loads((folders[0] / "meta.json").read_text())
    lp = meta["long_path"]
    assert lp["strategy"] == "temporal" and lp["window"] == 6
    assert [w["frames"][0] for w in lp["windows"]] == [0, 4, 8]  # 6 frames each, 2 overlapping, last moved back
    assert [w["context"] for w in lp["windows"]] == [[0], [4, 5], [8, 9]]
    assert len(list((folders[0] / "frames").glob("*.png"))) == 14


def test_fewshot_split_longer_than_a_window(tmp_path, reference_small):
    root = tmp_path / "rf" / "re10k"
    n = 14
    c2w, K = orbit(num_frames=n, azimuth_range=(0, 120), frame="world")
    images = torch.from_numpy(np.random.default_rng(1).random((n, 3, 48, 64)).astype(np.float32))
    train, test = [0, 2, 4, 6, 8, 9, 10, 11, 12], [1, 3, 5, 7, 13]
    write_reconfusion_scene(root, "scene0", images, c2w, K, {9: (train, test)})
    out = tmp_path / "few"
    # 8 frames: 3 context views + the 5 test views in one group, generated through windows of 6 frames
    res = _run(["fewshot", root, "--model", reference_small, "--out", out, "--frames", "8", "--window", "6",
                "--resolution", "64", "--steps", "1"])
    assert res.exit_code == 0, res.output
    assert "genxd: long path: 8 frames, window 6, progressive" in _err(res)
    groups = sorted(out.iterdir())
    assert len(groups) == 1
    meta = json.loads((groups[0] / "meta.json").read_text())
    lp = meta["long_path"]
    assert lp["inputs"] == [0, 3, 7]  # the authors' layout of 3 context views in 8 frames
    assert all(w["context"][:3] == [0, 3, 7] for w in lp["windows"])  # every window sees the 3 views
    assert json.loads((groups[0] / "target_indices.json").read_text()) == [0, 1, 3, 2, 5, 7, 13, 4]  # train 0, 2, 4 at 0, 3, 7; tests between
    assert len(list((groups[0] / "frames").glob("*.png"))) == 8


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_fewshot_longer_than_the_bundled_window_does_not_warn(tmp_path):
    # as generate: a split longer than the window is made window by window, the model sees 8 frames at a time
    root = tmp_path / "rf" / "re10k"
    n = 14
    c2w, K = orbit(num_frames=n, azimuth_range=(0, 120), frame="world")
    images = torch.from_numpy(np.random.default_rng(1).random((n, 3, 64, 64)).astype(np.float32))
    write_reconfusion_scene(root, "scene0", images, c2w, K, {9: ([0, 2, 4, 6, 8, 9, 10, 11, 12], [1, 3, 5, 7, 13])})
    res = _run(["fewshot", root, "--out", tmp_path / "few", "--frames", "10", "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0, res.output
    assert "genxd: long path: 10 frames, window 8" in _err(res)
    # no warning for the window: 7 targets a group but 5 test views (tests/cli/test_cli_messages.py), and the plan
    # of its 3 inputs and 7 targets: two windows of 6 frames, outside the trained frame counts (8)
    warnings = [line for line in " ".join(_err(res).split()).split("genxd: ")[1:] if line.startswith("warning")]
    assert len(warnings) == 2 and "test views are repeated" in warnings[0], warnings
    assert warnings[1].strip() == ("warning: group scene0_direct_000: each of the plan's 2 windows has fewer frames "
                                   "than the window of 8 (down to 6): outside what the bundled model was trained on "
                                   "(frame counts of 8); results may be poor in their frames"), warnings
    res = _run(["fewshot", root, "--out", tmp_path / "few96", "--resolution", "96", "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0 and "--resolution 96 is outside what the bundled model was trained on" in _err(res)


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_a_window_outside_the_trained_frame_counts_is_named_in_the_warning(image, tmp_path):
    # --frames 9 is made 3 frames at a time: the warning names --window 3 (it said '--frames 3', never given)
    res = _run(["generate", image, "--out", tmp_path / "out", "--frames", "9", "--window", "3", "--steps", "1",
                "--guidance", "1"])
    assert res.exit_code == 0, res.output
    assert "--window 3 is outside what the bundled model was trained on (frame counts of 8)" in _err(res)
    assert "--frames 3" not in _err(res)


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_windows_shorter_than_the_trained_frame_counts_are_warned(image, tmp_path):
    # a 16-frame orbit (closed) in windows of 8: the progressive plan grows it from both sides of the input in two
    # windows of 7 frames (one full window would leave 8 frames to close: a stage more), then closes it with one of
    # 8; the first two were outside what the model was trained on (8 frames) without a word, the window itself (8)
    # being inside it. 9-13 frames are made in full windows (test_long_path_first_stage.py): no warning
    res = _run(["generate", image, "--out", tmp_path / "out", "--frames", "16", "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0, res.output
    assert ("genxd: warning: 2 of the plan's 3 windows have fewer frames than the window of 8 (down to 7): outside "
            "what the bundled model was trained on (frame counts of 8); results may be poor in their frames"
            ) in " ".join(_err(res).split()), res.output
    res = _run(["generate", image, "--out", tmp_path / "nine", "--frames", "9", "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0 and "fewer frames" not in res.output, res.output


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_window_settings_of_a_path_one_window_holds_are_warned_unused(image, tmp_path):
    # --anchors / --overlap shape the windows of longer paths: for 8 frames (the window) they were dropped silently
    res = _run(["generate", image, "--out", tmp_path / "short", "--frames", "8", "--anchors", "3", "--overlap", "2",
                "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0, res.output
    for name, value in (("--anchors", 3), ("--overlap", 2)):
        assert (f"genxd: warning: {name} {value} is not used: the path's 8 frames are made in one window "
                "(it shapes the windows of longer paths only)") in _err(res)
    res = _run(["generate", image, "--out", tmp_path / "long", "--frames", "10", "--anchors", "3", "--overlap", "2",
                "--steps", "1", "--guidance", "1"])
    assert res.exit_code == 0 and "not used" not in _err(res), res.output  # used by the long path


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--window", "13"], "larger than the model can take (12 frames)"),
        (["--window", "6", "--overlap", "6"], "--overlap"),
        (["--mode", "4d", "--anchors", "3"], "3d mode only"),
        (["--anchors", "-1"], "--anchors"),
        (["--window", "6", "--anchors", "6"], "--anchors"),
        (["--window", "2"], "--window 2 is too small for a 3d path longer than it"),  # not '--overlap ... got 1'
        (["--window", "2", "--anchors", "1"], "--window 2 is too small for a 3d path longer than it"),
    ],
)
def test_impossible_window_settings_exit_2(image, tmp_path, reference_small, extra, message):
    out = tmp_path / "out"
    res = runner.invoke(app, ["generate", str(image), "--model", str(reference_small), "--out", str(out), "--frames",
                              "20", "--resolution", "64", "--steps", "1", "--quiet", *extra])
    assert res.exit_code == 2, res.output
    err = _err(res)
    assert message in err and "Traceback" not in err
    assert len([line for line in err.strip().splitlines() if line.startswith("genxd: error")]) == 1
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_generate_interrupted_says_what_is_kept_and_the_command_continues(tmp_path, monkeypatch):
    """Ctrl-C in a long path: one line with the windows kept and the command to continue (with --skip-existing,
    as a scene of the job is written), exit 130; that command continues, and leaves no work folder."""
    import shlex

    from genxd.pipelines import long_path_state

    for name, seed in (("a", 1), ("b", 2)):
        rgb = (np.random.default_rng(seed).random((64, 64, 3)) * 255).astype(np.uint8)
        PIL.Image.fromarray(rgb).save(tmp_path / f"{name}.png")
    save = long_path_state.BatchState.save

    def stop_in_b(self, latents, known):  # Ctrl-C once b's first sampling call is saved (a is written)
        save(self, latents, known)
        if self.runs[0].folder.name == "b":
            raise KeyboardInterrupt

    monkeypatch.setattr(long_path_state.BatchState, "save", stop_in_b)
    out = tmp_path / "out"
    args = ["generate", tmp_path / "a.png", tmp_path / "b.png", "--out", out, "--frames", "8", "--window", "4", "--steps", "1",
            "--guidance", "1"]
    res = _run(args)
    assert res.exit_code == 130
    line = _err(res).strip().splitlines()[-1]
    command = shlex.join(["genxd", *map(str, args), "--skip-existing"])
    assert line == (f"genxd: interrupted: kept 2 of 3 windows (7 of 8 frames) of b in {out / '.genxd-partial'}; "
                    f"to continue, run: {command}")
    assert sorted(p.name for p in out.iterdir()) == [".genxd-partial", "a"]

    monkeypatch.setattr(long_path_state.BatchState, "save", save)
    res = _run(shlex.split(line.split("to continue, run: ")[1])[1:])
    assert res.exit_code == 0, res.output
    assert f"genxd: long path: continuing b from the 2 of 3 windows kept in {out / '.genxd-partial' / 'b'}" in _err(res)
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]
    assert len(list((out / "b" / "frames").glob("*.png"))) == 8
