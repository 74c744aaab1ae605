"""Training datasets read image files as ``genxd generate`` does (docs/conventions.md "Images and videos"):
16-bit pixels scaled by their range, transparency composited on white (they trained as solid white and on black)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import PIL.Image
import torch

from genxd.data.datasets import CamVidDataset, MultiViewDataset
from genxd.data.reconfusion import decode_image
from genxd.data.synthetic import make_clip, write_clip
from genxd.utils.images import pil_to_tensor, read_rgb


def _odd_images(size: int = 32) -> list[PIL.Image.Image]:
    """A 16-bit grey ramp (values up to 60000: solid white when clipped at 255) and a half-transparent RGBA image."""
    ramp = np.linspace(0, 60000, size * size).reshape(size, size).astype(np.uint16)
    grey16 = PIL.Image.fromarray(ramp)  # mode I;16 (Pillow 13 refuses mode= for it)
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.linspace(0, 255, size, dtype=np.uint8)[None, :]
    return [grey16, PIL.Image.fromarray(rgba)]  # RGBA


def _generate_reads(path: Path) -> torch.Tensor:
    return pil_to_tensor(read_rgb(path))


def test_multiview_frames_are_read_as_generate_reads_them(tmp_path):
    write_clip(make_clip(11, "3d", 2, 32, 32), tmp_path, "scene", "folder")
    paths = sorted((tmp_path / "scene" / "images").glob("*.png"))
    for path, image in zip(paths, _odd_images()):
        image.save(path)
    assert PIL.Image.open(paths[0]).mode.startswith("I;16") and PIL.Image.open(paths[1]).mode == "RGBA"
    sample = MultiViewDataset(tmp_path, num_frames=2, height=32, camera_normalization="none")[0]
    expected = torch.stack([_generate_reads(p) for p in paths])
    assert float(expected[0].max()) < 1.0 and bool((expected[1][:, :, 0] == 1).all())  # a grey ramp; on white
    assert torch.equal(sample["frames"], expected)


def test_camvid_frames_in_an_archive_are_read_as_generate_reads_them(tmp_path):
    root = tmp_path / "camvid"
    write_clip(make_clip(12, "3d", 2, 32, 32), root, "video0", "camvid", num_points=500)
    frames = sorted((root / "video0" / "images").iterdir())
    for path, image in zip(frames, _odd_images()):
        buf = io.BytesIO()
        image.save(buf, format="PNG")  # PNG bytes under the frame's own name: decoders go by content
        path.write_bytes(buf.getvalue())
    archive = tmp_path / "batch_1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, str(p.relative_to(root)))
    expected = torch.stack([_generate_reads(p) for p in frames])
    for source in (root, archive):
        sample = CamVidDataset(source, num_frames=2, height=32, camera_normalization="none")[0]
        assert torch.equal(sample["frames"], expected), source


def test_reconfusion_bytes_are_read_as_generate_reads_them(tmp_path):
    for i, image in enumerate(_odd_images()):
        path = tmp_path / f"{i}.png"
        image.save(path)
        data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
        assert torch.equal(decode_image(data), _generate_reads(path))


def test_bytes_that_are_no_image_are_named_by_their_label_without_a_buffer_repr():
    """PIL names the in-memory buffer (``<_io.BytesIO object at 0x7f...>``) in its message: left out."""
    from genxd.utils.images import decode_rgb

    with pytest.raises(ValueError) as info:
        decode_rgb(b"not an image", "scene/frame_00003.png")
    assert str(info.value).startswith("scene/frame_00003.png: cannot read image") and "BytesIO" not in str(info.value)
