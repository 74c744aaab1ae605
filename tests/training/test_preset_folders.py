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
        assert value is None or Path(value).is_absolute() or value.startswith(MADE_ELSEWHERE), (field, value)
    error = pretrained_error(cfg)
    assert error is None or str(error).split()[1].startswith(MADE_ELSEWHERE), error


@needs_bundled
def test_bundled_names_the_bundled_model_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config("h100_small_genxd_photo")
    assert cfg.model.pretrained == str(BUNDLED_MODEL_DIR) == cfg.model.vae.pretrained
    assert pretrained_error(cfg) is None
    cfg = load_config("tiny_vae", ["vae.pretrained=bundled"], kind="vae")
    assert cfg.vae.pretrained == str(BUNDLED_MODEL_DIR)
    assert load_config("tiny", ["model.vae.pretrained=./bundled"]).model.vae.pretrained == "./bundled"
