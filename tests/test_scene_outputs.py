"""What writing a generated scene holds in memory: a long path's frames were converted to 8 bits through float
copies as large as the frames, side by side with the input (``compare.mp4``): about 7x the frames' own memory
(found by the large-inputs audit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
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
    # measured growth 61-82 MB in quiet runs and up to 104 MB on a loaded machine (frames 49 MB); before the fix 298 MB
    # (6x): 3x keeps the regression caught without failing on the spread
    assert grown < 3 * frames_bytes, (grown, frames_bytes)


def test_tensor_to_uint8_in_chunks_gives_the_same_pixels(monkeypatch):
    import genxd.utils.images as images

    x = torch.rand(2, 7, 3, 5, 4)
    x[0, 0, 0, 0, 0], x[1, 6, 2, 4, 3] = -0.5, 1.5  # clamped
    whole = (x.clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).numpy()
    monkeypatch.setattr(images, "_UINT8_CHUNK", 3, raising=False)  # several chunks and a shorter last one
    assert np.array_equal(tensor_to_uint8(x), whole)
    assert np.array_equal(tensor_to_uint8(x[0, 0]), whole[0, 0])
    assert np.array_equal(tensor_to_uint8(x[0, :1].expand(7, -1, -1, -1)), np.repeat(whole[0, :1], 7, axis=0))


def test_an_8_bit_left_shows_the_same_compare_video_as_its_floats(tmp_path, monkeypatch):
    """generate passes the input held in 8 bits (no float copy a frame): compare.mp4 gets the very pixels that its
    float form gave."""
    from pathlib import Path

    import genxd.scene_outputs as scene_outputs
    from genxd.utils.images import uint8_to_tensor

    shown: list[tuple[str, np.ndarray]] = []

    class Recorded:  # each video's frames, as the streaming writer gets them
        def __init__(self, path, *args, **kwargs):
            self.name, self.frames = Path(path).name, []

        def __enter__(self):
            return self

        def append(self, pixels):
            self.frames.append(np.array(pixels))

        def __exit__(self, *exc):
            shown.append((self.name, np.concatenate(self.frames)))

    monkeypatch.setattr(scene_outputs, "Mp4Stream", Recorded)
    f, side = 3, 8
    frames = torch.rand(f, 3, side, side)
    held = torch.randint(0, 256, (3, side, side), dtype=torch.uint8)
    c2w = torch.eye(4).repeat(f, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 1, f)
    K = torch.tensor([[10.0, 0, 4], [0, 10.0, 4], [0, 0, 1]]).repeat(f, 1, 1)
    for name, left in (("float", uint8_to_tensor(held)), ("uint8", held)):
        scene_outputs.write_scene(Path(tmp_path / name), frames, c2w, K, [0], left[None].expand(f, -1, -1, -1),
                                  {"mode": "3d"}, fps=8.0)
    (video_f, video_u), (compare_f, compare_u) = ([v for n, v in shown if n == name] for name in ("video.mp4",
                                                                                              "compare.mp4"))
    assert compare_u.dtype == np.uint8 and np.array_equal(compare_u, compare_f)
    assert np.array_equal(compare_u[:, :, :side], np.repeat(held.permute(1, 2, 0).numpy()[None], f, axis=0))


def test_a_stream_of_runs_is_closed_when_writing_stops_early(tmp_path):
    """A decoding stream (a generator of runs) that write_scene stops reading (a write failed) is closed there,
    not left open until collected: the pipeline's stream held the fp16 VAE upcast across its runs, and one kept
    by a traceback changed the VAE under the web app's next job."""
    from pathlib import Path

    from genxd.scene_outputs import write_scene

    state = []

    def runs():
        try:
            for _ in range(3):
                yield torch.rand(2, 3, 8, 8)
        finally:
            state.append("closed")

    f = 6
    c2w = torch.eye(4).repeat(f, 1, 1)
    K = torch.tensor([[10.0, 0, 4], [0, 10.0, 4], [0, 0, 1]]).repeat(f, 1, 1)
    stream = runs()
    with pytest.raises(ValueError, match="frames to show beside"):
        write_scene(Path(tmp_path / "scene"), stream, c2w, K, [0], torch.rand(3, 3, 8, 8), {"mode": "3d"}, fps=8.0)
    assert state == ["closed"]
    assert not (tmp_path / "scene").exists()


@pytest.mark.skipif(__import__("os").name != "posix", reason="POSIX permission bits")
def test_a_scene_folder_replaced_with_overwrite_keeps_its_permissions(tmp_path):
    """``genxd generate IMG -o OUT --overwrite`` (and reconstruct's, eval's output folders: all written by atomic_dir):
    a private 0o700 scene folder was replaced by one with the umask's permissions (0o755 under umask 022: the new
    video and frames readable by everyone)."""
    import os
    import stat
    from pathlib import Path

    from genxd.scene_outputs import write_scene

    f = 2
    c2w = torch.eye(4).repeat(f, 1, 1)
    K = torch.tensor([[10.0, 0, 4], [0, 10.0, 4], [0, 0, 1]]).repeat(f, 1, 1)
    scene = Path(tmp_path / "scene")
    write_scene(scene, torch.rand(f, 3, 8, 8), c2w, K, [0], torch.rand(f, 3, 8, 8), {"mode": "3d"}, fps=8.0)
    os.chmod(scene, 0o700)
    mask = os.umask(0o022)
    try:
        write_scene(scene, torch.rand(f, 3, 8, 8), c2w, K, [0], torch.rand(f, 3, 8, 8), {"mode": "3d"}, fps=8.0,
                    replace=True)
    finally:
        os.umask(mask)
    assert oct(stat.S_IMODE(scene.stat().st_mode)) == oct(0o700)
    assert (scene / "video.mp4").is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["scene"]
