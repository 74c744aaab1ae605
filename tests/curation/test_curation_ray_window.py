"""How many tasks ``genxd curate --ray`` keeps submitted (:func:`genxd.curation.ray_engine.run_ray`), on a stand-in
for the ``ray`` module: no cluster is started, the tasks run as they are submitted and finish in order.

Found by the Ray-at-scale audit: every video was submitted at once, and each submitted task holds about 10 KB in the
driver (20,000 no-op tasks on a 2-CPU local instance: driver RSS 145 -> 355 MiB).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import genxd.curation.ray_engine as ray_engine
from genxd.curation.frames import VideoSource
from genxd.curation.pipeline import CurationConfig, video_record
from genxd.curation.ray_engine import cancel_tasks, run_ray
from genxd.curation.task_window import MIN_IN_FLIGHT


class FakeRay:
    """The part of ``ray`` that :func:`run_ray` uses; counts the tasks submitted and not yet collected."""

    def __init__(self, cpus: float) -> None:
        self.cpus = cpus
        self.results: dict[object, Any] = {}  # ref -> result, in submission order
        self.most_in_flight = 0
        self.options: dict[str, Any] = {}
        self.resource_calls = 0  # a network call on a real cluster

    def cluster_resources(self) -> dict[str, float]:
        self.resource_calls += 1
        return {"CPU": self.cpus}

    def remote(self, **options):
        self.options = options
        fake = self

        def wrap(function):
            class Remote:
                @staticmethod
                def remote(*args):
                    ref = object()
                    fake.results[ref] = function(*args)
                    fake.most_in_flight = max(fake.most_in_flight, len(fake.results))
                    return ref

            return Remote

        return wrap

    def wait(self, refs: list, num_returns: int = 1, timeout: float | None = None) -> tuple[list, list]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: object) -> Any:
        return self.results.pop(ref)


def _task(source: VideoSource, out_dir: str, config: CurationConfig, on_stage, caller: str, marker: str) -> dict:
    assert (Path(out_dir) / marker).is_file() and config.num_threads == 1
    return video_record(source, "ok", verdict="static", motion_strength=0.0)


def _sources(tmp_path: Path, count: int) -> list[VideoSource]:
    return [VideoSource(f"clip_{i:03d}", tmp_path / f"clip_{i:03d}.mp4", "video") for i in range(count)]


def test_tasks_are_submitted_a_window_at_a_time_and_each_video_is_done_once(tmp_path):
    fake = FakeRay(cpus=2.0)
    records: list[dict] = []
    todo = _sources(tmp_path, 100)
    run_ray(todo, tmp_path, CurationConfig(num_threads=1), fake, _task, records.append)
    assert fake.most_in_flight < len(todo)  # was 100: every video submitted before the first was collected
    assert fake.most_in_flight == MIN_IN_FLIGHT  # 2 CPUs: the floor
    assert [r["video_id"] for r in records] == [s.video_id for s in todo] and not fake.results
    assert not list(tmp_path.glob(".genxd-run-*"))
    # the cluster's size is asked once per window submitted (this stand-in finishes a window at once), not again
    # once every video is submitted: a network call on a real cluster
    assert fake.resource_calls == -(-len(todo) // MIN_IN_FLIGHT)


def test_the_window_grows_with_the_cluster(tmp_path):
    """Twice the tasks the cluster's CPUs can run at once (``threads`` CPUs each), so none waits for work."""
    fake = FakeRay(cpus=64.0)
    records: list[dict] = []
    run_ray(_sources(tmp_path, 300), tmp_path, CurationConfig(num_threads=2), fake, _task_two_threads, records.append)
    assert fake.most_in_flight == 2 * 64 // 2 and len(records) == 300 and fake.options["num_cpus"] == 2


def _task_two_threads(source: VideoSource, out_dir: str, config: CurationConfig, on_stage, caller: str,
                      marker: str) -> dict:
    assert config.num_threads == 2
    return video_record(source, "ok", verdict="static", motion_strength=0.0)


