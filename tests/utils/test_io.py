"""``genxd.utils.io``: atomic writes that lose nothing (also under kill -9), umask permissions, links
replaced not followed, stale temporaries cleaned only when clearly ours and stale."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from genxd.utils import io
from genxd.utils.disk_space import disk_full
from genxd.utils.io import atomic_dir, atomic_file, check_output_file, check_writable_dir, clean_stale, temp_name


@pytest.fixture
def umask(request):
    old = os.umask(getattr(request, "param", 0o022))
    yield
    os.umask(old)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _named(path: Path, kind: str, pid: int) -> Path:
    return path.parent / temp_name(path.name, kind).replace(f"-{os.getpid()}-", f"-{pid}-")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], indirect=True)
def test_permissions_follow_the_umask(tmp_path, umask):
    mask = os.umask(0)
    os.umask(mask)
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "f.txt").write_text("x")
    with atomic_file(tmp_path / "f.json") as tmp:
        tmp.write_text("{}")
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("no_hard_links", [False, True])
def test_without_replace_an_output_written_meanwhile_is_kept(tmp_path, monkeypatch, no_hard_links):
    """``replace=False`` (no --overwrite): the final rename keeps what another run wrote while this one worked
    (it used to be replaced: two runs into one folder both exited 0 and the first result was gone)."""
    if no_hard_links:  # a file system without hard links: checked, then renamed
        def no_link(*args, **kwargs):
            raise PermissionError(1, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)
    with pytest.raises(FileExistsError, match="written by another run while this one worked"):
        with atomic_dir(tmp_path / "d", replace=False) as tmp:
            (tmp / "new.txt").write_text("new")
            (tmp_path / "d").mkdir()
            (tmp_path / "d" / "other.txt").write_text("other")
    with pytest.raises(FileExistsError, match="written by another run"):
        with atomic_file(tmp_path / "f.json", replace=False) as tmp:
            tmp.write_text("new")
            (tmp_path / "f.json").write_text("other")
    assert (tmp_path / "d" / "other.txt").read_text() == "other" and (tmp_path / "f.json").read_text() == "other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f.json"]  # no temporaries left
    # nothing there, or an empty folder (a folder made for the output): written as before
    (tmp_path / "empty").mkdir()
    for name in ("empty", "new_dir"):
        with atomic_dir(tmp_path / name, replace=False) as tmp:
            (tmp / "new.txt").write_text("new")
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["new.txt"]
    with atomic_file(tmp_path / "g.json", replace=False) as tmp:
        tmp.write_text("new")
    assert (tmp_path / "g.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "empty", "f.json", "g.json", "new_dir"]


def test_a_full_disk_names_the_output_being_written(tmp_path):
    """Encoders, PIL and safetensors raise ENOSPC without a file name: `genxd trajectory make`, `synth` and
    `reconstruct` on a full disk said only "genxd: error: [Errno 28] No space left on device"."""
    import errno

    with pytest.raises(OSError, match=r"No space left on device while writing .*f\.json$") as caught:
        with atomic_file(tmp_path / "f.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(OSError, match=r"Disk quota exceeded while writing .*scene$"):
        with atomic_dir(tmp_path / "scene") as tmp:
            with atomic_file(tmp / "video.mp4"):  # inside the folder being written: named once, by the folder
                raise OSError(errno.EDQUOT, "Disk quota exceeded")
    named = OSError(errno.ENOSPC, f"No space left on device: the video {tmp_path / 'v.mp4'} was cut short")
    with pytest.raises(OSError) as caught:
        with atomic_file(tmp_path / "v.mp4"):
            raise named
    assert caught.value is named  # a message that names the file already is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_replace_keeps_nothing_of_the_old_and_leaves_no_temporaries(tmp_path, umask):
    target = tmp_path / "scene"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("replace", [True, False])
def test_a_replaced_folder_keeps_the_old_folders_permissions(tmp_path, umask, replace):
    """A replaced output folder (``--overwrite``; without it, an empty folder the user made for the output) is a new
    folder renamed onto the old one: it had the umask's permissions (a private 0o700 folder became 0o755 under umask
    022, its new files readable by everyone; a group's setgid 0o2770 folder lost its group's access). It keeps the
    old folder's mode bits now; a folder made where nothing was still gets the umask's (above)."""
    target = tmp_path / "out"
    for mode in (0o700, 0o2770, 0o750):
        target.mkdir(exist_ok=True)
        for f in target.iterdir():
            f.unlink()
        if replace:
            (target / "old.txt").write_text("old")
        os.chmod(target, mode)
        with atomic_dir(target, replace=replace) as tmp:
            (tmp / "new.txt").write_text("new")
        assert oct(stat.S_IMODE(target.stat().st_mode)) == oct(mode)
        assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    # a file replaced by a folder: the umask's permissions (a file's bits would leave a folder without x)
    (tmp_path / "was_a_file").write_text("x")
    os.chmod(tmp_path / "was_a_file", 0o600)
    with atomic_dir(tmp_path / "was_a_file") as tmp:
        (tmp / "new.txt").write_text("new")
    assert stat.S_IMODE((tmp_path / "was_a_file").stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "was_a_file"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o077], indirect=True)
def test_a_replaced_file_keeps_the_old_files_permissions(tmp_path, umask):
    """A file rewritten in place (a camera JSON or config by write_json_atomic, any atomic_file output with
    --overwrite) is a new file renamed onto the old one: it had the umask's permissions, so a private 0o600 file
    became 0o644 under umask 022, readable by everyone. It keeps the old file's read / write / execute bits now (not
    a setuid / setgid bit); a file made where nothing was still gets the umask's."""
    from genxd.utils.json_files import write_json_atomic

    mask = os.umask(0)
    os.umask(mask)
    target = tmp_path / "cameras.json"
    for mode in (0o600, 0o640, 0o664, 0o444, 0o4755):
        if target.exists():
            os.chmod(target, 0o600)
            target.unlink()
        write_json_atomic(target, {"new": True})
        assert oct(stat.S_IMODE(target.stat().st_mode)) == oct(0o666 & ~mask)  # a new file: the umask's
        os.chmod(target, mode)
        write_json_atomic(target, {"mode": mode})
        assert oct(stat.S_IMODE(target.stat().st_mode)) == oct(mode & 0o777)
        with atomic_file(target) as tmp:
            tmp.write_text("again")
        assert oct(stat.S_IMODE(target.stat().st_mode)) == oct(mode & 0o777) and target.read_text() == "again"
    # through a symbolic link: what it points to keeps its bits, the link stays
    link = tmp_path / "link.json"
    link.symlink_to(target)
    os.chmod(target, 0o600)
    with atomic_file(link) as tmp:
        tmp.write_text("through the link")
    assert link.is_symlink() and oct(stat.S_IMODE(target.stat().st_mode)) == oct(0o600)
    assert target.read_text() == "through the link"


