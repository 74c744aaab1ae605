"""``genxd curate`` checks the mask/depth models and the Ray address before anything is written.

A bad ``--mask-model``/``--depth-model`` (package missing, folder missing or not a model), a ``--ray`` address
where nothing answers, or ``--ray`` without the ``ray`` package: one ``genxd: error:`` line, exit code 2, and no
output folder, lock or index line. Nothing is curated here (every run stops before the first video).
"""

from __future__ import annotations

import json
import os
import socket
import sys

import numpy as np
import pytest

from genxd.curation import CurationConfig
from genxd.curation import dataset
from genxd.curation.dataset import RETRIED_STAGES, append_index, check_models, check_ray_address, read_index
from genxd.validation import cli_style


@pytest.fixture
def clip_dir(tmp_path):
    import cv2

    folder = tmp_path / "in" / "clip"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    return folder


def _curate(*args):
    from typer.testing import CliRunner

    from genxd.cli import app

    return CliRunner().invoke(app, ["curate", *map(str, args), "--quiet"])


def _fake_model(folder, model_type: str):
    """A folder that looks like a transformers model (config, weights file, image processor): no weights are read."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "preprocessor_config.json").write_text("{}")
    return folder


def _assert_failed_upfront(result, out, *needles):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genxd: error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not out.exists(), sorted(out.rglob("*"))  # no folder, no lock, no index line


@pytest.mark.parametrize("option", ["--mask-model", "--depth-model"])
def test_model_without_transformers_fails_before_any_video(clip_dir, tmp_path, monkeypatch, option):
    model = _fake_model(tmp_path / "model", "depth_anything")
    monkeypatch.setitem(sys.modules, "transformers", None)
    out = tmp_path / "out"
    result = _curate(clip_dir, "-o", out, option, model)
    _assert_failed_upfront(result, out, f"{option} needs the 'transformers' package")


def test_model_folder_missing_or_not_a_model(clip_dir, tmp_path):
    pytest.importorskip("transformers")
    out = tmp_path / "out"
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--mask-model", tmp_path / "missing"), out,
                           "--mask-model folder not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--depth-model", empty), out, "--depth-model", "no config.json")
    depth = _fake_model(tmp_path / "depth", "depth_anything")
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--mask-model", depth), out,
                           "--mask-model", "not an instance-segmentation model")
    no_weights = _fake_model(tmp_path / "no_weights", "mask2former")
    (no_weights / "model.safetensors").unlink()
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--mask-model", no_weights), out, "no model weights")


def test_model_folders_the_loaders_accept_pass(tmp_path):
    pytest.importorskip("transformers")
    config = CurationConfig(mask_model=str(_fake_model(tmp_path / "mask", "mask2former")),
                            depth_model=str(_fake_model(tmp_path / "depth", "depth_anything")))
    check_models(config)  # no error
    check_models(CurationConfig())  # no models: nothing to check


def test_setup_failure_in_a_worker_is_retried_by_the_next_run(clip_dir, tmp_path, monkeypatch):
    from genxd.curation.frames import discover_videos

    (source,) = discover_videos(clip_dir)
    model = _fake_model(tmp_path / "model", "mask2former")
    config = CurationConfig(mask_model=str(model))
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setitem(sys.modules, "transformers", None)  # as on a Ray node without the package
    monkeypatch.setattr(dataset, "_CHECKED_MODELS", set())
    record = dataset._curate_task(source, str(out), config)
    assert record["status"] == "failed" and record["stage"] == "setup", record
    assert record["reason"].startswith("mask_model needs the 'transformers' package"), record  # from Python
    monkeypatch.setattr(dataset, "_CHECKED_MODELS", set())
    cli_record = dataset._curate_task(source, str(out), config, caller_name="cli")  # the parent is the CLI
    assert cli_record["reason"].startswith("--mask-model needs the 'transformers' package"), cli_record
    assert "setup" in RETRIED_STAGES
    monkeypatch.delitem(sys.modules, "transformers")

    append_index(out, record)
    todo = []
    monkeypatch.setattr(dataset, "run_local", lambda videos, *a, **k: todo.extend(videos))
    summary = dataset.curate_dataset(clip_dir, out, CurationConfig(), progress=False)
    assert [s.video_id for s in todo] == [source.video_id] and summary.skipped == 0  # not "already done"
    assert len(read_index(out)) == 1


def test_ray_address_where_nothing_answers(clip_dir, tmp_path):
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    with socket.socket() as probe:  # a free port: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--ray", f"127.0.0.1:{port}"), out,
                           f"--ray 127.0.0.1:{port}", f"nothing answers at 127.0.0.1:{port}")
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--ray", "bogus:99999"), out,
                           "--ray bogus:99999", "1-65535")
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--ray", "ray://127.0.0.1:x"), out, "--ray", "1-65535")


def test_check_ray_address():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        check_ray_address(f"127.0.0.1:{server.getsockname()[1]}")  # something answers
        check_ray_address(f"ray://127.0.0.1:{server.getsockname()[1]}")
    for address in ("local", "ray://somewhere"):
        check_ray_address(address)  # left to Ray
    with pytest.raises(ValueError, match="^ray_address='h:0': the port must be an integer 1-65535"):
        check_ray_address("h:0")
    with pytest.raises(ValueError, match="^ray_address=':80': no host before the port"):
        check_ray_address(":80")
    with cli_style(), pytest.raises(ValueError, match="^--ray h:0: the port must be an integer 1-65535"):
        check_ray_address("h:0")


@pytest.mark.parametrize("address", ["nowhere", "Local", "10.0.0.5", ""])
def test_an_address_ray_cannot_read_is_said_so_without_the_token_hint(address):
    """Ray reads an address as ``auto``, ``local``, ``HOST:PORT`` or ``ray://...``; ``--ray nowhere`` was Ray's "Invalid
    address format: nowhere" followed by the hint to set RAY_AUTH_MODE=token, which cannot be why."""
    with cli_style(), pytest.raises(ValueError) as caught:
        check_ray_address(address)
    assert str(caught.value) == (f"--ray {address}: not a Ray address (HOST:PORT, ray://HOST:PORT, auto for the "
                                 "instance running on this machine, or local to start one for this run)")


