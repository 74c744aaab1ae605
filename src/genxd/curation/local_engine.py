"""The local engine of :func:`genxd.curation.dataset.curate_dataset`: the videos curated in this process or in a pool
of worker processes on this machine (``--workers N``); :mod:`genxd.curation.ray_engine` is the engine for many
machines. Worker processes end with their parent (a ``kill -9`` of ``genxd curate``), and a Ctrl-C or SIGTERM stops
them at once instead of curating every queued video first.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable

from ..utils.machine import capped_at_usable_cpus, usable_cpus
from ..validation import GenXDWarning, caller, setting
from .frames import VideoSource
from .pipeline import CurationConfig, video_record
from .task_window import tasks_in_flight

__all__ = ["WorkersKeepDying", "run_local"]


def _worker_init(num_threads: int, parent_pid: int | None = None) -> None:
    """Set up a local worker process: its thread count, and (``parent_pid``) its end with the parent."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    os.environ["OMP_NUM_THREADS"] = str(num_threads)
    import cv2

    cv2.setNumThreads(num_threads)
    try:
        import torch

        torch.set_num_threads(num_threads)
    except ImportError:  # pragma: no cover
        pass


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this worker when the ``genxd curate`` process that started it dies: after a ``kill -9``
    of the parent its workers went on with the videos already handed to them, then waited for ever, each holding
    its memory. Elsewhere (no ``prctl``) nothing is set."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor, out_dir: Path, clean_parts: Callable[[Path], object]) -> None:
    """Stop a local pool at once (Ctrl-C, SIGTERM): drop the videos not started, end the worker processes and
    remove their temporary folders. Leaving it to the pool's own shutdown curated every queued video before the
    command exited (36 small clips: 25 s after Ctrl-C; a large dataset: hours), their index lines unwritten."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way before Python 3.14;
    pool.shutdown(wait=False, cancel_futures=True)  # taken first, as shutdown forgets them
    for process in processes:
        process.kill()
    for process in processes:
        process.join()
    clean_parts(out_dir)


def _threads_per_worker(config: CurationConfig, workers: int) -> int:
    """Threads for each local worker: ``num_threads``, at most the CPUs this process may use (more only adds
    threads that wait; a one-line warning when capped), or those CPUs split between the workers (-1)."""
    if config.num_threads > 0:
        return capped_at_usable_cpus(config.num_threads, setting("num_threads", config.num_threads))
    return max(1, usable_cpus() // workers)


def _local_workers(workers: int, videos: int) -> int:
    """``workers``, with one warning when the processes started for ``videos`` videos outnumber the CPUs this
    process may use: each worker is a process with its own torch and pycolmap, so the extra ones only wait and
    take memory. Not capped: worker processes also keep a crashing video from taking the run down."""
    cpus = usable_cpus()
    if min(workers, videos) > cpus:
        warnings.warn(GenXDWarning(f"{setting('workers', workers)} is more than the {cpus} CPUs this process may "
                                   "use: the extra worker processes only wait, and each takes memory"), stacklevel=3)
    return workers


def _record_of(future: Future, source: VideoSource) -> dict[str, Any] | None:
    """The record of a finished ``future`` curating ``source``; ``None`` when its worker process died."""
    try:
        return future.result()  # a future holds its record: kept by the caller, every record stayed in memory
    except BrokenProcessPool:
        return None
    except Exception as exc:  # noqa: BLE001 - e.g. unpicklable result
        return video_record(source, "failed", stage="internal", reason=f"{type(exc).__name__}: {exc}")


class WorkersKeepDying(RuntimeError):
    """Every video so far killed its worker process, each alone: the machine's or the installation's fault (a
    library that crashes on import, memory too small for one video), not the videos'. Retried alone one by one,
    every video of a 20,000-video run would start a process and die (160 such videos: 76 s, about 3 h for 20,000)."""

    def __init__(self, died: int, left: int) -> None:
        super().__init__(f"the worker process died on each of the first {died} videos, each run alone (a crash or "
                         f"out of memory on every video: the machine or the installation, not the videos); the "
                         f"other {left} were not started. Try one video with {setting('workers', 1)} to see the error")
        self.left = left  # videos not started


def _collect_local(pool: ProcessPoolExecutor, pending: list[VideoSource], out_dir: Path,
                   task: Callable[..., dict[str, Any]], task_config: CurationConfig,
                   done: Callable[[dict[str, Any]], None], slots: int) -> tuple[list[VideoSource], list[VideoSource]]:
    """Hand ``pending`` to ``pool`` (``slots`` worker processes), :func:`tasks_in_flight` at a time, the next ones as
    those finish, and ``done(record)`` each as it finishes. Returns ``(crashed, not started)``: the videos whose
    worker died, and those not handed out because the pool broke.

    Every video was submitted at once: each queued future held about 1 KB in the driver (20,000 videos: 20 MiB
    while they ran) and every ``wait`` went over all the queued ones, so collecting took time quadratic in the
    number of videos (20,000 no-op videos on 2 workers: 17.9 s, a window at a time 4.6 s;
    ``benchmarks/bench_curate_local_window.py``)."""
    crashed: list[VideoSource] = []
    queue = iter(pending)
    futures: dict[Future, VideoSource] = {}
    window = tasks_in_flight(slots)
    broken = False
    while True:
        while not broken and len(futures) < window:
            source = next(queue, None)
            if source is None:
                break
            try:
                futures[pool.submit(task, source, str(out_dir), task_config, None, caller())] = source
            except BrokenProcessPool:  # a worker died: the pool takes no more work
                broken = True
                queue = itertools.chain([source], queue)
        if not futures:
            break
        finished, _ = wait(futures, return_when=FIRST_COMPLETED)
        for future in finished:
            source = futures.pop(future)
            record = _record_of(future, source)
            if record is None:
                crashed.append(source)
                broken = True
            else:
                done(record)
    return crashed, list(queue)


def _retry_alone(suspects: list[VideoSource], out_dir: Path, task: Callable[..., dict[str, Any]],
                 task_config: CurationConfig, done: Callable[[dict[str, Any]], None], slots: int,
                 new_pool: Callable[[int], ProcessPoolExecutor], clean_parts: Callable[[Path], object]) -> None:
    """Curate each of ``suspects`` (the videos handed out when a worker died) alone in a pool of one worker
    process, ``slots`` such pools at once, and ``done(record)`` each: a video whose worker dies while it runs alone
    is recorded as failed, the others as they end. A Ctrl-C or SIGTERM stops these workers too.

    Which of the videos in flight killed a shared pool is not known: each was charged one attempt and a video
    charged twice recorded as failed, so two deaths while the same innocent videos were in flight (the culprit
    retried with them) recorded them "failed: the worker process died twice" though they never crashed."""
    queue = list(reversed(suspects))
    pools: list[ProcessPoolExecutor | None] = [None] * min(slots, len(suspects))
    futures: dict[Future, tuple[int, VideoSource]] = {}
    try:
        while queue or futures:
            busy = {slot for slot, _ in futures.values()}
            for slot in range(len(pools)):
                if queue and slot not in busy:
                    pool = pools[slot] or new_pool(1)
                    pools[slot] = pool
                    source = queue.pop()
                    futures[pool.submit(task, source, str(out_dir), task_config, None, caller())] = (slot, source)
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                slot, source = futures.pop(future)
                record = _record_of(future, source)
                if record is None:  # it killed its worker alone: a fresh pool for the next one
                    dead = pools[slot]
                    assert dead is not None  # the pool the future was submitted to
                    dead.shutdown(wait=True)
                    pools[slot] = None
                    record = video_record(source, "failed", stage="worker",
                                          reason="the worker process died (crash or out of memory) on this video")
                done(record)
    except BaseException:  # Ctrl-C, SIGTERM (genxd.cli.process_exit.Terminated), an error in done()
        for running in pools:
            if running is not None:
                _stop_workers(running, out_dir, clean_parts)
        raise
    for idle in pools:
        if idle is not None:
            idle.shutdown(wait=True)


def run_local(
    todo: list[VideoSource], out_dir: Path, config: CurationConfig, workers: int,
    task: Callable[..., dict[str, Any]], done: Callable[[dict[str, Any]], None],
    on_stage: Callable[[str, str], None], clean_parts: Callable[[Path], object],
    on_note: Callable[[str, str], None] | None = None,
) -> None:
    """The local engine: ``workers`` processes (or this one), ``done(record)`` as each video finishes;
    ``on_stage(video_id, stage)`` as each stage starts and ``on_note(video_id, warning)`` as a warning that matters
    while the video runs is known (``task``'s ``on_note``; this process only). ``task``: what each video runs
    (``genxd.curation.dataset._curate_task``); ``clean_parts(out_dir)``: removes the temporary folders of videos
    stopped half-way (after Ctrl-C / SIGTERM)."""
    from dataclasses import replace

    workers = _local_workers(workers, len(todo))
    threads = _threads_per_worker(config, workers)
    task_config = replace(config, num_threads=threads)
    if workers == 1:  # in this process: the bar also names the video and its stage
        for source in todo:
            def stage(name: str, video_id: str = source.video_id) -> None:
                on_stage(video_id, name)

            notes: dict[str, Callable[[str], None]] = {}
            if on_note is not None:
                def note(warning: str, video_id: str = source.video_id,
                         on_note: Callable[[str, str], None] = on_note) -> None:
                    on_note(video_id, warning)

                notes["on_note"] = note
            done(task(source, str(out_dir), task_config, stage, caller(), **notes))
        return
    # "spawn": forking a parent that already runs OpenMP/pycolmap threads can deadlock.
    context = multiprocessing.get_context("spawn")

    def new_pool(slots: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=slots, mp_context=context, initializer=_worker_init,
                                   initargs=(threads, os.getpid()))

    pending = list(todo)
    outcomes = {"ended": 0, "died": 0}  # videos whose task ended (ok or failed), and those that killed a worker alone

    def counted(record: dict[str, Any]) -> None:
        outcomes["died" if record.get("stage") == "worker" else "ended"] += 1
        done(record)

    while pending:
        slots = min(workers, len(pending))
        with new_pool(slots) as pool:
            try:
                crashed, pending = _collect_local(pool, pending, out_dir, task, task_config, counted, slots)
            except BaseException:  # Ctrl-C, SIGTERM (genxd.cli.process_exit.Terminated), an error in done()
                _stop_workers(pool, out_dir, clean_parts)
                raise
        if crashed:  # a worker died (crash, out of memory): each video in flight again, alone
            _retry_alone(crashed, out_dir, task, task_config, counted, slots, new_pool, clean_parts)
            if not outcomes["ended"] and outcomes["died"] >= tasks_in_flight(slots) and pending:
                raise WorkersKeepDying(outcomes["died"], len(pending))
