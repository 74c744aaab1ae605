"""How the demo page refuses a request it cannot read: one line for the client, one line in the server log.

A client of the page's API (``gradio_client``, ``curl``) can post any JSON. Gradio checks a request before genxd's
handler sees it: the number of values, each value against its component's data model (a file's fields, a table's
headers), files against the upload folder, then each component's ``preprocess`` (a slider's range). Its refusals
are exceptions; any exception but a ``gr.Error`` that says not to, makes Gradio print a full traceback in the
server log and send the client no reason. :func:`quiet_refusals` turns each of them into a ``gr.Error`` with a
one-line reason (the component's label where one is known) and logs one line instead.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import gradio as gr

from ..utils.messages import first_line

__all__ = ["quiet_refusals", "MAX_REASON"]

log = logging.getLogger("genxd.demo")

MAX_REASON = 200  # characters of the underlying error a reason keeps (Gradio's own can be pages long)


def _reason(exc: BaseException) -> str:
    """One line from one of Gradio's refusals: pydantic's first error (where and what), else the first line."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":  # pydantic, without importing it
        try:
            first = errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ()))
            return first_line(Exception(f"{where}: {first.get('msg')}" if where else first.get("msg")), limit=MAX_REASON)
        except Exception:  # noqa: BLE001 - the plain text then
            pass
    return first_line(exc, limit=MAX_REASON)


def _refuse(what: str, reason: str) -> gr.Error:
    log.warning("genxd demo: refused a value for %r: %s", what, reason)
    return gr.Error(f"{what}: {reason}" if not reason.startswith(what) else reason, print_exception=False)


class _QuietPreprocess:
    """A component's ``preprocess`` whose refusal (``gr.Error`` or any other exception) is one line."""

    def __init__(self, fn: Callable[[Any], Any], label: str):
        self.fn, self.label = fn, label

    def __call__(self, payload: Any) -> Any:
        try:
            return self.fn(payload)
        except gr.Error as exc:  # Gradio's own message (e.g. "Value 99999 is greater than maximum value 5000")
            exc.print_exception = False
            log.warning("genxd demo: refused a value for %r: %s", self.label, exc.message)
            raise
        except Exception as exc:  # noqa: BLE001 - a value of the wrong kind (a text for a slider, a list for a path)
            raise _refuse(self.label, f"cannot read a value of type {type(payload).__name__} "
                                      f"({_reason(exc)})") from None


def quiet_refusals(demo: gr.Blocks, on_refused: Callable[[Any, Any], None] | None = None) -> None:
    """Make every refusal of a request by ``demo`` one line (see the module's text): each input component's
    ``preprocess``, and the checks Gradio runs before it (``Blocks.preprocess_data``). ``on_refused(block_fn,
    state)``: called with the refused event and the page's Gradio state (what undoes an earlier event's preparation
    for it), before the refusal goes to the client."""
    fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
    components = {id(c): c for fn in fns for c in fn.inputs if hasattr(c, "preprocess")}
    for comp in components.values():
        # an instance's method wrapped (mypy refuses assigning to a method)
        comp.preprocess = _QuietPreprocess(  # type: ignore[method-assign]
            comp.preprocess, getattr(comp, "label", None) or type(comp).__name__)
    checks = demo.preprocess_data

    @functools.wraps(checks)
    async def preprocess_data(block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await checks(block_fn, inputs, *args, **kwargs)
        except gr.Error as exc:
            exc.print_exception = False
            refused(block_fn, args[0] if args else kwargs.get("state"))
            raise
        except Exception as exc:  # noqa: BLE001 - Gradio's checks of the request, before any component
            refused(block_fn, args[0] if args else kwargs.get("state"))
            name = getattr(block_fn, "api_name", None) or getattr(getattr(block_fn, "fn", None), "__name__", "?")
            raise _refuse(f"/{name}", f"the request cannot be read ({_reason(exc)})") from None

    def refused(block_fn: Any, state: Any) -> None:
        if on_refused is not None:
            try:
                on_refused(block_fn, state)
            except Exception:  # noqa: BLE001 - the refusal is still the client's answer
                log.exception("genxd demo: undoing a refused request failed")

    demo.preprocess_data = preprocess_data  # type: ignore[method-assign]
    _refused_at_the_queue(demo, refused)


def _refused_at_the_queue(demo: gr.Blocks, refused: Callable[[Any, Any], None]) -> None:
    """``refused(block_fn, state)`` for an event Gradio's queue turns away before any check runs (the queue full:
    HTTP 503; no function named). Its ``push`` is Gradio's own (``Blocks._queue``, not public API): where a Gradio
    release has none, nothing is wrapped and such a refusal is not seen here. ``demo.queue(...)`` makes a new
    queue: it is wrapped too, so the queue :func:`genxd.demo.app.start` sets up is the one seen."""
    make_queue = demo.queue

    @functools.wraps(make_queue)
    def queue(*args: Any, **kwargs: Any) -> Any:
        out = make_queue(*args, **kwargs)
        _wrap_push(demo, refused)
        return out

    demo.queue = queue  # type: ignore[method-assign]
    _wrap_push(demo, refused)


def _wrap_push(demo: gr.Blocks, refused: Callable[[Any, Any], None]) -> None:
    queue = getattr(demo, "_queue", None)
    push = getattr(queue, "push", None)
    if push is None:
        return

    @functools.wraps(push)
    async def checked_push(body: Any, *args: Any, **kwargs: Any) -> Any:
        out = await push(body, *args, **kwargs)
        if isinstance(out, tuple) and out and out[0] is False:
            try:
                block_fn = demo.fns[body.fn_index]
                holder, page = demo.state_holder, getattr(body, "session_hash", None)
                state = holder[page] if page is not None and page in holder else None
            except Exception:  # noqa: BLE001 - no function or no page: nothing was asked for that could be undone
                return out
            refused(block_fn, state)
        return out

    setattr(queue, "push", checked_push)
