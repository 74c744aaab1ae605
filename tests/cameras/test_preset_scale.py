"""Camera presets scaled to the model's scene depth (``generation_config.json`` ``scene_depth``).

The presets put their subject at distance 2 (the authors' settings); the bundled model was trained on clips
normalised so that the median depth seen from the first camera is 1 (its training orbits turn about a point at
depth 1.00), so ``genxd generate --camera orbit`` with it circles a point at depth 1, not 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genxd import api
from genxd.cameras import read_camera_path, trajectories


def _pivot_depth(c2w: torch.Tensor) -> float:
    """Depth, seen from the first camera, of the point closest to every camera's optical axis."""
    c2w = c2w.double().numpy()
    A, b = np.zeros((3, 3)), np.zeros(3)
    for m in c2w:
        P = np.eye(3) - np.outer(m[:3, 2], m[:3, 2])
        A, b = A + P, b + P @ m[:3, 3]
    p = np.linalg.solve(A, b)
    w2c0 = np.linalg.inv(c2w[0])
    return float((w2c0[:3, :3] @ p + w2c0[:3, 3])[2])


def _model_folder(tmp_path, config: dict | None):
    for part in ("unet", "vae", "scheduler"):
        (tmp_path / part).mkdir(exist_ok=True)
    if config is not None:
        (tmp_path / "generation_config.json").write_text(json.dumps(config))
    return tmp_path


def test_preset_scale_comes_from_the_model_scene_depth(tmp_path):
    assert api.model_info(_model_folder(tmp_path, None)).preset_scale == 1.0  # the released model: authors' presets
    assert api.model_info(_model_folder(tmp_path, {"resolution": 64})).preset_scale == 1.0
    assert api.model_info(_model_folder(tmp_path, {"scene_depth": 1.0})).preset_scale == 0.5
    assert api.model_info(_model_folder(tmp_path, {"scene_depth": 3})).preset_scale == 1.5
    assert api.model_info(_model_folder(tmp_path, {"scene_depth": None})).preset_scale == 1.0  # stated: authors'
    for bad in ("1", 0, -1.0, True, float("nan")):
        (tmp_path / "generation_config.json").write_text(json.dumps({"scene_depth": bad}))
        with pytest.raises(ValueError, match="scene_depth must be a positive number"):
            api.model_info(tmp_path)


def test_scaled_orbit_circles_the_point_at_the_model_scene_depth():
    c2w, K = api.camera_trajectory("orbit", 8, 1.1)
    assert _pivot_depth(c2w) == pytest.approx(trajectories.PRESET_SCENE_DEPTH, abs=1e-6)
    scaled, K2 = api.camera_trajectory("orbit", 8, 1.1, scale=0.5)
    assert _pivot_depth(scaled) == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(scaled[:, :3, :3], c2w[:, :3, :3]) and torch.equal(K, K2)  # rotations and intrinsics kept
    assert torch.allclose(scaled[:, :3, 3], 0.5 * c2w[:, :3, 3])


def test_camera_files_keep_their_own_scale(tmp_path):
    from genxd.cameras import formats

    c2w, K = trajectories.orbit(8, focal=1.1)
    formats.save_camera_json(tmp_path / "cams.json", c2w, K, 64, 64)
    read, _ = api.camera_trajectory(tmp_path / "cams.json", 8, 1.1, scale=0.5)
    assert torch.allclose(read, c2w, atol=1e-6)


def test_generate_with_the_bundled_model_orbits_at_its_scene_depth(tmp_path):
    if api.default_model_path() is None:
        pytest.skip("no bundled model")
    info = api.model_info(None)
    assert info.defaults["scene_depth"] == 1.0 and info.preset_scale == 0.5
    image = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(image)
    api.generate(image, tmp_path / "out", camera="orbit", num_inference_steps=1, progress=False)
    written = read_camera_path(tmp_path / "out" / "in" / "cameras_rel.json")
    assert _pivot_depth(written.c2w) == pytest.approx(1.0, abs=1e-4)


