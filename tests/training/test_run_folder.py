"""What ``genxd train`` writes in, and deletes from, its run folder: config.yaml only once the settings passed
their checks (and never over the user's own config file), a one-line error for a checkpoint of another model
size, and ``--overwrite`` deleting only genxd's own outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from genxd.cli import app
from genxd.training.loop import remove_run_outputs
from genxd.training.run_outputs import remove_unfinished_checkpoints

from .conftest import QUIET, TINY


def _train(config: Path, out: Path | None, *extra: str):
    args = ["train", str(config), *QUIET, "training.max_steps=1", "--cpu", *extra]
    if out is not None:
        args.insert(2, f"output_dir={out}")
    return CliRunner().invoke(app, args)


def test_failing_runs_write_no_config_and_a_mismatched_resume_is_one_line(tmp_path):
    out = tmp_path / "run"
    bad = _train(TINY, out, "data.height=30")
    assert bad.exit_code == 2, bad.output
    assert not (out / "config.yaml").exists()

    ok = _train(TINY, out)
    assert ok.exit_code == 0, ok.output
    written = (out / "config.yaml").read_bytes()
    assert b"block_out_channels:\n    - 32\n    - 32" in written

    # the same folder resumed with another model size: one line, exit 2, and config.yaml unchanged
    again = _train(TINY, out, "--resume", "latest", "model.unet.block_out_channels=[64, 64]")
    assert again.exit_code == 2, again.output
    lines = [line for line in again.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and "Traceback" not in again.output, again.output
    assert f"{out / 'checkpoints' / 'checkpoint-0000001'}: the checkpoint's model does not match the config (e.g. " in lines[0]
    assert "in the checkpoint," in lines[0] and "start a new output_dir" in lines[0]
    assert (out / "config.yaml").read_bytes() == written


def test_the_users_config_in_the_output_folder_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "myrun"
    run.mkdir()
    user = run / "config.yaml"
    text = TINY.read_text().replace("output_dir: outputs/tiny", "output_dir: myrun  # my run")
    assert "output_dir: myrun" in text
    user.write_text("# my own notes\n" + text)
    before = user.read_bytes()

    bad = _train(Path("myrun/config.yaml"), None, "data.height=30")
    assert bad.exit_code == 2, bad.output
    assert user.read_bytes() == before and not (run / "config.resolved.yaml").exists()

    ok = _train(Path("myrun/config.yaml"), None)
    assert ok.exit_code == 0, ok.output
    assert user.read_bytes() == before
    assert "max_steps: 1" in (run / "config.resolved.yaml").read_text()
    assert (run / "checkpoints" / "checkpoint-0000001" / "training_state.json").is_file()


def _fake_old_run(out: Path) -> dict[str, Path]:
    """An earlier run's outputs, and files of the user's beside them."""
    old = out / "checkpoints" / "checkpoint-0000005"
    old.mkdir(parents=True)
    (old / "training_state.json").write_text(json.dumps({"kind": "genxd", "step": 5}))
    (out / "checkpoints" / ".checkpoint-0000010.part").mkdir()
    (out / "validation").mkdir()
    (out / "validation" / "step_0000005_0.mp4").write_bytes(b"video")
    (out / "validation" / ".step_0000010_0.mp4.host-1-abc.part.mp4").write_bytes(b"half a video")
    (out / "logs" / "genxd" / "1700000000.5").mkdir(parents=True)
    (out / "logs" / "genxd" / "events.out.tfevents.1700000000.host.1.0").write_bytes(b"events")
    (out / "logs" / "genxd" / "1700000000.5" / "hparams.yml").write_text("a: 1\n")
    (out / "metrics.jsonl").write_text('{"step": 5}\n')
    user = {"notebook": out / "logs" / "lab_notebook.txt", "model": out / "checkpoints" / "other_model.ckpt",
            "notes": out / "validation" / "notes.txt", "mine": out / "checkpoints" / "mine" / "a.txt"}
    for path in user.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"the user's {path.name}\n")
    return user


def test_overwrite_deletes_only_what_genxd_wrote(tmp_path):
    out = tmp_path / "run"
    user = _fake_old_run(out)
    refused = _train(TINY, out)
    assert refused.exit_code == 2 and "--overwrite" in refused.output

    # --overwrite with a bad setting: refused before anything is deleted (the old run was gone before)
    bad = _train(TINY, out, "--overwrite", "data.height=30")
    assert bad.exit_code == 2, bad.output
    assert (out / "checkpoints" / "checkpoint-0000005" / "training_state.json").is_file()
    assert (out / "metrics.jsonl").read_text() == '{"step": 5}\n' and not (out / "config.yaml").exists()

    ok = _train(TINY, out, "--overwrite")
    assert ok.exit_code == 0, ok.output
    for path in user.values():
        assert path.read_text() == f"the user's {path.name}\n"
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == ["checkpoint-0000001", "mine", "other_model.ckpt"]
    assert sorted(p.name for p in (out / "validation").iterdir()) == ["notes.txt"]
    assert not (out / "logs" / "genxd" / "events.out.tfevents.1700000000.host.1.0").exists()  # (the new run logs there)
    assert not (out / "logs" / "genxd" / "1700000000.5").exists()
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]


def test_a_fresh_run_removes_what_an_earlier_run_without_checkpoints_left(tmp_path):
    """An earlier run that failed before its first checkpoint (a diverged loss, a broken item at step 2): a new run in
    its folder dropped its metrics.jsonl but kept its TensorBoard files and validation videos, so TensorBoard showed
    both runs' steps as one and a video of the abandoned run sat beside the new run's. They go now, as --overwrite
    removes them; the user's files stay."""
    out = tmp_path / "run"
    user = _fake_old_run(out)
    shutil.rmtree(out / "checkpoints" / "checkpoint-0000005")  # saved none
    ok = _train(TINY, out)
    assert ok.exit_code == 0, ok.output
    for path in user.values():
        assert path.read_text() == f"the user's {path.name}\n"
    assert sorted(p.name for p in (out / "validation").iterdir()) == ["notes.txt"]
    assert not (out / "logs" / "genxd" / "events.out.tfevents.1700000000.host.1.0").exists()
    assert not (out / "logs" / "genxd" / "1700000000.5").exists()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-0000001", "mine", "other_model.ckpt"]
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]


