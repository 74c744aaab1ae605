"""The ``time`` of an ``index.jsonl`` line says its UTC offset: it was local time without a zone
(``2026-12-07T09:05:12``), which named no moment once the index was read on another machine, after a change of
daylight saving time, or beside lines of a Ray cluster's nodes in other zones. An index written before is resumed as
before (no reader parses the field)."""

from __future__ import annotations

import json
import time
import warnings
from datetime import datetime, timedelta, timezone

import pytest

from genxd.curation import CurationConfig, VideoSource, curate_dataset, read_index
from genxd.curation.dataset import latest_records
from genxd.curation.pipeline import video_record

from .test_curation_changed_sources import curated  # noqa: F401 - the stand-in stages, a fixture


@pytest.fixture
def far_zone(monkeypatch):
    """This process's local time 11 hours behind UTC (a naive local time is 11 hours off the moment it names)."""
    monkeypatch.setenv("TZ", "Etc/GMT+11")  # POSIX sign: UTC-11
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_record_s_time_is_iso_8601_with_its_utc_offset(tmp_path, far_zone):
    record = video_record(VideoSource("clip", tmp_path / "clip.mp4", "video"), "ok")
    written = datetime.fromisoformat(record["time"])
    assert written.tzinfo is not None, record["time"]  # was: "2026-12-06T22:05:12", no offset
    assert written.utcoffset() == timedelta(hours=-11)  # the local time, and its offset
    assert abs(written - datetime.now(timezone.utc)) < timedelta(minutes=5)  # the moment it names: now


def test_an_index_with_times_without_an_offset_is_resumed_as_before(tmp_path, curated):  # noqa: F811
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(b"x" * 10)
    out = tmp_path / "out"
    curate_dataset(tmp_path / "in", out, CurationConfig(), progress=False)
    lines = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    for record in lines:
        record["time"] = "2026-12-06T22:05:12"  # as written before
    (out / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = curate_dataset(tmp_path / "in", out, CurationConfig(), progress=False)
    assert curated == ["clip"] and summary.skipped == 1 and summary.recovered == 0
    assert latest_records(out)["clip"]["time"] == "2026-12-06T22:05:12"
    assert [r["time"] for r in read_index(out)] == ["2026-12-06T22:05:12"]
