"""Object-masked metrics of held-out views: the DTU protocol of RegNeRF, which pixelNeRF's and RegNeRF's DTU tables
use and ReconFusion (hence GenXD's few-shot DTU numbers) follows.

RegNeRF's evaluation (google-research/regnerf, ``eval.py`` and ``internal/datasets.py``, ``DTU._load_masks``), as
its code runs:

- masks: the IDR object masks of the test views, ``idrmasks/<scan>/mask/NNN.png`` for scans 40, 55, 63, 110 and
  114 and ``idrmasks/<scan>/NNN.png`` for the others, ``NNN`` the DTU image number (three digits); read as RGB,
  a channel counts as object where it is exactly 255 (``/ 255 == 1``), every other value as background; then
  downsized to the evaluation resolution by ``downsample(mask, 4, mode=cv2.INTER_NEAREST)``, whose
  ``cv2.resize(img, size, mode)`` hands the mode to ``dst``, not ``interpolation``: the resize is OpenCV's default
  bilinear (``INTER_LINEAR``), and a mask pixel on the object's edge becomes 0.25, 0.5 or 0.75 (the images too:
  their ``INTER_AREA`` is bilinear as well);
- PSNR: the MSE over the elements whose mask is exactly 1 (``((rgb - rgb_hat)[mask == 1] ** 2).mean()``);
- SSIM and LPIPS: over the whole image after putting the background of both images to white
  (``rgb * mask + (1 - mask)``, with the fractional mask); SSIM is scikit-image's
  (:func:`genxd.reconstruction.metrics.regnerf_ssim`: 7x7 uniform window, data range 2), not genxd's Gaussian one.

A held-out view's mask is looked up in the ``masks`` folder, in its ``<scene key>/`` subfolder when there is one
(the ``idrmasks`` folder itself), then in a ``mask/`` subfolder when there is one (the IDR layout): by view number
(``003.png`` for view 3) for a ReconFusion input and a DTU scan (IDR's layout, DTU's ``Rectified/scanN``), whose
view numbers are the DTU image numbers (IDR's ``mask/000.png`` ... ``048.png``); by the image's file name
(``frames/0003.jpg`` -> ``0003.png``) for another folder of images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..output_folders import check_inputs_kept
from ..utils.images import read_rgb
from ..utils.paths import require_file
from ..validation import arg
from .metrics import REGNERF_SSIM, psnr, regnerf_ssim

if TYPE_CHECKING:
    from .views import Views

__all__ = ["INDEXED_MASKS", "MASKED_PROTOCOL", "mask_folder", "mask_path", "mask_paths", "view_mask_paths", "load_masks",
           "load_view_masks", "masked_metrics", "load_held_out_masks", "masked_record"]

#: The inputs (:func:`genxd.reconstruction.views.detect_input_kind`) whose masks are found by view number.
INDEXED_MASKS = ("reconfusion", "idr", "dtu")
#: The protocol named in the metrics JSON.
MASKED_PROTOCOL = "regnerf dtu object masks"


def mask_folder(masks: Path, scene_key: str | None = None) -> Path:
    """The folder holding the masks of ``masks`` (see the module docstring): ``masks[/scene_key][/mask]``."""
    if not masks.exists():
        raise FileNotFoundError(f"{masks}: no such folder ({arg('masks')})")
    if not masks.is_dir():
        raise NotADirectoryError(f"{masks}: a file, not a folder of masks ({arg('masks')})")
    base = masks / scene_key if scene_key and (masks / scene_key).is_dir() else masks
    return base / "mask" if (base / "mask").is_dir() else base


def mask_path(folder: Path, index: int, name: str, by_index: bool) -> Path:
    """The mask file of view ``index`` (``name``): ``NNN.png`` by view number, else the image's stem + ``.png``."""
    return folder / (f"{index:03d}.png" if by_index else f"{Path(name).stem}.png")


def _read_mask(path: Path, name: str, input_size: tuple[int, int]) -> Tensor:
    """``[3, h, w]`` bool, True where a channel is 255; checks the aspect ratio against the view's ``(H, W)``."""
    require_file(path, f"no mask for held-out view {name} ({arg('masks')})")
    pixels = np.asarray(read_rgb(path, background=(0, 0, 0)))  # a transparent pixel is background
    h, w = pixels.shape[:2]
    height, width = input_size
    if abs(h * width / w - height) > 1:  # the mask scaled to the view's width: within a pixel of its height
        raise ValueError(f"{path}: the mask is {w}x{h} but held-out view {name} is {width}x{height} "
                         "(another aspect ratio: not this view's mask)")
    return torch.from_numpy(pixels == 255).permute(2, 0, 1)


def view_mask_paths(masks: Path, ids: Sequence[int], names: Sequence[str], scene_key: str | None = None,
                    by_index: bool = True) -> list[Path]:
    """The mask files of views ``ids`` (``names``) in ``masks`` (see the module docstring), existing or not."""
    return mask_paths(mask_folder(Path(masks), scene_key), ids, names, by_index)