def test_trajectory_make_scale_matches_generate(tmp_path):
    from typer.testing import CliRunner

    from genxd.cli import app

    out = tmp_path / "orbit.json"
    result = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(out), "--num-frames", "8",
                                      "--focal", "1.1", "--scale", "0.5", "-q"])
    assert result.exit_code == 0, result.output
    made, _ = api.camera_trajectory(out, 8, 1.1)
    assert torch.allclose(made, api.camera_trajectory("orbit", 8, 1.1, scale=0.5)[0], atol=1e-6)
    bad = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(tmp_path / "x.json"), "--scale", "-1"])
    assert bad.exit_code == 2 and "--scale" in bad.output and not (tmp_path / "x.json").exists()
    missing = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(tmp_path / "y.json"), "--for-model",
                                       str(tmp_path / "no-model")])
    assert missing.exit_code == 2 and "no-model" in missing.output and not (tmp_path / "y.json").exists()


def test_trajectory_make_for_the_bundled_model_is_generate_s_path(tmp_path):
    """``--for-model bundled``: the model's focal, frame count, size and scene scale, as ``genxd generate --camera NAME``."""
    from typer.testing import CliRunner

    from genxd.cameras import formats
    from genxd.cli import app

    if api.default_model_path() is None:
        pytest.skip("no bundled model")
    for preset in ("orbit", "forward", "dolly"):
        out = tmp_path / f"{preset}.json"
        result = CliRunner().invoke(app, ["trajectory", "make", preset, "-o", str(out), "--for-model", "bundled", "-q"])
        assert result.exit_code == 0, result.output
        cams = formats.load_camera_json(out)
        c2w, K = api.camera_trajectory(preset, 8, 1.1, scale=0.5)
        assert (cams.height, cams.width) == (64, 64)
        torch.testing.assert_close(cams.c2w.float(), c2w, atol=1e-5, rtol=0)
        torch.testing.assert_close(cams.K.float(), K, atol=1e-6, rtol=0)
    # options given win over the model's
    out = tmp_path / "mine.json"
    result = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(out), "--for-model", "bundled",
                                      "--num-frames", "5", "--scale", "1", "-q"])
    assert result.exit_code == 0, result.output
    torch.testing.assert_close(formats.load_camera_json(out).c2w.float(), api.camera_trajectory("orbit", 5, 1.1)[0],
                               atol=1e-5, rtol=0)


def test_demo_presets_use_the_scale():
    from genxd.demo import cameras as cam

    plain, _ = cam.preset_path("forward", 8, 1.1, {})
    scaled, _ = cam.preset_path("forward", 8, 1.1, {}, scale=0.5)
    assert torch.allclose(scaled[:, :3, 3], 0.5 * plain[:, :3, 3]) and torch.equal(scaled[:, :3, :3], plain[:, :3, :3])


def test_trained_models_record_the_scene_depth_of_their_data():
    from genxd.training.trainer import scene_depth_entry

    assert scene_depth_entry([{"type": "synthetic"}, {"type": "photo", "weight": 2}]) == {"scene_depth": 1.0}
    assert scene_depth_entry([{"type": "camvid", "camera_normalization": "scene"}]) == {"scene_depth": 1.0}
    # normalised by the path / not at all: stated as null (the presets' own scale), not left out
    assert scene_depth_entry([{"type": "synthetic"}, {"type": "reconfusion"}]) == {"scene_depth": None}
    assert scene_depth_entry([{"type": "synthetic", "camera_normalization": "none"}]) == {"scene_depth": None}


def _model_without_scene_depth(tmp_path):
    """The bundled model's folder as a model trained before genxd recorded ``scene_depth``: (folder, its config,
    the bundled folder); skips without a bundled model."""
    bundled = api.default_model_path()
    if bundled is None:
        pytest.skip("no bundled model")
    model = tmp_path / "old-model"
    model.mkdir()
    for part in ("unet", "vae", "scheduler"):
        (model / part).symlink_to(bundled / part, target_is_directory=True)
    config = json.loads((bundled / "generation_config.json").read_text())
    config.pop("scene_depth")
    (model / "generation_config.json").write_text(json.dumps(config))
    return model, config, bundled


def test_no_camera_file_scale_warning_for_a_model_whose_scene_depth_is_unstated(tmp_path, monkeypatch):
    """A camera file far from the model's scale is warned about with the model's depth; a model whose config leaves
    ``scene_depth`` out has none known (trained before 2026-12-02 on scene-normalised clips: at 1, not 2), and the
    warning said "the model's at 2", a guess, with a --path-scale 2 to write. Now quiet there; stated as null (the
    presets' own scale, at 2) it is still warned about."""
    import warnings

    from genxd.validation import GenXDWarning

    from tests.test_camera_arguments import EXAMPLE, _colmap_path

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(api, "load_model", stop)
    model, config, _ = _model_without_scene_depth(tmp_path)
    far = _colmap_path(tmp_path, 30.0)

    def scale_warnings() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(Stop):
                api.generate(EXAMPLE, tmp_path / "out", model=model, camera=far, mode="4d", progress=False)
        return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning) and "own scale" in str(w.message)]

    assert api.model_info(model).scene_depth_unstated
    assert scale_warnings() == []
    config["scene_depth"] = None
    (model / "generation_config.json").write_text(json.dumps(config))
    lines = scale_warnings()
    assert len(lines) == 1 and "the model's at 2," in lines[0], lines


