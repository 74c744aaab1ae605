"""Every relative link of the Markdown pages resolves: each ``[text](target)`` of README.md, docs/**/*.md and the
other tracked pages whose target is a path (not ``http:``, ``mailto:``...) names a file or folder that exists, and a
``#anchor`` on a Markdown target (or a bare ``#anchor``: the page itself) is the GitHub slug of one of that page's
headings. Links and headings inside fenced code blocks and inline code spans do not count.

GitHub's slug of a heading: its text as rendered (inline code keeps its text, a link keeps its text), lower-cased,
every character but letters, digits, ``_``, ``-`` and spaces dropped, spaces turned to ``-``; a repeated slug gets
``-1``, ``-2``... in order.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.helpers import ROOT

PAGES = [ROOT / "README.md", ROOT / "examples" / "README.md", ROOT / "tests" / "fixtures" / "README.md",
         *sorted((ROOT / "docs").rglob("*.md"))]

_FENCE = re.compile(r"^\s*(```+|~~~+)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
#: ``[text](target)`` or ``![alt](target)``, target without spaces, an optional "title" after it
_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of ``text`` outside fenced code blocks; a fence closes only with its own marker."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
        elif fence is not None and opened and opened.group(1).startswith(fence):
            fence = None
        elif fence is None:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's Markdown text (before de-duplication)."""
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip(), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text)  # emphasis markers (an inner _ stays, as in a_b)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(page: Path) -> frozenset[str]:
    """Every heading anchor of a Markdown page, with GitHub's -1, -2 ... for repeats."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every relative link of a page, code blocks and code spans left out."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        line = _CODE_SPAN.sub("", line)
        for match in _LINK.finditer(line):
            target = match.group(2)
            if target and not _SCHEME.match(target) and not target.startswith("//"):
                found.append((number, target))
    return found


def broken(page: Path, target: str) -> str | None:
    """Why ``target`` (a link of ``page``) does not resolve, or None when it does."""
    path, _, anchor = target.partition("#")
    where = (page.parent / unquote(path)).resolve() if path else page
    if path.startswith("/"):
        where = (ROOT / unquote(path).lstrip("/")).resolve()
    if not where.exists():
        return f"no file {path}"
    if anchor and where.suffix == ".md" and where.is_file() and unquote(anchor) not in anchors(where):
        name = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where.name
        return f"no heading #{anchor} in {name}"
    return None


def test_slug_of_github_headings() -> None:
    """The slugs GitHub gives to headings of the shapes the docs use (checked against links that work on GitHub)."""
    assert slug("Sampling (issue 10): `benchmarks/bench_sampling.py`, `benchmarks/profile_fast_path.py`") == (
        "sampling-issue-10-benchmarksbench_samplingpy-benchmarksprofile_fast_pathpy")
    assert slug("The server's start with deferred imports (2026-12-06, session 50)") == (
        "the-servers-start-with-deferred-imports-2026-12-06-session-50")
    assert slug("Camera accuracy of generated videos: `genxd eval-camera`") == (
        "camera-accuracy-of-generated-videos-genxd-eval-camera")


def test_links_inside_code_do_not_count(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n```\n[x](missing.md)\n# Not a heading\n```\n\n`[y](gone.md)` and [z](#title)\n",
                    encoding="utf-8")
    assert links(page) == [(8, "#title")]
    assert anchors(page) == {"title"}


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Part one\n\n## Part one\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("[a](other.md#part-one-1) [b](other.md#part-two) [c](nowhere.md) [d](other.md)\n",
                    encoding="utf-8")
    assert [broken(page, target) for _, target in links(page)] == [
        None, "no heading #part-two in other.md", "no file nowhere.md", None]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    """Each relative link of the page names a file that exists and, with #anchor, one of its headings."""
    bad = [f"{page.relative_to(ROOT)}:{number}: ({target}): {why}"
           for number, target in links(page) if (why := broken(page, target))]
    assert not bad, "broken links:\n" + "\n".join(bad)
