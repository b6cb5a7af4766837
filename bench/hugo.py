"""The Hugo yardstick of bench/weekly.py: Hugo building the pages of a ktrack site, then Pagefind.

Hugo gets the same pages, not only their words: each page's headings, paragraphs and list
items with their links, read from ktrack's HTML into JSON front matter and rendered through
Hugo templates into the same markup. A site with search is built with Hugo and then Pagefind
over its output (Hugo makes no search index). Hugo is Debian's `hugo`; without it, None.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path


class PageBlocks(HTMLParser):
    """A ktrack page's <main> as plain data: headings, paragraphs and list items, each a list of
    runs of text, a run with its link where it has one. Hugo gets the pages' structure, not only
    their words, so that it renders what ktrack renders: every item and every link."""

    BLOCKS = {"h1", "h2", "h3", "h4", "p", "li"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[dict] = []
        self.runs: list[dict] | None = None
        self.tag: str | None = None
        self.nest = 0
        self.href: str | None = None
        self.main = False

    def handle_starttag(self, tag, attrs):
        self.main = self.main or tag == "main"
        if not self.main:
            return
        if self.runs is None and tag in self.BLOCKS:
            self.runs, self.tag, self.nest = [], tag, 1
        elif self.runs is not None and tag == self.tag:
            self.nest += 1
        if tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag):
        self.main = self.main and tag != "main"
        if tag == "a":
            self.href = None
        if self.runs is not None and tag == self.tag:
            self.nest -= 1
            if self.nest == 0:
                self._close()

    def handle_data(self, data):
        text = " ".join(data.split())
        if not self.main or not text:
            return
        run = {"t": text, "a": self.href} if self.href else {"t": text}
        if self.runs is None:
            self.blocks.append({"p": [run]})
        else:
            self.runs.append(run)

    def _close(self):
        runs, tag = self.runs, self.tag
        self.runs = self.tag = None
        if not runs:
            return
        if tag == "li" and self.blocks and "ul" in self.blocks[-1]:
            self.blocks[-1]["ul"].append(runs)
        else:
            self.blocks.append({"ul": [runs]} if tag == "li" else {tag: runs})


HUGO_RUNS = '{{ range . }}{{ if .a }}<a href="{{ .a }}">{{ .t }}</a>{{ else }}{{ .t }}{{ end }} {{ end }}'
HUGO_PAGE = ('{{ define "main" }}{{ range .Params.blocks }}'
             '{{ with .ul }}<ul class="items">{{ range . }}<li>RUNS</li>\n{{ end }}</ul>'
             '{{ else }}{{ with .h1 }}<h1>RUNS</h1>{{ else }}{{ with .h2 }}<h2>RUNS</h2>'
             '{{ else }}{{ with .h3 }}<h3>RUNS</h3>{{ else }}{{ with .h4 }}<h4>RUNS</h4>'
             '{{ else }}{{ with .p }}<p>RUNS</p>{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}\n{{ end }}{{ end }}'
             ).replace("RUNS", HUGO_RUNS)
HUGO_BASE = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} · kernel-tracker</title>'
             '<link rel="stylesheet" href="/static/style.css"></head><body><header class="masthead">'
             '<a class="brand" href="/index.html">kernel-tracker</a><nav><a href="/index.html">Latest</a> '
             '<a href="/archive.html">Archive</a></nav></header>'
             '<main data-pagefind-body>{{ block "main" . }}{{ end }}</main></body></html>')


def hugo_site(site: Path, root: Path, *, structured: bool) -> int:
    """Write a Hugo site of one content file per HTML page of the ktrack site; return the page count.

    structured: the page's headings, paragraphs and list items with their links as front matter,
    rendered by templates (the same job as ktrack's: data through templates to the same pages);
    otherwise only the page's text as Markdown paragraphs (no markup, no links: the old yardstick).
    """
    layouts = root / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "baseof.html").write_text(HUGO_BASE)
    body = HUGO_PAGE if structured else '{{ define "main" }}<h1>{{ .Title }}</h1>{{ .Content }}{{ end }}'
    for name in ("single", "list"):
        (layouts / f"{name}.html").write_text(body)
    (root / "hugo.toml").write_text('baseURL = "https://ktrack.example.org/"\ntitle = "bench"\n'
                                    'uglyURLs = true\ndisablePathToLower = true\n'
                                    'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n')
    pages = 0
    for page in site.rglob("*.html"):
        if "pagefind" in page.parts:
            continue
        rel = page.relative_to(site).with_suffix(".md")
        target = root / "content" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        name = "_index.md" if rel.name == "index.md" else rel.name
        source = page.read_text(errors="replace")
        if structured:
            blocks = PageBlocks()
            blocks.feed(source)
            text = json.dumps({"title": rel.stem, "blocks": blocks.blocks}) + "\n"  # JSON front matter
        else:
            words = html.unescape(re.sub(r"<[^>]+>", " ", source))
            paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", words) if p.strip()]
            text = f'---\ntitle: "{rel.stem}"\n---\n\n' + "\n\n".join(paragraphs) + "\n"
        (target.parent / name).write_text(text)
        pages += 1
    return pages


def hugo_build(site: Path, *, runs: int, timed, structured: bool = True) -> dict | None:
    """Hugo building the ktrack site's pages (best of `runs`, each timed by `timed(cmd, env)`), and
    Pagefind indexing what Hugo wrote.

    A Hugo site with search is built so: `hugo`, then Pagefind over its output (Hugo makes no
    search index). The Pagefind is the one ktrack runs, from this venv.
    """
    hugo = shutil.which("hugo")
    if not hugo:
        return None
    root = Path(tempfile.mkdtemp(prefix="ktrack-hugo-"))
    try:
        pages = hugo_site(site, root, structured=structured)
        public = root / "public"
        times = []
        for _ in range(runs):
            shutil.rmtree(public, ignore_errors=True)
            times.append(timed([hugo, "--quiet", "-s", str(root)], dict(os.environ))[0])
        html_bytes = sum(p.stat().st_size for p in public.rglob("*.html"))
        index = []
        for _ in range(runs):
            shutil.rmtree(public / "pagefind", ignore_errors=True)
            index.append(timed([sys.executable, "-m", "pagefind", "--site", str(public), "--silent"], dict(os.environ))[0])
        return {"seconds": min(times), "pagefind": min(index), "pages": pages, "bytes": html_bytes}
    finally:
        shutil.rmtree(root, ignore_errors=True)
