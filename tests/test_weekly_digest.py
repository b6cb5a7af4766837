"""The digest in every format, per-reader filters, and untrusted text kept inert."""

from __future__ import annotations

import json
import re

import pytest

from tracker.digest import filter_edition, md_escape, render_edition

EDITION = {
    "week": "2021-W31",
    "start": "2021-08-02",
    "end": "2021-08-09",
    "title": "Week 2021-W31: August 2–8, 2021",
    "sections": [
        {"key": "release-status", "title": "Release status", "intro": "", "order": 10, "template": None,
         "items": [
             {"text": "The current stable kernel is 5.10.1, released on December 14.", "link": "releases/5.10.1.html"},
             {"text": "5.10.57 (stable) was released.", "link": None, "stable_branch": "5.10"},
             {"text": "5.13.9 (stable) was released.", "link": None, "stable_branch": "5.13"},
         ]},
        {"key": "patches", "title": "Patches and updates", "intro": "", "order": 50, "template": None,
         "items": [
             {"text": "mm: introduce process_mrelease system call", "link": "https://lore.kernel.org/r/20210805170859.2389276-1-surenb@google.com", "category": "Memory management"},
             {"text": "<script>alert(1)</script> [x](javascript:alert(1))", "link": None, "category": {"name": "Security"}},
         ]},
    ],
}


def test_digest_markdown_links_site_paths_under_base_url():
    text = render_edition(EDITION, "markdown", base_url="https://kt.example.org")
    assert text.startswith("# Week 2021-W31: August 2–8, 2021\n")
    assert "## Release status" in text
    assert "- [The current stable kernel is 5.10.1, released on December 14.](<https://kt.example.org/releases/5.10.1.html>)" in text
    assert "(<https://lore.kernel.org/r/20210805170859.2389276-1-surenb@google.com>)" in text


def test_digest_markdown_without_base_url_drops_site_links_and_escapes_untrusted_text():
    text = render_edition(EDITION, "markdown")
    assert "releases/5.10.1.html" not in text
    assert "<script>" not in text
    assert re.search(r"(?<!\\)\]\(javascript", text) is None  # the bracket is escaped: no link
    assert "\\<script\\>" in text and "\\[x\\](javascript" in text


def test_digest_text_is_plain():
    text = render_edition(EDITION, "text", base_url="https://kt.example.org/")
    lines = text.splitlines()
    assert lines[1] == "=" * len(lines[0])
    assert "* mm: introduce process_mrelease system call" in lines
    assert "  https://kt.example.org/releases/5.10.1.html" in lines


def test_digest_html_escapes_and_links():
    html = render_edition(EDITION, "html", base_url="https://kt.example.org/")
    assert html.startswith("<!doctype html>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert 'href="https://kt.example.org/releases/5.10.1.html"' in html
    assert "javascript:" not in html.replace("(javascript:alert(1))", "")
    assert 'href="javascript' not in html


def test_digest_json_round_trips():
    assert json.loads(render_edition(EDITION, "json")) == EDITION


def test_digest_unknown_format():
    with pytest.raises(ValueError):
        render_edition(EDITION, "pdf")


def test_filter_keeps_items_without_the_key_and_matching_ones():
    kept = filter_edition(EDITION, categories=["memory management"], stable=["5.10"])
    texts = [i["text"] for s in kept["sections"] for i in s["items"]]
    assert "The current stable kernel is 5.10.1, released on December 14." in texts  # no key: kept
    assert "5.10.57 (stable) was released." in texts
    assert "5.13.9 (stable) was released." not in texts
    assert "mm: introduce process_mrelease system call" in texts
    assert not any("script" in t for t in texts)


def test_filter_drops_sections_left_empty():
    kept = filter_edition(EDITION, categories=["Networking"])
    assert [s["key"] for s in kept["sections"]] == ["release-status"]
    assert filter_edition(EDITION) is EDITION


def test_md_escape_collapses_whitespace():
    assert md_escape("a\n  *b*") == "a \\*b\\*"
