"""genxd.checkpoint_folders: where ``--model`` finds a checkpoint."""

from __future__ import annotations

import re

import pytest

from genxd.checkpoint_folders import COMPONENTS, resolve_checkpoint


def _checkpoint(folder):
    for component in COMPONENTS:
        (folder / component).mkdir(parents=True)
    return folder


def test_a_training_runs_latest_is_its_newest_checkpoint(tmp_path):
    """``--model RUN/checkpoints/latest`` was refused ("no GenXD checkpoint"), while a training config takes that
    name for ``model.vae.pretrained`` (found by the second newcomer run): it is the newest ``checkpoint-*``."""
    checkpoints = tmp_path / "run" / "checkpoints"
    _checkpoint(checkpoints / "checkpoint-0000010")
    newest = _checkpoint(checkpoints / "checkpoint-0000020")
    (checkpoints / "checkpoint-0000030.part").mkdir()  # a checkpoint still being written is not one
    assert resolve_checkpoint(checkpoints / "latest") == newest
    assert resolve_checkpoint(str(checkpoints / "latest")) == newest
    with pytest.raises(FileNotFoundError, match=r"empty: no checkpoint-\* folder to use as 'latest'"):
        (tmp_path / "empty").mkdir()
        resolve_checkpoint(tmp_path / "empty" / "latest")


def test_a_folder_named_latest_is_taken_as_it_is(tmp_path):
    folder = _checkpoint(tmp_path / "checkpoints" / "latest")
    _checkpoint(tmp_path / "checkpoints" / "checkpoint-0000099")
    assert resolve_checkpoint(folder) == folder


def test_latest_orders_checkpoints_by_step_not_by_name(tmp_path):
    """Sorted by name, ``checkpoint-10000000`` (past training's 7-digit padding) came before ``checkpoint-9999999``
    and ``checkpoint-500`` (a folder renamed by hand) after ``checkpoint-0001000``."""
    from genxd.training.checkpoint_files import list_checkpoints

    checkpoints = tmp_path / "run" / "checkpoints"
    for name in ("checkpoint-0001000", "checkpoint-500", "checkpoint-9999999", "checkpoint-10000000"):
        _checkpoint(checkpoints / name)
        (checkpoints / name / "training_state.json").write_text("{}")
    assert resolve_checkpoint(checkpoints / "latest").name == "checkpoint-10000000"
    assert [p.name for p in list_checkpoints(checkpoints)] == [
        "checkpoint-500", "checkpoint-0001000", "checkpoint-9999999", "checkpoint-10000000"]


def _cached_repo(cache, repo_id: str, files: dict[str, bytes]) -> None:
    """``repo_id`` in a Hugging Face cache folder as huggingface_hub lays it out: blobs named by their hash,
    a snapshot of links to them, refs/main naming the snapshot."""
    import hashlib
    import os

    root = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / ("0" * 40)
    (root / "blobs").mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text("0" * 40)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).symlink_to(os.path.relpath(blob, (snapshot / name).parent))


