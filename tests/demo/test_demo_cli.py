"""`genxd demo` on the command line: its options checked before anything loads, the missing extra named."""

from __future__ import annotations

import sys

import pytest


# ---------------------------------------------------------------------- CLI
def test_cli_checks_its_options_before_loading_anything():
    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from typer.testing import CliRunner

    from genxd.cli import app

    runner = CliRunner()
    for args, text in ((["--port", "0"], "--port must be an integer in 1..65535"),
                       (["--max-images", "0"], "--max-images must be an integer in 1..1000"),
                       (["--device", "tpu"], "--device must be one of cpu, cpu:N, cuda, cuda:N, got")):
        result = runner.invoke(app, ["demo", *args])
        assert result.exit_code == 2 and text in result.output, result.output


def test_cli_says_what_to_install_without_gradio(monkeypatch):
    import importlib
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    monkeypatch.delitem(sys.modules, "genxd.cli.demo", raising=False)  # put back after the test
    with pytest.raises(ImportError) as err:
        importlib.import_module("genxd.cli.demo")
    assert err.value.name == "gradio" and "[demo]" in str(err.value)


@pytest.mark.parametrize("host, address", [("127.0.0.1", "http://127.0.0.1:7860"), ("0.0.0.0", "http://127.0.0.1:7860"),
                                           ("::1", "http://[::1]:7860"), ("::", "http://[::1]:7860"),
                                           ("localhost", "http://localhost:7860")])
def test_the_printed_address_opens_in_a_browser(host, address):
    """``--host ::1`` printed ``http://::1:7860`` and ``--host ::`` ``http://:::7860``, which no browser opens."""
    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    from genxd.cli.demo import page_address

    assert page_address(host, 7860) == address
