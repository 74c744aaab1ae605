"""``curate_dataset``'s ``inputs`` and ``out_dir`` are checked as paths before anything is read or written, as
``genxd curate`` checks its arguments: an empty string meant the current folder (``inputs=""`` curated every video
there, ``out_dir=""`` was "input in is inside the output folder ."), and ``None`` or a number was Python's unnamed
``expected str, bytes or os.PathLike object, not NoneType`` / ``'NoneType' object is not iterable``.

In-process with a stand-in for ``curate_video`` (no SfM)."""

from __future__ import annotations

import pytest

from genxd.curation import CurationConfig, curate_dataset
from genxd.curation import dataset as dataset_module

from .test_curation_settings import _stand_in


@pytest.fixture
def calls(tmp_path, monkeypatch):
    """Run in ``tmp_path``, which holds a frames folder ``clip``; the videos the stand-in curated."""
    curated: list[str] = []
    monkeypatch.setattr(dataset_module, "curate_video", _stand_in(curated))
    (tmp_path / "clip").mkdir()
    (tmp_path / "clip" / "0000.png").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return curated


@pytest.mark.parametrize(("inputs", "out_dir", "error", "message"), [
    ("", "out", ValueError, r"^inputs is empty \(''\): pass a video file or folder path$"),
    (["clip", " "], "out", ValueError, r"^inputs is empty \(' '\): pass a video file or folder path$"),
    (None, "out", TypeError, r"^inputs must be a video file or folder path, or a list of them, got None \(NoneType\)$"),
    (5, "out", TypeError, r"^inputs must be a video file or folder path, or a list of them, got 5 \(int\)$"),
    (["clip", None], "out", TypeError, r"^inputs must be a video file or folder path, got None \(NoneType\)$"),
    ("clip", "", ValueError, r"^out_dir is empty \(''\): pass a folder path$"),
    ("clip", None, TypeError, r"^out_dir must be a folder path, got None \(NoneType\)$"),
    ("clip", b"out", TypeError, r"^out_dir must be a folder path, got b'out' \(bytes\)$"),
])
def test_inputs_and_out_dir_that_are_no_paths_are_refused_naming_them(calls, tmp_path, inputs, out_dir, error,
                                                                       message):
    with pytest.raises(error, match=message):
        curate_dataset(inputs, out_dir, CurationConfig(), progress=False)
    assert calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["clip"]  # nothing read or written


def test_a_home_folder_path_is_expanded(calls, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    summary = curate_dataset("~/clip", "~/out", CurationConfig(), progress=False)
    assert calls == ["clip"] and summary.ok == 1
    assert (tmp_path / "out" / "clip").is_dir() and not (tmp_path / "~").exists()


@pytest.mark.parametrize(("source", "out_root", "error", "message"), [
    ("", "out", ValueError, r"^source is empty \(''\): pass a video file or frames folder path$"),
    (None, "out", TypeError, r"^source must be a video file or frames folder path, got None \(NoneType\)$"),
    ("clip", "", ValueError, r"^out_root is empty \(''\): pass a folder path$"),
    ("clip", None, TypeError, r"^out_root must be a folder path, got None \(NoneType\)$"),
])
def test_curate_video_refuses_a_source_or_out_root_that_is_no_path(tmp_path, monkeypatch, source, out_root, error,
                                                                    message):
    """``curate_video("", "out")`` curated the current folder as the video, ``curate_video("clip", "")`` wrote into
    it."""
    from genxd.curation import curate_video

    (tmp_path / "clip").mkdir()
    (tmp_path / "clip" / "0000.png").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        curate_video(source, out_root)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip"]


def test_a_tilde_of_no_user_is_kept_as_written(calls, tmp_path):
    """``~nosuchuser`` is no home folder: kept as the name it is, as a shell leaves it (expanding it stopped the run
    with pathlib's ``RuntimeError: Could not determine home directory``)."""
    summary = curate_dataset("clip", "~genxd_no_such_user", CurationConfig(), progress=False)
    assert calls == ["clip"] and summary.ok == 1 and (tmp_path / "~genxd_no_such_user" / "clip").is_dir()


def test_the_command_checks_the_home_folder_paths_it_curates(calls, tmp_path, monkeypatch):
    # genxd curate '~/clip' -o '~/out' (quoted: the shell left '~'): the command checked ./~/clip ("input not
    # found") and ./~/out, while curate_dataset, which expands '~' as genxd generate does, would curate $HOME/clip
    # into $HOME/out
    from typer.testing import CliRunner

    from genxd.cli import app

    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "clip").rename(home / "clip")
    (tmp_path / "~").write_text("a file where ./~/out would go: refused as not writable when checked there")
    monkeypatch.setenv("HOME", str(home))
    res = CliRunner().invoke(app, ["curate", "~/clip", "-o", "~/out", "-q"])
    assert res.exit_code == 0, res.output
    assert calls == ["clip"] and (home / "out" / "clip").is_dir()


def test_a_rerun_removes_the_killed_runs_temporaries_and_nothing_else_hidden(calls, tmp_path):
    # every hidden '.*.part' folder in OUT was removed at the start of a run: a folder of the user's too
    from genxd.utils.io import temp_name

    out = tmp_path / "out"
    stale = out / temp_name("clip", "part")  # a killed run's temporary (this host's name)
    other_host = out / ".clip.otherhost-123-abcdef12.part"  # one a Ray worker on another host left
    users = [out / ".notes.part", out / ".x.part"]
    for folder in (stale, other_host, *users):
        folder.mkdir(parents=True)
        (folder / "kept.txt").write_text("x")
    curate_dataset("clip", out, CurationConfig(), progress=False)
    assert calls == ["clip"]
    assert not stale.exists() and not other_host.exists()
    assert all((folder / "kept.txt").read_text() == "x" for folder in users)
