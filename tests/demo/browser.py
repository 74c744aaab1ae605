"""Helpers of the browser tests: find a Chromium, start ``genxd demo``, read pixels from screenshots."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

#: Chromium binaries tried in order (GENXD_CHROMIUM first); Debian's packages install the first two.
CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")

#: WebGL through SwiftShader (a CPU renderer) so the 3D viewers draw without a GPU.
CHROMIUM_ARGS = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]

#: Animation frames at 10 a second instead of the display's 60 (a page's init script). The page's 3D viewers (the
#: camera preview, the splat viewer) redraw every animation frame whether anything changed or not; drawn through
#: SwiftShader that kept one CPU core busy from the first upload to the page's close (measured: Chromium used
#: about 1 core-second a second, 30 s of CPU over the three browser tests), taken from the server whose job the
#: test waits for and from the other pytest worker. The tests look at a viewer every 0.3 s at most and check what
#: it draws, not how often: each frame is drawn as before, fewer of them.
FRAME_RATE_SCRIPT = """(() => {
    const timers = new Map();
    let next = 1;
    window.requestAnimationFrame = callback => {
        const id = next++;
        timers.set(id, setTimeout(() => { timers.delete(id); callback(performance.now()); }, 100));
        return id;
    };
    window.cancelAnimationFrame = id => { clearTimeout(timers.get(id)); timers.delete(id); };
})();"""


def find_chromium() -> str | None:
    env = os.environ.get("GENXD_CHROMIUM")
    if env:
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def png_pixels(png: bytes) -> np.ndarray:
    """``uint8 [H, W, 3]`` of a screenshot."""
    import PIL.Image

    return np.asarray(PIL.Image.open(io.BytesIO(png)).convert("RGB"))


def differs(pixels: np.ndarray, colour, threshold: float = 40.0) -> np.ndarray:
    """``bool [H, W]``: pixels whose largest channel difference from ``colour`` exceeds ``threshold``."""
    return np.abs(pixels.astype(np.int16) - np.asarray(colour, np.int16)).max(-1) > threshold


class DemoServer:
    """``genxd demo`` in a subprocess on a free port; :meth:`stop` ends it (SIGTERM) and reports its root folder."""

    def __init__(self, port: int, extra_args: list[str] | None = None, timeout: float = 180.0):
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONPATH=str(root / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   GRADIO_ANALYTICS_ENABLED="False")
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"genxd-demo-test-{port}.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "genxd", "demo", "--port", str(port), *(extra_args or [])],
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT)
        start = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"genxd demo exited with {self.proc.returncode}:\n{self.log()}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=2)
                break
            except OSError:
                if time.monotonic() - start > timeout:
                    self.stop()
                    raise RuntimeError(f"genxd demo did not answer within {timeout:.0f} s:\n{self.log()}")
                time.sleep(0.5)
        self.startup_s = time.monotonic() - start

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def root(self) -> Path | None:
        m = re.search(r"temporary files in (\S+)", self.log())
        return Path(m.group(1)) if m else None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)
