"""Input i of ``genxd generate`` uses ``--seed + i``: a seed whose last input's seed is above the largest one
``--seed`` takes (2**63 - 1) is refused before any work. Before, the run went ahead and meta.json recorded seed
2**63 for the second input, a seed that ``--seed`` then refused when the scene was to be made again alone."""

from __future__ import annotations

import numpy as np
import PIL.Image
from typer.testing import CliRunner

from genxd.cli import app

runner = CliRunner()
LARGEST = 2**63 - 1


def test_a_seed_leaving_no_seed_for_the_last_input_exits_2_before_any_work(tmp_path):
    images = [tmp_path / f"{name}.png" for name in "ab"]
    for image in images:
        PIL.Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    out = tmp_path / "out"
    res = runner.invoke(app, ["generate", *map(str, images), "-o", str(out), "--seed", str(LARGEST), "--steps", "1"])
    assert res.exit_code == 2, res.output
    assert (f"genxd: error: --seed {LARGEST}: input i uses seed + i, so the last of the 2 inputs would use "
            f"{LARGEST + 1}, above the largest seed {LARGEST}; give a seed of at most {LARGEST - 1}") in res.output
    assert "Traceback" not in res.output and not out.exists()