def _use_hub_cache(monkeypatch, cache) -> None:
    """huggingface_hub reads HF_HUB_CACHE when imported: its constant is set too."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))


def test_a_hub_id_not_in_the_cache_says_how_to_download_that_repository(tmp_path, monkeypatch):
    """The hint named the released repository ('hf download Yuyang-z/genxd --local-dir ./genxd-model') for any
    hub id: a user asking for org/finetuned was told to download another model."""
    _use_hub_cache(monkeypatch, tmp_path / "hub")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint("org/finetuned")
    message = str(info.value)
    assert "not in the local Hugging Face cache" in message
    assert "hf download org/finetuned  (then pass model='org/finetuned' again)" in message
    assert "Yuyang-z" not in message


def test_a_cached_snapshot_without_the_checkpoint_folders_says_so(tmp_path, monkeypatch):
    """A snapshot whose download stopped before unet/ was said to be 'not in the local Hugging Face cache'."""
    _use_hub_cache(monkeypatch, tmp_path / "hub")
    monkeypatch.chdir(tmp_path)
    _cached_repo(tmp_path / "hub", "org/partial", {"vae/config.json": b"{}", "scheduler/scheduler_config.json": b"{}"})
    with pytest.raises(FileNotFoundError, match=r"'org/partial' is in the local Hugging Face cache \(.*models--org--"
                                                r"partial.*\) without a checkpoint's folders: it has no unet/ "
                                                r"\(a download that stopped.*hf download org/partial "):
        resolve_checkpoint("org/partial")
    _cached_repo(tmp_path / "hub", "org/whole", {f"{c}/config.json": b"{}" for c in COMPONENTS})
    assert resolve_checkpoint("org/whole") == tmp_path / "hub" / "models--org--whole" / "snapshots" / ("0" * 40)


def test_a_folder_holding_a_checkpoint_names_it(tmp_path):
    """``--model downloads`` where the checkpoint is ``downloads/genxd-model``: the error said only that none of
    unet/, vae/, scheduler/ is in it."""
    from genxd.checkpoint_folders import resolve_checkpoint

    downloads = tmp_path / "downloads"
    for name in ("genxd-model", "other-model"):
        _checkpoint(downloads / name)
    (downloads / "photos").mkdir()
    with pytest.raises(FileNotFoundError, match=r"none of unet/, vae/, scheduler/ is in it; did you mean "
                                                rf"{re.escape(str(downloads / 'genxd-model'))} or "
                                                rf"{re.escape(str(downloads / 'other-model'))} \(a checkpoint"):
        resolve_checkpoint(downloads)


def test_only_the_first_entries_of_a_huge_folder_are_looked_at(tmp_path, monkeypatch):
    """The look for checkpoints inside is bounded (a folder of many photos is not walked)."""
    from genxd import checkpoint_folders

    monkeypatch.setattr(checkpoint_folders, "MAX_LISTED", 3)
    for i in range(6):
        (tmp_path / f"d{i}").mkdir()
    seen = []
    real = checkpoint_folders._is_checkpoint
    monkeypatch.setattr(checkpoint_folders, "_is_checkpoint", lambda p: seen.append(p) or real(p))
    assert checkpoint_folders.checkpoints_inside(tmp_path) == []
    assert len(seen) == 3


def test_a_cached_snapshot_whose_blob_may_not_be_read_names_the_file(tmp_path, monkeypatch):
    """A cache shared by another user (its blobs of mode 600) went to the loader, whose line was the system's
    "[Errno 13] Permission denied: '.../blobs/HASH'"; any user: permission as os.access reports it."""
    import os

    from genxd import checkpoint_folders

    _use_hub_cache(monkeypatch, tmp_path / "hub")
    monkeypatch.chdir(tmp_path)
    _cached_repo(tmp_path / "hub", "org/shared", {f"{c}/config.json": c.encode() for c in COMPONENTS})
    snapshot = tmp_path / "hub" / "models--org--shared" / "snapshots" / ("0" * 40)
    real_access = os.access
    monkeypatch.setattr(checkpoint_folders.os, "access",
                        lambda p, m, **kw: os.path.realpath(p) != os.path.realpath(snapshot / "vae" / "config.json")
                        and real_access(p, m, **kw))
    with pytest.raises(PermissionError) as caught:
        resolve_checkpoint("org/shared")
    assert str(caught.value) == f"{snapshot / 'vae' / 'config.json'}: the model file is not readable: no permission"


def test_a_file_is_said_to_be_a_file(tmp_path):
    """``--model photo.png`` said "none of unet/, vae/, scheduler/ is in it", of a file."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"png")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(photo)
    assert str(info.value) == (f"{photo} is a file, not a GenXD checkpoint folder (a folder holding unet/, vae/ and "
                               "scheduler/)")


@pytest.mark.parametrize("inside, kind", [
    ("unet/diffusion_pytorch_model.safetensors", "file"),
    ("generation_config.json", "file"),
    ("accelerate_state", "folder"),
])
def test_a_path_inside_a_checkpoint_names_the_checkpoint(tmp_path, inside, kind):
    """A file of a checkpoint, or a folder of it that is not a component (a training checkpoint's
    ``accelerate_state/``): the error named neither it nor the checkpoint it is in."""
    checkpoint = _checkpoint(tmp_path / "run" / "checkpoints" / "checkpoint-0000010")
    path = checkpoint / inside
    if kind == "file":
        path.write_bytes(b"x")
    else:
        path.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(path)
    assert str(info.value).startswith(f"{path} is a file, not" if kind == "file" else f"{path} is not a GenXD")
    assert str(info.value).endswith(f"; it is inside the checkpoint folder {checkpoint}: pass that folder")


def _vae_checkpoint(folder):
    (folder / "vae").mkdir(parents=True)
    (folder / "training_state.json").write_text("{}")
    return folder


def test_a_vae_checkpoint_says_where_it_is_used(tmp_path):
    """``--model`` of a ``genxd train-vae`` checkpoint or run: "it has no unet/ and no scheduler/", or "none of unet/,
    vae/, scheduler/ is in it" for the run, and nothing on what to do with it."""
    run = tmp_path / "small_vae"
    checkpoint = _vae_checkpoint(run / "checkpoints" / "checkpoint-0000010")
    use = "as model.vae.pretrained of a genxd train config (docs/training.md), whose checkpoints generate"
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(checkpoint)
    assert str(info.value) == (f"{checkpoint} is not a GenXD checkpoint folder: it has no unet/ and no scheduler/ (a "
                               "checkpoint holds unet/, vae/ and scheduler/); it is a genxd train-vae checkpoint (a "
                               f"VAE alone): use it {use}")
    with pytest.raises(FileNotFoundError, match=re.escape("it is a genxd train-vae checkpoint (a VAE alone): use it")):
        resolve_checkpoint(run / "checkpoints" / "latest")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(run)
    assert str(info.value).endswith(f"; it is a genxd train-vae run's folder (its checkpoints hold a VAE alone): use "
                                    f"{run / 'checkpoints' / 'latest'} {use}")


