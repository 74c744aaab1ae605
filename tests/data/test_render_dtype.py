"""``render(dtype=torch.float64)``: the same pixels from every CPU, whatever SIMD kernels torch picks there.

In float32 the kernels a CPU picks move a render in its last bits (object depths by up to 1.3e-3 on a 256-px dolly
clip without SIMD against AVX-512, and a few 8-bit values), which is enough to change what SfM makes of a clip
(docs/curation.md, "How much a figure moves with round-off"). Float64 tracing gives identical renders."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from genxd.data.synthetic import make_clip

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
    np.testing.assert_array_equal(ours["f64"], theirs["f64"])
    # float32 renders agree only to round-off (measured, AMD EPYC, AVX-512 against none: 3 % of these values
    # differ, by up to 5.7e-5; up to 9e-4 on object pixels of the 256-px clip)
    np.testing.assert_allclose(ours["f32"], theirs["f32"], atol=5e-3, rtol=0)
    # and float64 is float32 to round-off too: the same scene, not another one
    np.testing.assert_allclose(ours["f64"], ours["f32"], atol=0.3, rtol=0)
    assert np.mean(np.abs(ours["f64"] - ours["f32"])) < 1e-4


def test_render_refuses_other_dtypes():
    from genxd.data.synthetic import make_scene, render
    from genxd.data.synthetic.cameras import camera_path

    c2w, K = camera_path("orbit", 2, seed=0)
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        render(make_scene(0), c2w, K, 8, 8, dtype=torch.float16)
