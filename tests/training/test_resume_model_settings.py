"""A run resumed with model settings other than its checkpoint's where the weights still fit (another number of
attention heads, another frozen VAE folder): used, and said in a note (genxd.training.resume_notes.model_change_note);
they were used without a word. Another size stays refused (test_run_folder)."""

from __future__ import annotations

from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.resume_notes import model_change_note

from .conftest import QUIET, TINY


def test_other_attention_heads_on_resume_are_said(tmp_path):
    out = tmp_path / "run"
    args = ["train", str(TINY), f"output_dir={out}", *QUIET, "data.datasets.0.length=4", "--cpu"]
    first = CliRunner().invoke(app, [*args, "training.max_steps=1"])
    assert first.exit_code == 0, first.output
    same = CliRunner().invoke(app, [*args, "training.max_steps=2", "--resume", "latest"])
    assert same.exit_code == 0 and "note:" not in same.output, same.output
    other = CliRunner().invoke(app, [*args, "training.max_steps=3", "model.unet.num_attention_heads=2", "--resume",
                                     "latest"])
    assert other.exit_code == 0, other.output
    assert ("note: resuming with other model settings than the checkpoint's: model.unet.num_attention_heads 1 -> 2 "
            "(its weights are loaded into the model this config makes)") in other.output


def test_the_note_names_each_setting_both_configs_have():
    saved = {"model": {"init": "scratch", "vae": {"pretrained": "outputs/small_vae/checkpoints/checkpoint-0000100"},
                       "unet": {"block_out_channels": [32, 32]}}}
    current = {"model": {"init": "scratch", "allow_pickle": False,  # a setting the checkpoint's genxd did not have
                         "vae": {"pretrained": "outputs/small_vae/checkpoints/checkpoint-0000200"},
                         "unet": {"block_out_channels": [32, 32]}}}
    note = model_change_note(saved, current, "model")
    assert note is not None and ("model.vae.pretrained outputs/small_vae/checkpoints/checkpoint-0000100 -> "
                                 "outputs/small_vae/checkpoints/checkpoint-0000200 (its weights") in note
    assert "allow_pickle" not in note and "block_out_channels" not in note
    assert model_change_note(saved, saved, "model") is None and model_change_note({}, current, "model") is None
    assert model_change_note({"vae": {"config": {"latent_channels": 4}}}, {"vae": {"config": {"latent_channels": 8}}},
                             "vae") == ("note: resuming with other vae settings than the checkpoint's: "
                                        "vae.config.latent_channels 4 -> 8 (its weights are loaded into the model "
                                        "this config makes)")