class TasksThatOutliveTheCancel(FakeRay):
    """Tasks that ``ray.cancel`` cannot stop within the wait (a Ray client that cannot force, a busy node)."""

    def __init__(self, end_when_cancelled: bool) -> None:
        super().__init__(cpus=2.0)
        self.end_when_cancelled = end_when_cancelled
        self.cancelled: list = []

    def cancel(self, ref, force: bool = False) -> None:
        self.cancelled.append(ref)

    def wait(self, refs: list, num_returns: int = 1, timeout: float | None = None) -> tuple[list, list]:
        if self.cancelled and not self.end_when_cancelled:  # the cancel's wait runs out
            time.sleep(timeout or 0.0)
            return [], list(refs)
        return refs[:num_returns], refs[num_returns:]


class TasksHandedOutAsTheyAreCancelled(TasksThatOutliveTheCancel):
    """Ray 2.60: a task handed to a worker as it is cancelled (the worker the finished video freed) is not running
    there yet, and the cancellation misses it: it runs to its end. Cancelled again once it runs, its worker is killed.
    Here every task still submitted when the run stops ends at its second cancellation."""

    def __init__(self) -> None:
        super().__init__(end_when_cancelled=True)

    def wait(self, refs: list, num_returns: int = 1, timeout: float | None = None) -> tuple[list, list]:
        if not self.cancelled:
            return super().wait(refs, num_returns, timeout)
        ended = [ref for ref in refs if self.cancelled.count(ref) >= 2]
        if len(ended) < num_returns:
            time.sleep(timeout or 0.0)
        return ended, [ref for ref in refs if ref not in ended]


@pytest.fixture
def short_cancel_wait(monkeypatch) -> float:
    """The cancelled tasks' wait shortened from 10 s to 0.3 s, for the stand-ins whose tasks never end."""
    monkeypatch.setattr(ray_engine, "RAY_CANCEL_WAIT_S", 0.3)
    monkeypatch.setattr(ray_engine, "RAY_CANCEL_AGAIN_S", 0.05, raising=False)
    return 0.3


@pytest.mark.parametrize("ended", [True, False])
def test_temporary_folders_are_removed_only_once_the_cancelled_tasks_ended(tmp_path, ended, short_cancel_wait):
    """A run stopped early removed the half-written folders even when its cancelled tasks had not ended within the
    wait, while they could still write there (found by review); those are now left to the next run's clean-up."""
    fake = TasksThatOutliveTheCancel(end_when_cancelled=ended)
    cleaned: list = []

    def stop(record: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ray(_sources(tmp_path, 40), tmp_path, CurationConfig(num_threads=1), fake, _task, stop, cleaned.append)
    assert fake.cancelled  # the tasks still submitted were cancelled either way
    assert cleaned == ([tmp_path] if ended else [])


def test_a_task_the_first_cancellation_misses_is_cancelled_again_and_ends(tmp_path, short_cancel_wait):
    """A run stopped early cancelled each task once: one Ray handed to a worker at that moment ran to its end (5 of 50
    stops after the first video of a local Ray instance on a loaded 2-core machine; with a long video it wrote into
    the output folder after the run had returned). The tasks not yet ended are now cancelled again during the wait."""
    fake = TasksHandedOutAsTheyAreCancelled()
    cleaned: list = []

    def stop(record: dict) -> None:
        raise RuntimeError("the index could not be written")

    with pytest.raises(RuntimeError, match="the index could not be written"):
        run_ray(_sources(tmp_path, 40), tmp_path, CurationConfig(num_threads=1), fake, _task, stop, cleaned.append)
    still_submitted = set(fake.cancelled)
    assert still_submitted and all(fake.cancelled.count(ref) == 2 for ref in still_submitted)
    assert cleaned == [tmp_path]  # every cancelled task ended within the wait: the temporary folders are removed


def test_the_wait_for_cancelled_tasks_is_bounded(short_cancel_wait):
    """Tasks that no cancellation stops: :func:`cancel_tasks` gives up after the wait (and says they did not end),
    cancelling them again meanwhile."""
    fake = TasksThatOutliveTheCancel(end_when_cancelled=False)
    refs = [object(), object()]
    assert cancel_tasks(fake, refs) is False
    assert len(fake.cancelled) >= 2 * len(refs)  # cancelled again during the wait
