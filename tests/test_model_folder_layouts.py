"""Model folders as users have them (made from the bundled model with diffusers' own save_pretrained): each
loads with the plain folder's weights, or fails in one error naming the file and what is wrong; never a model
that quietly leaves some of its checkpoint's weights unused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from genxd.checkpoints import BUNDLED_MODEL_DIR, default_model_path, load_component, load_model

pytestmark = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")


@pytest.fixture
def folder(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "genxd-small"))


@pytest.fixture(scope="module")
def bundled_fp32():
    """The bundled model as it is, loaded once: the weights the other layouts must load to (read, never changed;
    five tests loaded it each, about 1 s a load)."""
    return load_model(BUNDLED_MODEL_DIR, device="cpu", dtype="fp32")


def _set(path: Path, **changes) -> None:
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def _shard(component: Path) -> None:
    """``component``'s weights saved again in shards, with their index (diffusers' ``max_shard_size``)."""
    from genxd.models import UNetMVTemporalConditionModel

    model = UNetMVTemporalConditionModel.from_pretrained(component)
    (component / "diffusion_pytorch_model.safetensors").unlink()
    model.save_pretrained(component, max_shard_size="2MB")
    assert (component / "diffusion_pytorch_model.safetensors.index.json").is_file()


_NO_ATTENTION_IN_BLOCK_2 = ["CrossAttnDownBlockMVCascadeTemporal", "DownBlockMVCascadeTemporal",
                            "DownBlockMVCascadeTemporal"]


@pytest.mark.parametrize("sharded", [False, True], ids=["one-file", "sharded"])
@pytest.mark.parametrize("change, unused", [
    ({"motion_condition": False}, r"motion_embedding\.linear_1\.bias and 3 more weights"),
    ({"down_block_types": _NO_ATTENTION_IN_BLOCK_2}, r"down_blocks\.1\.attentions\.0\.\S+ and 62 more weights"),
], ids=["motion-off", "a-block-without-attention"])
def test_weights_the_config_has_no_place_for_are_refused(folder, change, unused, sharded):
    """A config that builds a network without some of the file's weights: diffusers warned that they 'were not
    used' and loaded, and genxd generate sampled from a UNet without its motion embedding / a block's attention."""
    if sharded:
        _shard(folder / "unet")
    _set(folder / "unet" / "config.json", **change)
    with pytest.raises(ValueError, match=rf"unet/diffusion_pytorch_model\.safetensors(\.index\.json)?: holds {unused}"
                                         r", which the network \S+unet/config\.json describes has no place for"):
        load_model(folder, device="cpu", dtype="fp32")


def test_a_shape_that_differs_names_the_weight_and_both_shapes(folder):
    """diffusers' refusal advised 'ignore_mismatched_sizes=True' (random weights), which genxd does not take, and
    was cut off after 400 characters."""
    _set(folder / "unet" / "config.json", in_channels=16)
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    message = str(info.value)
    assert message.startswith(f"{folder / 'unet' / 'diffusion_pytorch_model.safetensors'}: conv_in.weight has shape "
                              "[64, 15, 3, 3] where the network ")
    assert message.endswith("describes has [64, 16, 3, 3]; the config does not fit its weights")
    assert "ignore_mismatched_sizes" not in message and "\n" not in message


def test_training_refuses_unused_weights_too(folder):
    """genxd train's model.pretrained (load_component) read the same folder as loosely."""
    from genxd.models import UNetMVTemporalConditionModel

    _set(folder / "unet" / "config.json", motion_condition=False)
    with pytest.raises(ValueError, match=r"holds motion_embedding\.linear_1\.bias and 3 more weights"):
        load_component(UNetMVTemporalConditionModel, folder / "unet", "a GenXD checkpoint's unet/")


def test_sharded_and_plain_folders_load_the_same_weights(folder, tmp_path, bundled_fp32):
    plain = bundled_fp32.pipe.unet.state_dict()
    _shard(folder / "unet")
    sharded = load_model(folder, device="cpu", dtype="fp32").pipe.unet.state_dict()
    assert plain.keys() == sharded.keys()
    assert all(torch.equal(plain[k], sharded[k]) for k in plain)


