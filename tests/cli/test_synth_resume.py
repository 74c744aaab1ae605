"""``genxd synth`` continued: a run stopped after some clips (Ctrl-C, a killed job) is continued by running the same
command again; the clips already there are kept and skipped, the rest made. Before, the rerun was refused ("OUT/x
already exists (2 clashes); use --overwrite to replace") and ``--overwrite`` rendered every clip again. A folder of
clips of other settings, or of unknown ones, is still refused, and nothing there is replaced."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import genxd.data.synthetic as synthetic
from genxd.cli.synth_runs import RUNS_FILE

from .introspect import invoke

runner = CliRunner()
WRITE_CLIP = synthetic.write_clip


def _stamps(folder) -> dict[str, tuple[int, bytes]]:
    """Each file below ``folder`` (the record of runs aside): its modification time and bytes."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != RUNS_FILE}


def _stopped_after(monkeypatch, clips: int) -> None:
    """The next run stops (as a killed one) when it has written ``clips`` clips."""
    real = synthetic.write_clip
    written: list[str] = []

    def write_clip(clip, out_dir, name, *args, **kwargs):
        if len(written) == clips:
            raise KeyboardInterrupt
        written.append(name)
        return real(clip, out_dir, name, *args, **kwargs)

    monkeypatch.setattr(synthetic, "write_clip", write_clip)


@pytest.mark.parametrize("fmt", ["folder", "video", "reconfusion"])
def test_a_stopped_run_is_continued_by_the_same_command(tmp_path, monkeypatch, made, fmt):
    out = tmp_path / "out"
    args = ["synth", str(out), "-n", "3", "--size", "8", "--frames", "2", "--format", fmt]
    _stopped_after(monkeypatch, 2)
    assert invoke(runner, args).exit_code == 130
    before = _stamps(out)
    assert before and made == [0, 1, 2]
    monkeypatch.setattr(synthetic, "write_clip", WRITE_CLIP)
    made.clear()

    res = invoke(runner, args)
    assert res.exit_code == 0, res.output  # was 2: "... already exists (2 clashes); use --overwrite to replace"
    assert made == [2]  # the two whole clips kept, not rendered again
    assert "wrote 1 3d clip(s)" in res.stdout and "kept 2 already there, made with these settings" in res.stdout
    after = _stamps(out)
    assert {k: v for k, v in after.items() if k in before and k != "index.json"} == {
        k: v for k, v in before.items() if k != "index.json"}  # untouched (the ReconFusion index gains a scene)

    made.clear()
    res = invoke(runner, [*args[:3], "5", *args[4:]])  # more clips: the same settings
    assert res.exit_code == 0 and made == [3, 4], res.output
    made.clear()
    assert invoke(runner, args).exit_code == 0 and made == []  # all there: nothing to make


def test_clips_of_other_settings_are_refused_naming_them(tmp_path, made):
    out = tmp_path / "out"
    args = ["synth", str(out), "-n", "2", "--size", "8", "--frames", "2"]
    assert invoke(runner, args).exit_code == 0
    before = _stamps(out)
    res = invoke(runner, [*args, "--focal", "1.5"])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (f"genxd: error: {out / 'synth_3d_000000'} already exists (2 clashes), made by a "
                                  "synth run with other settings: --focal 1 (now 1.5); use --overwrite to replace, "
                                  "or another folder"), res.stderr
    assert _stamps(out) == before and made == [0, 1]
    assert invoke(runner, [*args, "--focal", "1.5", "--overwrite"]).exit_code == 0  # replaced when asked
    made.clear()
    assert invoke(runner, [*args, "--focal", "1.5"]).exit_code == 0 and made == []  # then continued as its own


def test_clips_of_unknown_settings_are_refused_as_before(tmp_path, monkeypatch, made):
    out = tmp_path / "out"
    args = ["synth", str(out), "-n", "2", "--size", "8", "--frames", "2"]
    assert invoke(runner, args).exit_code == 0
    (out / RUNS_FILE).unlink()  # a folder made before genxd recorded its runs
    res = invoke(runner, args)
    assert res.exit_code == 2 and res.stderr.strip() == (
        f"genxd: error: {out / 'synth_3d_000000'} already exists (2 clashes); use --overwrite to replace"), res.stderr

    # an --overwrite run that stopped: the clips it had not yet replaced are older ones, of other settings
    assert invoke(runner, [*args, "--camera", "orbit", "--overwrite"]).exit_code == 0
    _stopped_after(monkeypatch, 1)
    assert invoke(runner, [*args, "--overwrite"]).exit_code == 130
    monkeypatch.setattr(synthetic, "write_clip", WRITE_CLIP)
    res = invoke(runner, args)
    assert res.exit_code == 2 and "(2 clashes); use --overwrite to replace" in res.stderr, res.stderr
    runs = json.loads((out / RUNS_FILE).read_text())["runs"]
    assert [(r["overwrite"], r["finished"]) for r in runs] == [(True, True), (True, False)]


def test_a_continued_reconfusion_run_reads_its_index_once_to_find_the_clips_kept(tmp_path, monkeypatch, made):
    """Which scenes of a ReConFusion folder to keep was found by reading its index twice per scene (what a clip
    would replace, then whether it is whole): a run of N scenes into a folder of N read an index of N scenes 2N
    times (6 here). Now once per run."""
    import genxd.data.reconfusion as reconfusion

    out = tmp_path / "out"
    args = ["synth", str(out), "-n", "3", "--size", "8", "--frames", "2", "--format", "reconfusion"]
    assert invoke(runner, args).exit_code == 0
    reads, real = [], reconfusion.read_reconfusion_index

    def counted(root, *a, **k):
        reads.append(root)
        return real(root, *a, **k)

    monkeypatch.setattr(reconfusion, "read_reconfusion_index", counted)
    made.clear()
    res = invoke(runner, args)
    assert res.exit_code == 0 and made == [], res.output  # all three kept
    assert len(reads) == 1, f"the index read {len(reads)} times"


def test_a_setting_missing_from_a_record_edited_by_hand_is_said_as_not_recorded(tmp_path, made):
    """A run of the record without some settings (edited by hand): its clips are of other settings, and those it
    lacks read "--frames random", the words of a setting left to chance (a null --camera), not of one unknown."""
    out = tmp_path / "out"
    args = ["synth", str(out), "--size", "8", "--frames", "2"]
    assert invoke(runner, args).exit_code == 0
    record = json.loads((out / RUNS_FILE).read_text())
    for gone in ("frames", "camera"):
        del record["runs"][0]["settings"][gone]
    (out / RUNS_FILE).write_text(json.dumps(record))
    res = invoke(runner, args)
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (f"genxd: error: {out / 'synth_3d_000000'} already exists (1 clash), made by a synth "
                                  "run with other settings: --frames not recorded (now 2), --camera not recorded "
                                  "(now random); use --overwrite to replace, or another folder"), res.stderr


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_a_run_stopped_before_its_first_clip_leaves_no_folder(tmp_path, monkeypatch, stop):
    """Ctrl-C (or an error) while the first clip renders: the output folder was made before rendering and left
    empty; it is made with the first clip now (and the parent folders the command would have made, neither)."""
    out = tmp_path / "new" / "out"

    def make_clip(*args, **kwargs):
        raise stop("stopped")

    monkeypatch.setattr(synthetic, "make_clip", make_clip)
    res = invoke(runner, ["synth", str(out), "--size", "8", "--frames", "2"])
    assert res.exit_code != 0, res.output
    assert not (tmp_path / "new").exists()
