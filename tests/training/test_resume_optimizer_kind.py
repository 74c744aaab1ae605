"""Resuming with another optimiser than the checkpoint's (``training.use_8bit_adam`` changed): one error naming the
setting before anything trains; the loaded state failed at the first step with a KeyError traceback."""

from __future__ import annotations

import pytest

from genxd.training.config import load_config
from genxd.training.trainer import train_genxd

from .conftest import QUIET, TINY

pytest.importorskip("bitsandbytes", reason="needs the 'train' extra (bitsandbytes): pip install -e '.[train]'")

_SHORT = [*QUIET, "data.datasets.0.length=2", "training.ema.enabled=false"]


@pytest.mark.parametrize("first", [False, True])
def test_resume_with_the_other_adam_is_refused_naming_the_setting(tmp_path, first):
    out = tmp_path / "run"
    kind = lambda eight_bit, steps: load_config(TINY, [*_SHORT, f"output_dir={out}", f"training.max_steps={steps}",  # noqa: E731
                                                       f"training.use_8bit_adam={str(eight_bit).lower()}"])
    train_genxd(kind(first, 1), cpu=True)
    checkpoint = out / "checkpoints" / "checkpoint-0000001"
    with pytest.raises(ValueError) as caught:
        train_genxd(kind(not first, 2), resume="latest", cpu=True)
    assert str(caught.value).startswith(f"{checkpoint} was trained with training.use_8bit_adam: {str(first).lower()}")
    assert f"resume with training.use_8bit_adam={str(first).lower()}" in str(caught.value)
    assert [c.name for c in (out / "checkpoints").iterdir()] == ["checkpoint-0000001"]  # nothing trained
    # the setting it was trained with resumes
    assert train_genxd(kind(first, 2), resume="latest", cpu=True) == out / "checkpoints" / "checkpoint-0000002"
