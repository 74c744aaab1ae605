"""`genxd demo` on a port it cannot serve: one error line before the model loads (it printed "demo at ..." for the
other server's address, loaded the model, then died in a Gradio traceback)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")


def _taken_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server, server.getsockname()[1]


def test_a_port_in_use_is_one_error_line_before_anything_loads(monkeypatch):
    from typer.testing import CliRunner

    import genxd.cli.demo as demo_cli
    from genxd.cli import app

    def no_serve(*args, **kwargs):
        raise AssertionError("the demo started although its port is taken")

    monkeypatch.setattr(demo_cli, "serve", no_serve)
    server, port = _taken_port()
    with server:
        res = CliRunner().invoke(app, ["demo", "--port", str(port)])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [f"genxd: error: 127.0.0.1:{port} is in use (another server?); choose another "
                                       "with --port"]


def test_a_free_port_passes_and_an_unknown_host_is_named():
    from genxd.cli.demo import check_port
    from genxd.validation import InvalidValue

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    check_port("127.0.0.1", free)  # no error
    with pytest.raises(InvalidValue, match=r"^--host no-such-host\.invalid: not an address of this machine"):
        check_port("no-such-host.invalid", free)


def test_gradio_failing_to_bind_is_a_value_error_and_ready_is_not_announced():
    """The port can be taken between the check and Gradio's bind: Gradio's OSError (no errno) becomes one line."""
    from genxd.demo.app import launch

    class Blocks:
        def queue(self, **kwargs):
            pass

        def launch(self, **kwargs):
            raise OSError("Cannot find empty port in range: 7861-7861. You can specify a different port ...")

    ready = []
    config = SimpleNamespace(limits=SimpleNamespace(max_file_mb=20.0, max_images=4))
    with pytest.raises(ValueError, match=r"^127.0.0.1:7861 cannot be served \(Cannot find empty port in range: "
                                         r"7861-7861\); choose another with port$"):  # launch's argument
        launch(Blocks(), "127.0.0.1", 7861, config, ["cpu"], on_ready=lambda: ready.append(1))
    from genxd.validation import cli_style

    with cli_style(), pytest.raises(ValueError, match=r"\); choose another with --port$"):  # genxd demo's option
        launch(Blocks(), "127.0.0.1", 7861, config, ["cpu"], on_ready=lambda: ready.append(1))
    assert ready == []


def test_a_missing_model_is_named_before_anything_starts(tmp_path, monkeypatch):
    """``demo -m`` with a typo failed after 12 s of start-up (temporary folder, imports, devices)."""
    from typer.testing import CliRunner

    import genxd.cli.demo as demo_cli
    from genxd.cli import app

    monkeypatch.setattr(demo_cli, "serve", lambda *a, **k: (_ for _ in ()).throw(AssertionError("started")))
    res = CliRunner().invoke(app, ["demo", "-m", str(tmp_path / "nomodel")])
    assert res.exit_code == 2, res.output
    assert len(res.stderr.splitlines()) == 1 and "no GenXD checkpoint at" in res.stderr


def test_gradio_share_in_the_environment_opens_no_public_link(monkeypatch):
    """GRADIO_SHARE=true (or a hosted notebook) made Gradio fetch its tunnel program and open a public link to a
    page without login; the demo serves only the address it is given (found by the web demo audit)."""
    import gradio as gr
    from gradio import networking

    from genxd.demo.app import start
    from genxd.demo.session import Limits

    tunnels = []
    monkeypatch.setattr(networking, "setup_tunnel", lambda *a, **k: tunnels.append(k) or "https://x.gradio.live")
    monkeypatch.setenv("GRADIO_SHARE", "true")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with gr.Blocks(analytics_enabled=False) as demo:
        gr.Markdown("page")
    start(demo, "127.0.0.1", port, SimpleNamespace(limits=Limits()), ["cpu"], quiet=True)
    try:
        assert tunnels == [] and not demo.share and demo.share_url is None
    finally:
        demo.close(verbose=False)
