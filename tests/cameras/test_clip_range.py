"""Part of a clip: ``genxd trajectory from-video --start / --end`` (genxd.cameras.clip_range).

Before there was no way to take the camera motion of part of a clip: the whole clip was read (``--stride`` from its
first frame, or ``--max-frames`` spread over all of it)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genxd.cameras.clip_frames import _read_clip, clip_times
from genxd.cameras.clip_range import check_bounds, clip_span
from genxd.cameras.from_video import FromVideoError, recover_clip_cameras
from genxd.cli import app
from genxd.validation import InvalidType, InvalidValue

av = pytest.importorskip("av")

_TEXTURE = (np.random.default_rng(0).random((4, 4, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)


def _frame(i: int, texture: bool) -> np.ndarray:
    """32x32: a flat top-left block at level 8 * i + 4 (which frame, through the codec) on black or a texture."""
    frame = _TEXTURE.copy() if texture else np.zeros((32, 32, 3), np.uint8)
    frame[:16, :16] = 8 * i + 4
    return frame


def _numbers(frames: np.ndarray) -> list[int]:
    return [round((float(f[:16, :16].mean()) - 4) / 8) for f in frames]


def _video(path: Path, gaps: np.ndarray, texture: bool = False) -> np.ndarray:
    """H.264 frames whose timestamps are ``gaps`` apart (in 1/90000 s); returns their times in seconds."""
    pts = np.concatenate([[0], np.cumsum(gaps[:-1])]).astype(int)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        for i, p in enumerate(pts):
            vf = av.VideoFrame.from_ndarray(_frame(i, texture), format="rgb24")
            vf.pts, vf.time_base = int(p), Fraction(1, 90000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return pts / 90000


def _vfr(path: Path) -> np.ndarray:
    """24 frames: 0-11 at 30 fps, then 3 fps (frame 12 at 0.4 s, 13 at 0.733 s ... 23 at 4.07 s)."""
    return _video(path, np.where(np.arange(24) < 12, 3000, 30000))


def _folder(path: Path, n: int) -> Path:
    path.mkdir()
    for i in range(n):
        Image.fromarray(_frame(i, True)).save(path / f"{i:03d}.png")
    return path


def _span(clip: Path, start, end):
    return clip_span(clip, clip, *check_bounds(start, end))


def test_a_variable_frame_rate_clip_is_cut_by_its_frames_times(tmp_path):
    clip = tmp_path / "vfr.mp4"
    truth = _vfr(clip)
    span = _span(clip, "0.5", 2)  # frames at 0.733, 1.07, 1.4, 1.73 s (by position at 30 fps: frames 15-59)
    assert (span.first, span.stop) == (13, 17) and span.note is None
    seconds: list = []
    frames, picked = _read_clip(clip, None, 48, None, seconds, span)
    assert picked.tolist() == [13, 14, 15, 16] and _numbers(frames) == [13, 14, 15, 16]
    expected = (truth[13:17] - truth[13]) / (truth[16] - truth[13])
    np.testing.assert_allclose(clip_times(picked, seconds).numpy(), expected, atol=1e-6)
    assert (_span(clip, "20f", None).first, _span(clip, None, "10f").stop) == (20, 10)  # frame numbers
    assert (_span(clip, 1, "20f").first, _span(clip, "12f", 2).stop) == (14, 17)  # units mixed


def test_frames_are_picked_inside_the_range_as_in_a_whole_clip(tmp_path):
    clip = tmp_path / "cfr.mp4"
    _video(clip, np.full(30, 9000))  # 10 fps: frame i at i / 10 s
    span = _span(clip, 1, 2)
    assert (span.first, span.stop) == (10, 20) and span.seconds == pytest.approx((1.0, 1.9))
    for stride, max_frames, expected in [(None, 4, [10, 13, 16, 19]), (4, 48, [10, 14, 18]),
                                         (2, 3, [10, 12, 14]), (None, None, list(range(10, 20)))]:
        frames, picked = _read_clip(clip, stride, max_frames, None, None, span)
        assert picked.tolist() == expected and _numbers(frames) == expected


@pytest.mark.parametrize("start, end, said", [
    ("5", None, "start=5 is past the clip's last frame (frame 29, at 2.9 s)"),
    ("30f", None, "start='30f' is past the clip's last frame (frame 29, at 2.9 s)"),
    ("1", "1.25", "the range 1 s - 1.25 s holds 3 frames"),  # allowed: 3 frames
    ("1", "1.2", "the range 1 s - 1.2 s holds 2 frames (frames 10-11); a camera path needs at least 3"),
    ("28f", None, "the range from frame 28 holds 2 frames (frames 28-29); a camera path needs at least 3"),
    ("25f", "1", "start='25f' (frame 25) is not before end=1 (frame 10); the range is [start, end)"),
])
def test_a_range_the_clip_cannot_give_is_refused_in_one_line(tmp_path, start, end, said):
    clip = tmp_path / "cfr.mp4"
    _video(clip, np.full(30, 9000))
    if said.endswith("holds 3 frames"):
        assert _span(clip, start, end).count == 3
        return
    with pytest.raises(FromVideoError) as caught:
        _span(clip, start, end)
    assert str(caught.value) == f"{clip}: {said}"


def test_an_end_at_the_first_frame_without_a_start_is_refused_in_one_line(tmp_path):
    """Before: ``--end 0f`` with no ``--start`` ended in a traceback (AttributeError: 'NoneType' object has no
    attribute 'said', the start's words taken for the message); ``--end 0`` of a video with timestamps was refused
    for having none ("the video's frames have no timestamps")."""
    clip = tmp_path / "cfr.mp4"
    _video(clip, np.full(30, 9000))
    for end, said in [("0f", "end='0f'"), ("0", "end=0")]:
        with pytest.raises(FromVideoError) as caught:
            _span(clip, None, end)
        assert str(caught.value) == f"{clip}: {said} (frame 0) leaves no frame before it (the range is [start, end)); " \
            "give a later end"
    with pytest.raises(FromVideoError) as caught:  # before: "the video's frames have no timestamps"
        _span(clip, "1", "0f")
    assert str(caught.value) == f"{clip}: start=1 (after frame 0) is not before end='0f' (frame 0); the range is " \
        "[start, end)"
    frames = _folder(tmp_path / "frames", 5)
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(frames), "-o", str(tmp_path / "x.json"),
                                   "--end", "0f"])
    assert res.exit_code == 2 and "genxd: error: " in res.output, res.output
    assert "--end 0f (frame 0) leaves no frame before it" in res.output.replace("\n", " "), res.output
    assert not (tmp_path / "x.json").exists()


def test_a_clip_with_no_frame_read_is_refused_in_one_line(tmp_path, monkeypatch):
    """A video none of whose frames decodes (every frame damaged) with only an end: said so, not an AttributeError
    on the missing start."""
    import genxd.cameras.clip_range as clip_range

    clip = tmp_path / "damaged.mp4"
    _video(clip, np.full(5, 9000))
    monkeypatch.setattr(clip_range, "_video_times", lambda path, start, end: ([], True))
    with pytest.raises(FromVideoError, match=r"damaged.mp4: no frame of the clip could be read, so it has no range"):
        _span(clip, None, "3f")


def test_no_bounds_span_the_whole_clip(tmp_path):
    span = clip_span(_folder(tmp_path / "frames", 4), tmp_path / "frames", None, None)
    assert (span.first, span.stop, span.label) == (0, 4, "the whole clip")


def test_an_end_past_the_clip_reads_to_its_end_with_a_note(tmp_path):
    clip = tmp_path / "cfr.mp4"
    _video(clip, np.full(30, 9000))
    for end in ("40f", "9"):
        span = _span(clip, "25f", end)
        assert (span.first, span.stop) == (25, 30)
        assert span.note.startswith(f"end={'40f' if end == '40f' else 9!s}".replace("40f", "'40f'")
                                    + " is past the end of cfr.mp4 (30 frames")
    assert _span(clip, "25f", "30f").note is None and _span(clip, "25f", "3").note is None  # the clip's own end


@pytest.mark.parametrize("value, kind, said", [
    ("-1", InvalidValue, "start must be 0 or more"), (-0.5, InvalidValue, "start must be 0 or more"),
    ("nan", InvalidValue, "start must be a finite number"), (float("inf"), InvalidValue, "start must be a finite"),
    ("2.5f", InvalidValue, "start must be seconds from the clip's first frame (2.5) or a frame number with an f"),
    ("abc", InvalidValue, "start must be seconds"), (True, InvalidType, "start must be seconds"),
])
def test_a_bound_that_is_no_time_is_refused(value, kind, said):
    with pytest.raises(kind, match=said.replace("(", r"\(").replace(")", r"\)")):
        check_bounds(value, None)


def test_start_not_before_end_is_refused_before_the_clip_is_read():
    for start, end in [("3f", "2f"), (2, "2"), ("1.5", 1)]:
        with pytest.raises(InvalidValue, match=r"must come before end"):
            check_bounds(start, end)
    assert check_bounds(2, "3")[0].value == 2.0 and check_bounds("-0", None)[0].value == 0.0


def test_a_frame_folder_takes_frame_numbers_only(tmp_path):
    clip = _folder(tmp_path / "frames", 10)
    span = _span(clip, "2f", "8f")
    assert (span.first, span.stop, span.seconds) == (2, 8, None)
    frames, picked = _read_clip(clip, None, 3, None, None, span)
    assert picked.tolist() == [2, 4, 7] and _numbers(frames) == [2, 4, 7]
    with pytest.raises(FromVideoError, match=r"start=0.5 is in seconds, and a folder of frames has no frame times; "
                                             r"give it as a frame number \(start='15f' at 30 fps\)"):
        _span(clip, 0.5, "8f")


def test_the_cameras_of_a_range_come_from_its_frames(tmp_path):
    clip = _folder(tmp_path / "frames", 12)  # a still camera: no SfM needed
    cams = recover_clip_cameras(clip, source="sfm", focal=1.0, mask=False, num_threads=1, start="3f", end="9f",
                                max_frames=4)
    assert cams.report["clip_frame_indices"] == [3, 5, 6, 8] and cams.num_clip_frames == 4
    assert cams.report["clip_range"] == {"range": "frame 3 - frame 9", "frames": [3, 9], "seconds": None}


def test_from_video_takes_start_and_end_on_the_command_line(tmp_path):
    clip = tmp_path / "still.mp4"
    _video(clip, np.full(30, 9000), texture=True)
    out = tmp_path / "path.json"
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(clip), "-o", str(out), "-n", "4", "--start", "1",
                                   "--end", "5", "--source", "sfm", "--clip-focal", "1", "--no-mask"])
    assert res.exit_code == 0, res.output
    assert "4 cameras from 20 of 20 frames read in 1 s - 5 s of the clip's 30 (static)" in res.output  # 10-29
    assert "genxd: note: --end 5 is past the end of still.mp4 (30 frames, 3 s): the range reads to its end" \
        in res.output
    assert len(json.loads(out.read_text())) > 0
    for args, said in [(["--start", "-1"], "--start must be 0 or more"),
                       (["--start", "2", "--end", "1"], "--start 2 must come before --end 1"),
                       (["--start", "29f"], "the range from frame 29 holds 1 frame (frame 29)")]:
        res = CliRunner().invoke(app, ["trajectory", "from-video", str(clip), "-o", str(tmp_path / "x.json"), *args])
        assert res.exit_code == 2 and "genxd: error: " in res.output and said in res.output, res.output
        assert not (tmp_path / "x.json").exists()


def test_a_range_of_cameras_from_a_camera_file_is_refused(tmp_path):
    from genxd.cameras import save_transforms_json, trajectories

    c2w, K = trajectories.spiral(num_frames=6)
    save_transforms_json(tmp_path / "transforms.json", c2w, K, 32, 32)
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(tmp_path), "-o", str(tmp_path / "p.json"),
                                   "--start", "1f"])
    assert res.exit_code == 2, res.output
    assert (f"--start 1f cuts the frames of a video or frame folder, and its cameras come from the camera file "
            f"transforms.json, which is not cut; take them from SfM on the range's frames instead (--source sfm)"
            in res.output.replace("\n", " ")), res.output


def test_generate_takes_a_part_of_its_camera_video(tmp_path, monkeypatch):
    """``genxd generate --camera-from-video`` goes through the same recovery: ``--camera-start / --camera-end`` are
    its range (refused in one line before the model loads)."""
    import genxd.api

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(genxd.api, "load_model", no_model)
    clip = _folder(tmp_path / "frames", 12)
    image = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"
    tiny = ["-o", str(tmp_path / "o"), "--frames", "4", "--steps", "1", "--quiet"]
    for args, said in [(["--camera-from-video", str(clip), "--camera-start", "2f", "--camera-end", "4f"],
                        "the range frame 2 - frame 4 holds 2 frames (frames 2-3); a camera path needs at least 3"),
                       (["--camera-from-video", str(clip), "--camera-start", "0.5"],
                        "--camera-start 0.5 is in seconds, and a folder of frames has no frame times"),
                       (["--camera-from-video", str(clip), "--camera-end", "-2"], "--camera-end must be 0 or more"),
                       (["--camera-start", "2f"], "--camera-start applies to --camera-from-video only")]:
        res = CliRunner().invoke(app, ["generate", str(image), *args, *tiny])
        assert res.exit_code == 2 and said in res.output.replace("\n", " "), res.output
    with pytest.raises(InvalidValue, match=r"camera_end applies to camera_from_video only"):
        genxd.api.generate(image, tmp_path / "o2", camera_end="3f")


def test_a_stride_that_stops_before_the_range_ends_is_said_of_the_range():
    from genxd.cameras.clip_frames import _pick_in, stride_cut
    from genxd.cameras.clip_range import FrameSpan

    span = FrameSpan(10, 40, None, "frame 10 - frame 40")
    assert stride_cut(None, 2, 4, _pick_in(10, 40, 2, 4), span) == (
        "stride=2 with max_frames=4 reads frames 10-16 of the range's 10-39 (frame 10 - frame 40): the path follows "
        "the first 23 % of it (raise max_frames, or leave out stride to spread the frames over the whole range)")
    assert stride_cut(None, 8, 4, _pick_in(10, 40, 8, 4), span) is None  # 10, 18, 26, 34: to the range's end


def test_too_few_frames_because_of_the_stride_says_so(tmp_path):
    """``trajectory from-video CLIP --start 0f --end 3f --stride 2`` ended with 'too few frames (2)', not saying that
    the range holds 3 and the stride read 2 of them; the same for a whole clip (10 frames, ``--stride 5``). Said in
    the caller's words (``--stride`` / ``stride=``), with the largest stride that reads 3 frames."""
    clip = _folder(tmp_path / "frames", 10)
    for args, said in [
        (["--start", "0f", "--end", "3f", "--stride", "2"],
         f"{clip}: too few frames (2): --stride 2 reads frames 0 and 2 of the 3 in the range frame 0 - frame 3 (frames "
         "0-2); a camera path needs at least 3: leave out --stride, or give a longer range"),
        (["--stride", "5"],
         f"{clip}: too few frames (2): --stride 5 reads frames 0 and 5 of the clip's 10; a camera path needs at least "
         "3: a --stride of at most 4"),
        (["--start", "2f", "--stride", "4"],
         f"{clip}: too few frames (2): --stride 4 reads frames 2 and 6 of the 8 in the range from frame 2 (frames "
         "2-9); a camera path needs at least 3: a --stride of at most 3, or give a longer range"),
    ]:
        res = CliRunner().invoke(app, ["trajectory", "from-video", str(clip), "-o", str(tmp_path / "p.json"), *args])
        assert res.exit_code == 2, res.output
        assert f"genxd: error: {said}" in res.output.replace("\n", " "), res.output
    with pytest.raises(FromVideoError, match=r": stride=5 reads frames 0 and 5 of the clip's 10; a camera path needs "
                                             r"at least 3: a stride of at most 4$"):
        recover_clip_cameras(clip, source="sfm", stride=5)
    few = _folder(tmp_path / "two", 2)  # too few whatever the stride: as before
    with pytest.raises(FromVideoError, match=r": too few frames \(1\); a camera path needs at least 3$"):
        recover_clip_cameras(few, source="sfm", stride=2)


def test_a_range_of_a_camera_file_under_generate_is_advised_in_the_callers_words(tmp_path, monkeypatch):
    """``genxd.generate(..., camera_from_video=FOLDER, camera_start='1f')`` on a folder whose cameras come from a
    camera file advised the command line ('genxd trajectory from-video --source sfm --start / --end, then camera= its
    file') to a Python caller. Now each caller gets its own: the command with the range given, or the function."""
    import genxd.api
    from genxd.cameras import save_transforms_json, trajectories

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(genxd.api, "load_model", no_model)
    c2w, K = trajectories.spiral(num_frames=6)
    save_transforms_json(tmp_path / "transforms.json", c2w, K, 32, 32)
    image = Path(__file__).resolve().parents[2] / "examples" / "scene_a.png"
    with pytest.raises(FromVideoError) as caught:
        genxd.api.generate(image, tmp_path / "o", camera_from_video=tmp_path, camera_start="1f", camera_end=2)
    assert str(caught.value).endswith(
        "take them from SfM on the range's frames instead (genxd.cameras.from_video.write_video_path("
        f"{tmp_path.name!r}, 'path.json', NUM_FRAMES, source='sfm', start='1f', end=2), then camera='path.json')")
    assert "--" not in str(caught.value)
    res = CliRunner().invoke(app, ["generate", str(image), "-o", str(tmp_path / "o"), "--camera-from-video",
                                   str(tmp_path), "--camera-start", "1f"])
    assert res.exit_code == 2, res.output
    assert (f"take them from SfM on the range's frames instead (genxd trajectory from-video {tmp_path.name} -o "
            "path.json --source sfm --start 1f, then --camera path.json)") in " ".join(res.output.split()), res.output
