"""The refusal of a path that is no clip lists the kinds of path its caller takes (``ClipAdvice.kinds``).

Before: the recovery always listed every kind it reads ("not a video file, a folder of frames or a camera file"), and
the demo, whose video control takes a video only, rewrote that text (``demo/cameras.py`` ``video_words``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genxd.cameras.clip_cameras import CLIP_KINDS, ClipAdvice, FromVideoError, not_a_clip, recover_clip_cameras
from genxd.curation.frames import VIDEO_EXTENSIONS

SUFFIXES = ", ".join(sorted(VIDEO_EXTENSIONS))


@pytest.mark.parametrize("kinds, listed", [
    (("a video file",), "a video file"),
    (("a video file", "a folder of frames"), "a video file or a folder of frames"),
    (("a video", "an image folder", "a path file"), "a video, an image folder or a path file"),
])
def test_the_refusal_lists_exactly_the_kinds_the_caller_takes(tmp_path: Path, kinds: tuple[str, ...], listed: str):
    (tmp_path / "notes.txt").write_text("hi")
    advice = ClipAdvice("; more texture may work", "", kinds=kinds)
    with pytest.raises(FromVideoError) as err:
        recover_clip_cameras(tmp_path / "notes.txt", advice=advice)
    assert str(err.value) == not_a_clip(tmp_path / "notes.txt", kinds) == (
        f"{tmp_path / 'notes.txt'}: not {listed} (video suffixes: {SUFFIXES})")


def test_by_default_it_lists_every_kind_the_recovery_reads(tmp_path: Path):
    """As genxd trajectory from-video / generate --camera-from-video say it (tests/curation/test_video_inputs.py)."""
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(FromVideoError) as err:
        recover_clip_cameras(tmp_path / "notes.txt")
    assert str(err.value) == (f"{tmp_path / 'notes.txt'}: not a video file, a folder of frames or a camera file "
                              f"(video suffixes: {SUFFIXES})")
    assert ClipAdvice("", "").kinds == CLIP_KINDS


@pytest.mark.parametrize("kinds", ["a video file", (), ("a video file", ""), ("a video file", 3)])
def test_kinds_are_a_tuple_of_one_or_more_texts(kinds):
    """A string would be listed letter by letter ("not a,  , v, ... or e")."""
    with pytest.raises(TypeError, match="kinds must be a tuple of one or more kinds of path"):
        ClipAdvice("", "", kinds=kinds)
