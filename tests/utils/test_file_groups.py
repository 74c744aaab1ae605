"""Several sibling outputs replaced as one group (``genxd.utils.file_groups``), stopped at every rename.

Before, such outputs were written by one atomic writer each, one after the other: a stop between two renames left
a new file beside an old sibling, each valid alone (``trajectory from-video``'s OUT.json / OUT_transforms.json)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genxd.utils import file_groups, io
from genxd.utils.file_groups import GroupBeingReplaced, atomic_group, journal_path
from genxd.utils.io import WrittenMeanwhile, clean_stale
from genxd.utils.json_files import read_json


def _members(folder: Path) -> list[Path]:
    return [folder / "a.json", folder / "a_transforms.json", folder / "a.png", folder / "renders"]


def _write(folder: Path, version: int, replace: bool = True) -> None:
    paths = _members(folder)
    with atomic_group(paths, replace=replace, folders=[paths[3]]) as tmp:
        for t in tmp[:3]:
            t.write_text(json.dumps({"version": version}))
        (tmp[3] / "0.txt").write_text(str(version))


def _versions(folder: Path) -> set[int]:
    """The versions the group's members hold, each read as genxd reads it (the first read finishes a stopped
    replacement)."""
    paths = _members(folder)
    found = {read_json(paths[0])["version"]}
    found |= {json.loads(p.read_text())["version"] for p in paths[1:3]}
    found.add(int((paths[3] / "0.txt").read_text()))
    return found


class _Stop:
    """``os.replace`` / ``os.rename`` that work until call ``at``, then raise at it and at every later call: the
    process is stopped there (what it does after the stop, its handlers included, cannot rename anything)."""

    def __init__(self, at: int) -> None:
        self.at, self.calls, self.stopped = at, 0, False
        self.replace, self.rename = os.replace, os.rename

    def _call(self, real, *args):
        if self.stopped or self.calls == self.at:
            self.stopped = True
            raise KeyboardInterrupt
        self.calls += 1
        return real(*args)

    def install(self, monkeypatch) -> None:
        monkeypatch.setattr(os, "replace", lambda *a: self._call(self.replace, *a))
        monkeypatch.setattr(os, "rename", lambda *a: self._call(self.rename, *a))


# the commit renames: 3 files (one each), the folder (old aside, new in); the journals are linked in, no rename
@pytest.mark.parametrize("at", range(5))
def test_a_stop_at_any_rename_never_leaves_a_mix(tmp_path, monkeypatch, at):
    _write(tmp_path, 1)
    stop = _Stop(at)
    stop.install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    assert stop.stopped
    monkeypatch.undo()
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)  # the stopped run's process is gone
    assert _versions(tmp_path) == {2}  # the new group was complete before the first rename: finished
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.png", "a_transforms.json", "renders"]


@pytest.mark.parametrize("at", range(3))  # the three files; the folder is renamed (os.rename)
def test_a_stop_in_an_os_replace_caught_once_finishes_the_group(tmp_path, monkeypatch, at):
    """Ctrl-C at one rename (the handlers then run): the group is finished in place, nothing left behind."""
    _write(tmp_path, 1)
    calls = {"n": 0}
    real = os.replace

    def once(*args):
        calls["n"] += 1
        if calls["n"] == at + 1:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(os, "replace", once)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    monkeypatch.undo()
    assert not list(tmp_path.glob(".*")), list(tmp_path.iterdir())
    assert _versions(tmp_path) == {2}


def test_an_error_while_writing_keeps_the_old_group(tmp_path):
    _write(tmp_path, 1)
    with pytest.raises(RuntimeError):
        with atomic_group(_members(tmp_path)[:2]) as tmp:
            tmp[0].write_text(json.dumps({"version": 2}))
            raise RuntimeError("the writer failed")
    assert _versions(tmp_path) == {1}
    assert not list(tmp_path.glob(".*"))


_KILL = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from genxd.utils.file_groups import atomic_group
    folder, at = Path(sys.argv[1]), int(sys.argv[2])
    calls = [0]
    real = os.replace
    def replace(*args):
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        calls[0] += 1
        return real(*args)
    os.replace = replace
    paths = [folder / "a.json", folder / "a_transforms.json", folder / "a.png"]
    with atomic_group(paths) as tmp:
        for t in tmp:
            t.write_text('{"version": 2}')
""")


@pytest.mark.parametrize("at", range(3))
def test_kill_9_between_renames_is_finished_by_the_next_read(tmp_path, at):
    """A real ``kill -9`` at each rename of three files (no handler runs), then a read of each member in turn."""
    paths = [tmp_path / "a.json", tmp_path / "a_transforms.json", tmp_path / "a.png"]
    with atomic_group(paths) as tmp:
        for t in tmp:
            t.write_text('{"version": 1}')
    src = str(Path(file_groups.__file__).parents[2])
    res = subprocess.run([sys.executable, "-c", _KILL, str(tmp_path), str(at)], env={**os.environ, "PYTHONPATH": src})
    assert res.returncode == -9
    assert journal_path(paths[at]).exists()  # the stopped replacement, as left on disk
    first = paths[at]  # the member read first: the one the kill left old, its journal beside it
    assert read_json(first)["version"] == 2
    assert {read_json(p)["version"] for p in paths} == {2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.png", "a_transforms.json"]


def test_the_next_write_of_a_member_finishes_the_group_first(tmp_path, monkeypatch):
    _write(tmp_path, 1)
    _Stop(1).install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    monkeypatch.undo()
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)
    clean_stale(tmp_path)  # what a generate job does on its output folder: the group's temporaries are not deleted
    assert _versions(tmp_path) == {2}
    assert not list(tmp_path.glob(".*"))


