"""`genxd eval --out FILE` on an existing report: refused before anything loads unless --overwrite (a newcomer's
report was replaced silently)."""

from __future__ import annotations

from typer.testing import CliRunner

import genxd.cli.eval as eval_cli
from genxd.cli import app


def test_an_existing_report_is_refused_unless_overwrite(tmp_path, monkeypatch):
    reached = []

    def stop_before_the_evaluation(*args, **kwargs):
        reached.append(True)
        raise KeyboardInterrupt  # the CLI's Ctrl-C path: exit without evaluating

    monkeypatch.setattr(eval_cli, "import_libraries", stop_before_the_evaluation)
    report = tmp_path / "report.json"
    report.write_text('{"mine": 1}')
    res = CliRunner().invoke(app, ["eval", "-n", "1", "--modes", "3d-1view", "-o", str(report)])
    assert res.exit_code == 2 and reached == []
    assert res.stderr.splitlines() == [f"genxd: error: {report} exists; pass --overwrite to replace it"]
    assert report.read_text() == '{"mine": 1}'
    res = CliRunner().invoke(app, ["eval", "-n", "1", "--modes", "3d-1view", "-o", str(report), "--overwrite"])
    assert reached == [True] and report.read_text() == '{"mine": 1}'  # past the check; stopped before evaluating


def test_eval_under_several_launched_processes_is_refused(tmp_path, monkeypatch):
    """Under ``accelerate launch --num_processes 2`` every process ran the whole evaluation: twice the time, the report
    printed twice and written by both (found by the multi-process audit). Now one line, exit 2, before any work."""
    for rank in ("0", "1"):
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", rank)
        res = CliRunner().invoke(app, ["eval", "-n", "1", "--steps", "1", "--modes", "3d-1view", "-o",
                                       str(tmp_path / "report.json")])
        assert res.exit_code == 2, res.output
        assert ("does not share its work between processes" in res.output) == (rank == "0"), res.output
        assert not (tmp_path / "report.json").exists()


def test_quiet_with_out_prints_only_what_was_written(tmp_path, monkeypatch):
    """``-q`` prints only errors and what was written (the option's help); with ``--out`` the whole JSON report was
    still printed (found by the evaluation audit). Without ``--out`` the printed report is the result: kept."""
    import genxd.evaluation as evaluation

    def fake_evaluate(*args, out=None, **kwargs):
        report = {"model": "x", "3d-1view": {"psnr": 20.0}}
        if out is not None:
            out.write_text("{}")
        return report

    monkeypatch.setattr(evaluation, "evaluate", fake_evaluate)
    monkeypatch.setattr(eval_cli, "import_libraries", lambda *a, **k: None)
    report = tmp_path / "report.json"
    res = CliRunner().invoke(app, ["eval", "-n", "1", "--modes", "3d-1view", "-o", str(report), "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr.strip() == f"wrote {report}"
    res = CliRunner().invoke(app, ["eval", "-n", "1", "--modes", "3d-1view", "-q"])
    assert res.exit_code == 0 and '"psnr": 20.0' in res.stdout, res.output
