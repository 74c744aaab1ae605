"""The shared validation layer (``genxd.validation``) from Python: wrong values fail before any model
loads, with messages naming the argument as a Python caller knows it (issue 18 item 8, issue 19 item 5),
real signatures on the public API, and warnings outside what the model was trained on (issue 19 item 2)."""

from __future__ import annotations

import inspect
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

import genxd
import genxd.api as api
from genxd import validation as v


class Loaded(Exception):
    pass


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: every check must come before it."""
    def refuse(*a, **k):
        raise Loaded("the model was loaded")

    monkeypatch.setattr(api, "load_model", refuse)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.png"
    PIL.Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(path)
    return path


BAD_PYTHON_VALUES = [
    (dict(device="gpu"), "device"),
    (dict(batch_size=1.5), "batch_size"),
    (dict(batch_size=0), "batch_size"),
    (dict(num_frames="four"), "num_frames"),
    (dict(num_frames=2.7), "num_frames"),
    (dict(num_frames=0), "num_frames"),
    (dict(num_frames=True), "num_frames"),
    (dict(resolution=0), "resolution"),
    (dict(num_inference_steps=0), "num_inference_steps"),
    (dict(guidance_scale=math.inf), "guidance_scale"),
    (dict(guidance_scale=math.nan), "guidance_scale"),
    (dict(motion_strength="high"), "motion_strength"),
    (dict(motion_strength=1e30, mode="4d"), "motion_strength"),
    (dict(motion_strength=-5, mode="4d"), "motion_strength"),
    (dict(azimuth_range=(0, 10, 20)), "azimuth_range"),
    (dict(azimuth_range="a,b"), "azimuth_range"),
    (dict(mode="5d"), "mode"),
    (dict(fit="stretch"), "fit"),
    (dict(seed=-1), "seed"),
    (dict(focal=0), "focal"),
    (dict(elevation=120), "elevation"),
    (dict(dtype="fp8"), "dtype"),
    (dict(camera=5), "camera"),
    (dict(camera="nope"), "camera"),
    (dict(overwrite="yes"), "overwrite"),
    (dict(overwrite=True, skip_existing=True), "overwrite"),
    # found by the api-args fuzz target: these were checked under other names, or not at all
    (dict(camera_from_video="clip.mp4", path_spacing=-1), "path_spacing"),
    (dict(path_intrinsics="exif"), "path_intrinsics"),
    (dict(path_smoothing=float("nan")), "path_smoothing"),
    (dict(path_scale=0), "path_scale"),
    (dict(azimuth_range=np.array(8)), "azimuth_range"),  # len() of a 0-d array raises TypeError (api-args)
    (dict(dtype=torch.float64), "dtype"),  # a torch dtype other than the three was passed on unchecked
]
# np.array(8) is an Iterable that cannot be iterated (api-args); a dict was read as the list of its keys
# ({'a': 1}: "a: no such file or folder", api-args seed 10)
BAD_IMAGES = [b"img.png", 5, None, {"a.png": 1}]


@pytest.mark.parametrize("kwargs, name", BAD_PYTHON_VALUES, ids=[f"{k}" for k, _ in BAD_PYTHON_VALUES])
def test_generate_refuses_bad_values_before_loading_naming_the_argument(kwargs, name, image, tmp_path, no_model):
    with pytest.raises(ValueError) as info:
        genxd.generate(image, tmp_path / "out", progress=False, **kwargs)
    message = str(info.value)
    assert name in message and "--" not in message, message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("images", BAD_IMAGES, ids=repr)
def test_generate_refuses_images_that_are_not_paths(images, tmp_path, no_model):
    with pytest.raises(ValueError, match=r"^images must be an image path, an image \(PIL, numpy, torch\) or a list "
                                         "of them, got "):
        genxd.generate(images, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_generate_refuses_an_array_that_is_no_image_before_loading(tmp_path, no_model):
    """A 0-d array (an image object of no shape) is refused with the shape rule, before any model loads."""
    with pytest.raises(ValueError, match=r"^<in-memory image 0: array int64 \[\]>: a numpy image is \[H, W\]"):
        genxd.generate(np.array(8), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_fewshot_refuses_bad_values_before_loading(tmp_path, no_model):
    for kwargs, name in [(dict(num_context=4), "num_context"), (dict(n_views=0), "n_views"),
                         (dict(strategy="nearest"), "strategy"), (dict(num_frames=2.5), "num_frames"),
                         (dict(guidance_scale=math.nan), "guidance_scale"), (dict(device="gpu"), "device")]:
        with pytest.raises(ValueError) as info:
            genxd.fewshot(tmp_path, tmp_path / "out", progress=False, **kwargs)
        assert name in str(info.value) and "--" not in str(info.value), info.value


def test_load_model_checks_its_flags_before_loading():
    """``load_model(fast=torch.tensor([1.0, 2.0]))`` failed deep inside with "Boolean value of Tensor with more
    than one value is ambiguous" (found by the api-args fuzz target)."""
    import torch

    for kwargs, name in [(dict(fast=torch.tensor([1.0, 2.0])), "fast"), (dict(fast=1), "fast"),
                         (dict(compile_unet="no"), "compile_unet"), (dict(offload=np.array([1.0])), "offload"),
                         # progress="no" showed the bars (a non-empty string is true), without a word
                         (dict(progress="no"), "progress"), (dict(progress=None), "progress")]:
        with pytest.raises(ValueError) as info:
            genxd.load_model(None, device="cpu", **kwargs)
        assert str(info.value).startswith(name), info.value


