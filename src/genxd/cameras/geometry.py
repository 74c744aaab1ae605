"""Camera maths in the project's one convention (see ``docs/conventions.md``).

- extrinsics: OpenCV camera-to-world ``c2w`` ``[..., 4, 4]`` (+x right, +y down, +z forward);
- intrinsics: normalised ``K`` ``[..., 3, 3]`` (fx/W, fy/H, cx/W, cy/H);
- pixel centres at half-integers.

All functions are pure, batched over leading dimensions and differentiable. They take tensors, or numpy arrays
(and nested lists) of numbers, as :func:`look_at` and the file writers do; the results are tensors.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "OPENCV_TO_OPENGL",
    "c2w_to_w2c",
    "w2c_to_c2w",
    "make_c2w",
    "relative_poses",
    "normalize_intrinsics",
    "denormalize_intrinsics",
    "intrinsics_from_focal",
    "image_grid",
    "ray_directions_camera",
    "rays",
    "plucker_rays",
    "project_points",
    "unproject_depth",
    "look_at",
    "opencv_to_opengl",
    "opengl_to_opencv",
    "check_rigid",
]

#: Right-multiplying an OpenCV c2w by this flips y and z, giving an OpenGL/nerfstudio c2w (and back).
OPENCV_TO_OPENGL = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64))


def _tensor(value: Any, name: str, matrix: tuple[int, int] | None = None, keep_integers: bool = False) -> Tensor:
    """``value`` as a tensor: a tensor as it is, a numpy array or list of numbers converted (floating point kept,
    integers and booleans as float32 unless ``keep_integers``). ``matrix``: the shape of its last two dimensions.
    InvalidType / InvalidValue (a TypeError / ValueError) naming ``name`` otherwise."""
    if not torch.is_tensor(value):
        from ..validation import InvalidType, InvalidValue

        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:  # ragged lists
            raise InvalidValue(f"{name} must be a tensor or an array of numbers, got {type(value).__name__} ({exc})"
                               [:300]) from None
        if array.dtype.kind not in "biuf":
            raise InvalidType(f"{name} must be a tensor or an array of numbers, got {type(value).__name__}"
                              + (f" of {array.dtype}" if isinstance(value, np.ndarray) else f" {value!r}"[:80]))
        value = torch.from_numpy(array if array.dtype.kind == "f" or keep_integers else array.astype(np.float32))
    elif not (value.is_floating_point() or value.is_complex() or keep_integers):
        value = value.float()
    if matrix is not None and tuple(value.shape[-2:]) != matrix:
        from ..validation import InvalidValue

        raise InvalidValue(f"{name} must be [..., {matrix[0]}, {matrix[1]}] matrices, got shape {tuple(value.shape)}")
    return value


def c2w_to_w2c(c2w: Tensor) -> Tensor:
    """Camera-to-world ``[..., 4, 4]`` to world-to-camera: the rigid inverse, exactly (R^T, -R^T t)."""
    c2w = _tensor(c2w, "c2w", (4, 4))
    R = c2w[..., :3, :3]
    t = c2w[..., :3, 3:]
    Rt = R.transpose(-1, -2)
    out = torch.zeros_like(c2w)
    out[..., :3, :3] = Rt
    out[..., :3, 3:] = -Rt @ t
    out[..., 3, 3] = 1
    return out


def w2c_to_c2w(w2c: Tensor) -> Tensor:
    """World-to-camera ``[..., 4, 4]`` to camera-to-world: the rigid inverse, exactly (R^T, -R^T t)."""
    return c2w_to_w2c(_tensor(w2c, "w2c", (4, 4)))  # the same inverse both ways; errors name the w2c


def make_c2w(R: Tensor, t: Tensor) -> Tensor:
    """Build ``[..., 4, 4]`` from a rotation ``[..., 3, 3]`` and translation ``[..., 3]``."""
    R, t = _tensor(R, "R", (3, 3)), _tensor(t, "t")
    out = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    out[..., :3, :3] = R
    out[..., :3, 3] = t
    out[..., 3, 3] = 1
    return out


def relative_poses(c2w: Tensor, reference: Tensor) -> Tensor:
    """Express cameras relative to a reference camera.

    Args:
        c2w: ``[..., N, 4, 4]`` camera-to-world.
        reference: ``[..., 4, 4]`` camera-to-world of the reference view.
    Returns:
        ``[..., N, 4, 4]``: ``inverse(reference) @ c2w``; the reference becomes the identity.
    """
    c2w, reference = _tensor(c2w, "c2w", (4, 4)), _tensor(reference, "reference", (4, 4))
    return torch.linalg.inv(reference).unsqueeze(-3) @ c2w


def normalize_intrinsics(K_pixels: Tensor, width: int, height: int) -> Tensor:
    """Pixel intrinsics ``[..., 3, 3]`` to normalised (divide row 0 by W, row 1 by H)."""
    K_pixels = _tensor(K_pixels, "K_pixels", (3, 3))
    K = K_pixels.clone()
    K[..., 0, :] = K_pixels[..., 0, :] / width
    K[..., 1, :] = K_pixels[..., 1, :] / height
    return K


def denormalize_intrinsics(K: Tensor, width: int, height: int) -> Tensor:
    """Normalised intrinsics ``[..., 3, 3]`` to pixel intrinsics."""
    K = _tensor(K, "K", (3, 3))
    out = K.clone()
    out[..., 0, :] = K[..., 0, :] * width
    out[..., 1, :] = K[..., 1, :] * height
    return out


def intrinsics_from_focal(
    fx: float | Tensor, fy: float | Tensor | None = None, cx: float = 0.5, cy: float = 0.5
) -> Tensor:
    """Normalised intrinsics from normalised focal lengths (focal in pixels / image size): ``fx``, ``fy`` finite and
    positive (a number, or a tensor / array of them for a batch), ``cx``, ``cy`` finite."""
    fy = fx if fy is None else fy
    fx_t, fy_t = _focal(fx, "fx"), _focal(fy, "fy")
    for name, value in (("cx", cx), ("cy", cy)):
        if not torch.isfinite(_tensor(value, name)).all():
            from ..validation import InvalidValue

            raise InvalidValue(f"{name} must be finite, got {value!r}"[:300])
    K = torch.zeros(*fx_t.shape, 3, 3)
    K[..., 0, 0] = fx_t
    K[..., 1, 1] = fy_t
    K[..., 0, 2] = cx
    K[..., 1, 2] = cy
    K[..., 2, 2] = 1
    return K


_FOCAL_RATIO = {"fx": "fx / W", "fy": "fy / H"}


def _focal(value: Any, name: str) -> Tensor:
    """A focal length (or a batch of them) as a float32 tensor; InvalidValue naming ``name`` unless finite and > 0."""
    from ..validation import Float, InvalidValue

    if isinstance(value, numbers.Real) or isinstance(value, (str, bytes)) or value is None:  # one number: Float's check
        value = Float(0.0, lo_open=True, why=f"a normalised focal length {_FOCAL_RATIO[name]}").check(value, name)
        return torch.tensor(float(value), dtype=torch.float32)
    t = _tensor(value, name)
    bad = ~(torch.isfinite(t) & (t > 0))
    if bool(bad.any()):
        shown = t[bad].flatten()[:3].tolist()
        raise InvalidValue(f"{name} must be finite numbers > 0 (normalised focal lengths {_FOCAL_RATIO[name]}), "
                           f"got {shown}"
                           + (f" ({int(bad.sum())} of {t.numel()})" if t.numel() > 1 else ""))
    return t.to(torch.float32)


def image_grid(
    height: int, width: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Normalised pixel-centre coordinates ``[H, W, 2]`` as (u, v) = ((j+0.5)/W, (i+0.5)/H)."""
    v = (torch.arange(height, device=device, dtype=dtype) + 0.5) / height
    u = (torch.arange(width, device=device, dtype=dtype) + 0.5) / width
    vv, uu = torch.meshgrid(v, u, indexing="ij")
    return torch.stack([uu, vv], dim=-1)


