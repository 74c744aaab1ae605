"""What a genxd.generate job does with the model: none loaded when nothing is left to sample, and a loaded model
handed in (``loaded=``) left as the caller had it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import another_task_writes_meanwhile


@pytest.fixture(scope="module")
def bundled():
    """The bundled model, loaded once for this file's tests that sample with it (they loaded it four times, about 1 s
    each; a loaded model serves job after job, as a notebook's does)."""
    import genxd.api as api

    if api.default_model_path() is None:
        pytest.skip("no bundled model")
    return api.load_model(None, "cpu")


def test_no_model_is_loaded_when_every_input_fails(tmp_path, monkeypatch):
    """Every input failing to decode (or, on a long path, every scene's kept windows refused) loaded the model
    anyway, tens of seconds for the released one, to sample nothing (noted by the long-path audit)."""
    import genxd.api as api

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    loads = []
    monkeypatch.setattr(api, "load_model", lambda *args, **kwargs: loads.append(args) or 1 / 0)
    results = api.generate_scenes(bad, tmp_path / "out", progress=False)
    assert [r.status for r in results] == ["failed"] and "bad.png" in results[0].error
    assert loads == []


def test_a_loaded_model_keeps_the_callers_sampler_and_bars_after_a_job(tmp_path, bundled):
    """generate(..., loaded=lm, progress=False) left lm.pipe's progress bars off and its sampler the job's, for
    the caller's next direct use of lm.pipe (noted by the API audit)."""
    import numpy as np
    import PIL.Image

    import genxd.api as api

    image = tmp_path / "scene.png"
    PIL.Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(image)
    lm = bundled
    lm.pipe.set_progress_bar_config(desc="mine")
    scheduler = lm.pipe.scheduler
    results = api.generate_scenes(image, tmp_path / "out", loaded=lm, progress=False, num_inference_steps=1,
                                  scheduler="dpmpp-2m")
    assert [r.status for r in results] == ["written"]
    assert lm.pipe._progress_bar_config == {"desc": "mine"} and lm.pipe.scheduler is scheduler


def test_skip_existing_keeps_what_another_run_writes_meanwhile(tmp_path, monkeypatch):
    """Two tasks of a job array running the same ``genxd generate ... --skip-existing`` into one folder: a scene the
    other task wrote while this one sampled it was recorded as failed ("written by another run while this one
    worked"), and a scene it wrote before this one got to it was sampled again; both tasks exited 2 with every
    scene written. --skip-existing now keeps both (status skipped), and samples only the scenes still missing."""
    import numpy as np
    import PIL.Image

    import genxd.api as api

    if api.default_model_path() is None:
        pytest.skip("no bundled model")
    for name in ("a", "b", "c"):
        PIL.Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(tmp_path / f"{name}.png")
    out = tmp_path / "out"
    written = another_task_writes_meanwhile(monkeypatch, api, out, "a", "b")  # a while this one sampled it, then b
    results = api.generate_scenes([tmp_path / f"{n}.png" for n in "abc"], out, progress=False, num_frames=2,
                                  num_inference_steps=1, resolution=32, skip_existing=True)
    assert [(Path(r.output).name, r.status) for r in sorted(results, key=lambda r: r.index)] == [
        ("a", "skipped"), ("b", "skipped"), ("c", "written")]
    assert written == ["a", "c"]  # b was not sampled again
    assert (out / "a" / "meta.json").read_text() == "{}" and (out / "b" / "meta.json").read_text() == "{}"


def test_a_motion_strength_in_3d_mode_is_recorded_as_the_value_used(tmp_path, bundled):
    """3d mode does not use the motion strength (a warning says so), yet genxd generate's meta.json recorded the
    value given (3.0 for a static scene), where the demo's records 0, the value used: later readers took the
    scene for one made with motion. Now 0, as the demo; the frames are those of motion strength 0."""
    import json
    import warnings

    import numpy as np
    import PIL.Image

    import genxd.api as api

    image = tmp_path / "scene.png"
    PIL.Image.fromarray(np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3)).save(image)
    lm = bundled
    frames = {}
    for strength in (3.0, 0.0):
        out = tmp_path / f"out{strength:g}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "not used in 3d mode", two frames outside the trained eight
            api.generate(image, out, loaded=lm, mode="3d", motion_strength=strength, num_frames=2,
                         num_inference_steps=1, progress=False)
        assert json.loads((out / "scene" / "meta.json").read_text())["motion_strength"] == 0.0
        frames[strength] = [np.asarray(PIL.Image.open(p)) for p in sorted((out / "scene" / "frames").glob("*.png"))]
    assert all((a == b).all() for a, b in zip(frames[3.0], frames[0.0]))


