"""DTU's object-masked metrics (RegNeRF's protocol): ``genxd eval-recon --masks`` and
:mod:`genxd.reconstruction.masks`."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.masks import MASKED_PROTOCOL, load_view_masks, masked_metrics
from genxd.reconstruction import metrics as recon_metrics
from genxd.reconstruction.metrics import psnr, ssim

runner = CliRunner()


def _half_mask(h: int = 16, w: int = 16) -> torch.Tensor:
    """``[1, 1, h, w]``: the left half is the object."""
    m = torch.zeros(1, 1, h, w)
    m[..., : w // 2] = 1
    return m


def test_masked_psnr_is_the_mse_over_the_object_only() -> None:
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, 16, 16, generator=g)
    mask = _half_mask()
    pred = gt + 0.1 * mask + (1 - mask) * torch.rand(1, 3, 16, 16, generator=g)  # 0.1 off on the object, garbage off it
    assert psnr(pred, gt, mask=mask).item() == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.1^2)
    assert psnr(pred, gt).item() < 15.0
    assert math.isnan(psnr(pred, gt, mask=torch.zeros_like(mask)).item())


def test_a_render_right_on_the_object_scores_the_maximum_masked() -> None:
    """Equal to the ground truth on the object and garbage elsewhere: the masked metrics are perfect (PSNR at the
    clamp of a zero MSE, SSIM 1), the unmasked ones low."""
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(2, 3, 16, 16, generator=g)
    mask = _half_mask().expand(2, 3, 16, 16)
    pred = gt * mask + (1 - mask) * torch.rand(2, 3, 16, 16, generator=g)
    result = masked_metrics(pred, gt, mask, ["a", "b"])
    assert result["protocol"] == MASKED_PROTOCOL
    assert result["psnr"] == pytest.approx(120.0)  # psnr's clamp of a zero MSE (1e-12)
    assert result["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert float(psnr(pred, gt).mean()) < 15.0 and float(ssim(pred, gt).mean()) < 0.7
    assert [row["object_fraction"] for row in result["per_view"]] == [0.5, 0.5]


def test_masked_ssim_and_lpips_see_both_images_on_white() -> None:
    """RegNeRF: ``rgb * mask + (1 - mask)`` for the rendering and the ground truth before SSIM / LPIPS."""
    g = torch.Generator().manual_seed(2)
    gt, pred = torch.rand(2, 1, 3, 16, 16, generator=g)
    mask = _half_mask()
    seen = []

    def fake_lpips(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append((a.clone(), b.clone()))
        return (a - b).abs().flatten(1).mean(1)

    result = masked_metrics(pred, gt, mask, ["v"], fake_lpips)
    white_pred, white_gt = pred * mask + (1 - mask), gt * mask + (1 - mask)
    assert torch.equal(seen[0][0], white_pred) and torch.equal(seen[0][1], white_gt)
    assert (white_pred[..., 8:] == 1).all()
    assert result["ssim"] == pytest.approx(float(recon_metrics.regnerf_ssim(white_pred, white_gt)))
    assert result["lpips"] == pytest.approx(float((white_pred - white_gt).abs().mean()))
    assert result["per_view"][0]["lpips"] == pytest.approx(result["lpips"])


def _write_mask(path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def test_masks_are_found_in_the_idr_layouts_binarised_at_255_and_resized_bilinear(tmp_path) -> None:
    m = np.zeros((8, 8), np.uint8)
    m[:, :3] = 255
    m[:, 3] = 254  # an anti-aliased edge: background in RegNeRF's protocol (== 1 after / 255)
    _write_mask(tmp_path / "idrmasks" / "scan114" / "mask" / "005.png", np.stack([m] * 3, -1))  # IDR's own scans
    _write_mask(tmp_path / "idrmasks" / "scan8" / "005.png", m)  # the others (gray here)
    for folder, key in ((tmp_path / "idrmasks", "scan114"), (tmp_path / "idrmasks" / "scan114", None),
                        (tmp_path / "idrmasks" / "scan8", None), (tmp_path / "idrmasks", "scan8")):
        masks = load_view_masks(folder, [5], ["x/0005"], (4, 4), (4, 4), scene_key=key)
        assert masks.shape == (1, 3, 4, 4)
        # bilinear from 8 to 4 columns averages columns (0, 1), (2, 3), ...: the object (< 3) gives 1, 0.5, 0, 0
        assert masks[0, :, 0].tolist() == [[1.0, 0.5, 0.0, 0.0]] * 3, folder


def test_masks_are_downsized_as_regnerfs_code_ran() -> None:
    """RegNeRF's ``downsample(mask, 4, mode=cv2.INTER_NEAREST)`` calls ``cv2.resize(img, size, mode)``: the mode
    lands in ``dst`` and the resize is OpenCV's default bilinear one; the masks genxd scores with are those (nearest
    neighbour before: other pixels on every object edge)."""
    import cv2

    from genxd.reconstruction.masks import load_masks

    rng = np.random.default_rng(3)
    blocks = rng.random((12, 16)) < 0.5  # an object of 4x4 blocks, shifted by 2: edges inside each 4x4 cell
    m = np.roll(np.kron(blocks, np.ones((4, 4), bool)), (2, 2), axis=(0, 1))
    regnerf = cv2.resize(np.stack([m] * 3, -1).astype(np.float32), (16, 12), cv2.INTER_NEAREST)  # as their call
    assert np.array_equal(regnerf, cv2.resize(m.astype(np.float32), (16, 12))[..., None].repeat(3, -1))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "001.png"
        _write_mask(path, m * 255)
        masks = load_masks([path], ["v"], (48, 64), (12, 16))
    assert np.array_equal(masks[0].permute(1, 2, 0).numpy(), regnerf)
    assert set(np.unique(regnerf)) == {0.0, 0.25, 0.5, 0.75, 1.0}  # the edges: fractions of the 2x2 averaged


def test_masked_psnr_counts_only_whole_object_pixels_and_white_uses_the_fraction() -> None:
    """RegNeRF: PSNR over ``mask == 1``, SSIM on ``rgb * mask + (1 - mask)`` with the fractional edge values."""
    g = torch.Generator().manual_seed(4)
    gt = torch.rand(1, 3, 16, 16, generator=g)
    mask = _half_mask()
    mask[..., 8] = 0.5  # an edge column
    pred = gt + 0.1 * (mask == 1) + 0.5 * (mask == 0.5)  # 0.1 off on the object, 0.5 on its edge
    result = masked_metrics(pred, gt, mask, ["v"])
    assert result["psnr"] == pytest.approx(20.0, abs=1e-4)
    on_white = [x * mask + 1 - mask for x in (pred, gt)]
    assert result["ssim"] == pytest.approx(float(recon_metrics.regnerf_ssim(*on_white)))
    assert result["per_view"][0]["object_fraction"] == 0.5


def test_regnerf_ssim_is_scikit_images_with_regnerfs_arguments() -> None:
    """RegNeRF's ``structural_similarity(x, y, multichannel=True)`` on float images: scikit-image 0.17 took the
    data range 2 from the float dtype's (-1, 1); a 7x7 uniform window, sample covariance."""
    skimage_metrics = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(5)
    gt = torch.rand(2, 3, 30, 41, generator=g)
    pred = (gt + 0.2 * torch.randn(2, 3, 30, 41, generator=g)).clamp(0, 1)
    ours = recon_metrics.regnerf_ssim(pred, gt)
    for i in range(2):
        x, y = (t[i].permute(1, 2, 0).double().numpy() for t in (pred, gt))
        theirs = skimage_metrics.structural_similarity(x, y, channel_axis=-1, data_range=2.0)
        assert float(ours[i]) == pytest.approx(theirs, abs=1e-9)
    assert abs(float(ours[0]) - float(ssim(pred[:1], gt[:1]))) > 1e-3  # not genxd's Gaussian SSIM


