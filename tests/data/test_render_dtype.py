"""``render(dtype=torch.float64)``: the same 8-bit frames from every CPU, whatever SIMD kernels torch picks there.

Float32 renders move in their last bits with the kernels a CPU picks and with the torch version, and some 8-bit
values with them, enough to change what SfM makes of a clip (docs/curation_accuracy.md, "How much a figure moves with
round-off"). Measured on three 16-frame 128-px 4D clips (seeds 0, 8, 18) against this project's AMD EPYC (AVX-512,
torch 2.13): an Intel Xeon (AVX-512, torch 2.11) differs in float32 by up to 0.16 (an edge pixel) on 31-41 % of the
values, 9-40 8-bit values per clip (rounded as the clip writers do); in float64 it gives the same float32 frames, bit for bit; without SIMD it
differs by at most 3.7e-6 on 0.3-0.8 % of the values, and no 8-bit value."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from genxd.data.synthetic import make_clip
from genxd.data.synthetic.writers import to_uint8_frames  # 8-bit as the clips are written

_CHILD = """
import sys, numpy as np, torch
from genxd.data.synthetic import make_clip
torch.set_num_threads(1)
print("CAPABILITY", torch.backends.cpu.get_cpu_capability())
for name, dtype in (("f32", torch.float32), ("f64", torch.float64)):
    np.save(sys.argv[1] + name + ".npy", make_clip(2103, "4d", 6, 96, 96, camera="dolly", render_dtype=dtype).images.numpy())
"""


def test_float64_renders_are_the_same_under_another_kernel_family(tmp_path):
    here = torch.backends.cpu.get_cpu_capability()
    if here == "DEFAULT":
        pytest.skip("this CPU already uses the plainest kernels: no other family to compare with")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    res = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "child_")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "CAPABILITY DEFAULT" in res.stdout, res.stdout
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ours = {name: make_clip(2103, "4d", 6, 96, 96, camera="dolly", render_dtype=dtype).images.numpy()
                for name, dtype in (("f32", torch.float32), ("f64", torch.float64))}
    finally:
        torch.set_num_threads(threads)
    theirs = {name: np.load(tmp_path / f"child_{name}.npy") for name in ours}

    assert ours["f64"].dtype == np.float32 and ours["f64"].shape == (6, 3, 96, 96)
    np.testing.assert_array_equal(*(to_uint8_frames(torch.from_numpy(x)) for x in (ours["f64"], theirs["f64"])))
    np.testing.assert_allclose(ours["f64"], theirs["f64"], atol=1e-5, rtol=0)  # measured: <= 3.7e-6
    # float32 renders agree only to round-off (measured, AMD EPYC, AVX-512 against none: 3 % of these values
    # differ, by up to 5.7e-5; another CPU and torch version: up to 0.16 at an edge pixel, so the mean is checked)
    assert float(np.mean(np.abs(ours["f32"] - theirs["f32"]))) < 1e-4
    # and float64 is float32 to round-off too: the same scene, not another one
    assert float(np.mean(np.abs(ours["f64"] - ours["f32"]))) < 1e-4


def test_render_refuses_other_dtypes():
    from genxd.data.synthetic import make_scene, render
    from genxd.data.synthetic.cameras import camera_path

    c2w, K = camera_path("orbit", 2, seed=0)
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        render(make_scene(0), c2w, K, 8, 8, dtype=torch.float16)