def test_reading_many_inputs_shows_progress_before_the_model_loads(tmp_path, monkeypatch, capsys):
    """A folder of 2,000 photos was decoded before the model loaded with no line at all (the scenes' bar stood at
    0 for minutes: 200 12-megapixel PNGs took 62 s); reading them has a bar of its own."""
    import PIL.Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(3):
        PIL.Image.new("RGB", (40, 30), (60 * n, 90, 200)).save(folder / f"{n}.png")

    import genxd.api as api

    class Stop(Exception):
        pass

    def no_model(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(api, "load_model", no_model)
    with pytest.raises(Stop):
        api.generate_scenes(folder, tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "reading images:" in err and "0/3" in err, err


def test_ctrl_c_while_reading_inputs_closes_the_bars(tmp_path, monkeypatch, capsys):
    """A Ctrl-C while the inputs were read left the 'reading images' bar (and the scenes' bar above it) open: the
    'genxd: interrupted' line was written over them (found by review). Both are closed as the interrupt passes."""
    import PIL.Image

    import genxd.api as api

    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(3):
        PIL.Image.new("RGB", (40, 30), (60 * n, 90, 200)).save(folder / f"{n}.png")
    bars, read = [], []
    progress_bar = api.progress_bar

    def kept_bar(*args, **kwargs):
        bars.append(progress_bar(*args, **kwargs))
        bars[-1].drawn = not bars[-1].disable
        return bars[-1]

    def ctrl_c_at_the_second(*args, **kwargs):
        read.append(args[0])
        if len(read) == 2:
            raise KeyboardInterrupt
        return load_image_uint8_sized(*args, **kwargs)

    load_image_uint8_sized = api.load_image_uint8_sized
    monkeypatch.setattr(api, "progress_bar", kept_bar)
    monkeypatch.setattr(api, "load_image_uint8_sized", ctrl_c_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        api.generate_scenes(folder, tmp_path / "out", progress=True)
    assert [b.desc for b in bars] == ["scenes", "reading images"] and all(b.drawn for b in bars)
    assert [b for b in bars if b in type(b)._instances] == []  # tqdm forgets a bar once closed


@pytest.mark.parametrize("num_frames", [None, 20])
def test_ctrl_c_while_sampling_closes_the_bars(tmp_path, monkeypatch, num_frames, bundled):
    """A Ctrl-C while a scene was sampled left the scenes' bar and a long path's windows bar open (genxd:
    interrupted was written over them). Every bar is closed as the interrupt passes (num_frames 20: a long path)."""
    import PIL.Image

    import genxd.api as api
    import genxd.pipelines.long_paths as long_paths

    for n in range(2):
        PIL.Image.new("RGB", (40, 30), (60 * n, 90, 200)).save(tmp_path / f"{n}.png")
    bars = []
    progress_bar = api.progress_bar

    def kept_bar(*args, **kwargs):
        bars.append(progress_bar(*args, **kwargs))
        return bars[-1]

    def ctrl_c(*args, **kwargs):
        if kwargs.get("progress") is not None:
            bars.append(kwargs["progress"])
        raise KeyboardInterrupt

    lm = bundled
    monkeypatch.setattr(api, "progress_bar", kept_bar)
    monkeypatch.setattr(type(lm.pipe), "__call__", ctrl_c)
    monkeypatch.setattr(long_paths, "generate_long", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        api.generate_scenes([tmp_path / "0.png", tmp_path / "1.png"], tmp_path / "out", loaded=lm, progress=True,
                            num_inference_steps=1, num_frames=num_frames)
    assert len(bars) == (3 if num_frames else 2), bars  # scenes, reading images (and the long path's)
    assert [b for b in bars if b in type(b)._instances] == []  # tqdm forgets a bar once closed


def test_the_inputs_are_held_as_8_bits_until_sampled(tmp_path, monkeypatch):
    """Every input is decoded before the model loads and held until its scene is sampled: as float32, 2,000 inputs
    took 1.5 GB at 256x256 and 6.3 GB at 512x512. Held as uint8: a quarter (the floats are made per scene)."""
    import gc

    import PIL.Image
    import torch

    import genxd.api as api

    folder, n, res = tmp_path / "photos", 12, 80  # a resolution no other test's tensors have
    folder.mkdir()
    for k in range(n):
        PIL.Image.new("RGB", (90, 80), (20 * k, 90, 200)).save(folder / f"{k}.png")

    class Stop(Exception):
        pass

    held: list[int] = []

    def count_then_stop(*args, **kwargs):  # every input is decoded and held by now
        gc.collect()
        held.append(sum(t.numel() * t.element_size() for t in gc.get_objects()
                        if isinstance(t, torch.Tensor) and tuple(t.shape) == (3, res, res)))
        raise Stop

    monkeypatch.setattr(api, "load_model", count_then_stop)
    with pytest.raises(Stop):
        api.generate_scenes(folder, tmp_path / "out", resolution=res, progress=False)
    assert n * 3 * res * res <= held[0] <= n * 3 * res * res, held  # one byte a value (float32: 4)


def _loaded_on(device: str, dtype):
    """A :class:`LoadedModel` whose pipeline runs on ``device`` in ``dtype`` (a stand-in: nothing is loaded)."""
    from types import SimpleNamespace

    import torch

    from genxd.checkpoints import LoadedModel

    pipe = SimpleNamespace(_execution_device=torch.device(device), unet=SimpleNamespace(dtype=dtype))
    return LoadedModel(pipe=pipe, path=Path("somewhere"), defaults={}, bundled=False)


@pytest.mark.parametrize("fn", ["generate", "fewshot"])
def test_a_precision_or_device_other_than_the_loaded_models_is_refused(tmp_path, fn):
    """``generate(..., loaded=lm, dtype="bf16")`` with ``lm`` loaded in float32 ran in float32 without a word (as
    ``model`` beside ``loaded`` did): the loaded model runs as it was loaded."""
    import torch

    import genxd

    lm = _loaded_on("cpu", torch.float32)
    call = getattr(genxd, fn)
    first = "x.png" if fn == "generate" else str(tmp_path)
    with pytest.raises(ValueError, match=r"^dtype bf16 is not the precision of loaded \(float32\): a loaded model "
                                         r"runs as it was loaded; leave dtype out, or load it with "
                                         r"genxd\.load_model\(\.\.\., dtype=\.\.\.\)$"):
        call(first, tmp_path / "out", loaded=lm, dtype="bf16", progress=False)
    with pytest.raises(ValueError, match=r"^dtype torch\.float16 is not the precision of loaded \(float32\)"):
        call(first, tmp_path / "out", loaded=lm, dtype=torch.float16, progress=False)
    with pytest.raises(ValueError, match=r"^device cpu is not the device of loaded \(cuda:0\): a loaded model runs "
                                         r"where it was loaded; leave device out, or load it with "
                                         r"genxd\.load_model\(\.\.\., device=\.\.\.\)$"):
        _check_settings(_loaded_on("cuda:0", torch.float32), device="cpu")  # no GPU needed: nothing runs


def _check_settings(lm, device=None, dtype=None):
    from genxd.job_setup import check_run_settings

    return check_run_settings(None, lm, "none", device, None, dtype)


@pytest.mark.parametrize("device, dtype", [(None, None), ("auto", "auto"), ("cpu", "fp32"), ("cpu:0", "torch")])
def test_the_loaded_models_own_precision_and_device_may_be_named(device, dtype):
    import torch

    lm = _loaded_on("cpu", torch.float32)
    assert _check_settings(lm, device, torch.float32 if dtype == "torch" else dtype)[1] == device


@pytest.mark.parametrize("fn", ["generate", "fewshot"])
@pytest.mark.parametrize("setting, says", [(dict(offload="model"), "offload='model'"),
                                           (dict(compile_unet=True), "compile_unet=True")])
def test_load_settings_beside_a_loaded_model_are_refused(tmp_path, fn, setting, says):
    """``offload`` and ``compile_unet`` act while a model loads: beside ``loaded`` they were ignored without a word
    (``offload="model"`` on a CPU, refused without ``loaded``, ran)."""
    import torch

    import genxd

    name = next(iter(setting))
    first = "x.png" if fn == "generate" else str(tmp_path)
    with pytest.raises(ValueError, match=rf"^{re.escape(says)} takes effect while a model loads, and loaded is loaded "
                                         rf"already: pass it to genxd\.load_model\(\.\.\., {name}=\.\.\.\) instead$"):
        getattr(genxd, fn)(first, tmp_path / "out", loaded=_loaded_on("cpu", torch.float32), progress=False,
                           **setting)
