"""Training presets the fuzzer (``benchmarks/fuzz_targets_files.py``, ``train-config``) found misread: each bad
file is a ValueError naming it; and a short fixed-seed run of that target finds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from genxd.training.config import load_config
from tests.helpers import ROOT, assert_fuzz_finds_nothing

TINY = ROOT / "src" / "genxd" / "configs" / "tiny.yaml"


def _preset(tmp_path: Path, old: str, new: str, name: str = "preset.yaml") -> Path:
    text = TINY.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_preset_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "preset.yaml"
    path.write_bytes(TINY.read_bytes().replace(b"output_dir", b"\xa0\xc8output_dir", 1))
    with pytest.raises(ValueError, match="preset.yaml: not a UTF-8 text file"):
        load_config(path)


@pytest.mark.parametrize("old, new, says", [
    ("  single_view_ratio: 0.5", "  sratio: 0.5", r"unknown key\(s\) \['sratio'\]"),  # a misspelt key
    ("  height: 32", "  height: nan", "data.height: expected int"),  # the wrong type
    ("  batch_size: 2", "  batch_size: 0", "training.batch_size must be an integer >= 1"),  # out of range
    ("  condition_dropout: 0.1", "  condition_dropout:", "conditioning.condition_dropout: must not be null"),
])
def test_a_bad_value_names_the_preset(tmp_path, old, new, says):
    path = _preset(tmp_path, old, new)
    with pytest.raises(ValueError, match=says) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")


def test_a_bad_value_in_a_base_names_the_preset_read(tmp_path):
    _preset(tmp_path, "  decay: 0.99", "  decay: 1.5", name="base.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("base: base.yaml\noutput_dir: outputs/child\n")
    with pytest.raises(ValueError, match=r"child.yaml: ema.decay must be in \[0, 1\)"):
        load_config(child)


@pytest.mark.parametrize("value", ["nan", ".nan", ".inf", "-inf", "1e999"])
def test_a_non_finite_number_is_refused(tmp_path, value):
    path = _preset(tmp_path, "  learning_rate: 1.0e-3", f"  learning_rate: {value}")
    with pytest.raises(ValueError, match="preset.yaml: training.learning_rate: must be a finite number"):
        load_config(path)


def test_an_override_s_error_names_the_setting_only_and_a_file_s_error_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"^training.batch_size must be an integer >= 1, got 0$"):
        load_config(TINY, ["training.batch_size=0"])  # the file is fine: the override is named (by the CLI too)
    path = _preset(tmp_path, "  batch_size: 2", "  batch_size: 0")
    with pytest.raises(ValueError, match=r"preset.yaml: training.batch_size must be an integer >= 1"):
        load_config(path, ["training.max_steps=5"])


def test_valid_presets_still_read(tmp_path):
    assert load_config(TINY).training.learning_rate == 1.0e-3
    assert load_config(_preset(tmp_path, "  learning_rate: 1.0e-3", "  learning_rate: 2")).training.learning_rate == 2.0
    assert load_config(TINY, ["training.learning_rate=3e-4"]).training.learning_rate == 3e-4  # YAML's string
    cfg = load_config(ROOT / "src" / "genxd" / "configs" / "paper_stage1_1gpu.yaml")
    assert cfg.training.batch_size == 1


def test_fuzzing_the_presets_finds_nothing(tmp_path):
    assert_fuzz_finds_nothing("train-config", 40, tmp_path)


def _alias_bomb(levels: int) -> str:
    """A YAML list that aliases expand to 10**levels strings (a 'billion laughs' with levels 9), in a few lines."""
    items = ['&l0 ["x","x","x","x","x","x","x","x","x","x"]']
    items += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


def test_a_preset_whose_aliases_expand_to_millions_of_values_is_refused(tmp_path):
    # was: with levels 9 (a 1 kB file), `genxd train preset.yaml` never answered (the error's repr of the value
    # grew towards 10**9 items until the memory ran out); levels 6 made a 5 MB error line
    path = _preset(tmp_path, "  max_steps: 1000", f"  max_steps: {_alias_bomb(6)}")
    with pytest.raises(ValueError, match="preset.yaml: .*more than 100000 values.*aliases") as info:
        load_config(path)
    assert len(str(info.value)) < 500
