"""Relative links and #anchors in README.md and docs/**/*.md resolve (files exist, headings exist)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|!\[[^\]]*\]\(\s*([^)\s]+)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    seen: dict[str, int] = {}
    out = set()
    for h in HEADING.findall(text):
        s = slug(h)
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    out |= set(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text))
    return out


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    bad = []
    for m in LINK.finditer(text):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        path, _, frag = target.partition("#")
        dest = (page.parent / unquote(path)).resolve() if path else page
        where = f"{page.relative_to(root)}: {target}"
        if not dest.exists():
            bad.append(f"{where} (no such file)")
        elif frag and dest.suffix == ".md" and frag not in anchors(dest):
            bad.append(f"{where} (no heading #{frag} in {dest.name})")
    return bad


def test_slug_follows_github():
    assert slug("rrn / rrn-lite: flow-free and edge-native") == "rrn--rrn-lite-flow-free-and-edge-native"
    assert slug("`edgevsr build` options") == "edgevsr-build-options"


def test_checker_catches_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n\n[x](b.md) [y](#top) [z](#nope) `[c](no.md)`\n```\n[q](missing.md)\n```\n")
    assert broken_links(tmp_path / "a.md", tmp_path) == ["a.md: b.md (no such file)",
                                                          "a.md: #nope (no heading #nope in a.md)"]


def test_links_and_anchors_resolve():
    bad = [b for page in PAGES for b in broken_links(page)]
    assert not bad, "broken links in the docs:\n" + "\n".join(bad)
