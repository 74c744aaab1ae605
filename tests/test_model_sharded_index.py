"""A sharded model folder whose ``.index.json`` and shards disagree is refused naming the index or the shard and the
weight (before: loaded, with diffusers' warning that a listed weight was "not used", or in silence); a shard the
index lists that is not there is named as such."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_model

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"
INDEX = "diffusion_pytorch_model.safetensors.index.json"


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    """A copy of the bundled model whose UNet weights are in shards (diffusers' own save), with their index: made
    once for the file (a UNet load and save, about 1 s a test when each test made its own)."""
    from genxd.models import UNetMVTemporalConditionModel

    folder = Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path_factory.mktemp("sharded") / "genxd-small"))
    unet = UNetMVTemporalConditionModel.from_pretrained(folder / "unet")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    unet.save_pretrained(folder / "unet", max_shard_size="20MB")
    assert len(set(_weight_map(folder).values())) >= 2
    return folder


@pytest.fixture
def folder(sharded, tmp_path) -> Path:
    """This test's own copy of :func:`sharded` (the tests rewrite its index and shards)."""
    return Path(shutil.copytree(sharded, tmp_path / "genxd-small"))


def _weight_map(folder: Path) -> dict[str, str]:
    return json.loads((folder / "unet" / INDEX).read_text())["weight_map"]


def _write_weight_map(folder: Path, weight_map: dict[str, str]) -> Path:
    index = folder / "unet" / INDEX
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return index


def test_an_index_listing_a_weight_no_shard_holds_names_it(folder):
    weight_map = _weight_map(folder)
    first = sorted(set(weight_map.values()))[0]
    index = _write_weight_map(folder, {**weight_map, "down_blocks.9.extra.weight": first})
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == (f"{index}: lists the weight down_blocks.9.extra.weight in {first}, which does not hold "
                               "it (a damaged index, or shards of another save)")


def test_an_index_naming_the_wrong_shard_for_a_weight_names_it(folder):
    weight_map = _weight_map(folder)
    name = sorted(weight_map)[0]
    other = next(f for f in sorted(set(weight_map.values())) if f != weight_map[name])
    index = _write_weight_map(folder, {**weight_map, name: other})
    with pytest.raises(ValueError, match=f"^{index}: lists the weight {name} in {other}, which does not hold it"):
        load_model(folder, device="cpu", dtype="fp32")


def test_a_shard_holding_a_weight_its_index_leaves_out_names_it(folder):
    weight_map = _weight_map(folder)
    name = sorted(weight_map)[0]
    shard = folder / "unet" / weight_map.pop(name)
    _write_weight_map(folder, weight_map)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == (f"{shard}: holds {name}, which its index {INDEX} does not list (a damaged index, or "
                               "shards of another save)")


def test_generate_names_the_index_in_one_line_and_writes_nothing(folder, tmp_path):
    from genxd.cli import app

    weight_map = _weight_map(folder)
    index = _write_weight_map(folder, {**weight_map, "x.weight": sorted(set(weight_map.values()))[0]})
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "--model", str(folder), "-o", str(out), "--steps", "1",
                                   "--device", "cpu"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: ")]
    assert len(errors) == 1 and errors[0].startswith(f"genxd: error: {index}: lists the weight x.weight in "), errors
    assert not out.exists() or not any(out.rglob("*"))


def test_a_consistent_sharded_folder_loads(folder):
    load_model(folder, device="cpu", dtype="fp32", progress=False)


def test_a_missing_shard_is_named_as_such(folder):
    """Was: "MODEL: cannot load the model from this folder (FileNotFoundError: MODEL/unet does not appear to have a
    file named MODEL/unet/SHARD which is required according to the checkpoint index.)"."""
    shard = folder / "unet" / sorted(set(_weight_map(folder).values()))[-1]
    shard.unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == f"{shard}: no such file (a shard its index {INDEX} lists)"
