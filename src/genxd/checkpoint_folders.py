"""Finding a GenXD checkpoint folder (local, or a hub id in the local Hugging Face cache; never downloads).

Free of torch: the command line checks `--model` with it before importing the model code."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import overload

from .utils.paths import link_loop, reachable, require_readable

RELEASED_REPO_ID = "Yuyang-z/genxd"
DOWNLOAD_HINT = (
    f"hf download {RELEASED_REPO_ID} --local-dir ./genxd-model  (then pass --model ./genxd-model)"
)
COMPONENTS = ("unet", "vae", "scheduler")
#: The small model shipped inside the package (``genxd/assets/genxd-small``).
BUNDLED_MODEL_DIR = Path(__file__).parent / "assets" / "genxd-small"
#: The word a training config gives for the bundled model's folder (``model.pretrained: bundled``), from any folder.
BUNDLED = "bundled"


@overload
def bundled_or(value: str) -> str: ...


@overload
def bundled_or(value: None) -> None: ...


def bundled_or(value: str | None) -> str | None:
    """``value``, or the bundled model's folder where it is :data:`BUNDLED` (a folder named so: ``./bundled``)."""
    return str(BUNDLED_MODEL_DIR) if value == BUNDLED else value


def starting_folder(value: str | os.PathLike) -> Path:
    """The folder a training config's starting folder names (``model.pretrained``, ``model.vae.pretrained``,
    ``model.scheduler``, ``vae.pretrained``): the bundled model's for :data:`BUNDLED`, the newest checkpoint for a
    ``RUN/checkpoints/latest`` (:func:`resolve_latest`). The config keeps the word, so that a saved config names the
    bundled model of wherever genxd is installed, not of the installation that saved it."""
    return resolve_latest(bundled_or(value) if isinstance(value, str) else value)


def download_hint() -> str:
    """:data:`DOWNLOAD_HINT` worded for the caller: ``--model ./genxd-model`` on the command line,
    ``model='./genxd-model'`` from Python."""
    from .validation import is_cli

    if is_cli():
        return DOWNLOAD_HINT
    return f"hf download {RELEASED_REPO_ID} --local-dir ./genxd-model  (then pass model='./genxd-model')"


def checkpoint_order(path: str | os.PathLike) -> tuple[int, str]:
    """Sort key of ``checkpoint-NNNNNNN`` folders, oldest first: by the step number (training pads it to 7 digits,
    so a run past 9,999,999 steps, or a folder renamed by hand, would sort wrongly by name), then by name."""
    name = Path(path).name
    step = name.rpartition("-")[2]
    return (int(step) if step.isdigit() else -1, name)


def resolve_latest(path: str | os.PathLike) -> Path:
    """``.../checkpoints/latest`` (when no such folder exists) -> the newest ``checkpoint-*`` there (training's
    checkpoints; the same name a training config takes for ``model.vae.pretrained``)."""
    path = Path(path)
    if path.name == "latest" and not path.exists():
        found = sorted(path.parent.glob("checkpoint-*"), key=checkpoint_order)
        found = [p for p in found if p.is_dir() and not p.name.endswith(".part")]
        if not found:
            raise FileNotFoundError(f"{path.parent}: no checkpoint-* folder to use as 'latest'")
        return found[-1]
    return path


#: a checkpoint ``genxd train`` is writing, or stopped writing (renamed to ``checkpoint-NNNNNNN`` once complete)
_UNFINISHED = re.compile(r"^\.checkpoint-\d+\.part$")


def _is_checkpoint(path: Path) -> bool:
    return all((path / c).is_dir() for c in COMPONENTS)


def _is_vae_checkpoint(path: Path) -> bool:
    """A checkpoint of ``genxd train-vae`` (``vae/`` and ``training_state.json``, no ``unet`` at all: a ``unet`` that is
    a file or a link to nothing is a ``genxd train`` checkpoint's, broken)."""
    return (path / "vae").is_dir() and not os.path.lexists(path / "unet") and (path / "training_state.json").is_file()


#: at most this many entries of a folder are looked at for checkpoints one level down (a folder of photos)
MAX_LISTED = 1000


def checkpoints_inside(path: Path) -> list[Path]:
    """The checkpoint folders directly inside ``path`` (sorted), among its first :data:`MAX_LISTED` entries."""
    found = []
    try:
        with os.scandir(path) as entries:
            for i, entry in enumerate(entries):
                if i >= MAX_LISTED:
                    break
                if entry.is_dir() and not _UNFINISHED.match(entry.name) and _is_checkpoint(Path(entry.path)):
                    found.append(Path(entry.path))
    except OSError:  # unreadable: no hint
        return []
    return sorted(found)