def test_a_resumed_run_removes_the_unfinished_checkpoint_of_a_killed_save(tmp_path):
    """A save stopped by a kill leaves .checkpoint-NNNNNNN.part (as large as a checkpoint: tens of GB for the
    released model's optimiser state); only a later save of the same step removed it, so one at a step the resumed
    run does not save (a max_minutes stop's) stayed for good. The resumed run removes it, in a note; a .part the run
    resumes from stays."""
    out = tmp_path / "run"
    assert _train(TINY, out).exit_code == 0
    unfinished = out / "checkpoints" / ".checkpoint-0000003.part"
    (unfinished / "accelerate_state").mkdir(parents=True)
    (unfinished / "accelerate_state" / "optimizer.bin").write_bytes(b"half an optimiser state")
    ok = _train(TINY, out, "training.max_steps=2", "--resume", "latest")
    assert ok.exit_code == 0, ok.output
    assert f"note: removed .checkpoint-0000003.part in {out / 'checkpoints'}: unfinished" in ok.output
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-0000001", "checkpoint-0000002"]

    kept = out / "checkpoints" / ".checkpoint-0000004.part"
    kept.mkdir()
    assert remove_unfinished_checkpoints(out / "checkpoints", keep=kept) is None and kept.is_dir()


def test_overwrite_keeps_the_earlier_checkpoints_until_the_new_run_has_written_one(tmp_path, monkeypatch):
    """``--overwrite`` deleted the earlier run's checkpoints as the new run started, so a new run that failed
    before its first checkpoint (here a full disk while writing it) left no model at all (found by the training
    audit, 2026-12-04; docs/cli.md: the old output stays until the new one is complete)."""
    import errno

    from genxd.training.loop import TrainingRun

    out = tmp_path / "run"
    _fake_old_run(out)

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TrainingRun, "_write_checkpoint", full_disk)
    failed = _train(TINY, out, "--overwrite")
    assert failed.exit_code == 2 and "No space left" in failed.output, failed.output
    assert (out / "checkpoints" / "checkpoint-0000005" / "training_state.json").is_file()
    assert not (out / "checkpoints" / ".checkpoint-0000010.part").exists()  # an unfinished one is no model
    monkeypatch.undo()
    ok = _train(TINY, out, "--overwrite")
    assert ok.exit_code == 0, ok.output
    assert not (out / "checkpoints" / "checkpoint-0000005").exists()
    assert (out / "checkpoints" / "checkpoint-0000001" / "training_state.json").is_file()


def test_remove_run_outputs_removes_the_folders_it_empties(tmp_path):
    user = _fake_old_run(tmp_path)
    for path in user.values():
        path.unlink()
    (tmp_path / "checkpoints" / "mine").rmdir()
    (tmp_path / "elsewhere.txt").write_text("kept\n")
    remove_run_outputs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.txt"]


