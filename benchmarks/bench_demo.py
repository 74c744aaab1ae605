"""Time from a click on Generate to a playing video in ``genxd demo``, in a real headless Chromium.

Starts ``genxd demo`` (bundled model, CPU, ``--threads`` threads), uploads ``examples/scene_a.png``, and for
each repeat clicks Generate with the page's default settings and waits until the result video plays
(``currentTime > 0``). Also times "Lift to 3D" once (``--lift-iterations``, 0: skip). Prints and saves
JSON with every figure, the machine's load average and the server's CPU seconds per click (load-independent).

    python benchmarks/bench_demo.py --threads 2 --repeats 3 --out bench_demo.json

Needs ``pip install -e ".[demo-test]"`` and a Chromium (``apt-get install chromium-headless-shell``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the server (OMP_NUM_THREADS)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lift-iterations", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None, help=out_help("bench_demo"))
    args = parser.parse_args()

    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    from playwright.sync_api import sync_playwright

    from tests.demo.browser import CHROMIUM_ARGS, DemoServer, find_chromium
    from tests.helpers import free_port

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium found (apt-get install chromium-headless-shell, or set GENXD_CHROMIUM)")
    load_before = os.getloadavg()
    server = DemoServer(free_port(), ["--device", "cpu"])
    result: dict = {"threads": args.threads, "server_start_s": server.startup_s, "clicks": [], "machine": platform.processor(),
                    "cpu_count": os.cpu_count(), "load_average_before": load_before}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(server.url + "/")
            page.set_input_files("#inputs input[type=file]", str(ROOT / "examples" / "scene_a.png"))
            page.wait_for_function("() => document.querySelector('#status').innerText.includes('Camera path')",
                                   timeout=120_000)
            page.get_by_text("Sampling").click()  # the seed box is in this accordion
            for i in range(args.repeats):
                page.fill("#seed input", str(i))  # a new seed: a new video each time
                page.press("#seed input", "Enter")
                cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
                page.click("#generate")
                # the status first leaves the previous run's "Generated ..." line, then reports this run
                page.wait_for_function("() => !document.querySelector('#status').innerText.includes('Generated')",
                                       timeout=60_000)
                page.wait_for_function("() => document.querySelector('#status').innerText.includes('Generated')",
                                       timeout=1_800_000)
                page.wait_for_function("""() => { const v = document.querySelector('#result-video video');
                                          return v && v.currentTime > 0; }""", timeout=120_000)
                wall, cpu = time.monotonic() - t0, cpu_seconds(server.proc.pid) - cpu0
                result["clicks"].append({"wall_s": wall, "server_cpu_s": cpu})
                print(f"click {i + 1}: {wall:.1f} s to a playing video (server CPU {cpu:.1f} s)", flush=True)
            if args.lift_iterations:
                box = page.locator("#lift-iterations input[type=number]")
                box.fill(str(args.lift_iterations))
                box.press("Enter")
                cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
                page.click("#lift")
                page.wait_for_function("() => document.querySelector('#status').innerText.includes('Gaussians, training')",
                                       timeout=1_800_000)
                page.locator("#splat canvas").wait_for()
                result["lift"] = {"iterations": args.lift_iterations, "wall_s": time.monotonic() - t0,
                                  "server_cpu_s": cpu_seconds(server.proc.pid) - cpu0, "status": page.inner_text("#status")}
                print(f"lift ({args.lift_iterations} steps): {result['lift']['wall_s']:.1f} s", flush=True)
            browser.close()
    finally:
        server.stop()
        server.remove_log()
    walls = [c["wall_s"] for c in result["clicks"]]
    result["median_click_to_video_s"] = statistics.median(walls)
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    save_json(resolve_out(args.out, "bench_demo"), result, indent=2)


if __name__ == "__main__":
    main()
