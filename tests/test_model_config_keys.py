"""A model folder's configs read as the class built from each reads them: a key it would ignore (a misspelt one,
built at its default in silence before) is one error naming the file and the key, on the command line too, with
nothing written; keys diffusers itself accepts (a compatible scheduler's, private ``_`` notes) still load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_component, load_model

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scene_a.png"


@pytest.fixture
def folder(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))


def _rename_key(path: Path, old: str, new: str) -> None:
    config = json.loads(path.read_text())
    config[new] = config.pop(old)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("config, old, new, cls", [
    ("vae/config.json", "scaling_factor", "scaling_factr", "AutoencoderKLTemporalDecoder"),
    ("unet/config.json", "num_frames", "num_frame", "UNetMVTemporalConditionModel"),
    ("scheduler/scheduler_config.json", "prediction_type", "prediction_typ", "EulerDiscreteScheduler"),
])
def test_a_misspelt_config_key_is_named_with_the_key_it_is_close_to(folder, config, old, new, cls):
    # was: diffusers' "will be ignored" log line (twice) and a model built with the default (scaling 0.18215)
    _rename_key(folder / config, old, new)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == (f"{folder / config}: unknown key(s) ['{new}'] (did you mean '{old}'?); {cls} would "
                               "be built without it")


def test_an_unknown_key_lists_the_keys_the_class_takes(folder):
    config = folder / "unet" / "config.json"
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, "zzz": 1}))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['zzz'\]; UNetMVTemporalConditionModel would be built "
                                         r"without it \(its keys: addition_time_embed_dim, block_out_channels, "):
        load_model(folder, device="cpu", dtype="fp32")


def test_load_component_checks_the_keys_too(folder):
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler

    _rename_key(folder / "vae" / "config.json", "scaling_factor", "scaling_factr")
    with pytest.raises(ValueError, match=r"vae/config.json: unknown key\(s\) \['scaling_factr'\]"):
        load_component(AutoencoderKLTemporalDecoder, folder / "vae", "a VAE folder")
    _rename_key(folder / "scheduler" / "scheduler_config.json", "sigma_min", "sigma_mn")
    with pytest.raises(ValueError, match=r"scheduler_config.json: unknown key\(s\) \['sigma_mn'\]"):
        load_component(EulerDiscreteScheduler, folder / "scheduler", "a scheduler folder")


def test_keys_diffusers_accepts_in_silence_still_load(folder):
    """Stable Video Diffusion's scheduler config carries DDIM's and PNDM's keys; notes are named ``_...``."""
    path = folder / "scheduler" / "scheduler_config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, "clip_sample": False, "set_alpha_to_one": False, "skip_prk_steps": True,
                                "_note": "mine"}))
    assert load_model(folder, device="cpu", dtype="fp32").pipe.scheduler.config.prediction_type == "v_prediction"


