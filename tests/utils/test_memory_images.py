"""Images given to the Python API as objects (genxd.utils.memory_images): PIL images, numpy arrays and torch
tensors read as a file of the same pixels is read, with one-line errors naming the input. ``genxd.generate(image,
...)`` used to refuse them ("images must be an image path or a list of them")."""

from __future__ import annotations

import json
import warnings

import numpy as np
import PIL.Image
import pytest
import torch

import genxd
from genxd.utils.images import load_image
from genxd.utils.memory_images import MemoryImage, collect_inputs

from ..cli.fake_model import use_fake_model
from ..helpers import MP_LEFT, MP_RIGHT, mpo_photo


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    PIL.Image.fromarray(pixels).save(path)
    return path, pixels


def _as_objects(pixels: np.ndarray) -> dict[str, object]:
    chw = torch.from_numpy(pixels).permute(2, 0, 1)
    return {"PIL": PIL.Image.fromarray(pixels), "numpy uint8 HWC": pixels,
            "numpy float HWC": pixels.astype(np.float32) / 255, "numpy uint16 HWC": pixels.astype(np.uint16) * 257,
            "torch float CHW": chw.float() / 255, "torch bfloat16 CHW": (chw.float() / 255).bfloat16(),
            "torch uint8 CHW": chw, "PIL RGBA opaque": PIL.Image.fromarray(pixels).convert("RGBA")}


def test_every_kind_of_object_reads_as_the_file_of_the_same_pixels(photo):
    path, pixels = photo
    expected = load_image(path, 32, 32)
    for name, obj in _as_objects(pixels).items():
        got = load_image(MemoryImage(0, obj), 32, 32)
        # bfloat16 keeps 8 bits of mantissa: a pixel value may move by one 8-bit step
        assert (got - expected).abs().max().item() <= (1 / 255 + 1e-6 if "bfloat16" in name else 0), name


def test_grey_and_transparent_objects_follow_the_file_rules():
    grey = np.full((8, 8), 100, np.uint8)
    for obj in (grey, grey[..., None], torch.from_numpy(grey)[None], torch.from_numpy(grey)):
        assert torch.allclose(load_image(MemoryImage(0, obj), 8, 8), torch.full((3, 8, 8), 100 / 255))
    clear = np.zeros((8, 8, 4), np.uint8)  # fully transparent: composited on white, as a file is
    assert torch.equal(load_image(MemoryImage(0, clear), 8, 8), torch.ones(3, 8, 8))


@pytest.mark.parametrize("obj, message", [
    (torch.rand(3, 8, 8) * 2 - 1, r"float pixels must lie in \[0, 1\] .* got -"),
    (np.full((4, 4), np.nan, np.float32), "non-finite pixel values"),
    (torch.zeros(5, 8, 8), r"a tensor image is \[C, H, W\] with C = 1, 3 or 4 .* got shape \(5, 8, 8\)"),
    (np.zeros((8, 8, 5), np.uint8), r"a numpy image is \[H, W\] or \[H, W, C\] .* got shape \(8, 8, 5\)"),
    (np.zeros((8, 8), np.int32), "pixels must be uint8, uint16 \\(numpy\\), bool or floats in \\[0, 1\\], got int32"),
    (np.zeros((0, 8, 3), np.uint8), "the image is empty"),
    (np.float32(0.5), r"got shape \(\)"),
])
def test_bad_objects_are_one_line_naming_the_input(obj, message):
    with pytest.raises(ValueError, match=message) as caught:
        load_image(MemoryImage(2, obj), 8, 8)
    assert str(caught.value).startswith("<in-memory image 2: ") and "\n" not in str(caught.value)


def test_inputs_keep_their_order_batches_split_and_files_are_kept_once(photo):
    path, pixels = photo
    batch = torch.rand(2, 3, 8, 8)
    inputs = collect_inputs([pixels, path, batch, str(path), path.parent])
    assert [type(x).__name__ for x in inputs] == ["MemoryImage", "PosixPath", "MemoryImage", "MemoryImage"]
    assert [x.index for x in inputs if isinstance(x, MemoryImage)] == [0, 1, 2]
    assert torch.equal(inputs[3].image, batch[1])
    assert [x.name for x in collect_inputs(batch)] == ["image_000", "image_001"]
    with pytest.raises(ValueError, match=r"images: expected image paths or images \(PIL, numpy, torch\), got 3"):
        collect_inputs([pixels, 3])
    with pytest.raises(ValueError, match=r"<in-memory image 1: tensor float32 \[5x8x8\]>: a tensor image is"):
        collect_inputs([pixels, torch.zeros(5, 8, 8)])  # shapes are checked before anything is generated
    with PIL.Image.open(path) as closed:
        pass
    for obj, message in ((closed, r"cannot read the image \("),  # Pillow 12: AssertionError, no message
                         (torch.empty(3, 8, 8, device="meta"), "a tensor on the meta device has no pixel values"),
                         (np.full((8, 8), np.inf, np.float32), "non-finite pixel values")):
        with pytest.raises(ValueError, match=message):  # the values too (found by the Python API audit)
            collect_inputs([obj])


