"""Video ids of names outside ASCII (the folder of each curated video and its key in index.jsonl): every
character outside ASCII was dropped, so ``café.mp4`` became ``caf`` and ``東京.mp4``, ``大阪.mp4`` and
``видео.mp4`` all became ``video``: a folder holding two of them was refused ("several inputs map to the same
video id: video"), and names told apart only by bytes that are not UTF-8 collided the same way. ASCII names keep
the ids they always had (datasets curated before resume)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genxd.curation.frames import discover_videos

NON_ASCII = ["café", "cafe", "東京", "大阪", "видео", "video", "café 東京", "café_東京", "🎥", "🎬", "東" * 80]


def _videos(folder: Path, names: list[str | bytes]) -> Path:
    """Files named ``NAME.mp4`` (no real video: only the names are read here)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        raw = name if isinstance(name, bytes) else name.encode("utf-8")
        with open(os.path.join(os.fsencode(folder), raw + b".mp4"), "wb") as fh:
            fh.write(b"not a video")
    return folder


def _ids(folder: Path) -> dict[bytes, str]:
    return {os.fsencode(s.path.stem): s.video_id for s in discover_videos(folder)}


def _usable_as_folders(root: Path, ids: list[str]) -> None:
    for vid in ids:
        assert vid and not vid.startswith(".") and "/" not in vid and vid not in (".", "..")
        (root / vid).mkdir(parents=True)
        (root / f".{vid}.abcd1234.part").mkdir()  # the hidden folder a video is built in


def test_names_outside_ascii_keep_their_letters_and_never_share_an_id(tmp_path):
    ids = _ids(_videos(tmp_path / "in", NON_ASCII))
    assert len(set(ids.values())) == len(NON_ASCII), ids
    for word in ("café", "東京", "大阪", "видео"):
        assert ids[word.encode()] == word  # a name that is already a safe folder name is its own id
    _usable_as_folders(tmp_path / "out", list(ids.values()))


def test_names_differing_only_in_bytes_that_are_not_utf8_never_share_an_id(tmp_path):
    ids = _ids(_videos(tmp_path / "in", [b"clip\xff", b"clip\xfe", b"clip", b"\xff", b"\xfe"]))
    assert len(set(ids.values())) == 5, ids
    assert ids[b"clip"] == "clip"
    _usable_as_folders(tmp_path / "out", list(ids.values()))


@pytest.mark.parametrize("name, expected", [("my clip", "my_clip"), ("clip-1.v2", "clip-1.v2"), ("a__b", "a__b"),
                                            ("_clip_.", "clip"), ("#$%", "video"), ("x" * 200, "x" * 200)])
def test_ascii_names_keep_their_ids(tmp_path, name, expected):
    assert _ids(_videos(tmp_path / "in", [name, "other"]))[name.encode()] == expected


