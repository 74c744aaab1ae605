"""Photographs with exact ground truth: camera paths that only turn or only zoom (``genxd eval --modes photo-*``).

A camera that turns about its own centre, or only changes its focal length, sees every scene point
along the same ray as the input camera: novel view ``i`` is a **homography** of the input,
``x_0 ~ K_0 R_0^T R_i K_i^{-1} x_i``, over the pixels whose ray falls inside the input's field of
view (the *covered* pixels). Nothing about the scene's depth is needed, so any photograph has an
exact answer there; pixels outside the input's view have none and are not scored.

:func:`homography_views` computes the ground truth from a high-resolution picture of the input's
field of view (each output pixel: the mean of ``supersample x supersample`` bilinear samples; a
pixel is covered when all its samples are). :func:`evaluate_photos` runs a model on the held-out
photographs (:data:`genxd.data.synthetic.photos.HELD_OUT_PHOTOS`, never training data):

- the input view is the photo's central square seen with the model's default focal length
  (``generation_config.json``: 1.1), rendered by the same function with the identity camera;
- ``photo-pan``: the ``pan`` preset (rotate mode, 30 degrees to the right over the clip; what
  ``genxd generate --camera pan`` asks); ``photo-zoom``: the ``zoom`` preset (x1.5 over the clip);
  ``photo-look``: a look-around with the camera in place (yaw ``16 sin(2 pi t)`` degrees, pitch
  ``8 (1 - cos(2 pi t)) / 2`` degrees up, ``t = i / (F - 1)``);
- PSNR over the covered pixels of the non-input frames (one mean squared error over all of them),
  against the **repeat-input baseline** (every frame = the input) on the same pixels; per photo and
  the mean over photos.
"""

from __future__ import annotations

import statistics

import torch
import torch.nn.functional as F
from torch import Tensor

from .cameras import c2w_to_w2c, image_grid, intrinsics_from_focal, trajectories

__all__ = [
    "PHOTO_MODES",
    "homography_views",
    "square_crop",
    "photo_camera_path",
    "covered_psnr",
    "evaluate_photos",
]

#: ``genxd eval`` modes of this module.
PHOTO_MODES = ("photo-pan", "photo-zoom", "photo-look")