def test_masked_ssim_is_regnerfs_and_named() -> None:
    skimage_metrics = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(6)
    gt, pred = torch.rand(2, 1, 3, 20, 20, generator=g)
    mask = _half_mask(20, 20)
    result = masked_metrics(pred, gt, mask, ["v"])
    x, y = ((t * mask + 1 - mask)[0].permute(1, 2, 0).double().numpy() for t in (pred, gt))
    assert result["ssim"] == pytest.approx(skimage_metrics.structural_similarity(x, y, channel_axis=-1,
                                                                                 data_range=2.0), abs=1e-6)
    assert result["ssim_definition"] == recon_metrics.REGNERF_SSIM


def test_a_folder_of_images_matches_masks_by_file_name(tmp_path) -> None:
    _write_mask(tmp_path / "m" / "frame_0007.png", np.full((4, 6), 255))
    masks = load_view_masks(tmp_path / "m", [2], ["frames/frame_0007.jpg"], (4, 6), (2, 3), by_index=False)
    assert masks.shape == (1, 3, 2, 3) and bool(masks.all())


@pytest.mark.parametrize("case", ["missing", "aspect", "empty"])
def test_bad_masks_are_named(tmp_path, case: str) -> None:
    if case == "aspect":
        _write_mask(tmp_path / "003.png", np.full((8, 16), 255))
        with pytest.raises(ValueError, match=r"003\.png: the mask is 16x8 but held-out view s/0003 is 8x8 \(another"):
            load_view_masks(tmp_path, [3], ["s/0003"], (8, 8), (8, 8))
    elif case == "empty":
        _write_mask(tmp_path / "003.png", np.full((8, 8), 200))
        with pytest.raises(ValueError, match=r"003\.png: no object pixel \(255\) at 8x8"):
            load_view_masks(tmp_path, [3], ["s/0003"], (8, 8), (8, 8))
    else:
        with pytest.raises(FileNotFoundError, match=r"003\.png: no mask for held-out view s/0003 \(masks\)"):
            load_view_masks(tmp_path, [3], ["s/0003"], (8, 8), (8, 8))


