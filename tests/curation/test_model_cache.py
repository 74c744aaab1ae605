"""The learned curation models kept loaded in a process (genxd.curation.pipeline): a long session (a notebook
curating again and again) neither keeps every model it ever used nor goes on using one replaced on disk."""

from __future__ import annotations

import gc
import weakref

import pytest

from genxd.curation import pipeline


class FakeModel:
    """Stands for a loaded model (weak references: is it still held?)."""


@pytest.fixture()
def loads(monkeypatch) -> list[str]:
    """A fresh cache for the test; the folders loaded, in order."""
    monkeypatch.setattr(pipeline, "_MODEL_CACHE", {})
    return []


def _load(kind: str, folder, loads: list[str]) -> FakeModel:
    def factory() -> FakeModel:
        loads.append(folder.name)
        return FakeModel()

    return pipeline._cached(kind, str(folder), "cpu", factory)


def _model_folder(path, config: str = '{"hidden_size": 32}'):
    path.mkdir(exist_ok=True)
    (path / "config.json").write_text(config)
    return path


def test_a_model_is_loaded_once_while_its_folder_is_unchanged(tmp_path, loads):
    folder = _model_folder(tmp_path / "depth")
    first = _load("depth", folder, loads)
    assert _load("depth", folder, loads) is first and loads == ["depth"]


def test_a_model_replaced_in_its_folder_is_loaded_again(tmp_path, loads):
    """A model saved over the last one (another size, a fine-tuned copy) in the same folder: curation went on with
    the model first loaded in the process, while meta.json named the folder (measured: depth alignment scales of
    0.043 from the old relative model where the new metric one gives 1.59)."""
    folder = _model_folder(tmp_path / "depth")
    first = _load("depth", folder, loads)
    _model_folder(folder, '{"hidden_size": 64, "depth_estimation_type": "metric"}')
    second = _load("depth", folder, loads)
    assert second is not first and loads == ["depth", "depth"]
    (folder / "model.safetensors").write_bytes(b"weights")  # a file added: the folder changed too
    assert _load("depth", folder, loads) is not second and len(loads) == 3


def test_one_model_of_each_kind_stays_loaded(tmp_path, loads):
    """Every (kind, folder, device) ever used stayed loaded for the life of the process (a notebook trying three
    depth models held all three); now the last of each kind, so a worker still loads its models once."""
    small, large = _model_folder(tmp_path / "small"), _model_folder(tmp_path / "large", "{}")
    mask = _model_folder(tmp_path / "mask")
    held = weakref.ref(_load("depth", small, loads))
    kept_mask = _load("mask", mask, loads)
    _load("depth", large, loads)
    gc.collect()
    assert held() is None  # the first depth model was let go
    assert _load("mask", mask, loads) is kept_mask  # another kind's model stays
    assert loads == ["small", "mask", "large"]