def test_generate_takes_image_objects_and_names_their_folders(photo, tmp_path, monkeypatch):
    path, pixels = photo
    use_fake_model(monkeypatch)
    out = tmp_path / "out"
    written = genxd.generate([PIL.Image.fromarray(pixels), path, torch.from_numpy(pixels).permute(2, 0, 1)], out,
                             progress=False)
    assert [p.name for p in written] == ["image_000", "photo", "image_001"]
    meta = json.loads((out / "image_000" / "meta.json").read_text())
    assert meta["input"] == "<in-memory image 0: PIL RGB 56x40>" and meta["output"] == "image_000"
    # the fake model repeats its input: the same first frame from the object as from the file
    first = [np.asarray(PIL.Image.open(out / name / "frames" / "000.png")) for name in ("image_000", "photo")]
    assert np.array_equal(first[0], first[1])
    # pixel values are checked before the model loads, as a missing file is (not as a failure of the job)
    with pytest.raises(ValueError, match=r"^<in-memory image 1: tensor float32 \[3x8x8\]>: float pixels must lie"):
        genxd.generate([pixels, torch.full((3, 8, 8), 2.0)], tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad").exists()


def test_an_animated_image_object_says_which_frame_is_used(tmp_path):
    """A file of several frames warns that its first is used; the same image opened by the caller and handed over
    as an object was reduced to the frame it was at without a word (noted by the photographs audit)."""
    from genxd.utils.memory_images import memory_image_to_rgb
    from genxd.validation import GenXDWarning

    frames = [PIL.Image.new("RGB", (16, 16), (60 * i, 0, 0)) for i in range(3)]
    path = tmp_path / "anim.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    im = PIL.Image.open(path)
    im.seek(2)
    with pytest.warns(GenXDWarning, match=r"anim: an image of 3 frames: only the one it is at \(frame 2\) is used"):
        rgb = memory_image_to_rgb(im, "anim")
    assert rgb.getpixel((8, 8))[0] == 120


def test_an_opened_photo_with_a_preview_picture_is_a_still_image(tmp_path):
    # Before: a phone's JPEG with MPF data (Pillow's "MPO", its preview as a second frame) opened by the caller
    # warned "an image of 2 frames: only the one it is at (frame 0) is used"
    import warnings

    from genxd.utils.memory_images import memory_image_to_rgb

    path = mpo_photo(tmp_path / "IMG_0001.jpg", PIL.Image.new("RGB", (64, 48), (200, 30, 30)))
    im = PIL.Image.open(path)
    assert im.format == "MPO"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb = memory_image_to_rgb(im, "photo")
    assert rgb.size == (64, 48) and abs(rgb.getpixel((32, 24))[0] - 200) < 8


@pytest.mark.parametrize("frame, view, other, red", [(0, "left", "right", 200), (1, "right", "left", 30)])
def test_an_opened_stereo_photo_says_which_view_is_read(tmp_path, frame, view, other, red):
    # Before: a stereo camera's MPO handed over as a PIL object was read without a word (a file says "read the left
    # view of a stereo pair"), also when the caller had seek()-ed it to the right view
    import warnings

    from genxd.utils.memory_images import memory_image_to_rgb
    from genxd.validation import GenXDWarning

    left, right = (PIL.Image.new("RGB", (64, 48), c) for c in ((200, 30, 30), (30, 30, 200)))
    im = PIL.Image.open(mpo_photo(tmp_path / "DSCF0001.MPO", left, attributes=(MP_LEFT, MP_RIGHT), others=[right]))
    im.seek(frame)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        rgb = memory_image_to_rgb(im, "image_000")
    at = " (the picture it is at, 1)" if frame else ""
    assert [str(w.message) for w in said if issubclass(w.category, GenXDWarning)] == [
        f"image_000: read the {view} view of a stereo pair{at}; the {other} view is not used"]
    assert abs(rgb.getpixel((32, 24))[0] - red) < 8


def test_a_tensor_that_requires_grad_is_checked_without_a_torch_warning():
    """A render or a model output still in the autograd graph: its values are read without torch's 'Converting a
    tensor with requires_grad=True to a scalar' UserWarning (printed to the user by genxd.generate before)."""
    image = torch.rand(3, 8, 8, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (read,) = collect_inputs([image])
    assert read.image is image
    with pytest.raises(ValueError, match="float pixels must lie in"), warnings.catch_warnings():
        warnings.simplefilter("error")
        collect_inputs([image * 2 + 0.01])  # out of range, still in the graph
