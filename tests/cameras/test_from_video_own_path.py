"""A camera path that ``genxd trajectory from-video`` wrote beside its video (``from-video walk.mp4 -o walk.json``,
the docs' example, writes ``walk.json`` and ``walk_transforms.json``, the names of a video's own camera files) is
not taken for the video's cameras by ``--source auto``, whatever its number of cameras. Before, a path of as many
cameras as the clip has frames (``-n 16`` on a 16-frame clip) was: the next path was made from the resampled,
rescaled path instead of by SfM (path length 1.13 instead of 1.94 on a 16-frame synthetic orbit, 'scale path'
instead of 'scale scene')."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genxd.cameras import clip_cameras, save_camera_json, trajectories
from genxd.cameras.from_video import recover_clip_cameras, write_video_path


class SfmRan(Exception):
    pass


def _video(path: Path, n: int) -> Path:
    import av

    frames = np.random.default_rng(0).integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("name", ["v.json", "v_transforms.json"])
def test_a_path_written_beside_its_video_is_not_its_cameras(tmp_path: Path, monkeypatch, name: str):
    video = _video(tmp_path / "v.mp4", 16)
    cams = tmp_path / "elsewhere" / "cams.json"
    cams.parent.mkdir()
    c2w, K = trajectories.orbit(num_frames=10)
    save_camera_json(cams, c2w, K, 64, 64)
    written = write_video_path(cams, tmp_path / "v.json", 16)  # 16 cameras: one per frame of v.mp4
    for f in written["files"]:
        if Path(f).name != name and Path(f).suffix == ".json":
            Path(f).unlink()  # the other one of the pair: each is recognised on its own

    def sfm(*args, **kwargs):
        raise SfmRan

    monkeypatch.setattr(clip_cameras, "_cameras_from_sfm", sfm)
    with pytest.warns(UserWarning, match=rf"^{name} beside the video is not its own cameras \(a camera path made "
                                         r"from a clip by genxd trajectory from-video\)"):
        with pytest.raises(SfmRan):
            recover_clip_cameras(video)
    taken = recover_clip_cameras(video, source="file")  # still taken when asked for
    assert taken.method.startswith("file") and len(taken.frame_indices) == 16
