"""mp4 writing and reading: imageio-ffmpeg when installed, OpenCV's writer otherwise; atomic either way."""

from __future__ import annotations

import numpy as np
import pytest

from genxd.utils import video


def _frames() -> np.ndarray:
    t = np.linspace(0, 1, 6)[:, None, None, None]
    x = np.linspace(0, 1, 32)[None, None, :, None]
    return (np.clip(0.2 + 0.6 * np.sin(3 * x + 2 * t) ** 2 + np.zeros((6, 24, 32, 3)), 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("backend", ["imageio", "opencv"])
def test_write_then_read_roundtrip(tmp_path, monkeypatch, backend):
    if backend == "opencv":
        pytest.importorskip("cv2")
        monkeypatch.setattr(video, "_has_imageio_ffmpeg", lambda: False)
    elif not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    frames = _frames()
    path = video.write_mp4(tmp_path / "clip.mp4", frames, fps=4)
    back = video.read_mp4(path)
    assert back.shape == frames.shape
    assert np.abs(back.astype(float) - frames).mean() < 6  # lossy codecs, smooth content
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary left behind


def test_an_mp4_has_its_index_first_and_its_colour_matrix_tagged(tmp_path):
    """``moov`` after ``mdat`` made a browser fetch the whole file before playing it over plain HTTP, and players
    that assume BT.709 for untagged HD video shifted the colours of ffmpeg's BT.601 conversion (found by the
    output interop audit, 2026-12-04)."""
    av = pytest.importorskip("av")
    if not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    path = video.write_mp4(tmp_path / "clip.mp4", _frames(), fps=4)
    data = path.read_bytes()
    assert -1 < data.find(b"moov") < data.find(b"mdat"), (data.find(b"moov"), data.find(b"mdat"))
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    assert (int(frame.colorspace), int(frame.color_range)) == (6, 1)  # SMPTE 170M (BT.601), limited ("tv") range


def test_bad_frames_are_refused(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        video.write_mp4(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3), np.float32))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("backend", ["imageio", "opencv"])
def test_a_cut_short_video_is_refused_and_nothing_is_left(tmp_path, monkeypatch, backend):
    """Neither writer reports ffmpeg's failure (a disk filled up mid-write: found on a 40 kB tmpfs, where
    ``genxd synth --format video`` and ``genxd generate`` renamed a truncated mp4 into place): every written
    file is checked box by box, and a cut-short one raises (ENOSPC when the disk is full) with nothing left."""
    import errno
    import os
    from types import SimpleNamespace

    if backend == "opencv":
        pytest.importorskip("cv2")
        monkeypatch.setattr(video, "_has_imageio_ffmpeg", lambda: False)
    elif not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    whole = video.write_mp4(tmp_path / "whole.mp4", _frames(), fps=4)
    video.check_mp4_complete(whole)  # a whole file passes
    data = whole.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 40):
        part = tmp_path / "part.mp4"
        part.write_bytes(data[:cut])
        with pytest.raises(OSError) as err:
            video.check_mp4_complete(part, "x.mp4")
        assert err.value.errno == errno.EIO and "x.mp4" in str(err.value)
    part.write_bytes(b"not a video at all")
    with pytest.raises(OSError):
        video.check_mp4_complete(part)
    part.unlink()

    # the writer's output cut short as a full disk does, then the disk reported full
    real_check = video.check_mp4_complete

    def truncate_then_check(path, name=None):
        with open(path, "r+b") as f:
            f.truncate(f.seek(0, 2) // 2)
        return real_check(path, name)

    monkeypatch.setattr(video, "check_mp4_complete", truncate_then_check)
    full = SimpleNamespace(f_bavail=0, f_bfree=0, f_frsize=4096, f_blocks=1 << 18)
    monkeypatch.setattr(os, "statvfs", lambda path: full)
    with pytest.raises(OSError) as err:
        video.write_mp4(tmp_path / "clip.mp4", _frames(), fps=4)
    assert err.value.errno == errno.ENOSPC and "clip.mp4" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whole.mp4"]


_FAILING_FFMPEG = '''#!{python}
"""Stands in for ffmpeg on a disk that fills up mid-write, as the real one behaves there (seen on a 60 kB tmpfs):
it reads the frames, leaves a cut-short file and prints its error lines when its -loglevel lets errors through."""
import sys
args = sys.argv[1:]
level = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-v", "-loglevel")), "info")
sys.stdin.buffer.read()
with open(args[-1], "wb") as f:
    f.write(b"\\x00\\x00\\x00\\x20ftypisom")
if level not in ("quiet", "panic", "fatal", "-8", "0", "8"):
    for line in ("Error submitting a packet to the muxer: No space left on device", "Error writing trailer: No space "
                 "left on device", "Error closing file: No space left on device"):
        print(f"[out#0/mp4 @ 0x5] {{line}}", file=sys.stderr)
sys.exit(228)
'''


def _write_with(writer: str, path):
    import torch

    frames = _frames()
    if writer == "write_mp4":
        return video.write_mp4(path, frames, fps=4)
    rgb = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    if writer == "synthetic":
        from genxd.data.synthetic.writers import write_video
        return write_video(path, rgb, fps=4)
    from genxd.reconstruction.pipeline import write_video  # reconstruct's fly-through
    return write_video(path, rgb, fps=4)


@pytest.mark.parametrize("writer", ["write_mp4", "synthetic", "reconstruct"])
def test_ffmpegs_own_error_lines_do_not_reach_the_terminal(tmp_path, monkeypatch, capfd, writer):
    """A video write that fails is one genxd error and leaves no file; ffmpeg's own lines (it writes them straight
    to the terminal, not through Python) printed before it: six of them on a full disk (a 60 kB tmpfs), and the
    message said "see its messages above". Reconstruct's fly-through writer did not check the file at all (a
    cut-short video landed in the output folder)."""
    import sys

    if not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    fake = tmp_path / "ffmpeg"
    fake.write_text(_FAILING_FFMPEG.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    (tmp_path / "out").mkdir()
    with pytest.raises(OSError) as err:
        _write_with(writer, tmp_path / "out" / "clip.mp4")
    assert "clip.mp4" in str(err.value) and "above" not in str(err.value), err.value
    captured = capfd.readouterr()
    assert "Error" not in captured.err and "Error" not in captured.out, captured
    assert list((tmp_path / "out").iterdir()) == []


ODD_FOLDERS = {"not-utf8": b"clips\xff", "accented": "caf\u00e9 \u4e2d".encode(), "quotes": b"-a b'\"$x"}


@pytest.mark.parametrize("folder", sorted(ODD_FOLDERS))
@pytest.mark.parametrize("backend", ["imageio", "opencv"])
def test_videos_round_trip_under_odd_folder_names(tmp_path, backend, folder):
    """OpenCV's writer and reader (the fallback without imageio-ffmpeg) crashed the process (SIGSEGV) on a path
    that is not UTF-8; a subprocess, so that a crash is a failure here, not the end of the test run."""
    if backend == "imageio" and not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        "import os, sys, numpy as np; from genxd.utils import video\n"
        "folder = os.path.join(sys.argv[1], os.fsdecode(bytes.fromhex(sys.argv[2]))); os.mkdir(folder)\n"
        "if sys.argv[3] == 'opencv': video._has_imageio_ffmpeg = lambda: False\n"
        "frames = np.random.default_rng(0).integers(0, 255, (5, 32, 48, 3), dtype=np.uint8)\n"
        "path = video.write_mp4(os.path.join(folder, 'v.mp4'), frames)\n"
        "got = video.read_mp4(path)\n"
        "assert got.shape == frames.shape and np.abs(got.astype(int) - frames).mean() < 60, got.shape\n"
        "assert sorted(os.listdir(folder)) == ['v.mp4'], os.listdir(folder)\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), ODD_FOLDERS[folder].hex(), backend],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(root / "src")})
    assert done.returncode == 0 and done.stdout == "ok\n", (done.returncode, done.stderr[-2000:])


@pytest.mark.parametrize("backend", ["imageio", "opencv"])
def test_a_video_streamed_in_runs_is_the_video_written_at_once(tmp_path, monkeypatch, backend):
    """Mp4Stream (a long path's videos, written as the frames are decoded) gives write_mp4's file byte for byte;
    an error in its block, or no frame, leaves nothing."""
    if backend == "opencv":
        pytest.importorskip("cv2")
        monkeypatch.setattr(video, "_has_imageio_ffmpeg", lambda: False)
    elif not video._has_imageio_ffmpeg():
        pytest.skip("imageio-ffmpeg not installed")
    frames = _frames()[:, :23]  # an odd height: padded run by run as the whole
    whole = video.write_mp4(tmp_path / "whole.mp4", frames, fps=4).read_bytes()
    with video.Mp4Stream(tmp_path / "runs.mp4", fps=4) as stream:
        for run in (frames[:1], frames[1:4], frames[4:]):
            stream.append(run)
    assert (tmp_path / "runs.mp4").read_bytes() == whole
    with pytest.raises(RuntimeError, match="stopped"):
        with video.Mp4Stream(tmp_path / "stopped.mp4", fps=4) as stream:
            stream.append(frames[:2])
            raise RuntimeError("stopped")
    with pytest.raises(ValueError, match="no frames"):
        with video.Mp4Stream(tmp_path / "empty.mp4", fps=4):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.mp4", "whole.mp4"]


@pytest.mark.parametrize("frames, fps", [(2, 1.0), (8, 4.0), (12, 6.0), (13, 6.5), (60, 30.0), (64, 30.0),
                                         (10_000, 30.0)])
def test_the_default_frame_rate_is_half_the_frames_from_1_to_30(frames, fps):
    """frames / 2 as the authors' num_frames // 2 for a window; a long path of 10,000 frames made a 5,000 fps video
    (beyond players and beyond --fps's own limit of 1,000): now 30."""
    from genxd.utils.video import default_fps

    assert default_fps(frames) == fps


def test_every_writer_of_scenes_takes_the_default_frame_rate():
    """generate (api), fewshot and the demo each computed frames / 2 themselves; they now share default_fps."""
    import inspect

    import genxd.api
    import genxd.demo.jobs
    import genxd.fewshot_jobs

    for module in (genxd.api, genxd.demo.jobs, genxd.fewshot_jobs):
        source = inspect.getsource(module)
        assert "default_fps(num_frames)" in source and "num_frames / 2" not in source, module.__name__