@pytest.fixture(scope="module")
def dtu_like(tmp_path_factory):
    """A 24x24 ReconFusion scene reconstructed in 3 steps at 12 px; views 1, 2, 4, 5, 7 held out."""
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    root = tmp_path_factory.mktemp("dtu")
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    images = render(make_scene(2), c2w, K, 24, 24).rgb
    write_reconfusion_scene(root / "rf", "scan8", images, c2w, K, {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    result = runner.invoke(app, [str(a) for a in (
        "reconstruct", root / "rf", "--out", root / "recon", "--n-views", 3, "--iterations", 3, "--resolution", 12,
        "--init", "random", "--init-points", 200, "--video-frames", 0, "--quiet")])
    assert result.exit_code == 0, result.output
    return root


def test_eval_recon_masks_full_masks_give_the_unmasked_metrics(dtu_like, tmp_path) -> None:
    for i in (1, 2, 4, 5, 7):  # IDR-sized: twice the views' size, in idrmasks/<scene key>/mask/
        _write_mask(tmp_path / "idrmasks" / "scan8" / "mask" / f"{i:03d}.png", np.full((48, 48, 3), 255))
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["eval-recon", str(dtu_like / "recon"), "--masks", str(tmp_path / "idrmasks"),
                                 "-o", str(out), "--no-lpips"])
    assert result.exit_code == 0, result.output
    assert f"{MASKED_PROTOCOL}: PSNR" in result.output
    metrics = json.loads(out.read_text())
    masked = metrics["masked"]
    assert masked["protocol"] == MASKED_PROTOCOL and masked["masks"].endswith("scan8/mask")
    assert masked["psnr"] == pytest.approx(metrics["psnr"], abs=1e-4)
    assert metrics["ssim_definition"] == recon_metrics.GAUSSIAN_SSIM
    assert masked["ssim_definition"] == recon_metrics.REGNERF_SSIM
    assert [row["name"] for row in masked["per_view"]] == [row["name"] for row in metrics["per_view"]]


@pytest.mark.parametrize("case", ["missing", "aspect"])
def test_eval_recon_masks_errors_are_one_line(dtu_like, tmp_path, case: str) -> None:
    for i in (1, 2, 4, 5):
        _write_mask(tmp_path / "m" / f"{i:03d}.png", np.full((24, 24), 255))
    if case == "aspect":
        _write_mask(tmp_path / "m" / "007.png", np.full((24, 30), 255))
        said = f"genxd: error: {tmp_path / 'm' / '007.png'}: the mask is 30x24 but held-out view scan8/0007 is 24x24"
    else:
        said = f"genxd: error: {tmp_path / 'm' / '007.png'}: no mask for held-out view scan8/0007 (--masks)"
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["eval-recon", str(dtu_like / "recon"), "--masks", str(tmp_path / "m"),
                                 "-o", str(out), "--no-lpips"])
    assert result.exit_code == 2 and result.output.strip().startswith(said), result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("target", [".", "004.png"])