def test_a_failure_during_writing_or_swapping_keeps_the_old_output(tmp_path, monkeypatch):
    target = tmp_path / "scene"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("crash while writing")
    assert (target / "old.txt").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["scene"]

    real_rename = os.rename
    calls = []

    def rename(src, dst):  # the second rename (new -> target) fails
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("disk gone")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="disk gone"):
        with atomic_dir(target) as tmp:
            (tmp / "new.txt").write_text("new")
    monkeypatch.undo()
    assert (target / "old.txt").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


def test_a_link_is_kept_and_what_it_points_to_replaced(tmp_path):
    """A symbolic link as the output (kept on another disk) was replaced by a real folder or file here."""
    disk = tmp_path / "disk"
    (disk / "scene").mkdir(parents=True)
    (disk / "scene" / "old.txt").write_text("old")
    (disk / "data.json").write_text("old")
    out = tmp_path / "out"
    out.mkdir()
    (out / "scene").symlink_to(disk / "scene")
    (out / "f.json").symlink_to(disk / "data.json")
    with atomic_dir(out / "scene") as tmp:
        (tmp / "new.txt").write_text("new")
    with atomic_file(out / "f.json") as tmp:
        tmp.write_text("{}")
    assert (out / "scene").is_symlink() and (out / "f.json").is_symlink()
    assert sorted(p.name for p in (disk / "scene").iterdir()) == ["new.txt"]
    assert (disk / "data.json").read_text() == "{}" and sorted(p.name for p in disk.iterdir()) == ["data.json", "scene"]
    with pytest.raises(FileExistsError):  # not replacing: what the link points to counts as the output
        with atomic_dir(out / "scene", replace=False) as tmp:
            (tmp / "x").write_text("x")
    assert sorted(p.name for p in (disk / "scene").iterdir()) == ["new.txt"]


@pytest.mark.parametrize("target", ["unmounted/scene", "loop"])
def test_a_link_to_nothing_is_refused_and_nothing_created_through_it(tmp_path, target):
    (tmp_path / "out").mkdir()
    link = tmp_path / "out" / "scene"
    link.symlink_to(tmp_path / "out" / "scene" if target == "loop" else tmp_path / target)
    for writer in (atomic_dir, atomic_file):
        with pytest.raises(FileNotFoundError, match="is a symbolic link to .*which does not exist"):
            with writer(link) as tmp:
                (tmp / "x").write_text("x") if writer is atomic_dir else tmp.write_text("x")
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scene"]


