"""What a wheel holds besides the modules: every file under src/genxd that is not Python source is shipped by
pyproject's package-data patterns (a non-editable install reads them from site-packages), and py.typed marks the
package as typed for type checkers (PEP 561)."""

from __future__ import annotations

import sys

from .helpers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    from pip._vendor import tomli as tomllib

PACKAGE = ROOT / "src" / "genxd"


def _shipped() -> set:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        patterns = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["genxd"]
    return {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}


def test_every_data_file_of_the_package_is_shipped():
    data = {p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert (PACKAGE / "assets" / "genxd-small" / "unet" / "config.json") in data
    assert data <= _shipped(), sorted(str(p.relative_to(PACKAGE)) for p in data - _shipped())


def test_py_typed_is_shipped():
    assert PACKAGE / "py.typed" in _shipped()
