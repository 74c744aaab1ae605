"""``genxd train`` end to end on the tiny preset: synthetic + CamVid data, checkpoints that load into
the pipeline, exact resume, overfitting one batch, Stable Video Diffusion initialisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from .conftest import QUIET, TINY, tiny_svd_unet


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_cli_trains_on_synthetic_and_camvid_and_the_checkpoint_loads(tmp_path, camvid_root, monkeypatch):
    out = tmp_path / "run"
    datasets = (
        f"data.datasets=[{{type: synthetic, length: 4, motion_source: world, cache_size: 4, weight: 1}},"
        f" {{type: camvid, root: '{camvid_root}', stride: [1, 2], weight: 1}}]"
    )
    args = ["train", str(TINY), f"output_dir={out}", datasets, "data.length=8", "training.max_steps=3",
            *QUIET, "checkpoint.every_steps=2", "validation.every_steps=3", "validation.num_inference_steps=2",
            "checkpoint.save_dtype=float16"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [r for r in _metrics(out) if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3] and all(r["loss"] > 0 for r in rows)
    assert any("val/psnr" in r for r in _metrics(out))
    assert (out / "validation" / "step_0000003_0.mp4").stat().st_size > 0
    ckpts = sorted((out / "checkpoints").iterdir())
    assert [p.name for p in ckpts] == ["checkpoint-0000002", "checkpoint-0000003"]
    last = ckpts[-1]
    state = json.loads((last / "training_state.json").read_text())
    assert state["step"] == 3 and state["samples_seen"] == 6
    gen_cfg = json.loads((last / "generation_config.json").read_text())
    assert gen_cfg["num_frames"] == 4 and gen_cfg["resolution"] == 32
    assert gen_cfg["scene_depth"] == 1.0  # both datasets normalise by the scene: presets are scaled to it

    from genxd.pipelines import GenXDPipeline

    from safetensors import safe_open

    with safe_open(str(last / "unet" / "diffusion_pytorch_model.safetensors"), "pt") as fh:
        assert fh.get_tensor("conv_in.weight").dtype == torch.float16  # shipped in half precision
    pipe = GenXDPipeline.from_pretrained(last)
    assert pipe.unet.dtype == torch.float32  # loads as float32
    assert pipe.unet.config.num_frames == 4 and pipe.unet.config.sample_size == 4
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.5, 4)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(4, 1, 1)
    video = pipe(torch.rand(1, 3, 32, 32), c2w, K, num_inference_steps=2, generator=torch.Generator().manual_seed(0)).frames
    assert video.shape == (1, 4, 3, 32, 32) and torch.isfinite(video).all()

    # the same output folder again: refused without --resume / --overwrite (one line, exit code 2), before the
    # trainer and its libraries are imported (an import of it would fail here)
    with monkeypatch.context() as m:
        m.setitem(__import__("sys").modules, "genxd.training.trainer", None)
        again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already holds checkpoints" in again.output
    bad = CliRunner().invoke(app, ["train", str(TINY), "training.nope=1"])
    assert bad.exit_code == 2 and "unknown key" in bad.output and "Traceback" not in bad.output


def test_resume_continues_exactly(tmp_path):
    common = [*QUIET, "data.datasets.0.length=4", "checkpoint.every_steps=2", "training.max_steps=3"]
    straight = tmp_path / "straight"
    train_genxd(load_config(TINY, [*common, f"output_dir={straight}"]), cpu=True)
    pieces = tmp_path / "pieces"
    train_genxd(load_config(TINY, [*common, f"output_dir={pieces}", "training.max_steps=2"]), cpu=True)
    train_genxd(load_config(TINY, [*common, f"output_dir={pieces}"]), resume="latest", cpu=True)
    a = [r["loss"] for r in _metrics(straight)]
    b = [r["loss"] for r in _metrics(pieces)]
    assert len(a) == len(b) == 3
    assert b == pytest.approx(a, rel=1e-6, abs=1e-7)  # step 3 after resuming = step 3 uninterrupted
    from safetensors.torch import load_file

    for part in ("unet/diffusion_pytorch_model.safetensors", "ema.safetensors", "accelerate_state/model.safetensors"):
        wa = load_file(str(straight / "checkpoints" / "checkpoint-0000003" / part))
        wb = load_file(str(pieces / "checkpoints" / "checkpoint-0000003" / part))
        assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 1e-6, part


def test_a_resumed_run_logs_each_step_once(tmp_path):
    """A run stopped after logging step 3 but before saving it, resumed from step 2's checkpoint, logged step 3
    again: metrics.jsonl had it twice (found by the training audit, 2026-12-04). Rows after the resumed step are
    dropped when the run resumes; a line that is not a row is kept."""
    import shutil

    out = tmp_path / "run"
    common = [*QUIET, "data.datasets.0.length=4", "checkpoint.every_steps=2", "training.max_steps=3",
              f"output_dir={out}"]
    train_genxd(load_config(TINY, common), cpu=True)
    shutil.rmtree(out / "checkpoints" / "checkpoint-0000003")  # as if it stopped before saving step 3
    with open(out / "metrics.jsonl", "a") as fh:
        fh.write("a note of mine\n")
    train_genxd(load_config(TINY, common), resume="latest", cpu=True)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert "a note of mine" in lines
    assert [json.loads(line)["step"] for line in lines if line.startswith("{")] == [1, 2, 3]


def test_loss_goes_down_when_overfitting_one_batch(tmp_path):
    """One synthetic clip, 40 steps: the loss on fixed noise draws (held out from the training draws)
    drops well below its value for the same initial weights."""
    from accelerate.utils import set_seed

    from genxd.training.config import ConditioningConfig
    from genxd.training.models import build_unet, build_vae
    from genxd.training.objective import draw_sample, encode_latents, genxd_loss
    from genxd.data.datasets import SyntheticDataset

    out = tmp_path / "overfit"
    cfg = load_config(TINY, [*QUIET, f"output_dir={out}", "data.datasets.0.length=1", "data.datasets.0.kinds=[4d]",
                             "training.batch_size=1", "training.max_steps=40", "training.learning_rate=2e-3",
                             "training.ema.enabled=false", "conditioning.condition_dropout=0.0"])
    set_seed(cfg.seed)
    unet0, _ = build_unet(cfg.model)
    vae = build_vae(cfg.model.vae)
    last = train_genxd(cfg, cpu=True)
    from genxd.models import UNetMVTemporalConditionModel

    unet1 = UNetMVTemporalConditionModel.from_pretrained(last / "unet")
    sample = SyntheticDataset(length=1, num_frames=4, height=32, kinds=["4d"], motion_source="world", seed=0)[0]
    latents = encode_latents(vae, sample["frames"][None])
    draws = [draw_sample(10_000 + k, 4, tuple(latents.shape[2:]), 2, ConditioningConfig(condition_dropout=0.0), cfg.noise)
             for k in range(8)]

    def held_out_loss(unet):
        with torch.no_grad():
            return float(sum(genxd_loss(unet, latents, sample["c2w"][None], sample["K"][None],
                                        sample["motion_strength"][None], [d])[0] for d in draws) / len(draws))

    before, after = held_out_loss(unet0.eval()), held_out_loss(unet1.eval())
    assert after < 0.7 * before, (before, after)


def test_init_from_stable_video_diffusion(tmp_path):
    from genxd.training.models import build_unet, convert_svd_unet_state_dict

    svd = tiny_svd_unet()
    svd.save_pretrained(tmp_path / "svd" / "unet")
    cfg = load_config(None, ["model.init=svd", f"model.pretrained={tmp_path / 'svd'}"])
    unet, origin = build_unet(cfg.model)
    assert "Stable Video Diffusion" in origin
    a, b = svd.state_dict(), unet.state_dict()
    assert torch.equal(b["conv_in.weight"][:, :8], a["conv_in.weight"]) and b["conv_in.weight"][:, 8:].abs().max() == 0
    assert torch.equal(b["add_embedding.linear_1.weight"], a["add_embedding.linear_1.weight"][:, :64])
    assert torch.equal(b["down_blocks.0.resnets.0.mv_res_block.conv1.weight"], a["down_blocks.0.resnets.0.temporal_res_block.conv1.weight"])
    key = "down_blocks.0.attentions.0.multiview_transformer_blocks.0.attn1.to_q.weight"
    assert torch.equal(b[key], a[key.replace("multiview", "temporal")])
    assert torch.equal(b["motion_embedding.linear_1.weight"], a["time_embedding.linear_1.weight"])
    _, report = convert_svd_unet_state_dict(a, unet.state_dict())
    assert all(k.endswith("time_mixer.gamma") for k in report.initialised) and report.initialised
    assert report.unused and all(".attn2." in k or ".norm2." in k for k in report.unused)
    # a 3D-mode res block computes exactly SVD's spatio-temporal res block
    x, temb = torch.randn(8, 32, 8, 8), torch.randn(8, 128)
    ours = unet.down_blocks[0].resnets[0](x, temb, torch.tensor([0, 0]), 4)
    ref = svd.down_blocks[0].resnets[0](x, temb, image_only_indicator=torch.zeros(2, 4))
    assert torch.allclose(ours, ref, atol=1e-6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_tiny_trains_on_cuda_with_bf16_and_checkpointing(tmp_path):
    cfg = load_config(TINY, [*QUIET, f"output_dir={tmp_path / 'cuda'}", "training.max_steps=3", "data.datasets.0.length=4",
                             "training.mixed_precision=bf16", "training.gradient_checkpointing=true",
                             "validation.every_steps=3", "validation.num_inference_steps=2"])
    last = train_genxd(cfg)
    rows = _metrics(tmp_path / "cuda")
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows if "loss" in r)
    assert (last / "unet" / "diffusion_pytorch_model.safetensors").is_file()


def test_finetune_from_a_genxd_checkpoint(tmp_path, reference_small):
    """init: genxd starts from the checkpoint's weights and keeps its VAE and scheduler."""
    from safetensors.torch import load_file

    out = tmp_path / "ft"
    cfg = load_config(TINY, [*QUIET, f"output_dir={out}", "model.init=genxd", f"model.pretrained={reference_small}",
                             "model.unet={}", "data.height=64", "data.datasets.0.length=2", "training.batch_size=1",
                             "training.max_steps=1", "training.learning_rate=1e-6", "training.ema.enabled=false"])
    last = train_genxd(cfg, cpu=True)
    before = load_file(str(reference_small / "unet" / "diffusion_pytorch_model.safetensors"))
    after = load_file(str(last / "unet" / "diffusion_pytorch_model.safetensors"))
    assert before.keys() == after.keys()
    assert max((before[k] - after[k]).abs().max().item() for k in before) < 1e-4  # one tiny step away
    assert load_file(str(last / "vae" / "diffusion_pytorch_model.safetensors")).keys() == \
        load_file(str(reference_small / "vae" / "diffusion_pytorch_model.safetensors")).keys()
    sched = json.loads((last / "scheduler" / "scheduler_config.json").read_text())
    assert sched["prediction_type"] == "v_prediction" and sched["use_karras_sigmas"] is True
    with pytest.raises(ValueError, match="may only set"):
        train_genxd(load_config(TINY, [f"output_dir={tmp_path / 'bad'}", "model.init=genxd",
                                       f"model.pretrained={reference_small}"]), cpu=True)


