"""``mask_model`` / ``depth_model`` given as relative paths are kept absolute (links not resolved, as the inputs'
paths), so that the setting recorded with each video (index ``settings``, ``meta.json`` ``config``) names one folder
whatever folder a run starts in.

Kept as given, a rerun from another folder naming the same model by its absolute path was warned about as "curated
with other settings" (``--mask-model /data/models/m2f (was models/m2f)``), and a rerun naming another model by the
same relative path was not; a Ray task (whose working folder is not the driver's) looked for the model in its own.

In-process with a stand-in for ``curate_video`` and for the model check (no SfM, no transformers model)."""

from __future__ import annotations

import os
import warnings

import pytest

from genxd.curation import CurationConfig, curate_dataset, read_index
from genxd.curation import dataset as dataset_module
from genxd.validation import GenXDWarning

from .test_curation_settings import _stand_in


@pytest.fixture
def models(tmp_path):
    """``tmp_path/a/models/seg`` and ``tmp_path/b/models/seg``: one relative path, two model folders."""
    for top in ("a", "b"):
        (tmp_path / top / "models" / "seg").mkdir(parents=True)
    return tmp_path


def test_a_relative_model_folder_is_kept_absolute(models, monkeypatch):
    monkeypatch.chdir(models / "a")
    config = CurationConfig(mask_model="models/seg", depth_model=os.path.join("models", "..", "models", "seg"))
    assert config.mask_model == str(models / "a" / "models" / "seg")
    assert config.depth_model == str(models / "a" / "models" / "seg")  # normalised: one spelling per folder
    (models / "link").symlink_to(models / "a" / "models" / "seg")
    assert CurationConfig(mask_model=str(models / "link")).mask_model == str(models / "link")  # not resolved


@pytest.mark.parametrize("name", ["mask_model", "depth_model"])
def test_a_rerun_from_another_folder_compares_the_model_folders_not_their_spelling(models, tmp_path, monkeypatch,
                                                                                   name):
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in([]))
    monkeypatch.setattr(dataset_module, "check_models", lambda config: None)
    (tmp_path / "in" / "clip").mkdir(parents=True)
    (tmp_path / "in" / "clip" / "0000.png").write_bytes(b"")
    out = tmp_path / "out"
    monkeypatch.chdir(models / "a")
    curate_dataset(tmp_path / "in", out, CurationConfig(**{name: "models/seg"}), progress=False)
    assert read_index(out)[-1]["settings"][name] == str(models / "a" / "models" / "seg")

    monkeypatch.chdir(tmp_path)  # the same model, named from elsewhere: nothing to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        summary = curate_dataset(tmp_path / "in", out, CurationConfig(**{name: "a/models/seg"}), progress=False)
    assert summary.skipped == 1 and summary.other_settings == {}

    monkeypatch.chdir(models / "b")  # the same words, another model: the kept video was curated with another one
    with pytest.warns(GenXDWarning, match=r"1 videos .*other settings.*/b/models/seg \(was .*/a/models/seg\)"):
        summary = curate_dataset(tmp_path / "in", out, CurationConfig(**{name: "models/seg"}), progress=False)
    assert list(summary.other_settings) == ["clip"]
