"""A run resumed with model settings other than its checkpoint's where the weights still fit (another number of
attention heads, another frozen VAE folder), or other settings of what it learns (its data, noise levels,
conditioning, precision, EMA): used, and said in a note (genxd.training.resume_notes.model_change_note,
training_change_note); they were used without a word. Another size stays refused (test_run_folder)."""

from __future__ import annotations

from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.resume_notes import model_change_note, training_change_note

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
    objective = CliRunner().invoke(app, [*args, "training.max_steps=4", "model.unet.num_attention_heads=2",
                                         "noise.p_mean=1.0", "data.datasets.0.motion_source=image", "--resume", "latest"])
    assert objective.exit_code == 0, objective.output
    notes = [line for line in objective.output.splitlines() if "note:" in line]
    assert notes == ["genxd train: note: resuming with other settings than the checkpoint's: data.datasets.0.motion_source "
                     "world -> image, noise.p_mean 0.7 -> 1.0 (used from here)"], objective.output


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


def test_the_training_note_leaves_out_what_other_notes_name_and_what_is_not_learnt():
    saved = {"seed": 0, "output_dir": "a", "data": {"num_workers": 2, "datasets": [{"type": "camvid", "root": "/d/v1",
                                                                                    "length": 100}]},
             "training": {"learning_rate": 1e-4, "max_steps": 10, "mixed_precision": "bf16", "compile": False,
                          "ema": {"enabled": True, "decay": 0.9999}},
             "checkpoint": {"every_steps": 500}}
    same_learning = {"seed": 1, "output_dir": "b", "data": {"num_workers": 8, "datasets": [
                         {"type": "camvid", "root": "/d/v1", "length": 50}]},
                     "training": {"learning_rate": 2e-4, "max_steps": 20, "mixed_precision": "bf16", "compile": True,
                                  "ema": {"enabled": False, "decay": 0.9999}},
                     "checkpoint": {"every_steps": 100}}
    assert training_change_note(saved, same_learning) is None and training_change_note({}, same_learning) is None
    other = {**same_learning, "data": {"datasets": [{"type": "camvid", "root": "/d/v2", "length": 100}]},
             "training": {**same_learning["training"], "mixed_precision": "no"}}
    assert training_change_note(saved, other) == (
        "note: resuming with other settings than the checkpoint's: data.datasets.0.root /d/v1 -> /d/v2, "
        "training.mixed_precision bf16 -> no (used from here)")
