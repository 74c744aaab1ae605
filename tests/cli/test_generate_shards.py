"""``genxd generate --shard K/N`` / ``genxd fewshot --shard K/N``: the tasks of a job array share the inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import orbit
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene

from .models_once import _loaded_by_arguments, models_loaded_once  # noqa: F401  (fixtures)

runner = CliRunner()
# these tests are about how the tasks share the inputs: reference_small is loaded once for the module, by the first
# command (tests/cli/models_once.py)
pytestmark = pytest.mark.usefixtures("models_loaded_once")
FAST = ["--frames", "2", "--resolution", "64", "--steps", "1"]


def _run(args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def five_images(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("five")
    for i, name in enumerate(["e", "a", "d", "b", "c"]):  # sorted: a b c d e
        PIL.Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(d / f"{name}.png")
    return d


def test_the_tasks_of_an_array_each_make_their_share_once(five_images, tmp_path, reference_small):
    """Two tasks of a job array had no way to split the inputs: with --skip-existing both sampled a scene they
    started together. --shard K/N takes inputs i % N == K of the sorted order; N tasks cover them once."""
    out = tmp_path / "out"
    made = []
    for k in range(3):
        res = _run(["generate", five_images, "--model", reference_small, "-o", out, "--shard", f"{k}/3", *FAST])
        assert res.exit_code == 0, res.output
        made.append([Path(line).name for line in res.stdout.splitlines()])
        assert f"genxd: shard {k} of 3: {len(made[-1])} of 5 inputs" in res.stderr
    assert made == [["a", "d"], ["b", "e"], ["c"]]
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c", "d", "e"]
    seeds = {name: json.loads((out / name / "meta.json").read_text())["seed"] for name in "abcde"}
    assert seeds == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}  # each input keeps its seed, as in one run


def test_a_shard_is_refused_only_for_its_own_existing_outputs(five_images, tmp_path, reference_small):
    out = tmp_path / "out"
    for name in "ace":  # task 0's outputs (existing output folders: generating them adds nothing to this check)
        (out / name).mkdir(parents=True)
        (out / name / "meta.json").write_text("{}")
    res = _run(["generate", five_images, "--model", reference_small, "-o", out, "--shard", "1/2", *FAST])
    assert res.exit_code == 0, res.output  # a, c, e written by task 0 are not task 1's
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c", "d", "e"]
    assert (out / "a" / "meta.json").read_text() == "{}"  # task 0's output left as it was
    res = _run(["generate", five_images, "--model", reference_small, "-o", out, "--shard", "1/2", *FAST])
    assert res.exit_code == 2 and "output already exists" in res.stderr


@pytest.mark.parametrize("command", ["generate", "fewshot"])
@pytest.mark.parametrize("value, words", [("2/2", "the last of 2 tasks is 1/2"), ("0/0", "must be >= 1"),
                                          ("x/4", "got 'x/4'"), ("1", "got '1'")])
def test_a_bad_shard_is_one_error_line(command, value, words, five_images, tmp_path):
    res = _run([command, five_images, "-o", tmp_path / "out", "--shard", value])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genxd: error: --shard must be K/N") and words in lines[0]
    assert not (tmp_path / "out").exists()


def test_fewshot_groups_are_shared_between_tasks(tmp_path, reference_small):
    root = tmp_path / "rf"
    n = 14
    c2w, K = orbit(num_frames=n, azimuth_range=(0, 120), frame="world")
    images = torch.from_numpy(np.random.default_rng(1).random((n, 3, 48, 64)).astype(np.float32))
    write_reconfusion_scene(root, "scene0", images, c2w, K, {9: ([0, 2, 4, 6, 8, 9, 10, 11, 12], [1, 3, 5, 7, 13])})
    out = tmp_path / "out"
    made = []
    for k in range(2):
        res = _run(["fewshot", root, "--model", reference_small, "-o", out, "--shard", f"{k}/2", "--frames", "6",
                    "--resolution", "64", "--steps", "1"])
        assert res.exit_code == 0, res.output
        assert f"genxd: shard {k} of 2: 1 of 2 groups" in res.stderr
        made += [Path(line).name for line in res.stdout.splitlines()]
    assert len(made) == 2 and sorted(made) == sorted(p.name for p in out.iterdir())