#: how many folders up a path inside a checkpoint is looked for it (``CKPT/unet/diffusion_pytorch_model.safetensors``)
_LEVELS_UP = 3


def checkpoint_hint(path: str | Path) -> str | None:
    """Where the checkpoint probably is, for a folder that is not one: a checkpoint's component (``.../unet``: use
    the folder above it), a Hugging Face cache folder (``hub/models--ORG--NAME``: the hub id), a ``genxd train-vae``
    checkpoint or run (a VAE alone: where to use it), a folder or file
    inside a checkpoint (``CKPT/accelerate_state``,
    ``CKPT/unet/diffusion_pytorch_model.safetensors``: use the checkpoint), a training run's folder (use
    ``RUN/checkpoints/latest``), or a folder holding checkpoint folders (``downloads/genxd-model``: name them);
    else None."""
    path = Path(path)
    as_vae = "as model.vae.pretrained of a genxd train config (docs/training.md), whose checkpoints generate"
    if _is_vae_checkpoint(path):
        return f"it is a genxd train-vae checkpoint (a VAE alone): use it {as_vae}"
    runs = path / "checkpoints"
    found = list(runs.glob("checkpoint-*")) if runs.is_dir() else []
    if any(map(_is_vae_checkpoint, found)) and not any(map(_is_checkpoint, found)):
        return (f"it is a genxd train-vae run's folder (its checkpoints hold a VAE alone): use {runs / 'latest'} "
                f"{as_vae}")
    if path.name.startswith("models--") and (path / "snapshots").is_dir():  # hf download without --local-dir
        repo_id = path.name[len("models--"):].replace("--", "/", 1)
        snapshots = sorted(p for p in (path / "snapshots").iterdir() if _is_checkpoint(p))
        where = f", or its snapshot {snapshots[-1]}" if snapshots else ""
        return f"it is the Hugging Face cache's folder of {repo_id}: pass the hub id {repo_id}{where}"
    if path.name in COMPONENTS and _is_checkpoint(path.parent):
        return f"it is the {path.name}/ folder of a checkpoint: pass the checkpoint folder {path.parent}"
    inside = next((up for up in list(path.parents)[:_LEVELS_UP] if _is_checkpoint(up)), None)
    if inside is not None:
        return f"it is inside the checkpoint folder {inside}: pass that folder"
    runs = path / "checkpoints"
    if runs.is_dir() and any(_is_checkpoint(p) for p in runs.glob("checkpoint-*")):
        return f"it is a training run's folder: pass {runs / 'latest'} (its newest checkpoint) or one of {runs}/checkpoint-*"
    found = checkpoints_inside(path)  # [] for a file or a missing folder
    if found:
        more = f" or {', '.join(map(str, found[1:3]))}{', ...' if len(found) > 3 else ''}" if len(found) > 1 else ""
        return f"did you mean {found[0]}{more} (a checkpoint folder inside it)?"
    return None


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """Return the folder holding ``unet/``, ``vae/`` and ``scheduler/``.

    ``name_or_path`` is a local folder, or a Hugging Face hub id (``owner/name``) whose snapshot is
    already in the local cache. Raises FileNotFoundError saying where to put the checkpoint and how
    to download it otherwise.
    """
    if isinstance(name_or_path, str) and not name_or_path.strip():  # Path('') is the current folder
        from .validation import InvalidValue, arg, is_cli

        raise InvalidValue(f"{arg('model')} is empty ({name_or_path!r}): pass a checkpoint folder or a hub id, or "
                           f"{'leave it out' if is_cli() else 'None'} for the bundled model")
    path = Path(name_or_path).expanduser()
    if path.parent.is_dir():  # RUN/checkpoints/latest: a training run's newest checkpoint
        path = resolve_latest(path)
    if reachable(path, "model folder"):
        if path.is_dir():
            _check_readable(path)
        if _UNFINISHED.match(path.name):  # its generation_config.json may not be written: the released defaults
            done = [p.name for p in sorted(path.parent.glob("checkpoint-*"), key=checkpoint_order) if p.is_dir()]
            raise FileNotFoundError(f"{path} is an unfinished checkpoint (genxd train renames it to "
                                    f"{path.name[1:-5]} once it is complete; a run that was stopped while saving "
                                    "leaves it)" + (f"; pass a complete one: {path.parent / done[-1]} (the newest)"
                                                    if done else ""))
        if _is_checkpoint(path):
            return path
        if not path.is_dir():  # was: "none of unet/, vae/, scheduler/ is in it", of a file
            hint = checkpoint_hint(path)
            raise FileNotFoundError(f"{path} is a file, not a GenXD checkpoint folder (a folder holding unet/, vae/ "
                                     "and scheduler/)" + (f"; {hint}" if hint else ""))
        missing = [c for c in COMPONENTS if not (path / c).is_dir()]
        for component in missing:  # was: "it has no unet/ (unet is a link to unet, which is not there)"
            if (loop := component_loop_error(path, component)) is not None:
                raise loop
        hint = checkpoint_hint(path)
        if len(missing) == len(COMPONENTS):
            raise FileNotFoundError(f"{path} is not a GenXD checkpoint folder: none of unet/, vae/, scheduler/ is in it"
                                    + (f"; {hint}" if hint else ""))
        raise FileNotFoundError(f"{path} is not a GenXD checkpoint folder: it has no "
                                f"{' and no '.join(m + '/' + _what_is_there(path / m) for m in missing)} (a checkpoint "
                                "holds unet/, vae/ and scheduler/)" + (f"; {hint}" if hint else ""))
    if (chain := link_loop(path)) is not None:  # was: "no GenXD checkpoint at ... (not a local folder, ...)"
        raise FileNotFoundError(f"{path} is a loop of symbolic links ({chain}), not a folder: point it at the "
                                "checkpoint folder")
    name = str(name_or_path)
    if name.count("/") == 1 and not name.startswith((".", "/", "~")):
        return _cached_checkpoint(name)
    raise FileNotFoundError(
        f"no GenXD checkpoint at {name!r} (not a local folder, and not in the local Hugging Face cache; "
        f"genxd never downloads at run time). Put the checkpoint folder (unet/, vae/, scheduler/) "
        f"there, or download it with: {download_hint()}"
    )


