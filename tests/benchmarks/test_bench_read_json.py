"""``benchmarks/bench_read_json.py`` runs and saves its figures (a few reads: the numbers themselves are not checked)."""

from __future__ import annotations

import json

from ..helpers import load_script


def test_a_short_run_saves_every_figure(tmp_path, capsys):
    out = tmp_path / "res.json"
    load_script("benchmarks/bench_read_json.py").main(["--reads", "20", "--repeats", "1", "--folder", str(tmp_path),
                                                        "--out", str(out)])
    figures = json.loads(out.read_text())["figures"]
    assert set(figures) >= {"read_json_us", "read_json_without_settle_us", "settle_us", "lstat_missing_us"}
    assert all(v > 0 for v in figures.values())
    assert "settle_us" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["res.json"]  # the temporary folder removed
