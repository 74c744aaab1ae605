"""A model folder's ``generation_config.json`` with keys genxd never reads (a misspelt ``guidance_scal``: the default
was used in silence) is one warning naming the file and the key it is close to, once a process; the model still
loads (``genxd train`` carries a starting model's keys into its checkpoints)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, model_info
from genxd.validation import GenXDWarning

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")


def _folder_with(tmp_path: Path, **extra) -> Path:
    folder = Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))
    path = folder / "generation_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **extra}))
    return folder


def test_a_misspelt_generation_key_is_warned_about_once(tmp_path):
    folder = _folder_with(tmp_path, guidance_scal=5.0)
    with pytest.warns(GenXDWarning) as caught:
        info = model_info(folder)
    assert [str(w.message) for w in caught] == [
        f"{folder / 'generation_config.json'}: unknown key(s) ['guidance_scal'] (did you mean 'guidance_scale'?) are "
        "not read (genxd reads resolution, height, width, num_frames, num_inference_steps, guidance_scale, focal, "
        "scheduler, scene_depth, trained, and notes named _...)"]
    assert info.defaults["guidance_scale"] == 2.0  # the bundled model's, as before
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        model_info(folder)  # a job reads the configs again: no second warning


def test_known_keys_and_notes_are_not_warned_about(tmp_path):
    folder = _folder_with(tmp_path, _my_note="kept", scheduler="euler")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)
        model_info(folder)
        model_info(None)
