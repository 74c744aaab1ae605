"""genxd.data.synthetic: the renderer's noise and ray-hit kernels give the bits of their plain forms (session 47).

``value_noise`` builds each lattice corner's hash from coordinate products computed once and mixes it in place,
and the sphere and box hits work in place on their temporaries: time only (the renderer's 256-px clips, the
test clips of the curation and camera tests). The frames of float64 renders are the same on every CPU
(docs/synthetic.md), so nothing may move by a bit: each kernel is checked against its plain form, kept here.
"""

from __future__ import annotations

import pytest
import torch

from genxd.data.synthetic import textures

render = pytest.importorskip("genxd.data.synthetic.render")  # the module, not the package's render function

_EPS, _INF = 1e-4, float("inf")


def _hash3_plain(ix, iy, iz, seed):
    h = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ (seed * 2654435 + 12345)
    for mult in (0x5BD1E995, 0x27D4EB2D):
        h = h & 0x7FFFFFFF
        h = (h * mult) & 0x7FFFFFFF
        h = h ^ (h >> 15)
    return (h & 0xFFFF).to(torch.float32) / 65535.0


def _value_noise_plain(points, seed):
    cell = torch.floor(points)
    frac = points - cell
    w = frac * frac * (3.0 - 2.0 * frac)
    ix, iy, iz = cell.to(torch.int64).unbind(-1)
    wx, wy, wz = w.unbind(-1)
    out = torch.zeros_like(wx)
    for dx in (0, 1):
        fx = wx if dx else 1.0 - wx
        for dy in (0, 1):
            fxy = fx * (wy if dy else 1.0 - wy)
            for dz in (0, 1):
                out = out + fxy * (wz if dz else 1.0 - wz) * _hash3_plain(ix + dx, iy + dy, iz + dz, seed)
    return out


def _hit_sphere_plain(o, d, size):
    r = size[..., 0]
    b = (o * d).sum(-1)
    c = (o * o).sum(-1) - r * r
    disc = b * b - c
    t = -b - torch.sqrt(disc.clamp_min(0.0))
    return torch.where((disc >= 0) & (t > _EPS), t, _INF)


def _hit_box_plain(o, d, size):
    d_safe = torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)
    inv = 1.0 / d_safe
    t1 = (-size - o) * inv
    t2 = (size - o) * inv
    t_near = torch.minimum(t1, t2).amax(-1)
    t_far = torch.maximum(t1, t2).amin(-1)
    return torch.where((t_near <= t_far) & (t_near > _EPS), t_near, _INF)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_noise_is_bitwise_its_plain_form(dtype):
    g = torch.Generator().manual_seed(0)
    points = torch.randn(4096, 3, generator=g, dtype=dtype) * 40.0  # negative cells too
    for seed in (0, 7, 1013):
        assert torch.equal(textures.value_noise(points, seed), _value_noise_plain(points, seed))
        cells = torch.floor(points).to(torch.int64)
        assert torch.equal(textures.hash3(*cells.unbind(-1), seed), _hash3_plain(*cells.unbind(-1), seed))
    assert torch.equal(textures.fractal_noise(points, 3, octaves=4),
                       sum(a * _value_noise_plain(points * 2.0**k, 3 + 1013 * k) for k, a in
                           enumerate((1.0, 0.5, 0.25, 0.125)))
                       / 1.875)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sphere_and_box_hits_are_bitwise_their_plain_forms(dtype):
    g = torch.Generator().manual_seed(1)
    o = torch.randn(2, 512, 4, 3, generator=g, dtype=dtype) * 3.0
    d = torch.nn.functional.normalize(torch.randn(2, 512, 4, 3, generator=g, dtype=dtype), dim=-1)
    d[:, :64, :, 1] = 0.0  # rays parallel to a slab: the 1e-12 guard
    size = torch.rand(4, 3, generator=g, dtype=dtype) + 0.5
    sphere, box = render._hit_sphere(o, d, size), render._hit_box(o, d, size)
    assert torch.isfinite(sphere).any() and torch.isinf(sphere).any()  # hits and misses both checked
    assert torch.isfinite(box).any() and torch.isinf(box).any()
    assert torch.equal(sphere, _hit_sphere_plain(o, d, size))
    assert torch.equal(box, _hit_box_plain(o, d, size))
