"""What a long path's later windows see of the frames made before (``sample_long``'s ``context_from``): with
``"images"`` a generated frame conditions later windows through its decoded image encoded again (a VAE round trip
that is not the identity here), while the path keeps the latents the window made."""

from __future__ import annotations

import pytest
import torch

from genxd.pipelines.long_paths import make_plan, sample_long

from .test_long_paths import FakePipe, _indexed_path, _settings


class RoundTripPipe(FakePipe):
    """FakePipe (a target frame's latents are its index, context frames are put back as given) whose encoder is
    ``2 x (8 x 8 mean of the image) + 0.5`` per channel (a fourth channel of their mean): its decoder shows the
    latents' first three channels, so a frame of latents ``v`` comes back as ``2 v + 0.5``."""

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        b, v, _, h, w = images.shape
        pooled = torch.nn.functional.avg_pool2d(images.reshape(b * v, 3, h, w).float(), 8) * 2 + 0.5
        return torch.cat([pooled, pooled.mean(1, keepdim=True)], 1).reshape(b, v, 4, h // 8, w // 8)


@pytest.mark.parametrize("mode", ["3d", "4d"])
def test_images_context_is_the_round_trip_of_the_generated_frames_and_the_path_keeps_their_latents(mode):
    n = 30
    c2w, K = _indexed_path(n)
    plan = make_plan(mode, c2w, K, [0], _settings())
    pipe = RoundTripPipe()
    image = torch.full((1, 1, 3, 16, 16), 7.0)
    lat_in = pipe.encode_images(image)  # 2 x 7 + 0.5 = 14.5
    latents, _ = sample_long(pipe, plan, lat_in, c2w, K, torch.randn(1, n, 4, 2, 2), mode=mode,
                             num_inference_steps=1, context_from="images")
    expected = torch.arange(n, dtype=torch.float32)  # what each frame's window made ...
    expected[0] = 14.5  # ... and the input's latents
    assert torch.equal(latents[0, :, :, 0, 0], expected[:, None].expand(n, 4))  # not their round trips
    generated_context = 0
    for call in pipe.calls:
        frames = call["c2w"][:, :, 0, 3].long()
        ctx_frames = torch.gather(frames, 1, call["index"])
        # the input as encoded; a generated frame f: decoded (f) and encoded again (2 f + 0.5), by hand
        want = torch.where(ctx_frames == 0, 14.5, 2 * ctx_frames.float() + 0.5)
        assert torch.equal(call["ctx"][:, :, 0, 0, 0], want)
        generated_context += int((ctx_frames != 0).sum())
    assert generated_context > 0  # later windows saw frames made before


def test_latents_context_passes_the_generated_latents_unchanged():
    n = 30
    c2w, K = _indexed_path(n)
    plan = make_plan("3d", c2w, K, [0], _settings())
    pipe = RoundTripPipe()
    lat_in = pipe.encode_images(torch.full((1, 1, 3, 16, 16), 7.0))
    sample_long(pipe, plan, lat_in, c2w, K, torch.randn(1, n, 4, 2, 2), num_inference_steps=1)
    for call in pipe.calls:
        ctx_frames = torch.gather(call["c2w"][:, :, 0, 3].long(), 1, call["index"])
        assert torch.equal(call["ctx"][:, :, 0, 0, 0], torch.where(ctx_frames == 0, 14.5, ctx_frames.float()))