def mask_paths(folder: Path, ids: Sequence[int], names: Sequence[str], by_index: bool = True) -> list[Path]:
    """The mask files of views ``ids`` (``names``) in the scene's mask ``folder`` (:func:`mask_folder`)."""
    return [mask_path(folder, index, name, by_index) for index, name in zip(ids, names)]


def load_view_masks(masks: Path, ids: Sequence[int], names: Sequence[str], input_size: tuple[int, int],
                    size: tuple[int, int], scene_key: str | None = None, by_index: bool = True) -> Tensor:
    """The masks of views ``ids`` (``names``) as ``[N, 3, H, W]`` float in [0, 1] at the metric ``size`` ``(H, W)``
    (bilinear, as RegNeRF's code ran: 1 inside the object, fractions on its edge), checked against the views'
    stored ``input_size``; a one-line error naming the file when one is missing, of another aspect ratio, or has no
    object pixel (1) at ``size``."""
    return load_masks(view_mask_paths(masks, ids, names, scene_key, by_index), names, input_size, size)


def load_masks(paths: Sequence[Path], names: Sequence[str], input_size: tuple[int, int],
               size: tuple[int, int]) -> Tensor:
    """:func:`load_view_masks` of the mask files ``paths`` (:func:`view_mask_paths`), one per view of ``names``."""
    out = []
    for path, name in zip(paths, names):
        mask = _read_mask(path, name, input_size).float()[None]
        if tuple(mask.shape[-2:]) != tuple(size):  # as cv2.resize's default INTER_LINEAR (half-pixel centres)
            mask = F.interpolate(mask, size=size, mode="bilinear", align_corners=False, antialias=False)
        mask = mask[0]
        if not (mask == 1).any():
            raise ValueError(f"{path}: no object pixel (255) at {size[1]}x{size[0]}: the protocol scores only "
                             f"the object, and held-out view {name} would have none")
        out.append(mask)
    return torch.stack(out) if out else torch.zeros(0, 3, *size)


@torch.no_grad()
def masked_metrics(renders: Tensor, targets: Tensor, masks: Tensor, names: Sequence[str],
                   lpips_fn: Callable[[Tensor, Tensor], Tensor] | None = None) -> dict[str, Any]:
    """RegNeRF's masked PSNR / SSIM (/ LPIPS) of ``renders`` against ``targets`` (``[N, 3, H, W]`` in [0, 1]) with
    ``masks`` (in [0, 1], broadcastable to them; PSNR over the elements at 1): means and per view, the protocol and
    its SSIM named."""
    renders, targets = renders.float().cpu(), targets.float().cpu()
    masks = masks.float().cpu().expand_as(targets)
    inside = (masks == 1).float()
    per_psnr = psnr(renders, targets, mask=inside)
    renders_on_white, targets_on_white = (x * masks + (1 - masks) for x in (renders, targets))
    per_ssim = regnerf_ssim(renders_on_white, targets_on_white)
    result: dict[str, Any] = {
        "protocol": MASKED_PROTOCOL,
        "ssim_definition": REGNERF_SSIM,
        "psnr": float(per_psnr.mean()),
        "ssim": float(per_ssim.mean()),
        "lpips": None,
        "per_view": [{"name": n, "psnr": float(p), "ssim": float(s), "object_fraction": float(m.mean())}
                     for n, p, s, m in zip(names, per_psnr, per_ssim, inside)],
    }
    if lpips_fn is not None:
        per_lpips = lpips_fn(renders_on_white, targets_on_white).cpu()
        result["lpips"] = float(per_lpips.mean())
        for row, value in zip(result["per_view"], per_lpips):
            row["lpips"] = float(value)
    return result


def load_held_out_masks(masks: str | os.PathLike[str], scene_key: str | None, test: Sequence[int], test_views: Views,
                        input_size: tuple[int, int], by_index: bool, out: Path,
                        out_option: str) -> tuple[Path, Tensor]:
    """The mask folder and the object masks of the held-out ``test_views`` (views ``test``) at their size
    (:mod:`genxd.reconstruction.masks`), before any work: a missing mask, one of another aspect ratio than the
    stored ``input_size`` or without object, or an ``out`` that is a mask file, is a one-line error."""
    folder = mask_folder(Path(masks), scene_key)
    paths = mask_paths(folder, test, test_views.names, by_index=by_index)
    check_inputs_kept(out, paths, out_option)
    return folder, load_masks(paths, test_views.names, input_size, (test_views.height, test_views.width))


def masked_record(held_out: tuple[Path, Tensor], renders: Tensor, test_views: Views,
                  lpips_fn: Callable[[Tensor, Tensor], Tensor] | None) -> dict[str, Any]:
    """The ``masked`` entry of a metrics record: the mask folder and RegNeRF's masked metrics of ``renders``
    (``held_out``: :func:`load_held_out_masks`' result)."""
    folder, view_masks = held_out
    return {"masks": str(folder.resolve()),
            **masked_metrics(renders, test_views.images, view_masks, test_views.names, lpips_fn)}
