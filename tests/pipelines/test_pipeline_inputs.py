"""GenXDPipeline's context_images in the forms a notebook has: PIL, numpy (channels last, as genxd.generate takes
them), torch (channels first, floats or uint8); anything else refused naming the accepted forms."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from genxd.cameras import orbit
from genxd.pipelines import GenXDPipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


@pytest.fixture(scope="module")
def photo() -> PIL.Image.Image:
    return PIL.Image.open(EXAMPLE).convert("RGB").resize((64, 64))


def _latents(pipe, images) -> torch.Tensor:
    c2w, K = orbit(num_frames=3)
    return pipe(images, c2w, K, num_inference_steps=1, guidance_scale=1.0, output_type="latent",
                generator=torch.Generator().manual_seed(0)).frames


def test_numpy_images_are_channels_last_as_genxd_generate_takes_them(pipe, photo):
    """np.asarray(pil_image) is [H, W, 3] uint8: it was read as channels first and refused ('must be
    [B, V, 3, H, W], got shape (1, 1, 64, 64, 3)'), as was the same array in floats."""
    expected = _latents(pipe, photo)
    array = np.asarray(photo)
    torch.testing.assert_close(_latents(pipe, array), expected, atol=0, rtol=0)
    torch.testing.assert_close(_latents(pipe, array / 255.0), expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(_latents(pipe, [array]), expected, atol=0, rtol=0)  # a list of views
    torch.testing.assert_close(_latents(pipe, array[None, None]), expected, atol=0, rtol=0)  # [B, V, H, W, 3]
    assert array.flags.writeable is False  # PIL's read-only buffer, left as it was


def test_uint8_tensors_are_0_to_255(pipe, photo):
    """A uint8 tensor [3, H, W] (torchvision's read_image gives one) was refused: 'must be in [0, 1], got [7, 179]'."""
    chw = torch.from_numpy(np.array(photo)).permute(2, 0, 1)
    torch.testing.assert_close(_latents(pipe, chw), _latents(pipe, chw.float() / 255), atol=0, rtol=0)


@pytest.mark.parametrize("images, error, match", [
    (str(EXAMPLE), TypeError, "not a path.*PIL.Image.open"),  # was ValueError "must be a tensor, ..."
    (EXAMPLE, TypeError, "not a path"),
    ({"a": 1}, TypeError, "must be a torch tensor .* got dict"),
    (["a.png"], TypeError, "got a list of str"),  # was torch's "Could not infer dtype of str"
    (np.zeros((3, 64, 64), np.uint8), ValueError, "channels last.*got shape \\(3, 64, 64\\)"),
    (np.zeros((64, 64, 3), np.int64), ValueError, "uint8 or floats"),
])
def test_other_forms_are_refused_naming_the_accepted_ones(pipe, images, error, match):
    c2w, K = orbit(num_frames=3)
    with pytest.raises(error, match=match):
        pipe(images, c2w, K, num_inference_steps=1, output_type="latent")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"guidance_scale": float("nan")}, ValueError, "^guidance_scale must be a finite number >= 1, got nan"),  # ran unguided
    ({"guidance_scale": "3"}, TypeError, "^guidance_scale must be a number"),  # '<' not supported between ...
    ({"num_inference_steps": 2.5}, ValueError, "^num_inference_steps must be an integer, got 2.5"),
    ({"num_inference_steps": "2"}, TypeError, "^num_inference_steps must be an integer"),
    ({"generator": [torch.Generator(), torch.Generator()]}, ValueError, "2 generators for a batch of 1"),  # one ignored
])
def test_sampling_settings_are_checked_in_one_line(pipe, photo, kwargs, error, match):
    c2w, K = orbit(num_frames=3)
    with pytest.raises(error, match=match):
        pipe(photo, c2w, K, **{"num_inference_steps": 1, **kwargs}, output_type="latent")


def test_call_documents_every_parameter():
    # height, width, return_dict and callback_on_step_end_tensor_inputs were not in help(GenXDPipeline.__call__),
    # though height / width other than the context images' size are a ValueError
    doc = inspect.getdoc(GenXDPipeline.__call__) or ""
    params = [p for p in inspect.signature(GenXDPipeline.__call__).parameters if p != "self"]
    assert [p for p in params if not re.search(rf"\b{p}\b", doc)] == []
    assert re.search(r"height / width:.*ValueError", doc, re.S)


def _replacing_latents(value):
    return lambda pipe, step, t, tensors: {"latents": value}


