"""YAML presets: inheritance, overrides, validation; every shipped preset parses; model sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from genxd.training.config import TrainConfig, VAETrainConfig, apply_overrides, load_config, load_yaml_with_bases

from .conftest import CONFIGS, TINY


def test_base_inheritance_and_overrides(tmp_path):
    (tmp_path / "parent.yaml").write_text("seed: 3\ntraining:\n  learning_rate: 1.0e-4\n  batch_size: 4\n")
    (tmp_path / "child.yaml").write_text("base: parent.yaml\ntraining:\n  batch_size: 8\n")
    cfg = load_config(tmp_path / "child.yaml", ["training.max_steps=7", "data.datasets.0.length=3"])
    assert isinstance(cfg, TrainConfig)
    assert cfg.seed == 3 and cfg.training.learning_rate == 1e-4 and cfg.training.batch_size == 8
    assert cfg.training.max_steps == 7 and cfg.data.datasets == [{"type": "synthetic", "length": 3}]
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ValueError, match="circular"):
        load_yaml_with_bases(tmp_path / "loop.yaml")


@pytest.mark.parametrize(
    "override, message",
    [
        ("training.lr=1", "unknown key"),
        ("training.batch_size=two", "expected int"),
        ("training.mixed_precision=fp8", "mixed_precision"),
        ("conditioning.condition_dropout=1.5", r"\[0, 1\]"),
        ("model.init=svd", "needs model.pretrained"),
        ("data.datasets.4.weight=1", "bad index"),
        ("no_equals_sign", "section.key=value"),
        ("", r"an empty or blank override \(''\)"),
        ("  ", r"an empty or blank override \('  '\)"),
    ],
)
def test_bad_overrides_are_clear_errors(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_unquoted_no_is_a_string_for_string_fields():
    """YAML 1.1 reads ``no`` as false: ``training.mixed_precision=no`` still means 'no'."""
    assert load_config(TINY, ["training.mixed_precision=no"]).training.mixed_precision == "no"


def test_override_values_are_yaml():
    data = apply_overrides({"a": {"b": 1}, "l": [1, 2]}, ["a.b=[1, 2]", "a.c.d=true", "l.1=x", "n=null"])
    assert data == {"a": {"b": [1, 2], "c": {"d": True}}, "l": [1, "x"], "n": None}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_preset_parses(path: Path):
    kind = "vae" if "vae" in path.stem else "genxd"
    cfg = load_config(path, kind=kind)
    assert isinstance(cfg, VAETrainConfig if kind == "vae" else TrainConfig)
    assert cfg.data.num_frames >= 2 and cfg.output_dir


def test_small_presets_fit_the_shipping_budget():
    """The small_genxd + small_vae presets: UNet + VAE safetensors <= 40 MB in the saved dtype."""
    import torch

    from genxd.models import UNetMVTemporalConditionModel
    from genxd.training.loop import SAVE_DTYPES
    from genxd.training.models import build_vae, count_parameters, model_bytes

    genxd_cfg = load_config(CONFIGS / "small_genxd.yaml")
    vae_cfg = load_config(CONFIGS / "small_vae.yaml", kind="vae")
    with torch.device("meta"):
        unet = UNetMVTemporalConditionModel(**genxd_cfg.model.unet)
        vae = build_vae(vae_cfg.vae)
    dtype = SAVE_DTYPES[genxd_cfg.checkpoint.save_dtype]
    assert SAVE_DTYPES[vae_cfg.checkpoint.save_dtype] == dtype
    total = model_bytes(unet, dtype) + model_bytes(vae, dtype)
    assert total <= 40e6, (count_parameters(unet), count_parameters(vae), total)
    assert 2 ** (len(vae.config.block_out_channels) - 1) == 4  # latents are 1/4 of the image (16x16 at 64x64)
    assert genxd_cfg.data.height % (4 * 2 ** (len(unet.config.block_out_channels) - 1)) == 0


def test_learning_rate_schedule():
    from genxd.training.config import OptimConfig
    from genxd.training.loop import lr_at

    cfg = OptimConfig(learning_rate=1.0, lr_warmup_steps=4, max_steps=14, lr_schedule="cosine", min_lr_ratio=0.1)
    assert [lr_at(s, cfg) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_at(4, cfg) == pytest.approx(1.0) and lr_at(9, cfg) == pytest.approx(0.55) and lr_at(14, cfg) == pytest.approx(0.1)
    assert lr_at(100, OptimConfig(learning_rate=2.0, lr_warmup_steps=4)) == 2.0


def test_8bit_adam_without_bitsandbytes_is_a_clear_error(monkeypatch):
    import sys

    import torch

    from genxd.training.config import OptimConfig
    from genxd.training.trainer import make_optimizer

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # as if the 'train' extra were not installed
    with pytest.raises(ValueError, match="bitsandbytes"):
        make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimConfig(use_8bit_adam=True))


def test_ddp_gradient_all_reduce_follows_the_precision():
    from accelerate.utils import DDPCommunicationHookType

    from genxd.training.loop import ddp_kwargs

    assert ddp_kwargs("bf16").comm_hook == DDPCommunicationHookType.BF16  # auto: bf16 under bf16
    assert ddp_kwargs("no").comm_hook == DDPCommunicationHookType.NO
    assert ddp_kwargs("bf16", "none").comm_hook == DDPCommunicationHookType.NO
    assert ddp_kwargs("no", "fp16", bucket_mb=100).bucket_cap_mb == 100
    with pytest.raises(ValueError, match="ddp_comm_hook"):
        load_config(TINY, ["training.ddp_comm_hook=int8"])


def test_linear_and_constant_learning_rate_schedules():
    """By hand: warm-up ``lr * (s + 1) / warmup``, then the linear schedule falls from ``lr`` at the end of the
    warm-up to ``min_lr_ratio * lr`` at ``max_steps`` (a straight line: halfway at the middle), constant stays."""
    from genxd.training.config import OptimConfig
    from genxd.training.loop import lr_at

    cfg = OptimConfig(learning_rate=2.0, lr_warmup_steps=2, max_steps=12, lr_schedule="linear", min_lr_ratio=0.0)
    assert [lr_at(s, cfg) for s in range(2)] == [1.0, 2.0]
    assert lr_at(2, cfg) == pytest.approx(2.0)
    assert lr_at(7, cfg) == pytest.approx(1.0)  # 5 of 10 decay steps
    assert lr_at(12, cfg) == pytest.approx(0.0) and lr_at(50, cfg) == pytest.approx(0.0)
    floor = OptimConfig(learning_rate=1.0, lr_warmup_steps=0, max_steps=10, lr_schedule="linear", min_lr_ratio=0.2)
    assert [lr_at(s, floor) for s in (0, 5, 10)] == pytest.approx([1.0, 0.6, 0.2])
    const = OptimConfig(learning_rate=1.0, lr_warmup_steps=0, max_steps=10, lr_schedule="constant", min_lr_ratio=0.2)
    assert [lr_at(s, const) for s in (0, 5, 10)] == [1.0, 1.0, 1.0]
