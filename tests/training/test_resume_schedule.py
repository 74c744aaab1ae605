"""A run resumed with another learning-rate schedule than its checkpoint's (training.max_steps raised under a cosine
decay, another warm-up): the config's schedule is used, as docs/training.md says, and said in a note when the next
step's learning rate differs (genxd.training.optimizer_settings.schedule_change_note); it jumped without a word."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.config import load_config
from genxd.training.loop import lr_at
from genxd.training.optimizer_settings import schedule_change_note

from .conftest import QUIET, TINY

_COSINE = ["training.lr_schedule=cosine", "training.lr_warmup_steps=0", "data.datasets.0.length=4", "--cpu"]


def test_raising_max_steps_under_a_cosine_decay_is_said_with_the_learning_rate_used(tmp_path):
    out = tmp_path / "run"
    first = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *QUIET, "training.max_steps=2", *_COSINE])
    assert first.exit_code == 0, first.output
    resumed = CliRunner().invoke(app, ["train", str(TINY), f"output_dir={out}", *QUIET, "training.max_steps=4",
                                       *_COSINE, "--resume", "latest"])
    assert resumed.exit_code == 0, resumed.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    lr3 = next(r["lr"] for r in rows if r["step"] == 3)  # the config's schedule: step 3 of 4
    assert (f"note: resuming with another learning-rate schedule than the checkpoint's (training.max_steps 2 -> 4): "
            f"step 3 trains at learning rate {lr3:.3g}, where the checkpoint's schedule is at 0") in resumed.output


def test_a_schedule_giving_the_same_rate_says_nothing():
    """A constant rate with more steps (the usual 'raise training.max_steps to go on'), or a checkpoint that does not
    say, is no change; another warm-up still under way is."""
    constant = load_config(TINY, ["training.lr_warmup_steps=0"], kind="genxd").training
    assert schedule_change_note({"max_steps": 10, "lr_schedule": "constant"}, constant, 10) is None
    assert schedule_change_note({}, constant, 10) is None
    assert schedule_change_note({"max_steps": "damaged"}, constant, 10) is None
    warm = load_config(TINY, ["training.lr_warmup_steps=100"], kind="genxd").training
    note = schedule_change_note({"lr_warmup_steps": 0}, warm, 10)
    assert note is not None and "training.lr_warmup_steps 0 -> 100" in note
    assert f"step 11 trains at learning rate {lr_at(10, warm):.3g}, where the checkpoint's schedule is at 0.001" in note
    # another learning rate alone is the other note's (global batch, learning rate, ...), not this one's
    assert schedule_change_note({"max_steps": 10, "learning_rate": 0.5}, constant, 10) is None