def _ray_directions_flat(K: Tensor, height: int, width: int, normalize: bool) -> Tensor:
    """Camera-space directions ``[..., H*W, 3]`` (row-major pixels)."""
    grid = image_grid(height, width, device=K.device, dtype=K.dtype).reshape(height * width, 2)
    grid = grid.expand(*K.shape[:-2], height * width, 2)
    pix = torch.cat([grid, torch.ones_like(grid[..., :1])], dim=-1)  # ... HW 3
    try:
        K_inv = torch.linalg.inv(K)
    except torch.linalg.LinAlgError:  # torch's "linalg.inv: (Batch element 0): The diagonal element 1 is zero ..."
        from ..validation import InvalidValue

        raise InvalidValue(f"K: singular intrinsics (a focal length of 0?), got {K.reshape(-1, 3, 3)[0].tolist()}"
                           ) from None
    d = torch.einsum("...ij,...j->...i", K_inv[..., None, :, :], pix)
    if normalize:
        d = d / d.norm(dim=-1, keepdim=True)
    return d


def ray_directions_camera(K: Tensor, height: int, width: int, normalize: bool = True) -> Tensor:
    """Camera-space ray directions ``[..., H, W, 3]`` through pixel centres.

    With ``normalize=False`` the directions have z = 1 (so depth * dir is the 3D point).
    """
    d = _ray_directions_flat(_tensor(K, "K", (3, 3)), height, width, normalize)
    return d.reshape(*d.shape[:-2], height, width, 3)


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether shapes ``a`` and ``b`` broadcast together (what ``torch.broadcast_shapes`` accepts). Written out: the
    first ``torch.broadcast_shapes`` of a process imports torch's reference ops and sympy, 0.3 s of CPU for every
    process that renders or computes rays and needs neither."""
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b)))


def rays(c2w: Tensor, K: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
    """World-space rays through pixel centres.

    Args:
        c2w: ``[..., 4, 4]``; K: ``[..., 3, 3]`` normalised (same leading shape).
    Returns:
        origins, directions: ``[..., H, W, 3]`` each; directions are unit length.

    The arithmetic (flattened pixels, homogeneous 4x4 transform of ``[d, 0]``, re-normalisation)
    follows the released GenXD code step for step, so ray maps agree with it to the last bit in
    float32: the sampling is sensitive enough for that to matter when reproducing its outputs.
    """
    c2w, K = _tensor(c2w, "c2w", (4, 4)), _tensor(K, "K", (3, 3))
    if not _broadcastable(c2w.shape[:-2], K.shape[:-2]):  # a mismatch failed in einsum: "dimension 0 covered by ..."
        raise ValueError(f"c2w {tuple(c2w.shape)} and K {tuple(K.shape)} have different camera counts (leading "
                         f"shapes must match or broadcast)")
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    d_cam = _ray_directions_flat(K, height, width, normalize=True)
    d_h = torch.cat([d_cam, torch.zeros_like(d_cam[..., :1])], dim=-1)  # ... HW 4
    d = torch.einsum("...ij,...j->...i", c2w[..., None, :, :], d_h)[..., :3]
    d = d / d.norm(dim=-1, keepdim=True)
    o = c2w[..., None, :3, 3].expand_as(d)
    shape = (*d.shape[:-2], height, width, 3)
    return o.reshape(shape), d.reshape(shape)


def plucker_rays(c2w: Tensor, K: Tensor, height: int, width: int) -> Tensor:
    """Plücker coordinates ``[..., 6, H, W]``: unit direction d, then moment o x d."""
    o, d = rays(c2w, K, height, width)
    m = torch.cross(o, d, dim=-1)
    return torch.cat([d, m], dim=-1).movedim(-1, -3)


def project_points(points: Tensor, c2w: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
    """Project world points ``[..., N, 3]`` into cameras ``c2w [..., 4, 4]``, ``K [..., 3, 3]``.

    Returns:
        uv: ``[..., N, 2]`` normalised image coordinates (multiply by W, H for pixels);
        depth: ``[..., N]`` z-depth in the camera (negative behind it).
    """
    points, K = _tensor(points, "points"), _tensor(K, "K", (3, 3))
    w2c = c2w_to_w2c(c2w)
    p = points @ w2c[..., :3, :3].transpose(-1, -2) + w2c[..., None, :3, 3]
    z = p[..., 2]
    uvw = p @ K.transpose(-1, -2)
    uv = uvw[..., :2] / uvw[..., 2:3]
    return uv, z


def unproject_depth(depth: Tensor, c2w: Tensor, K: Tensor) -> Tensor:
    """World points ``[..., H, W, 3]`` from z-depth maps ``[..., H, W]`` at pixel centres."""
    depth, c2w, K = _tensor(depth, "depth"), _tensor(c2w, "c2w", (4, 4)), _tensor(K, "K", (3, 3))
    H, W = depth.shape[-2:]
    d = ray_directions_camera(K, H, W, normalize=False)  # z = 1
    p_cam = d * depth[..., None]
    R = c2w[..., None, None, :3, :3]
    return (R @ p_cam[..., None]).squeeze(-1) + c2w[..., None, None, :3, 3]


def look_at(eye: Tensor, target: Tensor, up: Tensor | None = None) -> Tensor:
    """OpenCV camera-to-world ``[..., 4, 4]`` at ``eye`` looking at ``target``.

    ``up`` is the world up direction (default +y, i.e. ``[0, 1, 0]``); the camera's -y axis
    (image up) is aligned with it as far as possible.
    """
    eye = torch.as_tensor(eye, dtype=torch.float32) if not torch.is_tensor(eye) else eye
    target = torch.as_tensor(target, dtype=eye.dtype, device=eye.device)
    if up is None:
        up = torch.tensor([0.0, 1.0, 0.0], dtype=eye.dtype, device=eye.device)
    up = torch.as_tensor(up, dtype=eye.dtype, device=eye.device)
    z = target - eye
    z_norm = z.norm(dim=-1, keepdim=True)
    if not bool(torch.isfinite(z).all()) or bool((z_norm < 1e-12).any()):  # was a NaN matrix, silently
        raise ValueError("look_at: eye and target must be finite and apart (the viewing direction is target - eye)")
    z = z / z_norm
    # x = z cross up makes y = z cross x = -(up's component orthogonal to z): image up (-y) = world up.
    x = torch.cross(z, up.expand_as(z), dim=-1)
    x_norm = x.norm(dim=-1, keepdim=True)
    if bool((x_norm < 1e-8).any()):
        raise ValueError("look_at: viewing direction is parallel to the up vector")
    x = x / x_norm
    y = torch.cross(z, x, dim=-1)
    R = torch.stack([x, y, z], dim=-1)
    return make_c2w(R, eye)


def opencv_to_opengl(c2w: Tensor) -> Tensor:
    """OpenCV c2w to OpenGL/nerfstudio c2w (flip the camera's y and z axes)."""
    c2w = _tensor(c2w, "c2w", (4, 4))
    return c2w @ OPENCV_TO_OPENGL.to(c2w)


def opengl_to_opencv(c2w: Tensor) -> Tensor:
    """OpenGL/nerfstudio c2w to OpenCV c2w (flip the camera's y and z axes back)."""
    return opencv_to_opengl(c2w)  # the flip is its own inverse


def check_rigid(c2w: Tensor, name: str = "c2w", atol: float = 1e-3) -> None:
    """Raise ValueError unless ``c2w [..., 4, 4]`` are finite rigid transforms."""
    c2w = _tensor(c2w, name)
    if c2w.shape[-2:] != (4, 4):
        raise ValueError(f"{name}: expected [..., 4, 4] matrices, got shape {tuple(c2w.shape)}")
    if not torch.isfinite(c2w).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    R = c2w[..., :3, :3].double()
    eye = torch.eye(3, dtype=R.dtype, device=R.device)
    if (R @ R.transpose(-1, -2) - eye).abs().max() > atol:
        raise ValueError(f"{name}: rotation part is not orthonormal (not a rigid camera pose)")
    if (torch.linalg.det(R) - 1).abs().max() > atol:
        raise ValueError(f"{name}: rotation has determinant != +1 (reflection), not a rigid camera pose")
    last = c2w[..., 3, :].double()
    ref = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=last.dtype, device=last.device)
    if (last - ref).abs().max() > atol:
        raise ValueError(f"{name}: last row must be [0, 0, 0, 1]")
