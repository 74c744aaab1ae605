"""A /generate that Gradio's queue turns away (full: HTTP 503) after its /prepare was taken: the cancel flag that
/prepare asked for stayed, so /cancel said "Cancelling..." with nothing running and the next job took that cancelled
flag and stopped at once (noted by the session-52 demo review)."""

from __future__ import annotations

import pytest

from ..helpers import ROOT, free_port

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")

SCENE = ROOT / "examples" / "scene_a.png"


def test_a_generate_the_full_queue_refused_leaves_no_cancel_flag_behind(tmp_path, monkeypatch):
    from gradio_client import Client, handle_file

    from genxd.demo.app import DemoConfig, build_app, start
    from genxd.demo.jobs import Devices

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    devices = Devices(None, ["cpu"])
    config = DemoConfig(root=tmp_path / "sessions")
    demo = build_app(devices, config)
    port = free_port()
    start(demo, "127.0.0.1", port, config, devices, quiet=True)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path / "downloads"))
    try:
        client.predict(images=[handle_file(str(SCENE))], api_name="/upload")
        client.predict(api_name="/prepare")
        size = demo._queue.max_size
        demo._queue.max_size = 0  # every event now finds the queue full
        with pytest.raises(Exception, match="(?i)queue is full"):
            client.predict(preset="orbit", frames=4, steps=1, api_name="/generate")
        demo._queue.max_size = size
        assert client.predict(api_name="/cancel") == "Nothing to cancel."
        client.predict(api_name="/prepare")
        *_, status = client.predict(preset="orbit", frames=4, steps=1, api_name="/generate")
        assert status.startswith("Generated"), status
    finally:
        client.close()
        demo.close(verbose=False)