def test_a_full_disk_while_checkpointing_is_one_line_and_leaves_no_half_checkpoint(tmp_path, monkeypatch):
    """safetensors reports a full disk as its own error type (a traceback before); the half-written checkpoint
    folder was left beside the earlier ones. Now: one line naming the checkpoint, exit 2, no ``.part`` left,
    the earlier checkpoint intact."""
    import accelerate

    out = tmp_path / "run"
    ok = _train(TINY, out)
    assert ok.exit_code == 0, ok.output
    first = sorted((out / "checkpoints").iterdir())
    assert [p.name for p in first] == ["checkpoint-0000001"]

    class SafetensorError(Exception):  # the type safetensors raises (its Rust core's), stood in
        pass

    def full(self, output_dir=None, **kwargs):
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "model.safetensors").write_bytes(b"half")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(accelerate.Accelerator, "save_state", full)
    res = _train(TINY, out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("genxd: error:")]
    assert lines == [f"genxd: error: [Errno 28] No space left on device while writing checkpoint "
                     f"{out / 'checkpoints' / 'checkpoint-0000002'}"], res.output
    assert "Traceback" not in res.output
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-0000001"]


def test_a_damaged_checkpoint_state_is_one_line_naming_it(tmp_path):
    # was: JSONDecodeError / KeyError tracebacks when resuming from a checkpoint whose training_state.json is
    # damaged (a disk error, a hand edit); config.yaml is left as it was
    out = tmp_path / "run"
    assert _train(TINY, out).exit_code == 0
    state = out / "checkpoints" / "checkpoint-0000001" / "training_state.json"
    good = json.loads(state.read_text())
    written = (out / "config.yaml").read_bytes()
    for damaged, says in ((b'{"step": 1, "ki', "not valid JSON"), (b"", "empty file"),
                          (json.dumps({**good, "step": "one"}).encode(), "a damaged checkpoint state (no step number)"),
                          (b"[1, 2]", "a damaged checkpoint state (no step number)")):
        state.write_bytes(damaged)
        again = _train(TINY, out, "--resume", "latest", "training.max_steps=2")
        assert again.exit_code == 2, again.output
        lines = [line for line in again.output.splitlines() if line.startswith("genxd: error:")]
        assert len(lines) == 1 and "Traceback" not in again.output, again.output
        assert f"{state}: " in lines[0] and says in lines[0], lines[0]
        assert (out / "config.yaml").read_bytes() == written


