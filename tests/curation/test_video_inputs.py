"""Videos as users bring them: frame folders numbered without zero padding, files with several video streams,
containers of every common kind, files cut short, non-square pixels and variable frame rates (the video input
audit). Every video is written here, 32-64 px and a few frames."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import PIL.Image
import pytest

from genxd.curation import read_frames
from genxd.curation.frames import count_frames


def _numbered_frames(n: int, h: int = 32, w: int = 32) -> np.ndarray:
    """``[n, h, w, 3]``: frame i is flat grey 10 * i + 5 (tells the frames apart through lossy codecs)."""
    return np.repeat((10 * np.arange(n) + 5).astype(np.uint8), h * w * 3).reshape(n, h, w, 3)


def _frame_numbers(frames: np.ndarray) -> list[int]:
    return [int(round((float(f.mean()) - 5) / 10)) for f in frames]


@pytest.mark.parametrize("pattern", ["frame_{}.png", "frame_{:03d}.png", "{}.png"])
def test_a_frame_folder_is_read_in_number_order_padded_or_not(tmp_path, pattern):
    frames = _numbered_frames(12, 8, 8)
    for i, frame in enumerate(frames):
        PIL.Image.fromarray(frame).save(tmp_path / pattern.format(i + 1))
    assert _frame_numbers(read_frames(tmp_path)) == list(range(12))
    assert count_frames(tmp_path) == 12


def test_natural_key_orders_digit_runs_as_numbers():
    from genxd.curation.frames import natural_key

    names = ["b10.png", "a2_10.png", "b9.png", "a2_9.png", "b09.png", "a10.png"]
    assert sorted(names, key=natural_key) == ["a2_9.png", "a2_10.png", "a10.png", "b09.png", "b9.png", "b10.png"]


def _encode(path, frames: np.ndarray, fmt: str | None = None, codec: str = "libx264", rate: int = 8,
            setup=None, options: dict | None = None) -> None:
    """``frames`` as one H.264 stream (``setup(stream)`` may set more before encoding; ``options``: the
    container's)."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w", format=fmt, options=options or {}) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        if setup is not None:
            setup(stream)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _two_streams(path, small: np.ndarray, main: np.ndarray, default_main: bool = False) -> None:
    """A small grey stream first, the clip second (``default_main``: the clip marked default, the other not)."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        streams = []
        for frames in (small, main):
            stream = container.add_stream("libx264", rate=8)
            stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
            streams.append(stream)
        if default_main:
            streams[0].disposition, streams[1].disposition = 0, av.stream.Disposition.default
        for a, b in zip(small, main):
            for stream, frame in ((streams[0], a), (streams[1], b)):
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                    container.mux(packet)
        for stream in streams:
            for packet in stream.encode():
                container.mux(packet)


@pytest.mark.parametrize("name, default_main", [("two.mkv", False), ("two.mp4", True)])
def test_the_main_video_stream_is_read_not_the_first(tmp_path, name, default_main):
    main = _numbered_frames(6, 48, 64)
    _two_streams(tmp_path / name, np.full((6, 16, 16, 3), 128, np.uint8), main, default_main)
    frames = read_frames(tmp_path / name)
    assert frames.shape == (6, 48, 64, 3)
    assert _frame_numbers(frames) == list(range(6))
    assert count_frames(tmp_path / name) in (None, 6)


def test_cover_art_is_never_the_stream_read():
    from genxd.curation.video_streams import main_video_stream

    class Stream:
        def __init__(self, w, h, disposition):
            self.width, self.height, self.disposition = w, h, disposition

    class Container:
        class streams:
            video = [Stream(1000, 1000, 0x400 | 0x1), Stream(64, 48, 0)]

    assert main_video_stream(Container) is Container.streams.video[1]
    Container.streams.video = [Stream(1000, 1000, 0x400)]
    assert main_video_stream(Container) is None


@pytest.mark.parametrize("name, fmt", [("cam.MTS", "mpegts"), ("clip.m2ts", "mpegts"), ("clip.ts", "mpegts"),
                                       ("phone.3gp", "3gp"), ("clip.flv", "flv")])
def test_camcorder_and_phone_containers_are_videos(tmp_path, name, fmt):
    from genxd.cameras.clip_cameras import _frames_source
    from genxd.curation.frames import discover_videos

    _encode(tmp_path / name, _numbered_frames(4), fmt=fmt)
    assert [s.kind for s in discover_videos(tmp_path / name)] == ["video"]
    assert [s.path.name for s in discover_videos(tmp_path)] == [name]
    assert _frames_source(tmp_path / name) == tmp_path / name
    assert read_frames(tmp_path / name).shape == (4, 32, 32, 3)


def test_a_searched_folder_names_the_files_it_skips(tmp_path):
    from genxd.curation.frames import discover_videos
    from genxd.validation import GenXDWarning

    _encode(tmp_path / "a.mp4", _numbered_frames(3))
    for name in ("a.json", "notes.txt", ".DS_Store", "b.doc", "sound.wav"):
        (tmp_path / name).write_bytes(b"x")
    with pytest.warns(GenXDWarning) as caught:
        assert [s.path.name for s in discover_videos(tmp_path)] == ["a.mp4"]
    assert len(caught) == 1
    assert "skipped 2 files that are not videos: b.doc, sound.wav" in str(caught[0].message)


def test_from_video_names_the_video_suffixes_it_reads(tmp_path):
    from genxd.cameras.from_video import FromVideoError, recover_clip_cameras

    (tmp_path / "clip.xyz").write_bytes(b"x")
    with pytest.raises(FromVideoError, match=r"clip\.xyz: not a video file.*video suffixes: .*\.m2ts.*\.mp4"):
        recover_clip_cameras(tmp_path / "clip.xyz")


def _cut_short(tmp_path, n: int = 24):
    """An mp4 with its index first (``+faststart``) stating ``n`` frames, cut to half its size."""
    noise = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    _encode(tmp_path / "full.mp4", noise, options={"movflags": "+faststart"})
    data = (tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    return tmp_path / "cut.mp4"


def _read_warned(read):
    """``(what read() returned, the GenXDWarning messages)``; ``(None, [])`` where the decoder reports the cut as an
    error before any frame (FFmpeg 7 of PyAV 17.1, what Python 3.10 gets: "decoding failed (Invalid data ...)"),
    which must be the reader's one-line error naming the file."""
    import warnings

    from genxd.curation.frames import VideoReadError
    from genxd.validation import GenXDWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = read()
        except VideoReadError as exc:
            assert re.match(r"cut\.mp4: decoding failed", str(exc)), exc
            return None, []
    return got, [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


def test_a_video_cut_short_is_warned_about_once(tmp_path):
    import warnings

    cut = _cut_short(tmp_path)
    assert count_frames(cut) == 24
    frames, said = _read_warned(lambda: read_frames(cut))
    if frames is not None:  # FFmpeg 8 (PyAV 18) ends the stream where the file was cut
        assert len(frames) < 20 and len(said) == 1, said
        # FFmpeg 7 (PyAV 17.1) reports the cut as invalid data: the frames before it are kept all the same
        assert re.fullmatch(r"decoded \d+ of the 24 frames cut\.mp4 states; the file may be cut short", said[0]) \
            or said[0].startswith(f"cut.mp4: decoding stopped at damaged data after {len(frames)} frames"), said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_frames(tmp_path / "full.mp4")  # whole: no warning
        read_frames(cut, max_frames=3)  # stopped before the end: no warning
    # the exact count says nothing of a cut (a count is not a read); where FFmpeg 7 reports the cut as damaged data,
    # the count stops there and says so as the read did (docs/curation.md; test_video_timing)
    counted, said_count = _read_warned(lambda: count_frames(cut, exact=True))
    damaged = frames is not None and said[0].startswith("cut.mp4: decoding stopped at damaged data")
    assert said_count == (said if damaged else []), said_count
    assert counted == (len(frames) if frames is not None else None), counted


def test_from_video_warns_once_about_a_clip_cut_short(tmp_path):
    from genxd.cameras.clip_cameras import _read_clip

    cut = _cut_short(tmp_path, 60)
    read, said = _read_warned(lambda: _read_clip(cut, None, 12, None))
    if read is not None:
        frames, picked = read
        assert len(said) == 1 and len(frames) == len(picked) <= 12, said
        assert "the file may be cut short" in said[0] or "decoding stopped at damaged data" in said[0], said


@pytest.mark.parametrize("name", ["wide.mp4", "wide.mkv"])
def test_non_square_pixels_are_read_at_the_shape_shown(tmp_path, name):
    from genxd.curation.video_streams import stored_pixel_aspect

    # a 64x64 picture (left half dark, right half bright) stored squeezed to 32x64 with 2:1 pixels
    shown = np.zeros((4, 64, 64, 3), np.uint8)
    shown[:, :, 32:] = 220
    stored = np.ascontiguousarray(shown[:, :, ::2])
    _encode(tmp_path / name, stored, setup=lambda s: setattr(s.codec_context, "sample_aspect_ratio", Fraction(2, 1)))
    frames = read_frames(tmp_path / name)
    assert frames.shape == (4, 64, 64, 3)
    assert frames[:, :, :28].mean() < 30 and frames[:, :, 36:].mean() > 190
    assert stored_pixel_aspect(tmp_path / name) == "2:1"


def test_square_pixels_stretches_the_height_below_one():
    from genxd.curation.video_streams import square_pixels

    assert square_pixels(np.zeros((10, 40, 3), np.uint8), Fraction(1, 2)).shape == (20, 40, 3)
    assert square_pixels(np.zeros((10, 40, 3), np.uint8), None).shape == (10, 40, 3)


def _variable_rate(path, n: int = 24) -> list[float]:
    """Frames 0-11 at 30 fps, then 3 fps (time base 1/90000); returns the frames' times in seconds."""
    av = pytest.importorskip("av")
    gaps = np.where(np.arange(n) < 12, 3000, 30000)
    pts = np.concatenate([[0], np.cumsum(gaps[:-1])]).astype(int)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        for frame, p in zip(_numbered_frames(n), pts):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts, vf.time_base = int(p), Fraction(1, 90000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return (pts / 90000).tolist()


def test_from_video_times_follow_a_variable_frame_rate(tmp_path):
    from genxd.cameras.clip_cameras import _read_clip, clip_times

    truth = np.asarray(_variable_rate(tmp_path / "vfr.mp4"))
    seconds: list = []
    frames, picked = _read_clip(tmp_path / "vfr.mp4", None, 8, None, seconds)
    times = clip_times(picked, seconds).numpy()
    expected = (truth[picked] - truth[0]) / (truth[-1] - truth[0])
    assert times[0] == 0 and times[-1] == 1
    np.testing.assert_allclose(times, expected, atol=1e-3)  # frame 10 of 24 at 0.076, not 10 / 23 = 0.43


def test_clip_times_fall_back_to_positions():
    from genxd.cameras.clip_cameras import clip_times

    picked = np.array([0, 4, 8])
    np.testing.assert_allclose(clip_times(picked, [None, None, None]).numpy(), [0, 0.5, 1])
    np.testing.assert_allclose(clip_times(picked, [0.0, 0.0, 1.0]).numpy(), [0, 0.5, 1])  # not increasing
    np.testing.assert_allclose(clip_times(picked, [0.0, 0.1, 1.0]).numpy(), [0, 0.1, 1])
    assert clip_times(np.array([3])).tolist() == [0.0]


def test_curate_warns_about_a_long_video(tmp_path, monkeypatch):
    from genxd.curation import CurationConfig, pipeline
    from genxd.validation import GenXDWarning

    monkeypatch.setattr(pipeline, "LONG_VIDEO_FRAMES", 5)  # 6 frames stand for 3,000 (SfM on a flat clip fails fast)
    _encode(tmp_path / "long.mp4", _numbered_frames(6))
    with pytest.warns(GenXDWarning, match=r"long\.mp4 is long: 6 frames go to SfM.*max_frames / stride"):
        pipeline.curate_video(tmp_path / "long.mp4", tmp_path / "out", CurationConfig(min_frames=3, num_threads=1))


def test_curate_exits_2_when_every_video_is_too_short(tmp_path):
    from typer.testing import CliRunner

    from genxd.cli import app

    _encode(tmp_path / "one.mp4", _numbered_frames(1))
    res = CliRunner().invoke(app, ["curate", str(tmp_path / "one.mp4"), "--out", str(tmp_path / "out"), "-q"])
    # the command line's option named (it said "1 < min_frames=8", the Python argument, on the command line)
    assert "failed (frames): too few frames: 1, fewer than the minimum 8 (--min-frames)" in res.output, res.output
    assert res.exit_code == 2, res.output  # the input's fault, as an unreadable video (docs/cli.md)


def test_curate_of_no_videos_writes_nothing(tmp_path):
    """genxd curate EMPTY_FOLDER -o OUT refused ('no videos found in the inputs') but left OUT/.curate.lock."""
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(app, ["curate", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2 and "genxd: error: no videos found in the inputs" in res.output, res.output
    assert not (tmp_path / "out").exists()
