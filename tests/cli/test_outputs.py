"""What ``genxd generate`` writes, through the command line (issue 18 items 1, 3, 6, 7): names that never
collide, permissions from the umask, symlink-safe and atomic ``--overwrite``, stale temporaries of killed
runs cleaned, and bad inputs (read-only folder, ``--summary`` naming a folder, an image over the
decompression-bomb limit) refused in one line before any model loads.

Sampling is replaced by :mod:`tests.cli.fake_model` (these tests are about the files around it; the
real model runs in ``test_generate_cli.py``)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.utils.io import temp_name

from .fake_model import use_fake_model

runner = CliRunner()


def _png(path: Path, value: int = 128, size: int = 24) -> Path:
    PIL.Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)
    return path


def _gen(args, **kw):
    return runner.invoke(app, ["generate", *[str(a) for a in args]], **kw)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _errors(res) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]


def test_colliding_names_get_distinct_folders_and_the_mapping_is_recorded(tmp_path, monkeypatch):
    """Issue 18 item 1: a.jpg, a.png and a_1.png used to map two of them to one folder (data loss)."""
    use_fake_model(monkeypatch)
    src = tmp_path / "in"
    src.mkdir()
    _png(src / "a.png", 10)
    PIL.Image.fromarray(np.full((24, 24, 3), 200, np.uint8)).save(src / "a.jpg")
    _png(src / "a_1.png", 60)
    out = tmp_path / "out"
    res = _gen([src, "-o", out, "--summary", tmp_path / "summary.json"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["a_1", "a_jpg", "a_png"]
    mapping = {Path(json.loads((out / n / "meta.json").read_text())["input"]).name: n for n in ("a_1", "a_jpg", "a_png")}
    assert mapping == {"a.jpg": "a_jpg", "a.png": "a_png", "a_1.png": "a_1"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {Path(r["input"]).name: Path(r["output"]).name for r in summary["results"]} == mapping
    assert "a.png -> " in res.stderr and "another input has the same name" in res.stderr
    # each folder holds its own input: the first frame is the (repeated) input colour
    for name, value in (("a_png", 10), ("a_1", 60)):
        frame = np.asarray(PIL.Image.open(out / name / "frames" / "000.png"))
        assert abs(int(frame.mean()) - value) <= 2, name


def test_output_names_never_collide():
    from genxd.api import output_names

    paths = [Path(p) for p in ("x/a.jpg", "x/a.png", "x/a_1.png", "y/a.png", "x/A.PNG", "x/a_png.png", "x/b.png")]
    names = output_names(paths)
    assert len({n.casefold() for n in names}) == len(names), names
    assert names[-1] == "b" and names == output_names(paths)  # unique stems stay; deterministic


def test_outputs_are_readable_as_the_umask_allows_also_after_overwrite(tmp_path, monkeypatch, umask022):
    """Issue 18 item 7: outputs were 0700 / 0600 (mkdtemp / mkstemp) and --overwrite made 755 into 700."""
    use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    out = tmp_path / "out"
    for extra in ([], ["--overwrite"]):
        res = _gen([img, "-o", out, *extra])
        assert res.exit_code == 0, res.output
        scene = out / "img"
        assert stat.S_IMODE(scene.stat().st_mode) == 0o755
        assert stat.S_IMODE((scene / "frames").stat().st_mode) == 0o755
        for f in ("meta.json", "video.mp4", "frames/000.png", "cameras.json"):
            assert stat.S_IMODE((scene / f).stat().st_mode) == 0o644, f


def test_overwrite_through_a_symlink_keeps_the_link_and_replaces_what_it_points_to(tmp_path, monkeypatch):
    """An output folder that is a symbolic link (kept on another disk) is written where it points: --overwrite
    replaced the link by a real folder (filling the disk the link was avoiding). Without --overwrite it is
    refused; a link to nothing is refused before the work, nothing created through it (issue 18 item 3: no
    'Cannot call rmtree on a symbolic link')."""
    use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    disk = tmp_path / "other_disk"
    disk.mkdir()
    (disk / "img").mkdir()
    (disk / "img" / "old.txt").write_text("old run")
    out = tmp_path / "out"
    out.mkdir()
    (out / "img").symlink_to(disk / "img", target_is_directory=True)
    res = _gen([img, "-o", out])
    assert res.exit_code == 2 and "--overwrite" in res.stderr and len(_errors(res)) == 1
    assert (disk / "img" / "old.txt").read_text() == "old run"
    res = _gen([img, "-o", out, "--overwrite"])
    assert res.exit_code == 0, res.output
    assert (out / "img").is_symlink() and os.readlink(out / "img") == str(disk / "img")
    assert (disk / "img" / "meta.json").is_file() and not (disk / "img" / "old.txt").exists()
    assert sorted(p.name for p in disk.iterdir()) == ["img"] and sorted(p.name for p in out.iterdir()) == ["img"]
    # a dangling link counts as an existing output, and --overwrite refuses it before any work
    (out / "img2").symlink_to(tmp_path / "unmounted" / "img2")
    for extra in ([], ["--overwrite"]):
        res = _gen([_png(tmp_path / "img2.png"), "-o", out, *extra])
        assert res.exit_code == 2 and "img2" in res.stderr and len(_errors(res)) == 1, res.output
        assert not (tmp_path / "unmounted").exists() and (out / "img2").is_symlink()
    assert "does not exist" in res.stderr and "Traceback" not in res.output


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_killed_runs_are_cleaned_on_the_next_run(tmp_path, monkeypatch):
    """Issue 18 item 6: after kill -9 the hidden .NAME.XXXX.part folder stayed forever, also after a later
    --skip-existing run succeeded."""
    use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    out = tmp_path / "out"
    assert _gen([img, "-o", out]).exit_code == 0
    dead = _dead_pid()
    stale = out / temp_name("img", "part").replace(f"-{os.getpid()}-", f"-{dead}-")
    stale.mkdir()
    (stale / "video.mp4").write_bytes(b"half")
    live = out / temp_name("other", "part")  # this (live) process's: another writer, left alone
    live.mkdir()
    foreign = out / ".img.abc123.part"  # not our naming: left alone
    foreign.mkdir()
    res = _gen([img, "-o", out, "--skip-existing"])
    assert res.exit_code == 0, res.output
    assert not stale.exists() and live.exists() and foreign.exists()
    assert (out / "img" / "meta.json").is_file()


def test_a_swap_killed_between_its_renames_loses_nothing(tmp_path, monkeypatch):
    """Issue 18 item 6: --overwrite removed the old folder before the rename; a crash there lost it. Now
    the old folder is moved aside first; a run after a crash at that point restores it."""
    use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    out = tmp_path / "out"
    assert _gen([img, "-o", out]).exit_code == 0
    old_meta = (out / "img" / "meta.json").read_text()
    aside = out / temp_name("img", "old").replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
    os.rename(out / "img", aside)  # the state right after the first rename of a killed replacement
    res = _gen([img, "-o", out])  # no --overwrite: the restored output is kept and reported as existing
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert (out / "img" / "meta.json").read_text() == old_meta and not aside.exists()


def test_read_only_output_folder_is_refused_before_the_model_loads(tmp_path, monkeypatch):
    """Issue 18 item 3: a read-only output folder failed only after the work (generate, curate, reconstruct)."""
    import genxd.api as api

    monkeypatch.setattr(api, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    img = _png(tmp_path / "img.png")
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ro and mode & os.W_OK
                        else real_access(p, mode, **kw))
    for args in (["generate", img, "-o", ro, "--model", "tests/fixtures/reference_small"],
                 ["curate", img, "-o", ro],
                 ["reconstruct", tmp_path, "-o", ro / "scene"]):
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exit_code == 2, (args[0], res.output)
        assert len(_errors(res)) == 1 and "not writable" in res.stderr and str(ro) in res.stderr, res.stderr
        assert "Traceback" not in res.output
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize("inside", ["scene", "scene/frames"])
def test_overwriting_the_scene_folder_one_is_in_is_refused_before_the_work(tmp_path, monkeypatch, inside):
    """``genxd generate ../../a.png -o .. --overwrite`` run from inside ``out/a`` (where a user looks at the last
    result) generated, then failed renaming the new folder onto the one the process was in: the work was lost
    and the run said "1 of 1 inputs failed" (noticed in session 26). Refused before the model loads now, with
    the folder left as it was; the other inputs' folders are not checked against the working folder."""
    import genxd.api as api

    monkeypatch.setattr(api, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    img = _png(tmp_path / "a.png")
    scene = tmp_path / "out" / "a"
    (scene / "frames").mkdir(parents=True)
    (scene / "video.mp4").write_bytes(b"old")
    here = tmp_path / "out" / inside.replace("scene", "a")
    monkeypatch.chdir(here)
    out = os.path.relpath(tmp_path / "out", here)
    model = Path(__file__).resolve().parents[1] / "fixtures" / "reference_small"
    res = _gen([os.path.relpath(img, here), "-o", out, "--overwrite", "--model", model])
    what = "the current folder" if inside == "scene" else "a folder above the current folder"
    assert res.exit_code == 2 and _errors(res) == [
        f"genxd: error: output {os.path.join(out, 'a')} is {what}; the output is written as a new folder and "
        "renamed into place, which cannot replace the folder you are in: run from another folder, or write to "
        "another output folder"], res.output
    assert (scene / "video.mp4").read_bytes() == b"old" and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into 0555 folders")
def test_read_only_output_folder_by_permissions(tmp_path):
    img = _png(tmp_path / "img.png")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = _gen([img, "-o", ro])
        assert res.exit_code == 2 and "not writable" in res.stderr
    finally:
        ro.chmod(0o755)


def test_summary_naming_a_folder_is_refused_before_generating(tmp_path, monkeypatch):
    """Issue 18 item 3: --summary naming a folder failed after the scene was written."""
    lm = use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    res = _gen([img, "-o", tmp_path / "out", "--summary", tmp_path])
    assert res.exit_code == 2 and len(_errors(res)) == 1 and "--summary" in res.stderr and "folder" in res.stderr
    assert lm.pipe.calls == 0 and not (tmp_path / "out").exists()


def test_summary_never_replaces_a_file_genxd_did_not_write(tmp_path, monkeypatch):
    """``--summary mine.txt`` replaced the user's file without --overwrite (found by the cli-args fuzz target,
    through ``genxd fewshot``; ``generate`` did the same). A summary an earlier job wrote is replaced by the next
    run (a rerun with --skip-existing reports again); any other file only with --overwrite, in the API too."""
    from genxd.api import generate_scenes

    lm = use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    mine = tmp_path / "mine.txt"
    mine.write_text("mine")
    res = _gen([img, "-o", tmp_path / "out", "--summary", mine])
    assert res.exit_code == 2 and _errors(res) == [
        f"genxd: error: summary file (--summary) {mine} already exists and is not a genxd summary (use --overwrite "
        "to replace it, or give another file name)"]
    assert mine.read_text() == "mine" and lm.pipe.calls == 0 and not (tmp_path / "out").exists()
    with pytest.raises(FileExistsError, match="pass overwrite=True to replace it"):  # the caller's words
        generate_scenes([img], tmp_path / "out", summary=mine)
    assert mine.read_text() == "mine"
    summary = tmp_path / "summary.json"
    assert _gen([img, "-o", tmp_path / "out", "--summary", summary]).exit_code == 0
    first = json.loads(summary.read_text())
    assert first["command"] == "generate" and first["written"] == 1
    res = _gen([img, "-o", tmp_path / "out", "--summary", summary, "--skip-existing"])  # its own summary: replaced
    assert res.exit_code == 0 and json.loads(summary.read_text())["skipped"] == 1
    assert _gen([img, "-o", tmp_path / "out2", "--summary", mine, "--overwrite"]).exit_code == 0
    assert json.loads(mine.read_text())["written"] == 1


def _bomb_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` pixels (PIL checks the size before decoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))
    return path


def test_image_over_the_decompression_bomb_limit_is_one_line_naming_the_file(tmp_path, monkeypatch):
    """Issue 18 item 3: PIL's DecompressionBombError came out as a traceback."""
    use_fake_model(monkeypatch)
    for side in (10_000, 20_000):  # over the limit (PIL warns) and over twice the limit (PIL raises)
        bomb = _bomb_png(tmp_path / f"bomb{side}.png", side, side)
        res = _gen([bomb, "-o", tmp_path / "out"])
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and "decompression-bomb" in res.stderr and bomb.name in res.stderr
        assert len(_errors(res)) == 1


def test_quiet_prints_only_the_output_folders(tmp_path, monkeypatch):
    """Issue 19 item 4: generate -q still printed a line."""
    use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    # --window 12: one call (the fake model's default window is 4 frames; longer paths are planned in windows)
    res = _gen([img, "-o", tmp_path / "out", "-q", "--resolution", "64", "--frames", "12", "--window", "12"])
    assert res.exit_code == 0 and res.stderr == "", res.stderr
    assert res.stdout.splitlines() == [str(tmp_path / "out" / "img")]
    res = _gen([img, "-o", tmp_path / "out2", "--resolution", "64", "--frames", "12", "--window", "12"])  # warnings
    warnings = [line for line in res.stderr.splitlines() if line.startswith("genxd: warning: ")]
    assert any("--resolution 64" in w for w in warnings) and any("--frames 12" in w for w in warnings), res.stderr


#: each case's command line run by ``genxd.cli.main`` in turn in one fresh interpreter; after each, its exit code and
#: whether torch has been imported so far (a case importing torch shows True there), each case's stderr after a
#: separator line
_NO_TORCH_RUN = """
import json, sys
from genxd.cli import main
for name, args in json.loads(sys.argv[1]):
    print("@@case", name, file=sys.stderr, flush=True)
    sys.argv = ["genxd", *args]
    try:
        main()
    except SystemExit as exc:
        print("exit", name, exc.code, "torch" in sys.modules, flush=True)
    sys.stderr.flush()
"""

_MISTAKES = ["missing input", "existing output", "contradicting flags", "missing fewshot data", "missing video",
             "missing generated folder", "missing model"]


def _mistake(case: str, tmp_path: Path) -> tuple[list[str], str]:
    image = _png(tmp_path / "photo.png")
    (tmp_path / "out" / "photo").mkdir(parents=True)
    return {
        "missing input": (["generate", str(tmp_path / "nope.png"), "--out", str(tmp_path / "new")], "no such file"),
        "existing output": (["generate", str(image), "--out", str(tmp_path / "out")], "output already exists"),
        "contradicting flags": (["generate", str(image), "--out", str(tmp_path / "new"), "--overwrite",
                                 "--skip-existing"], "contradict each other"),
        "missing fewshot data": (["fewshot", str(tmp_path / "no_data")], "no such folder"),
        "missing video": (["trajectory", "from-video", str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "new" / "p.json")],
                          "no such video"),
        "missing generated folder": (["eval-camera", str(tmp_path / "gen")], "no such folder"),
        "missing model": (["generate", str(image), "--out", str(tmp_path / "new"), "--model", str(tmp_path / "ckpt")],
                          "no GenXD checkpoint at"),
    }[case]


@pytest.fixture(scope="module")
def mistakes_run(tmp_path_factory) -> dict[str, tuple[Path, str, str, str]]:
    """Every case of the test below in one fresh interpreter (a child importing genxd.cli costs about 0.5 s of CPU
    each): ``{case: (its folder, its message, its "exit ..." line, its stderr)}``."""
    folders = {case: tmp_path_factory.mktemp("mistake") for case in _MISTAKES}
    cases = {case: _mistake(case, folders[case]) for case in _MISTAKES}
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH_RUN, json.dumps([[c, cases[c][0]] for c in _MISTAKES])],
                          capture_output=True, text=True, timeout=120)
    exits = {case: line for line in proc.stdout.splitlines() for case in _MISTAKES
             if line.startswith(f"exit {case} ")}
    errs = dict(part.split("\n", 1) if "\n" in part else (part, "") for part in proc.stderr.split("@@case ")[1:])
    return {case: (folders[case], cases[case][1], exits.get(case, proc.stdout + proc.stderr), errs.get(case, proc.stderr))
            for case in _MISTAKES}


@pytest.mark.parametrize("case", _MISTAKES)
def test_common_mistakes_fail_before_the_model_code_is_imported(mistakes_run, case):
    # The job checks inputs and outputs again after the imports; these checks run first so that a typo or a
    # repeated command fails at once (0.4-0.5 s instead of 3-8 s on a 2-core CPU), with the same message.
    tmp_path, message, exit_line, stderr = mistakes_run[case]
    assert exit_line == f"exit {case} 2 False", exit_line  # torch never imported
    assert "genxd: error:" in stderr and message in stderr, stderr
    assert not (tmp_path / "new").exists()


def test_the_early_checks_leave_good_jobs_alone(tmp_path):
    # --skip-existing over an existing output and two inputs of one name pass the early checks (the job decides)
    from genxd.cli.generate import check_inputs_and_outputs

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    paths = [_png(a / "x.png"), _png(b / "x.jpg")]
    (tmp_path / "out" / "x_png").mkdir(parents=True)
    assert check_inputs_and_outputs(paths, tmp_path / "out", False, True) == (paths, ["x_png", "x_jpg"])
    with pytest.raises(FileExistsError, match="x_png"):
        check_inputs_and_outputs(paths, tmp_path / "out", False, False)


def test_a_full_disk_is_one_line_per_input_without_a_traceback_and_leaves_nothing(tmp_path, monkeypatch):
    """A full disk while writing (ENOSPC) is the user's environment, not a bug: one ``genxd: failed:`` line
    per input and the job's error line, no traceback, exit 1, no half-written folder left (found by filling a
    40 kB tmpfs: the PNG writer's traceback filled the screen)."""
    import errno

    import genxd.scene_outputs as scene_outputs

    use_fake_model(monkeypatch)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(scene_outputs, "save_png", full)
    out = tmp_path / "out"
    res = _gen([_png(tmp_path / "a.png"), "-o", out, "--frames", "4"])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.stderr
    assert "genxd: failed:" in res.stderr and "No space left on device" in res.stderr
    # where: it read "genxd: failed: a.png: [Errno 28] No space left on device", as if the input were at fault
    assert f"No space left on device while writing {out / 'a'}" in res.stderr and ".part" not in res.stderr
    assert sorted(p.name for p in out.iterdir()) == []

    # the frames fit, the video is cut short: the message names the video's final place, not the temporary folder
    import genxd.utils.video as video

    monkeypatch.undo()
    use_fake_model(monkeypatch)
    monkeypatch.setattr(video, "check_mp4_complete", lambda path, name=None: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, f"No space left on device: the video {name} was cut short")))
    res = _gen([tmp_path / "a.png", "-o", out, "--frames", "4"])
    assert res.exit_code == 1 and "Traceback" not in res.stderr, res.output
    assert f"the video {out / 'a' / 'video.mp4'} was cut short" in res.stderr and ".part" not in res.stderr
    assert sorted(p.name for p in out.iterdir()) == []


def test_running_out_of_gpu_memory_is_one_line_naming_what_to_change():
    """torch's out-of-memory message is a paragraph; a failed input records its first sentence and the
    switches that lower memory, worded for the caller, and prints no traceback."""
    import torch

    from genxd.pipelines.distributed import failed_result
    from genxd.validation import caller_style

    exc = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
                                 "11.7 GiB of which 1.2 GiB is free.\nIf reserved but unallocated memory is large "
                                 "try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True.")
    with caller_style("cli"):
        cli = failed_result(0, "a.png", "out/a", exc, 0).error
    python = failed_result(0, "a.png", "out/a", exc, 0).error
    assert cli == ("CUDA out of memory (tried to allocate 2.00 GiB): try --offload model, a smaller --decode-chunk "
                   "or --resolution, or another device")
    assert python.startswith("CUDA out of memory (tried to allocate 2.00 GiB): try offload='model', a smaller "
                             "decode_chunk or resolution")


def test_running_out_of_cpu_memory_is_one_line(tmp_path, monkeypatch):
    """torch's CPU allocator says it ran out in a RuntimeError ('[enforce fail at alloc_cpu.cpp:127] err == 0.
    DefaultCPUAllocator: can't allocate memory: ...'), not an OutOfMemoryError: generate stopped with a traceback
    (as every command did). Now the input fails in one line saying so, with the size asked for."""
    from .fake_model import FakePipe

    def out_of_memory(self, *args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 3758096384 bytes. Error code 12 (Cannot allocate memory)")

    use_fake_model(monkeypatch)
    monkeypatch.setattr(FakePipe, "__call__", out_of_memory)
    res = _gen([_png(tmp_path / "a.png"), "-o", tmp_path / "out", "--frames", "4"])
    assert res.exit_code != 0 and "Traceback" not in res.output, res.output
    # no --offload (it needs a GPU) in the advice for the CPU's memory
    assert "out of CPU memory (tried to allocate 3.5 GiB): try a smaller --decode-chunk or --resolution\n" in res.stderr, \
        res.stderr
    assert "enforce fail" not in res.stderr and "alloc_cpu" not in res.stderr


@pytest.mark.cuda
def test_out_of_gpu_memory_while_loading_is_one_line(tmp_path):
    """On a GPU held to about 1 MB, ``genxd generate --device cuda`` runs out of memory while loading the model:
    one ``genxd: error:`` line saying so, no traceback."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    code = ("import sys, torch; torch.cuda.set_per_process_memory_fraction(1e-5); from genxd.cli import main; "
            "sys.argv[0] = 'genxd'; main()")
    res = subprocess.run([sys.executable, "-c", code, "generate", str(_png(tmp_path / "a.png")), "-o",
                          str(tmp_path / "out"), "--device", "cuda", "--steps", "1", "--frames", "2"],
                         capture_output=True, text=True, timeout=300)
    errors = _errors(res)
    assert res.returncode in (1, 2) and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert len(errors) == 1 and "out of memory" in errors[0], res.stderr[-2000:]


@pytest.mark.parametrize("overwrite", [False, True])
def test_an_output_another_run_wrote_meanwhile_is_kept_unless_overwrite(tmp_path, monkeypatch, overwrite):
    """Two runs into one folder, neither with --overwrite: the existing-output check runs at the start, and the
    final swap replaced whatever the other run had written meanwhile; both exited 0 and the first result was gone
    (found by the hostile-environment audit, 2026-12-04). Now the later run keeps the other's output and fails."""
    import genxd.api

    use_fake_model(monkeypatch)
    img = _png(tmp_path / "img.png")
    out = tmp_path / "out"
    real = genxd.api.write_scene

    def after_the_other_run(folder, *args, **kwargs):  # the other run finishes while this one samples
        folder.mkdir(parents=True)
        (folder / "meta.json").write_text('{"run": "other"}')
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(genxd.api, "write_scene", after_the_other_run)
    res = _gen([img, "-o", out, *(["--overwrite"] if overwrite else [])])
    meta = json.loads((out / "img" / "meta.json").read_text())
    if overwrite:
        assert res.exit_code == 0, res.output
        assert "input" in meta and (out / "img" / "video.mp4").exists()
    else:
        assert res.exit_code == 2, res.output  # as for an output that existed at the start
        assert meta == {"run": "other"} and sorted(p.name for p in (out / "img").iterdir()) == ["meta.json"]
        assert "was written by another run while this one worked" in res.stderr and "--overwrite" in res.stderr
        assert "Traceback" not in res.output
    assert sorted(p.name for p in out.iterdir()) == ["img"]  # no temporaries left


@pytest.mark.parametrize("case", ["image", "camera"])
def test_overwrite_never_replaces_a_scene_folder_holding_an_input(tmp_path, monkeypatch, case):
    """generate cat/cat.png -o . --overwrite (each photo in its own folder) replaced cat/ by the scene: the photo and
    everything beside it were deleted; so was a camera file read from the scene folder being replaced. Now one
    line before the model loads (the command line's early check and the job's own, for Python callers)."""
    import genxd

    use_fake_model(monkeypatch)
    (tmp_path / "cat").mkdir()
    img = _png(tmp_path / "cat" / "cat.png")
    (tmp_path / "cat" / "notes.txt").write_text("mine")
    extra: list = []
    if case == "camera":
        img = _png(tmp_path / "dog.png")
        (tmp_path / "dog").mkdir()
        assert runner.invoke(app, ["trajectory", "make", "orbit", "-o", str(tmp_path / "dog" / "path.json"),
                                   "-q"]).exit_code == 0
        extra = ["--camera", tmp_path / "dog" / "path.json"]
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    res = _gen([img, "-o", tmp_path, "--overwrite", *extra])
    assert res.exit_code == 2 and len(_errors(res)) == 1 and "holds the input" in res.stderr, res.output
    with pytest.raises(ValueError, match="holds the input"):
        genxd.generate(img, out_dir=tmp_path, overwrite=True, progress=False,
                       camera=str(extra[1]) if extra else "orbit")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_each_shard_writes_its_own_summary_file(tmp_path, monkeypatch):
    """``--summary s.json --shard K/N``: every task of the array wrote s.json, the last one's replacing the others'
    (the default summary is already one per task). Each task now writes s.shard-K-of-N.json."""
    use_fake_model(monkeypatch)
    images = [_png(tmp_path / f"{name}.png") for name in "ab"]
    summary = tmp_path / "s.json"
    for k in range(2):
        res = _gen([*images, "-o", tmp_path / "out", "--summary", summary, "--shard", f"{k}/2"])
        assert res.exit_code == 0, res.output
    assert not summary.exists()
    for k, name in enumerate("ab"):
        data = json.loads((tmp_path / f"s.shard-{k}-of-2.json").read_text())
        assert [Path(r["output"]).name for r in data["results"]] == [name]