def test_load_model_checks_device_and_dtype_before_looking_at_the_model(tmp_path):
    """``load_model(missing, dtype="fp64")`` said "no GenXD checkpoint" (the model was looked at first)."""
    for kwargs, message in [(dict(dtype="fp64"), r"^dtype must be one of auto, fp32"),
                            (dict(device="gpu"), r"^device must be one of")]:
        with pytest.raises(ValueError, match=message):
            genxd.load_model(str(tmp_path / "none"), **kwargs)


def test_python_callers_are_never_told_to_use_command_line_flags(image, tmp_path, monkeypatch):
    """Issue 19 item 5: errors raised to Python users said 'use --overwrite'."""
    from tests.cli.fake_model import fake_loaded

    lm = fake_loaded()
    genxd.generate(image, tmp_path / "out", loaded=lm, progress=False)
    with pytest.raises(FileExistsError) as info:
        genxd.generate(image, tmp_path / "out", loaded=lm, progress=False)
    assert "overwrite=True" in str(info.value) and "--" not in str(info.value)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        from genxd.utils.json_files import write_json_atomic

        write_json_atomic(tmp_path / "out" / "img" / "meta.json", {}, overwrite=False)


def test_num_frames_is_an_integer_not_truncated(image, tmp_path):
    """Issue 18 item 8: num_frames=2.7 silently became 2; an integral float is fine."""
    from tests.cli.fake_model import fake_loaded

    with pytest.raises(ValueError, match="num_frames must be an integer, got 2.7"):
        genxd.generate(image, tmp_path / "o", loaded=fake_loaded(), num_frames=2.7, progress=False)
    folders = genxd.generate(image, tmp_path / "o", loaded=fake_loaded(), num_frames=3.0, progress=False)
    assert json.loads((folders[0] / "meta.json").read_text())["num_frames"] == 3


