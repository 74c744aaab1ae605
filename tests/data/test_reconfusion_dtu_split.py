"""``genxd fewshot-data --split regnerf-dtu``: RegNeRF's DTU split (google-research/regnerf internal/datasets.py,
DTU), not the LLFF rule, for a DTU scan's 49 views named in DTU's order."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.reconfusion import load_reconfusion
from genxd.data.reconfusion_convert import check_dtu_order, convert_to_reconfusion, fewshot_splits, regnerf_dtu_splits

runner = CliRunner()

#: RegNeRF's lists: train [25, 22, 28, 40, 44, 48, 0, 8, 13], excluded [3-7, 16-21, 36-39], test the rest of 0..48
TRAIN = [25, 22, 28, 40, 44, 48, 0, 8, 13]
TEST = [1, 2, 9, 10, 11, 12, 14, 15, 23, 24, 26, 27, 29, 30, 31, 32, 33, 34, 35, 41, 42, 43, 45, 46, 47]


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_regnerf_dtu_split_takes_the_first_n_of_regnerfs_list_and_its_25_test_views():
    splits = regnerf_dtu_splits()
    assert splits == {3: (TRAIN[:3], TEST), 6: (TRAIN[:6], TEST), 9: (TRAIN, TEST)}
    assert len(TEST) == 25 and not set(TEST) & (set(TRAIN) | {3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 36, 37, 38, 39})
    assert regnerf_dtu_splits(49, (2,)) == {2: ([25, 22], TEST)}
    assert fewshot_splits(49)[3][0] == [1, 23, 47]  # the LLFF rule, still the default, gives other views


@pytest.mark.parametrize("num_views, shots, message", [
    (48, (3,), "needs the 49 views of a DTU scan .*, got 48"),
    (64, (3,), "got 64"),
    (49, (3, 10), r"1 to 9 training views, got \[3, 10\]"),
    (49, (0,), "1 to 9 training views"),
])
def test_regnerf_dtu_split_refuses_other_view_counts_and_settings(num_views, shots, message):
    with pytest.raises(ValueError, match=message):
        regnerf_dtu_splits(num_views, shots)


@pytest.mark.parametrize("names", [
    [f"rect_{i:03d}_3_r5000.png" for i in range(1, 50)],  # DTU's Rectified images
    [f"image/{i:06d}.png" for i in range(49)],  # IDR's layout
    [f"rect_{i:03d}_max.png" for i in reversed(range(1, 50))],  # listed in any order: views go by name
])
def test_dtu_order_is_accepted_from_names_that_sort_as_dtus_views(names):
    check_dtu_order(names)


@pytest.mark.parametrize("names", [
    [f"view_{i}.png" for i in range(1, 50)],  # unpadded: name order 1, 10, 11, ...
    [f"rect_{i:03d}.png" for i in range(2, 51)],  # not rect_001 ... rect_049
    [f"{c}{d}.png" for c in "abcdefg" for d in "abcdefg"],  # no numbers: the order cannot be known
])
def test_dtu_order_is_refused_when_names_do_not_give_it(names):
    with pytest.raises(ValueError, match=r"scan: RegNeRF's DTU split needs the views in DTU's order"):
        check_dtu_order(names, "scan")


@pytest.fixture(scope="module")
def dtu_like(tmp_path_factory):
    """A genxd synth folder of 49 static views (frame_00001 ... frame_00049.png, DTU's order)."""
    root = tmp_path_factory.mktemp("synth49")
    result = _cli("synth", root, "--frames", 49, "--size", 16, "--camera", "orbit", "-q")
    assert result.exit_code == 0, result.output
    return root / "synth_3d_000000"


def test_cli_writes_regnerfs_dtu_split_into_every_setting(dtu_like, tmp_path):
    rf = tmp_path / "rf"
    result = _cli("fewshot-data", dtu_like, "-o", rf, "--split", "regnerf-dtu")
    assert result.exit_code == 0, result.output
    assert "25 test views (1, 2, 9, 10, 11, 12, ...)" in result.output
    scene = load_reconfusion(rf)["synth_3d_000000"]
    assert scene.splits == {3: (TRAIN[:3], TEST), 6: (TRAIN[:6], TEST), 9: (TRAIN, TEST)}
    assert scene.extras["image_names"][25].endswith("frame_00026.png")  # view 25 is DTU's rect_026
    result = _cli("fewshot-data", dtu_like, "-o", tmp_path / "rf2", "--split", "regnerf-dtu", "--n-views", 3)
    assert result.exit_code == 0 and sorted(load_reconfusion(tmp_path / "rf2")["synth_3d_000000"].splits) == [3]


def _renamed_copy(source, dest, keep, name):
    """A transforms.json folder of ``source``'s frames ``keep``, the images linked under ``name(i)``."""
    meta = json.loads((source / "transforms.json").read_text())
    (dest / "images").mkdir(parents=True)
    frames = []
    for i in keep:
        frame = meta["frames"][i]
        target = dest / "images" / name(i)
        target.symlink_to(source / frame["file_path"])
        frames.append({**frame, "file_path": f"images/{target.name}"})
    (dest / "transforms.json").write_text(json.dumps({**meta, "frames": frames}))
    return dest


def test_cli_refusals_are_one_line_and_write_nothing(dtu_like, tmp_path):
    cases = [
        (["--hold", 4], "genxd: error: --hold is for --split llff: RegNeRF's DTU split has its own test views"),
        (["--n-views", "3,12"], "genxd: error: RegNeRF's DTU split has 1 to 9 training views, got [3, 12]"),
    ]
    for i, (extra, line) in enumerate(cases):
        result = _cli("fewshot-data", dtu_like, "-o", tmp_path / f"rf{i}", "--split", "regnerf-dtu", *extra)
        assert result.exit_code == 2 and result.output.strip().splitlines() == [line]
        assert not (tmp_path / f"rf{i}").exists()
    short = _renamed_copy(dtu_like, tmp_path / "short", range(48), lambda i: f"rect_{i + 1:03d}.png")
    result = _cli("fewshot-data", short, "-o", tmp_path / "rf_short", "--split", "regnerf-dtu")
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        f"genxd: error: {short}: RegNeRF's DTU split needs the 49 views of a DTU scan (rect_001 ... rect_049), got 48"]
    assert not (tmp_path / "rf_short").exists()
    unpadded = _renamed_copy(dtu_like, tmp_path / "unpadded", range(49), lambda i: f"view_{i + 1}.png")
    result = _cli("fewshot-data", unpadded, "-o", tmp_path / "rf_unpadded", "--split", "regnerf-dtu")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "needs the views in DTU's order" in result.output
    assert "images/view_1.png, images/view_10.png" in result.output
    assert not (tmp_path / "rf_unpadded").exists()
    # Python names the arguments
    with pytest.raises(ValueError, match=r"hold is for split='llff'"):
        convert_to_reconfusion(dtu_like, tmp_path / "rf_py", split="regnerf-dtu", hold=8)
    with pytest.raises(ValueError, match=r"split must be one of llff, regnerf-dtu, got 'dtu'"):
        convert_to_reconfusion(dtu_like, tmp_path / "rf_py", split="dtu")
    assert not (tmp_path / "rf_py").exists()
