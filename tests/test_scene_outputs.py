"""What writing a generated scene holds in memory: a long path's frames were converted to 8 bits through float
copies as large as the frames, side by side with the input (``compare.mp4``): about 7x the frames' own memory
(found by the large-inputs audit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import torch

from genxd.utils.images import tensor_to_uint8

_MEASURE = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    import torch
    import genxd.cameras  # noqa: F401  (imports settled before the baseline)
    from genxd.scene_outputs import write_scene
    import imageio.v2, PIL.PngImagePlugin  # noqa: F401

    f, side = 160, 160
    frames = torch.rand(f, 3, side, side)
    left = torch.rand(1, 3, side, side).expand(f, -1, -1, -1)
    c2w = torch.eye(4).repeat(f, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 1, f)
    K = torch.tensor([[100.0, 0, 80], [0, 100.0, 80], [0, 0, 1]]).repeat(f, 1, 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    write_scene(Path(sys.argv[1]), frames, c2w, K, [0], left, {"mode": "3d"}, fps=8.0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(after - before, frames.numel() * 4)
""")


def test_writing_a_long_scene_holds_little_beyond_its_frames(tmp_path):
    """The peak while writing (a fresh process: its high-water mark) grows by about the frames' own float memory
    (their 8-bit copy, the input's, both side by side for compare.mp4: 4 bytes a value) and the libraries' first
    use; it grew by 6x the frames."""
    import os

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path / "scene")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    grown, frames_bytes = map(int, out.stdout.split()[-2:])
    assert (tmp_path / "scene" / "compare.mp4").is_file() and len(list((tmp_path / "scene" / "frames").iterdir())) == 160
    assert grown < 2 * frames_bytes, (grown, frames_bytes)


def test_tensor_to_uint8_in_chunks_gives_the_same_pixels(monkeypatch):
    import genxd.utils.images as images

    x = torch.rand(2, 7, 3, 5, 4)
    x[0, 0, 0, 0, 0], x[1, 6, 2, 4, 3] = -0.5, 1.5  # clamped
    whole = (x.clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).numpy()
    monkeypatch.setattr(images, "_UINT8_CHUNK", 3, raising=False)  # several chunks and a shorter last one
    assert np.array_equal(tensor_to_uint8(x), whole)
    assert np.array_equal(tensor_to_uint8(x[0, 0]), whole[0, 0])
    assert np.array_equal(tensor_to_uint8(x[0, :1].expand(7, -1, -1, -1)), np.repeat(whole[0, :1], 7, axis=0))
