"""The demo server's temporary folder (``genxd.demo.workdir``): folders of servers that died are removed at the
next start, those of running servers (lock held, even by another process) and unknown ones are kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from genxd.demo import workdir

pytestmark = pytest.mark.skipif(workdir.fcntl is None, reason="no fcntl (Windows): nothing is cleaned")


def test_folders_of_dead_servers_go_live_and_unknown_ones_stay(tmp_path):
    mine, lock = workdir.make_workdir(tmp_path)
    assert mine.name.startswith(workdir.PREFIX) and (mine / workdir.LOCK_NAME).is_file()
    assert oct(mine.stat().st_mode & 0o777) == "0o700"
    # a server killed with SIGKILL: its folder and lock file stay, its lock is gone with the process
    code = textwrap.dedent(f"""
        import os, signal
        from genxd.demo.workdir import make_workdir
        root, lock = make_workdir({str(tmp_path)!r})
        (root / "sessions").mkdir()
        (root / "sessions" / "frame.png").write_bytes(b"x" * 1000)
        print(root, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    dead_root = tmp_path / dead.stdout.strip().rsplit("/", 1)[-1]
    assert dead.returncode == -9 and (dead_root / "sessions" / "frame.png").is_file()
    # a server that is running in another process: holds its lock until told to stop
    alive = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from genxd.demo.workdir import make_workdir
            root, lock = make_workdir({str(tmp_path)!r})
            print(root, flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        alive_root = tmp_path / alive.stdout.readline().strip().rsplit("/", 1)[-1]
        unknown = tmp_path / (workdir.PREFIX + "old")  # made by an older genxd: no lock file
        unknown.mkdir()
        (unknown / "keep.txt").write_text("x")
        size = sum(p.stat().st_size for p in dead_root.rglob("*") if p.is_file())  # the frame and the lock file
        assert size > 1000
        assert workdir.remove_stale_workdirs(tmp_path, keep=mine) == (1, size)
    finally:
        alive.communicate("", timeout=60)
    assert not dead_root.exists()
    assert alive_root.is_dir() and unknown.is_dir() and mine.is_dir()
    # once that server has stopped without removing its folder, the next start removes it; ours is kept
    assert workdir.remove_stale_workdirs(tmp_path, keep=mine)[0] == 1 and not alive_root.exists()
    assert mine.is_dir()
    lock.close()
    assert workdir.remove_stale_workdirs(tmp_path)[0] == 1 and not mine.exists()
    assert unknown.is_dir()
