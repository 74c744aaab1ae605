"""GenXDPipeline.save_pretrained writes nothing over what is there unasked (diffusers' wrote into any folder: saving
over the folder the pipeline was loaded from replaced its weights without a word), and what it saves loads back as
the same model."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import orbit
from genxd.pipelines import GenXDPipeline


@pytest.fixture(scope="module")
def pipe(reference_small):
    p = GenXDPipeline.from_pretrained(reference_small)
    p.set_progress_bar_config(disable=True)
    return p


def _latents(pipe) -> torch.Tensor:
    c2w, K = orbit(num_frames=3)
    images = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    return pipe(images, c2w, K, num_inference_steps=1, guidance_scale=1.0, output_type="latent",
                generator=torch.Generator().manual_seed(0)).frames


def test_a_new_folder_is_written_whole_and_loads_back_as_the_same_model(pipe, tmp_path, reference_small):
    pipe.save_pretrained(tmp_path / "saved")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]  # no temporary left beside it
    again = GenXDPipeline.from_pretrained(tmp_path / "saved")
    again.set_progress_bar_config(disable=True)
    torch.testing.assert_close(_latents(again), _latents(pipe), atol=0, rtol=0)


def test_the_models_sampling_defaults_are_saved_with_it(tmp_path):
    """diffusers' save left out generation_config.json: the bundled model (64 px, 8 frames) saved and loaded again
    sampled with the released model's defaults (256 px, 12 frames)."""
    from genxd.api import model_info
    from genxd.checkpoints import BUNDLED_MODEL_DIR

    bundled = GenXDPipeline.from_pretrained(BUNDLED_MODEL_DIR)
    bundled.save_pretrained(tmp_path / "saved")
    assert (tmp_path / "saved" / "generation_config.json").read_bytes() == (
        BUNDLED_MODEL_DIR / "generation_config.json").read_bytes()
    assert model_info(tmp_path / "saved").defaults == model_info(BUNDLED_MODEL_DIR).defaults


def test_an_existing_folder_is_refused_unless_overwrite(pipe, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"model exists and is not empty; pass overwrite=True to write the "
                                              r"pipeline into it"):
        pipe.save_pretrained(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    with pytest.raises(TypeError, match="overwrite"):
        pipe.save_pretrained(folder, overwrite="yes")
    pipe.save_pretrained(folder, overwrite=True)  # as diffusers: the components written, the user's file kept
    assert {"unet", "vae", "scheduler", "model_index.json", "notes.txt"} <= {p.name for p in folder.iterdir()}
    (tmp_path / "empty").mkdir()
    pipe.save_pretrained(tmp_path / "empty")  # an empty folder is no output to keep
    assert (tmp_path / "empty" / "model_index.json").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        pipe.save_pretrained(tmp_path / "file")
