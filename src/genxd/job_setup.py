"""What a generation job (:func:`genxd.generate_scenes`, :func:`genxd.fewshot_scenes`) does the same way before it
samples: its run settings checked (how the model runs, which share of the inputs it takes), and its output folder
made ready by every process of an ``accelerate launch`` in step."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch

from . import validation as v
from .checkpoints import LoadedModel, check_loaded
from .output_folders import outputs_to_write
from .utils.io import clean_stale
from .utils.shared_work import mark_work_shared
from .validation import check

if TYPE_CHECKING:
    from .pipelines.distributed import ProcessGroup


def check_run_settings(model: str | os.PathLike | None, loaded: LoadedModel | None, offload: str, device: str | None,
                       shard: tuple[int, int] | str | None, dtype: str | torch.dtype | None,
                       compile_unet: object = False,
                       ) -> tuple[str, str | None, tuple[int, int] | None, str | torch.dtype | None]:
    """``(offload, device, shard, dtype)`` checked (:mod:`genxd.validation`; messages name the argument), in that
    order, then ``loaded`` against ``model`` (:func:`genxd.checkpoints.check_loaded`) and against the settings it
    was loaded with (``offload``, ``compile_unet``: load settings, refused beside it). ``dtype``: a name, or
    ``torch.float32`` / ``bfloat16`` / ``float16`` passed on as given."""
    checked_offload: str = check(offload, v.OFFLOAD, "offload")
    checked_device: str | None = check(device, v.DEVICE, "device")
    checked_shard: tuple[int, int] | None = check(shard, v.SHARD, "shard")
    checked_dtype: str | torch.dtype | None = dtype
    if not isinstance(dtype, torch.dtype) or dtype not in (torch.float32, torch.bfloat16, torch.float16):
        checked_dtype = check(dtype, v.DTYPES, "dtype")  # a name, or one of those three dtypes
    check_loaded(model, loaded)
    if loaded is not None:
        _check_loaded_runs_as_asked(loaded, checked_device, checked_dtype)
        for name, given in (("offload", checked_offload != "none"), ("compile_unet", compile_unet is True)):
            if given:  # they take effect while a model loads: ignored without a word
                value = repr(checked_offload) if name == "offload" else "True"
                raise v.InvalidValue(f"{v.arg(name)}={value} takes effect while a model loads, and {v.arg('loaded')} "
                                     f"is loaded already: pass it to genxd.load_model(..., {name}=...) instead")
    return checked_offload, checked_device, checked_shard, checked_dtype


def _check_loaded_runs_as_asked(loaded: LoadedModel, device: str | None, dtype: str | torch.dtype | None) -> None:
    """A ValueError when ``device`` or ``dtype`` (checked; None / ``"auto"``: not asked) names another device or
    precision than ``loaded``'s: the job runs the model as it was loaded (they were ignored without a word)."""
    from .checkpoints import pick_device, pick_dtype

    runs_on = torch.device(getattr(loaded.pipe, "_execution_device", "cpu"))
    runs_in = getattr(getattr(loaded.pipe, "unet", None), "dtype", None)
    if device not in (None, "auto"):
        asked = pick_device(device)
        if asked.type != runs_on.type or None not in (asked.index, runs_on.index) and asked.index != runs_on.index:
            raise v.InvalidValue(f"{v.arg('device')} {device} is not the device of {v.arg('loaded')} ({runs_on}): a "
                                 f"loaded model runs where it was loaded; leave {v.arg('device')} out, or load it "
                                 f"with genxd.load_model(..., device=...)")
    if dtype not in (None, "auto") and isinstance(runs_in, torch.dtype) and pick_dtype(dtype, runs_on) != runs_in:
        raise v.InvalidValue(f"{v.arg('dtype')} {dtype} is not the precision of {v.arg('loaded')} "
                             f"({str(runs_in).replace('torch.', '')}): a loaded model runs as it was loaded; leave "
                             f"{v.arg('dtype')} out, or load it with genxd.load_model(..., dtype=...)")


def outputs_in_step(group: ProcessGroup, out_dir: Path, folders: Sequence[Path], chosen: Sequence[int],
                    overwrite: bool, skip_existing: bool, inputs: Sequence[str | os.PathLike | None],
                    check_kept: Callable[[list[int]], None]) -> tuple[list[int], list[int]]:
    """``(to write, kept)`` of the outputs ``folders`` (indices of ``chosen``, as
    :func:`genxd.output_folders.outputs_to_write`), the same on every process of ``group``.

    The main process first cleans what killed runs left in ``out_dir`` (:func:`genxd.utils.io.clean_stale`); every
    process looks at the outputs only after that, then runs ``check_kept`` on the kept indices, and none goes on
    until all have checked. From then on an error can be one process's own (:func:`mark_work_shared`)."""
    if group.is_main_process:
        clean_stale(out_dir)
    # every process looks at the outputs once the main process has cleaned: a stale ".NAME...old" it renames back
    # to NAME (a run killed between the two renames of --overwrite) made it skip NAME where a process that had
    # looked before did not, and their shares of the work no longer matched (an input done twice, another never)
    group.wait_for_everyone()
    todo, skipped = outputs_to_write(folders, chosen, overwrite, skip_existing, inputs)
    check_kept(skipped)
    # every process has checked the existing outputs before any process writes one
    group.wait_for_everyone()
    mark_work_shared()  # from here an error can be one process's own: each one prints its own
    return todo, skipped


__all__ = ["check_run_settings", "outputs_in_step"]