def test_a_temporary_of_a_name_of_250_bytes_fits_in_255(tmp_path):
    """A temporary was named .NAME.HOST-PID-TAG.part: past 255 bytes for a name of 250 (a legal name), so the
    output failed after all the work with 'File name too long'."""
    for name in ("a" * 250, "é" * 125, "b" * 246 + ".mp4", "c." + "d" * 250):
        for kind in ("part", "old"):
            assert len(temp_name(name, kind, Path(name).suffix).encode()) <= 255, (name, kind)
        with atomic_dir(tmp_path / name) as tmp:
            (tmp / "x").write_text("1")
        with atomic_dir(tmp_path / name) as tmp:  # replacing: the old one moved aside under a short name too
            (tmp / "x").write_text("2")
        assert (tmp_path / name / "x").read_text() == "2"
    with atomic_file(tmp_path / ("v" * 247 + ".mp4")) as tmp:
        assert tmp.suffix == ".mp4"
        tmp.write_text("video")
    assert len(list(tmp_path.iterdir())) == 5


def test_a_stale_old_output_of_a_long_name_is_restored_under_its_whole_name(tmp_path):
    """A replacement of a long-named output killed between its two renames leaves .SHORT~HASH...old: the next
    write of that name restores it (clean_stale given the name); a scan of the folder leaves it alone."""
    name = "x" * 240
    aside = tmp_path / temp_name(name, "old").replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
    aside.mkdir()
    (aside / "data.txt").write_text("old")
    assert clean_stale(tmp_path) == [] and aside.is_dir()
    assert clean_stale(tmp_path, "y" * 240) == [] and aside.is_dir()
    assert clean_stale(tmp_path, name) == [aside]
    assert (tmp_path / name / "data.txt").read_text() == "old"


def test_clean_stale_removes_only_stale_temporaries_of_this_machine(tmp_path):
    dead = _dead_pid()
    stale_part = _named(tmp_path / "a", "part", dead)
    stale_part.mkdir()
    stale_file = tmp_path / (temp_name("v.mp4", "part", ".mp4").replace(f"-{os.getpid()}-", f"-{dead}-"))
    stale_file.write_text("x")
    live = _named(tmp_path / "b", "part", os.getpid())
    live.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        other_live = _named(tmp_path / "c", "part", sleeper.pid)
        other_live.mkdir()
        other_host = tmp_path / f".d.otherhost-{dead}-0123abcd.part"
        other_host.mkdir()
        legacy = tmp_path / ".e.k3j4h5g6.part"  # mkdtemp names of earlier versions: owner unknown
        legacy.mkdir()
        user = tmp_path / ".config"
        user.mkdir()
        removed = clean_stale(tmp_path)
        assert sorted(removed) == sorted([stale_part, stale_file])
        for kept in (live, other_live, other_host, legacy, user):
            assert kept.exists(), kept
        # a number reused by a newer process: its temporary was last modified before that process started
        os.utime(other_live, (time.time() - 3600, time.time() - 3600))
        assert clean_stale(tmp_path) == [other_live]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_clean_stale_restores_an_output_moved_aside_by_a_killed_replacement(tmp_path):
    dead = _dead_pid()
    aside = _named(tmp_path / "scene", "old", dead)
    aside.mkdir()
    (aside / "meta.json").write_text("old")
    clean_stale(tmp_path)
    assert (tmp_path / "scene" / "meta.json").read_text() == "old" and not aside.exists()
    aside.mkdir()  # the new one made it in before the kill: the old one goes
    clean_stale(tmp_path, "scene")
    assert not aside.exists() and (tmp_path / "scene" / "meta.json").read_text() == "old"


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from genxd.utils.io import atomic_dir
    with atomic_dir(Path(sys.argv[1])) as tmp:
        (tmp / "part.txt").write_text("half")
        print("writing", flush=True)
        time.sleep(60)
