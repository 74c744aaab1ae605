"""CamVidDataset picks the clips of a variable-frame-rate 4D video evenly in time, by the frame times genxd curate
records in meta.json (genxd.data.datasets.frame_times); videos of a constant rate or without times are taken frame by
frame as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from genxd.cameras import read_colmap_model, write_colmap_model
from genxd.data.datasets import CamVidDataset
from genxd.data.datasets.frame_times import (UNEVEN_CLIP_TOLERANCE, fits, frame_interval, nearest_frames,
                                             registered_frames, timed_clips)
from genxd.data.synthetic import make_clip
from genxd.data.synthetic.clips import write_clip
from genxd.validation import GenXDWarning

#: a phone's clip: 12 frames at 30 fps, then 6 at 10 fps (times in ms, as meta.json's)
PHONE = [round(k / 30, 3) for k in range(12)] + [round(11 / 30 + 0.1 * k, 3) for k in range(1, 7)]
#: 11 frames at 30 fps, then 7 at 60 fps
FASTER = [round(k / 30, 3) for k in range(11)] + [round(10 / 30 + k / 60, 3) for k in range(1, 8)]


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """One 4D CamVid video folder of 18 frames of 24 x 32 (synth's meta.json)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clip = make_clip(5, "4d", len(PHONE), 24, 32, camera="orbit")
    finally:
        torch.set_num_threads(threads)
    root = tmp_path_factory.mktemp("camvid")
    write_clip(clip, root, "v", "camvid")
    return root / "v"


def _timed(video: Path, root: Path, name: str, times: list | None) -> Path:
    """A copy of ``video`` as ``root/name`` whose meta.json gives its frames ``times`` as genxd curate writes them
    (None: frames without ``time``, as curations before 6e2b619)."""
    folder = root / name
    shutil.copytree(video, folder)
    meta = json.loads((folder / "meta.json").read_text())
    names = sorted(p.name for p in (folder / "images").iterdir())
    meta["frames"] = [{"name": f, "source_index": i, "registered": True} for i, f in enumerate(names)]
    for i, frame in enumerate(meta["frames"] if times is not None else []):
        frame["time"] = times[i]
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def _unregister(folder: Path, frame: int | set[int], record: bool | None) -> None:
    """Take ``frame``'s pose (or those of a set of frames) out of ``folder``'s COLMAP model, as a frame SfM did not
    place; ``record``: meta.json's frames say so (``registered: false``, as genxd curate writes it), False: they give
    no ``registered`` at all, None: they still say it is registered (a model made again)."""
    frames = {frame} if isinstance(frame, int) else frame
    model = read_colmap_model(folder / "0")
    keep = [i for i, n in enumerate(model.image_names) if n not in {f"{f:05d}.jpg" for f in frames}]
    write_colmap_model(folder / "0", model.c2w[keep], model.K[keep], [model.heights[i] for i in keep],
                       [model.widths[i] for i in keep], [model.image_names[i] for i in keep],
                       points_xyz=model.points_xyz)
    meta = json.loads((folder / "meta.json").read_text())
    for i, f in enumerate(meta["frames"]):
        if record:
            f["registered"] = i not in frames
        elif record is False:
            del f["registered"]
    (folder / "meta.json").write_text(json.dumps(meta))


def _messages(recwarn) -> list[str]:
    return [str(w.message) for w in recwarn if issubclass(w.category, GenXDWarning)]


def _clips_of(ds: CamVidDataset, name: str) -> list[list[int]]:
    s = ds.scene_names().index(name)
    return [p for c, p in ds.clips if c == s]


def test_clips_of_a_variable_frame_rate_video_are_even_in_time(video, tmp_path, recwarn):
    """30 fps, then 60 fps: clips were taken frame by frame (frames 8-11 at 0.267, 0.3, 0.333, 0.35 s; an object
    moved at half its pace for the last step, under one motion strength). Now each frame is the one nearest an even
    step of the video's frame interval (1/30 s), within a quarter of a step, with the video's motion strength."""
    _timed(video, tmp_path, "phone", FASTER)
    _timed(video, tmp_path, "untimed", None)
    for stride in (1, 2):
        ds = CamVidDataset(tmp_path, num_frames=4, height=24, stride=stride, clip_spacing=1)
        clips = _clips_of(ds, "phone")
        assert len(clips) >= 8 and clips[-1][-1] >= len(FASTER) - 2  # starting every 1/30 s, to the end
        step = stride / 30
        for positions in clips:
            times = [FASTER[p] for p in positions]
            for k, t in enumerate(times):
                assert abs(t - (times[0] + step * k)) <= UNEVEN_CLIP_TOLERANCE * step, (positions, times)
        assert ([8, 9, 10, 12] if stride == 1 else [6, 8, 10, 14]) in clips  # 0.367 and 0.4 s: at 60 fps
    assert not [m for m in _messages(recwarn) if "time" in m], _messages(recwarn)
    first_phone = next(i for i, (s, _) in enumerate(ds.clips) if ds.scene_names()[s] == "phone")
    first_old = next(i for i, (s, _) in enumerate(ds.clips) if ds.scene_names()[s] == "untimed")
    assert float(ds[first_old]["motion_strength"]) > 0
    late = next(i for i, (s, p) in enumerate(ds.clips) if ds.scene_names()[s] == "phone" and p[-1] >= 12)
    assert ds[late]["name"] == f"phone:{ds.clips[late][1][0]}"
    for i in (first_phone, late):  # per step of 2 frame intervals, as the untimed video's clips of stride 2
        assert float(ds[i]["motion_strength"]) == pytest.approx(float(ds[first_old]["motion_strength"]))


def test_constant_rate_and_untimed_videos_are_taken_frame_by_frame(video, tmp_path):
    """A constant rate (times in ms: 0.033, 0.067, ...), no times, or times that do not increase give the clips taken
    frame by frame, and the same samples."""
    _timed(video, tmp_path, "a_steady", [round(k / 30, 3) for k in range(len(PHONE))])
    _timed(video, tmp_path, "b_untimed", None)
    _timed(video, tmp_path, "c_unordered", PHONE[:5] + [PHONE[3]] + PHONE[6:])
    for strides, spacing in (([1], None), ([1, 2], 3), ([3], 1)):
        ds = CamVidDataset(tmp_path, num_frames=4, height=24, stride=strides, clip_spacing=spacing)
        assert _clips_of(ds, "a_steady") == _clips_of(ds, "b_untimed") == _clips_of(ds, "c_unordered")
        n = len(ds) // 3
        for i in (0, n - 1):
            a, b = ds[i], ds[i + n]
            assert torch.equal(a["frames"], b["frames"]) and a["motion_strength"] == b["motion_strength"]


def test_clips_whose_frames_repeat_are_dropped_and_counted_in_one_note(video, tmp_path, recwarn):
    """Steps of 1/30 s over a part at 10 fps can only repeat frames (frames [9, 10, 11, 11]: objects stop, then jump):
    such clips were trained. They are dropped now, the one note counting them per video with the lowest rate to
    convert to; the clips that fit are kept; 3D training says nothing (frame by frame)."""
    _timed(video, tmp_path, "phone", PHONE)
    _timed(video, tmp_path, "untimed", None)
    ds = CamVidDataset(tmp_path, num_frames=4, height=24, clip_spacing=1)
    assert _clips_of(ds, "phone") == [[k, k + 1, k + 2, k + 3] for k in range(9)]  # the 30 fps part
    assert len(_clips_of(ds, "untimed")) == len(PHONE) - 3
    messages = [m for m in _messages(recwarn) if "in time" in m]
    assert len(messages) == 1, _messages(recwarn)
    assert "1 of 2 videos train as 4D with clips picked evenly in time" in messages[0]
    assert "8 clips of phone dropped (9 left; e.g. frames [9, 10, 11, 11] for steps of 0.0334 s from 0.3 s, one " \
        "0.0331 s off): its frames are too far apart for the clip's time step" in messages[0]
    assert "-vf fps=10 " in messages[0] and "kind: 3d" in messages[0]
    recwarn.clear()
    ds3 = CamVidDataset(tmp_path, num_frames=4, height=24, clip_spacing=1, kind="3d")
    assert not _messages(recwarn)
    assert _clips_of(ds3, "phone") == _clips_of(ds3, "untimed")


def test_a_video_left_without_clips_by_time_is_named(video, tmp_path, recwarn):
    """5 frames at 30 fps, then 13 at 10 fps: frame by frame gave one (uneven) clip of 18 frames; picked in time (the
    step is 0.1 s, the interval most frames have) the video spans 1.43 s, less than the clip's 1.7 s, and gave none
    in silence, counted as a video with too few frames. The note names it and why."""
    short = [round(k / 30, 3) for k in range(5)] + [round(4 / 30 + 0.1 * k, 3) for k in range(1, 14)]
    _timed(video, tmp_path, "short", short)
    _timed(video, tmp_path, "untimed", None)
    ds = CamVidDataset(tmp_path, num_frames=len(short), height=24)
    assert _clips_of(ds, "short") == [] and len(_clips_of(ds, "untimed")) == 1
    assert ds.num_skipped_scenes == 0  # it has enough frames
    messages = [m for m in _messages(recwarn) if "in time" in m]
    assert len(messages) == 1, _messages(recwarn)
    assert "1 of 2 videos train as 4D" in messages[0]
    assert "short gives no clip: its frames span 1.43 s, less than one clip of 18 frames at steps of 0.1 s (1.7 s" \
        in messages[0]
    assert timed_clips(short, len(short), 1, None) == ([], [])
    # converting its frame rate makes it no longer: the note says to train shorter clips, not to run ffmpeg
    assert "fps=" not in messages[0] and "fewer frames per clip (num_frames) or a smaller stride" in messages[0]
    assert "kind: 3d" in messages[0]


def test_the_frame_rate_advised_is_the_usual_slow_one_of_all_dropped_videos(video, tmp_path, recwarn):
    """A 10 fps stretch and one timestamp hiccup of 0.5 s in the first video named: the note advised its largest
    interval (fps=2, a fifth of the frames thrown away for one hiccup). It advises the usual slow interval over all the
    videos that lost clips (0.1 s: fps=10)."""
    _timed(video, tmp_path, "a_hiccup", PHONE[:-1] + [PHONE[-2] + 0.5])
    _timed(video, tmp_path, "b_phone", PHONE)
    CamVidDataset(tmp_path, num_frames=4, height=24, clip_spacing=1)
    messages = [m for m in _messages(recwarn) if "in time" in m]
    assert len(messages) == 1 and "clips of a_hiccup dropped" in messages[0], _messages(recwarn)
    assert "0.1 s apart: ffmpeg -i IN -vf fps=10 OUT.mp4" in messages[0], messages[0]
    assert "num_frames" not in messages[0]  # no video is too short


@pytest.mark.parametrize("record", [True, False], ids=["meta_registered", "colmap_model"])
def test_clips_picked_in_time_take_only_frames_with_a_pose(video, tmp_path, recwarn, record):
    """Frame 9 without a pose: the clips were picked among all frames and kept ([6, 7, 8, 9], [9, 10, 12, 14]), then
    read from the frame with a pose nearest each time: [6, 7, 8, 8] (a frame repeated) and [8, 10, 12, 14] (a whole
    step off). They are picked among the frames with a pose now (meta.json's registered, else the COLMAP model's), so
    every clip read fits its times, and those that cannot are dropped and counted."""
    folder = _timed(video, tmp_path, "phone", FASTER)
    _unregister(folder, 9, record)
    ds = CamVidDataset(tmp_path, num_frames=4, height=24, stride=1, clip_spacing=1)
    read: list[list[int]] = []
    original = ds._read_views
    ds._read_views = lambda s, p: (read.append(list(p)), original(s, p))[1]  # type: ignore[method-assign]
    for i in range(len(ds)):
        ds[i]
    step = 1 / 30
    assert len(read) == len(ds)
    for (_, positions), r in zip(ds.clips, read):
        assert r == positions and len(set(r)) == len(r) and 9 not in r
        times = [FASTER[p] for p in r]
        assert max(abs(t - (times[0] + k * step)) for k, t in enumerate(times)) <= UNEVEN_CLIP_TOLERANCE * step, r
    notes = [m for m in _messages(recwarn) if "in time" in m]
    assert len(notes) == 1 and "clips of phone dropped" in notes[0], _messages(recwarn)
    n_dropped = int(notes[0].split("not trained: ")[1].split(" clip")[0])
    # starting at frames 0-5 and 10 fit; those at 6, 7, 8 would need 9 (0.3 s; 8 and 10 lie a step off): dropped
    assert [p[0] for _, p in ds.clips] == [0, 1, 2, 3, 4, 5, 10] and n_dropped == 3
    assert not [m for m in _messages(recwarn) if "no pose" in m]


def test_a_model_without_a_pose_meta_json_records_is_warned_about(video, tmp_path, recwarn):
    """meta.json says frame 9 is registered, its COLMAP model has no pose for it: its clips are read from the nearest
    frames with a pose, with one warning naming the video and the frame."""
    _unregister(_timed(video, tmp_path, "phone", FASTER), 9, None)
    ds = CamVidDataset(tmp_path, num_frames=4, height=24, stride=1, clip_spacing=1)
    for i in range(len(ds)):
        ds[i]
    notes = [m for m in _messages(recwarn) if "no pose" in m]
    assert len(notes) == 1 and notes[0].startswith("phone: ") and "00009.jpg" in notes[0], _messages(recwarn)


@pytest.mark.parametrize("record", [True, False], ids=["meta_registered", "colmap_model"])
def test_clips_lost_to_frames_without_a_pose_are_counted_apart_and_named(video, tmp_path, recwarn, record):
    """Clips dropped because a frame they need has no pose were counted with those dropped for the video's rate (one
    count, one ffmpeg advice that cannot help), and a video whose few registered frames span less than a clip was
    said to "give no clip: its frames span 0.567 s" (its whole span, enough for clips). The note counts the two
    causes apart and names the registered frames as the cause, with what to do."""
    _unregister(_timed(video, tmp_path, "a_phone", PHONE), 5, record)  # 30 fps then 10 fps; frame 5 not placed
    _unregister(_timed(video, tmp_path, "b_few", FASTER), set(range(3, len(FASTER))), record)  # 3 frames placed
    ds = CamVidDataset(tmp_path, num_frames=4, height=24, clip_spacing=1)
    kept = _clips_of(ds, "a_phone")
    assert kept == [[k, k + 1, k + 2, k + 3] for k in range(9) if not k <= 5 <= k + 3] and not _clips_of(ds, "b_few")
    (note,) = [m for m in _messages(recwarn) if "in time" in m]
    assert "2 of 2 videos train as 4D" in note, note
    # a_phone: 8 clips over its 10 fps part dropped for its rate (as without frame 5), 3 more (starting at 2-4)
    # for frame 5
    assert "8 clips of a_phone dropped (5 left; e.g. frames [9, 10, 11, 11] " in note, note
    assert "its frames are too far apart for the clip's time step; and 3 clips more for frames without a pose " \
        "(SfM registered 17 of its 18 frames; e.g. 00005.jpg)" in note, note
    assert "b_few gives no clip for frames without a pose: SfM registered 3 of its 18 frames, which span 0.067 s, " \
        "less than one clip of 4 frames at steps of 0.0333 s (0.0999 s)" in note, note
    assert "its frames span" not in note and "fps=10 " in note  # the rate advice for a_phone's 10 fps part
    assert "curate such videos again for more registered frames" in note
    # a video that lost clips to poses only is not told to convert its rate
    recwarn.clear()
    shutil.rmtree(tmp_path / "a_phone")
    _unregister(_timed(video, tmp_path, "c_fast", FASTER), 9, record)
    CamVidDataset(tmp_path, num_frames=4, height=24, clip_spacing=1)
    (note,) = [m for m in _messages(recwarn) if "in time" in m]
    assert "3 clips of c_fast dropped (7 left) for frames without a pose (SfM registered 17 of its 18 frames; e.g. " \
        "00009.jpg)" in note, note
    assert "fps=" not in note and "too far apart" not in note, note


def test_registered_frames_need_every_frame_recorded():
    """meta.json's registered frames, only where every frame has the flag; timed clips take only those."""
    meta = {"frames": [{"name": "a", "registered": True}, {"name": "b", "registered": False},
                       {"name": "c", "registered": True}]}
    assert registered_frames(meta, ["a", "b", "c"]) == [0, 2]
    assert registered_frames(meta, ["a", "b", "c", "d"]) is None
    assert registered_frames({"frames": [{"name": "a"}]}, ["a"]) is None
    kept, dropped = timed_clips([0, .1, .2, .3, .4, .5], 3, 1, 1, [0, 1, 3, 4, 5])  # frame 2 has no pose
    assert [p for p, _ in kept] == [[3, 4, 5]] and len(dropped) == 2
    assert all(2 not in p for p, _ in kept + dropped) and all(len(set(p)) < 3 for p, _ in dropped)  # repeat 1 or 3


def test_timed_clips_drop_clips_whose_frames_repeat_or_miss_their_times():
    """A 10 fps stretch in a 30 fps video at stride 1: only the clip within a quarter step of its times is kept."""
    kept, dropped = timed_clips([0, .033, .067, .1, .2, .3], 4, 1, 1)
    assert [p for p, _ in kept] == [[0, 1, 2, 3]]
    assert [p for p, _ in dropped] == [[1, 2, 3, 3], [2, 3, 3, 4], [3, 3, 4, 4], [4, 4, 5, 5]]
    kept, dropped = timed_clips([0, .1, .2, .3, .4, .45, .5], 3, 1, 1)  # 10 fps, then 20 fps: steps of 0.1 s
    assert [p for p, _ in kept] == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 6]] and not dropped


