"""The image files of a multi-view training scene against its cameras: missing images and images of another aspect
ratio than their camera's are named before or when read, as ``genxd reconstruct`` names them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras import intrinsics_from_focal, look_at, write_colmap_model
from genxd.data.datasets import MultiViewDataset

pytest.importorskip("pycolmap")


def _colmap_scene(folder: Path, sizes: list[tuple[int, int]]) -> list[str]:
    """A COLMAP model of 3 views of 12x16 pixels in ``folder/sparse/0`` and images of ``sizes`` (H, W) in
    ``folder/images``; returns the image names."""
    import imageio.v3 as iio

    eye = torch.tensor([[3.0, -1.0, 0.0], [2.5, -1.0, 1.5], [2.0, -1.0, 2.0]])
    c2w = look_at(eye, torch.zeros(3), up=torch.tensor([0.0, -1.0, 0.0]))
    names = [f"img_{i}.png" for i in range(3)]
    write_colmap_model(folder / "sparse" / "0", c2w, intrinsics_from_focal(1.0).expand(3, 3, 3), 12, 16, names)
    (folder / "images").mkdir()
    for name, (h, w) in zip(names, sizes):
        iio.imwrite(folder / "images" / name, np.full((h, w, 3), 128, np.uint8))
    return names


def test_a_registered_image_missing_is_named_when_the_dataset_is_made(tmp_path) -> None:
    """Before, the dataset was made and training stopped at the first clip needing the image, with Python's
    ``[Errno 2] No such file or directory`` (``genxd reconstruct`` names it before the work)."""
    names = _colmap_scene(tmp_path, [(12, 16)] * 3)
    (tmp_path / "images" / names[2]).unlink()
    with pytest.raises(FileNotFoundError, match=r"img_2\.png: image registered in .*sparse/0 not found"):
        MultiViewDataset(tmp_path, num_frames=3, height=8, width=8)


@pytest.mark.parametrize("size, refused", [((16, 12), True), ((12, 12), True), ((6, 8), False), ((13, 16), False)],
                         ids=["turned", "cropped", "half-size copy", "a pixel of rounding"])
def test_an_image_of_another_aspect_ratio_than_its_camera_is_named(tmp_path, size, refused: bool) -> None:
    """A view turned by a quarter (an EXIF orientation applied by an editor after COLMAP ran) or cropped was trained
    with the intrinsics of the 16x12 image the camera describes (``genxd reconstruct`` refuses it); a copy scaled by
    one factor fits its normalised intrinsics and is read. The refusal comes when the dataset is made (from the
    image's header): when an item was read, training had started and a DataLoader worker wrapped it in a traceback."""
    _colmap_scene(tmp_path, [(12, 16), size, (12, 16)])
    if not refused:
        data = MultiViewDataset(tmp_path, num_frames=3, height=8, width=8)
        assert data[0]["frames"].shape == (3, 3, 8, 8)
        return
    h, w = size
    with pytest.raises(ValueError, match=rf"img_1\.png: image is {w}x{h}, its camera says 16x12: another aspect ratio"):
        MultiViewDataset(tmp_path, num_frames=3, height=8, width=8)


def test_an_unreadable_image_is_named_when_the_dataset_is_made(tmp_path) -> None:
    """A registered image that is not an image (a truncated download) is named before training starts."""
    names = _colmap_scene(tmp_path, [(12, 16)] * 3)
    (tmp_path / "images" / names[1]).write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"img_1\.png: cannot read image"):
        MultiViewDataset(tmp_path, num_frames=3, height=8, width=8)


def test_a_curated_clip_of_tiff_frames_is_read(tmp_path) -> None:
    """A clip folder (``VIDEO_ID/images`` + ``VIDEO_ID/0``) of ``.tif`` frames, which ``genxd curate`` and
    ``genxd reconstruct`` read: the camvid dataset listed only .jpg .jpeg .png .webp .bmp and found no frames."""
    import PIL.Image
    import pycolmap

    from genxd.data.datasets import CamVidDataset

    clip = tmp_path / "clip"
    names = _colmap_scene(clip, [(12, 16)] * 3)
    for name in names:  # the same frames as TIFF files, registered under those names
        PIL.Image.open(clip / "images" / name).save(clip / "images" / name.replace(".png", ".tif"))
        (clip / "images" / name).unlink()
    recon = pycolmap.Reconstruction(str(clip / "sparse" / "0"))
    for image in recon.images.values():
        image.name = image.name.replace(".png", ".tif")
    (clip / "0").mkdir()
    recon.write(str(clip / "0"))
    data = CamVidDataset(tmp_path, num_frames=3, height=8, width=8, kind="3d")
    assert data[0]["frames"].shape == (3, 3, 8, 8)
