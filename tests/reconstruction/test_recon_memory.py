"""What scoring and rendering the views of a reconstruction hold in memory (found by the large-inputs audit:
``genxd reconstruct`` of 300 views of 128 px peaked at 1.67 GB, the views being 59 MB as float32)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import torch
from torch import Tensor

from genxd.reconstruction.metrics import psnr, ssim
from genxd.reconstruction.trainer import view_metrics
from genxd.reconstruction.views import Views

_VIEW_METRICS_PEAK = textwrap.dedent("""
    import resource
    import torch
    from genxd.reconstruction.trainer import view_metrics
    from genxd.reconstruction.views import Views

    n, side = 150, 128
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, side, side, generator=g)
    renders = (images + 0.05).clamp(0, 1)
    views = Views(images=images, c2w=torch.eye(4).repeat(n, 1, 1), K=torch.eye(3).repeat(n, 1, 1),
                  names=[str(i) for i in range(n)])
    view_metrics(renders[:2], views.subset([0, 1]))  # the libraries' first use, before the baseline
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    view_metrics(renders, views)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(after - before, renders.numel() * 4)
""")


def _views(n: int, h: int, w: int, seed: int = 0) -> tuple[Tensor, Views]:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, h, w, generator=g)
    renders = (images + 0.1 * torch.randn(n, 3, h, w, generator=g)).clamp(0, 1)
    return renders, Views(images=images, c2w=torch.eye(4).repeat(n, 1, 1), K=torch.eye(3).repeat(n, 1, 1),
                          names=[f"v{i}" for i in range(n)])


def test_view_metrics_holds_less_than_the_renders() -> None:
    """Scoring 150 views of 128 px (a fresh process: its high-water mark) grows by about the renders' own float
    memory (measured 0.75-1.3x: a chunk's SSIM intermediates); SSIM of all the views at once grew by 15x it (its
    filtered intermediates of every view side by side)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _VIEW_METRICS_PEAK], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    grown, renders_bytes = map(int, out.stdout.split()[-2:])
    assert grown < 3 * renders_bytes, (grown, renders_bytes)


def test_view_metrics_in_chunks_gives_the_batched_numbers(monkeypatch) -> None:
    """Chunked scoring gives each view's numbers, and their means, as one batch of all the views did."""
    import genxd.reconstruction.trainer as trainer

    renders, views = _views(9, 24, 40)
    monkeypatch.setattr(trainer, "METRIC_CHUNK_VALUES", 2 * 3 * 24 * 40)  # chunks of 2 views, the last of 1
    seen: list[int] = []

    def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # an LPIPS stand-in: per-view mean |d|
        seen.append(len(pred))
        return (pred - target).abs().flatten(1).mean(-1)

    metrics = view_metrics(renders, views, l1)
    assert seen == [2, 2, 2, 2, 1]
    per_psnr, per_ssim = psnr(renders, views.images), ssim(renders, views.images)
    per_l1 = (renders - views.images).abs().flatten(1).mean(-1)
    assert [row["psnr"] for row in metrics["per_view"]] == per_psnr.tolist()
    assert [row["ssim"] for row in metrics["per_view"]] == per_ssim.tolist()
    assert [row["lpips"] for row in metrics["per_view"]] == per_l1.tolist()
    assert (metrics["psnr"], metrics["ssim"]) == (float(per_psnr.mean()), float(per_ssim.mean()))
    assert metrics["lpips"] == float(per_l1.mean()) and metrics["num_views"] == 9
    empty = view_metrics(renders[:0], views.subset([]))
    assert empty["num_views"] == 0 and empty["per_view"] == []


def _storage_bytes(*tensors: Tensor) -> int:
    """Bytes of the distinct storages behind ``tensors`` (a view of another's storage counts once)."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


def test_reconstruct_without_held_out_views_keeps_one_copy_of_the_views(tmp_path, monkeypatch) -> None:
    """With nothing held out (the default) the training views and their renders scored as training metrics were
    copies of all the views and of all the renders (300 views of 128 px: 2 x 59 MB more); they are the same
    tensors now."""
    import genxd.reconstruction.pipeline as pipeline
    from genxd.cameras import intrinsics_from_focal, look_at
    from genxd.reconstruction.trainer import ReconstructionConfig

    from .helpers import write_views_folder

    az = torch.linspace(0, 1.5, 4)
    eye = torch.stack([3 * torch.cos(az), torch.full_like(az, -1.0), 3 * torch.sin(az)], -1)
    c2w = look_at(eye, torch.zeros(3), up=torch.tensor([0.0, -1.0, 0.0]))
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    folder = write_views_folder(tmp_path / "views", images, c2w, intrinsics_from_focal(1.0).expand(4, 3, 3).clone())
    seen: dict[str, list[Tensor]] = {"loaded": [], "trained": [], "rendered": [], "scored": []}

    def spy(name: str, fn, key: str, pick):
        def wrapped(*args, **kwargs):
            out = fn(*args, **kwargs)
            seen[key].append(pick(args, out))
            return out
        monkeypatch.setattr(pipeline, name, wrapped)

    spy("load_views", pipeline.load_views, "loaded", lambda args, out: out.images)
    spy("train_gaussians", pipeline.train_gaussians, "trained", lambda args, out: args[0].images)
    spy("render_views", pipeline.render_views, "rendered", lambda args, out: out)
    spy("view_metrics", pipeline.view_metrics, "scored", lambda args, out: args[0])
    config = ReconstructionConfig(iterations=1, init_points=50, strategy="none")
    record = pipeline.reconstruct_scene(folder, tmp_path / "out", config, video_frames=0, progress=False,
                                        use_lpips=False)
    one = images.numel() * 4
    assert _storage_bytes(*seen["loaded"], *seen["trained"]) == one
    assert _storage_bytes(*seen["rendered"], *seen["scored"]) == one
    assert record["train_metrics"]["num_views"] == 4 and record["test_metrics"] is None
