"""The folders every shipped preset starts from exist wherever genxd runs (a wheel install, any working folder),
except those an earlier run makes (``outputs/...``) or the user brings (``pretrained/``: the released SVD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path
from genxd.training.checkpoint_files import pretrained_error
from genxd.training.config import load_config
from genxd.training.presets import preset_names

needs_bundled = pytest.mark.skipif(default_model_path() is None, reason="needs the bundled model (git lfs pull)")
#: Where a preset's starting folders may be missing: made by an earlier run, or brought by the user.
MADE_ELSEWHERE = ("outputs/", "pretrained/")


def _kind(name: str) -> str:
    return "vae" if name.endswith("_vae") else "genxd"


def _starting_folders(cfg) -> dict[str, str | None]:
    if hasattr(cfg, "model"):
        return {"model.pretrained": cfg.model.pretrained, "model.vae.pretrained": cfg.model.vae.pretrained,
                "model.scheduler": cfg.model.scheduler}
    return {"vae.pretrained": cfg.vae.pretrained}


@needs_bundled
@pytest.mark.parametrize("name", preset_names())
def test_a_presets_starting_folders_do_not_depend_on_the_working_folder(name, tmp_path, monkeypatch):
    """h100_small_genxd_continue (and the three presets on it) named ``src/genxd/assets/genxd-small``: from any
    folder but the checkout's root 'model.pretrained src/genxd/assets/genxd-small: no such folder'."""
    monkeypatch.chdir(tmp_path)
    cfg = load_config(name, kind=_kind(name))
    for field, value in _starting_folders(cfg).items():  # relative to the working folder: made there only
        assert value in (None, "bundled") or Path(value).is_absolute() or value.startswith(MADE_ELSEWHERE), (field, value)
    error = pretrained_error(cfg)
    assert error is None or str(error).split()[1].startswith(MADE_ELSEWHERE), error


@needs_bundled
def test_bundled_names_the_bundled_model_from_any_folder(tmp_path, monkeypatch):
    from genxd.checkpoint_folders import starting_folder

    monkeypatch.chdir(tmp_path)
    cfg = load_config("h100_small_genxd_photo")
    assert cfg.model.pretrained == "bundled" == cfg.model.vae.pretrained  # the word kept: resolved where used
    assert starting_folder(cfg.model.pretrained) == BUNDLED_MODEL_DIR
    assert pretrained_error(cfg) is None
    cfg = load_config("tiny_vae", ["vae.pretrained=bundled"], kind="vae")
    assert starting_folder(cfg.vae.pretrained) == BUNDLED_MODEL_DIR
    assert starting_folder("./bundled") == Path("bundled")  # a folder named so
    assert load_config("tiny", ["model.vae.pretrained=./bundled"]).model.vae.pretrained == "./bundled"


@needs_bundled
def test_a_saved_or_printed_config_names_the_bundled_model_by_its_word(tmp_path, monkeypatch):
    """The config loaded replaced ``bundled`` by this installation's folder (``/.../site-packages/genxd/assets/
    genxd-small``), so --print-config, the run's config.yaml and each checkpoint's recorded it: such a config,
    moved to another machine or environment, named a folder that is not there. The word is kept, and the run
    still starts from the bundled model (its weights, VAE and scheduler)."""
    import json

    import yaml
    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from genxd.cli import app
    from genxd.training.trainer import train_genxd

    monkeypatch.chdir(tmp_path)
    printed = CliRunner().invoke(app, ["train", "h100_small_genxd_photo", "--print-config"])
    assert printed.exit_code == 0, printed.output
    model = yaml.safe_load(printed.output)["model"]
    assert model["pretrained"] == "bundled" == model["vae"]["pretrained"]
    assert str(BUNDLED_MODEL_DIR) not in printed.output

    out = tmp_path / "run"
    cfg = load_config(Path(__file__).resolve().parents[2] / "src" / "genxd" / "configs" / "tiny.yaml",
                      ["logging.progress_bar=false", "validation.every_steps=0", "checkpoint.every_steps=0",
                       f"output_dir={out}", "model.init=genxd", "model.pretrained=bundled", "model.unet={}",
                       "data.height=64", "data.datasets.0.length=1", "training.batch_size=1", "training.max_steps=1",
                       "training.learning_rate=1e-9", "training.ema.enabled=false"])
    last = train_genxd(cfg, cpu=True)
    for saved in (out / "config.yaml", last / "config.yaml"):
        text = saved.read_text()
        assert yaml.safe_load(text)["model"]["pretrained"] == "bundled" and str(BUNDLED_MODEL_DIR) not in text, saved
    for component in ("unet", "vae"):  # one step of learning rate 1e-9: the bundled model's weights
        before = load_file(str(BUNDLED_MODEL_DIR / component / "diffusion_pytorch_model.safetensors"))
        after = load_file(str(last / component / "diffusion_pytorch_model.safetensors"))
        assert before.keys() == after.keys(), component
        assert max((before[k].float() - after[k].float()).abs().max().item() for k in before) < 1e-6, component
    scheduler = json.loads((last / "scheduler" / "scheduler_config.json").read_text())
    bundled = json.loads((BUNDLED_MODEL_DIR / "scheduler" / "scheduler_config.json").read_text())
    assert {k: scheduler.get(k) for k in bundled if not k.startswith("_")} == \
        {k: v for k, v in bundled.items() if not k.startswith("_")}