def test_two_runs_in_one_process_may_use_different_precisions(tmp_path):
    """accelerate keeps its settings process-wide; a second run with another precision still starts."""
    short = [*QUIET, "data.datasets.0.length=4", "training.max_steps=1", "training.ema.enabled=false"]
    for name, precision in (("fp32", "no"), ("bf16", "bf16")):
        cfg = load_config(TINY, [f"output_dir={tmp_path / name}", *short, f"training.mixed_precision={precision}"])
        assert train_genxd(cfg, cpu=True) is not None


def test_resuming_with_ema_from_a_run_trained_without_it(tmp_path):
    """A checkpoint of a run with training.ema.enabled=false, resumed with EMA on (the presets' default), was refused
    as 'damaged or incomplete' (no ema.safetensors), advising the checkpoint before it. The EMA starts from the
    checkpoint's weights, with a note."""
    from safetensors.torch import load_file

    from genxd.training.ema import EMAWeights

    out = tmp_path / "run"
    common = [*QUIET, "data.datasets.0.length=4", "checkpoint.every_steps=1", f"output_dir={out}"]
    train_genxd(load_config(TINY, [*common, "training.max_steps=2", "training.ema.enabled=false"]), cpu=True)
    cfg = load_config(TINY, [*common, "training.max_steps=3"])
    train_genxd(cfg, resume="latest", cpu=True)
    ckpts = out / "checkpoints"
    w2 = load_file(str(ckpts / "checkpoint-0000002" / "accelerate_state" / "model.safetensors"))
    w3 = load_file(str(ckpts / "checkpoint-0000003" / "accelerate_state" / "model.safetensors"))
    ema = load_file(str(ckpts / "checkpoint-0000003" / "ema.safetensors"))
    e = cfg.training.ema
    decay = EMAWeights(torch.nn.Linear(1, 1), e.decay, e.power, e.start_step).current_decay(3)
    assert 0 < decay < 1 and set(ema) == set(w3)
    for name in ema:  # one update from step 2's weights (not from the random start)
        assert torch.allclose(ema[name], decay * w2[name] + (1 - decay) * w3[name], atol=1e-6), name
