"""``genxd curate``'s resume records, as the fuzzer (``benchmarks/fuzz_targets_files.py``, ``curate-index``)
damaged them: index lines that are not records are skipped, a record's odd fields do not stop the run, and a
done video whose ``meta.json`` is damaged is recorded as failed, naming the file; a short fixed-seed run of that
target finds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from genxd.curation.dataset import INDEX_NAME, curate_dataset, latest_records, read_index
from tests.helpers import assert_fuzz_finds_nothing

OK = {"video_id": "clip_a", "source": "x", "status": "ok", "verdict": "static", "motion_strength": 0.4}


def _index(out: Path, *lines: str | bytes) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    data = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    (out / INDEX_NAME).write_bytes(data)
    return out


def test_lines_that_are_not_records_are_skipped(tmp_path):
    out = _index(tmp_path / "out", json.dumps(OK), b'{"video_id": "clip_b", "reason": "\xee\x80"}', "5", '"clip_c"',
                 "[1, 2]", "null", json.dumps({**OK, "video_id": ["clip_d"]}), json.dumps({**OK, "video_id": 7}),
                 '{"video_id": "torn')
    assert read_index(out) == [OK, {**OK, "video_id": ["clip_d"]}, {**OK, "video_id": 7}]
    assert latest_records(out) == {"clip_a": OK}


def _done_folder(tmp_path: Path, meta: bytes | None, *index_lines: str) -> tuple[Path, Path]:
    """An input frame folder ``clip_a`` and an output folder where it is done (``meta``) or not (None)."""
    frames = tmp_path / "videos" / "clip_a"
    frames.mkdir(parents=True)
    for i in range(2):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(frames / f"{i:03d}.png")
    out = _index(tmp_path / "curated", *index_lines)
    if meta is not None:
        (out / "clip_a").mkdir()
        (out / "clip_a" / "meta.json").write_bytes(meta)
    return tmp_path / "videos", out


def test_a_failed_record_with_an_odd_stage_is_not_retried(tmp_path):
    # a stage that is not a string (was: TypeError, unhashable list); the failure is kept, nothing curated
    failed = {"video_id": "clip_a", "source": "x", "status": "failed", "stage": ["sfm"], "reason": "r"}
    inputs, out = _done_folder(tmp_path, None, json.dumps(failed))
    summary = curate_dataset(inputs, out, progress=False)
    assert (summary.skipped, summary.ok, summary.failed) == (1, 0, 0)


def test_a_damaged_meta_json_is_a_failure_naming_it(tmp_path):
    # no ok line: the run reads meta.json to recover the line (was: JSONDecodeError / AttributeError)
    for i, meta in enumerate((b'{"verdict": "static", "motion', b"\xf6{}", b"[1, 2]")):
        inputs, out = _done_folder(tmp_path / str(i), meta)
        summary = curate_dataset(inputs, out, progress=False)
        assert (summary.ok, summary.failed, summary.recovered) == (0, 1, 0)
        record = summary.records[0]
        assert record["status"] == "failed" and record["stage"] == "output"
        assert str(out / "clip_a" / "meta.json") in record["reason"]
        assert read_index(out)[-1] == record


def test_a_damaged_output_folder_is_reported_by_every_run_but_logged_once(tmp_path):
    # was: each rerun appended another failed line for the same damaged folder (left in the session-24 note)
    for name, meta in (("damaged", b"[1, 2]"), ("no_meta", None)):
        inputs, out = _done_folder(tmp_path / name, meta)
        if meta is None:
            (out / "clip_a").mkdir()  # a folder without its meta.json
        for _ in range(3):
            summary = curate_dataset(inputs, out, progress=False)
            assert (summary.ok, summary.failed) == (0, 1), name
        assert [r["status"] for r in read_index(out)] == ["failed"], name


def test_a_good_meta_json_is_still_recovered(tmp_path):
    inputs, out = _done_folder(tmp_path, json.dumps({"verdict": "dynamic", "motion_strength": 7.5}).encode())
    summary = curate_dataset(inputs, out, progress=False)
    assert (summary.recovered, summary.skipped, summary.failed) == (1, 1, 0)
    assert latest_records(out)["clip_a"]["verdict"] == "dynamic"


def test_fuzzing_the_resume_records_finds_nothing(tmp_path):
    assert_fuzz_finds_nothing("curate-index", 40, tmp_path)


def test_a_line_holding_a_number_python_cannot_read_is_skipped(tmp_path):
    # was: Python's unnamed 'Exceeds the limit (4300 digits) for integer string conversion' stopped genxd curate
    out = _index(tmp_path / "out", json.dumps(OK), '{"video_id": "clip_b", "frames": 1' + "0" * 5000 + "}")
    assert read_index(out) == [OK]


def test_an_index_re_saved_by_a_windows_editor_loses_no_record(tmp_path):
    """``index.jsonl`` saved again by a Windows editor: a UTF-8 byte order mark and CRLF line ends. The mark made
    the first line no JSON, so its record was skipped without a word (a failed video redone, a done one's record
    written again)."""
    failed = {"video_id": "clip_b", "source": "y", "status": "failed", "stage": "motion", "reason": "r"}
    out = tmp_path / "out"
    out.mkdir()
    (out / INDEX_NAME).write_bytes(b"\xef\xbb\xbf" + f"{json.dumps(failed)}\r\n{json.dumps(OK)}\r\n".encode())
    assert read_index(out) == [failed, OK]
    assert latest_records(out) == {"clip_b": failed, "clip_a": OK}


def test_a_folder_of_the_user_under_a_video_id_is_not_to_be_removed(tmp_path):
    """``genxd curate videos -o .`` in a project folder holding ``data/`` and a video ``data.mp4``: the folder was
    reported as a damaged output, "remove it to redo this video" (the user's own folder). A folder without meta.json,
    images/ or 0/ is no curated video: the reason says to move it away; one with images/ or 0/ (a curated video that
    lost its meta.json) is to be removed, as before."""
    inputs, out = _done_folder(tmp_path, None)
    (out / "clip_a" / "notes").mkdir(parents=True)  # the user's folder, named as the video
    reason = curate_dataset(inputs, out, progress=False).records[0]["reason"]
    assert "is not a curated video" in reason and "remove" not in reason, reason
    assert curate_dataset(inputs, out, progress=False).records[0]["reason"] == reason  # the same on every run

    (out / "clip_a" / "images").mkdir()  # a curated video's folder without its meta.json
    reason = curate_dataset(inputs, out, progress=False).records[0]["reason"]
    assert reason.endswith("exists but has no meta.json; remove it to redo this video"), reason
