"""A long path is written as it is decoded, a window at a time: the frames held at once do not grow with the path,
and the files are those of the whole path decoded and written at once, bit for bit (a stand-in model:
tests/pipelines/long_path_standin.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
import pytest

import genxd.scene_outputs as scene_outputs
from genxd.api import generate_scenes
from genxd.pipelines import long_path_state, long_paths
from genxd.pipelines.long_path_state import PARTIAL_FOLDER
from genxd.utils.images import save_png, tensor_to_uint8
from genxd.utils.video import write_mp4

from .long_path_standin import standin_loaded

@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "scene.png"
    PIL.Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _spy_latents(monkeypatch) -> list:
    outputs, generate_long = [], long_paths.generate_long

    def spy(*args, **kwargs):
        outputs.append(generate_long(*args, **kwargs))
        return outputs[-1]

    monkeypatch.setattr(long_paths, "generate_long", spy)
    return outputs


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
    outputs = _spy_latents(monkeypatch)
    loaded = standin_loaded(tmp_path / "model", window=8)
    generate_scenes(image, tmp_path / "out", loaded=loaded, camera="orbit", num_frames=num_frames, progress=False)
    streamed = _files(tmp_path / "out" / "scene")

    (out,) = outputs
    whole = loaded.pipe.decode_latents(out.latents, out.plan.window)[0]  # [N, 3, H, W], as generate_long decodes
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
