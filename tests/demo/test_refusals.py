"""The demo's refusals of a request Gradio cannot read (``genxd.demo.refusals``): one line for the client, one
line in the server log, no traceback. Found by the ``demo-api`` fuzz target (``benchmarks/fuzz_targets_demo.py``):
before, each of these printed Gradio's traceback in the server log and the client got no reason."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.helpers import assert_fuzz_finds_nothing

gr = pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")

from gradio.state_holder import SessionState  # noqa: E402

from genxd.demo.refusals import MAX_REASON, quiet_refusals  # noqa: E402


@pytest.fixture(scope="module")
def page():
    """A page of the demo's kinds of inputs (a session state, files, a table, a slider, a dropdown)."""
    with gr.Blocks() as demo:
        session = gr.State(None)
        files = gr.File(file_count="multiple", label="Input image(s)")
        table = gr.Dataframe(value=[[0.0, 1.0]], headers=["x", "y"], datatype="number", label="Keyframes")
        steps = gr.Slider(10, 5000, value=300, step=10, label="Lift to 3D: optimisation steps")
        preset = gr.Dropdown(["orbit", "pan"], value="orbit", label="Preset")
        status = gr.Markdown()
        button = gr.Button()
        button.click(lambda s, f, t, n, p: f"ok {n} {p}", [session, files, table, steps, preset], status,
                     api_name="go")
    quiet_refusals(demo)
    fn = next(f for f in demo.fns.values() if f.api_name == "go")
    return demo, fn


def call(page, *values):
    demo, fn = page
    return asyncio.run(demo.process_api(block_fn=fn, inputs=[None, *values], state=SessionState(demo)))


def refusal(page, caplog, *values) -> str:
    """The client's message of a refused request; checks it is a quiet gr.Error and one log line."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="genxd.demo"):
        with pytest.raises(gr.Error) as info:
            call(page, *values)
    assert info.value.print_exception is False  # Gradio then prints no traceback
    message = info.value.message
    assert "\n" not in message and len(message) < MAX_REASON + 80, message
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0] and "refused a value" in lines[0], lines
    return message


TABLE = {"headers": ["x", "y"], "data": [[0.0, 1.0]], "metadata": None}


def test_a_valid_request_is_answered(page):
    assert call(page, None, TABLE, 300, "pan")["data"][0] == "ok 300 pan"


def test_too_few_values(page, caplog):
    message = refusal(page, caplog, None, TABLE)  # Gradio's words vary by version; what they hold does not
    assert message.startswith("/go: the request cannot be read (") and "needed: 5, got: 3" in message, message


def test_a_file_without_its_meta_field(page, caplog):
    message = refusal(page, caplog, [{"path": "x.png"}], TABLE, 300, "pan")
    assert message.startswith("/go: the request cannot be read (0: ") and "'meta'" in message, message


def test_a_table_whose_header_is_not_a_list(page, caplog):
    bad = dict(TABLE, headers=None)
    message = refusal(page, caplog, None, bad, 300, "pan")  # pydantic's first error: where, then what
    assert message.startswith("/go: the request cannot be read (headers: ") and "list" in message, message


def test_a_value_of_the_wrong_kind_names_the_control(page, caplog):
    message = refusal(page, caplog, None, TABLE, [1, 2], "pan")
    assert message.startswith("Lift to 3D: optimisation steps: cannot read a value of type list ("), message


def test_gradios_own_message_is_kept(page, caplog):
    message = refusal(page, caplog, None, TABLE, 99999, "pan")
    assert "greater than maximum value 5000" in message, message
    message = refusal(page, caplog, None, TABLE, 300, "zoom")
    assert "zoom" in message and "choices" in message, message


def test_the_demo_api_fuzz_target_finds_nothing(tmp_path):
    """A short fixed-seed run of the ``demo-api`` target (the real page, the bundled model, Gradio's processing of
    each request): 40 mutated requests to the public events, none a traceback or a catch-all."""
    assert_fuzz_finds_nothing("demo-api", 40, tmp_path)
