"""GenXDPipeline's sampling arguments are checked before any image is encoded, each a one-line error naming the
argument (genxd.pipelines.call_arguments)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from genxd.cameras import orbit
from genxd.pipelines import GenXDPipeline
from genxd.validation import GenXDWarning


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


IMAGE = np.full((64, 64, 3), 128, np.uint8)


@pytest.mark.parametrize("kwargs, error, match", [
    # was "'int' object has no attribute 'device'", after the VAE had encoded the images
    ({"generator": 0}, TypeError, r"^generator must be a torch.Generator .*got int; for a seed: "
                                  r"generator=torch.Generator\(\).manual_seed\(seed\)"),
    ({"generator": [torch.Generator(), 1]}, TypeError, "^generator must be .* got int in the list"),
    ({"motion_strength": "a"}, TypeError, "^motion_strength must be a number"),  # new(): invalid data type 'str'
    ({"motion_strength": [0.1, 0.2]}, ValueError, "^motion_strength: 2 values for a batch of 1"),  # expand error
    ({"motion_strength": float("inf")}, ValueError, "^motion_strength must be finite"),
    ({"motion_guidance_scale": "1"}, TypeError, "^motion_guidance_scale must be a number"),  # must be real number
    ({"motion_guidance_scale": -1.0}, ValueError, "^motion_guidance_scale must be >= 0"),
    ({"context_index": [0.5]}, ValueError, r"^context_index must be frame indices \(integers\), got \[0.5\]"),
    ({"context_index": [True]}, TypeError, "^context_index must be frame indices"),
])
def test_bad_arguments_are_named_before_encoding(pipe, monkeypatch, kwargs, error, match):
    def encoded(*args, **kw):
        raise AssertionError("the images were encoded before the arguments were checked")

    monkeypatch.setattr(pipe, "encode_images", encoded)
    c2w, K = orbit(num_frames=3)
    with pytest.raises(error, match=match):
        pipe(IMAGE, c2w, K, num_inference_steps=1, output_type="latent", **kwargs)


def _latents(pipe, **kwargs) -> torch.Tensor:
    c2w, K = orbit(num_frames=3)
    return pipe(IMAGE, c2w, K, num_inference_steps=1, guidance_scale=1.0, output_type="latent",
                generator=torch.Generator().manual_seed(0), **kwargs).frames


def test_integral_float_indices_and_per_sample_strengths_still_work(pipe):
    torch.testing.assert_close(_latents(pipe, context_index=[0.0]), _latents(pipe, context_index=[0]), atol=0, rtol=0)
    torch.testing.assert_close(_latents(pipe, mode="4d", motion_strength=[0.3]),
                               _latents(pipe, mode="4d", motion_strength=0.3), atol=0, rtol=0)
    torch.testing.assert_close(_latents(pipe, mode="4d", motion_strength=np.float64(0.3)),
                               _latents(pipe, mode="4d", motion_strength=0.3), atol=0, rtol=0)


def test_pixel_intrinsics_warn(pipe):
    """K in pixels (cx = 32 for a 64-pixel image) was read as normalised without a word: a zoom of 64 times."""
    c2w, K = orbit(num_frames=3)
    pixels = K.clone()
    pixels[:, :2] *= 64
    with pytest.warns(GenXDWarning, match=r"target_K: principal point at \(32, 32\) .*looks like pixel intrinsics"):
        pipe(IMAGE, c2w, pixels, num_inference_steps=1, output_type="latent")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        pipe(IMAGE, c2w, K, num_inference_steps=1, output_type="latent")  # normalised: no warning


def test_numpy_latents_are_taken(pipe):
    """latents as a numpy array failed with "'numpy.ndarray' object has no attribute 'to'"."""
    h = 64 // pipe.vae_scale_factor
    noise = torch.randn(1, 3, pipe.unet.config.out_channels, h, h, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(_latents(pipe, latents=noise.numpy()), _latents(pipe, latents=noise), atol=0, rtol=0)


def test_a_generator_list_holding_none_is_refused_before_encoding():
    """[None, g] passed the check and failed in diffusers' randn_tensor after the VAE had encoded the images
    ("'NoneType' object has no attribute 'device'")."""
    from genxd.pipelines.call_arguments import check_generator

    g = torch.Generator().manual_seed(0)
    for generators in ([None, g], [g, None]):
        with pytest.raises(TypeError, match=r"^generator must be a torch.Generator or a list of one per sample, "
                                            r"got NoneType in the list"):
            check_generator(generators, 2)
    check_generator([g, torch.Generator()], 2)
    check_generator(None, 2)


def test_motion_guidance_scale_takes_one_number_in_an_array_or_tensor():
    """np.array(1.0) (a 0-d array) was taken before the check and refused by it; a tensor of 2 failed in torch's
    words ("only one element tensors ...")."""
    from genxd.pipelines.call_arguments import motion_guidance

    for value in (np.array(1.5), np.array([1.5]), torch.tensor(1.5), torch.tensor([1.5], dtype=torch.float64),
                  np.float32(1.5), 1.5):
        assert motion_guidance(value) == 1.5
    for value in (torch.tensor([1.0, 2.0]), np.array([1.0, 2.0]), np.array(True), True):
        with pytest.raises(TypeError, match=r"^motion_guidance_scale must be a number >= 0, got "):
            motion_guidance(value)
