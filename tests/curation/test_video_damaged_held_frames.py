"""A video damaged in its middle keeps every whole frame before the damage, also those the decoder still held when it
refused the damaged packet (genxd.curation.decoded_frames).

With threaded decoding (a thread per frame) and B-frames, the decoder gives a frame some packets after it was handed
it; when FFmpeg refused a damaged packet, PyAV raised there and the 1-3 whole frames still in the decoder were dropped
with the rest: a clip damaged in its second packet failed as "decoding failed", its first frame whole. The frames
kept now are exactly those a decoder on one thread gives up to the damaged packet (which then fails at that packet
itself, the decoder drained after it) that are the undamaged file's, bit for bit: no frame that refers to the damaged
one, no frame after a lost one.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

from genxd.curation import read_frames
from genxd.validation import GenXDWarning

av = pytest.importorskip("av")

FRAMES = 64  # decoding threads are at most 16 (FFmpeg's automatic count): the damage is met well before the end


def _moving_clip(path) -> None:
    """``FRAMES`` frames of a noise texture sliding 2 px a frame (64x64 H.264 with B-frames: frames refer to others)."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (16, (64 + 2 * FRAMES) // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 8)
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, 2 * i:2 * i + 64]), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 8)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _damaged_copy(whole, bad, packet: int) -> None:
    """``whole`` with its ``packet``-th packet's NAL length overwritten (a bad copy, a card error): FFmpeg refuses
    that packet as invalid data."""
    with av.open(str(whole)) as container:
        starts = [p.pos for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(whole.read_bytes())
    data[starts[packet]:starts[packet] + 4] = b"\xff" * 4
    bad.write_bytes(bytes(data))


def _whole_frames_on_one_thread(bad, whole_frames: np.ndarray) -> int:
    """How many frames from the first are whole (the undamaged file's, in order) among those one decoding thread
    gives up to the damaged packet, the decoder drained there."""
    given = []
    with av.open(str(bad)) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.thread_count = "SLICE", 1  # no frame threads: the error comes at its own packet
        for packet in container.demux(stream):
            try:
                given += packet.decode()
            except av.error.InvalidDataError:
                given += stream.codec_context.decode(None)
                break
        else:
            raise AssertionError("the damaged packet was decoded")
    count = 0
    for frame in given:
        if count == len(whole_frames) or not np.array_equal(frame.to_ndarray(format="rgb24"), whole_frames[count]):
            break
        count += 1
    return count


@pytest.mark.parametrize("packet", [1, 13, 17, 28])  # P-frames (1, 13, 28: others refer to them) and a B-frame
def test_the_whole_frames_the_decoder_held_at_the_damage_are_kept(tmp_path, packet):
    whole, bad = tmp_path / "whole.mp4", tmp_path / "bad.mp4"
    _moving_clip(whole)
    _damaged_copy(whole, bad, packet)
    whole_frames = read_frames(whole)
    expected = _whole_frames_on_one_thread(bad, whole_frames)
    assert expected >= 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_frames(bad)  # packet 1: was "bad.mp4: decoding failed (Invalid data ...)"; the others 1-2 short
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert len(got) == expected, (len(got), expected)
    np.testing.assert_array_equal(got, whole_frames[:expected])  # bit for bit: none spoiled by the damage
    assert len(said) == 1 and said[0].startswith(f"bad.mp4: decoding stopped at damaged data after {expected} "
                                                 "frames (Invalid data"), said


def _frames(*pts):
    from types import SimpleNamespace

    return [SimpleNamespace(pts=p) for p in pts]


@pytest.mark.parametrize("sent, shown, held, kept", [
    ([0, 3, 1, 2, 6, 4, 5], {0}, [1, 2, 3, 4, 5], [1, 2, 3]),  # 6 lost: 4 and 5 come after it (they may refer to it)
    ([0, 3, 1, 2, 6, 4, 5], {0, 1}, [3, 4, 6], []),  # 2 lost: nothing shown after it (frame 3 would read as frame 2)
    ([0, 3, 1, 2], {0}, [1, 2, 3], []),  # every packet gave its frame: the one refused is not known
    ([0, None, 1], {0}, [1], []),  # a packet without a timestamp: not known
    ([0, 3, 3, 2], {0}, [2], []),  # a timestamp twice: not known
])
def test_which_held_frames_are_kept(sent, shown, held, kept):
    from genxd.curation.decoded_frames import whole_held_frames

    assert [f.pts for f in whole_held_frames(_frames(*held), sent, shown)] == kept
