"""The help of ``genxd trajectory make`` (its NAME) and of ``genxd generate --camera`` lists the camera presets from
their one torch-free list (:data:`genxd.camera_presets.CAMERA_PRESETS`, kept equal to
``genxd.cameras.trajectories.PRESETS`` by a test): it was a fixed string, which a new preset would not have joined."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: ``genxd ARGS --help`` in a fresh interpreter with a preset ``helix`` added to the list first; prints the help, then
#: a JSON line saying whether torch was imported
_HELP_WITH_A_NEW_PRESET = """
import json, sys
import genxd.camera_presets as presets
presets.CAMERA_PRESETS = (*presets.CAMERA_PRESETS, "helix")
from genxd.cli import main
sys.argv = ["genxd", *json.loads(sys.argv[1]), "--help"]
try:
    main()
except SystemExit:
    pass
print(json.dumps({"torch": "torch" in sys.modules}))
"""


@pytest.mark.parametrize("command", [["trajectory", "make"], ["generate"]])
def test_the_help_names_every_preset_and_a_new_one(command):
    from genxd.cameras.trajectories import PRESETS

    proc = subprocess.run([sys.executable, "-c", _HELP_WITH_A_NEW_PRESET, json.dumps(command)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    *help_lines, last = proc.stdout.splitlines()
    words = " ".join(help_lines).replace(",", " ").replace(".", " ").split()
    assert [name for name in (*PRESETS, "helix") if name not in words] == [], proc.stdout + proc.stderr
    assert json.loads(last) == {"torch": False}  # the help is built without the presets' module (torch)
