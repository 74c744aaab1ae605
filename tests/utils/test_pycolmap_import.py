"""genxd.utils.pycolmap_import: pycolmap's first import must not take SIGTERM away from Python."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pycolmap")

SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    def stop(signum, frame):
        print("python handler ran", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    {load}
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    print("still running", flush=True)
""")


def _run(load: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(load=load)], capture_output=True, text=True, timeout=120)


def test_sigterm_still_reaches_python_after_loading_pycolmap():
    res = _run("from genxd.utils.pycolmap_import import load_pycolmap; load_pycolmap()")
    assert res.returncode == 0 and res.stdout.strip() == "python handler ran", (res.returncode, res.stdout, res.stderr)
    # a second call returns the module already loaded (and leaves the handler alone)
    res = _run("from genxd.utils.pycolmap_import import load_pycolmap; m = load_pycolmap(); assert load_pycolmap() is m")
    assert res.returncode == 0 and "python handler ran" in res.stdout, res.stderr


def test_the_default_disposition_is_kept_too():
    # no handler of its own: the process ends by SIGTERM (-15), not by glog's abort (SIGABRT, -6, a stack dump)
    code = ("import os, signal, time\n"
            "from genxd.utils.pycolmap_import import load_pycolmap\n"
            "load_pycolmap()\n"
            "os.kill(os.getpid(), signal.SIGTERM)\n"
            "time.sleep(5)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == -15 and "Aborted" not in res.stderr, (res.returncode, res.stderr[-500:])


def test_colmap_writes_no_log_files(tmp_path):
    """glog wrote every message pycolmap logged into files in the temporary folder, also with genxd's quiet
    settings (pycolmap 4's bundle adjustment logs at INFO whatever ``minloglevel`` says): hundreds of
    ``<program>.<host>.<user>.log.*`` files piled up in /tmp. A bundle adjustment (an empty reconstruction: it
    logs an error) in a process whose temporary folder is ``tmp_path``."""
    script = textwrap.dedent("""
        from genxd.utils.pycolmap_import import load_pycolmap
        pycolmap = load_pycolmap()
        options = pycolmap.BundleAdjustmentOptions()
        options.print_summary = False
        pycolmap.bundle_adjustment(pycolmap.Reconstruction(), options)
        print("done", flush=True)
    """)
    env = {**os.environ, "TMPDIR": str(tmp_path), "TMP": str(tmp_path), "TEST_TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr
    assert "bundle_adjustment" in proc.stderr  # glog did log (to stderr): the test sees the messages it checks
    assert not [p.name for p in tmp_path.iterdir() if ".log." in p.name], sorted(p.name for p in tmp_path.iterdir())
