"""The views' lenses and sizes: the pinhole camera a view with lens distortion is undistorted to (as ``genxd
reconstruct`` undistorts it) and the checks that an image fits its camera (aspect ratio; a distorted view's exact
size), on decoded images and on the files' headers. Used by the clip datasets (:mod:`.clips`, :mod:`.camvid`,
:mod:`.multiview`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from torch import Tensor

__all__ = ["Lens", "pinhole_views", "undistort_views", "check_view_sizes", "view_size_error", "check_image_headers"]

#: one view's lens: ``(COLMAP model, params in pixels, height, width)`` of a camera with distortion terms
Lens = tuple[str, tuple[float, ...], int, int]


def pinhole_views(models: Sequence[str], params: Sequence[Sequence[float]], heights: Sequence[int],
                  widths: Sequence[int], K: Tensor, undistort: bool = True, where: str = "cameras",
                  names: Sequence[str] | None = None) -> tuple[Tensor, list[Lens | None] | None]:
    """``(K, lenses)`` of views whose COLMAP cameras are ``(models, params)`` of size ``heights x widths``.

    Views of a camera with distortion terms (``genxd curate``'s ``SIMPLE_RADIAL``, nerfstudio's ``OPENCV``) get the
    normalised ``K`` of the pinhole camera COLMAP's undistorter gives them (:func:`genxd.reconstruction.undistort.
    undistorted_camera`, as ``genxd reconstruct`` does) and their lens in ``lenses``, for :func:`undistort_views` to
    resample their pixels; pinhole views keep their ``K`` (lens None). ``lenses`` is None when no view has distortion,
    or with ``undistort=False`` (the distortion is then ignored, as the authors' training did). A fisheye camera with
    ``undistort=False`` is a ValueError naming ``where`` (the file) and the view (``names[i]``, else its index): its
    focal length is not a pinhole camera's, so its ``K`` would give the views another field of view.
    """
    from ...cameras.colmap import PINHOLE_MODELS, is_fisheye_model

    if not undistort:
        fisheye = next((i for i, m in enumerate(models) if is_fisheye_model(str(m))), None)
        if fisheye is not None:
            view = repr(names[fisheye]) if names is not None else f"{fisheye}"
            raise ValueError(f"{where}: view {view} has camera model {models[fisheye]}, a fisheye camera; its focal "
                             "length is not a pinhole camera's: the dataset option undistort: false (in its data.datasets "
                             "entry; undistort=False) takes radial lenses only, set it to true to undistort the views")
        return K, None

    if all(m in PINHOLE_MODELS for m in models):
        return K, None
    from ...reconstruction.undistort import undistorted_camera

    K = K.clone()
    lenses: list[Lens | None] = []
    known: dict[Lens, Tensor] = {}
    for i, (model, p, h, w) in enumerate(zip(models, params, heights, widths)):
        if model in PINHOLE_MODELS:
            lenses.append(None)
            continue
        lens = (str(model), tuple(float(x) for x in p), int(h), int(w))
        if lens not in known:
            known[lens] = undistorted_camera(*lens)[0]
        K[i] = known[lens].to(K.dtype)
        lenses.append(lens)
    return K, lenses


def undistort_views(images: Sequence[Tensor], lenses: Sequence[Lens | None], grids: Any = None) -> list[Tensor]:
    """Each ``[3, H, W]`` image as the pinhole camera :func:`pinhole_views` gave it sees it (lens None: unchanged);
    the images are at their cameras' sizes (:func:`check_view_sizes` refuses others: the lens is in those pixels).
    ``grids``: a :class:`genxd.reconstruction.undistort.GridCache` kept by the dataset across items."""
    if all(lens is None for lens in lenses):
        return list(images)
    from ...reconstruction.undistort import undistort_images

    models = [("PINHOLE" if lens is None else lens[0]) for lens in lenses]
    params = [(() if lens is None else lens[1]) for lens in lenses]
    return undistort_images(images, models, params, grids=grids)[0]


def check_view_sizes(images: Sequence[Tensor], sizes: Sequence[tuple[int, int] | None] | None,
                     lenses: Sequence[Lens | None] | None, names: Sequence[str]) -> None:
    """A ValueError naming the file when an image does not fit its camera (:func:`view_size_error`): not of its
    camera's aspect ratio (``sizes``: the camera's ``(H, W)``, None when unknown; a copy scaled by one factor fits its
    normalised intrinsics and passes, within a pixel of rounding; a turned or cropped one would be trained with
    intrinsics of another image), or, for a view with lens distortion (``lenses``), not exactly its camera's size."""
    for i, (image, name) in enumerate(zip(images, names)):
        error = view_size_error(name, (image.shape[-2], image.shape[-1]), None if sizes is None else sizes[i],
                                None if lenses is None else lenses[i])
        if error is not None:
            raise ValueError(error)


def view_size_error(name: str, image_size: tuple[int, int], camera_size: tuple[int, int] | None,
                    lens: Lens | None) -> str | None:
    """Why an image of ``image_size (H, W)`` does not fit its camera, or None: another aspect ratio than the
    camera's ``camera_size (H, W)`` (None: unknown), or another size than a camera with lens distortion (``lens``)."""
    h, w = image_size
    if camera_size is not None:
        ch, cw = camera_size
        if abs(w * ch - h * cw) > max(ch, cw):
            return (f"{name}: image is {w}x{h}, its camera says {cw}x{ch}: another aspect ratio (a turned or cropped "
                    "copy?), which its intrinsics do not describe")
    if lens is not None and (h, w) != lens[2:]:
        return (f"{name}: image is {w}x{h}, its camera ({lens[0]}, with lens distortion) says {lens[3]}x{lens[2]}; "
                "undistorting needs the images at that size")
    return None


def check_image_headers(paths: Sequence[Path], sizes: Sequence[tuple[int, int] | None] | None,
                        lenses: Sequence[Lens | None] | None) -> None:
    """The checks of :func:`check_view_sizes` on the image files' headers, when a dataset
    is made (PIL reads the size without decoding): a ValueError naming the first file that does not fit its camera
    (or whose header is not a readable image), before training starts rather than in a DataLoader worker."""
    if sizes is None and lenses is None:
        return
    from ...utils.image_limits import ImageRefusedError, open_image

    for i, path in enumerate(paths):
        size = None if sizes is None else sizes[i]
        lens = None if lenses is None else lenses[i]
        if size is None and lens is None:
            continue
        try:
            with open_image(path) as im:
                width, height = im.size
        except ImageRefusedError:
            raise
        except Exception as exc:  # noqa: BLE001 - as _decode_image words it: the file is not a readable image
            raise ValueError(f"{path}: cannot read image ({exc.__class__.__name__}: {exc})") from None
        error = view_size_error(str(path), (height, width), size, lens)
        if error is not None:
            raise ValueError(error)
