"""genxd.fewshot: how the views of a few-shot group are prepared, against the authors' loaders."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch

from genxd.data.reconfusion import ReconFusionScene
from genxd.fewshot import build_fewshot_groups


def _scene(width: int, height: int, n: int = 6) -> tuple[ReconFusionScene, np.ndarray]:
    """A scene of ``n`` random 8-bit views (as decoded from its files), cameras along a line."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(n, height, width, 3), dtype=np.uint8)
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.arange(n, dtype=torch.float32) * 0.1
    K = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.2, 0.5], [0.0, 0.0, 1.0]]).repeat(n, 1, 1)
    return ReconFusionScene("s", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5])}), pixels


def _lanczos(pixels: np.ndarray, box: tuple[int, int, int, int] | None, pad: tuple[int, int, int, int] | None,
             size: int) -> torch.Tensor:
    """The authors' resize: the 8-bit view, cropped (``box``) or padded with black (``pad``: left, top, right,
    bottom), then PIL's LANCZOS to ``size`` (their ``crop_shim.rescale``), back to [0, 1]."""
    im = PIL.Image.fromarray(pixels)
    if box is not None:
        im = im.crop(box)
    if pad is not None:
        left, top, right, bottom = pad
        canvas = PIL.Image.new("RGB", (im.width + left + right, im.height + top + bottom), (0, 0, 0))
        canvas.paste(im, (left, top))
        im = canvas
    out = np.asarray(im.resize((size, size), PIL.Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    return torch.from_numpy(out).permute(2, 0, 1)


@pytest.mark.parametrize("width, height, pad_to_square", [(64, 64, False), (64, 48, False), (48, 64, True),
                                                          (64, 48, True)])
def test_views_are_resized_with_lanczos_as_the_authors(width: int, height: int, pad_to_square: bool) -> None:
    """The authors' few-shot loaders resize every view with PIL's LANCZOS on 8-bit values (as genxd generate fits
    its input); genxd fewshot used antialiased bilinear filtering: context views up to 49 levels away (1.2 on
    average) for a 512 px square view made 256 px."""
    scene, pixels = _scene(width, height)
    size = 32
    (group,) = build_fewshot_groups({"s": scene}, "direct", None, n_views=3, num_context=3, num_frames=6,
                                    resolution=size, pad_to_square=pad_to_square)
    side = max(width, height) if pad_to_square else min(width, height)
    top, left = abs(side - height) // 2, abs(side - width) // 2
    for view, image_id in zip(group.context_images, [0, 2, 4]):
        if pad_to_square:
            expected = _lanczos(pixels[image_id], None, (left, top, side - width - left, side - height - top), size)
        else:
            expected = _lanczos(pixels[image_id], (left, top, left + side, top + side), None, size)
        torch.testing.assert_close(view, expected, atol=1e-6, rtol=0)


def test_two_context_views_keep_the_last_views_intrinsics_as_the_authors(tmp_path) -> None:
    """The authors' 2-view layout (first and last frame, their grouped loader ``reconf_group.py``) gives the last
    frame the second context view's intrinsics (``cat([cond_K[:1], target_K, cond_K[1:]])``); every other frame
    has the first context view's. genxd gave every frame the first view's."""
    from genxd.cameras import formats

    scene, _ = _scene(32, 32)
    scene.K[:, 0, 0] = torch.linspace(0.8, 1.3, 6)  # every view its own focal length
    fitted = torch.eye(4).repeat(3, 1, 1)
    fitted[:, 0, 3] = torch.tensor([0.15, 0.25, 0.35])
    (tmp_path / "s").mkdir()
    formats.save_w2c_list_json(tmp_path / "s" / "gen_poses_w2c.json", fitted)
    groups = build_fewshot_groups({"s": scene}, "grouped", tmp_path, n_views=3, num_context=2, num_frames=5,
                                  resolution=32, pad_to_square=False)
    for group in groups:
        assert group.context_index.tolist() == [0, 4]
        first, second = group.frame_source[0], group.frame_source[4]
        assert first != second
        torch.testing.assert_close(group.K[4], scene.K[second])
        torch.testing.assert_close(group.K[:4], scene.K[first].expand(4, 3, 3))