def test_eval_recon_never_writes_its_metrics_over_the_masks(dtu_like, tmp_path, target: str) -> None:
    """The masks are inputs of the run: ``-o MASKS/004.png --overwrite`` replaced a held-out view's mask by the
    metrics after reading it (only a folder holding an input was refused)."""
    for i in (1, 2, 4, 5, 7):
        _write_mask(tmp_path / "m" / f"{i:03d}.png", np.full((24, 24), 255))
    before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}
    out = tmp_path / "m" / target
    result = runner.invoke(app, ["eval-recon", str(dtu_like / "recon"), "--masks", str(tmp_path / "m"),
                                 "-o", str(out), "--overwrite", "--no-lpips"])
    assert result.exit_code == 2 and f"--out {out.resolve() if target == '.' else out} is the input" in result.output, \
        result.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == before


def _reconstruct(rf, out, *extra) -> object:
    return runner.invoke(app, [str(a) for a in (
        "reconstruct", rf, "--out", out, "--n-views", 3, "--iterations", 3, "--resolution", 12, "--init", "random",
        "--init-points", 200, "--video-frames", 0, "--quiet", *extra)])


def test_reconstruct_n_views_masks_scores_the_held_out_views_masked(dtu_like, tmp_path) -> None:
    """``genxd reconstruct --n-views N --masks DIR``: the held-out metrics of reconstruction.json get the masked
    ones, as eval-recon's metrics.json (it had no --masks)."""
    for i in (1, 2, 4, 5, 7):
        _write_mask(tmp_path / "idrmasks" / "scan8" / f"{i:03d}.png", np.full((48, 48), 255))
    result = _reconstruct(dtu_like / "rf", tmp_path / "recon", "--masks", tmp_path / "idrmasks")
    assert result.exit_code == 0, result.output
    assert f"{MASKED_PROTOCOL}: PSNR" in result.output
    held_out = json.loads((tmp_path / "recon" / "reconstruction.json").read_text())["test_metrics"]
    masked = held_out["masked"]
    assert masked["masks"].endswith("idrmasks/scan8") and masked["ssim_definition"] == recon_metrics.REGNERF_SSIM
    assert masked["psnr"] == pytest.approx(held_out["psnr"], abs=1e-4)  # full masks: the unmasked PSNR
    assert [row["name"] for row in masked["per_view"]] == [row["name"] for row in held_out["per_view"]]


@pytest.mark.parametrize("case", ["missing", "aspect", "no-test-views"])
def test_reconstruct_masks_errors_are_one_line_before_training(dtu_like, tmp_path, case: str) -> None:
    for i in (1, 2, 4, 5):
        _write_mask(tmp_path / "m" / f"{i:03d}.png", np.full((24, 24), 255))
    out = tmp_path / "recon"
    if case == "no-test-views":
        from genxd.data.synthetic import make_scene, orbit_cameras, render

        from .helpers import write_views_folder

        c2w, K = orbit_cameras(4, radius=4.0, elevation_deg=25.0, azimuth_range_deg=60.0, focal=1.0)
        views = write_views_folder(tmp_path / "views", render(make_scene(2), c2w, K, 12, 12).rgb, c2w, K)
        result = runner.invoke(app, [str(a) for a in (
            "reconstruct", views, "--out", out, "--masks", tmp_path / "m", "--quiet")])
        said = "genxd: error: --masks scores the held-out views, and there are none"
    else:
        if case == "aspect":
            _write_mask(tmp_path / "m" / "007.png", np.full((24, 30), 255))
            said = f"genxd: error: {tmp_path / 'm' / '007.png'}: the mask is 30x24 but held-out view scan8/0007 is"
        else:
            said = f"genxd: error: {tmp_path / 'm' / '007.png'}: no mask for held-out view scan8/0007 (--masks)"
        result = _reconstruct(dtu_like / "rf", out, "--masks", tmp_path / "m")
    assert result.exit_code == 2 and result.output.strip().startswith(said), result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()