def test_another_machines_replacement_is_refused_in_one_line_and_its_files_kept(tmp_path, monkeypatch):
    _write(tmp_path, 1)
    _Stop(1).install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    monkeypatch.undo()
    for journal in tmp_path.glob(".*.group"):  # as if written on another machine sharing the folder
        record = json.loads(journal.read_text())
        journal.write_text(json.dumps({**record, "host": "elsewhere"}))
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)
    before = sorted(p.name for p in tmp_path.iterdir())
    clean_stale(tmp_path)  # its temporaries are the group's: kept
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    with pytest.raises(GroupBeingReplaced, match=r"a_transforms.json is being replaced .* on elsewhere") as info:
        read_json(tmp_path / "a_transforms.json")
    assert "\n" not in str(info.value)


def test_without_replace_a_group_another_run_wrote_meanwhile_is_kept(tmp_path):
    paths = _members(tmp_path)[:2]
    with pytest.raises(WrittenMeanwhile):
        with atomic_group(paths, replace=False) as tmp:
            for t in tmp:
                t.write_text(json.dumps({"version": 2}))
            for p in paths:  # another run's whole group, written meanwhile
                p.write_text(json.dumps({"version": 1}))
    assert {json.loads(p.read_text())["version"] for p in paths} == {1}
    assert not list(tmp_path.glob(".*"))


def _stopped_group(tmp_path: Path, monkeypatch, at: int = 1) -> None:
    """Version 1 whole, then version 2 stopped at rename ``at``: its journals left."""
    _write(tmp_path, 1)
    _Stop(at).install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, 2)
    monkeypatch.undo()
    assert list(tmp_path.glob(".*.group"))


def _crafted(data: Path, outside: Path, kind: str) -> dict:
    """A journal put in a shared or downloaded folder by someone else, naming files outside it."""
    new = data / io.temp_name("cams.json", "part", ".json")
    new.write_text(json.dumps({"version": 2}))
    member = {"path": "cams.json", "new": new.name, "old": None, "folder": False}
    journals = [".cams.json.group"]
    members = [member]
    if kind == "journals":  # deleted as "the other journals"
        journals.append(os.path.relpath(outside / "victim.txt", data))
    elif kind == "old":  # rmtree'd as "the old folder"
        member.update(folder=True, old=str(outside / "victim_dir"))
    else:  # renamed onto as "a member"
        evil = data / ".evil.part"
        evil.write_text("overwritten")
        members.append({"path": str(outside / "victim.txt"), "new": evil.name, "old": None, "folder": False})
    return {"genxd_file_group": 1, "host": io._host(), "pid": 999999, "members": members, "journals": journals}


@pytest.mark.parametrize("kind", ["journals", "old", "member"])
def test_a_crafted_journal_cannot_make_a_read_rename_or_delete_other_files(tmp_path, monkeypatch, kind):
    """A read acts on the journal beside the file it reads: a ``.cams.json.group`` listing files outside the group
    made ``read_json(cams.json)`` delete, rmtree or overwrite them (before: all three)."""
    data, outside = tmp_path / "data", tmp_path / "home"
    data.mkdir()
    outside.mkdir()
    (outside / "victim.txt").write_text("mine")
    (outside / "victim_dir").mkdir()
    (outside / "victim_dir" / "notes.txt").write_text("mine")
    (data / "cams.json").write_text(json.dumps({"version": 1}))
    (data / ".cams.json.group").write_text(json.dumps(_crafted(data, outside, kind)))
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)
    read_json(data / "cams.json")
    clean_stale(data)
    assert (outside / "victim.txt").read_text() == "mine"
    assert (outside / "victim_dir" / "notes.txt").read_text() == "mine"


