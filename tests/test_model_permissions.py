"""``--model`` a checkpoint folder this user may not read (a copy with one file or folder of mode 000): one line
naming it. It was the loader's "[Errno 13] Permission denied: 'MODEL/unet/config.json'" (no word of the model),
or for the folder itself "none of unet/, vae/, scheduler/ is in it" (found as a user who is not root, session 49).
The tests that need permission bits skip as root (root reads every file); they were run as the user genxdtest."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import genxd
from genxd import checkpoint_folders
from genxd.checkpoint_folders import resolve_checkpoint

SMALL = Path(genxd.__file__).parent / "assets" / "genxd-small"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
@pytest.mark.parametrize("part, kind", [("unet/config.json", "file"), ("scheduler/scheduler_config.json", "file"),
                                        ("vae", "folder"), (".", "folder")])
def test_a_model_part_without_permission_is_named(tmp_path, part, kind):
    """Run as genxdtest: one part of a copy of the bundled model of mode 000."""
    model = tmp_path / "model"
    shutil.copytree(SMALL, model)
    target = model / part
    mode = target.stat().st_mode
    os.chmod(target, 0)
    try:
        with pytest.raises(PermissionError) as caught:
            resolve_checkpoint(model)
    finally:
        os.chmod(target, mode)
    named = model if part == "." else target
    assert str(caught.value) == f"{named}: the model {kind} is not readable: no permission"
    assert resolve_checkpoint(model) == model


def test_a_model_file_without_permission_is_named_any_user(tmp_path, monkeypatch):
    """The same for any user (root reads every file): permission as os.access reports it."""
    model = tmp_path / "model"
    shutil.copytree(SMALL, model)
    weights = next((model / "unet").glob("*.safetensors"))
    real_access = os.access
    monkeypatch.setattr(checkpoint_folders.os, "access", lambda p, m, **kw: Path(p) != weights and real_access(p, m, **kw))
    with pytest.raises(PermissionError, match="the model file is not readable"):
        resolve_checkpoint(model)
