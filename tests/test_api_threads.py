"""genxd.generate from several threads with one loaded model (a notebook's background jobs, a small web service):
the calls take turns on the model (``LoadedModel.lock``). Before, the diffusers scheduler's step index and the
sampling settings were shared by the calls in flight, and two threads both failed ("index 4 is out of bounds for
dimension 0 with size 4", 4 of 4 tries; found by the Python API audit, 2026-12-04)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

import genxd
from genxd.checkpoints import LoadedModel


@pytest.fixture(scope="module")
def loaded() -> LoadedModel:
    """The bundled model, loaded once for both tests (each loaded it, about 1 s): shared, as these calls share it."""
    return genxd.load_model(None, device="cpu")


def test_two_threads_sharing_a_loaded_model_both_succeed_with_the_frames_of_one_call(tmp_path, loaded):
    image = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    errors: list[BaseException] = []

    def job(name: str, steps: int) -> None:
        try:
            genxd.generate(image, tmp_path / name, num_inference_steps=steps, resolution=32, progress=False,
                           loaded=loaded)  # 32: a quarter of the default 64 pixels; the same sampling code
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(f"t{i}", steps)) for i, steps in enumerate((3, 2, 3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    job("alone", 3)
    frames = {name: [np.asarray(PIL.Image.open(tmp_path / name / "scene_a" / "frames" / f"{i:03d}.png"))
                     for i in range(8)] for name in ("t0", "t2", "alone")}
    for name in ("t0", "t2"):  # the same frames as a call on its own (settings of the other calls did not leak in)
        assert all(np.array_equal(a, b) for a, b in zip(frames[name], frames["alone"])), name


def test_a_call_reads_its_inputs_while_another_call_holds_the_model(tmp_path, monkeypatch, loaded):
    """Decoding the inputs needs no model: a call waiting for the model's lock has its images read (and a bad one
    reported) by the time the model is free, instead of starting to read them then."""
    import genxd.api

    image = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
    read = threading.Event()
    real_load_image = genxd.api.load_image_uint8_sized

    def load_image(*args, **kwargs):
        read.set()
        return real_load_image(*args, **kwargs)

    monkeypatch.setattr(genxd.api, "load_image_uint8_sized", load_image)
    errors: list[BaseException] = []

    def job() -> None:
        try:
            genxd.generate(image, tmp_path / "out", num_inference_steps=1, resolution=32, progress=False, loaded=loaded)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with loaded.lock:  # another call's sampling
        thread = threading.Thread(target=job)
        thread.start()
        assert read.wait(timeout=120), "the input was not read while the model was busy"
    thread.join(timeout=600)
    assert not errors, errors
    assert (tmp_path / "out" / "scene_a" / "frames" / "000.png").is_file()
