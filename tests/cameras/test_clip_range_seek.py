"""A clip range is read from the keyframe before its first frame (``read_frames(known_times=)``, the seek of
``iter_video_frames``): the frames are exactly those a read of the whole clip gives at those indices, B-frames,
a variable frame rate and a seek that lands wrong (the clip then decoded from its start) included."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from genxd.cameras.clip_frames import _read_clip
from genxd.cameras.clip_range import check_bounds, clip_span
from genxd.curation import video_decode
from genxd.curation.frames import read_frames

av = pytest.importorskip("av")


def _frame(i: int) -> np.ndarray:
    """32x32 on a fixed texture; two flat blocks give the frame's number through the codec (i % 30, i // 30)."""
    frame = (np.random.default_rng(0).random((4, 4, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    frame[:16, :16] = 8 * (i % 30) + 4
    frame[:16, 16:] = 8 * (i // 30) + 4
    return frame


def _numbers(frames: np.ndarray) -> list[int]:
    return [round((float(f[:16, :16].mean()) - 4) / 8) + 30 * round((float(f[:16, 16:].mean()) - 4) / 8)
            for f in frames]


def _clip(path: Path, n: int = 150, gop: int = 12, vfr: bool = False) -> Path:
    """H.264 with B-frames and a keyframe every ``gop`` frames; ``vfr``: frames unevenly spaced in time."""
    gaps = np.where(np.arange(n) % 7 == 3, 9000, 3000) if vfr else np.full(n, 3000)
    pts = np.concatenate([[0], np.cumsum(gaps[:-1])]).astype(int)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"g": str(gop), "keyint_min": str(gop),
                                                                     "bf": "3"})
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        for i, p in enumerate(pts):
            vf = av.VideoFrame.from_ndarray(_frame(i), format="rgb24")
            vf.pts, vf.time_base = int(p), Fraction(1, 90000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Clips encoded once for the module with their whole read: ``made(key, make)`` -> ``(path, frames, times)``,
    ``make(path)`` writing the clip the first time. The tests only read them."""
    cache: dict = {}

    def get(key: str, make) -> tuple:
        if key not in cache:
            path = make(tmp_path_factory.mktemp("clip") / key.split("/")[-1])
            times: list = []
            cache[key] = (path, read_frames(path, 1, None, times=times), times)
        return cache[key]

    return get


@pytest.fixture
def decoded(monkeypatch):
    """The frames each read decodes, by timestamp (a seek reads each frame's time, wanted or not)."""
    seen: set = set()
    real = video_decode._frame_seconds
    monkeypatch.setattr(video_decode, "_frame_seconds", lambda frame: seen.add(frame.pts) or real(frame))
    return seen


@pytest.fixture
def demuxed(monkeypatch):
    """The packets each read takes from the file (every read looks at each one it demuxes)."""
    from genxd.curation import decoded_frames  # where video_decode's packets are handed to the decoder

    packets: list = []
    real = decoded_frames.is_hidden
    monkeypatch.setattr(decoded_frames, "is_hidden", lambda packet: packets.append(packet.pts) or real(packet))
    return packets


@pytest.mark.parametrize("vfr", [False, True])
@pytest.mark.parametrize("start, end", [("100f", "130f"), ("100f", None), ("13f", "40f"), ("1f", "9f"),
                                        ("121f", None)])
def test_a_range_read_from_its_keyframe_is_the_whole_reads_frames(made, demuxed, vfr, start, end):
    clip, whole, _ = made(f"vfr{vfr}/c.mp4", lambda path: _clip(path, vfr=vfr))
    assert _numbers(whole) == list(range(150))  # the clip is what it should be
    span = clip_span(clip, clip, *check_bounds(start, end))
    for stride, max_frames in [(None, None), (None, 5), (3, 48)]:
        demuxed.clear()
        seconds: list = []
        frames, picked = _read_clip(clip, stride, max_frames, None, seconds, span)
        assert int(picked[0]) == span.first and len(frames) == len(picked)
        np.testing.assert_array_equal(frames, whole[picked])  # bit for bit: the same decoded frames
        assert seconds == [span.frame_times[i] for i in picked]
        if span.first >= 48:  # a read from the start demuxes a packet for every frame up to the last one read; from
            # the keyframe before the range (at most 12 frames before it), a few more than the range's (B-frame delay)
            assert len(demuxed) < int(picked[-1]) + 1 - 24, (len(demuxed), int(picked[-1]))


def test_a_seek_whose_frames_do_not_match_decodes_from_the_start(made, decoded):
    """Times that name other frames than the clip's (a file changed between the passes, a wrong keyframe index): the
    read notices at the first frame and decodes the clip from its start, the frames still right."""
    clip, whole, times = made("vfrFalse/c.mp4", _clip)
    for known in ([t + 1e-3 for t in times], times[:100] + [t + 1e-3 for t in times[100:]]):
        decoded.clear()
        picked = list(range(90, 120, 4))
        got: list = []
        frames = read_frames(clip, 1, None, indices=picked, known_times=known, times=got)
        np.testing.assert_array_equal(frames, whole[picked])
        assert got == [times[i] for i in picked]
        assert min(decoded) < times[90] * 90000  # the seek was tried (the frames from its keyframe timed)


def test_times_that_cannot_name_frames_are_not_sought_by(made, decoded):
    clip, whole, times = made("vfrFalse/c.mp4", _clip)
    for known in ([None] + times[1:], times[:50] + [times[49]] + times[51:]):  # unknown; repeated
        decoded.clear()
        frames = read_frames(clip, 1, None, indices=[100, 101], known_times=known, times=[])
        np.testing.assert_array_equal(frames, whole[[100, 101]])
        assert len(decoded) == 2  # not sought (a seek times the frames from its keyframe on): only the wanted timed


def _muxed(path: Path, fmt: str, codec: str, n: int = 120) -> Path:
    """``n`` numbered frames of ``codec`` (a keyframe every 12, B-frames) in the container ``fmt``."""
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=30, options={"g": "12", "bf": "2"})
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(_frame(i), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 30)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("name, fmt, codec", [("c.ts", "mpegts", "libx264"), ("c.flv", "flv", "libx264"),
                                              ("c.mpg", "mpeg", "mpeg2video")])
@pytest.mark.parametrize("picked", [[117, 118, 119], [119], [110, 115], [60, 63, 66]])
def test_a_range_of_a_clip_whose_container_seeks_by_searching_is_the_whole_reads_frames(made, name, fmt, codec,
                                                                                        picked):
    """MPEG-TS, FLV and MPEG-PS seek by searching the file for a timestamp, not by an index: a seek to a clip's last
    frames gave no frame ('no frames could be decoded'), and MPEG-PS's frames after a seek to its last three carried
    other frames' times (three other pictures, silently). Such clips are read from their start."""
    clip, whole, times = made(f"{fmt}/{name}", lambda path: _muxed(path, fmt, codec))
    assert len(whole) == len(times) == 120
    frames = read_frames(clip, 1, None, indices=picked, known_times=times)
    np.testing.assert_array_equal(frames, whole[picked])


def test_a_seek_that_decodes_too_few_frames_decodes_from_the_start(tmp_path, monkeypatch):
    """A seek whose decoding ends before the frames the timing pass decoded (MPEG-TS, let seek here: the seek to its
    last frame lands past it) is no range read short of its frames: the clip is decoded from its start."""
    monkeypatch.setattr(video_decode, "_seekable", lambda container: True, raising=False)
    monkeypatch.setattr(video_decode, "SEEKABLE_FORMATS", frozenset({"mpegts"}), raising=False)
    clip = _muxed(tmp_path / "c.ts", "mpegts", "libx264")
    whole = read_frames(clip, 1, None)
    times: list = []
    read_frames(clip, 1, None, times=times)
    for picked in ([119], [117, 118, 119]):
        np.testing.assert_array_equal(read_frames(clip, 1, None, indices=picked, known_times=times), whole[picked])


def test_a_seek_ffmpeg_refuses_decodes_from_the_start(tmp_path, monkeypatch):
    """``container.seek`` raising (an FFmpeg error on a damaged index) is no raw PyAV error out of a range read: the
    clip is decoded from its start, the frames still right."""
    clip = _clip(tmp_path / "c.mp4")
    whole = read_frames(clip, 1, None)
    times: list = []
    read_frames(clip, 1, None, times=times)
    real_open = av.open
    seeks: list = []

    class RefusingSeek:
        def __init__(self, container):
            self._container = container

        def __getattr__(self, name):
            return getattr(self._container, name)

        def seek(self, *args, **kwargs):
            seeks.append(args)
            raise av.error.PermissionError(1, "seek refused")

    monkeypatch.setattr(av, "open", lambda *a, **k: RefusingSeek(real_open(*a, **k)))
    picked = list(range(90, 120, 4))
    np.testing.assert_array_equal(read_frames(clip, 1, None, indices=picked, known_times=times), whole[picked])
    assert seeks  # the seek was tried