def test_only_fp16_variant_weights_name_the_variant_and_load_once_renamed(folder, bundled_fp32):
    """A folder saved with save_pretrained(variant="fp16") (or downloaded with --include '*.fp16.*') was told
    'diffusion_pytorch_model.safetensors: no such file', naming none of the weights it holds."""
    from genxd.models import UNetMVTemporalConditionModel

    unet = folder / "unet"
    UNetMVTemporalConditionModel.from_pretrained(unet, torch_dtype=torch.float16).save_pretrained(unet, variant="fp16")
    (unet / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"unet/diffusion_pytorch_model.safetensors: no such file \(only the "
                                                r"variant diffusion_pytorch_model.fp16.safetensors is there: rename"):
        load_model(folder, device="cpu", dtype="fp32")
    (unet / "diffusion_pytorch_model.fp16.safetensors").rename(unet / "diffusion_pytorch_model.safetensors")
    half = load_model(folder, device="cpu", dtype="fp32").pipe.unet.state_dict()
    plain = bundled_fp32.pipe.unet.state_dict()
    assert all(torch.equal(half[k], plain[k].half().float()) for k in plain)  # the same weights, in float16


@pytest.mark.parametrize("index_name", ["diffusion_pytorch_model.safetensors.index.fp16.json",
                                        "diffusion_pytorch_model.safetensors.fp16.index.json"], ids=["index", "legacy"])
def test_only_sharded_fp16_variant_weights_say_to_rename_the_index_and_load_once_renamed(folder, index_name,
                                                                                       bundled_fp32):
    """A unet/ holding only the shards of an fp16 variant (diffusion_pytorch_model.fp16-00001-of-00002.safetensors
    ...) and their index was told to rename ONE shard to diffusion_pytorch_model.safetensors: half the weights. The
    index under its deprecated name (diffusers still loads it) was not named: nothing was said."""
    from genxd.models import UNetMVTemporalConditionModel

    unet = folder / "unet"
    model = UNetMVTemporalConditionModel.from_pretrained(unet, torch_dtype=torch.float16)
    (unet / "diffusion_pytorch_model.safetensors").unlink()
    model.save_pretrained(unet, variant="fp16", max_shard_size="8MB")
    index = (unet / "diffusion_pytorch_model.safetensors.index.fp16.json").rename(unet / index_name)
    assert index.is_file() and len(list(unet.glob("diffusion_pytorch_model.fp16-*-of-*.safetensors"))) > 1
    with pytest.raises(FileNotFoundError, match=r"unet/diffusion_pytorch_model.safetensors: no such file \(only the "
                                                rf"variant index {re.escape(index_name)} "
                                                r"is there: rename it to diffusion_pytorch_model\.safetensors\.index"
                                                r"\.json") as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert not re.search(r"-\d{5}-of-\d{5}", str(info.value))  # no shard is offered as the whole file
    index.rename(unet / "diffusion_pytorch_model.safetensors.index.json")  # the advice, followed
    half = load_model(folder, device="cpu", dtype="fp32").pipe.unet.state_dict()
    plain = bundled_fp32.pipe.unet.state_dict()
    assert half.keys() == plain.keys()
    assert all(torch.equal(half[k], plain[k].half().float()) for k in plain)


def test_a_link_into_the_hub_cache_whose_blob_did_not_arrive_says_so(folder):
    """An interrupted download leaves the snapshot's link pointing at a blob still named *.incomplete."""
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    blob = folder / "blob"
    weights.rename(blob.with_suffix(".incomplete"))
    weights.symlink_to("../blob")
    with pytest.raises(FileNotFoundError, match=r"vae/diffusion_pytorch_model.safetensors: no such file \(a link to "
                                                r"\.\./blob, which is not there: a download that stopped\?"):
        load_model(folder, device="cpu", dtype="fp32")