@pytest.mark.parametrize("kwargs, error, match", [
    # each failed deep in the loop: "'int' object has no attribute 'pop'", "pop expected at most 1 argument",
    # torch's broadcast error, "unsupported operand type(s) for *", "'int' object is not callable"
    ({"callback_on_step_end": lambda *a: 3}, TypeError, r"^callback_on_step_end must return a dict \(or None\), got int at step 0"),
    ({"callback_on_step_end": lambda *a: [1]}, TypeError, "^callback_on_step_end must return a dict.*got list"),
    ({"callback_on_step_end": _replacing_latents(torch.zeros(2))}, ValueError,
     r"^callback_on_step_end returned latents of shape \(2,\) at step 0; expected \(1, 3, 4, 8, 8\)"),
    ({"callback_on_step_end": _replacing_latents(None)}, TypeError, "^callback_on_step_end returned latents of type NoneType"),
    ({"callback_on_step_end": _replacing_latents(np.zeros((1, 3, 4, 8, 8)))}, TypeError, "of type ndarray"),
    ({"callback_on_step_end": _replacing_latents(torch.full((1, 3, 4, 8, 8), float("nan")))}, ValueError,
     "not finite floats"),
    ({"callback_on_step_end": 3}, TypeError, "^callback_on_step_end must be a function"),
    # a name given as a string was read letter by letter: "got ['a', 'e', 'l', 'n', 's', 't']"
    ({"callback_on_step_end": lambda *a: None, "callback_on_step_end_tensor_inputs": "noise"}, ValueError,
     r"^callback_on_step_end_tensor_inputs may only name \['latents'\], got \['noise'\]"),
])
def test_callbacks_are_checked_in_one_line(pipe, photo, kwargs, error, match):
    c2w, K = orbit(num_frames=3)
    with pytest.raises(error, match=match):
        pipe(photo, c2w, K, num_inference_steps=2, guidance_scale=1.0, output_type="latent", **kwargs)


def test_a_callback_may_return_none_a_dict_without_latents_or_new_latents(pipe, photo):
    c2w, K = orbit(num_frames=3)
    run = lambda **kw: pipe(photo, c2w, K, num_inference_steps=2, guidance_scale=1.0, output_type="latent",  # noqa: E731
                            generator=torch.Generator().manual_seed(0), **kw).latents
    plain = run()
    seen: list[str] = []
    assert torch.equal(run(callback_on_step_end=lambda *a: None), plain)
    assert torch.equal(run(callback_on_step_end=lambda p, i, t, d: {}), plain)
    assert torch.equal(run(callback_on_step_end=lambda p, i, t, d: seen.append(type(d["latents"]).__name__) or d,
                           callback_on_step_end_tensor_inputs="latents"), plain)
    assert seen == ["Tensor", "Tensor"]
    doubled = run(callback_on_step_end=lambda p, i, t, d: {"latents": d["latents"].double() * 0})
    assert doubled.dtype == torch.float32 and not torch.equal(doubled, plain)


@pytest.mark.parametrize("kwargs, error, match", [
    # each failed in torch's words, "new(): invalid data type 'str'"
    ({"target_c2w": "cams.json"}, TypeError,
     r"^target_c2w must be a tensor, numpy array or nested list of numbers \[B, F, 4, 4\], got 'cams.json' \(str\)"),
    ({"target_K": [["a"]]}, TypeError, r"^target_K must be a tensor.*\[B, F, 3, 3\]"),
    ({"context_c2w": "x"}, TypeError, r"^context_c2w must be a tensor.*\[B, V, 4, 4\]"),
    ({"latents": "noise"}, TypeError, r"^latents must be a tensor.*\[B, F, 4, h, w\]"),
    # a complex target_K was cast to its real part without a word
    ({"target_K": orbit(num_frames=3)[1].to(torch.complex64)}, TypeError, "^target_K must be real numbers.*complex64"),
    ({"target_c2w": orbit(num_frames=3)[0].bool()}, TypeError, "^target_c2w must be real numbers.*bool"),
])
def test_camera_and_noise_tensors_are_checked_in_one_line(pipe, photo, kwargs, error, match):
    c2w, K = orbit(num_frames=3)
    cameras = {"target_c2w": c2w, "target_K": K}
    cameras.update((k, kwargs.pop(k)) for k in list(kwargs) if k in cameras)
    with pytest.raises(error, match=match):
        pipe(photo, **cameras, num_inference_steps=1, guidance_scale=1.0, output_type="latent", **kwargs)


def test_context_latents_that_are_not_numbers_are_named(pipe):
    c2w, K = orbit(num_frames=3)
    with pytest.raises(TypeError, match=r"^context_latents must be a tensor.*\[B, V, 4, h, w\], got 'x'"):
        pipe(None, c2w, K, context_latents="x", num_inference_steps=1, output_type="latent")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_initial_latents_must_be_finite(pipe, photo, value):
    """NaN initial noise sampled to NaN frames without a word (context_latents with NaN were refused)."""
    c2w, K = orbit(num_frames=3)
    noise = torch.randn(1, 3, 4, 8, 8)
    noise[0, 1, 2, 3, 4] = value
    with pytest.raises(ValueError, match="^latents contain NaN or infinite values"):
        pipe(photo, c2w, K, latents=noise, num_inference_steps=1, guidance_scale=1.0, output_type="latent")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"height": "64"}, TypeError, r"^height must be an integer, got '64' \(str\)"),  # "are 64x64 but ... is 64x64"
    ({"width": 0}, ValueError, "^width must be an integer >= 1, got 0"),  # 0 was the default size without a word
    ({"height": 64.5}, ValueError, "^height must be an integer, got 64.5"),
])
def test_height_and_width_are_checked_in_one_line(pipe, photo, kwargs, error, match):
    c2w, K = orbit(num_frames=3)
    with pytest.raises(error, match=match):
        pipe(photo, c2w, K, num_inference_steps=1, guidance_scale=1.0, output_type="latent", **kwargs)
