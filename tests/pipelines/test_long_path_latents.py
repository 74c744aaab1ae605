"""A long path's noise drawn a chunk at a time is the single draw's, bit for bit, and leaves the generator where it
would; its latents in a file read and write as a tensor does."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from genxd.pipelines.long_path_latents import ChunkedNoise, DiskLatents, noise_chunks


# frames of 4 x h x w values: multiples of 16 (8x8, 16x16) and not (1x1, 3x3, 9x9, 5x7: the kernel's tail differs)
@pytest.mark.parametrize("frame_shape", [(4, 1, 1), (4, 3, 3), (4, 8, 8), (4, 9, 9), (4, 5, 7), (4, 16, 16)])
@pytest.mark.parametrize("num_frames", [1, 3, 17, 50])
@pytest.mark.parametrize("chunk_values", [1, 100, 1000, None])
def test_chunked_noise_is_one_draw_of_the_path(frame_shape, num_frames, chunk_values):
    whole_gen, chunked_gen = torch.Generator().manual_seed(num_frames), torch.Generator().manual_seed(num_frames)
    whole = torch.cat([torch.randn((1, num_frames, *frame_shape), generator=whole_gen, dtype=torch.float32)
                       for _ in range(2)])  # two scenes from one generator, one after the other
    noise = ChunkedNoise([chunked_gen, chunked_gen], num_frames, frame_shape, chunk_values)
    # the generator where the single draws left it (the window seeds are drawn next)
    assert torch.equal(torch.randint(0, 2**62, (4,), generator=chunked_gen),
                       torch.randint(0, 2**62, (4,), generator=whole_gen))
    order = list(range(num_frames))[::-1] + [0, num_frames - 1, num_frames // 2]  # chunks drawn again, in any order
    for s in (1, 0):
        assert torch.equal(noise.frames(s, order), whole[s, order])


def test_chunks_are_multiples_of_16_values_the_last_at_least_16():
    for frame_values in (4, 12, 36, 100, 256, 324):
        for n in (1, 2, 3, 5, 40):
            for chunk_values in (1, 50, 700):
                chunks = noise_chunks(n, frame_values, chunk_values)
                assert [s for s, _ in chunks] == [0] + [e for _, e in chunks[:-1]] and chunks[-1][1] == n
                assert all((e - s) * frame_values % 16 == 0 for s, e in chunks[:-1])
                assert (chunks[-1][1] - chunks[-1][0]) * frame_values >= min(16, n * frame_values)


def test_chunked_noise_from_the_global_generator():
    torch.manual_seed(3)
    whole = torch.randn((1, 9, 4, 3, 3), dtype=torch.float32)
    after = torch.rand(2)
    torch.manual_seed(3)
    noise = ChunkedNoise([None], 9, (4, 3, 3), 40)
    assert torch.equal(torch.rand(2), after) and torch.equal(noise.frames(0, range(9)), whole[0])


def test_chunked_noise_keeps_a_few_chunks():
    noise = ChunkedNoise([torch.Generator().manual_seed(0)], 1000, (4, 2, 2), 16 * 10)  # chunks of 10 frames
    noise.frames(0, [5, 995, 500, 501])
    assert len(noise._kept[0]) == 2 and sum(len(c) for c in noise._kept[0].values()) == 20


def test_disk_latents_read_and_write_as_a_tensor(tmp_path):
    ref = torch.zeros(2, 11, 4, 3, 5)
    disk = DiskLatents(2, 11, (4, 3, 5), tmp_path)
    assert list(tmp_path.iterdir()) == []  # an unnamed file
    for s, frames in [(0, [3, 4, 5, 9]), (1, [10, 0, 1]), (0, [0])]:
        values = torch.randn(len(frames), 4, 3, 5)
        ref[s, frames] = values
        disk.write(s, frames, values)
    assert torch.equal(disk.whole(), ref)
    scene = disk[1]
    assert scene.shape == ref[1].shape and len(scene) == 11
    for key in [slice(2, 7), [10, 1, 0], torch.tensor([4, 0]), 10, -1, (None, slice(0, 3)), (slice(1, 4), 2),
                torch.arange(11) % 3 == 0]:
        assert torch.equal(scene[key], ref[1][key]), key
    scene[torch.tensor([2, 3])] = torch.ones(2, 4, 3, 5)
    ref[1, [2, 3]] = 1
    scene[5] = torch.full((4, 3, 5), 2.0)
    ref[1, 5] = 2
    assert torch.equal(disk.whole(), ref)
    with pytest.raises(IndexError):
        scene[11]
    with pytest.raises(IndexError):
        disk[2]
    assert math.prod(disk.shape) == ref.numel()


class _ShortWrites:
    """A file that writes at most ``most`` bytes a call, as an unbuffered file on a nearly full disk does."""

    def __init__(self, file, most: int):
        self.file, self.most = file, most

    def write(self, data) -> int:
        return self.file.write(data[: self.most]) if self.most else 0

    def __getattr__(self, name):
        return getattr(self.file, name)


def test_disk_latents_write_everything_when_the_file_takes_part_of_a_write(tmp_path):
    """DiskLatents.write ignored a short write (its file is unbuffered): on a nearly full disk the rest of the frames
    read back as zeros, silently (found by review, reproduced on a 64 KiB tmpfs). It writes the rest; a write that
    takes nothing is an error naming the folder."""
    disk = DiskLatents(1, 4, (4, 3, 5), tmp_path)
    disk._file = _ShortWrites(disk._file, 100)
    values = torch.randn(4, 4, 3, 5)
    disk.write(0, [0, 1, 2, 3], values)
    assert torch.equal(disk.read(0, [0, 1, 2, 3]), values)
    disk._file.most = 0
    with pytest.raises(OSError, match="no space left for a long path's latents"):
        disk.write(0, [1], values[:1])


def test_disk_latents_of_no_frames(tmp_path):
    """Reading or writing no frames raised TypeError from the file (memoryview of zero bytes); as a tensor: empty."""
    disk = DiskLatents(1, 3, (4, 2, 2), tmp_path)
    assert disk.read(0, []).shape == (0, 4, 2, 2)
    disk.write(0, [], torch.zeros(0, 4, 2, 2))
    assert torch.equal(disk.whole(), torch.zeros(1, 3, 4, 2, 2))


def test_generate_lets_each_batchs_latents_file_go_before_the_next(tmp_path, monkeypatch):
    """Each batch's latents file stayed open while the next batch sampled (genxd generate kept the last batch's
    latents until the next generate_long returned): two batches' files on disk at once (found by review). A batch's
    file is let go once its scenes are written, and DiskLatents closes its file when collected (no
    ResourceWarning)."""
    import weakref

    from genxd.api import generate_scenes
    from genxd.pipelines import long_path_latents
    from genxd.utils.images import save_png

    from .long_path_standin import standin_loaded

    made, alive_at_each = [], []
    original_init = DiskLatents.__init__

    def init(self, *args, **kwargs):
        alive_at_each.append(sum(ref() is not None for ref in made))
        original_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(long_path_latents.DiskLatents, "__init__", init)
    paths = []
    for k in range(2):
        paths.append(tmp_path / f"in{k}.png")
        save_png(paths[-1], torch.full((3, 32, 32), 0.2 * (k + 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        results = generate_scenes(paths, tmp_path / "out", loaded=standin_loaded(tmp_path / "model"),
                                  camera="orbit", num_frames=12, batch_size=1, progress=False)
    assert [r.status for r in results] == ["written", "written"]
    assert alive_at_each == [0, 0]


class _FullDisk(_ShortWrites):
    def write(self, data) -> int:
        raise OSError(28, "No space left on device")


def test_a_full_disk_while_writing_latents_names_the_file_and_folder(tmp_path):
    """On Linux a full disk makes the write after a short one raise ENOSPC (not return 0): the user got a bare
    '[Errno 28] No space left on device' with no word of the latents file or its folder (found by review)."""
    disk = DiskLatents(1, 2, (4, 2, 2), tmp_path)
    disk._file = _FullDisk(disk._file, 0)
    with pytest.raises(OSError, match=f"No space left on device: a long path's latents \\(frame 0\\) in {tmp_path}"):
        disk.write(0, [0], torch.zeros(1, 4, 2, 2))