def test_from_pretrained_is_as_strict_as_load_model(folder, capfd):
    """GenXDPipeline.from_pretrained (the diffusers-style loader) loaded a UNet config without the motion
    embedding after diffusers' 'were not used' warning, dropping those weights."""
    from genxd.pipelines import GenXDPipeline

    _set(folder / "unet" / "config.json", motion_condition=False)
    with pytest.raises(ValueError, match=r"unet/diffusion_pytorch_model\.safetensors: holds motion_embedding\.linear_1"
                                         r"\.bias and 3 more weights, which the network \S+ describes has no place"):
        GenXDPipeline.from_pretrained(folder)
    assert "were not used" not in capfd.readouterr().err


def _pickled(folder: Path) -> Path:
    """``folder``'s UNet and VAE saved again as pickle files only (diffusers' safe_serialization=False)."""
    from diffusers import AutoencoderKLTemporalDecoder

    from genxd.models import UNetMVTemporalConditionModel

    for component, cls in (("unet", UNetMVTemporalConditionModel), ("vae", AutoencoderKLTemporalDecoder)):
        model = cls.from_pretrained(folder / component)
        (folder / component / "diffusion_pytorch_model.safetensors").unlink()
        model.save_pretrained(folder / component, safe_serialization=False)
        assert (folder / component / "diffusion_pytorch_model.bin").is_file()
    return folder