""")


def test_kill_9_while_writing_then_the_next_run_cleans_up(tmp_path):
    target = tmp_path / "out" / "scene"
    target.mkdir(parents=True)
    (target / "old.txt").write_text("old")
    env = dict(os.environ, PYTHONPATH=str(Path(io.__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    parts = [p for p in target.parent.iterdir() if p.name.endswith(".part")]
    assert len(parts) == 1 and (target / "old.txt").read_text() == "old"  # killed: the old output is intact
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.parent.iterdir()) == ["scene"]


def test_check_writable_dir(tmp_path, monkeypatch):
    assert check_writable_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        check_writable_dir(tmp_path / "file" / "sub")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        check_writable_dir(tmp_path / "file")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        check_output_file(tmp_path)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: False if Path(p) == tmp_path and m & os.W_OK else real(p, m, **k))
    with pytest.raises(PermissionError, match="not writable"):
        check_writable_dir(tmp_path / "new")


def test_a_probe_file_of_a_killed_process_is_removed_by_the_next_probe_and_by_clean_stale(tmp_path):
    """check_writable_dir makes and removes a probe file; one that a process killed at that instant left
    (".genxd-probe-XXXXXXXX", owner unknown) stayed forever: it is named as a temporary of its process now, removed by
    the next probe in its folder and by clean_stale once that process is gone; a live process's is kept."""
    dead = 4_194_305  # over Linux's largest process number (PID_MAX_LIMIT): no such process

    def probe_of(pid: int) -> Path:
        return tmp_path / temp_name("genxd-probe").replace(f"-{os.getpid()}-", f"-{pid}-")

    stale, ours, parent = probe_of(dead), probe_of(os.getpid()), probe_of(os.getppid())
    for probe in (stale, ours, parent):
        probe.write_text("")
    check_writable_dir(tmp_path / "new")  # probes tmp_path, the nearest folder that exists
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ours.name, parent.name])
    stale.write_text("")
    assert clean_stale(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ours.name, parent.name])


def test_atomic_dir_refuses_the_working_folder_and_folders_above_it(tmp_path, monkeypatch):
    """Renaming '.' fails ("Device or resource busy") after the work, and renaming a folder above the working
    folder leaves the process in a deleted folder: refused before anything is created."""
    from genxd.utils.io import atomic_dir

    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    for path in (".", "..", str(tmp_path / "a"), str(tmp_path / "a" / "b")):
        with pytest.raises(ValueError, match=r"is (the current folder|a folder above the current folder); "):
            with atomic_dir(path):
                pass
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b"]
    with atomic_dir("new") as tmp:  # a folder inside the working folder is fine
        (tmp / "x.txt").write_text("x")
    assert (tmp_path / "a" / "b" / "new" / "x.txt").read_text() == "x"


def test_check_not_working_folder_refuses_the_current_folder_and_those_above_it(tmp_path, monkeypatch):
    import re

    from genxd.utils.io import check_not_working_folder

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "bb").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a" / "b")
    monkeypatch.chdir(tmp_path / "a" / "b")
    for path, what in ((".", "the current folder"), (tmp_path / "link", "the current folder"),
                       ("..", "a folder above the current folder"), (tmp_path, "a folder above the current folder")):
        with pytest.raises(ValueError, match=rf"^--out {re.escape(str(path))} is {what}; .*: pick another$"):
            check_not_working_folder(path, "--out", "pick another")
    for path in ("c", "../bb", tmp_path / "a" / "bb", tmp_path / "a" / "b" / "c"):  # inside, beside: written fine
        check_not_working_folder(path)


def test_disk_full_without_statvfs_asks_shutil(tmp_path, monkeypatch):
    # Before: AttributeError where os.statvfs is missing (Windows), where video.py's shutil.disk_usage worked.
    import shutil
    from collections import namedtuple

    monkeypatch.delattr(os, "statvfs")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, (1 << 30) - 4096, 4096))
    assert disk_full(tmp_path)
    assert not disk_full(tmp_path, slack=4096)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, 0, 1 << 30))
    assert not disk_full(tmp_path)


def test_a_probe_file_of_the_old_name_is_removed_once_no_process_can_be_using_it(tmp_path):
    """Probes of genxd before 2026-12-07 were named ".genxd-probe-" + 8 random characters (tempfile.mkstemp), with no
    process to ask: one that a process killed at that instant left was never removed. Such a probe lived for
    microseconds: an empty one older than a minute is removed by the next probe in its folder; a younger one, one
    with contents or another name is kept."""
    import time

    old, young, full, other = (tmp_path / name for name in (".genxd-probe-k2_x9a0q", ".genxd-probe-abcd1234",
                                                            ".genxd-probe-zzzz9999", ".genxd-probe-toolong12"))
    for probe in (old, young, other):
        probe.write_text("")
    full.write_text("not a probe")
    an_hour_ago = time.time() - 3600
    for probe in (old, full, other):
        os.utime(probe, (an_hour_ago, an_hour_ago))
    check_writable_dir(tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([young.name, full.name, other.name])
