"""``genxd synth --format reconfusion`` into a folder whose ``index.json`` already lists the scene but whose file is
gone (deleted by hand, a copy without it): the clash said "OUT/gone.torch already exists", a file that is not there."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from .introspect import invoke

runner = CliRunner()


def test_a_scene_listed_in_the_index_without_its_file_is_said_as_such(tmp_path):
    (tmp_path / "index.json").write_text(json.dumps({"synth_3d_000000": "gone.torch"}))
    res = invoke(runner, ["synth", str(tmp_path), "--size", "8", "--frames", "2", "--format", "reconfusion", "-q"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.strip()]
    assert errors == [f"genxd: error: scene 'synth_3d_000000' is already in {tmp_path / 'index.json'} (its file "
                      f"{tmp_path / 'gone.torch'} is missing) (1 clash); use --overwrite to replace"], res.stderr
    assert not (tmp_path / "gone.torch").exists()