def test_generate_names_the_key_in_one_line_and_writes_nothing(folder, tmp_path):
    from genxd.cli import app

    _rename_key(folder / "vae" / "config.json", "scaling_factor", "scaling_factr")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["generate", str(EXAMPLE), "--model", str(folder), "-o", str(out), "--steps", "1",
                                   "--device", "cpu"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: ")]
    assert errors == [f"genxd: error: {folder / 'vae' / 'config.json'}: unknown key(s) ['scaling_factr'] (did you "
                      "mean 'scaling_factor'?); AutoencoderKLTemporalDecoder would be built without it"]
    assert "Traceback" not in res.stderr
    assert not out.exists() or not any(out.rglob("*"))


def _set(path: Path, key: str, value) -> None:
    config = json.loads(path.read_text())
    config[key] = value
    path.write_text(json.dumps(config).replace('"__nan__"', "NaN"))


@pytest.mark.parametrize("config, key, value, says", [
    # was: a string is true: recorded as true whatever the config said (the UNet keeps it, unused)
    ("unet/config.json", "ray_condition", "false", "ray_condition must be true or false, got 'false'"),
    ("unet/config.json", "num_frames", "8", "num_frames must be a whole number or null, got '8'"),  # was: loaded
    ("unet/config.json", "num_frames", 0, "num_frames must be a positive whole number, got 0"),  # was: read as unset
    ("unet/config.json", "num_frames", -2, "num_frames must be a positive whole number, got -2"),
    ("unet/config.json", "block_out_channels", "64", "block_out_channels must be a list of whole numbers, got '64'"),
    # was: "only integer tensors of a single element can be converted to an index" at the first generation
    ("vae/config.json", "scaling_factor", "0.6", "scaling_factor must be a finite number, got '0.6'"),
    ("vae/config.json", "scaling_factor", "__nan__", "scaling_factor must be a finite number, got nan"),  # was: NaN frames
    ("vae/config.json", "scaling_factor", 0, "scaling_factor must be a number above 0, got 0"),  # was: loaded
    ("vae/config.json", "force_upcast", "yes", "force_upcast must be true or false, got 'yes'"),
    ("scheduler/scheduler_config.json", "use_karras_sigmas", "false",
     "use_karras_sigmas must be true or false or null, got 'false'"),  # was: a string is true
    ("scheduler/scheduler_config.json", "timestep_spacing", "lead",
     "timestep_spacing must be 'linspace' or 'leading' or 'trailing', got 'lead'"),
])
def test_a_value_of_another_type_is_named_with_its_key(folder, config, key, value, says):
    _set(folder / config, key, value)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == f"{folder / config}: {says}"


def test_values_of_the_declared_types_still_load(folder):
    """Whole numbers for floats, null where the class takes None, per-block lists where it takes one number."""
    _set(folder / "scheduler" / "scheduler_config.json", "sigma_max", 700)
    _set(folder / "unet" / "config.json", "sample_size", None)
    _set(folder / "unet" / "config.json", "layers_per_block", [1, 1, 1])
    loaded = load_model(folder, device="cpu", dtype="fp32")
    assert loaded.pipe.unet.config.layers_per_block == [1, 1, 1]


@pytest.mark.parametrize("config, name, kind, cls", [
    # was: built as Euler from a DDIM config in silence, with the keys they share
    ("scheduler/scheduler_config.json", "DDIMScheduler", "scheduler", "EulerDiscreteScheduler"),
    ("scheduler/scheduler_config.json", "NoSuchScheduler", "scheduler", "EulerDiscreteScheduler"),
    # was: loaded as GenXD's UNet / the temporal VAE whenever the weights fit
    ("unet/config.json", "UNetSpatioTemporalConditionModel", "network", "UNetMVTemporalConditionModel"),
    ("vae/config.json", "AutoencoderKL", "network", "AutoencoderKLTemporalDecoder"),
])
def test_a_config_of_another_class_is_named(folder, config, name, kind, cls):
    _set(folder / config, "_class_name", name)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    note = {"scheduler": " (genxd generate --scheduler picks other samplers)",
            "UNetSpatioTemporalConditionModel": " (a Stable Video Diffusion model: genxd train's model.init=svd starts "
                                                "a GenXD model from one, docs/training.md)"}
    assert str(info.value) == (f"{folder / config}: the config of another {kind} class ({name!r}); genxd reads "
                               f"{Path(config).parent}/ as {cls}" + note.get(kind, note.get(name, "")))


def test_a_subclass_of_the_unet_and_a_config_naming_no_class_still_load(folder):
    """A user's subclass (a name diffusers does not have) saved its config under its own name."""
    _set(folder / "unet" / "config.json", "_class_name", "MyGenXDUNet")
    config = json.loads((folder / "vae" / "config.json").read_text())
    del config["_class_name"]
    (folder / "vae" / "config.json").write_text(json.dumps(config))
    load_model(folder, device="cpu", dtype="fp32")


@pytest.mark.parametrize("key", ["num_frames", "camera_embedding_dim"])
def test_null_where_the_unet_records_none_loads_with_the_generation_window(folder, key):
    """The UNet only records these (``forward`` takes the frames of its input): null loaded before the type check
    (2026-12-07), which then refused it ('num_frames must be a whole number, got None')."""
    _set(folder / "unet" / "config.json", key, None)
    loaded = load_model(folder, device="cpu", dtype="fp32")
    assert getattr(loaded.pipe.unet.config, key) is None
    from genxd.pipelines.long_paths import window_limits

    assert window_limits(loaded.pipe, loaded.defaults) == (loaded.defaults["num_frames"],) * 2


def test_null_for_a_key_the_unet_needs_is_still_refused(folder):
    _set(folder / "unet" / "config.json", "in_channels", None)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == f"{folder / 'unet' / 'config.json'}: in_channels must be a whole number, got None"


class _DefaultNone:
    """A class declaring a key ``int = None`` (no ``| None``), as a config class may."""

    def __init__(self, size: int = None, steps: int = 1) -> None:  # type: ignore[assignment]
        self.size, self.steps = size, steps


def test_a_key_whose_default_is_none_takes_null_and_its_type():
    from genxd.config_keys import check_config_types

    check_config_types(Path("c.json"), {"size": None}, _DefaultNone)
    check_config_types(Path("c.json"), {"size": 4}, _DefaultNone)
    with pytest.raises(ValueError, match=r"^c.json: size must be a whole number or null, got 'x'$"):
        check_config_types(Path("c.json"), {"size": "x"}, _DefaultNone)
    with pytest.raises(ValueError, match=r"^c.json: steps must be a whole number, got None$"):
        check_config_types(Path("c.json"), {"steps": None}, _DefaultNone)