def test_a_trained_model_without_scene_depth_is_warned_about(tmp_path):
    """A genxd-trained model (``trained`` in its config) from before genxd recorded ``scene_depth``: presets keep
    the authors' scale, and generate says so once; ``"scene_depth": null`` states that scale and is quiet, as is
    a camera file (its own scale)."""
    from PIL import Image

    from genxd.validation import GenXDWarning

    model, config, bundled = _model_without_scene_depth(tmp_path)
    info = api.model_info(model)
    assert info.scene_depth_unstated and info.preset_scale == 1.0
    image = tmp_path / "in.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(image)
    with pytest.warns(GenXDWarning, match="has no scene_depth") as caught:
        api.generate(image, tmp_path / "out1", model=model, camera="orbit", num_inference_steps=1, progress=False)
    assert sum("scene_depth" in str(w.message) for w in caught) == 1
    written = read_camera_path(tmp_path / "out1" / "in" / "cameras_rel.json")
    assert _pivot_depth(written.c2w) == pytest.approx(trajectories.PRESET_SCENE_DEPTH, abs=1e-4)
    import warnings

    from genxd.cameras import formats

    formats.save_camera_json(tmp_path / "cams.json", *trajectories.orbit(8, focal=1.1), 64, 64)
    with warnings.catch_warnings():  # a camera file brings its own scale: nothing to warn about
        warnings.simplefilter("error", GenXDWarning)
        api.generate(image, tmp_path / "out_file", model=model, camera=tmp_path / "cams.json",
                     num_inference_steps=1, progress=False)

    config["scene_depth"] = None
    (model / "generation_config.json").write_text(json.dumps(config))
    assert not api.model_info(model).scene_depth_unstated
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        api.generate(image, tmp_path / "out2", model=model, camera="orbit", num_inference_steps=1, progress=False)
    assert not api.model_info(bundled).scene_depth_unstated  # the bundled model states it
    (tmp_path / "released").mkdir()
    assert not api.model_info(_model_folder(tmp_path / "released", None)).scene_depth_unstated  # no genxd config


def test_the_demo_notes_a_model_without_scene_depth_for_presets_only(tmp_path):
    """The web app loads models through ``load_model``: its ``info`` keeps ``scene_depth_unstated`` and the page
    notes it for a preset path (as ``genxd generate`` warns), not for a camera file (before: the flag was lost)."""
    from genxd.checkpoints import load_model
    from genxd.demo.jobs import GenerationRequest, request_notes

    model, config, bundled = _model_without_scene_depth(tmp_path)
    loaded = load_model(model, device="cpu")
    assert loaded.info.scene_depth_unstated and loaded.info.scene_depth_note("'orbit'") is not None
    c2w, K = trajectories.orbit(num_frames=8, azimuth_range=(0, 40), focal=1.1)  # the model's window: no note on it
    request = GenerationRequest(images=[tmp_path / "x.png"], c2w=c2w.float(), K=K.float(), context_index=[0],
                                camera_preset="orbit")
    (note,) = request_notes(loaded, request)
    assert "has no scene_depth" in note and "the 'orbit' preset" in note
    request.camera_preset = None  # a camera file or keyframes bring their own scale
    assert request_notes(loaded, request) == []
    assert not load_model(None, device="cpu").info.scene_depth_unstated  # the bundled model states it


def test_trajectory_make_names_for_model_in_its_refusals(tmp_path):
    """``--for-model`` took the words of generate's ``--model``: a missing folder ended "(then pass --model
    ./genxd-model)", an empty value said "--model is empty (''): ... or leave it out for the bundled model" (left
    out, trajectory make writes the authors' preset)."""
    from typer.testing import CliRunner

    from genxd.cli import app

    out = tmp_path / "y.json"
    missing = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(out), "--for-model",
                                       str(tmp_path / "no-model")])
    assert missing.exit_code == 2 and "no-model" in missing.stderr, missing.output
    assert "--model" not in missing.stderr and "(then pass --for-model ./genxd-model)" in missing.stderr
    empty = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(out), "--for-model", ""])
    assert empty.exit_code == 2 and empty.stderr == (
        "genxd: error: --for-model is empty: pass 'bundled' or a model folder, or leave it out for the authors' "
        "preset\n"), empty.stderr
    assert not out.exists()