def test_a_config_yaml_of_the_users_in_the_output_folder_is_not_replaced_without_asking(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    mine = out / "config.yaml"
    mine.write_text("# my notes on this experiment\nlr: 1e-4\n")
    refused = _train(TINY, out)
    assert refused.exit_code == 2, refused.output
    lines = [line for line in refused.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and str(mine) in lines[0] and "--overwrite" in lines[0], refused.output
    assert mine.read_text() == "# my notes on this experiment\nlr: 1e-4\n" and not (out / "checkpoints").exists()

    asked = _train(TINY, out, "--overwrite")  # replacing it was asked for
    assert asked.exit_code == 0, asked.output
    assert "max_steps: 1" in mine.read_text()

    import shutil

    for name in ("checkpoints", "logs", "metrics.jsonl"):  # a run's own config.yaml is recognised by itself
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    again = _train(TINY, out)
    assert again.exit_code == 0, again.output


def test_a_checkpoint_cut_short_is_one_line_naming_the_checkpoint_before_it(tmp_path):
    """A checkpoint whose weights were cut short (copied onto a full disk, a transfer that stopped) gave torch's or
    safetensors' traceback on ``--resume latest``; a missing accelerate_state gave accelerate's words only."""
    import shutil

    out = tmp_path / "run"
    assert _train(TINY, out, "training.max_steps=2", "checkpoint.every_steps=1").exit_code == 0
    ckpts = out / "checkpoints"
    newest, earlier = ckpts / "checkpoint-0000002", ckpts / "checkpoint-0000001"
    good = tmp_path / "good"
    shutil.copytree(newest, good)
    for part, damage in (("accelerate_state", "accelerate_state/optimizer.bin"),
                         ("accelerate_state", "accelerate_state/model.safetensors"),
                         ("ema.safetensors", "ema.safetensors"), ("accelerate_state", None)):
        shutil.rmtree(newest)
        shutil.copytree(good, newest)
        if damage is None:
            shutil.rmtree(newest / "accelerate_state")
        else:
            with open(newest / damage, "r+b") as fh:
                fh.truncate(100)
        res = _train(TINY, out, "--resume", "latest", "training.max_steps=3")
        assert res.exit_code == 2, (damage, res.output)
        lines = [line for line in res.output.splitlines() if line.startswith("genxd: error:")]
        assert len(lines) == 1 and "Traceback" not in res.output, res.output
        assert lines[0].startswith(f"genxd: error: {newest / part} cannot be read (a damaged or incomplete checkpoint: ")
        assert lines[0].endswith(f"; resume from the one before it: --resume {earlier}"), lines[0]
    assert _train(TINY, out, "--resume", str(earlier), "training.max_steps=2").exit_code == 0


def test_a_checkpoint_without_some_ema_weights_is_one_line_naming_them(tmp_path):
    """The loop let this ValueError through by matching its text; the EMA load words both its refusals now."""
    from safetensors.torch import load_file, save_file

    out = tmp_path / "run"
    assert _train(TINY, out, "training.max_steps=1", "checkpoint.every_steps=1").exit_code == 0
    ema = out / "checkpoints" / "checkpoint-0000001" / "ema.safetensors"
    state = load_file(str(ema))
    dropped = sorted(state)[0]
    save_file({k: v for k, v in state.items() if k != dropped}, str(ema))
    res = _train(TINY, out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("genxd: error:")]
    assert lines == [f"genxd: error: {ema}: EMA weights missing for 1 parameters, e.g. [{dropped!r}]"], res.output


def test_resume_latest_says_which_incomplete_checkpoints_it_skips(tmp_path):
    """A ``checkpoint-*`` folder without training_state.json (cut short by a copy, not written whole by genxd) was
    skipped without a word: ``--resume latest`` went back to an older checkpoint silently."""
    out = tmp_path / "run"
    assert _train(TINY, out, "training.max_steps=2", "checkpoint.every_steps=1").exit_code == 0
    ckpts = out / "checkpoints"
    (ckpts / "checkpoint-0000002" / "training_state.json").unlink()
    res = _train(TINY, out, "--resume", "latest", "training.max_steps=2")
    assert res.exit_code == 0, res.output
    assert (f"note: skipping checkpoint-0000002 in {ckpts}: incomplete (no training_state.json); resuming from "
            "checkpoint-0000001") in res.output, res.output
    assert "resumed from" in res.output and (ckpts / "checkpoint-0000002" / "training_state.json").is_file()
    again = _train(TINY, out, "--resume", "latest", "training.max_steps=2")  # nothing incomplete now: no note
    assert again.exit_code == 0 and "incomplete" not in again.output, again.output


def test_a_metrics_line_nested_too_deeply_is_kept_when_a_resumed_run_drops_its_later_rows(tmp_path):
    # was: RecursionError's traceback when resuming in a run folder whose metrics.jsonl held such a line
    from genxd.training.loop import _drop_rows_after

    metrics = tmp_path / "metrics.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    metrics.write_text("\n".join([json.dumps({"step": 1}), deep, json.dumps({"step": 2})]) + "\n")
    _drop_rows_after(metrics, 1)
    assert metrics.read_text() == json.dumps({"step": 1}) + "\n" + deep + "\n"


def test_resuming_an_older_checkpoint_replaces_the_newer_line(tmp_path):
    """Resumed from checkpoint-1 of {1, 2, 3} and stopped at step 2, the run left the first line's checkpoint-3
    beside its own checkpoint-2: --resume latest then continued the abandoned line, in silence (and metrics.jsonl,
    cut at step 1, no longer held its rows). The newer checkpoints go with the run's first checkpoint, said in a
    note; resuming into another output_dir keeps them."""
    out = tmp_path / "run"
    common = ["data.datasets.0.length=4", "checkpoint.every_steps=1", "checkpoint.total_limit=3"]
    first = _train(TINY, out, *common, "training.max_steps=3")
    assert first.exit_code == 0, first.output
    ckpts = out / "checkpoints"
    old_three = (ckpts / "checkpoint-0000003" / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()
    kept = _train(TINY, tmp_path / "branch", *common, "training.max_steps=2", "--resume",
                  str(ckpts / "checkpoint-0000001"))
    assert kept.exit_code == 0 and "note: resuming from step 1, before" not in kept.output, kept.output
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001", "checkpoint-0000002",
                                                        "checkpoint-0000003"]
    back = _train(TINY, out, *common, "training.max_steps=2", "training.learning_rate=0.0001", "--resume",
                  str(ckpts / "checkpoint-0000001"))
    assert back.exit_code == 0, back.output
    assert f"note: resuming from step 1, before the newer checkpoints checkpoint-0000002, checkpoint-0000003 of " \
        f"{ckpts} (another line of training): removed when this run writes its first checkpoint" in back.output
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001", "checkpoint-0000002"]
    latest = _train(TINY, out, *common, "training.max_steps=3", "training.learning_rate=0.0001", "--resume",
                    "latest")
    assert latest.exit_code == 0 and "(step 2)" in latest.output and "note: resuming from" not in latest.output
    assert (ckpts / "checkpoint-0000003" / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() != old_three
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]
