"""Every relative link of the Markdown pages resolves: each ``[text](target)`` of README.md, docs/**/*.md and the
other tracked pages whose target is a path (not ``http:``, ``mailto:``...) names a file or folder that exists, and a
``#anchor`` on a Markdown target (or a bare ``#anchor``: the page itself) is the GitHub slug of one of that page's
headings. Links and headings inside fenced code blocks and inline code spans do not count.

The same for the plain-text mentions of a page elsewhere (help texts, messages, docstrings and comments of src/,
tests/, benchmarks/, scripts/, .ci/, the pages themselves): ``docs/PAGE.md`` names a page that exists,
``docs/PAGE.md#anchor`` one of its headings, and ``docs/PAGE.md, "Title"`` (or ``docs/PAGE.md "Title"``,
``docs/PAGE.md ("Title")``; a title cut by the line's end counts as far as it goes) the start of one of its headings
or of a bold lead (``**Title ...``), so that a section moved to another page leaves no reference behind.

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
#: ``docs/PAGE.md``, with an optional ``#anchor`` or a quoted title after it
_MENTION = re.compile(r"""(?<![\w/.])docs/([\w/-]+\.md)(?:#([\w-]+))?(?:'s)?(?:[,:]? \(?["']([^"'\n]+)["']?)?""")
#: where plain-text mentions are looked for (benchmarks/results/: records of their day, left as they were)
MENTION_ROOTS = ["README.md", "pyproject.toml", "docs", "src", "tests", "benchmarks", "scripts", ".ci", "examples"]
_TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".txt", ".cfg", ".in", ""}
#: mentions that are not meant as pages (file, mention) -> why. Keep this short.
NOT_PAGES: dict[tuple[str, str], str] = {
    ("tests/test_package_data.py", "docs/x.md"): "a made-up path that the sdist's file filter is tried on",
}


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


def mention_files() -> list[Path]:
    """The text files whose plain-text mentions of docs pages are checked."""
    found: list[Path] = []
    for name in MENTION_ROOTS:
        top = ROOT / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if (path.is_file() and path.suffix in _TEXT_SUFFIXES and not relative.startswith("benchmarks/results/")
                    and "__pycache__" not in relative and path.stat().st_size < 1_000_000):
                found.append(path)
    return found


@lru_cache(maxsize=None)
def section_starts(page: Path) -> tuple[str, ...]:
    """The texts a quoted title may start: each heading's and what follows each ``**``, code marks dropped."""
    lines = prose_lines(page.read_text(encoding="utf-8"))
    starts = [m.group(2).replace("`", "") for _, line in lines if (m := _HEADING.match(line))]
    flat = " ".join(line for _, line in lines).replace("`", "")
    starts += [piece for piece in flat.split("**")[1:]]
    return tuple(starts)


def mention_broken(page_name: str, anchor: str | None, title: str | None) -> str | None:
    """Why the mention ``docs/page_name`` (with its anchor or quoted title) does not resolve, or None."""
    page = ROOT / "docs" / page_name
    if not page.is_file():
        return "no such page"
    if anchor and anchor not in anchors(page):
        return f"no heading #{anchor}"
    title = (title or "").strip().rstrip(".,;)").replace("`", "")
    if len(title) >= 3 and not any(start.lower().startswith(title.lower()) for start in section_starts(page)):
        return f"no heading or bold lead starting {title!r}"
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


def test_a_stale_mention_is_found() -> None:
    assert mention_broken("benchmarks/sampling.md", None, "Sampling (issue 10)") is None
    assert mention_broken("benchmarks.md", None, "Lowest versions") == (
        "no heading or bold lead starting 'Lowest versions'")
    assert mention_broken("benchmarks/parity_spread.md", None, "Lowest versions") is None
    assert mention_broken("nowhere.md", None, None) == "no such page"
    assert _MENTION.search('see docs/cli.md, "Same seed, same scene".').groups() == (
        "cli.md", None, "Same seed, same scene")


def test_mentions_of_pages_resolve() -> None:
    """Each ``docs/PAGE.md`` of the sources, tests, scripts and pages names a page (and heading) that exists."""
    bad: list[str] = []
    for path in mention_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative == "tests/test_docs_links.py":  # this file's own examples
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if "docs/" not in text:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MENTION.finditer(line):
                if (relative, f"docs/{match.group(1)}") in NOT_PAGES:
                    continue
                if why := mention_broken(*match.groups()):
                    bad.append(f"{relative}:{number}: {match.group(0)!r}: {why}")
    assert not bad, "stale mentions of docs pages:\n" + "\n".join(bad)