@pytest.mark.parametrize("config, option, says", [
    ({"num_frames": 1}, "--num-frames", "num_frames must be an integer in 2..100000, got 1 (one camera is no path "
                                        "for genxd generate --camera)"),
    ({"num_frames": 200_000}, "--num-frames", "num_frames must be an integer in 2..100000, got 200000"),
    ({"resolution": 70_000}, "--height", "resolution must be an integer in 1..65536, got 70000"),
    ({"resolution": 64, "width": 70_000}, "--width", "width must be an integer in 1..65536, got 70000"),
    ({"focal": 500}, "--focal", "focal must be a finite number in [0.05, 100], got 500"),
    ({"scene_depth": 1e308}, "--scale", "scene_depth / 2 (the presets' scale) must be a finite number in (0, 1e+06], "
                                        "got 5e+307"),
], ids=["one-frame", "frames", "resolution", "width", "focal", "scene-depth"])
def test_trajectory_make_refuses_a_model_setting_outside_its_options_range(tmp_path, config, option, says):
    """``--for-model`` took the model's frame count, size, focal and scene scale unchecked: a model of 1 frame wrote a
    one-camera path (which --num-frames refuses: generate --camera cannot use it), one of 200,000 was refused as
    "--num-frames must be an integer in 1..100000", an option not given, a scene_depth of 1e308 as "c2w: contains
    NaN or infinite values". Each is refused naming the model's file and the option to give; given, it wins."""
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "model").mkdir()
    model, out = _model_folder(tmp_path / "model", config), tmp_path / "path.json"
    args = ["trajectory", "make", "orbit", "-o", str(out), "--for-model", str(model)]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and refused.stderr.splitlines()[0].startswith(
        f"genxd: error: {model / 'generation_config.json'}: {says}"), refused.output
    assert refused.stderr.endswith(f"; --for-model takes it for {option}, which was not given: give {option}\n")
    assert not out.exists()
    given = {"--num-frames": "8", "--height": "64", "--width": "64", "--focal": "1.1", "--scale": "1"}[option]
    size = ["--height", "64", "--width", "64"] if "resolution" in says else []  # both taken from the resolution
    made = CliRunner().invoke(app, [*args, option, given, *size])
    assert made.exit_code == 0 and out.is_file(), made.output


def test_trajectory_make_escapes_control_characters_in_the_name_it_wrote(tmp_path):
    """``wrote 12 cameras (orbit) to OUT`` printed OUT raw: a name holding a terminal's escape sequence (ESC [ 3 1 m)
    reached a terminal as such, a newline broke the line; other commands' lines escape it (printed_path)."""
    from typer.testing import CliRunner

    from genxd.cli import app

    for name, shown in (("a\x1b[31mb.json", "a\\x1b[31mb.json"), ("two\nlines.json", "two\\nlines.json")):
        result = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(tmp_path / name)], color=True)
        assert result.exit_code == 0 and (tmp_path / name).is_file(), result.output
        assert result.stdout == f"wrote 12 cameras (orbit) to {tmp_path}/{shown}\n", result.stdout


def test_trajectory_make_names_the_preset_closest_to_an_unknown_name(tmp_path):
    """``make orbi`` / ``make Orbit`` / ``make 'orbit '`` listed the presets only; the close one is now named (as
    a misspelt config key is), and a name close to none is refused as before."""
    from typer.testing import CliRunner

    from genxd.cameras.trajectories import PRESETS
    from genxd.cli import app

    listed = ", ".join(sorted(PRESETS))
    for name, note in (("orbi", " (did you mean 'orbit'?)"), ("Orbit", " (did you mean 'orbit'?)"),
                       ("orbit ", " (did you mean 'orbit'?)"), ("spirale", " (did you mean 'spiral'?)"), ("xyz", "")):
        result = CliRunner().invoke(app, ["trajectory", "make", name, "-o", str(tmp_path / "p.json")])
        assert result.exit_code == 2 and result.stderr == (
            f"genxd: error: unknown camera path {name!r}{note}; choose from {listed}\n"), result.stderr
    assert not (tmp_path / "p.json").exists()
