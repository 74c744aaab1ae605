"""What both trainers share: the accelerate setup, learning-rate schedule, logging, time limit and
checkpoints (saved atomically, pruned, resumed exactly).

Checkpoint layout (``output_dir/checkpoints/checkpoint-NNNNNNN/``)::

    unet/ vae/ scheduler/ generation_config.json   # GenXD runs: a full pipeline folder
    vae/                                          # VAE runs
    ema.safetensors                               # EMA weights (also what unet/ holds when EMA is on)
    accelerate_state/                             # model, optimiser, RNG states (exact resume)
    training_state.json  config.yaml

A checkpoint is written to ``.checkpoint-NNNNNNN.part`` and renamed when complete, so an interrupted
save never leaves a broken ``checkpoint-*`` folder.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import yaml
from safetensors import SafetensorError

from ..checkpoint_folders import checkpoint_order
from ..pipelines.distributed import one_process_launch_warning
from ..pipelines.tf32 import TF32State
from ..utils.disk_space import out_of_space
from ..utils.io import append_line, atomic_file, error_while_writing
from ..utils.json_files import read_json
from ..utils.extras import install_extra
from ..utils.json_text import json_text
from ..utils.shared_work import mark_work_shared
from .checkpoint_files import (CHECKPOINT_PREFIX, CONFIG_MARK, check_state_archives, damaged_checkpoint_error,
                               existing_run_error, foreign_config_error, incomplete_checkpoints_note, is_step_checkpoint,
                               list_checkpoints, no_checkpoint_note, other_kind_error, pretrained_error, publish_checkpoint,
                               remove_checkpoint, restore_set_aside, resume_error, resume_path, resume_setting, saved_config,
                               config_section, kept_no_ema, state_dict_mismatch)
from .config import CheckpointConfig, LoggingConfig, OptimConfig, config_to_dict
from .interrupts import StepBoundaryInterrupts
from .optimizer_settings import keep_optimizer_settings, optimizer_kind_error, schedule_change_note
from .optional_packages import optional_package_error
from .resume_notes import changed_settings_note, model_change_note, training_change_note
from .run_lock import RunFolderLock, in_use_error
from .run_outputs import _drop_rows_after, remove_run_outputs, remove_unfinished_checkpoints
from .launched_exit import keep_until_exit
from .stops import RunStops
from .tensorboard_log import quiet_writer_thread, writing_log

__all__ = ["TrainingRun", "lr_at", "list_checkpoints", "CHECKPOINT_PREFIX", "remove_run_outputs"]

#: What reading a checkpoint cut short or missing raises (torch, pickle, safetensors, accelerate's missing folder).
_UNREADABLE = (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError, SafetensorError)

SAVE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def lr_at(step: int, cfg: OptimConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warm-up to ``learning_rate`` over
    ``lr_warmup_steps``, then constant, cosine or linear decay to ``min_lr_ratio * learning_rate``."""
    base = cfg.learning_rate
    if cfg.lr_warmup_steps > 0 and step < cfg.lr_warmup_steps:
        return base * (step + 1) / cfg.lr_warmup_steps
    if cfg.lr_schedule == "constant":
        return base
    span = max(1, cfg.max_steps - cfg.lr_warmup_steps)
    progress = min(1.0, max(0.0, (step - cfg.lr_warmup_steps) / span))
    floor = cfg.min_lr_ratio * base
    if cfg.lr_schedule == "cosine":
        return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return base + (floor - base) * progress


def ddp_kwargs(mixed_precision: str, comm_hook: str = "auto", bucket_mb: int = 25,
               find_unused_parameters: bool = False):
    """accelerate's DDP settings: gradient all-reduce precision and bucket size.

    ``comm_hook="auto"`` all-reduces the gradients in bfloat16 under bf16 mixed precision (half the bytes of
    float32; what FSDP2 under accelerate does by default) and in float32 otherwise. Measured on two H200s
    (released model size, docs/benchmarks.md): the float32 all-reduce left DDP at 0.85 scaling efficiency.
    Gradients are the all-reduce buckets' views (``gradient_as_bucket_view``: no copy of 1.9 B gradients
    per step, less memory).
    """
    from accelerate.utils import DDPCommunicationHookType, DistributedDataParallelKwargs

    if comm_hook == "auto":
        comm_hook = "bf16" if mixed_precision == "bf16" else "none"
    hook = {"none": DDPCommunicationHookType.NO, "bf16": DDPCommunicationHookType.BF16,
            "fp16": DDPCommunicationHookType.FP16}[comm_hook]
    return DistributedDataParallelKwargs(find_unused_parameters=find_unused_parameters, bucket_cap_mb=int(bucket_mb),
                                         comm_hook=hook, gradient_as_bucket_view=True)