def component_loop_error(folder: Path, component: str) -> FileNotFoundError | None:
    """The error for a checkpoint's ``component`` (``unet``) that is a loop of symbolic links (a link to itself, or
    to a link back to it), naming the links; None for anything else. Such a link reads as not there."""
    chain = link_loop(folder / component)
    if chain is None:
        return None
    return FileNotFoundError(f"{folder / component} is a loop of symbolic links ({chain}), not a folder: point it at "
                             f"the checkpoint's {component}/ folder")


def _what_is_there(component: Path) -> str:
    """What is at a missing component's place, in parentheses: a file, a link to nothing (a cache snapshot whose
    download stopped, a folder moved away); "" for nothing."""
    if component.is_symlink() and not component.exists():
        return f" ({component.name} is a link to {os.readlink(component)}, which is not there)"
    if component.exists():
        return f" ({component.name} is a file)"
    return ""


def _check_readable(path: Path) -> None:
    """A PermissionError naming the first folder of the checkpoint, or file of its components, this user may not
    read (it was the system's "[Errno 13] Permission denied: 'MODEL/unet/config.json'" from the loader, found as a
    user who is not root); components not there are left to the caller."""
    require_readable(path, "model folder")
    for folder in (path / c for c in COMPONENTS if (path / c).is_dir()):
        require_readable(folder, "model folder")
        for file in sorted(folder.iterdir()):
            if file.is_file():
                require_readable(file, "model file")


def _cached_checkpoint(repo_id: str) -> Path:
    """The snapshot of the hub id ``repo_id`` in the local Hugging Face cache; a FileNotFoundError saying how to
    download that repository when it is not there, or is there without a checkpoint's folders (a download that
    stopped, or a repository holding something else)."""
    from .validation import text_setting

    get = f"hf download {repo_id}  (then pass {text_setting('model', repo_id)} again)"
    try:
        from huggingface_hub import snapshot_download

        cached = Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - any cache miss ends in the same message
        raise FileNotFoundError(
            f"no GenXD checkpoint at {repo_id!r}: not a local folder, and not in the local Hugging Face cache "
            f"(genxd never downloads at run time); download it with: {get}, or put a checkpoint folder "
            f"(unet/, vae/, scheduler/) at ./{repo_id}") from None
    if _is_checkpoint(cached):
        _check_readable(cached)  # a shared cache of another user's blobs: the file named, before the loader's Errno
        return cached
    missing = " and no ".join(c + "/" for c in COMPONENTS if not (cached / c).is_dir())
    raise FileNotFoundError(
        f"{repo_id!r} is in the local Hugging Face cache ({cached}) without a checkpoint's folders: it has no "
        f"{missing} (a download that stopped, or not a GenXD checkpoint); download it again with: {get}")
