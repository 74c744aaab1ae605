"""genxd.summary_file: where a job's summary JSON may go. Sampling is the instant stand-in of
:mod:`tests.cli.fake_model` (these tests are about the files around it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.cli.generate import summary_path

from .cli.fake_model import use_fake_model

runner = CliRunner()


class TwoProcesses:
    """What :func:`genxd.cli.generate.summary_path` reads of a launch of two processes."""

    num_processes = 2


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(path)
    return path


def test_a_summary_that_is_an_output_folder_is_refused_before_generating(tmp_path, monkeypatch):
    """Found by the multi-process audit: under ``accelerate launch`` the summary defaults to OUT/summary.json, which
    is the output folder of an input named ``summary.json.png``. Both scenes were generated, then the main process
    failed to write the summary over the folder (``is a folder``) and the other process stopped with a gloo
    traceback at the last barrier: no summary, exit 1. Now refused in one line before any sampling."""
    from genxd.api import generate_scenes

    lm = use_fake_model(monkeypatch)
    inputs = [_png(tmp_path / "in" / "summary.json.png"), _png(tmp_path / "in" / "a.png")]
    out = tmp_path / "out"
    default = summary_path(None, out, TwoProcesses())
    assert default == out / "summary.json"
    res = runner.invoke(app, ["generate", *map(str, inputs), "--out", str(out), "--summary", str(default)])
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert res.exit_code == 2 and len(errors) == 1, res.output
    assert "summary.json.png" in errors[0] and "--summary" in errors[0], errors
    assert lm.pipe.calls == 0 and not out.exists()
    with pytest.raises(ValueError, match=r"lies inside the output folder of .*a\.png: give summary another"):
        generate_scenes(inputs, out, summary=out / "a" / "summary.json", progress=False)
    assert lm.pipe.calls == 0 and not out.exists()
    generate_scenes(inputs, out, summary=out / "job.json", progress=False)  # beside the folders: fine
    assert lm.pipe.calls == 2 and (out / "job.json").is_file() and (out / "summary.json" / "meta.json").is_file()


def test_fewshot_refuses_a_summary_inside_a_group_folder(tmp_path, monkeypatch):
    """``genxd fewshot`` shares the check: a summary inside a group's output folder is refused before sampling."""
    from genxd.api import fewshot_scenes
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    lm = use_fake_model(monkeypatch, num_frames=5)
    root = tmp_path / "rf"
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    write_reconfusion_scene(root, "scene", render(make_scene(2), c2w, K, 32, 32).rgb, c2w, K,
                            {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    out = tmp_path / "fs"
    with pytest.raises(ValueError, match="the summary file .* lies inside the output folder of scene_direct_000"):
        fewshot_scenes(root, out, n_views=3, summary=out / "scene_direct_000" / "s.json", progress=False)
    assert lm.pipe.calls == 0 and not out.exists()


def test_a_summary_reached_through_a_symbolic_link_is_refused_too(tmp_path):
    """``--summary real/summary.json --out link`` (link -> real): the paths were compared unresolved, so the summary
    that is the output folder of ``summary.json.png`` under the link was let through."""
    from genxd.summary_file import check_summary_apart
    from genxd.validation import InvalidValue

    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    try:
        link.symlink_to(real, target_is_directory=True)
    except OSError:
        pytest.skip("no symbolic links here")
    with pytest.raises(InvalidValue, match=r"summary\.json is the output folder of summary\.json\.png"):
        check_summary_apart(real / "summary.json", [link / "summary.json"], ["summary.json.png"])
    with pytest.raises(InvalidValue, match=r"s\.json lies inside the output folder of a\.png"):
        check_summary_apart(link / "a" / "s.json", [real / "a"], ["a.png"])
    check_summary_apart(real / "job.json", [link / "a"], ["a.png"])  # beside the folders: fine


def test_each_shard_of_a_python_job_writes_its_own_summary(tmp_path, monkeypatch):
    """``generate_scenes(..., summary=FILE, shard=(K, N))``: every task wrote FILE (the CLI already named it per
    task); now ``FILE.shard-K-of-N.json`` as the CLI does."""
    import json

    from genxd.api import fewshot_scenes, generate_scenes
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    use_fake_model(monkeypatch)
    inputs = [_png(tmp_path / "in" / "a.png"), _png(tmp_path / "in" / "b.png")]
    out = tmp_path / "out"
    for k in (0, 1):
        generate_scenes(inputs, out, summary=tmp_path / "job.json", shard=(k, 2), progress=False)
    assert sorted(p.name for p in tmp_path.glob("job*")) == ["job.shard-0-of-2.json", "job.shard-1-of-2.json"]
    assert [r["input"].endswith("a.png") for r in json.loads((tmp_path / "job.shard-0-of-2.json").read_text())[
        "results"]] == [True]

    use_fake_model(monkeypatch, num_frames=5)
    root = tmp_path / "rf"
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    write_reconfusion_scene(root, "scene", render(make_scene(2), c2w, K, 32, 32).rgb, c2w, K,
                            {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    fewshot_scenes(root, tmp_path / "fs", n_views=3, summary=tmp_path / "fs.json", shard=(0, 1), progress=False)
    assert [p.name for p in tmp_path.glob("fs*.json")] == ["fs.shard-0-of-1.json"]
