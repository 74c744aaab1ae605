"""A long path is written as it is decoded, a window at a time: the frames held at once do not grow with the path,
and the files are those of the whole path decoded and written at once, bit for bit (a stand-in model:
tests/pipelines/long_path_standin.py)."""

from __future__ import annotations

import math
import weakref
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import genxd.scene_outputs as scene_outputs
from genxd.api import generate_scenes
from genxd.pipelines import long_path_latents, long_path_state, long_paths
from genxd.pipelines.long_path_state import PARTIAL_FOLDER
from genxd.utils.images import save_png, tensor_to_uint8
from genxd.utils.video import write_mp4

from .long_path_standin import StandInPipe, spy_generate_long, standin_loaded

@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "scene.png"
    PIL.Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}




def test_a_long_path_holds_a_few_windows_of_frames_at_once(image, tmp_path, monkeypatch):
    """Every decoded frame of the path was held until the end (10,000 frames at 512x512: 31 GB), as floats, then
    all again in 8 bits and side by side with the input for compare.mp4. Now at most one decoding window's floats
    and their 8-bit copy: bounded by the window, not by the path (96 frames here)."""
    converted: list[int] = []  # frames made 8-bit in one piece
    to_uint8 = scene_outputs.tensor_to_uint8
    monkeypatch.setattr(scene_outputs, "tensor_to_uint8", lambda x: converted.append(len(x)) or to_uint8(x))
    loaded = standin_loaded(tmp_path / "model", window=8)
    result = generate_scenes(image, tmp_path / "out", loaded=loaded, camera="orbit", num_frames=96, progress=False)[0]
    assert result.status == "written"
    assert len(list((tmp_path / "out" / "scene" / "frames").iterdir())) == 96
    assert loaded.pipe.most_alive <= 2 * 8, loaded.pipe.most_alive  # a window decoded, the one before let go
    assert max(converted) <= 8, max(converted)


@pytest.mark.parametrize("num_frames", [20, 37])
def test_the_files_are_those_of_the_whole_path_written_at_once(image, tmp_path, monkeypatch, num_frames):
    """The frames and both videos: byte for byte those of the path decoded whole (the
    stand-in's decoder mixes neighbours, so a frame taken from another decoding window would differ)."""
    outputs = spy_generate_long(monkeypatch)
    loaded = standin_loaded(tmp_path / "model", window=8)
    generate_scenes(image, tmp_path / "out", loaded=loaded, camera="orbit", num_frames=num_frames, progress=False)
    streamed = _files(tmp_path / "out" / "scene")

    (out,) = outputs
    whole = loaded.pipe.decode_latents(out.latents.whole(), out.plan.window)[0]  # [N, 3, H, W], as generate_long decodes
    pixels = tensor_to_uint8(whole)
    assert len(pixels) == num_frames
    for i, frame in enumerate(pixels):
        save_png(tmp_path / "ref.png", frame)
        assert streamed[f"frames/{i:03d}.png"] == (tmp_path / "ref.png").read_bytes(), i
    fps = num_frames / 2
    assert streamed["video.mp4"] == write_mp4(tmp_path / "ref.mp4", pixels, fps=fps).read_bytes()
    held = np.asarray(PIL.Image.open(image).convert("RGB"))  # 64x64: the input as generate holds it
    side_by_side = np.concatenate([np.repeat(held[None], num_frames, 0), pixels], axis=2)
    assert streamed["compare.mp4"] == write_mp4(tmp_path / "ref.mp4", side_by_side, fps=fps).read_bytes()