class TrainingRun(RunStops):
    """Accelerator, output folder, logging and checkpoints of one training run; how it stops on every process
    together (:class:`genxd.training.stops.RunStops`).

    Args:
        output_dir: run folder. Refuses to start over a folder that already holds checkpoints unless
            ``resume`` is given (continue) or ``overwrite`` (the run's own outputs are deleted first).
        cpu: force CPU (tests). Multi-process runs come from ``accelerate launch``.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        seed: int,
        optim: OptimConfig,
        checkpoint: CheckpointConfig,
        logging: LoggingConfig,
        config: Any,
        kind: str,
        resume: str | None = None,
        overwrite: bool = False,
        cpu: bool = False,
        config_path: str | os.PathLike | None = None,
    ) -> None:
        from accelerate import Accelerator
        from accelerate.utils import ProjectConfiguration, set_seed

        self.output_dir = Path(output_dir)
        self.optim, self.ckpt_cfg, self.log_cfg = optim, checkpoint, logging
        self.config, self.kind, self.seed = config, kind, int(seed)
        self.config_path = None if config_path is None else Path(config_path)
        self.checkpoint_dir = self.output_dir / "checkpoints"
        self.folder_lock = RunFolderLock(self.output_dir)  # taken when the run starts writing (started)
        self.resume_from = self._resolve_resume(resume, overwrite)

        trackers = None
        self.tensorboard = False
        self._trackers_closed = False
        if logging.tensorboard:
            try:
                import tensorboard  # noqa: F401

                trackers, self.tensorboard = "tensorboard", True
                quiet_writer_thread()  # its full disk is said once, by the training loop
            except ImportError:
                pass
        from accelerate.state import AcceleratorState

        # a second run in the same process (tests, notebooks) may use another precision: accelerate keeps
        # its settings process-wide, so forget the previous run's (the distributed setup itself stays)
        AcceleratorState._reset_state(reset_partial_state=False)
        # accelerate turns TF32 on for a dynamo backend without mixed precision on CUDA (AcceleratorState): not
        # what allow_tf32: false asks; the settings are put back only then, and only what accelerate changed (read
        # without the legacy getters, which raise for a caller on PyTorch's newer precision API)
        tf32_before = TF32State.capture() if not optim.allow_tf32 and torch.cuda.is_available() else None
        self.accelerator = Accelerator(
            mixed_precision=optim.mixed_precision,
            gradient_accumulation_steps=optim.gradient_accumulation_steps,
            log_with=trackers,
            project_config=ProjectConfiguration(project_dir=str(self.output_dir), logging_dir=str(self.output_dir / "logs")),
            kwargs_handlers=[ddp_kwargs(optim.mixed_precision, optim.ddp_comm_hook, optim.ddp_bucket_mb,
                                        optim.find_unused_parameters)],
            cpu=cpu,
            step_scheduler_with_optimizer=False,
        )
        if tf32_before is not None:
            tf32_before.restore()
        acc = self.accelerator
        self._share_cpus(acc)
        if acc.num_processes == 1 and (warning := one_process_launch_warning()) is not None:
            self.print(f"warning: {warning}")
        for restored in self._restored:  # by the process that renamed it back, whichever it is: said once
            self.print_here(f"note: {restored} was set aside by a run stopped while replacing it: put back")
        if resume == "latest" and (note := incomplete_checkpoints_note(self.checkpoint_dir, self.resume_from)):
            self.print(note)
        if resume == "latest" and self.resume_from is None:
            self.print(no_checkpoint_note(self.checkpoint_dir))
        self._overwrite, self._trackers = overwrite, trackers
        self._replaced: list[Path] = []  # --overwrite: the earlier run's checkpoints, deleted at this run's first
        self._resumed_step: int | None = None
        set_seed(self.seed)
        if acc.is_main_process and not trackers and logging.tensorboard:
            self.print("tensorboard is not installed: logging to metrics.jsonl only "
                       f"({install_extra('tensorboard')})")
        self.start_time = time.monotonic()
        self.interrupts = StepBoundaryInterrupts()  # entered by the training loops around their steps
        self.data_items: int | None = None  # set by the trainers once the data is built (training_state.json)

    def _share_cpus(self, acc) -> None:
        """Several training processes on a CPU: each gets its share of the cores for torch's threads. torchrun
        gives each process ``OMP_NUM_THREADS=1`` only when the variable is unset; with it exported (``export
        OMP_NUM_THREADS=2`` on a 2-core machine) two processes ran 4 threads on 2 cores, 3.64 s a step instead of
        0.13 s (docs/training.md's 2-process command, found by the second newcomer run)."""
        if acc.device.type != "cpu" or acc.num_processes < 2:
            return
        from ..utils.machine import usable_cpus

        local, cores = int(os.environ.get("LOCAL_WORLD_SIZE", acc.num_processes)), usable_cpus()
        share = max(1, cores // max(1, local))
        if torch.get_num_threads() > share:
            if acc.is_main_process:
                self.print(f"{local} processes on {cores} CPU cores: {share} torch thread(s) each "
                           f"(was {torch.get_num_threads()})")
            torch.set_num_threads(share)

    @contextlib.contextmanager
    def started(self) -> Iterator[Path | None]:
        """``with run.started():`` the trainers' run from the moment the settings passed every check (the model,
        data and resumed state are built): only now does the run change its folder, so that a run refused for bad
        settings, with ``--overwrite`` too, leaves the folder as it was. ``--overwrite``: what earlier runs wrote is
        deleted (:func:`remove_run_outputs`), their checkpoints only once this run has written its first one (a run
        that fails before that leaves the earlier model in place); a fresh run removes what an earlier run that saved
        no checkpoint wrote likewise (``metrics.jsonl``, TensorBoard files, validation videos); the loggers start; the resolved config is written to
        ``output_dir/config.yaml``, never over the config file the run was started from (that one is
        ``output_dir/config.yaml`` itself: the resolved config goes to ``output_dir/config.resolved.yaml``). Yields
        the config file (main process).

        However the block is left, and from the first step of its start (another process's failure learnt after
        this one took the lock, a Ctrl-C while preparing the folder, an error in the steps, the end): the signal
        handlers the steps took are restored, the loggers closed (what was logged reaches the event file) and the
        folder's lock let go, so that another run may start there (a long-lived process, a notebook keeping the
        traceback, would otherwise hold the folder and refuse its own retry as another run's)."""
        try:
            acc, target, error = self.accelerator, None, None
            try:
                if acc.is_main_process:
                    target = self._prepare_folder()
            except Exception as exc:  # noqa: BLE001 - raised below, once every process knows
                error = exc
            self.raise_if_any_failed(error)  # (the others waited in a barrier and died on the lost connection)
            mark_work_shared()  # from here an error can be one process's own (a broken item in its data): each prints it
            yield target
        finally:
            self.interrupts.__exit__(None, None, None)
            self.close_trackers()
            self.release_folder()  # another run may start in the folder from here

    def _prepare_folder(self) -> Path:
        """:meth:`started`'s work on the main process; returns the config file written."""
        acc = self.accelerator
        if (warning := self.folder_lock.acquire()) is not None:  # another run in the folder: refused here
            self.print(f"warning: {warning}")
        if self.resume_from is None and not self._overwrite and (error := existing_run_error(self.output_dir)):
            raise error  # another run wrote a checkpoint here since this one checked (and has ended)
        if self.resume_from is None:  # --overwrite, or an earlier run saved no checkpoint: its files go (its checkpoints
            kept = remove_run_outputs(self.output_dir, keep_checkpoints=True)  # once this run has one)
            self._replaced = kept if self._overwrite else []  # a fresh run's: folders cut short (none complete)
        else:  # resumed: the steps run again from here are logged again; the unfinished saves of killed runs go
            _drop_rows_after(self.output_dir / "metrics.jsonl", self._resumed_step)
            if (note := remove_unfinished_checkpoints(self.checkpoint_dir, keep=self.resume_from)) is not None:
                self.print(note)
        if self._resumed_step is not None:
            self._replaced = self._later_checkpoints(self._resumed_step)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if self._trackers:
            with writing_log(self.output_dir / "logs"):
                acc.init_trackers(self.kind, config=_flat_scalars(config_to_dict(self.config)))
        return self._write_config()

    def _later_checkpoints(self, step: int) -> list[Path]:
        """The run folder's checkpoints after ``step``, the one resumed from: another line of training, which
        ``--resume latest`` would take after a stop of this one before it reached them. They go with this run's
        first checkpoint (as the steps of their rows in ``metrics.jsonl`` went), said in a note. Resumed from another
        run folder's checkpoint: none (this folder's are another run's line, not the one resumed), said in a note
        when it holds any."""
        own = list_checkpoints(self.checkpoint_dir)
        if self.resume_from is None or self.resume_from.parent.resolve() != self.checkpoint_dir.resolve():
            if own:
                self.print(f"note: resuming from {self.resume_from}, of another run folder, into {self.output_dir}, "
                           f"which holds checkpoints of its own ({', '.join(c.name for c in own)}): they are kept "
                           f"beside this run's, and {resume_setting('latest')} takes the highest step of either line "
                           "(resume into a new output_dir to keep them apart)")
            return []
        later = [c for c in own if checkpoint_order(c)[0] > step]
        if later:
            names = ", ".join(c.name for c in later)
            self.print(f"note: resuming from step {step}, before the newer checkpoint{'s' if len(later) > 1 else ''} "
                       f"{names} of {self.checkpoint_dir} (another line of training): removed when this run writes "
                       f"its first checkpoint (keep {'them' if len(later) > 1 else 'it'} by resuming into another "
                       f"output_dir)")
        return later

    def _write_config(self) -> Path:
        target = self.output_dir / "config.yaml"
        if self.config_path is not None and target.exists() and os.path.exists(self.config_path) \
                and os.path.samefile(self.config_path, target):
            target = self.output_dir / "config.resolved.yaml"
        with atomic_file(target) as tmp:  # a full disk leaves the earlier config.yaml and no temporary
            tmp.write_text(CONFIG_MARK + "\n" + yaml.safe_dump(config_to_dict(self.config), sort_keys=False))
        return target

    # ------------------------------------------------------------------ basics (is_main: RunStops.is_main)
    def print(self, *args: Any) -> None:
        """A line of the run, from the main process."""
        if self.is_main:
            self.print_here(*args)

    def print_here(self, *args: Any) -> None:
        """A line from this process, whichever it is (what only this process knows: its own data error)."""
        from ..utils.progress import progress_write

        # above the progress bar (a plain print joined the bar's last state in a log file)
        progress_write(" ".join(map(str, (f"genxd {'train-vae' if self.kind == 'vae' else 'train'}:", *args))))

    @property
    def global_batch(self) -> int:
        return self.optim.batch_size * self.accelerator.num_processes * self.optim.gradient_accumulation_steps

    def print_data(self, dataset: Any) -> None:
        """The data line (items, scenes skipped as too short, the global batch) and a warning when the global batch
        exceeds the items (each step then repeats some)."""
        from .data import data_summary

        opt = self.optim
        self.print(f"data: {data_summary(dataset)}; global batch {self.global_batch} ({opt.batch_size} x "
                   f"{self.accelerator.num_processes} processes x {opt.gradient_accumulation_steps} accumulation)")
        n = len(dataset)
        if self.global_batch > n:
            self.print(f"warning: the global batch of {self.global_batch} is larger than the data ({n} item"
                       f"{'s' if n != 1 else ''}): every step repeats items")

    def set_lr(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        lr = lr_at(step, self.optim)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Append to ``metrics.jsonl`` and the trackers (main process)."""
        if not self.is_main:
            return
        row = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        append_line(self.output_dir / "metrics.jsonl", json_text(row))  # whole or not at all (a full disk)
        if self.tensorboard:
            with writing_log(self.output_dir / "logs"):
                self.accelerator.log(metrics, step=step)

    # ------------------------------------------------------------------ checkpoints
    def _resolve_resume(self, resume: str | None, overwrite: bool) -> Path | None:
        """The checkpoint to resume from (None: a new run), after the start-up checks of ``genxd train``, in its
        order, before the run's folder is made: ``resume`` with ``overwrite``, an earlier run's outputs, the
        config's starting folders (:func:`~genxd.training.checkpoint_files.pretrained_error`), the optional packages
        it needs (:func:`~genxd.training.optional_packages.optional_package_error`)."""
        if resume is not None and overwrite:
            contradiction = resume_error(resume, overwrite)
            assert contradiction is not None  # resume_error refuses a resume with overwrite
            raise contradiction  # they contradict
        if (busy := in_use_error(self.output_dir)) is not None:
            raise busy
        self._restored = restore_set_aside(self.checkpoint_dir)  # a killed save's, before the checkpoints are listed
        if resume is None:
            error = existing_run_error(self.output_dir) or foreign_config_error(self.output_dir, self.config_path)
            if error is not None and not overwrite:
                raise error
        missing = pretrained_error(self.config) or optional_package_error(self.config)
        if missing is not None:
            raise missing
        if resume is None:
            return None
        if resume == "latest":
            existing = list_checkpoints(self.checkpoint_dir)
            if existing and (other := other_kind_error(existing[-1], self.kind, self.output_dir)) is not None:
                raise other  # before the data and models: it was refused once they were built
            return existing[-1] if existing else None
        if (not_checkpoint := resume_error(resume, overwrite, self.kind)) is not None:
            raise not_checkpoint  # no folder, or one that is not a checkpoint (said as genxd train says it)
        return resume_path(resume)  # RUN/checkpoints/latest: its newest checkpoint

    def load(self, path: Path, saved: dict[str, Any]) -> int:
        """Restore the accelerate state of checkpoint ``path`` (``saved``: its :func:`saved_config`); its step."""
        state_file = path / "training_state.json"
        state = read_json(state_file, "a training checkpoint's state")
        step = state.get("step") if isinstance(state, dict) else None
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"{state_file}: a damaged checkpoint state (no step number); resume from an earlier "
                             "checkpoint")
        if state.get("kind") != self.kind:
            raise ValueError(f"{path} is a {state.get('kind')!r} checkpoint, this is a {self.kind!r} run")
        if (mismatch := optimizer_kind_error(path, config_section(saved, "training"), self.optim.use_8bit_adam)):
            raise mismatch  # before its state is loaded: the first step failed with a KeyError traceback
        if (note := changed_settings_note(state, config_section(saved, "data"), self.config.data, self.global_batch,
                                          self.data_items, self.optim.learning_rate, self.seed)) is not None:
            self.print(note)
        check_state_archives(path / "accelerate_state")  # before torch.load inflates any of them
        try:
            self.accelerator.load_state(str(path / "accelerate_state"))
        except _UNREADABLE as exc:  # a file cut short or missing (a copy onto a full disk): torch's or pickle's words
            example = state_dict_mismatch(str(exc)) if isinstance(exc, RuntimeError) else None
            if example is None:
                raise damaged_checkpoint_error(path, "accelerate_state", exc) from None
            raise ValueError(f"{path}: the checkpoint's model does not match the config (e.g. {example}); resume with "
                             "the settings it was trained with, or start a new output_dir") from None
        current = config_to_dict(self.config)  # the weights fit (another size is refused above): used, as they load
        for note in (model_change_note(saved, current, "vae" if self.kind == "vae" else "model"),
                     training_change_note(saved, current)):
            if note is not None:
                self.print(note)
        self.print(f"resumed from {path} (step {step})")
        self._resumed_step = step
        return step

    def resume(self, ema: Any | None = None, optimizer: torch.optim.Optimizer | None = None) -> int:
        """The optimiser step to start from: 0, or the resumed checkpoint's (accelerate state restored, and the
        EMA weights when ``ema`` is given); the EMA weights are put on the run's device either way. ``optimizer``
        keeps the settings it was made with (the config's weight decay, betas, eps; this device's fused / foreach),
        which loading its state replaced with the checkpoint's, with a note naming those that differ."""
        start_step = 0
        if self.resume_from is not None:
            made = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups] if optimizer \
                else []
            saved = saved_config(self.resume_from)
            start_step = self.load(self.resume_from, saved)
            if start_step >= self.optim.max_steps:
                self.print(f"note: {self.resume_from} is at step {start_step}, at or past training.max_steps "
                           f"({self.optim.max_steps}): nothing to train (raise training.max_steps to go on)")
            for note in (keep_optimizer_settings(optimizer, made) if optimizer is not None else None,
                         schedule_change_note(config_section(saved, "training"), self.optim, start_step)):
                if note is not None:
                    self.print(note)
            if ema is not None and kept_no_ema(self.resume_from, saved):
                ema.restart()
                self.print(f"note: {self.resume_from} was trained without EMA (training.ema.enabled: false): the EMA "
                           f"starts from its weights at step {start_step}")
            elif ema is not None:
                ema.load(self.resume_from / "ema.safetensors")
        if ema is not None:
            for name, value in ema.shadow.items():
                ema.shadow[name] = value.to(self.accelerator.device)
        return start_step

    def stream(self, data: Any, start_step: int, dataset: Any = None):
        """``(dataset, sampler)`` of this process: the configured training dataset (``dataset``: built already, then
        preloaded here when configured) and its sample stream, continued at ``start_step``
        (:class:`genxd.training.data.StreamSampler`)."""
        from .data import StreamSampler, build_training_dataset, preload_dataset

        bar = self.is_main and self.config.logging.progress_bar  # each process preloads all: one bar, as training's
        if dataset is None:
            dataset = build_training_dataset(data, self.seed, preload=False)
        dataset = preload_dataset(dataset, data, progress=bar)
        acc, opt = self.accelerator, self.optim
        sampler = StreamSampler(len(dataset), opt.batch_size, self.seed, acc.num_processes, acc.process_index,
                                opt.gradient_accumulation_steps, start_step, data.shuffle)
        return dataset, sampler

    def save(self, step: int, write_parts: Callable[[Path], None]) -> Path | None:
        """Write checkpoint ``step`` (call on every process). ``write_parts(folder)`` runs on the main
        process only and writes the model folders. Returns the checkpoint folder (main) or None."""
        acc = self.accelerator
        name = f"{CHECKPOINT_PREFIX}{step:07d}"
        final = self.checkpoint_dir / name
        tmp = self.checkpoint_dir / f".{name}.part"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        acc.wait_for_everyone()
        try:
            try:
                self._write_checkpoint(step, tmp, write_parts)
                error = None
            except Exception as exc:  # noqa: BLE001 - raised below, once every process knows
                error = exc
            self.raise_if_any_failed(error)  # several processes: a failed one no longer leaves the others waiting
            if acc.is_main_process:
                self._publish_checkpoint(tmp, final)
        except BaseException as exc:
            # safetensors names a full disk only in its text; torch.save (the optimiser state) not at all ("iostream
            # error", "unexpected pos"): the disk is looked at before the half-written checkpoint frees it
            if isinstance(exc, OSError):  # Python's own writes: named unless they name a file
                code = exc.errno if exc.errno in (errno.ENOSPC, errno.EDQUOT) and not exc.filename else None
            elif isinstance(exc, Exception):  # a quota in safetensors' words too ("Disk quota exceeded")
                code = out_of_space(exc, self.checkpoint_dir)
            else:
                code = None
            if acc.is_main_process:  # the earlier checkpoints stay; no half-written one is left beside them
                shutil.rmtree(tmp, ignore_errors=True)
            if code is not None:
                raise error_while_writing(code, f"checkpoint {final}") from exc
            raise
        acc.wait_for_everyone()
        return final if acc.is_main_process else None

    def _write_checkpoint(self, step: int, tmp: Path, write_parts: Callable[[Path], None]) -> None:
        """Fill ``tmp``: accelerate's state on every process; the model folders, the training state and the
        config on the main one."""
        acc = self.accelerator
        acc.save_state(str(tmp / "accelerate_state"), safe_serialization=True)
        if acc.is_main_process:
            write_parts(tmp)
            state = {
                "kind": self.kind,
                "step": step,
                "samples_seen": step * self.global_batch,
                "global_batch": self.global_batch,
                "num_processes": acc.num_processes,
                "seed": self.seed,
                "learning_rate": self.optim.learning_rate,
                **({"data_items": self.data_items} if self.data_items is not None else {}),
            }
            (tmp / "training_state.json").write_text(json_text(state, indent=2) + "\n")
            (tmp / "config.yaml").write_text(yaml.safe_dump(config_to_dict(self.config), sort_keys=False))

    def _publish_checkpoint(self, tmp: Path, final: Path) -> None:
        """Rename the complete ``tmp`` to ``final`` (:func:`publish_checkpoint`: a checkpoint of the same step stays
        until then) and prune old checkpoints (main process)."""
        for warning in publish_checkpoint(tmp, final):
            self.print(f"warning: {warning}")
        # --overwrite, or resumed before the folder's newest: the earlier checkpoints go once this run has one
        self._discard([old for old in self._replaced if old != final])
        self._replaced = []
        self._prune()

    def _prune(self) -> None:
        limit = self.ckpt_cfg.total_limit
        if limit is None:
            return
        found = [c for c in list_checkpoints(self.checkpoint_dir) if is_step_checkpoint(c)]  # not a kept checkpoint-best
        self._discard(found[: max(0, len(found) - limit)])

    def _discard(self, checkpoints: list[Path]) -> None:
        """Delete ``checkpoints`` (:func:`remove_checkpoint`: a link is unlinked), a warning naming each that cannot
        be (``rmtree`` stops at the first file it cannot delete: the checkpoint stays whole or in part, and
        ``--resume latest`` may take it, a part as a damaged checkpoint)."""
        for old in checkpoints:
            try:
                remove_checkpoint(old)
            except OSError as exc:
                self.print(f"warning: {old} could not be removed ({exc.strerror or exc}); it may be left whole or "
                           f"in part, and {resume_setting('latest')} may take it: remove it by hand")

    @property
    def sharded(self) -> bool:
        """True under FSDP (``accelerate launch --use_fsdp``): the weights are split across processes."""
        return getattr(self.accelerator.state, "fsdp_plugin", None) is not None

    def validation_every(self, every_steps: int) -> int:
        """``every_steps``, or 0 where validation cannot run: it runs on the main process alone, which
        cannot run a model sharded over several processes (FSDP)."""
        if every_steps > 0 and self.sharded and self.accelerator.num_processes > 1:
            self.print("validation is off under FSDP with several processes (the main process alone cannot run "
                       "a sharded model); look at the checkpoints with genxd generate or genxd eval")
            return 0
        return every_steps

    def save_dtype(self) -> torch.dtype:
        return SAVE_DTYPES[self.ckpt_cfg.save_dtype]

    def close_trackers(self) -> None:
        """Flush and close the loggers (TensorBoard's writer and its thread) on the main process; safe to call
        twice. Training loops call it when they end, by an error or an interrupt too: the scalars logged before
        the error stay on disk (the writer's thread would drop what it had not written at exit)."""
        if self.tensorboard and self.is_main and not self._trackers_closed:
            self._trackers_closed = True
            for tracker in self.accelerator.trackers:
                if getattr(tracker, "name", None) == "tensorboard" and not hasattr(tracker, "writer"):
                    continue  # its start failed (a full disk at its first record): accelerate keeps it, unstarted
                with writing_log(self.output_dir / "logs", closing=True):
                    tracker.finish()

    def release_folder(self) -> None:
        """Let the run folder's lock go (the end of :meth:`started`; safe to call twice): another run may start in it."""
        self.folder_lock.release()

    def finish(self) -> None:
        """The end of a run that completed: every process waits for the others, then the main one closes the loggers.
        A launched run's accelerator (its DDP model, their process group) is kept until the process exits
        (:mod:`genxd.training.launched_exit`: freed as the trainer returned, it could hang the process)."""
        self.accelerator.wait_for_everyone()
        if self.tensorboard and self.is_main:
            self.close_trackers()
        keep_until_exit(self.accelerator)


def _flat_scalars(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar entries of a nested config for TensorBoard's hparams (others as strings)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat_scalars(v, key + "."))
        elif isinstance(v, (int, float, str, bool)):
            out[key] = v
        else:
            out[key] = str(v)
    return out
