"""The data line of ``genxd train`` says which scenes were skipped as too short for a clip (they vanished silently),
and a global batch larger than the data is warned about once (each step repeats items)."""

from __future__ import annotations

import functools

from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.synthetic import make_clip, write_clip

from .conftest import QUIET, TINY


def test_short_scenes_and_a_batch_larger_than_the_data_are_said(tmp_path):
    root = tmp_path / "camvid"
    write_clip(make_clip(11, "3d", 8, 32, 32), root, "long0", "camvid", num_points=500)
    write_clip(make_clip(12, "3d", 8, 32, 32), root, "long1", "camvid", num_points=500)
    write_clip(make_clip(13, "3d", 3, 32, 32), root, "short", "camvid", num_points=500)
    result = CliRunner().invoke(app, [
        "train", str(TINY), f"output_dir={tmp_path / 'run'}", *QUIET, "training.max_steps=1", "training.batch_size=3",
        "data.num_frames=8", f"data.datasets=[{{type: camvid, root: '{root}'}}]", "--cpu"])
    assert result.exit_code == 0, result.output
    assert "data: 2 items (1 scene skipped: fewer than 8 frames); global batch 3" in result.output, result.output
    warnings = [line for line in result.output.splitlines() if "larger than the data" in line]
    assert warnings == ["genxd train: warning: the global batch of 3 is larger than the data (2 items): every step "
                        "repeats items"], result.output

def _train_tiny(tmp_path, *extra):
    """`genxd train tiny` into ``tmp_path / run`` on 4 synthetic items, on the CPU, with ``extra`` arguments."""
    return CliRunner().invoke(app, ["train", str(TINY), f"output_dir={tmp_path / 'run'}", *QUIET,
                                    "data.datasets.0.length=4", "--cpu", *extra])


def test_resuming_with_other_settings_is_one_note_listing_them(tmp_path):
    train = functools.partial(_train_tiny, tmp_path)

    first = train("training.max_steps=1")
    assert first.exit_code == 0, first.output
    same = train("training.max_steps=2", "--resume", "latest")
    assert same.exit_code == 0 and "note:" not in same.output, same.output
    other = train("training.max_steps=3", "--resume", "latest", "training.batch_size=1", "data.datasets.0.length=6",
                  "training.learning_rate=0.0005")
    assert other.exit_code == 0, other.output
    notes = [line for line in other.output.splitlines() if "note:" in line]
    assert notes == ["genxd train: note: resuming with other settings than the checkpoint's: global batch 2 -> 1, "
                     "data items 4 -> 6, learning rate 0.001 -> 0.0005 (the data stream continues at step x new "
                     "global batch)"], other.output


def test_resuming_with_other_optimiser_settings_uses_and_names_them(tmp_path, monkeypatch):
    """Loading the checkpoint's optimiser state put back its run's weight decay, betas and eps: a resume with
    training.weight_decay=0.5 (tiny: 0) stepped with 0, in silence. The config's are used, with one note."""
    import torch

    train = functools.partial(_train_tiny, tmp_path)

    first = train("training.max_steps=1")
    assert first.exit_code == 0, first.output
    seen: list[dict] = []
    step = torch.optim.AdamW.step

    def spy(self, *args, **kwargs):
        seen.append({k: v for k, v in self.param_groups[0].items() if k != "params"})
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    other = train("training.max_steps=2", "--resume", "latest", "training.weight_decay=0.5",
                  "training.adam_beta2=0.9", "training.adam_epsilon=0.001")
    assert other.exit_code == 0, other.output
    assert len(seen) == 1 and seen[0]["weight_decay"] == 0.5 and tuple(seen[0]["betas"]) == (0.9, 0.9) \
        and seen[0]["eps"] == 0.001, seen
    notes = [line for line in other.output.splitlines() if "note:" in line]
    assert notes == ["genxd train: note: resuming with other optimiser settings than the checkpoint's: Adam betas "
                     "(0.9, 0.999) -> (0.9, 0.9), Adam epsilon 1e-08 -> 0.001, weight decay 0.0 -> 0.5 (the config's "
                     "are used; its Adam moments are the checkpoint's)"], other.output
    seen.clear()
    same = train("training.max_steps=3", "--resume", "latest", "training.weight_decay=0.5",
                 "training.adam_beta2=0.9", "training.adam_epsilon=0.001")
    assert same.exit_code == 0 and "note:" not in same.output, same.output
    assert len(seen) == 1 and seen[0]["weight_decay"] == 0.5, seen


def test_resuming_with_other_clips_names_their_frames_and_size(tmp_path):
    """A resume with other frames per clip or another frame size (the next stage of a fine-tune, or a slip) trained
    on without a word; the note lists them too, from the checkpoint's config.yaml."""
    train = functools.partial(_train_tiny, tmp_path)

    first = train("training.max_steps=1")
    assert first.exit_code == 0, first.output
    other = train("training.max_steps=2", "--resume", "latest", "data.num_frames=6", "data.height=64")
    assert other.exit_code == 0, other.output
    notes = [line for line in other.output.splitlines() if "note:" in line]
    assert notes == ["genxd train: note: resuming with other settings than the checkpoint's: frames per clip 4 -> 6, "
                     "frame size 32x32 -> 64x64 (the data stream continues at step x new global batch)"], other.output


def test_resuming_with_another_seed_names_it(tmp_path):
    """A resume with another seed (a different data order and noise from the resumed step on, so no longer the
    training the checkpoint's run would have continued) trained on without a word; the note names it."""
    train = functools.partial(_train_tiny, tmp_path)

    first = train("training.max_steps=1")
    assert first.exit_code == 0, first.output
    other = train("training.max_steps=2", "--resume", "latest", "seed=5")
    assert other.exit_code == 0, other.output
    notes = [line for line in other.output.splitlines() if "note:" in line]
    assert notes == ["genxd train: note: resuming with other settings than the checkpoint's: seed 0 -> 5 (the data "
                     "stream continues at step x new global batch)"], other.output


def test_resuming_at_or_past_max_steps_says_there_is_nothing_to_train(tmp_path):
    """A resume of a step-2 checkpoint with training.max_steps=1 trained nothing and said only 'done at step 2': it
    says the checkpoint is already past the setting (found by the fine-tuner's second-day audit)."""
    train = functools.partial(_train_tiny, tmp_path)

    first = train("training.max_steps=2")
    assert first.exit_code == 0, first.output
    again = train("training.max_steps=1", "--resume", "latest")
    assert again.exit_code == 0, again.output
    notes = [line for line in again.output.splitlines() if "nothing to train" in line]
    assert len(notes) == 1 and "at step 2, at or past training.max_steps (1)" in notes[0], again.output