def test_ray_auto_checks_the_address_ray_would_join(monkeypatch):
    """``--ray auto`` joins ``RAY_ADDRESS`` (or the head Ray recorded on this machine): on a port nothing listens on,
    ``ray.init`` retried for about two minutes with no word (found joining a user's cluster, Ray 2.60); now it is
    checked as ``--ray HOST:PORT`` is, the error naming where the address came from."""
    pytest.importorskip("ray")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{server.getsockname()[1]}")
        check_ray_address("auto")  # something answers
    dead = os.environ["RAY_ADDRESS"]  # closed with the socket
    with pytest.raises(ValueError, match=rf"^ray_address='auto' \(RAY_ADDRESS={dead}\): nothing answers at {dead} "):
        check_ray_address("auto")
    with cli_style(), pytest.raises(ValueError, match=rf"^--ray auto \(RAY_ADDRESS={dead}\): nothing answers"):
        check_ray_address("auto")


def test_model_refusals_name_the_config_field_from_python(tmp_path):
    """From Python the models are CurationConfig(mask_model=..., depth_model=...): the refusals said --mask-model."""
    pytest.importorskip("transformers")
    depth = _fake_model(tmp_path / "depth", "depth_anything")
    with pytest.raises(ValueError, match="^mask_model .*depth: a 'depth_anything' model is not an instance-segm"):
        check_models(CurationConfig(mask_model=str(depth)))
    with pytest.raises(ValueError, match="^depth_model .*empty is not a transformers model folder: no config.json"):
        (tmp_path / "empty").mkdir()
        check_models(CurationConfig(depth_model=str(tmp_path / "empty")))
    with cli_style(), pytest.raises(ValueError, match="^--mask-model .*depth: a 'depth_anything' model is not"):
        check_models(CurationConfig(mask_model=str(depth)))


def test_ray_missing_from_python_names_ray_address(monkeypatch):
    from genxd.curation.ray_engine import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ValueError, match="^ray_address needs the 'ray' package"):
        import_ray()
    with cli_style(), pytest.raises(ValueError, match="^--ray needs the 'ray' package"):
        import_ray()


