"""Image metrics for reconstruction: PSNR, SSIM (Gaussian window 11, sigma 1.5) and optional LPIPS; the SSIM of
RegNeRF's DTU evaluation (:func:`regnerf_ssim`).

SSIM follows Wang et al. 2004: a separable Gaussian window of size 11 and sigma 1.5, ``C1 = (0.01 L)^2``,
``C2 = (0.03 L)^2`` with data range ``L = 1``, averaged over the "valid" region (no padding) and the channels:
scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1)`` and the ``compute_ssim`` of mip-NeRF 360's evaluation code (which also clips the (co)variances).
3DGS (zero padding) and torchmetrics 1.x (reflection padding) average over the whole image instead and read
higher on small images (a 64 px render pair: 0.416 and 0.333 against 0.280).
LPIPS is computed only when the ``lpips`` package and its backbone weights are already on disk:
nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from ..utils.gaussian_filter import gaussian_kernel_1d, separable_filter

__all__ = ["psnr", "ssim", "GAUSSIAN_SSIM", "REGNERF_SSIM", "regnerf_ssim", "gaussian_window", "load_lpips", "load_lpips_module", "lpips_weights_available",
           "lpips_unavailable_reason"]


def _check_pair(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim < 3:
        raise ValueError(f"images: expected [..., C, H, W], got {tuple(a.shape)}")
    if a.dtype != b.dtype and not (a.is_floating_point() and b.is_floating_point()):
        raise ValueError(f"images of one kind expected, got {a.dtype} and {b.dtype} (make both float in [0, 1])")
    if not a.is_floating_point() and a.dtype not in _UNSIGNED:
        raise ValueError(f"images must be float or unsigned integers (uint8, uint16, uint32, uint64), got {a.dtype}")


#: the unsigned integer image dtypes, whose data range is their largest value (255 for uint8)
_UNSIGNED = tuple(getattr(torch, name) for name in ("uint8", "uint16", "uint32", "uint64") if hasattr(torch, name))


def _max_level(t: Tensor) -> int:
    """The largest value of a non-empty unsigned integer tensor. torch has no max for uint16 / uint32 / uint64
    (NotImplementedError), so it is taken on a widened copy (int64), or for uint64 on its bits read as int64: the
    negative ones are the values from 2**63 up (exact; float64 rounded values above 2**53)."""
    if t.dtype == torch.uint8:
        return int(t.max())
    if t.dtype != getattr(torch, "uint64", None):
        return int(t.to(torch.int64).max())
    bits = t.view(torch.int64)
    high = bits[bits < 0]
    return int(high.max()) + 2**64 if high.numel() else int(bits.max())


def _data_range(a: Tensor, b: Tensor, data_range: float | None) -> float:
    """The data range of the images ``a``, ``b`` (checked by :func:`_check_pair`): ``data_range``, by default 1 for
    float images and the dtype's largest value for unsigned integer ones (as scikit-image); a ValueError when
    integer images hold values above a ``data_range`` given (uint8 levels scored as if in [0, 1])."""
    if a.is_floating_point():
        return 1.0 if data_range is None else float(data_range)
    top = torch.iinfo(a.dtype).max
    if data_range is None:
        return float(top)
    high = max(_max_level(a), _max_level(b)) if a.numel() else 0
    if high > data_range:
        raise ValueError(f"{a.dtype} images hold values up to {high}, above data_range={data_range:g}; leave "
                         f"data_range out (the dtype's range, {top}) or give the range of their values")
    return float(data_range)


def _level_difference(a: Tensor, b: Tensor) -> Tensor:
    """``a - b`` of unsigned integer images in float64, rounded once: float32 overflows on squares of uint64 levels
    and loses differences above 2**24 (2**32 - 1 and 2**32 - 2 are one float32). uint64 levels are split into
    32-bit halves (their bits read as int64), whose differences are exact."""
    if a.dtype != getattr(torch, "uint64", None):
        return (a.to(torch.int64) - b.to(torch.int64)).to(torch.float64)

    def halves(t: Tensor) -> tuple[Tensor, Tensor]:
        bits = t.view(torch.int64)
        low = bits & 0xFFFFFFFF
        high = (bits - low) >> 32
        return torch.where(high < 0, high + 2**32, high), low

    (ha, la), (hb, lb) = halves(a), halves(b)
    return (ha - hb).to(torch.float64) * 2.0**32 + (la - lb).to(torch.float64)


def _float_images(a: Tensor, b: Tensor, what: str) -> None:
    """A ValueError for integer images where ``what`` takes float ones in [0, 1] only."""
    if not a.is_floating_point():
        name = str(a.dtype).removeprefix("torch.")
        raise ValueError(f"{what} takes float images in [0, 1], got {name} (divide its levels by "
                         f"{torch.iinfo(a.dtype).max})")


def psnr(pred: Tensor, target: Tensor, data_range: float | None = None, mask: Tensor | None = None) -> Tensor:
    """PSNR in dB per image ``[...]`` of images ``[..., C, H, W]`` (MSE over C, H, W).

    ``data_range``: default 1 for float images, the dtype's largest value for unsigned integer ones (255 for
    ``uint8``, as scikit-image); other dtypes, a float and an integer image, or integer images above a
    ``data_range`` given are a ValueError.

    ``mask`` (0 / 1, the images' shape or broadcastable to it): the MSE over the masked elements only, as
    RegNeRF's masked DTU PSNR (:mod:`genxd.reconstruction.masks`); an empty mask gives NaN.
    """
    _check_pair(pred, target)
    data_range = _data_range(pred, target, data_range)
    levels = not pred.is_floating_point()
    err = (_level_difference(pred, target) if levels else pred.float() - target.float()) ** 2
    if mask is None:
        mse = err.flatten(-3).mean(-1)
    else:
        weight = mask.to(err).expand_as(err)
        mse = (err * weight).flatten(-3).sum(-1) / weight.flatten(-3).sum(-1)
    # integer levels: in float64 (data_range**2 is 2**128 for uint64, past float32), the figure then as float32
    out = 10.0 * torch.log10(data_range**2 / mse.clamp_min(1e-12))
    return out.float() if levels else out


def gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:
    """Normalised 2D Gaussian window ``[size, size]``."""
    g = gaussian_kernel_1d(size, sigma)
    return g[:, None] * g[None, :]


def ssim(
    pred: Tensor,
    target: Tensor,
    window_size: int = 11,
    sigma: float = 1.5,
    data_range: float | None = None,
    *,
    kernel: Tensor | None = None,
    cov_norm: float = 1.0,
) -> Tensor:
    """Mean SSIM per image ``[...]`` of images ``[..., C, H, W]`` (differentiable).

    ``kernel``: the separable 1-D window (default: the Gaussian of ``window_size`` and ``sigma``); the images are
    computed in its dtype. ``cov_norm`` scales the (co)variances (``w²/(w²-1)``: the sample covariance of a box of
    ``w x w``). ``data_range``: as :func:`psnr`'s (default 1 for float images, 255 for ``uint8``).
    Images smaller than the window (``H`` or ``W`` under ``window_size``, 11 by default; the kernel's length when
    given) are refused with a ValueError: the score is the mean over the valid region, with no padding."""
    _check_pair(pred, target)
    data_range = _data_range(pred, target, data_range)
    g = gaussian_kernel_1d(window_size, sigma) if kernel is None else kernel
    g = g.to(pred.device)
    size = g.numel()
    if min(pred.shape[-2:]) < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {tuple(pred.shape[-2:])}")
    lead = pred.shape[:-3]
    if not pred.is_floating_point():  # levels in [0, 1] (the same SSIM): uint64 squares overflow float32
        pred, target = pred.to(torch.float64) / data_range, target.to(torch.float64) / data_range
        data_range = 1.0
    x = pred.to(g.dtype).reshape(-1, *pred.shape[-3:])
    y = target.to(g.dtype).reshape(-1, *target.shape[-3:])
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    # the five maps filtered together (one grouped convolution per direction, not five: the loss of
    # genxd reconstruct calls this every step on small images, where each call's overhead is most of its cost)
    mu_x, mu_y, xx, yy, xy = separable_filter(torch.cat([x, y, x * x, y * y, x * y], 1), g).chunk(5, 1)
    sxx = cov_norm * (xx - mu_x**2)
    syy = cov_norm * (yy - mu_y**2)
    sxy = cov_norm * (xy - mu_x * mu_y)
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2)
    return (num / den).flatten(1).mean(-1).reshape(lead)


#: genxd's SSIM (:func:`ssim`), as named in a metrics JSON.
GAUSSIAN_SSIM = ("Gaussian window 11, sigma 1.5, population covariance, data range 1, C1 = (0.01 L)^2, "
                 "C2 = (0.03 L)^2, mean over the valid region (no padding) and the channels, as scikit-image "
                 "structural_similarity(gaussian_weights=True, use_sample_covariance=False, data_range=1) and "
                 "mip-NeRF 360's compute_ssim; unlike 3DGS (zero padding) and torchmetrics (reflection padding), "
                 "which average over the whole image")
#: :func:`regnerf_ssim`, as named in a metrics JSON.
REGNERF_SSIM = ("scikit-image structural_similarity as RegNeRF's eval.py calls it (multichannel=True, scikit-image "
                "0.17.2): uniform 7x7 window, sample covariance (49/48), data range 2 (float images' default), "
                "C1 = (0.01 L)^2, C2 = (0.03 L)^2, mean over the valid region, then over the channels")


def regnerf_ssim(pred: Tensor, target: Tensor, window_size: int = 7, data_range: float = 2.0) -> Tensor:
    """SSIM per image ``[...]`` of images ``[..., C, H, W]`` as RegNeRF's DTU numbers computed it (:data:`REGNERF_SSIM`):
    ``skimage.metrics.structural_similarity(x, y, channel_axis=-1, data_range=2)`` of each image in HWC layout.

    RegNeRF's ``eval.py`` calls ``structural_similarity(x, y, multichannel=True)`` on float images without a
    ``data_range``, which scikit-image 0.17 (pinned in its requirements) takes from the float dtype's range
    ``(-1, 1)``: 2, not 1. :func:`ssim` in float64 with a box window: its "valid" region is scikit-image's crop of
    ``(window_size - 1) // 2`` pixels at each border; not differentiable. Integer images are a ValueError (RegNeRF
    scored float images in [0, 1]; its range of 2 is that of the float dtype)."""
    _float_images(pred, target, "regnerf_ssim")  # the pair: checked by ssim
    box = torch.full((window_size,), 1.0 / window_size, dtype=torch.float64)
    return ssim(pred.detach().cpu(), target.detach().cpu(), data_range=data_range, kernel=box,
                cov_norm=window_size**2 / (window_size**2 - 1))


def _torch_hub_checkpoint(file_name: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


_BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def lpips_weights_available(net: str = "alex") -> bool:
    """Whether ``lpips`` is importable and its ``net`` backbone weights are cached locally."""
    try:
        import lpips  # noqa: F401
    except Exception:
        return False
    name = _BACKBONE_FILES.get(net)
    return name is not None and _torch_hub_checkpoint(name).is_file()


def lpips_unavailable_reason(net: str = "alex") -> str | None:
    """Why LPIPS cannot be computed here, in a few words (None when it can): the package or its backbone
    weights missing, naming where the weights are looked for (nothing is downloaded)."""
    import importlib

    try:
        importlib.import_module("lpips")
    except Exception as exc:  # noqa: BLE001 - any import failure means no LPIPS
        return f"the lpips package cannot be imported ({exc.__class__.__name__}: {exc}); pip install lpips"
    name = _BACKBONE_FILES.get(net)
    if name is None:
        return f"no backbone named {net!r}"
    path = _torch_hub_checkpoint(name)
    return None if path.is_file() else f"no {net} backbone weights at {path} (nothing is downloaded)"


def load_lpips_module(net: str = "alex", device: torch.device | str = "cpu") -> torch.nn.Module | None:
    """The ``lpips.LPIPS`` network (inputs in [-1, 1], differentiable, frozen), or None when the
    package or its backbone weights are not available locally (never downloads)."""
    if not lpips_weights_available(net):
        return None
    import lpips

    try:
        model = lpips.LPIPS(net=net, verbose=False).to(device).eval()
    except Exception:  # pragma: no cover - depends on local files
        return None
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_lpips(net: str = "alex", device: torch.device | str = "cpu") -> Callable[[Tensor, Tensor], Tensor] | None:
    """An LPIPS function ``(pred, target) [N, 3, H, W] in [0, 1] -> [N]``, or None when the package
    or its weights are not available locally (never downloads)."""
    model = load_lpips_module(net, device)
    if model is None:
        return None

    @torch.no_grad()
    def fn(pred: Tensor, target: Tensor) -> Tensor:
        _check_pair(pred, target)
        _float_images(pred, target, "LPIPS")
        return model(pred.to(device) * 2 - 1, target.to(device) * 2 - 1).flatten()

    return fn