def test_public_api_has_real_signatures_and_docstrings():
    for fn in (genxd.generate, genxd.fewshot, genxd.generate_scenes, genxd.fewshot_scenes):
        params = inspect.signature(fn).parameters
        assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params.values()), fn.__name__
        assert fn.__doc__ and len(fn.__doc__) > 200, fn.__name__
    gen = inspect.signature(genxd.generate).parameters
    for name in ("camera", "mode", "motion_strength", "num_frames", "resolution", "num_inference_steps",
                 "guidance_scale", "seed", "focal", "elevation", "azimuth_range", "radius", "fit", "batch_size",
                 "device", "dtype", "overwrite", "skip_existing", "progress", "loaded"):
        assert name in gen and name in genxd.generate.__doc__, name  # the old keyword names still work
    assert set(inspect.signature(genxd.generate_scenes).parameters) == {*gen, "summary"}


def test_specs():
    assert v.Int(1, 5).check(3.0, "n") == 3
    for bad in (True, "3", 2.5, math.nan, 0, 6, None):
        assert not v.Int(1, 5).accepts(bad), bad
    assert v.Int(1, 5, optional=True).check(None, "n") is None
    assert v.Float(0, 1, lo_open=True).accepts(1) and not v.Float(0, 1, lo_open=True).accepts(0)
    assert v.MODES.check("MV", "mode") == "3d" and v.DTYPES.check("bfloat16", "dtype") == "bf16"
    assert v.AZIMUTH_RANGE.check("-30:30", "a") == (-30.0, 30.0)
    assert v.AZIMUTH_RANGE.check([0, 90], "a") == (0.0, 90.0)
    assert v.AZIMUTH_RANGE.check(np.array([0.0, 90.0]), "a") == (0.0, 90.0)
    numbers = v.Numbers(v.Float(-1, 1))
    assert numbers.check(np.array([0.5, -0.5]), "x") == [0.5, -0.5]
    with pytest.raises(v.InvalidValue, match="^x must be numbers"):
        numbers.check(np.array(0.5), "x")  # a 0-d array: TypeError from list() before
    assert v.DEVICE.check("CPU", "device") == "cpu" and v.DEVICE.check("cpu:0", "device") == "cpu:0"
    for bad in ("gpu", "cuda:x", "", 0):
        assert not v.DEVICE.accepts(bad), bad
    assert v.Size().check("320x240", "r") == "320x240" and not v.Size().accepts("0")
    assert not v.Size().accepts("100000") and not v.Size().accepts("12.5")
    assert v.Numbers(v.Float(-1, 1)).check(["0.2,0.4", "-0.2"], "s") == [0.2, 0.4, -0.2]
    assert not v.Numbers(v.Float(-1, 1)).accepts(["nan"])
    assert v.Colour().check("white", "c") == (1.0, 1.0, 1.0) and not v.Colour().accepts("1,2,3")
    with pytest.raises(v.InvalidValue, match=r"^--frames must be an integer in 2\.\.10000, got 0"):
        with v.cli_style():
            v.check(0, v.NUM_FRAMES, "num_frames")
    assert v.arg("num_inference_steps") == "num_inference_steps"
    with v.cli_style():
        assert v.arg("num_inference_steps") == "--steps" and v.arg("skip_existing") == "--skip-existing"


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Loaded):
            fn()
    return [str(w.message) for w in caught if issubclass(w.category, v.GenXDWarning)]


