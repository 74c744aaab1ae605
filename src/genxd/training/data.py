"""The training data stream: a deterministic, sharded, resumable order of dataset items.

The run sees an endless **stream** of items: epoch ``e`` is a permutation of the dataset seeded by
``(seed, e)``; stream position ``k`` is item ``k mod N`` of epoch ``k // N``. Optimiser step ``s``
consumes positions ``[s * G, (s + 1) * G)`` with the global batch ``G = batch x processes x
accumulation``; micro-batch ``m`` of process ``r`` takes ``b`` consecutive positions starting at
``s*G + m*P*b + r*b``. So a run with 2 processes and a run with 1 process and twice the batch train
on the same items at every step, and a resumed run continues exactly where it stopped without
replaying the data. Each item carries its ``stream_position``, which seeds its noise and
conditioning draws (:func:`genxd.training.objective.sample_seed`).
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset, default_collate

from ..data.datasets import MixtureDataset, build_dataset, check_sample, make_sample
from ..utils.worker_errors import not_sent_to_workers, without_worker_traceback, worker_error
from .config import DataConfig
from .interrupts import ignore_interrupts_in_worker

__all__ = [
    "StreamSampler",
    "KeyedDataset",
    "PreloadedDataset",
    "build_training_dataset",
    "preload_dataset",
    "data_summary",
    "make_loader",
    "stop_workers",
    "collate_samples",
    "loader_workers",
]


def loader_workers(num_workers: int) -> int:
    """``num_workers`` capped at the CPUs this process may run on (``data.num_workers: 12`` on a 2-core machine:
    2; PyTorch warns for more). Results do not change: the workers only load in parallel, and every item and its
    draws are seeded by its stream position and dataset index, never by the worker that loads it."""
    from genxd.utils.machine import usable_cpus

    return max(0, min(int(num_workers), usable_cpus()))


class StreamSampler(Sampler):
    """Yields ``(stream_position, dataset_index)`` keys for one process, forever, from ``start_step``."""

    def __init__(
        self,
        dataset_length: int,
        batch_size: int,
        seed: int = 0,
        num_processes: int = 1,
        process_index: int = 0,
        gradient_accumulation_steps: int = 1,
        start_step: int = 0,
        shuffle: bool = True,
    ) -> None:
        if dataset_length < 1:
            raise ValueError("the dataset is empty")
        if not 0 <= process_index < num_processes:
            raise ValueError(f"process_index {process_index} out of range for {num_processes} processes")
        self.n, self.b, self.seed = int(dataset_length), int(batch_size), int(seed)
        self.p, self.r, self.accum = int(num_processes), int(process_index), int(gradient_accumulation_steps)
        self.start_step, self.shuffle = int(start_step), bool(shuffle)
        self._epoch = -1
        self._perm: torch.Tensor | None = None

    @property
    def global_batch(self) -> int:
        return self.b * self.p * self.accum

    def index_at(self, position: int) -> int:
        """Dataset index at stream position ``position``."""
        epoch, offset = divmod(int(position), self.n)
        if not self.shuffle:
            return offset
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) & 0x7FFFFFFFFFFFFFFF)
            self._perm = torch.randperm(self.n, generator=gen)
            self._epoch = epoch
        assert self._perm is not None
        return int(self._perm[offset])

    def positions(self, step: int, micro: int) -> list[int]:
        """Stream positions of this process's micro-batch ``micro`` of optimiser step ``step``."""
        base = step * self.global_batch + micro * self.p * self.b + self.r * self.b
        return list(range(base, base + self.b))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        step = self.start_step
        while True:
            for micro in range(self.accum):
                for k in self.positions(step, micro):
                    yield k, self.index_at(k)
            step += 1

    def __len__(self) -> int:  # endless; DataLoader only needs this for len(loader)
        return 2**62


class KeyedDataset(Dataset):
    """Wraps a dataset so that ``ds[(position, index)]`` is ``dataset[index]`` plus ``stream_position``.

    ``draw(position, indicator)`` (optional, picklable): the sample's random training choices
    (:class:`genxd.training.objective.SampleDraw`), computed here, i.e. in the DataLoader workers
    instead of the training loop, and stored under ``"draw"``.
    """

    def __init__(self, dataset: Dataset, draw: Callable[[int, int], Any] | None = None) -> None:
        self.dataset = dataset
        self.draw = draw

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        position, index = key
        sample = dict(self.dataset[index])
        sample["stream_position"] = torch.tensor(position, dtype=torch.long)
        sample["dataset_index"] = torch.tensor(index, dtype=torch.long)
        if self.draw is not None:
            sample["draw"] = self.draw(int(position), int(sample["indicator"]))
        return sample


