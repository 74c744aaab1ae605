"""Each option that needs an optional extra, run with the extra's package hidden (as in a base install from a wheel),
fails with one line naming the extra as ``pip install "genxd[EXTRA]"``: a command that works outside a checkout and
keeps genxd's bounds (not ``pip install -e '.[x]'``, nor a bare ``pip install PACKAGE``)."""

from __future__ import annotations

import importlib
import sys

import pytest
import torch

from genxd.utils.extras import EXTRAS, install_extra

from ..helpers import pyproject


def _assert_hint(message: str, extra: str) -> None:
    assert f'pip install "genxd[{extra}]"' in message, message
    assert "pip install -e" not in message and "checkout" not in message and "\n" not in message, message


def test_every_named_extra_is_one_of_pyproject():
    extras = pyproject()["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    assert install_extra("ray") == 'pip install "genxd[ray]"'
    with pytest.raises(ValueError, match="unknown extra 'rays'"):
        install_extra("rays")


def test_ray(monkeypatch):
    from genxd.curation.ray_engine import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ValueError) as err:
        import_ray()
    _assert_hint(str(err.value), "ray")


def test_models(monkeypatch, tmp_path):
    from genxd.curation.depth import TransformersDepthEstimator, check_depth_model
    from genxd.curation.masks import load_masker

    monkeypatch.setitem(sys.modules, "transformers", None)
    for call in (lambda: load_masker(tmp_path), lambda: TransformersDepthEstimator(tmp_path),
                 lambda: check_depth_model(tmp_path)):
        with pytest.raises(ValueError) as err:
            call()
        _assert_hint(str(err.value), "models")


def test_train_8bit_adam(monkeypatch):
    from genxd.training.config import OptimConfig
    from genxd.training.trainer import make_optimizer

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)
    with pytest.raises(ValueError) as err:
        make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimConfig(use_8bit_adam=True))
    _assert_hint(str(err.value), "train")


def test_gsplat(monkeypatch):
    from genxd.reconstruction import rasterizer
    from genxd.reconstruction.densify import make_strategy

    monkeypatch.setitem(sys.modules, "gsplat", None)
    monkeypatch.setitem(sys.modules, "gsplat.strategy", None)
    with pytest.raises(ValueError) as err:
        make_strategy("gsplat")
    _assert_hint(str(err.value), "gsplat")
    monkeypatch.setattr(rasterizer, "gsplat_available", lambda: False)
    _assert_hint(rasterizer.gsplat_cuda_problem.__wrapped__(), "gsplat")


def test_train_data_photos(monkeypatch):
    from genxd.data.synthetic import photos

    for package in ("skimage", "sklearn"):
        monkeypatch.setitem(sys.modules, package, None)
        with pytest.raises(photos.MissingPhotoError) as err:
            photos._package_dir(package)
        _assert_hint(str(err.value), "train-data")


def test_demo(monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)
    monkeypatch.delitem(sys.modules, "genxd.cli.demo", raising=False)
    with pytest.raises(ImportError) as err:
        importlib.import_module("genxd.cli.demo")
    _assert_hint(str(err.value), "demo")
