"""Video ids alike only up to letter case or Unicode normalisation (one folder on macOS and Windows) are told apart,
and only those: ids that never clashed keep the names earlier datasets gave them (a resumed curation finds them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from genxd.curation.dataset import _collect_sources
from genxd.curation.frames import discover_videos
from genxd.curation.video_ids import MAX_ID_BYTES
from genxd.utils.paths import name_key


def _files(root: Path, *names: str) -> list[Path]:
    paths = [root / n for n in names]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"only the names are read here")
    return paths


def _distinct_on_macos(ids: list[str]) -> bool:
    return len({name_key(i) for i in ids}) == len(ids)


def test_ids_that_did_not_clash_up_to_case_keep_the_ids_they_had(tmp_path):
    """``clip.mp4``, ``clip.mov`` and ``Clip.avi`` were Clip, clip_mov, clip_mp4 and became Clip_avi, ...; given
    apart, ``a/clip.mp4``, ``b/clip.mp4`` and ``c/Clip.mp4`` were a__clip, b__clip, Clip and Clip became c__Clip:
    a resumed curation curated those videos again under the new names."""
    _files(tmp_path / "d1", "clip.mp4", "clip.mov", "Clip.avi")
    assert sorted(s.video_id for s in discover_videos(tmp_path / "d1")) == ["Clip", "clip_mov", "clip_mp4"]
    given = _files(tmp_path, "a/clip.mp4", "b/clip.mp4", "c/Clip.mp4")
    assert [s.video_id for s in _collect_sources(given)] == ["a__clip", "b__clip", "Clip"]


def test_ids_clashing_only_up_to_case_are_still_told_apart(tmp_path):
    _files(tmp_path / "d2", "IMG_0001.MOV", "img_0001.mp4", "clip.mov", "Clip.MOV", "other.mp4")
    ids = {s.path.name: s.video_id for s in discover_videos(tmp_path / "d2")}
    assert _distinct_on_macos(list(ids.values())), ids
    assert ids["IMG_0001.MOV"] == "IMG_0001_MOV" and ids["img_0001.mp4"] == "img_0001_mp4"  # the suffix tells
    assert ids["clip.mov"].startswith("clip_") and ids["Clip.MOV"].startswith("Clip_")  # a hash tells
    assert ids["other.mp4"] == "other"
    given = _files(tmp_path, "a/Clip.mp4", "b/clip.mp4")
    assert [s.video_id for s in _collect_sources(given)] == ["a__Clip", "b__clip"]


def test_folders_alike_up_to_case_give_short_ids(tmp_path):
    """``A/clip.mp4`` and ``a/clip.mp4`` (Linux) took parent after parent up to ``/`` (every one alike up to case):
    a 306-byte id under a deep folder, 'File name too long' when curated."""
    deep = tmp_path / ("projects_2026_" * 9) / ("shoot_day_one_" * 9)
    given = _files(deep, "A/clip.mp4", "a/clip.mp4")
    ids = [s.video_id for s in _collect_sources(given)]
    assert _distinct_on_macos(ids), ids
    assert ids[0].startswith("A__clip_") and ids[1].startswith("a__clip_"), ids
    assert all(len(i.encode()) <= MAX_ID_BYTES for i in ids)
    for vid in ids:
        (tmp_path / f".{vid}.abcd1234.part").mkdir()  # the hidden folder a video is built in


def test_names_alike_up_to_case_clash_under_the_c_locale(tmp_path):
    """Under ``LC_ALL=C`` (Python's UTF-8 mode off) names outside ASCII read as escaped bytes, and the key was taken
    of those: ``CAFÉ.mp4`` and ``café.mp4`` (one folder on macOS) kept ids alike up to case."""
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("CAFÉ.mp4", "café.mp4"):
        with open(os.path.join(os.fsencode(folder), name.encode("utf-8")), "wb") as fh:
            fh.write(b"x")
    code = ("import os, sys; from genxd.curation.frames import discover_videos; "
            "print(sys.getfilesystemencoding()); "
            "[print(os.fsencode(s.video_id).decode('utf-8')) for s in discover_videos(sys.argv[1])]")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0", PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-c", code, str(folder)], env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    encoding, *ids = done.stdout.splitlines()
    assert encoding == "ascii"  # the case this test is for
    assert len(ids) == 2 and _distinct_on_macos(ids), ids


def test_inputs_no_parent_tells_apart_take_a_suffix_not_every_parent(tmp_path):
    """``genxd curate v/*`` over ``clip.mp4`` and the frames folder ``clip/``, or ``a/clip.mp4`` and ``a/clip.mov``
    given as files: every parent is the same, and the ids took them all up to ``/`` (a whole-path id, 'File name
    too long' under a deep folder, and one that depended on where the videos lay)."""
    deep = tmp_path / ("projects_2026_" * 9) / ("shoot_day_one_" * 9)
    video, frame = _files(deep, "v/clip.mp4", "v/clip/0.png")
    ids = [s.video_id for s in _collect_sources([video, frame.parent])]
    assert ids == ["clip_mp4", "clip"]  # as discover_videos(v) gives them
    assert [s.video_id for s in _collect_sources(_files(deep, "a/clip.mp4", "a/clip.mov"))] == ["clip_mp4", "clip_mov"]
    given = _files(deep, "x/clip.mp4", "x/clip/0.png", "w/clip.mp4")  # a parent tells w's apart, as always
    ids = [s.video_id for s in _collect_sources([given[0], given[1].parent, given[2]])]
    assert ids == ["x__clip_mp4", "x__clip", "w__clip"]
    same = _files(deep, "s/a b.mp4", "s/a_b.mp4")  # one id, one suffix: a hash
    ids = [s.video_id for s in _collect_sources(same)]
    assert len(set(ids)) == 2 and all(i.startswith("a_b_mp4_") and len(i) == len("a_b_mp4_") + 8 for i in ids), ids


def test_a_frames_folder_whose_partner_took_its_suffix_keeps_its_id(tmp_path):
    """``Clip/`` (frames) beside ``clip.mp4``: the video takes ``clip_mp4``, and the folder kept ``Clip`` no more
    (it was hashed though nothing clashed with it then)."""
    _files(tmp_path / "v", "Clip/0.png", "clip.mp4")
    assert sorted(s.video_id for s in discover_videos(tmp_path / "v")) == ["Clip", "clip_mp4"]


def test_one_parent_more_is_counted_from_the_id(tmp_path):
    """``r1`` and ``r2`` searched, holding ``sub/Clip.mp4`` and ``sub/clip.mp4`` (ids ``sub__Clip``, ``sub__clip``):
    'one parent folder more' was taken of the path (``sub__Clip`` again), so both got a hash where the docs promise
    ``r1__sub__Clip``."""
    _files(tmp_path, "r1/sub/Clip.mp4", "r2/sub/clip.mp4", "r3/sub/x.mp4", "r3/sub/x.mov", "r4/sub/X_mp4.avi")
    ids = [s.video_id for s in _collect_sources([tmp_path / "r1", tmp_path / "r2"])]
    assert ids == ["r1__sub__Clip", "r2__sub__clip"]
    ids = [s.video_id for s in _collect_sources([tmp_path / "r3", tmp_path / "r4"])]
    assert ids == ["sub__x_mov", "r3__sub__x_mp4", "r4__sub__X_mp4"]  # a suffixed id keeps its suffix


def test_one_folders_files_given_apart_get_the_ids_a_search_of_it_gives(tmp_path):
    """``genxd curate v`` and ``genxd curate v/*`` over ``Clip.mp4`` and ``clip.MOV`` (alike up to case, one folder):
    the search gave ``Clip_mp4`` and ``clip_MOV``, the files given apart one parent more (``v__Clip``, still alike)
    and then hashes: a curation of the folder resumed with its files curated both videos again."""
    files = _files(tmp_path / "v", "Clip.mp4", "clip.MOV", "IMG_1.mov", "img_1.MOV", "Shot/0.png", "shot.mp4",
                   "other.mp4")
    searched = {s.path.name: s.video_id for s in discover_videos(tmp_path / "v")}
    given = [f.parent if f.name == "0.png" else f for f in files]
    apart = {s.path.name: s.video_id for s in _collect_sources(given)}
    assert apart == searched, (apart, searched)
    assert searched["Clip.mp4"] == "Clip_mp4" and searched["clip.MOV"] == "clip_MOV"
    assert searched["Shot"] == "Shot" and searched["shot.mp4"] == "shot_mp4" and _distinct_on_macos(list(apart.values()))