def test_ray_missing_leaves_no_output_folder(clip_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    out = tmp_path / "out"
    _assert_failed_upfront(_curate(clip_dir, "-o", out, "--ray", "local"), out, "--ray needs the 'ray' package")


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it(clip_dir, tmp_path):
    """Two runs writing one dataset at once would both curate the same videos: the second is refused, and
    writes nothing (the first run's lock is held here by hand)."""
    import fcntl
    import os

    from genxd.curation import curate_dataset

    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / dataset.LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(dataset.RunLockedError, match=r"another genxd curate run is writing to "):
            curate_dataset(clip_dir.parent, out, CurationConfig(focal=1.0), progress=False)
    finally:
        os.close(fd)
    assert sorted(p.name for p in out.iterdir()) == [dataset.LOCK_NAME]
    summary = curate_dataset(clip_dir.parent, out, CurationConfig(focal=1.0), progress=False)  # free again
    assert summary.total == 1 and len(read_index(out)) == 1


def test_a_file_system_without_locks_curates_with_one_warning(clip_dir, tmp_path, monkeypatch):
    """NFS without its lock service answers ``flock`` with ENOLCK: the run stopped with a traceback before the
    first video. Now one warning says what the missing lock means, and the run and its index go on."""
    import errno
    import fcntl

    from genxd.curation import curate_dataset
    from genxd.validation import GenXDWarning

    def no_locks(*args, **kwargs):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    out = tmp_path / "out"
    with pytest.warns(GenXDWarning, match=r"cannot lock .*\.curate\.lock \(No locks available\): the file system has "
                                          r"no file locks, so nothing stops a second genxd curate run"):
        summary = curate_dataset(clip_dir.parent, out, CurationConfig(focal=1.0), progress=False)
    records = read_index(out)
    assert summary.total == 1 and len(records) == 1 and records[0]["video_id"] == "clip"


def test_an_unshared_output_folder_is_named_as_the_caller_does(clip_dir, tmp_path):
    """A Ray node that does not see the run's marker in the output folder fails the video naming the output setting:
    ``--out`` for the command line, ``out_dir`` for Python (it said --out to both)."""
    from genxd.curation.frames import discover_videos

    (source,) = discover_videos(clip_dir)
    out = tmp_path / "out"
    out.mkdir()
    record = dataset._curate_task(source, str(out), CurationConfig(), shared_marker=".genxd-run-elsewhere")
    assert record["stage"] == "setup" and "out_dir must be on a file system every Ray node shares" in record["reason"]
    record = dataset._curate_task(source, str(out), CurationConfig(), caller_name="cli",
                                  shared_marker=".genxd-run-elsewhere")
    assert "--out must be on a file system every Ray node shares" in record["reason"], record


def test_workers_dying_on_every_video_is_one_line(clip_dir, tmp_path, monkeypatch):
    from genxd.curation.local_engine import WorkersKeepDying

    def every_worker_dies(*args, **kwargs):
        raise WorkersKeepDying(16, 4)

    monkeypatch.setattr(dataset, "run_local", every_worker_dies)
    result = _curate(clip_dir, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == ["genxd: error: the worker process died on each of the first 16 "
                                                  "videos, each run alone (a crash or out of memory on every video: "
                                                  "the machine or the installation, not the videos); the other 4 "
                                                  "were not started. Try one video with --workers 1 to see the error"]


def test_a_file_as_out_dir_is_refused_before_ray_is_started(clip_dir, tmp_path, monkeypatch):
    """With ``ray_address="local"`` a local Ray instance was started (and left) before the refusal."""
    started = []
    monkeypatch.setattr(dataset, "start_or_join_ray", lambda address: started.append(address) or (None, True))
    out = tmp_path / "out"
    out.write_text("a file")
    with pytest.raises(NotADirectoryError, match="out_dir .*out exists and is not a folder"):
        dataset.curate_dataset(clip_dir, out, ray_address="local", progress=False)
    assert started == [] and out.read_text() == "a file"


def test_an_empty_run_has_no_records_of_a_later_run(tmp_path):
    """An empty run's summary had no end in the index: its records were the lines a later run appended."""
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    append_index(out, {"video_id": "earlier", "status": "ok"})
    summary = dataset.curate_dataset(tmp_path / "empty", out, progress=False)
    assert summary.total == 0 and summary.records == []
    append_index(out, {"video_id": "later", "status": "ok"})
    assert summary.records == []


def test_without_fcntl_curate_runs_unlocked(clip_dir, tmp_path, monkeypatch):
    """Windows has no ``fcntl`` (nor ``os.pread``): the run's lock and the index's append imported it, and curate
    stopped with ModuleNotFoundError before the first video. It curates now, unlocked (no lock file)."""
    import os

    from genxd.curation import curate_dataset

    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError, as on Windows
    monkeypatch.delattr(os, "pread")
    out = tmp_path / "out"
    summary = curate_dataset(clip_dir.parent, out, CurationConfig(focal=1.0), progress=False)
    assert summary.total == 1 and [r["video_id"] for r in read_index(out)] == ["clip"]
    assert not (out / dataset.LOCK_NAME).exists()
