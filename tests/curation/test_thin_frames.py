"""Frames with a side under 16 px (a 96x2 clip, a wide clip scaled down): the flow masks take them; the video fails
as one SfM cannot place, not as an OpenCV error (1-7 px) or a crash of the process (8-15 px high, 40 px or more
wide: a segmentation fault inside OpenCV's DIS flow)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

SIZES = [(1, 96), (2, 96), (8, 96), (10, 128), (15, 40), (12, 256), (96, 2), (5, 5)]


def test_dis_flow_takes_frames_with_a_side_under_16_px():
    # in a child process: before, some of these sizes ended the process (SIGSEGV)
    code = textwrap.dedent(f"""
        import numpy as np, cv2
        from genxd.curation.masks import dis_flow
        rng = np.random.default_rng(0)
        big = cv2.GaussianBlur(rng.integers(0, 255, (300, 300), dtype=np.uint8), (5, 5), 1.5)
        for h, w in {SIZES!r}:
            a, b = big[20:20 + h, 10:10 + w], big[20:20 + h, 8:8 + w]  # b is a moved 2 px left: flow +2 in x
            flow = dis_flow(a, b)
            assert flow.shape == (h, w, 2) and flow.dtype == np.float32, (h, w, flow.shape)
            if h >= 8 and w >= 40:
                assert abs(float(np.median(flow[..., 0])) - 2.0) < 0.5, (h, w, np.median(flow[..., 0]))
            print("ok", h, w)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout[-500:], done.stderr[-1500:])
    assert done.stdout.count("ok") == len(SIZES)


def test_an_eight_pixel_high_clip_fails_at_sfm_not_inside(tmp_path):
    """8 px high (the band that crashed the process; was 2 px high, which is now refused before the masks, at stage
    frames: tests/curation/test_frames_too_small.py)."""
    pytest.importorskip("pycolmap")
    import av

    from genxd.curation import CurationConfig, curate_video

    path = tmp_path / "thin.mkv"
    rng = np.random.default_rng(1)
    scene = rng.integers(0, 255, (8, 200, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=8)
        stream.width, stream.height, stream.pix_fmt = 96, 8, "bgr0"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(scene[:, 2 * i:2 * i + 96]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    record = curate_video(path, tmp_path / "out", CurationConfig(num_threads=1))
    assert record["status"] == "failed"
    assert record["stage"] == "sfm", record  # was "internal": OpenCV's "width or height >= 12" from the masks