def test_two_readers_settling_one_group_at_once_both_read_it(tmp_path, monkeypatch):
    """DataLoader workers reading the camera files of one folder: reader B settled the group while reader A was
    between its check and its rename; A's rename then raised FileNotFoundError from read_json (before)."""
    import threading

    _stopped_group(tmp_path, monkeypatch, at=0)
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)
    real, results, fired = os.replace, {}, []

    def reader(name: str) -> None:
        try:
            results[name] = read_json(tmp_path / "a.json")["version"]
        except Exception as exc:  # noqa: BLE001 - the test reports what each reader got
            results[name] = repr(exc)

    def replace(*args):
        if not fired:  # reader A's first rename: reader B runs now (it waits for A where A holds the lock)
            fired.append(1)
            other = threading.Thread(target=reader, args=("B",))
            other.start()
            other.join(1.0)
            fired.append(other)
        return real(*args)

    monkeypatch.setattr(os, "replace", replace)
    reader("A")
    fired[1].join()
    assert results == {"A": 2, "B": 2}
    monkeypatch.undo()
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)
    assert _versions(tmp_path) == {2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.png", "a_transforms.json", "renders"]


def test_another_machines_journal_older_than_stale_after_is_finished(tmp_path, monkeypatch):
    """A container (its own host name, its own process numbers) or another machine killed mid-group: its journal
    was refused by every read, for ever ('use it when that run has ended'); now finished once it is old."""
    _stopped_group(tmp_path, monkeypatch)
    old = os.path.getmtime(tmp_path / "a.json") - getattr(file_groups, "STALE_AFTER", 600) - 60
    for journal in tmp_path.glob(".*.group"):
        record = json.loads(journal.read_text())
        journal.write_text(json.dumps({**record, "host": "container-gone"}))
        os.utime(journal, (old, old))
    assert _versions(tmp_path) == {2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.png", "a_transforms.json", "renders"]


def test_a_journal_this_process_left_is_finished_by_its_next_read(tmp_path):
    """A notebook or the web demo: the renames failed (a file held open on Windows, a permission), the journal was
    left, and every later read in that process waited 3 s then refused, naming its own process (before)."""
    paths = _members(tmp_path)[:2]
    with atomic_group(paths) as tmp:
        for t in tmp:
            t.write_text(json.dumps({"version": 1}))
    real, calls = os.replace, []

    def replace(*args):
        calls.append(args)
        if len(calls) <= 2:  # the renames and their retry in the error handler
            raise PermissionError(errno.EACCES, "Permission denied", str(args[0]), None, str(args[1]))
        return real(*args)

    os_replace = os.replace
    os.replace = replace
    try:
        with pytest.raises(PermissionError):
            with atomic_group(paths) as tmp:
                for t in tmp:
                    t.write_text(json.dumps({"version": 2}))
    finally:
        os.replace = os_replace
    assert journal_path(paths[0]).exists()
    assert {read_json(p)["version"] for p in paths} == {2}
    assert not list(tmp_path.glob(".*"))


def test_a_group_that_cannot_be_finished_here_is_said_in_one_line(tmp_path, monkeypatch):
    """A read-only copy of a folder with a stopped group: the read's rename failed with the hidden temporary's
    name ('Permission denied: .a.json.HOST-PID-TAG.part.json -> a.json'); now one line naming the group."""
    _stopped_group(tmp_path, monkeypatch, at=0)
    monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)

    def read_only(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(os, "rename", read_only)
    with pytest.raises(OSError) as info:
        read_json(tmp_path / "a_transforms.json")
    text = str(info.value)
    assert info.value.errno == errno.EROFS and io.is_environment_error(info.value)
    assert "\n" not in text and ".part" not in text and "a_transforms.json" in text and "a.json" in text


def test_on_windows_a_journals_process_is_not_killed_to_check_it(tmp_path, monkeypatch):
    """os.kill(pid, 0) is TerminateProcess on Windows: checking whether a stale temporary's or journal's writer was
    alive ended whatever process had that number (before)."""
    killed = []
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    assert io._writer_alive(os.getpid() + 1, 0.0)
    assert killed == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_replaced_group_keeps_each_members_permissions(tmp_path):
    """A group's members are new files and a new folder renamed onto the old ones: they had the umask's permissions
    (a private 0o600 OUT.json of trajectory from-video became 0o644 with --overwrite, a 0o700 eval_renders/ folder
    0o755). Each keeps its old one's bits now; a member made where nothing was gets the umask's."""
    import stat

    old_mask = os.umask(0o022)
    try:
        _write(tmp_path, 1)
        paths = _members(tmp_path)
        assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [0o644, 0o644, 0o644, 0o755]
        modes = [0o600, 0o640, 0o664, 0o700]
        for p, mode in zip(paths, modes):
            os.chmod(p, mode)
        _write(tmp_path, 2)
    finally:
        os.umask(old_mask)
    assert _versions(tmp_path) == {2}
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in paths] == [oct(m) for m in modes]


@pytest.mark.parametrize("name", ["cameras.json", "/cameras.json", "a//b.json", "/tmp/x/y.json", "x" * 300 + ".json",
                                  "/a/" + "\u00e9" * 200, "rel/a/b.png"])
def test_the_journal_name_is_the_one_os_path_builds(name):
    # settle() builds the journal's name by string operations on every read_json (rpartition on POSIX); it must name
    # the file os.path.split / join name, which atomic_group's journals are found by
    head, base = os.path.split(name)
    expected = os.path.join(head, f".{io._temp_stem(base)}{file_groups.SUFFIX}")
    assert os.path.normpath(str(journal_path(name))) == os.path.normpath(expected)
    assert os.path.normpath(file_groups._journal_str(Path(name))) == os.path.normpath(expected)
