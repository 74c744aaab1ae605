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


def test_a_job_holds_one_view_at_its_stored_size_at_a_time(tmp_path, monkeypatch) -> None:
    """``genxd fewshot`` decoded every scene whole at its stored size before squaring and resizing (and kept it on
    the scene for the run): a 194-view mip-NeRF 360 scene of 4946x3286 photos is 38 GB in float32. Now each view is
    squared and resized as it is decoded, and only the view's stored-size copy is held meanwhile. Counted here as
    the largest number of decoded stored-size views alive at once (8 before: the whole scene); the groups are
    already written (``skip_existing``), so no model is loaded and only the scene's preparation runs."""
    import gc
    import weakref

    from genxd.data import reconfusion
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.fewshot_jobs import fewshot_scenes

    scene, _ = _scene(64, 48, n=8)
    root, out = tmp_path / "rf", tmp_path / "out"
    write_reconfusion_scene(root, "s", scene.images, scene.c2w, scene.K, {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    for name in ("s_direct_000", "s_direct_001", "s_direct_002"):  # kept: nothing to generate
        (out / name).mkdir(parents=True)
        (out / name / "meta.json").write_text("{}")
    decode, alive, most = reconfusion.decode_image, [0], [0]

    def counted(data):
        image = decode(data)
        alive[0] += 1
        most[0] = max(most[0], alive[0])
        weakref.finalize(image, lambda: alive.__setitem__(0, alive[0] - 1))
        return image

    monkeypatch.setattr(reconfusion, "decode_image", counted)
    with pytest.warns(UserWarning, match="has 64x48 views"):  # the size, read without decoding
        results = fewshot_scenes(root, out, n_views=3, num_context=3, num_frames=5, num_inference_steps=1,
                                 guidance_scale=1.0, resolution=32, progress=False, skip_existing=True)
    gc.collect()
    assert [r.status for r in results] == ["skipped"] * 3
    assert most[0] == 1, f"{most[0]} stored-size views held at once"
    assert alive[0] == 0  # none kept after the run


def test_views_decoded_one_at_a_time_are_the_views_decoded_together(tmp_path) -> None:
    """The groups of a scene loaded without its decoded images (one view at a time, as ``genxd fewshot`` now
    loads) are those of the same scene decoded whole, bit for bit, cropped and padded; the stored size read from
    the first image's header is the decoded one's."""
    from genxd.data.reconfusion import load_reconfusion, write_reconfusion_scene

    scene, _ = _scene(64, 48, n=6)
    write_reconfusion_scene(tmp_path, "s", scene.images, scene.c2w, scene.K, scene.splits)
    lazy, whole = (load_reconfusion(tmp_path, decode_images=d)["s"] for d in (False, True))
    assert lazy.images is None and lazy.stored_size() == whole.stored_size() == (48, 64)
    for pad in (False, True):
        (a,), (b,) = (build_fewshot_groups({"s": s}, "direct", None, n_views=3, num_context=3, num_frames=6,
                                           resolution=32, pad_to_square=pad) for s in (lazy, whole))
        for name in ("context_images", "reference_frames", "K", "c2w"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert a.crop_box == b.crop_box
        assert (a.K_unpadded is None) == (b.K_unpadded is None)
        if a.K_unpadded is not None:
            assert torch.equal(a.K_unpadded, b.K_unpadded)
    assert lazy.images is None  # the scene did not keep the decoded views
