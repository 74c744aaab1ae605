"""TF32 scopes (genxd.pipelines.tf32) with both of PyTorch's precision APIs: the legacy ``allow_tf32`` flags and the
newer ``fp32_precision`` settings, which PyTorch refuses to read back once they are mixed. The scopes wrote the legacy
flags whatever the caller used: a caller on the new API had the scope raise on entry, or torch's getters raise after
it. CPU-only: the settings are process state, settable without CUDA."""

from __future__ import annotations

import pytest
import torch

from genxd.pipelines.tf32 import with_pipeline_tf32

from ..conftest import fp32_holder, precision_reads


class _Pipe:
    """A pipeline that asks for TF32 and records the settings its sampling ran under."""

    tf32 = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    @with_pipeline_tf32
    def __call__(self) -> None:
        self.seen.append(tuple(fp32_holder(name).fp32_precision for name in ("cuda.matmul", "cudnn.conv", "cudnn.rnn")))


def _set(name: str, value: str) -> None:
    fp32_holder(name).fp32_precision = value


#: callers' settings: through the new API (as PyTorch's notes suggest), and through the legacy one
CALLERS = {
    "new: matmul tf32": lambda: _set("cuda.matmul", "tf32"),
    "new: generic tf32": lambda: _set("", "tf32"),
    "new: generic ieee": lambda: _set("", "ieee"),
    "new: cudnn conv ieee": lambda: _set("cudnn.conv", "ieee"),
    "new: matmul ieee": lambda: _set("cuda.matmul", "ieee"),
    "legacy: medium": lambda: torch.set_float32_matmul_precision("medium"),
    "legacy: flags off": lambda: (setattr(torch.backends.cuda.matmul, "allow_tf32", False),
                                  setattr(torch.backends.cudnn, "allow_tf32", False)),
    "untouched": lambda: None,
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_the_scope_runs_in_tf32_and_puts_back_every_getters_answer(precision_restored, caller):
    """Before, the new-API callers had the call raise on entry (the legacy getters the scope saved refuse to read a
    new-API state), and a ``set_float32_matmul_precision('medium')`` caller had
    ``torch.get_float32_matmul_precision()`` raise after the call (the scope wrote the matmul flag, i.e. 'high',
    over 'medium' and back)."""
    CALLERS[caller]()
    before = precision_reads()
    pipe = _Pipe()
    pipe()
    assert pipe.seen == [("tf32", "tf32", "tf32")]
    assert precision_reads() == before  # every setting, and every legacy getter answering (or refusing) as before


@pytest.mark.parametrize("caller", [name for name in CALLERS if name != "new: matmul tf32"])
def test_legacy_readers_inside_the_scope_answer_where_they_did_before(precision_restored, caller):
    """PyTorch's own legacy readers (inductor's autotuning cache keys call ``torch.get_float32_matmul_precision()``)
    run inside the scope: where they answered before the call they answer within it."""
    CALLERS[caller]()
    answered = {name for name, value in precision_reads().items() if value != "raises"}
    inside: list[dict[str, object]] = []
    TF32Pipe = type("TF32Pipe", (), {"tf32": True, "__call__": with_pipeline_tf32(lambda self: inside.append(
        precision_reads()))})
    TF32Pipe()()
    assert {name for name, value in inside[0].items() if value != "raises"} >= answered


def test_a_new_api_setting_still_inherits_after_the_call(precision_restored):
    """A caller who set only the generic setting: the matmul setting inherits it, and still does after the call
    (the legacy scope wrote the matmul setting explicitly on its way out, so a later generic change no longer
    reached matrix products)."""
    _set("", "ieee")
    _Pipe()()
    _set("", "tf32")
    assert torch.backends.cuda.matmul.fp32_precision == "tf32"


def test_a_state_puts_back_only_what_changed(precision_restored):
    """``TF32State.restore`` (used after accelerate's Accelerator is made with allow_tf32 false) undoes a legacy
    write for a caller on the new API, whose legacy getters refuse to read."""
    from genxd.pipelines.tf32 import TF32State

    _set("cuda.matmul", "tf32")
    before = precision_reads()
    state = TF32State.capture()
    torch.backends.cuda.matmul.allow_tf32 = True  # accelerate's dynamo backend without mixed precision on CUDA
    state.restore()
    assert precision_reads() == before