def test_frame_interval_is_the_interval_most_frames_have():
    """Half 30 fps, half 10 fps in time: three short intervals per long one, the step is 1/30 s. As many intervals
    of each: np.median's mean, 0.067 s, fit neither rate (clips of every other frame at 30 fps with the motion
    strength of one interval); the shorter one is taken."""
    by_time = [k / 30 for k in range(31)] + [1 + 0.1 * k for k in range(1, 11)]
    assert frame_interval(by_time) == pytest.approx(1 / 30)
    by_count = [k / 30 for k in range(11)] + [10 / 30 + 0.1 * k for k in range(1, 11)]
    assert frame_interval(by_count) == pytest.approx(1 / 30)
    kept, dropped = timed_clips(by_count, 4, 1, None)  # the clips taken frame by frame of the 30 fps part
    assert [p for p, _ in kept] == [[0, 1, 2, 3], [4, 5, 6, 7]] and [p for p, _ in dropped][0] == [8, 9, 10, 10]


def test_timed_clips_at_a_constant_rate_are_those_taken_frame_by_frame():
    """10 s at 30 fps in ms: the frame interval is 1/30 s (not 0.033 s, which drifts), and the clips are frame by
    frame's for any stride and spacing."""
    times = [round(k / 30, 3) for k in range(300)]
    assert frame_interval(times) == pytest.approx(1 / 30, rel=1e-3)
    for f, stride, spacing in ((8, 1, None), (14, 3, None), (8, 2, 1), (4, 1, 3)):
        span = (f - 1) * stride + 1
        expected = [[s + k * stride for k in range(f)] for s in range(0, len(times) - span + 1, spacing or span)]
        kept, dropped = timed_clips(times, f, stride, spacing)
        assert [p for p, _ in kept] == expected and not dropped


def test_nearest_frames_takes_frames_with_a_pose():
    """Each target's nearest frame among those given (with a pose), the earlier on a tie."""
    times = [0.0, 0.1, 0.2, 0.3, 0.4]
    assert nearest_frames(times, [0, 1, 2, 3, 4], [0.04, 0.15, 0.36]) == [0, 1, 4]
    assert nearest_frames(times, [0, 2, 4], [0.1, 0.29, 1.0]) == [0, 2, 4]


def test_a_clip_fits_only_when_every_frame_is_near_its_time():
    """By hand, step 0.1 s (tolerance 0.025 s): frames at 0, 0.1, 0.2, 0.3 fit targets 0-0.3; a last frame at 0.45 s
    is 0.15 s off its target 0.3 (a gap in the video) and does not, though all four frames differ; a frame used
    twice does not either."""
    times = [0.0, 0.1, 0.2, 0.3, 0.45]
    targets = [0.0, 0.1, 0.2, 0.3]
    assert fits(times, [0, 1, 2, 3], targets, 0.1)
    assert not fits(times, [0, 1, 2, 4], targets, 0.1)
    assert not fits(times, [0, 1, 2, 2], targets, 0.1)
