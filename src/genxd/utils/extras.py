"""The command that installs one of genxd's optional extras (pyproject's ``[project.optional-dependencies]``;
``docs/extras.md``), for the messages of the code that needs one.

``pip install "genxd[ray]"`` works for every install: from a wheel or an sdist it adds the extra's packages at
genxd's bounds, and in an editable checkout pip finds genxd installed and adds them likewise (``pip install -e
".[ray]"`` only works from the checkout's folder; a bare ``pip install ray`` ignores genxd's bounds).
"""

from __future__ import annotations

#: The extras of pyproject.toml whose packages genxd's code imports when asked (tests/utils/test_extras_hints.py
#: checks these against pyproject.toml).
EXTRAS = ("ray", "gsplat", "tensorboard", "models", "train", "train-data", "demo")


def install_extra(extra: str) -> str:
    """``pip install "genxd[EXTRA]"``: the command to put in a message about a missing optional package."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r} (one of {', '.join(EXTRAS)})")
    return f'pip install "genxd[{extra}]"'
