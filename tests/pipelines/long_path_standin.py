"""A cheap stand-in for a loaded GenXD model that makes long paths through ``genxd.generate`` as the real one does
(the plan, the windows' calls, the kept state, the decoding in windows, the outputs), in milliseconds a window.

Its latents are a fixed function of each window's noise, cameras and context latents, and its decoder mixes
neighbouring frames of the clip it is given (as the temporal VAE decoder does), so the frames depend on how the
latents are cut for decoding. It counts the decoded frames alive at once (:attr:`StandInPipe.most_alive`), through
weak references to what its decoder returns. Shared by ``tests/pipelines`` and
``benchmarks/bench_long_path_memory.py``.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import torch

from genxd.api import RELEASED_TRAINED, LoadedModel
from genxd.pipelines import long_paths
from genxd.pipelines.decoding import decoded_runs
from genxd.pipelines.memory import default_overlap


class StandInPipe:
    latent_multiple = 8
    vae_scale_factor = 8

    def __init__(self, window: int = 8) -> None:
        self.num_frames = window  # the model's window (unet_num_frames)
        self._execution_device = torch.device("cpu")
        self._progress_bar_config: dict = {}
        self.calls = 0
        self.alive = 0  # decoded frames whose tensors are alive now
        self.most_alive = 0

    def set_progress_bar_config(self, **kwargs) -> None:
        self._progress_bar_config = kwargs

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, V, 3, H, W]`` -> ``[B, V, 4, H / 8, W / 8]``: average pooling, a fourth channel of their mean."""
        b, v, _, h, w = images.shape
        pooled = torch.nn.functional.avg_pool2d(images.reshape(b * v, 3, h, w).float(), 8) * 2 - 1
        return torch.cat([pooled, pooled.mean(1, keepdim=True)], 1).reshape(b, v, 4, h // 8, w // 8)

    def decode_latents(self, latents: torch.Tensor, decode_chunk_size: int | None = None) -> torch.Tensor:
        """``[B, F, 4, h, w]`` -> ``[B, F, 3, 8h, 8w]`` in [0, 1]; each frame mixed with its neighbours in the clip
        (zero beyond its ends), so a cut changes the frames beside it."""
        z = latents.float()
        padded = torch.nn.functional.pad(z, (0, 0, 0, 0, 0, 0, 1, 1))
        mixed = z + 0.25 * (padded[:, :-2] + padded[:, 2:])
        frames = torch.sigmoid(mixed[:, :, :3]).repeat_interleave(8, -1).repeat_interleave(8, -2)
        self._count(frames)
        return frames

    def decoded_runs(self, latents: torch.Tensor, decode_chunk_size: int) -> Iterator[torch.Tensor]:
        """As ``GenXDPipeline.decoded_runs``: the windows of :func:`genxd.pipelines.decoding.decoded_runs`, each
        decoded by :meth:`decode_latents`."""
        decode = lambda part, n: self.decode_latents(part[None], n)[0]  # noqa: E731
        for run in decoded_runs(decode, latents, decode_chunk_size, default_overlap(decode_chunk_size)):
            yield run.cpu()

    def _count(self, frames: torch.Tensor) -> None:
        n = frames.shape[0] * frames.shape[1]
        self.alive += n
        self.most_alive = max(self.most_alive, self.alive)
        weakref.finalize(frames, self._release, n)

    def _release(self, n: int) -> None:
        self.alive -= n

    def __call__(self, context_images, target_c2w, target_K, context_index, context_latents, latents, mode,
                 motion_strength, num_inference_steps, guidance_scale, output_type, callback_on_step_end,
                 motion_guidance_scale=0.0, generator=None):
        assert context_images is None and output_type == "latent"
        self.calls += 1
        for i in range(num_inference_steps):
            callback_on_step_end(self, i, None, {})
        shift = target_c2w[:, :, :3, 3].sum(-1)[:, :, None, None, None]  # [n, F, 1, 1, 1]: the camera's place
        ctx = context_latents.mean(1, keepdim=True)  # what the window is conditioned on
        out = 0.5 * latents + 0.3 * ctx + 0.1 * torch.sin(shift)
        ctx_pos = context_index[:, :, None, None, None].expand(*context_latents.shape)
        out.scatter_(1, ctx_pos, context_latents)
        return SimpleNamespace(latents=out)


def standin_loaded(folder: Path, resolution: int = 64, window: int = 8) -> LoadedModel:
    """A :class:`LoadedModel` holding a :class:`StandInPipe`; ``folder``: its model folder (fingerprinted)."""
    folder.mkdir(parents=True, exist_ok=True)
    defaults = {"resolution": resolution, "num_frames": window, "num_inference_steps": 1, "guidance_scale": 1.0}
    trained = dict(RELEASED_TRAINED, resolution=(resolution, resolution), num_frames=(window, window))
    return LoadedModel(pipe=StandInPipe(window), path=folder, defaults=defaults, bundled=False, trained=trained)


def spy_generate_long(monkeypatch) -> list:
    """Every ``long_paths.generate_long`` output of the test, in order (the function itself still runs)."""
    outputs, generate_long = [], long_paths.generate_long

    def spy(*args, **kwargs):
        outputs.append(generate_long(*args, **kwargs))
        return outputs[-1]

    monkeypatch.setattr(long_paths, "generate_long", spy)
    return outputs
