"""A video file cut short in the middle of a frame (a copy or download that stopped): every whole frame before the cut
is read, as ffmpeg reads them, and not the cut one.

FFmpeg's demuxer hands the cut frame's bytes over as one last packet flagged corrupt. Decoding an H.264 one fails;
with PyAV's threaded decoding the failure came out while the decoder was being drained at the end of the file, and
PyAV drops the frames still queued behind such an error, so the last 2 good frames of a clip with B-frames were lost
(19 of the 21 whole frames ffmpeg decodes); single-threaded decoding stopped at that packet and lost them too. An
MPEG-4 one decodes, its picture missing below the cut (ffmpeg keeps it; it was read).
"""

from __future__ import annotations

import numpy as np
import pytest

FRAMES = 48


def _clip(path, codec: str = "libx264") -> None:
    """``FRAMES`` frames of 8x8 blocks of noise (64x64; B-frames for libx264), the index first (``+faststart``), so
    that a cut keeps the file readable."""
    av = pytest.importorskip("av")
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(codec, rate=8)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for _ in range(FRAMES):
            blocks = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(blocks, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _ffmpeg_frames(path) -> dict[float, np.ndarray]:
    """The frames ffmpeg's own command decodes, by time: one thread, past a packet that fails, the decoder drained."""
    import av

    frames = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # no frame threads: an error comes out at its own packet
        stream.thread_count = 1
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except (StopIteration, av.error.InvalidDataError):  # the end, or a demuxer that reports the cut (FFmpeg 7)
                break
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                continue
            frames.update({float(f.pts * f.time_base): f.to_ndarray(format="rgb24") for f in decoded})
    return frames


@pytest.mark.parametrize("codec, fraction", [("libx264", 0.5), ("libx264", 0.9), ("mpeg4", 0.5)])
def test_every_whole_frame_before_the_cut_is_read(tmp_path, codec, fraction):
    from genxd.curation.frames import read_frames

    _clip(tmp_path / "full.mp4", codec)
    data = (tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * fraction)])
    full = _ffmpeg_frames(tmp_path / "full.mp4")
    whole = {t: f for t, f in _ffmpeg_frames(tmp_path / "cut.mp4").items() if np.array_equal(f, full[t])}
    assert 0 < len(whole) < FRAMES
    times: list = []
    with pytest.warns(UserWarning, match="cut short|damaged data"):  # FFmpeg 7 (PyAV 17.1) may say the latter
        got = read_frames(tmp_path / "cut.mp4", times=times)
    assert times == sorted(whole)  # libx264 at 0.5: the first 19 of 21 (the last 2 lost); mpeg4: a cut one more
    for frame, time_s in zip(got, times):
        np.testing.assert_array_equal(frame, whole[time_s])


def test_a_clip_read_whole_is_read_as_before(tmp_path):
    from genxd.curation.frames import read_frames

    _clip(tmp_path / "full.mp4")
    full = _ffmpeg_frames(tmp_path / "full.mp4")
    times: list = []
    got = read_frames(tmp_path / "full.mp4", times=times)
    assert len(got) == FRAMES and times == sorted(full)
