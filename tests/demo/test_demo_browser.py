"""``genxd demo`` driven in a real headless Chromium (Playwright), as a person would use it.

Needs the ``demo`` extra (gradio, playwright) and a Chromium binary (Debian: ``apt-get install
chromium-headless-shell``; or GENXD_CHROMIUM=/path/to/chrome); skipped with the reason otherwise.
With GENXD_DEMO_SCREENSHOTS=1 the page is saved at each step into docs/images/demo_*.png.
"""

from __future__ import annotations

import importlib.util
import io
import os
import time
import zipfile

import numpy as np
import pytest

from ..helpers import ROOT, free_port
from .browser import CHROMIUM_ARGS, FRAME_RATE_SCRIPT, DemoServer, differs, find_chromium, png_pixels

# looked up, not imported: the server runs in its own process, and importing gradio here cost every pytest worker
# about 3-5 s of collection on a 2-core machine
if importlib.util.find_spec("gradio") is None:
    pytest.skip("the demo extra is not installed (pip install -e '.[demo]')", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[demo]')")

SCREENSHOTS = os.environ.get("GENXD_DEMO_SCREENSHOTS") == "1"
# CI: tiny settings (3 denoising steps, 10 optimisation steps); screenshots for the docs: the page's defaults
STEPS, LIFT_STEPS, JOB_TIMEOUT_S = (None, 300, 1800) if SCREENSHOTS else (3, 10, 300)
SHOT_DIR = ROOT / "docs" / "images"
SCENE = ROOT / "examples" / "scene_a.png"
PREVIEW_BG = (31, 31, 36)  # the camera preview's clear colour (0.12, 0.12, 0.14)


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(SHOT_DIR / f"demo_{name}.png"), full_page=True, timeout=120_000)


def element_pixels(page, locator) -> np.ndarray:
    """The element's pixels from a page screenshot (not an element screenshot: that waits for the element to
    be still for two animation frames, which a WebGL viewer rendering on a busy CPU may never give)."""
    box = locator.bounding_box()
    clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}
    return png_pixels(page.screenshot(clip=clip, timeout=120_000))


@pytest.fixture(scope="module")
def server():
    # without a browser every test skips, and a server started anyway was stopped while it still loaded the model
    # (pytest sets up module fixtures before function ones: `server` came before `page`'s `browser`), which exits
    # 130 and failed the teardown's exit-code check. Not by depending on `browser`: the server would then stop
    # before the browser closes, and Gradio waits for its open connections (5.5 s)
    if find_chromium() is None:
        pytest.skip("no Chromium found (apt-get install chromium-headless-shell, or set GENXD_CHROMIUM)")
    # CI: 500 Gaussians. The splat viewer draws through SwiftShader (WebGL on the CPU); large young Gaussians
    # cost it seconds a frame at 5,000, starving the page and the server.
    srv = DemoServer(free_port(), [] if SCREENSHOTS else ["--lift-points", "500"])
    yield srv
    root = srv.root()
    code = srv.stop()
    assert code == 0, srv.log()
    assert root is not None and not root.exists(), f"temporary folder left behind: {root}"
    # SIGTERM stops it quietly, with genxd's own line (not Gradio's "Keyboard interruption ..." ones)
    log = srv.log()
    assert log.rstrip().endswith("genxd: demo stopped") and "Keyboard interruption" not in log, log[-2000:]
    srv.remove_log()


