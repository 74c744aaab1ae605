"""The optional extras: pyproject.toml, .ci/run, the README and docs/extras.md name the same ones."""

from __future__ import annotations

import re

import pytest

from .helpers import ROOT, pyproject


def _extras() -> dict[str, list[str]]:
    return pyproject()["project"]["optional-dependencies"]


def _ci_list(name: str) -> str:
    match = re.search(rf'^{name}="([^"]*)"', (ROOT / ".ci" / "run").read_text(), re.M)
    assert match, f".ci/run has no {name}= line"
    return match.group(1)


def test_every_extra_has_a_row_in_docs_extras():
    doc = (ROOT / "docs" / "extras.md").read_text()
    rows = set(re.findall(r"^\| `([\w-]+)` \|", doc, re.M))
    assert rows == set(_extras()), "docs/extras.md needs one table row per extra of pyproject.toml"


def test_ci_installs_the_documented_extras():
    if not (ROOT / ".ci" / "run").is_file():  # an unpacked sdist (MANIFEST.in leaves CI's script out)
        pytest.skip(".ci/run is in the checkout only: no CI script to compare the README with")
    ci_extras = _ci_list("EXTRAS")
    assert set(ci_extras.split(",")) <= set(_extras())
    install = f'pip install -e ".[{ci_extras}]"'
    assert install in (ROOT / "README.md").read_text() and install in (ROOT / "docs" / "extras.md").read_text()
    gsplat = f'BUILD_NO_CUDA=1 pip install --no-build-isolation "{_extras()["gsplat"][0]}"'
    assert gsplat in (ROOT / "README.md").read_text() and gsplat in (ROOT / "docs" / "extras.md").read_text()
    # The README's own install and test commands stay as they are: CI runs them first / last.
    readme = (ROOT / "README.md").read_text()
    assert '```bash\npip install -e ".[dev]"\n```' in readme
    ci_test = re.search(r'"\$TEST_BUDGET" (python3 -m pytest[^\n]*)', (ROOT / ".ci" / "run").read_text())
    assert ci_test and f"```bash\n{ci_test.group(1)}\n```" in readme, "CI runs the README's test command"