def _fill_object_masks(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When some samples of a batch have an ``"object_mask" [F, H, W]`` and others not (3D clips, other
    datasets of a mixture), give the others an all-zero one (no extra loss weight), so the batch stacks."""
    having = [s["object_mask"] for s in samples if "object_mask" in s]
    if not having or len(having) == len(samples):
        return samples
    zeros = torch.zeros_like(having[0])
    return [s if "object_mask" in s else {**s, "object_mask": zeros} for s in samples]


def collate_samples(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep strings as lists; per-sample ``"draw"`` objects stay a list (``"draws"``);
    missing object masks are filled with zeros (:func:`_fill_object_masks`)."""
    samples = _fill_object_masks(samples)
    if samples and "draw" in samples[0]:
        draws = [s["draw"] for s in samples]
        batch = default_collate([{k: v for k, v in s.items() if k != "draw"} for s in samples])
        batch["draws"] = draws
        return batch
    return default_collate(samples)


class PreloadedDataset(Dataset):
    """Every item of ``dataset`` loaded once, then served from memory (``data.preload: true``).

    The items are rendered or read by ``num_workers`` DataLoader workers (with a progress bar) and
    stacked: frames as ``uint8 [N, F, 3, H, W]`` when they are exact 8-bit values (synthetic and
    cached items are), else float32; ``c2w [N, F, 4, 4]``, ``K [N, F, 3, 3]``, motion strengths,
    kinds and names; object masks ``uint8 [N, F, H, W]`` when items have them. ``dataset[i]`` and ``preloaded[i]`` are equal sample dicts, so training is the
    same as without preloading, only without a render or a file read per step. Memory: ``N * F * 3 * H
    * W`` bytes (16,000 clips of 8 frames at 64x64: 1.6 GB); forked DataLoader workers share it.
    """

    def __init__(self, dataset: Dataset, num_workers: int = 0, batch_size: int = 64, progress: bool = True) -> None:
        from ..utils.progress import progress_bar

        n = len(dataset)  # type: ignore[arg-type]
        if n < 1:
            raise ValueError("the dataset is empty")
        loader = DataLoader(dataset, batch_size=batch_size, num_workers=loader_workers(num_workers), collate_fn=list,
                            shuffle=False)
        self.frames: torch.Tensor | None = None
        self.c2w: torch.Tensor | None = None
        self.K: torch.Tensor | None = None
        self.motion = torch.zeros(n, dtype=torch.float32)
        self.object_masks: torch.Tensor | None = None  # uint8 [N, F, H, W] once any item has one
        self.has_mask = torch.zeros(n, dtype=torch.bool)
        self.kinds: list[str] = []
        self.names: list[str] = []
        i = 0
        for items in progress_bar(loader, desc="preloading data", unit="batch", disable=not progress):
            for item in items:
                frames = item["frames"]
                if self.frames is None:
                    exact = bool(torch.equal((frames * 255).round() / 255, frames))
                    dtype = torch.uint8 if exact else torch.float32
                    self.frames = torch.empty((n, *frames.shape), dtype=dtype)
                    self.c2w = torch.empty((n, *item["c2w"].shape))
                    self.K = torch.empty((n, *item["K"].shape))
                if tuple(frames.shape) != tuple(self.frames.shape[1:]):
                    raise ValueError(f"item {i} ({item['name']}): frames {tuple(frames.shape)}, "
                                     f"the first item had {tuple(self.frames.shape[1:])}")
                if self.frames.dtype == torch.uint8:
                    q = (frames * 255).round()
                    if not torch.equal(q / 255, frames):
                        self.frames = self.frames.float() / 255  # not 8-bit after all: keep exact floats
                        self.frames[i] = frames
                    else:
                        self.frames[i] = q.to(torch.uint8)
                else:
                    self.frames[i] = frames
                self.c2w[i], self.K[i] = item["c2w"], item["K"]  # type: ignore[index]
                self.motion[i] = float(item["motion_strength"])
                if "object_mask" in item:
                    if self.object_masks is None:
                        self.object_masks = torch.zeros((n, *item["object_mask"].shape), dtype=torch.uint8)
                    self.object_masks[i] = item["object_mask"]
                    self.has_mask[i] = True
                self.kinds.append(str(item["kind"]))
                self.names.append(str(item["name"]))
                i += 1

    def __len__(self) -> int:
        return len(self.kinds)

    def __getitem__(self, index: int) -> dict[str, Any]:
        assert self.frames is not None and self.c2w is not None and self.K is not None
        frames = self.frames[index]
        frames = frames.float() / 255 if frames.dtype == torch.uint8 else frames.clone()
        mask = self.object_masks[index].clone() if self.object_masks is not None and self.has_mask[index] else None
        return make_sample(frames, self.c2w[index].clone(), self.K[index].clone(), self.kinds[index],
                           float(self.motion[index]), self.names[index], mask)


def build_training_dataset(cfg: DataConfig, seed: int, preload: bool | None = None) -> Dataset:
    """The weighted mixture of ``cfg.datasets`` (a single dataset when there is one entry), preloaded when
    ``preload`` (default ``cfg.preload``; the trainers build it unpreloaded before the model, to check the data
    first, and preload it later with :func:`preload_dataset`)."""
    parts, weights = [], []
    for i, spec in enumerate(cfg.datasets):
        if not isinstance(spec, dict):
            raise ValueError(f"data.datasets.{i}: expected a mapping with a 'type', got {spec!r}")
        entry = f"data.datasets.{i} ({spec.get('type')})"
        try:
            part = build_dataset(spec, num_frames=cfg.num_frames, height=cfg.height, width=cfg.width, seed=seed + i)
            own = not type(part).__module__.startswith("genxd.")
            if own and len(part):  # type: ignore[arg-type]  # torch's Dataset stub has no __len__ (build_dataset checks it)
                # one's own: item 0 checked, now
                _check_first_item(part, cfg, entry)
            parts.append(part)
            weight = spec.get("weight", 1.0)
            try:
                weights.append(float(weight))
            except (TypeError, ValueError):  # float()'s words alone named neither the entry nor the option
                raise ValueError(f"weight must be a number >= 0, got {weight!r}") from None
        except (ValueError, FileNotFoundError) as exc:  # a subclass (JSONDecodeError ...) may need other arguments
            kind = FileNotFoundError if isinstance(exc, FileNotFoundError) else ValueError
            raise kind(f"{entry}: {exc}") from None
    if len(parts) == 1 and cfg.length is None:
        dataset: Dataset = parts[0]
    else:
        dataset = MixtureDataset(parts, weights, length=cfg.length, seed=seed)
    return preload_dataset(dataset, cfg) if (cfg.preload if preload is None else preload) else dataset


def _check_first_item(part: Dataset, cfg: DataConfig, entry: str) -> None:
    """Read item 0 of a dataset of one's own where the training loader will read it, and check it
    (:func:`check_sample`); an error other than ValueError / FileNotFoundError is a RuntimeError naming ``entry``
    (the config's ``data.datasets.I (type)``). With loader workers (``data.num_workers`` > 0) it is read by a
    one-worker DataLoader, as the training's workers start (one thread, Ctrl-C left to the main process): a file or
    database the class opens on its first read (h5py, LMDB) is opened there, not in the object the workers inherit,
    and the dataset is not copied. Without workers the loader reads in this process, and so does the check."""
    name = f"item 0 of {type(part).__module__}.{type(part).__qualname__}"
    try:
        if loader_workers(cfg.num_workers) > 0 and not multiprocessing.current_process().daemon:  # daemons: no child
            probe = DataLoader(Subset(part, [0]), batch_size=None, num_workers=1,
                               worker_init_fn=ignore_interrupts_in_worker)
            workers = _started(probe, type(part))
            try:
                sample = next(workers)
            finally:
                stop_workers(workers)
        else:
            sample = part[0]
    except _NotSent:
        raise  # not item 0's: the entry names it (build_training_dataset)
    except (ValueError, FileNotFoundError) as exc:
        raise (type(exc) if type(exc) in (ValueError, FileNotFoundError) else ValueError)(
            f"{name}: {without_worker_traceback(str(exc))}") from None
    except Exception as exc:
        kind, message = worker_error(str(exc)) or (type(exc).__name__, str(exc))  # a worker's: its own error
        raise RuntimeError(f"{entry}: {name} raised {kind.rsplit('.', 1)[-1]}: {message}") from exc
    check_sample(sample, cfg.num_frames, cfg.height, cfg.width or cfg.height, name)


def stop_workers(workers: Iterator[Any] | None) -> None:
    """Shut a DataLoader iterator's workers down now (what PyTorch's iterator does when it is deleted; None or a
    loader without workers: nothing). Where reading a batch raised (item 0 of the probe, a broken image in the middle
    of a run), the error's traceback holds the iterator, so it is not deleted while the error lives (a caller that
    catches it, the CLI's message); at exit multiprocessing then waits for the workers, which ignore SIGTERM
    (:func:`ignore_interrupts_in_worker`): the process never ended."""
    shutdown = getattr(workers, "_shutdown_workers", None)
    if shutdown is not None:
        shutdown()


class _NotSent(ValueError):
    """A dataset the loader's workers cannot be sent (:func:`_started`)."""


def _started(loader: DataLoader, cls: type) -> Iterator[Any]:
    """``iter(loader)``, its workers started; a dataset they cannot be sent (one that does not pickle, where workers
    start by spawn or forkserver) is a one-line :class:`_NotSent` naming the class and the two ways out."""
    import warnings

    try:
        with warnings.catch_warnings():  # PyTorch's paragraph on it, before the error that says the same
            warnings.filterwarnings("ignore", message="Got pickle error when attempting to start a worker")
            return iter(loader)
    except Exception as exc:
        if not not_sent_to_workers(exc):
            raise
        method = multiprocessing.get_start_method()
        raise _NotSent(f"{cls.__module__}.{cls.__qualname__} cannot be sent to the data loader's workers, "
                         f"which start by {method} here: the dataset must be picklable ({type(exc).__name__}: "
                         f"{exc}); make it so (open files and handles on the first read), or set "
                         "data.num_workers: 0") from None


def data_summary(dataset: Dataset) -> str:
    """``"2 items (1 scene skipped: fewer than 16 frames)"``: the item count and the scenes or videos the clip datasets
    skipped as too short for one clip (they are silently absent otherwise)."""
    skipped: dict[int, int] = {}

    def walk(d: Any) -> None:
        for part in getattr(d, "datasets", None) or []:  # mixtures
            walk(part)
        n = int(getattr(d, "num_skipped_scenes", 0) or 0)
        if n:
            need = int(getattr(d, "min_scene_frames", 0))
            skipped[need] = skipped.get(need, 0) + n

    walk(dataset.dataset if isinstance(dataset, KeyedDataset) else dataset)
    n = len(dataset)  # type: ignore[arg-type]
    text = f"{n} item{'s' if n != 1 else ''}"
    if skipped:
        parts = [f"{k} scene{'s' if k != 1 else ''} skipped: fewer than {need} frames" for need, k in sorted(skipped.items())]
        text += f" ({'; '.join(parts)})"
    return text


def preload_dataset(dataset: Dataset, cfg: DataConfig, progress: bool = True) -> Dataset:
    """``dataset`` held in memory when ``cfg.preload`` (:class:`PreloadedDataset`; ``progress``: its bar), else
    itself."""
    if cfg.preload and not isinstance(dataset, PreloadedDataset):
        return PreloadedDataset(dataset, cfg.num_workers, progress=progress)
    return dataset


def make_loader(
    dataset: Dataset, sampler: StreamSampler, num_workers: int = 0, pin_memory: bool = False,
    draw: Callable[[int, int], Any] | None = None,
) -> DataLoader:
    """An endless DataLoader over ``sampler``'s keys (batch = the sampler's per-process batch);
    ``draw``: see :class:`KeyedDataset`. ``num_workers`` is capped at the CPU count (:func:`loader_workers`)."""
    num_workers = loader_workers(num_workers)
    return DataLoader(
        KeyedDataset(dataset, draw),
        batch_size=sampler.b,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_samples,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        prefetch_factor=2 if num_workers > 0 else None,
        worker_init_fn=ignore_interrupts_in_worker if num_workers > 0 else None,  # the main process decides
    )
