"""HDR clips (a phone's HLG or an HDR10 PQ video, 10-bit BT.2020) are read as 8-bit RGB without tone mapping: one
warning per video says so and where the command that converts them to SDR is (docs/curation.md). Before, their
colours came out flat and washed out without a word. Every clip is written here with PyAV, 32 px, a few frames."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from genxd.curation import read_frames
from genxd.curation.frames import count_frames
from genxd.validation import GenXDWarning

av = pytest.importorskip("av")

HLG, PQ, BT709 = 18, 16, 1  # FFmpeg's AVColorTransferCharacteristic
BT2020 = 9  # primaries, and (BT2020_NCL) the matrix


def _write(path, trc: int | None, frames: int = 6) -> None:
    """A 10-bit H.264 clip whose stream and frames are tagged with transfer ``trc`` (BT.2020 primaries and matrix),
    or an 8-bit one with no colour tags (``None``)."""
    from av.video.reformatter import VideoReformatter

    rng = np.random.default_rng(0)
    # a converter of its own, freed with the clip: frame.reformat's is PyAV 19's (Python 3.12+) thread-local, kept
    # for the worker's life, and a later test of the worker that wrote an mp4 from another thread hung for good
    # (tests/curation/test_video_threads.py says why)
    reformatter = VideoReformatter()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p" if trc is None else "yuv420p10le"
        if trc is not None:
            ctx = stream.codec_context
            ctx.color_trc, ctx.color_primaries, ctx.colorspace = trc, BT2020, BT2020
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), format="rgb24")
            frame = reformatter.reformat(frame, format=stream.pix_fmt)
            if trc is not None:
                frame.color_trc, frame.color_primaries, frame.colorspace = trc, BT2020, BT2020
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _said(call) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = call()
    return got, [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


@pytest.mark.parametrize(("trc", "name"), [(HLG, "HLG"), (PQ, "PQ")])
def test_an_hdr_clip_is_warned_about_once(tmp_path, trc, name):
    _write(tmp_path / "phone.mov", trc)
    frames, said = _said(lambda: read_frames(tmp_path / "phone.mov"))
    assert frames.shape == (6, 32, 32, 3)
    assert len(said) == 1, said
    assert said[0].startswith(f"phone.mov is HDR video ({name}, yuv420p10le)"), said
    assert "without tone mapping" in said[0] and "docs/curation.md" in said[0], said
    _, counted = _said(lambda: count_frames(tmp_path / "phone.mov", exact=True))  # converts no colour: no word
    assert counted == []


@pytest.mark.parametrize("trc", [None, BT709])
def test_an_sdr_clip_is_not_warned_about(tmp_path, trc):
    _write(tmp_path / "sdr.mp4", trc)
    frames, said = _said(lambda: read_frames(tmp_path / "sdr.mp4"))
    assert len(frames) == 6 and said == []


def test_from_video_warns_once_about_an_hdr_clip(tmp_path):
    """``trajectory from-video`` reads a clip up to three times (its size, then the frames picked): one warning."""
    from genxd.cameras.clip_cameras import _read_clip

    _write(tmp_path / "phone.mov", HLG, frames=20)
    (frames, picked), said = _said(lambda: _read_clip(tmp_path / "phone.mov", None, 8, 16))
    assert len(frames) == len(picked) == 8 and frames.shape[1:] == (16, 16, 3)
    assert len(said) == 1 and said[0].startswith("phone.mov is HDR video (HLG"), said


def test_curate_keeps_the_hdr_warning_in_the_record(tmp_path):
    from genxd.curation import CurationConfig, curate_dataset, read_index

    (tmp_path / "in").mkdir()
    _write(tmp_path / "in" / "phone.mov", PQ, frames=3)  # fewer than min_frames: fails after reading, no SfM
    _, said = _said(lambda: curate_dataset(tmp_path / "in", tmp_path / "out", CurationConfig(), progress=False))
    (record,) = read_index(tmp_path / "out")
    assert record["status"] == "failed" and record["stage"] == "frames", record
    hdr = [note for note in record["warnings"] if "is HDR video (PQ" in note]
    assert len(hdr) == 1, record["warnings"]
    assert [s for s in said if "HDR" in s] == [f"phone: {hdr[0]}"], said
