"""Check that the built documentation site loads nothing from other hosts.

Usage: python scripts/check_site.py SITE_DIR

The site must work offline and tell no third party who reads it. Every page's
resources (stylesheets, scripts, images, frames, media, preconnects, fonts in
inline styles) and every ``url()`` and ``@import`` of the site's CSS must be
local. Links a reader clicks (``<a href>``) may point anywhere. The Material
theme's repository facts (the ``source`` component, which asks the repository
host's API for stars and forks on every page load) count as an outside request
too. Prints each offending page and URL and exits 1, or prints a one-line
summary.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: Attributes through which a browser fetches something while showing a page.
RESOURCE_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
#: ``<link rel=...>`` values that make the browser fetch (or connect to) the href.
FETCHING_RELS = {
    "stylesheet",
    "preload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "modulepreload",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "manifest",
}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


def is_outside(url: str) -> bool:
    """Whether fetching ``url`` would reach another host."""
    url = url.strip().lower()
    return url.startswith(("http://", "https://", "//"))


class PageResources(HTMLParser):
    """Collects what a page would fetch from other hosts."""

    def __init__(self) -> None:
        super().__init__()
        self.outside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        urls = [values[name] for name in RESOURCE_ATTRIBUTES.get(tag, ()) if name in values]
        if tag == "link" and FETCHING_RELS & set(values.get("rel", "").lower().split()):
            urls.append(values.get("href", ""))
        urls += [m.group(1) or m.group(2) for m in CSS_URL.finditer(values.get("style", ""))]
        for url in urls:
            # srcset: "url 1x, url 2x"
            for candidate in url.split(","):
                if candidate.strip() and is_outside(candidate.split()[0]):
                    self.outside.append(f"<{tag}> {candidate.strip()}")
        if values.get("data-md-component") == "source":
            self.outside.append("the theme's repository facts (fetched from the host's API)")

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style":
            for m in CSS_URL.finditer(data):
                url = m.group(1) or m.group(2)
                if is_outside(url):
                    self.outside.append(f"<style> {url}")


def problems(site: Path) -> list[str]:
    found = []
    for page in sorted(site.rglob("*.html")):
        parser = PageResources()
        parser.feed(page.read_text(encoding="utf-8"))
        found += [f"{page.relative_to(site)}: {what}" for what in parser.outside]
    for sheet in sorted(site.rglob("*.css")):
        for m in CSS_URL.finditer(sheet.read_text(encoding="utf-8")):
            url = m.group(1) or m.group(2)
            if is_outside(url):
                found.append(f"{sheet.relative_to(site)}: {url}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    site = Path(argv[0])
    pages = list(site.rglob("*.html"))
    if not pages:
        print(f"check_site: no pages in {site}", file=sys.stderr)
        return 2
    found = problems(site)
    for line in found:
        print(f"outside request: {line}", file=sys.stderr)
    if found:
        print(f"check_site: {len(found)} outside requests in {site}", file=sys.stderr)
        return 1
    print(f"check_site: {len(pages)} pages, no request to another host")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