def test_a_pickle_only_folder_loads_only_with_allow_pickle(folder, bundled_fp32):
    """load_model refused a .bin-only folder saying genxd reads safetensors only, with no way to ask for it."""
    _pickled(folder)
    with pytest.raises(FileNotFoundError, match=r"unet/diffusion_pytorch_model\.safetensors: no such file, only "
                                                r"pickle weights \(diffusion_pytorch_model\.bin\); pass "
                                                r"allow_pickle=True to load them \(unpickling can run code"):
        load_model(folder, device="cpu", dtype="fp32")
    pickled = load_model(folder, device="cpu", dtype="fp32", allow_pickle=True)
    plain = bundled_fp32
    for component in ("unet", "vae"):
        ours, theirs = getattr(pickled.pipe, component).state_dict(), getattr(plain.pipe, component).state_dict()
        assert ours.keys() == theirs.keys()
        for name in ours:
            assert torch.equal(ours[name], theirs[name]), (component, name)
    image = torch.rand(1, 1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(pickled.pipe.encode_images(image), plain.pipe.encode_images(image))


def test_a_pickle_folder_is_checked_strictly_too(folder):
    """With allow_pickle the names and shapes come from the pickle file (torch.load(weights_only=True)): a config
    without the motion embedding is refused as for safetensors."""
    _pickled(folder)
    _set(folder / "unet" / "config.json", motion_condition=False)
    with pytest.raises(ValueError, match=r"unet/diffusion_pytorch_model\.bin: holds motion_embedding\.linear_1\.\w+ "
                                         r"and 3 more weights"):
        load_model(folder, device="cpu", dtype="fp32", allow_pickle=True)


def test_each_weights_header_is_read_once_per_load(folder, monkeypatch):
    """check_config_fits_weights and check_weights_match each read every header of the unet/ and vae/ weights."""
    from genxd import config_weights
    from genxd.checkpoints import check_model_folder

    _shard(folder / "unet")
    reads: list[str] = []
    file_shapes = config_weights._file_shapes
    monkeypatch.setattr(config_weights, "_file_shapes", lambda file: reads.append(str(file)) or file_shapes(file))
    check_model_folder(folder)
    assert reads and len(reads) == len(set(reads))  # every shard and the VAE's file, once each


def test_the_network_a_config_describes_is_built_once_per_process(folder, monkeypatch):
    """check_weights_match builds the network of each config on the meta device to compare it with the weights
    file: about a third of load_model's CPU for the bundled model, and a second load of the same folder in one
    process (the demo, the API, a fuzzer's worker) built it again. The names and shapes are remembered per class and
    config now; a changed config is built again and checked as before."""
    from collections import OrderedDict

    from genxd import config_weights
    from genxd.checkpoints import check_model_folder
    from genxd.models import UNetMVTemporalConditionModel

    monkeypatch.setattr(config_weights, "_BUILT", OrderedDict())  # not what an earlier test built
    built: list[dict] = []
    real = UNetMVTemporalConditionModel.from_config
    monkeypatch.setattr(UNetMVTemporalConditionModel, "from_config",
                        classmethod(lambda cls, config, **kw: built.append(config) or real(config, **kw)))
    check_model_folder(folder)
    check_model_folder(folder)
    assert len(built) == 1
    _set(folder / "unet" / "config.json", motion_condition=False)
    with pytest.raises(ValueError, match=r"unet/diffusion_pytorch_model\.safetensors: holds motion_embedding"):
        check_model_folder(folder)
    assert len(built) == 2


def test_a_legacy_format_pickle_file_is_checked_strictly_too(folder):
    """A .bin file in torch's legacy (non-zip) format, which diffusers loads: its names and shapes were read with
    mmap=True, which only zip files allow, so every check was skipped; a file missing a weight loaded (diffusers'
    'newly initialized' warning hidden) and failed later with NotImplementedError 'Cannot copy out of meta
    tensor'. It is refused naming the weight, as a zip-format file is."""
    from diffusers import AutoencoderKLTemporalDecoder

    vae = folder / "vae"
    state = AutoencoderKLTemporalDecoder.from_pretrained(vae).state_dict()
    (vae / "diffusion_pytorch_model.safetensors").unlink()
    kept = {name: tensor for name, tensor in state.items() if name != "encoder.conv_in.weight"}
    torch.save(kept, vae / "diffusion_pytorch_model.bin", _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match=r"vae/diffusion_pytorch_model\.bin: holds no weight encoder\.conv_in\.weight "
                                         r"\(the network \S+vae/config\.json describes has it\)"):
        load_component(AutoencoderKLTemporalDecoder, vae, "a VAE folder", allow_pickle=True)
    torch.save(state, vae / "diffusion_pytorch_model.bin", _use_new_zipfile_serialization=False)  # whole: loads
    loaded = load_component(AutoencoderKLTemporalDecoder, vae, "a VAE folder", allow_pickle=True).state_dict()
    assert all(torch.equal(loaded[name], state[name]) for name in state)


def test_with_a_weights_file_and_an_index_the_index_diffusers_loads_is_checked(folder):
    """diffusers loads the shards of an index beside diffusion_pytorch_model.safetensors, genxd checked the single
    file: shards missing weights loaded (the 'newly initialized' warning hidden) and failed later with
    NotImplementedError 'Cannot copy out of meta tensor'. The index is checked now, as diffusers reads it."""
    from genxd.models import UNetMVTemporalConditionModel

    unet = folder / "unet"
    UNetMVTemporalConditionModel.from_pretrained(unet).save_pretrained(unet, max_shard_size="2MB")
    assert (unet / "diffusion_pytorch_model.safetensors").is_file()  # save_pretrained kept the single file
    index = unet / "diffusion_pytorch_model.safetensors.index.json"
    tree = json.loads(index.read_text())
    dropped = sorted(set(tree["weight_map"].values()))[0]
    tree["weight_map"] = {name: file for name, file in tree["weight_map"].items() if file != dropped}
    index.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match=r"unet/diffusion_pytorch_model\.safetensors\.index\.json: holds no weight "):
        load_component(UNetMVTemporalConditionModel, unet, "a unet folder")


