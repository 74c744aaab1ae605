"""What a :func:`genxd.curation.curate_dataset` run did, kept as counts: a run of tens of thousands of videos holds
nothing per video in its driver. The records themselves are in ``OUT/index.jsonl`` (the record of truth);
:attr:`DatasetSummary.records` reads this run's lines back from it.

The summary kept every record in a list for the whole run (each with its own copy of the settings; 50 MiB of
20,000 videos, ``benchmarks/bench_curate_driver_memory.py``), and ``genxd curate`` printed the per-video lines
from it only when the run ended (found by the curate-at-scale audit).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DatasetSummary", "FAILED_IDS_KEPT"]

#: How many failed video ids a summary keeps (the first ones, for a run's last line; all are in the index).
FAILED_IDS_KEPT = 5


@dataclass
class DatasetSummary:
    """What a run did: counts per outcome, per verdict and per failure stage.

    ``ok`` / ``failed``: videos of this run (curated, or failed before curating: a damaged folder); ``skipped``:
    videos an earlier run did or failed, not curated again; ``failed_before``: those of them that failed (skipped
    without ``retry_failed``; the rest are done); ``recovered``: finished videos whose index line was missing, added
    (counted in ``skipped``); ``verdicts``: the ``ok`` ones by verdict; ``failed_stages``: the failed ones by stage;
    ``failed_ids``: the first :data:`FAILED_IDS_KEPT` failed.
    """

    out_dir: Path
    total: int
    skipped: int
    ok: int = 0
    failed: int = 0
    recovered: int = 0
    failed_before: int = 0
    #: videos kept as they were though curated with other settings, the first :data:`FAILED_IDS_KEPT` of them:
    #: video id -> {setting: earlier value}; how many in all: ``other_settings_count``
    other_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    other_settings_count: int = 0
    #: each setting that differed for some kept video -> the first earlier value found
    earlier_settings: dict[str, Any] = field(default_factory=dict)
    verdicts: Counter = field(default_factory=Counter)
    failed_stages: Counter = field(default_factory=Counter)
    failed_ids: list[str] = field(default_factory=list)
    #: where this run's lines start and end in ``OUT/index.jsonl`` (bytes), for :attr:`records` (end: None while
    #: the run goes on; a later run into the same folder appends after it)
    index_start: int = 0
    index_end: int | None = None
    #: records of this run not appended to the index (a damaged folder whose last line already says so)
    unlogged: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def count(self, record: dict[str, Any], recovered: bool = False) -> None:
        """Count one record of this run (``recovered``: a finished video whose index line was added)."""
        if recovered:
            self.recovered += 1
        elif record.get("status") == "ok":
            self.ok += 1
            self.verdicts[str(record.get("verdict"))] += 1
        else:
            self.failed += 1
            self.failed_stages[str(record.get("stage"))] += 1
            if len(self.failed_ids) < FAILED_IDS_KEPT:
                self.failed_ids.append(str(record.get("video_id")))

    def note_other_settings(self, video_id: str, earlier: dict[str, Any]) -> None:
        """Count a kept video curated with other settings (``earlier``: {setting: earlier value}); only the first
        few are kept: one dict per video held 20,000 of them for a rerun of a 20,000-video folder with another
        ``--focal``."""
        self.other_settings_count += 1
        if len(self.other_settings) < FAILED_IDS_KEPT:
            self.other_settings[video_id] = earlier
        for name, value in earlier.items():
            self.earlier_settings.setdefault(name, value)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records of this run, read back from ``OUT/index.jsonl`` on each access (the summary keeps counts,
        not records): the lines this run appended, after the damaged folders it reported again without a line. Not
        cached (a cache would hold every record, what the summary no longer does): keep the list to use it twice."""
        from .dataset import read_index

        return [*self.unlogged, *read_index(self.out_dir, start=self.index_start, end=self.index_end)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "total": self.total,
            "skipped": self.skipped,
            "failed_before": self.failed_before,
            "ok": self.ok,
            "failed": self.failed,
            "recovered": self.recovered,
            "other_settings": self.other_settings_count,
            "verdicts": dict(self.verdicts),
            "failed_stages": dict(self.failed_stages),
        }


def index_size(path: str | os.PathLike) -> int:
    """The size of the index file ``path`` (0 when there is none): where the next line appended to it starts."""
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0