def _curate_ids(folder: Path, out: Path, **env: str) -> list[bytes]:
    """``genxd curate FOLDER`` (every file fails: none is a video); the ids its index names, as folder bytes. With
    ``env``: in a child process with those variables; without: in this process (typer's runner, through genxd's
    entry point), whose locale and file-system encoding a child given this environment would have (a child is a
    fresh interpreter importing genxd, about 2 s of CPU)."""
    if env:
        done = subprocess.run([sys.executable, "-m", "genxd", "curate", str(folder), "-o", str(out), "-q"],
                              env=dict(os.environ, **env), capture_output=True, timeout=120)
        returncode, stderr = done.returncode, done.stderr
    else:
        from typer.testing import CliRunner

        from genxd.cli import app

        result = CliRunner().invoke(app, ["curate", str(folder), "-o", str(out), "-q"], catch_exceptions=False)
        returncode, stderr = result.exit_code, result.stderr_bytes
    assert returncode == 2, stderr  # every input failed, each named
    assert b"same video id" not in stderr, stderr
    records = [json.loads(line) for line in (out / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    return sorted(r["video_id"].encode("utf-8", "surrogateescape") for r in records)


def test_curate_gives_the_same_folders_under_the_c_locale(tmp_path):
    """Under ``LC_ALL=C`` without Python's UTF-8 mode the file system's names read as ASCII; the ids name the same
    folders (resume finds them)."""
    folder = _videos(tmp_path / "in", ["東京", "大阪", "café 東京", b"clip\xff"])
    utf8 = _curate_ids(folder, tmp_path / "out-utf8")
    assert len(set(utf8)) == 4
    c_locale = _curate_ids(folder, tmp_path / "out-c", LC_ALL="C", LANG="C", PYTHONUTF8="0",
                           PYTHONCOERCECLOCALE="0", PYTHONIOENCODING="")
    assert c_locale == utf8


def test_a_video_of_a_long_ascii_name_is_built_under_a_name_that_fits(tmp_path, monkeypatch):
    """An ASCII name keeps its id whole (ids of earlier datasets), up to the 255 bytes of a file name; the hidden
    folder it was built in, .VIDEO_ID.xxxxxxxx.part, passed 255 bytes: every such video failed with 'File name too
    long' (stage 'environment'). Now its temporary name is cut (genxd.utils.io.temp_name), the id is not."""
    from genxd.curation import pipeline

    def curated(source, folder, config, masker, on_stage, note_now):
        (folder / "meta.json").write_text("{}")
        return {"verdict": "static", "motion_strength": 0.0, "num_frames": 8, "num_registered": 8,
                "mean_reprojection_error": 0.5}

    monkeypatch.setattr(pipeline, "_curate_into", curated)
    video = tmp_path / "in" / ("v" * 246 + ".mp4")
    video.parent.mkdir()
    video.write_bytes(b"frames are not read here")
    record = pipeline.curate_video(video, tmp_path / "out")
    assert record["status"] == "ok", record
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["v" * 246]


def _one_folder_on_macos(video_id: str) -> str:
    """The name APFS and NTFS compare: letters up to case, after Unicode normalisation."""
    import unicodedata

    return unicodedata.normalize("NFC", video_id).lower()


def test_ids_never_share_a_folder_of_a_case_insensitive_file_system(tmp_path):
    """``IMG_0001.MOV`` and ``img_0001.mp4`` (a phone's clip and its converted copy, side by side on macOS) got the
    ids ``IMG_0001`` and ``img_0001``: one folder on macOS and Windows, so the second video was curated into the
    first one's place (or refused as already there). Ids that differ only in case or Unicode normalisation now get
    the suffix, then a hash; ids that do not clash keep the names they had."""
    import unicodedata

    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    folder = tmp_path / "in"
    for name in ("IMG_0001.MOV", "img_0001.mp4", "img_0002.mp4", f"{nfc}.mp4", f"{nfd}.mp4",
                 "Img_0001.mov", "Frames/0.png", "frames/0.png"):  # a Linux folder may hold the last three too
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"only the names are read here")
    sources = discover_videos(folder)
    ids = [s.video_id for s in sources]
    assert len(ids) == 8 and len({_one_folder_on_macos(i) for i in ids}) == 8, ids
    assert "img_0002" in ids  # no clash: the id it always had
    _usable_as_folders(tmp_path / "out", ids)


def test_inputs_given_apart_never_share_a_folder_of_a_case_insensitive_file_system(tmp_path):
    """``genxd curate a/Clip.mp4 b/clip.mp4`` curated both into one folder on macOS (ids ``Clip`` and ``clip``)."""
    from genxd.curation.dataset import _collect_sources

    for name in ("a/Clip", "b/clip", "A/clip"):
        _videos(tmp_path / name.split("/")[0], [name.split("/")[1]])
    inputs = [tmp_path / "a" / "Clip.mp4", tmp_path / "b" / "clip.mp4", tmp_path / "A" / "clip.mp4"]
    ids = [s.video_id for s in _collect_sources(inputs)]
    assert len({_one_folder_on_macos(i) for i in ids}) == 3, ids
    assert ids[1] == "b__clip"  # a/Clip and A/clip (Linux) clash up to case at every depth: hashed
    assert [s.video_id for s in _collect_sources(inputs[:2])] == ["a__Clip", "b__clip"]
    _usable_as_folders(tmp_path / "out", ids)


def test_ids_of_names_joined_past_255_bytes_are_cut_and_end_with_a_hash(tmp_path, monkeypatch):
    """A searched folder's deep path, or a long name with its folder's (``p1/vvv...v.mp4`` and ``p2/vvv...v.mp4``),
    joined past the 255 bytes of a file name: the run stopped at its plan with "[Errno 36] File name too long" and
    curated nothing. Such ids (which never worked) are cut and end with 8 hex digits of the whole name's hash, as a
    long name outside ASCII is; ids of up to 255 bytes are kept whole."""
    import json

    from genxd.curation import CurationConfig, curate_dataset
    from genxd.curation import dataset as dataset_module
    from genxd.curation.pipeline import video_record

    calls = []

    def curate_video(source, out_dir, config, on_stage=None, on_note=None):
        calls.append(source.video_id)
        (Path(out_dir) / source.video_id).mkdir(parents=True)
        (Path(out_dir) / source.video_id / "meta.json").write_text(json.dumps({"verdict": "static"}))
        return video_record(source, "ok", verdict="static")

    monkeypatch.setattr(dataset_module, "curate_video", curate_video)
    name = "v" * 250 + ".mp4"
    for parent in ("p1", "p2", "deep/" + "d" * 200 + "/" + "e" * 40):
        (tmp_path / "in" / parent).mkdir(parents=True)
        (tmp_path / "in" / parent / name).write_bytes(b"x")
    summary = curate_dataset([tmp_path / "in" / "p1", tmp_path / "in" / "p2", tmp_path / "in" / "deep"],
                             tmp_path / "out", CurationConfig(), progress=False)
    assert summary.ok == 3 and len(set(calls)) == 3, calls
    assert all(len(c.encode()) <= 255 and c.startswith(("p1__vvv", "p2__vvv", "d" * 100)) for c in calls), calls
    again = curate_dataset([tmp_path / "in" / "p1", tmp_path / "in" / "p2", tmp_path / "in" / "deep"],
                           tmp_path / "out", CurationConfig(), progress=False)
    assert again.skipped == 3 and len(calls) == 3
    assert [s.video_id for s in discover_videos(tmp_path / "in" / "p1")] == ["v" * 250]  # 250 bytes: whole