@pytest.mark.parametrize("entry, link, says", [
    ("unet/diffusion_pytorch_model.safetensors", False, "no such file (a folder, where the weights file should be)"),
    # was: "(a link to MODEL/vae, which is not there: a download that stopped? ...)" of a folder that is there
    ("unet/diffusion_pytorch_model.safetensors", True,
     "no such file (a link to {target}, a folder, where the weights file should be)"),
    ("vae/config.json", False, "no such file (a model folder's vae/ holds it and it is a folder)"),
])
def test_a_folder_where_a_file_should_be_is_said_to_be_one(folder, entry, link, says):
    import os

    path = folder / entry
    path.unlink()
    target = folder / "scheduler"
    if link:
        os.symlink(target, path)
    else:
        path.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        load_model(folder, device="cpu", dtype="fp32")
    assert str(info.value) == f"{path}: " + says.format(target=target)


class _RunsCode:
    """Unpickled, it would run a command: torch's weights_only reading refuses it."""

    def __reduce__(self):
        import os

        return (os.system, ("exit 3",))


@pytest.mark.parametrize("write, says", [
    (lambda path: torch.save({"conv_in.weight": _RunsCode()}, path), r"UnpicklingError: .*GLOBAL (posix|nt)\.system"),
    (lambda path: path.write_bytes(b"not a pickle at all"), r"UnpicklingError: "),
    (lambda path: (torch.save({"w": torch.zeros(4)}, path), path.write_bytes(path.read_bytes()[:200])),
     r"RuntimeError: .*zip"),
])
def test_a_pickle_file_torch_does_not_read_as_tensors_names_the_file(folder, write, says):
    """With allow_pickle, such a file was "MODEL: cannot load the model from this folder (OSError: Unable to load
    weights from checkpoint file for '...bin' at '...bin'.)": the folder named, not the cause."""
    weights = folder / "unet" / "diffusion_pytorch_model.bin"
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    write(weights)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(weights))}: not a pickle weights file genxd reads "
                                         rf"\({says}.*\); pickle weights are read as tensors only"):
        load_model(folder, device="cpu", dtype="fp32", allow_pickle=True)


@pytest.mark.parametrize("pickled", [False, True], ids=["safetensors", "pickle"])
def test_weights_stored_as_integers_are_named(folder, pickled):
    """An I32 ``conv_in.weight`` (values truncated to whole numbers) loaded, cast to float by diffusers in silence."""
    from safetensors.torch import load_file, save_file

    unet = folder / "unet"
    state = load_file(unet / "diffusion_pytorch_model.safetensors")
    state["conv_in.weight"] = state["conv_in.weight"].to(torch.int32)
    (unet / "diffusion_pytorch_model.safetensors").unlink()
    weights = unet / ("diffusion_pytorch_model.bin" if pickled else "diffusion_pytorch_model.safetensors")
    torch.save(state, weights) if pickled else save_file(state, weights)
    dtype = "torch.int32" if pickled else "I32"
    with pytest.raises(ValueError) as info:
        load_model(folder, device="cpu", dtype="fp32", allow_pickle=pickled)
    assert str(info.value) == (f"{weights}: the weight conv_in.weight is stored as {dtype}, not as floating-point "
                               "numbers: not a model's weights file, or a damaged one")


@pytest.mark.parametrize("damage, says", [
    # a hub cache snapshot whose blob did not arrive: the released defaults (256x256, 12 frames) were used, silently
    (lambda path: path.symlink_to("../blob.incomplete"), "no such file (a link to ../blob.incomplete, which is not there"),
    (lambda path: path.mkdir(), "is a folder, not a file"),
], ids=["link-to-a-missing-blob", "folder"])
def test_a_generation_config_that_is_no_file_is_not_taken_for_none(folder, damage, says):
    """``generation_config.json`` there but not a readable file is named, not read as absent (the released model's
    defaults for a model of other sizes: the bundled model at 256x256, 12 frames)."""
    from genxd.checkpoints import GENERATION_CONFIG, model_info

    path = folder / GENERATION_CONFIG
    path.unlink()
    damage(path)
    with pytest.raises(OSError) as info:  # FileNotFoundError / IsADirectoryError, as a missing component file's
        model_info(folder)
    assert str(info.value).startswith(f"{path}: {says}")