@pytest.fixture(scope="module")
def browser():
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found (apt-get install chromium-headless-shell, or set GENXD_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start is a missing browser
            pytest.skip(f"Chromium at {path} does not start: {exc}")
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    context.add_init_script(FRAME_RATE_SCRIPT)  # 10 animation frames a second: the viewers' redraws (browser.py)
    pg = context.new_page()
    outside: list[str] = []
    local = server.url
    pg.on("request", lambda r: None if r.url.startswith((local, "data:", "blob:")) else outside.append(r.url))
    pg.goto(local + "/")
    pg.wait_for_selector("#inputs input[type=file]", state="attached")
    yield pg
    context.close()  # returns at once; Chromium tears the page down in the background
    assert not outside, f"the page fetched from outside this machine: {outside[:5]}"


def status(page) -> str:
    return page.inner_text("#status")


def wait_status(page, text: str, timeout_s: float) -> str:
    page.wait_for_function("t => document.querySelector('#status').innerText.includes(t)", arg=text,
                           timeout=timeout_s * 1000)
    return status(page)


def set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def page_background(page, selector: str) -> tuple[int, int, int]:
    """The first opaque background colour at or above ``selector`` (what a transparent canvas shows)."""
    rgb = page.evaluate("""sel => {
        for (let e = document.querySelector(sel); e; e = e.parentElement) {
            const m = getComputedStyle(e).backgroundColor.match(/[\\d.]+/g);
            if (m && (m.length < 4 || parseFloat(m[3]) > 0)) return m.slice(0, 3).map(Number);
        }
        return [255, 255, 255];
    }""", selector)
    return tuple(int(v) for v in rgb)


def test_corrupt_image_shows_error(page, tmp_path):
    bad = tmp_path / "broken_photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"this is not image data" * 10)
    page.set_input_files("#inputs input[type=file]", str(bad))
    text = wait_status(page, "Error", 60)
    assert "broken_photo.png: cannot read image" in text, text
    assert "/tmp" not in text and "gradio" not in text, text  # no server paths
    assert page.locator("#input-gallery img").count() == 0
    shot(page, "6_error")
    page.click("#generate")  # nothing to generate: said so, nothing runs
    wait_status(page, "upload an image first", 30)


def test_camera_path_from_a_video_and_a_path_longer_than_the_window(page, tmp_path):
    # the "From a video" source follows an uploaded clip's camera (SfM once per upload); 12 frames are more
    # than the bundled model's window of 8: made window by window, and the status says how
    from genxd.data.synthetic import make_clip
    from genxd.data.synthetic.writers import write_video

    clip = make_clip(11, "4d", 12, 128, 128, camera="handheld", motion_strength=0.5)
    video = tmp_path / "walk.mp4"
    write_video(video, clip.images, fps=8.0, quality=9)
    page.set_input_files("#inputs input[type=file]", str(SCENE))
    wait_status(page, "Camera path: orbit", 60)
    page.locator("#camera-source").get_by_text("From a video").click()
    page.set_input_files("#camera-video input[type=file]", str(video))
    text = wait_status(page, "Camera path: walk.mp4", 180)
    assert "8 frames" in text, text
    set_number(page, "frames", 12)
    page.locator("#frames input[type=range]").dispatch_event("pointerup")  # the preview updates on release
    wait_status(page, "Camera path: walk.mp4, 12 frames", 60)
    page.get_by_text("Sampling").click()
    set_number(page, "steps", 1)  # the windows are the point here, not the sampling: one UNet call per window
    set_number(page, "guidance", 1)
    page.click("#generate")
    text = wait_status(page, "Generated 12 frames", JOB_TIMEOUT_S)
    assert "longer than the model's window of 8 frames" in text, text


# Last: closing a page whose WebGL viewers render through SwiftShader keeps Chromium busy for a while.
@pytest.mark.slow
def test_generate_video_and_lift_to_3d(page, server):
    # 1. upload: the image is validated, shown, and the camera preview appears
    page.set_input_files("#inputs input[type=file]", str(SCENE))
    wait_status(page, "Camera path: orbit", 60)
    page.wait_for_selector("#input-gallery img")
    canvas = page.locator("#camera-preview canvas")
    canvas.wait_for()
    if SCREENSHOTS:
        time.sleep(1.5)  # the viewer's first frames, for the docs' picture (nothing is checked on them)
    shot(page, "1_upload")

    # 2. pick a preset: the preview shows the new path
    page.locator("#preset input").click()
    page.get_by_role("option", name="forward").click()
    text = wait_status(page, "Camera path: forward", 30)
    assert "8 frames; input images at frames 0" in text
    page.locator("#param-forward-azimuth_range").wait_for(state="visible", timeout=10000)  # its parameters
    # The viewer (WebGL on the CPU through SwiftShader) redraws the new path over several frames, slowly when the
    # machine is busy (CI once caught a frame without the orange frustum after 1.5 s): look until it is drawn
    # (every 0.3 s: a screenshot each time, no fixed wait before the first).
    deadline = time.monotonic() + 30
    while True:
        pixels = element_pixels(page, canvas)
        drawn = differs(pixels, PREVIEW_BG)
        r, g, b = (pixels[..., c].astype(np.float32) for c in range(3))
        orange = (r > 150) & (g > 0.4 * r) & (g < 0.75 * r) & (b < 80)  # (255, 140, 25) antialiased: about 60-80 px
        if (drawn.mean() > 0.005 and orange.sum() > 20) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    # frusta lines and the textured first frustum: measured about 2-4% of the canvas at 1400 px wide
    assert drawn.mean() > 0.005, f"camera preview draws {drawn.mean():.4f} of its pixels"
    assert orange.sum() > 20, "the first (input) frustum is not drawn in orange"
    shot(page, "2_preset")

    # 3. generate on the CPU with few steps; progress shows while it runs
    page.get_by_text("Sampling").click()
    if STEPS is not None:
        set_number(page, "steps", STEPS)
    start = time.monotonic()
    page.click("#generate")
    saw_progress = False
    while time.monotonic() - start < JOB_TIMEOUT_S:
        if page.evaluate("() => document.body.innerText.includes('denoising step')"):
            saw_progress = True
            if SCREENSHOTS:  # for the docs: a bar part-way
                page.wait_for_function("() => document.body.innerText.includes('denoising step 10 of')",
                                       timeout=JOB_TIMEOUT_S * 1000)
            shot(page, "3_progress")
            break
        if "Generated" in status(page):
            break
        time.sleep(0.1)
    wait_status(page, "Generated 8 frames", JOB_TIMEOUT_S)
    click_to_video = time.monotonic() - start
    assert saw_progress, "no progress was shown during generation"
    video = page.locator("#result-video video")
    video.wait_for()
    meta = video.evaluate("""v => new Promise(done => {
        const read = () => done({duration: v.duration, width: v.videoWidth, height: v.videoHeight});
        if (v.readyState >= 1) read(); else v.addEventListener('loadedmetadata', read, {once: true});
    })""")
    assert meta["duration"] > 0 and meta["width"] == 64 and meta["height"] == 64, meta
    page.wait_for_function("v => v.currentTime > 0", arg=video.element_handle(), timeout=20000)  # it plays
    shot(page, "4_video")
    for t in (0.1, meta["duration"] * 0.8):  # a frame near the start and one near the end
        video.evaluate("""(v, t) => new Promise(done => {
            v.pause(); v.addEventListener('seeked', () => done(), {once: true}); v.currentTime = t; })""", t)
        box = video.bounding_box()
        # the frame is letterboxed in the element: read the centre square
        side = min(box["width"], box["height"]) * 0.8
        clip = {"x": box["x"] + (box["width"] - side) / 2, "y": box["y"] + (box["height"] - side) / 2,
                "width": side, "height": side}
        frame = png_pixels(page.screenshot(clip=clip, timeout=120_000)).astype(np.float32)
        assert 10 < frame.mean() < 245 and frame.std() > 4, (t, frame.mean(), frame.std())
    # the zip holds the output folder
    href = page.locator("#download").evaluate("e => (e.closest('a') || e.querySelector('a') || e).href || e.getAttribute('href')")
    if href:
        data = page.request.get(href).body()
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert "scene/video.mp4" in names and "scene/cameras.json" in names, names[:10]

    # 4. lift to 3D with few steps: the splat viewer draws the Gaussians
    set_number(page, "lift-iterations", LIFT_STEPS)
    page.click("#lift")
    wait_status(page, "Gaussians, training PSNR", JOB_TIMEOUT_S)
    splat = page.locator("#splat canvas")
    splat.wait_for()
    background = page_background(page, "#splat canvas")
    deadline = time.monotonic() + 30  # the Gaussians' first frames (was a fixed 2 s): looked at until drawn
    while True:
        pixels = element_pixels(page, splat)
        drawn = differs(pixels, background, 30)
        if drawn.mean() > 0.2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert drawn.mean() > 0.2, f"splat viewer draws {drawn.mean():.3f} of its pixels (background {background})"
    shot(page, "5_lift")
    print(f"\nserver start {server.startup_s:.1f} s, click to video ({STEPS or 'default'} steps) {click_to_video:.1f} s")