def test_warnings_outside_what_the_bundled_model_was_trained_on(image, tmp_path, no_model):
    """Issue 19 item 2: --resolution 128, --frames 12 or a 24-camera file ran silently on the bundled model."""
    if api.default_model_path() is None:
        pytest.skip("no bundled model")
    info = api.model_info(None)
    assert info.trained["resolution"] == (64, 64) and info.trained["num_frames"] == (8, 8)
    msgs = _caught(lambda: genxd.generate(image, tmp_path / "o", resolution=128, progress=False))
    assert len(msgs) == 1 and "resolution 128" in msgs[0] and "64" in msgs[0]
    # longer paths than the window are made window by window (issue 22: genxd.pipelines.long_paths), so a
    # frame count past the trained 8 is no longer a warning: the model sees 8 frames at a time (12 frames: 2 windows
    # of 8); 16 frames of the orbit are made in windows of 7, 7 and 8 frames, and the two of 7 are warned
    assert _caught(lambda: genxd.generate(image, tmp_path / "o", num_frames=12, progress=False)) == []
    assert _caught(lambda: genxd.generate(image, tmp_path / "o", num_frames=16, progress=False)) == [
        "2 of the plan's 3 windows have fewer frames than the window of 8 (down to 7): outside what the bundled model "
        "was trained on (frame counts of 8); results may be poor in their frames"]
    msgs = _caught(lambda: genxd.generate(image, tmp_path / "o", mode="4d", motion_strength=30, progress=False))
    assert len(msgs) == 1 and "motion_strength 30" in msgs[0] and "0-21.4" in msgs[0]
    assert _caught(lambda: genxd.generate(image, tmp_path / "o", mode="4d", motion_strength=8, progress=False)) == []
    msgs = _caught(lambda: genxd.generate(image, tmp_path / "o", motion_strength=5, progress=False))
    assert len(msgs) == 1 and "3d mode" in msgs[0]
    from genxd.cameras import formats, orbit

    cams = tmp_path / "cams.json"
    c2w, K = orbit(num_frames=20)  # made in 3 windows of 8 (24 cameras: 5 windows, two of 7 frames, warned)
    formats.save_camera_json(cams, c2w, K, 64, 64)
    assert _caught(lambda: genxd.generate(image, tmp_path / "o", camera=str(cams), progress=False)) == []
    msgs = _caught(lambda: genxd.generate(image, tmp_path / "o", camera=str(cams), num_frames=12, progress=False))
    assert len(msgs) == 1 and "num_frames 12 is not used" in msgs[0] and "20 cameras" in msgs[0]
    assert not (tmp_path / "o").exists()


def test_folders_without_a_generation_config_use_the_released_ranges(tmp_path):
    for part in ("unet", "vae", "scheduler"):
        (tmp_path / part).mkdir()
    for part in ("unet", "vae"):
        (tmp_path / part / "config.json").write_text(json.dumps({"block_out_channels": [1, 2, 3, 4]}))
    info = api.model_info(tmp_path)
    assert info.trained == api.RELEASED_TRAINED and info.defaults["resolution"] == 256
    assert info.latent_multiple == 64
    (tmp_path / "generation_config.json").write_text(json.dumps({"resolution": 128, "num_frames": 16}))
    info = api.model_info(tmp_path)
    assert info.trained["resolution"] == (128, 128) and info.trained["num_frames"] == (16, 16)
    (tmp_path / "generation_config.json").write_text("{broken")
    with pytest.raises(ValueError, match="generation_config.json"):
        api.model_info(tmp_path)


def test_motion_strength_scale_is_one_definition():
    from genxd.data.datasets import DEFAULT_MOTION_SCALE
    from genxd.evaluation import DEFAULT_EVAL_MOTION

    assert DEFAULT_MOTION_SCALE is v.DEFAULT_MOTION_SCALE  # defined once, in genxd.validation
    bundled = api.model_info(None) if api.default_model_path() else None
    if bundled is not None:
        lo, hi = bundled.trained["motion_strength"]
        assert lo <= DEFAULT_EVAL_MOTION <= hi  # the evaluation's "high" motion is one the model knows
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for line in readme.splitlines():
        if "--motion-strength" in line and "genxd generate" in line:
            value = float(line.split("--motion-strength")[1].split()[0])
            assert v.MOTION_STRENGTH.accepts(value)


