"""A stand-in for a loaded GenXD model, for tests of what happens around sampling (inputs, outputs,
naming, permissions): it returns the context image repeated for every frame, instantly."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from genxd.api import RELEASED_TRAINED, LoadedModel


class FakePipe:
    latent_multiple = 8
    num_frames = 64  # the largest window: paths up to 64 frames are one call (no long-path planning)

    def __init__(self) -> None:
        self.calls = 0

    def set_progress_bar_config(self, **kwargs) -> None:
        pass

    def __call__(self, context_images, target_c2w, target_K, context_index=None, mode="3d", motion_strength=0.0,
                 num_inference_steps=1, guidance_scale=1.0, generator=None, output_type="pt"):
        self.calls += 1
        images = torch.as_tensor(context_images)
        if images.ndim == 4:
            images = images[None]
        f = torch.as_tensor(target_c2w).shape[-3]
        return SimpleNamespace(frames=images[:, :1].expand(-1, f, -1, -1, -1).clone())


class StandInSampler(FakePipe):
    """A loaded model's pipeline without its sampling: the context image for every frame, at once. Its window and
    latent size are the real pipeline's (``real``), so jobs plan the same paths; its UNet is only the config."""

    def __init__(self, real) -> None:
        super().__init__()
        self.latent_multiple, self.num_frames = real.latent_multiple, real.unet.config.num_frames
        self.unet = SimpleNamespace(config=real.unet.config)  # its window, as the planners read it; never called

    def __call__(self, *args, callback_on_step_end=None, **kwargs):  # the demo's cancel / progress hook
        return super().__call__(*args, **kwargs)


def without_sampling(loaded: LoadedModel) -> LoadedModel:
    """``loaded`` (its defaults, focal, scene depth, trained ranges) with a :class:`StandInSampler`: for tests of the
    files a job writes around the frames (cameras, settings), not of the frames."""
    import dataclasses

    return dataclasses.replace(loaded, pipe=StandInSampler(loaded.pipe))


def fake_loaded(resolution: int = 32, num_frames: int = 4) -> LoadedModel:
    defaults = {"resolution": resolution, "num_frames": num_frames, "num_inference_steps": 1, "guidance_scale": 1.0}
    trained = dict(RELEASED_TRAINED, resolution=(resolution, resolution), num_frames=(num_frames, num_frames))
    return LoadedModel(pipe=FakePipe(), path=Path("fake-model"), defaults=defaults, bundled=False, trained=trained)


def use_fake_model(monkeypatch, resolution: int = 32, num_frames: int = 4) -> LoadedModel:
    """``genxd.api.load_model`` / ``model_info`` return the fake model (the CLI path is unchanged)."""
    import genxd.api as api

    lm = fake_loaded(resolution, num_frames)
    monkeypatch.setattr(api, "load_model", lambda *a, **k: lm)
    monkeypatch.setattr(api, "model_info", lambda model: lm.info)
    return lm
