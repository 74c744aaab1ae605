"""``benchmarks/bench_output.py``: where benchmark scripts save JSON (a new git-ignored file unless ``--out``), atomically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ..helpers import ROOT, load_script


@pytest.fixture
def bench_output():
    return load_script("benchmarks/bench_output.py")


def test_default_out_is_new_and_git_ignored_even_within_one_second(bench_output, monkeypatch):
    monkeypatch.setattr(bench_output, "_now", lambda: 1_700_000_000.0)  # both calls in the same second
    name = f"test_bench_output_{os.getpid()}"
    paths = []
    try:
        paths = [bench_output.default_out(name) for _ in range(3)]
        assert len(set(paths)) == 3
        assert [p.name for p in paths] == [f"{name}_20231114-221320.json", f"{name}_20231114-221320_2.json",
                                           f"{name}_20231114-221320_3.json"]
        local = ROOT / "benchmarks" / "results" / "local"
        assert all(p.parent == local and p.is_file() for p in paths)  # reserved: another process gets a new name
        if shutil.which("git") and (ROOT / ".git").exists():
            for p in paths:
                assert subprocess.run(["git", "check-ignore", "-q", str(p)], cwd=ROOT).returncode == 0, p
        bench_output._drop_empty_placeholders()  # what runs at exit: nothing was saved in them
        assert not any(p.exists() for p in paths)
    finally:
        for p in paths:
            p.unlink(missing_ok=True)


def test_save_json_round_trips_atomically(bench_output, tmp_path, capsys):
    obj = {"a": [1, 2.5, None], "b": {"c": "d"}, "nan": float("inf")}
    path = bench_output.save_json(tmp_path / "deep" / "er" / "r.json", obj, indent=1)
    strict = {**obj, "nan": None}  # strict JSON: no number is null (genxd.utils.json_text), not Infinity
    assert json.loads(path.read_text()) == strict
    assert path.read_text() == json.dumps(strict, indent=1) + "\n"
    assert capsys.readouterr().out == f"saved {path}\n"
    assert os.listdir(path.parent) == ["r.json"]  # no temporary left behind

    quiet = bench_output.save_json(tmp_path / "q.json", {"p": tmp_path}, default=str, quiet=True)
    assert json.loads(quiet.read_text()) == {"p": str(tmp_path)}
    assert capsys.readouterr().out == ""
    assert sorted(os.listdir(tmp_path)) == ["deep", "q.json"]


def test_explicit_out_replaces_existing_file(bench_output, tmp_path):
    path = tmp_path / "record.json"
    path.write_text('{"old": true, "longer": "than the new content"}\n')
    assert bench_output.resolve_out(str(path), "x") == path  # an explicit --out is used as given
    bench_output.save_json(path, {"new": 1}, indent=None, quiet=True)
    assert json.loads(path.read_text()) == {"new": 1}
    assert os.listdir(tmp_path) == ["record.json"]


def test_save_json_failure_keeps_old_file(bench_output, tmp_path):
    path = tmp_path / "record.json"
    path.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        bench_output.save_json(path, {"bad": object()}, quiet=True)  # not JSON: nothing replaced
    assert json.loads(path.read_text()) == {"old": True}
    assert os.listdir(tmp_path) == ["record.json"]


def test_row_in_fresh_process_returns_the_last_json_line_and_stops_on_failure(bench_output, tmp_path):
    script = tmp_path / "one.py"
    script.write_text("import json, sys\nprint('progress')\nprint(json.dumps({'n': int(sys.argv[1])}))\n"
                      "sys.exit(3 if int(sys.argv[1]) < 0 else 0)\n")
    assert bench_output.row_in_fresh_process([str(script), "7"]) == {"n": 7}
    with pytest.raises(SystemExit):
        bench_output.row_in_fresh_process([str(script), "-1"])


def test_launch_ports_lie_below_the_kernels_ephemeral_range_and_are_free(bench_output):
    import socket

    low, _ = bench_output._ephemeral_ports()
    ports = {bench_output.launch_port() for _ in range(20)}
    assert all(20000 <= p < low for p in ports) and len(ports) > 1  # random: side-by-side launches differ
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # free when given