def test_a_missing_few_shot_split_names_the_setting_as_the_caller_writes_it():
    """``fewshot_scenes(n_views=8)`` on scenes with splits 3, 6, 9 said only "scene 'x' has no
    train_test_split_8" (found by the api-args fuzz target): the message now starts with the setting."""
    from types import SimpleNamespace

    from genxd.fewshot import build_fewshot_groups
    from genxd.validation import cli_style

    scenes = {"x": SimpleNamespace(splits={3: ([0, 1, 2], [3]), 9: ([0], [1])})}
    args = dict(strategy="direct", pose_dir=None, num_context=3, num_frames=8, resolution=64, pad_to_square=False)
    with pytest.raises(ValueError, match=r"^n_views=8: scene 'x' has no train_test_split_8 \(has: 3, 9\)$"):
        build_fewshot_groups(scenes, n_views=8, **args)
    with cli_style(), pytest.raises(ValueError, match=r"^--n-views 8: scene 'x' has no train_test_split_8"):
        build_fewshot_groups(scenes, n_views=8, **args)
    with pytest.raises(ValueError, match=r"split 9 has 1 training views, num_context=3 needs 3$"):
        build_fewshot_groups(scenes, n_views=9, **args)
    grouped = {**args, "strategy": "grouped"}  # said --pose-dir to Python callers (caller-wording audit)
    with pytest.raises(ValueError, match=r"^the grouped strategy needs pose_dir \("):
        build_fewshot_groups(scenes, n_views=3, **grouped)
    with cli_style(), pytest.raises(ValueError, match=r"^the grouped strategy needs --pose-dir \("):
        build_fewshot_groups(scenes, n_views=3, **grouped)


def test_the_pose_folder_inside_trajectory_fits_out_is_named_as_the_caller_writes_it(tmp_path):
    """The grouped strategy's "fitted poses not found" named the folder to give as "pose_dir /x/re10k" to Python
    callers (a flag's spelling with a space); now ``pose_dir='/x/re10k'``, and ``--pose-dir /x/re10k`` on the command
    line as before."""
    from types import SimpleNamespace

    from genxd.data.synthetic import orbit_cameras
    from genxd.fewshot import build_fewshot_groups
    from genxd.validation import cli_style

    c2w, K = orbit_cameras(4, radius=3.0, elevation_deg=20.0, azimuth_range_deg=90.0, focal=1.0)
    scene = SimpleNamespace(key="x", splits={3: ([0, 1, 2], [3])}, c2w=c2w, K=K, images=torch.rand(4, 3, 8, 8))
    fitted = tmp_path / "poses" / "re10k" / "x" / "gen_poses_w2c.json"
    fitted.parent.mkdir(parents=True)
    fitted.write_text("[]")
    args = dict(strategy="grouped", pose_dir=tmp_path / "poses", n_views=3, num_context=3, num_frames=8,
                resolution=8, pad_to_square=False)
    with pytest.raises(FileNotFoundError, match=re.escape(f"named after the data folder: pose_dir={str(fitted.parents[1])!r}") + "$"):
        build_fewshot_groups({"x": scene}, **args)
    with cli_style(), pytest.raises(FileNotFoundError, match=re.escape(f"named after the data folder: --pose-dir {fitted.parents[1]}") + "$"):
        build_fewshot_groups({"x": scene}, **args)


@pytest.mark.parametrize("model", ["", "  "])
def test_an_empty_model_path_is_refused_not_read_as_the_current_folder(model, tmp_path):
    """``load_model('')`` said ". is not a GenXD checkpoint folder" (``Path('')`` is the current folder; found by
    the api-args fuzz target, seed 8): the empty argument is named instead, before anything is read."""
    with pytest.raises(ValueError, match=rf"^model is empty \({model!r}\): pass a checkpoint folder or a hub id, or "
                                         r"None for the bundled model$"):
        genxd.load_model(model)
    with pytest.raises(ValueError, match=r"^model is empty"):
        genxd.generate_scenes([Path(__file__).parents[1] / "examples" / "scene_a.png"], tmp_path / "out", model=model, progress=False)


