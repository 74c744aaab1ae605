"""``genxd train`` with DataLoader workers (``data.num_workers > 0``) stopped by an item it cannot read (a broken
image in the middle of a run) ends: it printed its error line and then never exited. The error's traceback kept the
loader's iterator, so its workers were not shut down; at exit multiprocessing sent them SIGTERM, which they ignore
(:func:`genxd.training.interrupts.ignore_interrupts_in_worker`), and waited for them for ever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from genxd.data.synthetic import make_clip, write_clip

from .conftest import QUIET, TINY, TINY_VAE


@pytest.mark.parametrize("command, config", [("train", TINY), ("train-vae", TINY_VAE)])
def test_a_run_stopped_by_a_broken_image_read_in_a_worker_exits(tmp_path, command, config):
    root = tmp_path / "camvid"
    write_clip(make_clip(12, "4d", 8, 32, 32), root, "video", "camvid", num_points=300)
    broken = root / "video" / "images" / "00005.jpg"
    broken.write_bytes(broken.read_bytes()[:300])  # cut short: read by the clip of frames 4-7
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "genxd", command, str(config), *QUIET, f"output_dir={tmp_path / 'run'}",
            f"data.datasets=[{{type: camvid, root: '{root}'}}]", "data.num_workers=1", "training.max_steps=4",
            "data.shuffle=false", "--cpu"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=120)  # about 10 s; it never ended
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"genxd {command} did not exit after its error:\n{output}")
    assert proc.returncode == 2, output
    assert f"genxd: error: {broken}: cannot read image" in output, output
