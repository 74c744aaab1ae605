"""What a wheel and an sdist hold besides the modules: every file under src/genxd that is not Python source is
shipped by pyproject's package-data patterns (a non-editable install reads them from site-packages), py.typed marks
the package as typed for type checkers (PEP 561), MANIFEST.in puts the test suite and what it reads in the sdist,
and LICENSE ships in both."""

from __future__ import annotations

from pathlib import Path

from .helpers import ROOT, pyproject

PACKAGE = ROOT / "src" / "genxd"


def _shipped() -> set:
    patterns = pyproject()["tool"]["setuptools"]["package-data"]["genxd"]
    return {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}


def test_every_data_file_of_the_package_is_shipped():
    data = {p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert (PACKAGE / "assets" / "genxd-small" / "unet" / "config.json") in data
    assert data <= _shipped(), sorted(str(p.relative_to(PACKAGE)) for p in data - _shipped())


def test_py_typed_is_shipped():
    assert PACKAGE / "py.typed" in _shipped()


def _sdist_files(root: Path, monkeypatch) -> set[str]:
    """The files under ``root`` that MANIFEST.in puts in the sdist (besides the package), as setuptools reads it
    (from ``root``, as the sdist is built)."""
    from setuptools.command.egg_info import FileList

    monkeypatch.chdir(root)
    files = FileList()
    files.findall()
    for line in (root / "MANIFEST.in").read_text().splitlines() if (root / "MANIFEST.in").is_file() else []:
        if line.strip() and not line.lstrip().startswith("#"):
            files.process_template_line(line)
    return {str(Path(f)) for f in files.files}


def test_the_sdist_holds_the_whole_test_suite_and_what_it_reads(monkeypatch):
    """tests/ with its helpers, subfolders and fixtures, docs/, examples/, benchmarks/, scripts/ and LICENSE: an
    unpacked sdist runs pytest (it held the top-level tests/test_*.py alone before)."""
    shipped = _sdist_files(ROOT, monkeypatch)
    expected = {str(p.relative_to(ROOT)) for d in ("tests", "docs", "examples", "benchmarks", "scripts")
                for p in (ROOT / d).rglob("*") if p.is_file() and not {"__pycache__", ".pytest_cache", ".hypothesis",
                                                                        "local"} & set(p.parts) and p.suffix != ".pyc"}
    assert {"tests/helpers.py", "tests/conftest.py", "tests/fixtures/README.md", "LICENSE"} <= shipped
    assert expected <= shipped, sorted(expected - shipped)[:10]


def test_the_sdist_leaves_out_ci_caches_and_outputs(tmp_path, monkeypatch):
    (tmp_path / "MANIFEST.in").write_text((ROOT / "MANIFEST.in").read_text())
    kept = ["LICENSE", "README.md", "tests/helpers.py", "tests/fixtures/a/b.json", "docs/x.md", "benchmarks/results/r.json"]
    left = [".ci/run", "build/lib/x.py", "outputs/tiny/config.yaml", "tests/__pycache__/helpers.cpython-311.pyc",
            "tests/.pytest_cache/v/cache/x", "tests/.hypothesis/examples/x", "benchmarks/results/local/x.json",
            "docs/x.pyc", ".benchmarks/x.json"]
    for name in kept + left:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    shipped = _sdist_files(tmp_path, monkeypatch)
    assert shipped >= set(kept) and not shipped & set(left), shipped


def test_the_license_ships():
    """pyproject's Apache-2.0, with the license's text in the wheel and the sdist (there was no LICENSE file)."""
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
