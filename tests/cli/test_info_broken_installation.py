"""``genxd info`` on a broken installation (what it is run for): a required package that cannot be imported is said,
with how to put it back, the rest of the report still printed; exit code 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from genxd.cli import app

from ..helpers import ROOT


def test_a_torch_that_cannot_be_loaded_is_said_with_the_rest_of_the_report(tmp_path):
    """A torch whose libraries do not load (OSError on import) ended ``genxd info`` in a traceback after the
    versions, the machine and the bundled model left out."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text('raise OSError("libtorch_cpu.so: cannot open shared object file")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "genxd", "info"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    reason = "OSError: libtorch_cpu.so: cannot open shared object file"
    assert done.returncode == 1 and done.stderr.splitlines() == [
        f"genxd: error: torch cannot be imported ({reason})"], done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("genxd ") and lines[2].startswith("dependencies: torch "), lines
    assert f"torch: cannot be imported ({reason})" in lines, lines
    assert any(line.startswith("cpu: ") and "logical core" in line for line in lines), lines
    assert any(line.startswith("bundled model: ") for line in lines) and lines[-1] == "  not checked: torch cannot be imported"


def test_a_missing_package_is_not_said_to_be_a_damaged_model(monkeypatch):
    """Without safetensors, the bundled model's weights were said to be damaged ("not a readable safetensors file
    ... a download or copy that stopped? get it again"), exit 0: the package missing is said, with its pip
    command, and the model left unchecked."""
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors: ModuleNotFoundError
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 1, result.output
    assert "damaged" not in result.stdout and "Traceback" not in result.output, result.output
    missing = "the package safetensors cannot be imported (import of safetensors halted; None in sys.modules)"
    assert result.stdout.splitlines()[-1].startswith(f"  not checked: {missing}, and genxd needs it: install it with "
                                                     'pip install "safetensors'), result.stdout
    assert result.stderr.splitlines() == [f"genxd: error: the bundled model cannot be checked: "
                                          f"{result.stdout.splitlines()[-1].removeprefix('  not checked: ')}"]