def test_a_stopped_long_path_continues_to_the_same_files(image, tmp_path, monkeypatch):
    """Stopped after its first sampling call and run again: the files of an uninterrupted run, byte for byte."""
    settings = dict(camera="orbit", num_frames=40, progress=False)
    whole = standin_loaded(tmp_path / "model")
    generate_scenes(image, tmp_path / "whole", loaded=whole, **settings)

    save = long_path_state.BatchState.save

    def save_then_stop(self, latents, known):
        save(self, latents, known)
        raise KeyboardInterrupt

    monkeypatch.setattr(long_path_state.BatchState, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        generate_scenes(image, tmp_path / "stopped", loaded=standin_loaded(tmp_path / "model"), **settings)
    assert (tmp_path / "stopped" / PARTIAL_FOLDER / "scene").is_dir()
    monkeypatch.setattr(long_path_state.BatchState, "save", save)
    loaded = standin_loaded(tmp_path / "model")
    assert generate_scenes(image, tmp_path / "stopped", loaded=loaded, **settings)[0].status == "written"
    assert 0 < loaded.pipe.calls < whole.pipe.calls  # the first call's windows were kept, not sampled again
    assert _files(tmp_path / "stopped" / "scene") == _files(tmp_path / "whole" / "scene")
    assert not (tmp_path / "stopped" / PARTIAL_FOLDER).exists()


def test_a_long_path_that_fails_while_decoding_says_its_windows_were_kept(image, tmp_path, monkeypatch):
    """Decoding runs inside the scene's writing now (50ca4ce): its failure was recorded without the note that the
    sampled windows were kept and how to continue (the sampling's failure has it)."""
    loaded = standin_loaded(tmp_path / "model", window=8)

    def fail(latents, decode_chunk_size=None):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(loaded.pipe, "decode_latents", fail)
    out = tmp_path / "out"
    result = generate_scenes(image, out, loaded=loaded, camera="orbit", num_frames=20, progress=False)[0]
    assert result.status == "failed"
    assert result.error.startswith("CUDA out of memory (kept ")
    assert result.error.endswith(f" windows (20 of 20 frames) of scene in {out / PARTIAL_FOLDER}; to continue, "
                                 "make the same call again)")
    assert (out / PARTIAL_FOLDER / "scene" / long_path_state.STATE_FILE).is_file()  # kept
    calls = loaded.pipe.calls
    monkeypatch.undo()
    again = standin_loaded(tmp_path / "model", window=8)
    assert generate_scenes(image, out, loaded=again, camera="orbit", num_frames=20, progress=False)[0].status == \
        "written"
    assert calls > 0 and again.pipe.calls == 0  # continued from the kept windows, none sampled again


class LatentFramesAlive(TorchDispatchMode):
    """Counts the frames of latents (tensors ``[..., 4, h, w]``) alive at once: every tensor an operation makes is
    seen here; the frames of its storage count while a tensor on it is alive (views share them)."""

    def __init__(self, frame_shape: tuple[int, ...]):
        super().__init__()
        self.frame_shape, self.alive, self.most = tuple(frame_shape), {}, 0
        self._tensors: dict[int, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.dim() >= 3 and tuple(t.shape[-3:]) == self.frame_shape:
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key not in self.alive:
                    self.alive[key] = storage.nbytes() // (t.element_size() * math.prod(self.frame_shape))
                    self.most = max(self.most, sum(self.alive.values()))
                self._tensors[key] = self._tensors.get(key, 0) + 1
                weakref.finalize(t, self._release, key)
        return out

    def _release(self, key: int) -> None:
        self._tensors[key] -= 1
        if not self._tensors[key]:
            del self._tensors[key], self.alive[key]


@pytest.mark.parametrize("camera", ["orbit", "forward"])
def test_a_long_path_holds_the_latents_of_a_few_windows_at_once(image, tmp_path, monkeypatch, camera):
    """The latents of every frame of the path and its initial noise were held from the first window to the last
    frame written ([N, 4, h, w] float32 each: 1.3 GB each for 10,000 frames at 512x512). Now the noise is drawn again a
    chunk at a time (here 16 frames) and the latents are read from a file a call's frames at a time: at most a call's
    windows (16 frames here), the stand-in's arithmetic on them and two chunks of noise at once, whatever the path's
    length (300 frames: over 600 before)."""
    monkeypatch.setattr(long_path_latents, "NOISE_CHUNK_VALUES", 16 * 4 * 8 * 8)
    loaded = standin_loaded(tmp_path / "model", window=8)
    with LatentFramesAlive((4, 8, 8)) as counter:
        result = generate_scenes(image, tmp_path / "out", loaded=loaded, camera=camera, num_frames=300,
                                 progress=False)[0]
    assert result.status == "written"
    assert 0 < counter.most <= 8 * 16 + 2 * 16, counter.most


@pytest.mark.parametrize("mode, resolution, chunk", [("3d", 72, 40 * 324), ("4d", 72, 1), ("3d", 64, None),
                                                    ("video", 40, 3 * 100)])
def test_a_long_path_in_a_file_is_the_path_made_in_memory(tmp_path, mode, resolution, chunk, monkeypatch):
    """generate_long as genxd generate runs it (latents in a file, the noise drawn a chunk at a time): the latents
    of the path sampled with the noise of each scene drawn whole (two scenes from one generator) and kept in memory,
    bit for bit; latent frames of 9x9 and 5x5 (324 and 100 values: not multiples of 16) and 8x8."""
    from genxd.cameras import orbit

    if chunk is not None:
        monkeypatch.setattr(long_path_latents, "NOISE_CHUNK_VALUES", chunk)
    n, pipe = 45, StandInPipe(8)
    c2w, K = orbit(num_frames=n)
    plan = long_paths.make_plan(mode, c2w, K, [0], long_paths.resolve_settings(long_paths.LongPathSettings(), 8, 8))
    images = torch.rand(2, 1, 3, resolution, resolution)
    kw = dict(mode=mode, motion_strength=2.0, num_inference_steps=1, max_windows_per_call=3)
    out = long_paths.generate_long(pipe, images, c2w, K, plan, generator=torch.Generator().manual_seed(5), decode=False,
                                   latents_in_memory=False, latents_folder=tmp_path, **kw)

    g = torch.Generator().manual_seed(5)
    h = resolution // 8
    noise = torch.cat([torch.randn((1, n, 4, h, h), generator=g, dtype=torch.float32) for _ in range(2)])
    seeds = torch.stack([torch.randint(0, 2**62, (len(plan.windows),), generator=g) for _ in range(2)])
    ref, calls = long_paths.sample_long(pipe, plan, pipe.encode_images(images), c2w, K, noise, window_seeds=seeds, **kw)
    assert isinstance(ref, torch.Tensor) and calls == out.calls
    assert torch.equal(out.latents.whole(), ref)
    assert torch.equal(long_paths.generate_long(pipe, images, c2w, K, plan, generator=torch.Generator().manual_seed(5),
                                                decode=False, **kw).latents, ref)