def test_warnings_point_at_the_callers_line_not_genxds(tmp_path, monkeypatch):
    """A GenXDWarning of genxd.generate was attributed to genxd/api.py (a notebook showed genxd's source line);
    it belongs to the line that called genxd (found by the Python API audit)."""
    import inspect
    import warnings

    from genxd.validation import GenXDWarning

    from .cli.fake_model import use_fake_model

    use_fake_model(monkeypatch)
    image = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        genxd.generate(image, tmp_path / "out", motion_strength=3, progress=False)
    ours = [w for w in caught if issubclass(w.category, GenXDWarning)]
    where = [(w.filename, w.lineno) for w in ours]
    assert ours and all(place == (__file__, line) for place in where), where


@pytest.mark.parametrize("kwargs, message", [
    (dict(out_dir=""), r"^out_dir is empty \(''\): pass a folder path$"),
    (dict(images=""), r"^images holds an empty path \(''\): pass image files or folders$"),
    (dict(images=["IMG", " "]), r"^images holds an empty path \(' '\)"),
    (dict(camera=""), r"^camera is empty \(''\): pass a preset name, a camera file path or a CameraPath$"),
    (dict(camera_from_video=""), r"^camera_from_video is empty"),
    (dict(summary=""), r"^summary is empty"),
    (dict(loaded="x"), r"^loaded must be a model from genxd.load_model\(\.\.\.\), got 'x' \(str\)$"),
])
def test_empty_paths_and_wrong_loaded_models_are_refused_before_anything_runs(kwargs, message, tmp_path, monkeypatch):
    """An empty string meant the current folder (out_dir="" wrote into it, images="" took every image there) and
    loaded= took anything (found by the Python API audit); the command line refused empty paths already."""
    monkeypatch.chdir(tmp_path)
    image = str(Path(__file__).resolve().parents[1] / "examples" / "scene_a.png")
    args = {"images": image, "out_dir": "out", **kwargs}
    if isinstance(args["images"], list):
        args["images"] = [image if i == "IMG" else i for i in args["images"]]
    with pytest.raises(ValueError, match=message):
        genxd.generate_scenes(**args, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_home_relative_out_dir_and_a_camera_path_object(tmp_path, monkeypatch):
    """out_dir="~/x" made a folder named '~' in the working folder and failed after sampling; a CameraPath object
    as camera= was refused with its repr (every matrix) in the message (found by the Python API audit)."""
    from genxd.cameras import read_camera_path

    from .cli.fake_model import use_fake_model

    use_fake_model(monkeypatch)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    image = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    written = genxd.generate(image, "~/out", progress=False)
    assert written == [tmp_path / "home" / "out" / "scene_a"] and not (tmp_path / "~").exists()
    path = read_camera_path(written[0])
    again = genxd.generate(image, tmp_path / "again", camera=path, progress=False)
    meta = json.loads((again[0] / "meta.json").read_text())
    assert meta["camera"] == f"<CameraPath of {len(path.c2w)} cameras>"
    assert json.loads((again[0] / "cameras.json").read_text()) == json.loads((written[0] / "cameras.json").read_text())


def test_model_and_loaded_together_are_refused_and_hints_speak_python(tmp_path):
    from genxd.checkpoints import LoadedModel

    loaded = LoadedModel(pipe=object(), path=Path("somewhere"), defaults={}, bundled=False)
    with pytest.raises(ValueError, match=r"^give model or loaded, not both \(loaded is the model already loaded from "
                                         r"somewhere\)$"):
        genxd.generate("x.png", tmp_path / "out", model=str(tmp_path), loaded=loaded, progress=False)
    with pytest.raises(FileNotFoundError, match=r"then pass model='./genxd-model'\)$"):
        genxd.load_model(str(tmp_path / "none"))


def test_video_mode_says_the_frames_do_not_follow_the_camera(tmp_path, monkeypatch):
    """mode="video" gives the model zero camera rays (the authors' video mode), yet cameras.json and meta.json
    recorded the asked path as if the frames followed it, without a word (found by the Python API audit)."""
    import warnings

    from genxd.validation import GenXDWarning

    from .cli.fake_model import use_fake_model

    use_fake_model(monkeypatch)
    image = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = genxd.generate(image, tmp_path / "v", mode="video", camera="forward", progress=False)
    assert any(issubclass(w.category, GenXDWarning) and "mode video gives the model no cameras: the frames do not "
               "follow the camera path (forward)" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert json.loads((out[0] / "meta.json").read_text())["cameras_followed"] is False
    out = genxd.generate(image, tmp_path / "d", mode="4d", camera="forward", progress=False)
    assert json.loads((out[0] / "meta.json").read_text())["cameras_followed"] is True


def test_preset_arguments_that_do_nothing_are_warned_about(tmp_path, monkeypatch):
    """camera="dolly", radius=3 (dolly takes no radius) and elevation next to a camera file were dropped without
    a word (found by the Python API audit)."""
    import warnings

    from genxd.validation import GenXDWarning

    from .cli.fake_model import use_fake_model

    use_fake_model(monkeypatch)
    image = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"

    def warned(**kwargs) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            genxd.generate(image, tmp_path / str(len(list(tmp_path.iterdir()))), progress=False, **kwargs)
        return [str(w.message) for w in caught
                if issubclass(w.category, GenXDWarning) and "is not used" in str(w.message)]

    assert warned(camera="dolly", radius=3.0) == ["radius is not used by the dolly preset (it takes focal)"]
    assert warned(camera="orbit", radius=3.0, elevation=10.0) == []
    first = tmp_path / "0" / "scene_a"
    assert warned(camera=str(first), elevation=10.0) == [
        f"elevation is not used: the camera path {first} sets the cameras"]


@pytest.mark.parametrize("kwargs, name", [
    ({"seed": "1"}, "seed"), ({"num_frames": "8"}, "num_frames"), ({"mode": 3}, "mode"), ({"device": 5}, "device"),
    ({"overwrite": None}, "overwrite"), ({"camera": 5}, "camera"), ({"model": 5}, "model"),
    ({"azimuth_range": 5}, "azimuth_range"), ({"loaded": "x"}, "loaded"), ({"images": 5}, "images"),
    ({"images": [None]}, "images"), ({"out_dir": None}, "out_dir"),
])
def test_a_value_of_the_wrong_type_is_a_type_error(no_model, image, tmp_path, kwargs, name):
    """Python's convention for a wrong type: they were ValueErrors only (still ValueErrors, as every refusal)."""
    args = {"images": str(image), "out_dir": tmp_path / "out", **kwargs}
    with pytest.raises(TypeError, match=f"^{name}") as raised:
        genxd.generate(args.pop("images"), args.pop("out_dir"), progress=False, **args)
    assert isinstance(raised.value, v.InvalidValue)


def test_a_value_of_the_right_type_stays_a_value_error(no_model, image, tmp_path):
    for kwargs in ({"seed": -1}, {"mode": "5d"}, {"num_frames": 2.5}, {"device": "gpu"}):
        with pytest.raises(ValueError) as raised:
            genxd.generate(str(image), tmp_path / "out", progress=False, **kwargs)
        assert not isinstance(raised.value, TypeError), kwargs


def test_a_whole_number_in_a_list_is_shown_as_written():
    """``--n-views 0`` said "must be an integer in 1..10000, got 0.0": each item was read as a float first."""
    from genxd.validation import N_VIEWS, InvalidValue, Numbers

    N_VIEWS_LIST = Numbers(N_VIEWS)  # as genxd fewshot-data --n-views checks it
    with pytest.raises(InvalidValue, match=r"got 0$"):
        N_VIEWS_LIST.check("3,0", "--n-views")
    with pytest.raises(InvalidValue, match=r"must be an integer, got 2\.5$"):
        N_VIEWS_LIST.check("2.5", "--n-views")
    assert N_VIEWS_LIST.check("3, 6 9", "--n-views") == [3, 6, 9]
