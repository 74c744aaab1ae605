"""GenXDPipeline reads PIL images (and grey / RGBA / 16-bit arrays) as genxd.generate reads them
(genxd.pipelines.context_images): it took image.convert("RGB"), which silently whitened 16-bit images, blackened
float ones, kept the hidden colour of transparent pixels and ignored EXIF rotation."""

from __future__ import annotations

import io

import numpy as np
import PIL.Image
import pytest
import torch

from genxd.cameras import orbit
from genxd.pipelines import GenXDPipeline
from genxd.utils.memory_images import memory_image_to_rgb


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


def _gradient() -> np.ndarray:
    """A grey gradient 64 x 64, uint8 (every level 0-255 appears)."""
    return (np.arange(64 * 64).reshape(64, 64) % 256).astype(np.uint8)


class _Encoded(Exception):
    pass


def _latents(pipe, images) -> torch.Tensor:
    """The images ``[B, V, 3, H, W]`` the pipeline call hands to the VAE (the call stops there: no sampling)."""
    def encode(tensor):
        raise _Encoded(tensor)

    c2w, K = orbit(num_frames=3)
    original, pipe.encode_images = pipe.encode_images, encode
    try:
        pipe(images, c2w, K, num_inference_steps=1, output_type="latent")
    except _Encoded as seen:
        return seen.args[0]
    finally:
        pipe.encode_images = original
    raise AssertionError("the pipeline did not encode the images")


def _as_generate_reads(image) -> np.ndarray:
    return np.asarray(memory_image_to_rgb(image, "x"))


def _exif_rotated() -> PIL.Image.Image:
    """A 128 x 64 JPEG whose EXIF orientation (6: rotate 90 degrees clockwise) makes it 64 x 128 as shown."""
    exif = PIL.Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    left_right = np.zeros((64, 128, 3), np.uint8)
    left_right[:, 64:] = (200, 60, 30)
    PIL.Image.fromarray(left_right).save(buffer, "JPEG", quality=95, exif=exif)
    buffer.seek(0)
    return PIL.Image.open(buffer)


@pytest.mark.parametrize("make", [
    lambda g: PIL.Image.fromarray(g.astype(np.uint16) * 257),  # I;16 (a 16-bit PNG): was all but white
    lambda g: PIL.Image.fromarray(g.astype(np.float32) / 255),  # F in [0, 1]: was black
    lambda g: PIL.Image.fromarray(np.dstack([g, g, g, np.where(g > 128, 255, 0).astype(np.uint8)]), "RGBA"),
], ids=["I;16", "F", "RGBA"])
def test_pil_images_are_read_as_genxd_generate_reads_them(pipe, make):
    image = make(_gradient())
    expected = _as_generate_reads(image)
    assert abs(float(expected.mean()) - float(np.asarray(image.convert("RGB")).mean())) > 20  # the old reading
    torch.testing.assert_close(_latents(pipe, image), _latents(pipe, expected), atol=0, rtol=0)
    torch.testing.assert_close(_latents(pipe, [image]), _latents(pipe, expected), atol=0, rtol=0)


def test_pil_exif_orientation_is_applied(pipe):
    image = _exif_rotated()
    upright = _as_generate_reads(image)
    assert upright.shape == (128, 64, 3)
    torch.testing.assert_close(_latents(pipe, image), _latents(pipe, upright), atol=0, rtol=0)


def test_plain_rgb_pil_images_are_unchanged(pipe):
    """An RGB image without EXIF or profile: the same pixels as before (np.asarray / 255, bit for bit)."""
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    torch.testing.assert_close(_latents(pipe, PIL.Image.fromarray(rgb)), _latents(pipe, rgb), atol=0, rtol=0)


@pytest.mark.parametrize("make", [
    lambda g: g,  # [H, W]
    lambda g: g[..., None],  # [H, W, 1]
    lambda g: np.dstack([g, g, g, np.full_like(g, 255)]),  # opaque RGBA
    lambda g: np.repeat(g[..., None], 3, -1).astype(np.uint16) * 257,  # 16-bit RGB
], ids=["HxW", "HxWx1", "RGBA", "uint16"])
def test_single_numpy_images_genxd_generate_takes_are_taken(pipe, make):
    """They were refused ('channels last: [H, W, 3] ...', 'must be uint8 or floats') though genxd.generate takes
    them; each is read as generate reads it."""
    g = _gradient()
    torch.testing.assert_close(_latents(pipe, make(g)), _latents(pipe, np.repeat(g[..., None], 3, -1)),
                               atol=0, rtol=0)


def test_a_list_may_mix_pil_images_arrays_and_tensors(pipe):
    """A list of a PIL image and an array was a TypeError ('got a list of Image, ndarray')."""
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2))
    c = torch.from_numpy(b).permute(2, 0, 1)
    expected = _latents(pipe, [a, b])
    torch.testing.assert_close(_latents(pipe, [PIL.Image.fromarray(a), b]), expected, atol=0, rtol=0)
    torch.testing.assert_close(_latents(pipe, [PIL.Image.fromarray(a), c]), expected, atol=0, rtol=0)


def test_images_of_different_sizes_in_a_list_are_one_line(pipe):
    """Was torch.stack's 'stack expects each tensor to be equal size' for arrays."""
    c2w, K = orbit(num_frames=3)
    with pytest.raises(ValueError, match="context_images: the images of the list differ in shape"):
        pipe([np.zeros((64, 64, 3), np.uint8), np.zeros((32, 64, 3), np.uint8)], c2w, K, num_inference_steps=1)


def test_a_bad_entry_is_named(pipe):
    c2w, K = orbit(num_frames=3)
    with pytest.raises(ValueError, match=r"context_images\[1\].*float pixels must lie in \[0, 1\]"):
        pipe([np.zeros((64, 64), np.float32), np.full((64, 64), 2.0, np.float32)], c2w, K, num_inference_steps=1)
