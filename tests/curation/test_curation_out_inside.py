"""``genxd curate videos -o videos/curated``: the dataset written inside the searched folder is not read back as
input (its ``VIDEO_ID/images`` folders are frame folders), and an input folder inside the output is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genxd.curation import CurationConfig, curate_dataset

pytest.importorskip("pycolmap")


def _noise_frames(folder: Path, count: int = 8) -> None:
    """A curated video's ``images/`` folder as far as discovery goes (noise: SfM would fail quickly on it)."""
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(count):
        image = np.random.default_rng(i).uniform(0, 255, (32, 32, 3)).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:05d}.jpg")


def test_a_dataset_inside_the_searched_folder_is_not_taken_as_input(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "clip.mp4").write_bytes(b"not a video")  # fails at stage read, quickly
    out = videos / "curated"
    _noise_frames(out / "earlier" / "images")  # what an earlier run left there
    summary = curate_dataset(videos, out, CurationConfig(num_threads=1), progress=False)
    assert [r["video_id"] for r in summary.records] == ["clip"]  # was also 'curated__earlier__images'
    assert summary.total == 1


def test_an_input_folder_inside_the_output_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    out = tmp_path / "curated"
    _noise_frames(out / "earlier" / "images")
    for inputs in (out, out / "earlier", out / "earlier" / "images"):
        with pytest.raises(ValueError, match="inside the output folder") as exc:
            curate_dataset(inputs, out, CurationConfig(num_threads=1), progress=False)
        assert str(exc.value).endswith("give an out_dir folder outside the inputs")  # was --out, to Python too
    assert sorted(p.name for p in out.iterdir()) == ["earlier"]  # no index, no lock
    # the command's words, in this process (typer's runner, through genxd's entry point: a child process was a fresh
    # interpreter importing genxd for the same lines)
    from typer.testing import CliRunner

    from genxd.cli import app

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["curate", "curated", "-o", "curated", "-q"], catch_exceptions=False)
    assert res.exit_code == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        "genxd: error: input curated is inside the output folder curated: its frame folders are curated outputs; "
        "give an --out folder outside the inputs"]


def test_curated_videos_of_another_dataset_below_the_inputs_are_passed_over_with_a_warning(tmp_path):
    """``genxd curate data --out data/v2`` over ``data/raw`` and an earlier dataset ``data/curated``: each curated
    video's ``images/`` folder (beside its ``meta.json`` and COLMAP model ``0/``) was taken as a new video of frames,
    ``curated__clip__images``, and curated again beside the video it came from."""
    import warnings

    from genxd.curation.frames import discover_videos

    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "clip.mp4").write_bytes(b"only the name is read")
    for sample in ("clip", "other"):
        _noise_frames(data / "curated" / sample / "images")
        (data / "curated" / sample / "0").mkdir()
        (data / "curated" / sample / "0" / "cameras.bin").write_bytes(b"x")
        (data / "curated" / sample / "meta.json").write_text("{}")
    (data / "curated" / "index.jsonl").write_text("")
    _noise_frames(data / "frames_only" / "images")  # a frames folder named images, of no curated video: read
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        found = discover_videos(data, skip=data / "v2")
    assert [s.video_id for s in found] == ["frames_only__images", "raw__clip"]  # was also curated__clip__images ...
    messages = [str(w.message) for w in said]
    assert any(m.startswith(f"{data}: passed over 2 curated videos (genxd curate's output: meta.json beside images/ "
                            "and 0/): curated/clip, curated/other") for m in messages), messages
