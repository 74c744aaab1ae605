"""Fine-tuning from a GenXD model keeps its generation settings (focal, steps, guidance, scheduler...) in the new
checkpoints' ``generation_config.json``; the run's own sizes, camera scale and ``generation:`` section win, and the
starting model's ``trained`` ranges (its data, not this run's) are not copied."""

from __future__ import annotations

import json

from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from .conftest import QUIET, TINY

SHORT = [*QUIET, "data.datasets.0.length=2", "training.batch_size=1", "training.max_steps=1",
         "training.ema.enabled=false"]


def test_finetuning_inherits_the_starting_models_generation_settings(tmp_path):
    parent = train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'parent'}"]), cpu=True)
    settings = json.loads((parent / "generation_config.json").read_text())
    settings.update({"focal": 1.1, "num_inference_steps": 10, "guidance_scale": 2.0, "scheduler": "heun",
                     "trained": {"resolution": [32, 32], "num_frames": [4, 4], "motion_strength": [0, 21.4]},
                     "_trained_note": "the parent's data"})
    (parent / "generation_config.json").write_text(json.dumps(settings))

    child = train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'child'}", "model.init=genxd",
                                           f"model.pretrained={parent}", "model.unet={}", "data.num_frames=3"]),
                        cpu=True)
    got = json.loads((child / "generation_config.json").read_text())
    assert (got["focal"], got["num_inference_steps"], got["guidance_scale"], got["scheduler"]) == (1.1, 10, 2.0, "heun")
    assert got["num_frames"] == 3 and got["resolution"] == 32 and got["scene_depth"] == 1.0
    assert "trained" not in got and "_trained_note" not in got

    again = train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'again'}", "model.init=genxd",
                                           f"model.pretrained={parent}", "model.unet={}",
                                           "generation={guidance_scale: 4.5}"]), cpu=True)
    got = json.loads((again / "generation_config.json").read_text())
    assert got["guidance_scale"] == 4.5 and got["num_inference_steps"] == 10  # the generation: section wins


def test_a_checkpoints_unet_folder_or_a_run_folder_says_which_folder_to_pass(tmp_path):
    import pytest

    from genxd.checkpoint_folders import resolve_checkpoint

    run = tmp_path / "parent"
    parent = train_genxd(load_config(TINY, [*SHORT, f"output_dir={run}"]), cpu=True)
    with pytest.raises(ValueError, match=f"the unet/ folder of a checkpoint: pass the checkpoint folder {parent}$"):
        train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'child'}", "model.init=genxd",
                                       f"model.pretrained={parent / 'unet'}", "model.unet={}"]), cpu=True)
    assert not (tmp_path / "child").exists()
    with pytest.raises(FileNotFoundError, match=f"pass {run / 'checkpoints' / 'latest'} "):
        resolve_checkpoint(run)  # genxd generate --model RUN_DIR


def test_the_unet_options_refusal_names_the_bundled_models_unet_folder():
    """model.pretrained=bundled with UNet layout options: the refusal named 'bundled/unet', a folder that does not
    exist (the config keeps the word), not the bundled model's unet/ folder where the layout comes from."""
    import pytest

    from genxd.checkpoint_folders import BUNDLED, starting_folder
    from genxd.training.config import ModelConfig
    from genxd.training.models import check_model_options

    unet = starting_folder(BUNDLED) / "unet"
    with pytest.raises(ValueError, match="may only set") as caught:
        check_model_options(ModelConfig(init="genxd", pretrained=BUNDLED, unet={"block_out_channels": [32]}))
    assert f"takes the UNet layout from {unet};" in str(caught.value)
    assert "from bundled/unet" not in str(caught.value)


def test_keys_genxd_never_reads_are_not_carried_into_the_new_checkpoints(tmp_path, capsys):
    """A starting model's generation_config.json keys genxd never reads (a misspelt one, another tool's) were copied
    into every checkpoint, where generation warned of them for ever: they are dropped, with one warning naming them
    at the start; the known keys and their values are kept."""
    parent = train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'parent'}"]), cpu=True)
    settings_path = parent / "generation_config.json"
    settings = json.loads(settings_path.read_text())
    settings.update({"focal": 1.1, "num_inference_steps": 10, "guidance_scal": 5.0, "other_tool": {"a": 1}})
    settings_path.write_text(json.dumps(settings))
    capsys.readouterr()

    child = train_genxd(load_config(TINY, [*SHORT, f"output_dir={tmp_path / 'child'}", "model.init=genxd",
                                           f"model.pretrained={parent}", "model.unet={}"]), cpu=True)
    got = json.loads((child / "generation_config.json").read_text())
    assert "guidance_scal" not in got and "other_tool" not in got
    assert (got["focal"], got["num_inference_steps"]) == (1.1, 10)
    output = capsys.readouterr()
    warned = [line for line in (output.out + output.err).splitlines() if "warning:" in line]
    assert warned == [f"genxd train: warning: {settings_path}: unknown key(s) ['guidance_scal', 'other_tool'] "
                      "(did you mean 'guidance_scal' -> 'guidance_scale'?) are not copied into this run's checkpoints (genxd never "
                      "reads them; it reads resolution, height, width, num_frames, num_inference_steps, "
                      "guidance_scale, focal, scheduler, scene_depth, trained, and notes named _...)"]
