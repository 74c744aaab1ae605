"""The checkpoint folders of a training run (``OUTPUT_DIR/checkpoints/checkpoint-NNNNNNN``), without torch:
the command line checks them before it loads the trainer (seconds of imports)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from ..checkpoint_folders import checkpoint_order
from ..utils.close_names import close_matches_note
from ..utils.io import check_writable_dir
from ..utils.json_files import read_json
from ..validation import arg, is_cli, overwrite_hint, text_setting

__all__ = ["CHECKPOINT_PREFIX", "CONFIG_MARK", "list_checkpoints", "is_step_checkpoint", "remove_checkpoint", "set_aside_path",
           "publish_checkpoint", "restore_set_aside", "existing_run_error", "output_dir_error",
           "resume_path", "resume_error", "other_kind_error", "no_checkpoint_note", "foreign_config_error", "damaged_checkpoint_error",
           "incomplete_checkpoints_note", "resume_setting", "pretrained_error", "check_state_archives",
           "saved_config", "config_section", "kept_no_ema", "state_dict_mismatch"]

CHECKPOINT_PREFIX = "checkpoint-"
#: The first line of the ``config.yaml`` a run writes in its folder: how a later run tells it from the user's own.
CONFIG_MARK = "# genxd: the resolved config of the run in this folder"


def resume_setting(value: str | os.PathLike) -> str:
    """Resuming from ``value`` as the caller writes it: ``--resume latest`` on the command line, ``resume='latest'``
    from Python (:func:`genxd.training.trainer.train_genxd`'s argument)."""
    return text_setting("resume", value)


def _overwrite() -> str:
    return "--overwrite" if is_cli() else "overwrite=True"


def list_checkpoints(checkpoint_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints in ``checkpoint_dir`` (those with ``training_state.json``), oldest first."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)
             and (p / "training_state.json").is_file()]
    return sorted(found, key=checkpoint_order)


def is_step_checkpoint(path: Path) -> bool:
    """True for a checkpoint folder named as a run names them, ``checkpoint-NNNNNNN`` (the step): what pruning may
    remove. A copy the user keeps beside them, named ``checkpoint-best`` or ``checkpoint-0000500-keep``, is a checkpoint
    too (``--resume`` takes it) but no step of the run: pruning removed it first (it sorts as the oldest)."""
    return re.fullmatch(rf"{re.escape(CHECKPOINT_PREFIX)}\d+", path.name) is not None


def remove_checkpoint(path: Path) -> None:
    """Delete the checkpoint ``path``: a folder, or a link (a kept checkpoint linked in by hand), which is unlinked,
    never followed (``shutil.rmtree`` refuses a link: it stayed, and ``--resume latest`` took it). An OSError when
    it cannot be deleted; a folder may then be left in part (``rmtree`` stops at the first file it cannot delete),
    its ``training_state.json`` kept or not."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def set_aside_path(final: Path, number: int = 0) -> Path:
    """Where a checkpoint is set aside while a new one of the same step takes its name (a run resumed before it):
    ``.checkpoint-NNNNNNN.old`` beside it, removed once the new one has the name; ``.checkpoint-NNNNNNN.N.old``
    (``number`` N) where an earlier one is still there (it could not be removed)."""
    return final.with_name(f".{final.name}.{number}.old" if number else f".{final.name}.old")


_SET_ASIDE = re.compile(rf"^\.({re.escape(CHECKPOINT_PREFIX)}\d+)(?:\.(\d+))?\.old$")


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def publish_checkpoint(tmp: Path, final: Path) -> list[str]:
    """Rename the complete checkpoint folder ``tmp`` to ``final``. A checkpoint already named ``final`` (a run resumed
    before it) is set aside (:func:`set_aside_path`) and removed only once ``tmp`` has the name: a stop in between
    (Ctrl-C) puts it back at once, a kill at the next start (:func:`restore_set_aside`). Before, it was removed
    first, and a stop before the rename lost the step: the new one was a ``.part`` folder, removed too.

    Returns warnings: a set-aside checkpoint that cannot be removed (a file in it the run may not delete): the new
    one has its name by then, so the save has succeeded; what is left of the old one is a hidden ``.old`` folder that
    ``--resume latest`` never takes and the next start removes. Before, the OSError ended the run after a saved
    checkpoint, without the pruning of older ones. One left by an earlier save of the step (it could not be removed
    then either) makes this one set the checkpoint aside under a name of its own: it blocked the rename before
    ('Directory not empty'), and the save ended the run."""
    restore_set_aside(final.parent)  # one a killed save left: back in place, or gone
    warnings = []
    number = 0
    while _present(aside := set_aside_path(final, number)):
        number += 1
    if number:
        left = set_aside_path(final)
        warnings.append(f"{left} (left by an earlier save of {final.name}) cannot be removed; the checkpoint "
                        f"{final.name} replaces is set aside as {aside.name} instead (remove {left.name} by hand)")
    if _present(final):
        os.replace(final, aside)
    try:
        os.replace(tmp, final)
    except BaseException:
        if _present(aside) and not _present(final):
            os.replace(aside, final)
        raise
    try:
        remove_checkpoint(aside)
    except OSError as exc:
        warnings.append(f"{aside} (the checkpoint {final.name} replaced) could not be removed ({exc.strerror or exc}); "
                        f"the new {final.name} is saved, and the next run in this folder removes what is left (or "
                        "remove it by hand)")
    return warnings


def restore_set_aside(checkpoint_dir: str | os.PathLike) -> list[Path]:
    """After a run killed while it replaced a checkpoint of the same step (:func:`publish_checkpoint`, between
    setting the old one aside and renaming the new one into place): a set-aside ``.checkpoint-NNNNNNN[.N].old`` whose
    ``checkpoint-NNNNNNN`` is missing is renamed back (returned: the caller says so), the newest where there are
    several (the highest ``N``: the others are older ones that could not be removed); the others, and those whose
    checkpoint is there, are removed (the kill came after the new one was in place). Without this, ``--resume
    latest`` took an earlier checkpoint and the step was lost. Best effort: a rename or removal that fails (another
    process of the run did it first, a folder the run may not write) is left."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found: dict[str, list[tuple[int, Path]]] = {}
    for aside in root.glob(f".{CHECKPOINT_PREFIX}*.old"):
        if (m := _SET_ASIDE.match(aside.name)) is not None:
            found.setdefault(m.group(1), []).append((int(m.group(2) or 0), aside))
    restored = []
    for name, asides in sorted(found.items()):
        final = root / name
        for _, aside in sorted(asides, reverse=True):  # the newest first
            try:
                if _present(final):
                    remove_checkpoint(aside)
                else:
                    os.replace(aside, final)
                    restored.append(final)
            except OSError:
                continue
    return restored


def existing_run_error(output_dir: str | os.PathLike) -> FileExistsError | None:
    """The error for starting a fresh run over ``output_dir`` when it already holds checkpoints, else None."""
    existing = list_checkpoints(Path(output_dir) / "checkpoints")
    if not existing:
        return None
    return FileExistsError(f"{output_dir} already holds checkpoints (newest {existing[-1].name}); pass "
                           f"{resume_setting('latest')} to continue, or {_overwrite()} to start over")


def pretrained_error(cfg: object) -> FileNotFoundError | None:
    """The error for a config whose starting folders are not there, named as the config spells them: ``model.pretrained``
    (``init: genxd`` / ``svd``), ``model.vae.pretrained`` and ``model.scheduler`` of ``genxd train``, ``vae.pretrained``
    of ``genxd train-vae``. A ``RUN/checkpoints/latest`` of a run not trained yet (``small_genxd.yaml`` before
    ``small_vae.yaml``) is the common case; else None. Checked before the run's folder, datasets or models are made."""
    from ..checkpoint_folders import starting_folder

    model = getattr(cfg, "model", None)
    if model is not None:
        named = [("model.vae.pretrained", model.vae.pretrained), ("model.scheduler", model.scheduler)]
        if model.init != "scratch":
            named.insert(0, ("model.pretrained", model.pretrained))
    else:
        named = [("vae.pretrained", cfg.vae.pretrained)]  # type: ignore[attr-defined]
    for name, value in named:
        if not value:
            continue
        try:
            folder = starting_folder(value)
        except FileNotFoundError as exc:
            return FileNotFoundError(f"{name} {value}: {exc} (is that run trained yet?)")
        if not folder.is_dir():
            return FileNotFoundError(f"{name} {value}: no such folder")
    return None


#: The folders a run writes in below ``output_dir`` (checkpoints, TensorBoard logs, validation videos).
RUN_SUBFOLDERS = ("checkpoints", "logs", "validation")


def output_dir_error(output_dir: str | os.PathLike) -> OSError | None:
    """The error for an ``output_dir`` that cannot be a folder (it, or a folder above it, is a file; a symbolic link
    to nothing), or that this user cannot write in (it, the nearest folder above it that exists, or one of its
    :data:`RUN_SUBFOLDERS` that exists: a read-only ``checkpoints`` was "[Errno 13] Permission denied:
    '.../.checkpoint-0000006.part'" at the first checkpoint, after the steps before it were trained), else None.
    The folder itself is checked as every genxd output folder is (:func:`genxd.utils.io.check_writable_dir`)."""
    try:
        check_writable_dir(output_dir, "output_dir")
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        return exc
    path = Path(output_dir)
    if path.is_dir():
        for folder in (path / name for name in RUN_SUBFOLDERS):
            if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
                return PermissionError(f"output_dir {path} is not writable ({folder} is not): read-only folder or "
                                       "no permission")
    return None


def resume_path(resume: str) -> Path:
    """The checkpoint folder ``--resume`` names: ``resume`` itself, or for ``FOLDER/latest`` where no such folder
    exists the newest complete checkpoint in ``FOLDER`` (``RUN/checkpoints/latest``, as ``genxd generate --model``
    and ``model.pretrained`` take it; it was 'no such checkpoint folder'); ``FOLDER/latest`` when there is none."""
    path = Path(resume)
    if path.name == "latest" and not os.path.lexists(path) and (found := list_checkpoints(path.parent)):
        return found[-1]
    return path


def resume_error(resume: str | None, overwrite: bool, kind: str | None = None) -> Exception | None:
    """The error for a ``--resume`` value that cannot be resumed from (with ``overwrite``: they contradict; with
    ``kind``, the resuming trainer's: a checkpoint of the other trainer, :func:`other_kind_error`), else None.
    ``latest`` is checked by the run itself (no checkpoint yet: a new run starts)."""
    if resume is None:
        return None
    if overwrite:
        return ValueError(f"{resume_setting(resume)} and {_overwrite()} contradict: {arg('resume')} continues from a "
                          f"checkpoint, {arg('overwrite')} deletes the run's checkpoints and starts over; pass one of them")
    if resume == "latest":
        return None
    if not resume.strip():
        return ValueError(f"{arg('resume')} is empty: pass 'latest' or a checkpoint folder")
    path = resume_path(resume)
    if path.name == "latest" and not path.exists() and path.parent.is_dir():
        return FileNotFoundError(f"{resume}: no checkpoint in {path.parent} to take as the latest")
    if not path.exists():
        close = " (did you mean 'latest'?)" if close_matches_note([resume.lower()], ["latest"]) else ""
        return FileNotFoundError(f"{resume}: no such checkpoint folder{close}")
    if not path.is_dir():
        return NotADirectoryError(f"{resume}: not a checkpoint folder (a file)")
    if not (path / "training_state.json").is_file():
        # a run folder (or its checkpoints/) given for one of its checkpoints, or a part of one: name the checkpoint
        inside = list_checkpoints(path / "checkpoints") or list_checkpoints(path)
        hint = f"; it holds checkpoints, the newest {inside[-1]}" if inside else \
            f"; it is a part of the checkpoint {path.parent}" if (path.parent / "training_state.json").is_file() else \
            _model_folder_hint(path, kind)
        return FileNotFoundError(f"{resume}: not a training checkpoint (no training_state.json{hint})")
    return other_kind_error(path, kind) if kind is not None else None


def _model_folder_hint(path: Path, kind: str | None) -> str:
    """For ``--resume`` of a model folder (a pipeline's ``unet/ vae/ scheduler/``, a VAE's ``vae/`` or its
    ``config.json``) with no training state: how to start from its weights instead (a new run, step 0); else ``""``.
    It was 'not a training checkpoint' alone."""
    from ..checkpoint_folders import COMPONENTS

    if kind != "vae" and all((path / c).is_dir() for c in COMPONENTS):
        return f"; it is a model folder: to fine-tune from it, start a new run with model.init=genxd model.pretrained={path}"
    if kind == "vae" and ((path / "vae").is_dir() or (path / "config.json").is_file()):
        return f"; it is a model folder: to train on from its VAE, start a new run with vae.pretrained={path}"
    return ""


#: what each trainer's checkpoint is and how the other trainer can use it
_OTHER_USE = {"genxd": ("a GenXD model", "start a VAE run from its vae/ with vae.pretrained"),
              "vae": ("a VAE alone", "use it as model.vae.pretrained of a genxd train config")}


def other_kind_error(checkpoint: Path, kind: str, run_folder: Path | None = None) -> ValueError | None:
    """The error for a checkpoint of the other trainer than ``kind`` (``"genxd"``: ``genxd train``, ``"vae"``:
    ``genxd train-vae``), named from its ``training_state.json`` before any model or data loads (it was refused
    only once the models were built: "... is a 'genxd' checkpoint, this is a 'vae' run"); ``run_folder``: the
    run folder whose newest checkpoint ``--resume latest`` took. None for a checkpoint of ``kind``, or whose state
    says no known kind (the run's own check names it when it loads)."""
    from .config import _COMMANDS

    try:
        state = read_json(checkpoint / "training_state.json", "a training checkpoint's state")
    except (OSError, ValueError):  # unreadable or damaged: the resume itself says so
        return None
    theirs = state.get("kind") if isinstance(state, dict) else None
    if theirs == kind or theirs not in _COMMANDS or kind not in _COMMANDS:
        return None
    what, use = _OTHER_USE[theirs]
    where = f" (the newest of {run_folder}, a {_COMMANDS[theirs]} run's folder)" if run_folder is not None else ""
    instead = f"give {_COMMANDS[kind]} another output_dir" if run_folder is not None else use
    return ValueError(f"{checkpoint}{where}: a checkpoint of {_COMMANDS[theirs]} ({what}), not of {_COMMANDS[kind]}: "
                      f"resume it with {_COMMANDS[theirs]}, or {instead}")


def no_checkpoint_note(checkpoint_dir: str | os.PathLike) -> str:
    """What ``--resume latest`` says when ``checkpoint_dir`` holds no checkpoint (a new run starts)."""
    return f"no checkpoint in {checkpoint_dir}: starting a new run"


def incomplete_checkpoints_note(checkpoint_dir: str | os.PathLike, chosen: Path | None) -> str | None:
    """What ``--resume latest`` says of ``checkpoint-*`` folders newer than the one it resumes from (``chosen``,
    None: none) that it skips as incomplete (no ``training_state.json``: genxd train writes it before the folder
    gets its name, so they were cut short elsewhere: a copy, a hand edit); None when there are none."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return None
    after = checkpoint_order(chosen) if chosen is not None else (-2, "")
    skipped = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)
                      and p.name[len(CHECKPOINT_PREFIX):].isdigit() and not (p / "training_state.json").is_file()
                      and checkpoint_order(p) > after), key=checkpoint_order)
    if not skipped:
        return None
    names = ", ".join(p.name for p in skipped)
    return (f"note: skipping {names} in {root}: incomplete (no training_state.json); "
            f"{f'resuming from {chosen.name}' if chosen is not None else 'no complete checkpoint'}, and a checkpoint "
            "this run saves at the same step replaces it")


def foreign_config_error(output_dir: str | os.PathLike, config_path: str | os.PathLike | None) -> FileExistsError | None:
    """The error for a new run (no ``--resume`` / ``--overwrite``) that would replace ``output_dir/config.yaml`` when
    that file is the user's: not the config the run starts from (never replaced: the resolved one goes beside it),
    not marked as written by genxd (:data:`CONFIG_MARK`), in a folder without a sign of an earlier run
    (``checkpoints/``, ``metrics.jsonl``, ``logs/``). Else None."""
    out = Path(output_dir)
    target = out / "config.yaml"
    if not target.is_file():
        return None
    if config_path is not None and os.path.exists(config_path) and os.path.samefile(config_path, target):
        return None
    if any((out / name).exists() for name in ("checkpoints", "metrics.jsonl", "logs")):
        return None
    try:
        # utf-8-sig: a byte order mark a Windows editor put in front when it saved the file again (before, the mark
        # read as a part of the first line, and a fresh run refused the folder); \r\n reads as \n (universal newlines)
        with open(target, encoding="utf-8-sig", errors="replace") as fh:
            if fh.readline().rstrip() == CONFIG_MARK:
                return None
    except OSError:
        pass
    return FileExistsError(f"{target} exists and was not written by genxd train (this run would replace it with its "
                           f"resolved config); move it, start the run from it, or {overwrite_hint('pass')}")


def damaged_checkpoint_error(checkpoint: str | os.PathLike, part: str, exc: BaseException) -> ValueError:
    """The error for a checkpoint whose ``part`` (``accelerate_state``, ``ema.safetensors``) cannot be read: cut
    short (copied onto a full disk, a transfer that stopped) or missing. Names the part, the reader's reason (its
    first line) and the checkpoint before it to resume from, where there is one."""
    checkpoint = Path(checkpoint)
    lines = str(exc).strip().splitlines()
    reason = (lines[0].strip() if lines else type(exc).__name__).split(". ")[0]  # torch's advice after the first
    if len(reason) > 160:
        reason = reason[:157] + "..."
    earlier = [p for p in list_checkpoints(checkpoint.parent) if checkpoint_order(p) < checkpoint_order(checkpoint)]
    hint = (f"resume from the one before it: {resume_setting(earlier[-1])}" if earlier
            else "resume from an earlier checkpoint")
    return ValueError(f"{checkpoint / part} cannot be read (a damaged or incomplete checkpoint: {reason}); {hint}")


def check_state_archives(folder: str | os.PathLike) -> None:
    """Refuse, in one line naming the file, a torch file of a checkpoint's ``accelerate_state`` (``optimizer.bin``,
    ``scheduler.bin``, ``random_states_*.pkl``, ...) that is a zip bomb: accelerate's ``load_state`` reads each with
    ``torch.load``, which inflates its records whole (:func:`genxd.data.archive.check_torch_archive`). A checkpoint
    made elsewhere is a download like any other. Safetensors files are not zips and are left out."""
    from ..data.archive import check_torch_archive

    root = Path(folder)
    if not root.is_dir():
        return  # accelerate names a missing folder itself (a damaged checkpoint)
    for path in sorted(root.rglob("*")):
        if path.suffix != ".safetensors" and path.is_file():
            check_torch_archive(path)


_MISMATCH = re.compile(r"size mismatch for (\S+): copying a param with shape torch\.Size\((\[[^\]]*\])\) from "
                       r"checkpoint, the shape in current model is torch\.Size\((\[[^\]]*\])\)")
_KEYS = re.compile(r"(Missing|Unexpected) key\(s\) in state_dict: \"([^\"]+)\"")


def state_dict_mismatch(message: str) -> str | None:
    """The first mismatch named in torch's ``load_state_dict`` error ``message``, in words; None when the
    message is not a state-dict mismatch."""
    if not any(k in message for k in ("size mismatch", "Missing key", "Unexpected key")):
        return None
    found = [(m.start(), f"{m.group(1)} is {m.group(2)} in the checkpoint, {m.group(3)} in the model")
             for m in [_MISMATCH.search(message)] if m]
    found += [(m.start(), f"{m.group(2)} is {'in the model but not in the checkpoint' if m.group(1) == 'Missing' else 'in the checkpoint but not in the model'}")
              for m in [_KEYS.search(message)] if m]
    if not found:
        return message.strip().splitlines()[-1].strip()
    return min(found)[1]


def saved_config(checkpoint: Path) -> dict[str, Any]:
    """``checkpoint``'s ``config.yaml`` (``{}`` where it cannot be read or is no mapping)."""
    try:
        config = yaml.safe_load((checkpoint / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}


def config_section(config: dict[str, Any], section: str) -> dict[str, Any]:
    """A section of a saved config (``{}`` where it is missing or no mapping)."""
    return found if isinstance(found := config.get(section), dict) else {}


def kept_no_ema(checkpoint: Path, saved: dict[str, Any]) -> bool:
    """Whether ``checkpoint`` has no ``ema.safetensors`` because its run kept no EMA (``saved``, its
    ``config.yaml``, says ``training.ema.enabled: false``), not because it is incomplete."""
    if (checkpoint / "ema.safetensors").exists():
        return False
    ema = config_section(saved, "training").get("ema")
    return isinstance(ema, dict) and ema.get("enabled") is False