def homography_views(
    image: Tensor, K0: Tensor, c2w: Tensor, K: Tensor, height: int, width: int, supersample: int = 4,
    c2w0: Tensor | None = None, atol: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    """Exact novel views of a picture for cameras that share its centre.

    Args:
        image: ``[3, Hs, Ws]`` the input camera's view (any resolution; finer than the output is
            better, it is sampled bilinearly).
        K0: ``[3, 3]`` the input camera's normalised intrinsics (pixel-centre convention,
            ``docs/conventions.md``).
        c2w: ``[F, 4, 4]`` OpenCV camera-to-world of the novel views; K: ``[F, 3, 3]`` normalised.
        c2w0: ``[4, 4]`` the input camera (default: the identity, as in relative camera paths).
            Every camera centre must equal its centre (``atol``): otherwise there is no homography.
        height, width: output size; supersample: samples per pixel along each axis.
    Returns:
        ``frames [F, 3, height, width]`` in [0, 1] (0 where not covered) and ``covered [F, height,
        width]`` bool (every sample of the pixel sees inside the input's view, in front of it).
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be [3, H, W], got {tuple(image.shape)}")
    if c2w.ndim != 3 or c2w.shape[1:] != (4, 4) or K.shape != (c2w.shape[0], 3, 3):
        raise ValueError(f"c2w must be [F, 4, 4] and K [F, 3, 3], got {tuple(c2w.shape)}, {tuple(K.shape)}")
    if supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {supersample}")
    c2w = c2w.double()
    c2w0 = torch.eye(4, dtype=torch.float64) if c2w0 is None else c2w0.double()
    moved = (c2w[:, :3, 3] - c2w0[:3, 3]).norm(dim=-1)
    if float(moved.max()) > atol:
        raise ValueError(f"the cameras move (by up to {float(moved.max()):.3g}): only turning or zooming cameras "
                         "have a homography ground truth")
    s = int(supersample)
    hs, ws = height * s, width * s
    grid = image_grid(hs, ws, dtype=torch.float64).reshape(-1, 2)
    pix = torch.cat([grid, torch.ones_like(grid[:, :1])], -1)  # P 3
    d_i = pix @ torch.linalg.inv(K.double()).transpose(-1, -2)  # F P 3 (camera i)
    R0t = c2w_to_w2c(c2w0)[:3, :3]
    R = R0t @ c2w[:, :3, :3]  # camera i -> camera 0
    d0 = d_i @ R.transpose(-1, -2)  # F P 3
    p = d0 @ K0.double().T
    z = p[..., 2]
    front = z > 1e-9
    uv = p[..., :2] / torch.where(front, z, torch.ones_like(z))[..., None]
    inside = front & (uv >= 0).all(-1) & (uv <= 1).all(-1)
    sample_grid = (uv * 2 - 1).float().reshape(c2w.shape[0], hs, ws, 2)
    src = image.float()[None].expand(c2w.shape[0], -1, -1, -1)
    frames = F.grid_sample(src, sample_grid, mode="bilinear", padding_mode="border", align_corners=False)
    inside = inside.reshape(c2w.shape[0], 1, hs, ws).float()
    frames = frames * inside
    if s > 1:
        frames = F.avg_pool2d(frames, s)
        inside = F.avg_pool2d(inside, s)
    covered = inside[:, 0] > 1 - 1e-6
    return frames.clamp(0, 1), covered


def square_crop(image: Tensor, size: int) -> Tensor:
    """The central square of ``image [3, H, W]`` resized (antialiased) to ``size x size``."""
    _, H, W = image.shape
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    sq = image[:, top : top + side, left : left + side]
    return F.interpolate(sq[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def photo_camera_path(mode: str, num_frames: int, focal: float) -> tuple[Tensor, Tensor]:
    """The cameras of a photo mode (see the module docstring): ``(c2w [F, 4, 4], K [F, 3, 3])``."""
    if mode == "photo-pan":
        return trajectories.pan(num_frames, mode="rotate", focal=focal)
    if mode == "photo-zoom":
        return trajectories.zoom(num_frames, focal=focal)
    if mode == "photo-look":
        from .data.synthetic.cameras import look_around

        return look_around(num_frames, focal, yaw_deg=16.0, pitch_deg=8.0)
    raise ValueError(f"unknown photo mode {mode!r}; expected one of {', '.join(PHOTO_MODES)}")


def covered_psnr(pred: Tensor, gt: Tensor, covered: Tensor) -> float:
    """PSNR of ``pred``/``gt [N, 3, H, W]`` over the pixels where ``covered [N, H, W]`` (one MSE); NaN when no pixel
    is covered (no figure, rather than the 0 or +inf dB an empty mean would give)."""
    m = covered[:, None].expand_as(gt)
    if not bool(m.any()):
        return float("nan")
    mse = (pred - gt)[m].square().mean().clamp_min(1e-12)
    return float(10 * torch.log10(1.0 / mse))


def evaluate_photos(pipe, defaults: dict, modes: tuple[str, ...] = ("photo-pan", "photo-zoom"), steps: int | None = None,
                    guidance: float | None = None, photos: list[tuple[str, Tensor]] | None = None,
                    supersample: int = 8, progress: bool = True) -> dict:
    """Score ``pipe`` on photographs (default: the held-out set) for each of ``modes``.

    ``defaults``: the model's generation defaults (``resolution``, ``num_frames``, ``focal``, ...).
    Returns ``{mode: {"psnr", "baseline_psnr", "psnr_gain_db", "fraction_above_baseline",
    "covered_fraction", "per_photo": [{name, psnr, baseline_psnr, gain_db, covered_fraction}]}}``.
    """
    from .utils.progress import progress_bar, progress_write

    from .data.synthetic.photos import held_out_photos

    photos = held_out_photos() if photos is None else photos
    res, frames_n = int(defaults["resolution"]), int(defaults["num_frames"])
    focal = float(defaults.get("focal") or trajectories.AUTHORS_FOCAL)
    steps = int(steps or defaults["num_inference_steps"])
    guidance = float(guidance if guidance is not None else defaults["guidance_scale"])
    K0 = intrinsics_from_focal(focal).float()
    report: dict = {}
    for mode in modes:
        c2w, K = photo_camera_path(mode, frames_n, focal)
        rows = []
        for i, (name, photo) in enumerate(progress_bar(photos, desc=mode, disable=not progress)):
            source = square_crop(photo, res * supersample)
            gt, covered = homography_views(source, K0, c2w, K, res, res, supersample)
            inp, _ = homography_views(source, K0, torch.eye(4)[None], K0[None], res, res, supersample)
            out = pipe(inp[None], c2w[None], K[None], context_index=[[0]], mode="3d", num_inference_steps=steps,
                       guidance_scale=guidance, generator=torch.Generator().manual_seed(i)).frames[0].cpu().float()
            tgt = list(range(1, frames_n))
            p = covered_psnr(out[tgt], gt[tgt], covered[tgt])
            b = covered_psnr(inp.expand(len(tgt), -1, -1, -1), gt[tgt], covered[tgt])
            rows.append({"name": name, "psnr": p, "baseline_psnr": b, "gain_db": p - b,
                         "covered_fraction": float(covered[tgt].float().mean())})
            if progress:
                progress_write(f"{mode} {name}: {p:.2f} dB (repeat input {b:.2f} dB, {p - b:+.2f})")
        report[mode] = {
            "psnr": statistics.mean(r["psnr"] for r in rows),
            "baseline_psnr": statistics.mean(r["baseline_psnr"] for r in rows),
            "psnr_gain_db": statistics.mean(r["gain_db"] for r in rows),
            "fraction_above_baseline": sum(r["gain_db"] > 0 for r in rows) / len(rows),
            "covered_fraction": statistics.mean(r["covered_fraction"] for r in rows),
            "per_photo": rows,
        }
    if len(modes) > 1:
        report["photo_mean_gain_db"] = statistics.mean(report[m]["psnr_gain_db"] for m in modes)
    report["photo_settings"] = {"photos": [n for n, _ in photos], "focal": focal, "supersample": supersample,
                                "steps": steps, "guidance": guidance}
    return report

