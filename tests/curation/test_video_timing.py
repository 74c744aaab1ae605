"""Videos as phones and editors write them: clips trimmed with an edit list, frame times that follow the
clip's timestamps, damaged data in the middle of a file."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

from genxd.curation import read_frames, video_decode
from genxd.curation.frames import count_frames
from genxd.validation import GenXDWarning

av = pytest.importorskip("av")


def _levels(n: int) -> np.ndarray:
    """``[n, 32, 32, 3]`` flat frames, frame i at level 6 * i (read back within a few levels)."""
    return np.repeat((6 * np.arange(n, dtype=np.uint8))[:, None, None, None], 32 * 32 * 3).reshape(n, 32, 32, 3)


def _write(path, frames: np.ndarray, pts: list[int], time_base: Fraction = Fraction(1, 30)) -> None:
    """``frames`` as H.264 at the given timestamps (in ``time_base``); negative ones come before the clip's
    start, which the mp4 muxer hides with an edit list, as ``ffmpeg -ss T -i in.mp4 -c copy`` trims do."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = time_base
        for frame, p in zip(frames, pts):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts, vf.time_base = int(p), time_base
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _read_with_warnings(*args, **kwargs) -> tuple[np.ndarray, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = read_frames(*args, **kwargs)
    return frames, [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


def test_a_clip_trimmed_with_an_edit_list_is_not_taken_for_one_cut_short(tmp_path):
    # 40 frames stored, the first 12 hidden by the edit list: players and ffmpeg show 28, from level 72
    frames = _levels(40)
    _write(tmp_path / "trim.mp4", frames, [i - 12 for i in range(40)])
    with av.open(str(tmp_path / "trim.mp4")) as container:
        assert container.streams.video[0].frames == 40  # what the container counts: every stored frame
    got, said = _read_with_warnings(tmp_path / "trim.mp4")
    assert len(got) == 28 and abs(int(got[0, 0, 0, 0]) - 72) <= 3
    assert said == []  # was: "decoded 28 of the 40 frames trim.mp4 states; the file may be cut short"
    assert count_frames(tmp_path / "trim.mp4") == 28  # was 40
    assert count_frames(tmp_path / "trim.mp4", exact=True) == 28


def test_from_video_picks_a_trimmed_clip_s_frames_in_one_read(tmp_path):
    from genxd.cameras.clip_cameras import _read_clip

    _write(tmp_path / "trim.mp4", _levels(40), [i - 12 for i in range(40)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", GenXDWarning)  # no false "cut short" warning from a first read
        frames, picked = _read_clip(tmp_path / "trim.mp4", None, 8, None)
    assert picked.tolist() == np.unique(np.round(np.linspace(0, 27, 8)).astype(int)).tolist()
    np.testing.assert_allclose(frames[:, 0, 0, 0], 72 + 6 * picked, atol=3)


def test_a_curated_variable_frame_rate_clip_keeps_its_frame_times(tmp_path):
    """A phone's variable-frame-rate clip (frames 0-5 at 30 fps, then 5 fps), timestamps starting at 2 s: the
    curated sample records each frame's time, and the camera path read from it follows them (it followed the
    frame numbers: frame 6 of 0-10 at 0.6 instead of 0.2)."""
    import json

    from genxd.cameras import read_camera_path
    from genxd.curation import CurationConfig, VideoSource, curate_video

    from .conftest import render_clip

    clip = render_clip("vfr", 0, "handheld", 0.0, frames=12)
    gaps = np.where(np.arange(12) < 6, 3000, 18000)  # in 1/90000 s
    pts = 180000 + np.concatenate([[0], np.cumsum(gaps[:-1])])
    _write(tmp_path / "vfr.mp4", clip.frames, pts.tolist(), Fraction(1, 90000))
    record = curate_video(VideoSource("vfr", tmp_path / "vfr.mp4", "video"), tmp_path / "out",
                          CurationConfig(stride=2, min_frames=3))
    assert record["status"] == "ok", record
    meta = json.loads((tmp_path / "out" / "vfr" / "meta.json").read_text())
    seconds = (pts[::2] - pts[0]) / 90000
    np.testing.assert_allclose([f["time"] for f in meta["frames"]], seconds, atol=1e-4)
    assert [f["source_index"] for f in meta["frames"]] == list(range(0, 12, 2))
    cam = read_camera_path(tmp_path / "out" / "vfr")
    expected = dict(zip([f["name"] for f in meta["frames"]], seconds / seconds[-1]))
    np.testing.assert_allclose(cam.times.numpy(), [expected[n] for n in cam.names], atol=1e-4)


def _damaged(tmp_path, packet: int):
    """24 noise frames as H.264, and a copy whose ``packet``-th packet has its NAL length overwritten (what a
    bad copy or a card error leaves): FFmpeg refuses that packet as invalid data."""
    noise = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    _write(tmp_path / "whole.mp4", noise, list(range(24)), Fraction(1, 8))
    with av.open(str(tmp_path / "whole.mp4")) as container:
        starts = [p.pos for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray((tmp_path / "whole.mp4").read_bytes())
    data[starts[packet]:starts[packet] + 4] = b"\xff" * 4
    (tmp_path / "bad.mp4").write_bytes(bytes(data))
    return tmp_path / "whole.mp4", tmp_path / "bad.mp4"


def test_frames_before_damaged_data_are_kept_with_one_warning(tmp_path):
    from genxd.curation.frames import VideoReadError

    whole, bad = _damaged(tmp_path, 12)
    got, said = _read_with_warnings(bad)  # raised "bad.mp4: decoding failed: [Errno 1094995529] Invalid data ..."
    assert 0 < len(got) < 24 and len(said) == 1, said
    assert said[0].startswith(f"bad.mp4: decoding stopped at damaged data after {len(got)} frames (Invalid data")
    np.testing.assert_array_equal(got, read_frames(whole)[:len(got)])
    with pytest.warns(GenXDWarning, match="damaged data"):  # the count stops there too
        assert count_frames(bad, exact=True) == len(got)
    _, bad = _damaged(tmp_path, 0)  # nothing before the damage: an error in FFmpeg's words, without its errno
    with pytest.raises(VideoReadError, match=r"^bad\.mp4: decoding failed \(Invalid data found when processing "
                                             r"input\)$"):
        read_frames(bad)


def test_a_variable_frame_rate_clip_with_b_frames_is_counted_by_its_frames(tmp_path):
    # a phone's pause: 10 frames at 0, 1.000, 1.033, ... 1.267 s, H.264 with B-frames. Its average rate spans the
    # decoding delay (pause included): 4.4 fps, and duration x rate counted 6 of the 10 frames it shows
    pts = [0, 1000, 1033, 1067, 1100, 1133, 1167, 1200, 1233, 1267]
    _write(tmp_path / "pause.mp4", _levels(10), pts, Fraction(1, 1000))
    got, said = _read_with_warnings(tmp_path / "pause.mp4")
    assert len(got) == 10 and said == []
    assert count_frames(tmp_path / "pause.mp4") == 10  # was 6


class _Failing:
    """Wraps a PyAV object; ``fail(k, where)`` decides whether the k-th decoded frame raises, ``"decode"`` or in
    ``"to_ndarray"`` (the conversion to RGB, :func:`genxd.curation.video_decode._rgb24`): a decoder that fails other
    than at damaged data (out of memory, a read error)."""

    def __init__(self, wrapped, fail, count=None):
        self._wrapped, self._fail, self._count = wrapped, fail, count if count is not None else [0]

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def demux(self, *args, **kwargs):
        for packet in self._wrapped.demux(*args, **kwargs):
            yield _Failing(packet, self._fail, self._count)

    def decode(self, *args, **kwargs):
        for frame in self._wrapped.decode(*args, **kwargs):
            self._count[0] += 1
            self._fail(self._count[0] - 1, "decode")
            yield _Failing(frame, self._fail, [self._count[0] - 1])


def _open_failing(monkeypatch, at: int, where: str, error: Exception) -> None:
    real_open = av.open

    def fail(index, place):
        if index == at and place == where:
            raise error

    monkeypatch.setattr(av, "open", lambda *a, **k: _Failing(real_open(*a, **k), fail))
    real_rgb24 = video_decode._rgb24

    def rgb24(reformatter, frame):  # genxd converts with its own converter: the wrapped frame's failure first
        if isinstance(frame, _Failing):
            frame._fail(frame._count[0], "to_ndarray")
            frame = frame._wrapped
        return real_rgb24(reformatter, frame)

    monkeypatch.setattr(video_decode, "_rgb24", rgb24)


@pytest.mark.parametrize("error", [av.error.MemoryError(12, "Cannot allocate memory"),
                                   av.error.OSError(5, "Input/output error")], ids=["memory", "io"])
def test_a_decoder_error_other_than_damaged_data_fails_the_read(tmp_path, monkeypatch, error):
    from genxd.curation.frames import VideoReadError

    _write(tmp_path / "clip.mp4", _levels(12), list(range(12)))
    _open_failing(monkeypatch, 5, "decode", error)
    # was: 5 frames kept as a clip "stopped at damaged data" (a network drive's hiccup curated a prefix as ok)
    with pytest.raises(VideoReadError, match=rf"^clip\.mp4: decoding failed after 5 frames \({error.strerror}\)$"):
        read_frames(tmp_path / "clip.mp4")


def test_a_frame_that_fails_to_convert_is_not_counted_as_kept(tmp_path, monkeypatch):
    _write(tmp_path / "clip.mp4", _levels(12), list(range(12)))
    _open_failing(monkeypatch, 5, "to_ndarray", av.error.InvalidDataError(1, "Invalid data found"))
    got, said = _read_with_warnings(tmp_path / "clip.mp4")
    assert len(got) == 5
    assert said and said[0].startswith("clip.mp4: decoding stopped at damaged data after 5 frames"), said  # was 6


def test_damage_before_the_frames_asked_for_is_named_and_warned_whenever_frames_are_lost(tmp_path):
    from genxd.curation.frames import VideoReadError

    _, bad = _damaged(tmp_path, 12)
    kept = len(_read_with_warnings(bad)[0])
    # was: "bad.mp4: no frames could be decoded (empty video)"
    with pytest.raises(VideoReadError, match=rf"^bad\.mp4: decoding stopped at damaged data after {kept} frames "
                                             r"\(Invalid data [^)]*\); none of the frames asked for came before it$"):
        read_frames(bad, indices=[15, 20])
    # a second read (as from-video's) loses frames too: said (it was not)
    got, said = _read_with_warnings(bad, stride=5)
    assert len(got) == -(-kept // 5) and len(said) == 1 and f"damaged data after {kept} frames" in said[0], said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert count_frames(bad, exact=True) == kept
    assert [str(w.message) for w in caught] == [said[0]]  # the count stops there too: said (it was silent)
    assert _read_with_warnings(bad, max_frames=3)[1] == []  # the frames asked for all came before it: nothing lost