def test_an_unfinished_checkpoint_is_refused_naming_a_complete_one(tmp_path):
    """``.checkpoint-NNNNNNN.part`` (a save stopped by a kill) loaded, its generation_config.json perhaps not written
    (then the released model's 256 px, 12 frames); and a folder holding one suggested it first."""
    checkpoints = tmp_path / "run" / "checkpoints"
    done = _checkpoint(checkpoints / "checkpoint-0000010")
    unfinished = _checkpoint(checkpoints / ".checkpoint-0000020.part")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(unfinished)
    assert str(info.value) == (f"{unfinished} is an unfinished checkpoint (genxd train renames it to checkpoint-0000020 "
                               "once it is complete; a run that was stopped while saving leaves it); pass a complete "
                               f"one: {done} (the newest)")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(checkpoints)
    assert str(info.value).endswith(f"did you mean {done} (a checkpoint folder inside it)?")


def test_a_hugging_face_cache_folder_names_the_hub_id_and_its_snapshot(tmp_path):
    """``--model ~/.cache/huggingface/hub/models--org--whole`` (where ``hf download org/whole`` put it) said only
    that none of unet/, vae/, scheduler/ is in it."""
    _cached_repo(tmp_path / "hub", "org/whole", {f"{c}/config.json": b"{}" for c in COMPONENTS})
    root = tmp_path / "hub" / "models--org--whole"
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(root)
    assert str(info.value).endswith(f"; it is the Hugging Face cache's folder of org/whole: pass the hub id org/whole, "
                                    f"or its snapshot {root / 'snapshots' / ('0' * 40)}")


def test_a_component_that_is_a_file_or_a_link_to_nothing_is_said_to_be_one(tmp_path):
    """``unet`` a file, or a link to a folder moved away: "it has no unet/" alone."""
    import os

    model = _checkpoint(tmp_path / "model")
    (model / "unet").rmdir()
    (model / "unet").write_text("")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(model)
    assert str(info.value) == (f"{model} is not a GenXD checkpoint folder: it has no unet/ (unet is a file) (a "
                               "checkpoint holds unet/, vae/ and scheduler/)")
    (model / "unet").unlink()
    os.symlink(tmp_path / "moved", model / "unet")
    with pytest.raises(FileNotFoundError, match=re.escape(f"it has no unet/ (unet is a link to {tmp_path / 'moved'}, "
                                                          "which is not there) (a checkpoint")):
        resolve_checkpoint(model)


@pytest.mark.parametrize("links", [{"unet": "unet"}, {"unet": "other", "other": "unet"}])
def test_a_component_that_is_a_loop_of_links_names_the_loop(tmp_path, links):
    """``unet`` a link to itself, or to a link back to it: was "it has no unet/ (unet is a link to unet, which is not
    there)"."""
    import os

    model = _checkpoint(tmp_path / "model")
    (model / "unet").rmdir()
    for name, target in links.items():
        os.symlink(target, model / name)
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(model)
    chain = " -> ".join(["unet", *links.values()])
    assert str(info.value) == (f"{model / 'unet'} is a loop of symbolic links ({chain}), not a folder: point it at "
                               "the checkpoint's unet/ folder")


def test_a_model_folder_that_is_a_loop_of_links_names_the_loop(tmp_path, monkeypatch):
    """``--model LINK`` where LINK points to itself: was "no GenXD checkpoint at 'LINK' (not a local folder, and not
    in the local Hugging Face cache ...)", for a relative ``a/b`` a hub id looked for in the cache."""
    import os

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    os.symlink("genxd", tmp_path / "models" / "genxd")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint("models/genxd")
    assert str(info.value) == ("models/genxd is a loop of symbolic links (genxd -> genxd), not a folder: point it at "
                               "the checkpoint folder")


def test_a_training_checkpoint_whose_unet_link_points_nowhere_is_not_called_a_vae_checkpoint(tmp_path):
    """A ``genxd train`` checkpoint (``training_state.json`` beside its components) whose ``unet`` is a link to a
    folder moved away was also said to be "a genxd train-vae checkpoint (a VAE alone)": the VAE test saw no
    ``unet/`` folder. The link is what is wrong, and the message says only that."""
    import os

    model = _checkpoint(tmp_path / "model")
    (model / "training_state.json").write_text("{}")
    (model / "unet").rmdir()
    os.symlink(tmp_path / "moved", model / "unet")
    with pytest.raises(FileNotFoundError) as info:
        resolve_checkpoint(model)
    assert "which is not there" in str(info.value) and "train-vae" not in str(info.value), str(info.value)
