"""docs/training_data.md "Your own dataset": its worked example (a class of one's own named
``package.module.ClassName`` in ``data.datasets``) trains as the doc shows; a type that cannot be imported is one
error line. Before, a ``type`` could only be one of genxd's names ("dataset type must be one of [...]")."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from genxd.cli import app

from tests.helpers import ROOT

DOC = ROOT / "docs" / "training_data.md"
QUIET = ["logging.progress_bar=false", "logging.every_steps=1", "validation.every_steps=0", "checkpoint.every_steps=0"]


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## Your own dataset")
    end = text.find("\n## ", start)  # the next section, if any
    return text[start:] if end < 0 else text[start:end]


@pytest.fixture
def own_data(tmp_path, monkeypatch) -> Path:
    """The doc's mydata.py in a folder with two .npz clips of 4 frames at 32x32 (the tiny preset's size), as cwd
    and on sys.path (the doc's PYTHONPATH=.)."""
    code = re.search(r"```python\n(# mydata\.py\n.*?)```", _section(), re.S).group(1)
    (tmp_path / "mydata.py").write_text(code)
    clips = tmp_path / "my_clips"
    clips.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        c2w = np.tile(np.eye(4, dtype=np.float32), (4, 1, 1))
        c2w[:, 0, 3] = np.linspace(0, 0.2, 4)
        K = np.tile(np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]], np.float32), (4, 1, 1))
        np.savez(clips / f"clip{i}.npz", frames=rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8), c2w=c2w, K=K)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mydata", raising=False)
    return tmp_path


def _doc_command() -> list[str]:
    line = next(line for line in _section().splitlines() if line.startswith("PYTHONPATH=. genxd train"))
    words = shlex.split(line)
    assert words[:3] == ["PYTHONPATH=.", "genxd", "train"]
    return words[2:]


def test_the_docs_own_dataset_trains(own_data):
    args = _doc_command()  # the doc's preset by name (tiny), from this folder outside the repository
    result = CliRunner().invoke(app, [*args, f"output_dir={own_data / 'run'}", *QUIET, "training.max_steps=1",
                                      "training.ema.enabled=false", "--cpu"])
    assert result.exit_code == 0, result.output
    assert "data: 2 items" in result.output
    assert sorted(p.name for p in (own_data / "run" / "checkpoints").glob("checkpoint-*")) == ["checkpoint-0000001"]


@pytest.mark.parametrize("kind, expected", [
    ("nosuchpkg.Clips", "dataset type 'nosuchpkg.Clips': cannot import 'nosuchpkg' (No module named 'nosuchpkg')"),
    ("mydata.Nope", "dataset type 'mydata.Nope': module 'mydata' has no 'Nope'"),
    ("mydata.Path", "dataset type 'mydata.Path' is not a dataset class (a class without __len__ and __getitem__;"),
    ("mydata.np", "dataset type 'mydata.np' is not a dataset class (a module;"),
])
def test_a_type_that_is_not_a_dataset_class_is_one_line(own_data, kind, expected):
    result = CliRunner().invoke(app, ["train", "tiny", f"output_dir={own_data / 'run'}",
                                      *QUIET, f"data.datasets=[{{type: {kind}, root: my_clips}}]", "--cpu"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "Traceback" not in result.output and "UNet:" not in result.output


@pytest.mark.parametrize("kind, expected", [
    (".mydata.Clips", r"^dataset type '\.mydata\.Clips' is not a dotted name package\.module\.ClassName"),
    ("mydata..Clips", r"^dataset type 'mydata\.\.Clips' is not a dotted name"),
    ("my data.Clips", r"^dataset type 'my data\.Clips' is not a dotted name"),
    ("badmod.D", r"^dataset type 'badmod\.D': importing 'badmod' raised RuntimeError: boom at import$"),
])
def test_a_malformed_type_or_a_module_failing_on_import_is_a_value_error(tmp_path, monkeypatch, kind, expected):
    """'.mydata.Clips' was importlib's TypeError (a relative import), a module raising on import its own error."""
    from genxd.data.datasets import build_dataset

    (tmp_path / "badmod.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "badmod", raising=False)
    with pytest.raises(ValueError, match=expected):
        build_dataset({"type": kind})
