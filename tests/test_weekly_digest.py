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


def test_filter_keeps_only_the_chosen_sections():
    """A maintainer's digest: the release status and nothing else of this edition."""
    kept = filter_edition(EDITION, sections=["Release-Status"])
    assert [s["key"] for s in kept["sections"]] == ["release-status"] and len(kept["sections"][0]["items"]) == 3
    both = filter_edition(EDITION, sections=["release-status"], stable=["5.13"])
    assert [i["text"] for i in both["sections"][0]["items"]][1:] == ["5.13.9 (stable) was released."]
    assert filter_edition(EDITION, sections=["watch"])["sections"] == []


def test_md_escape_collapses_whitespace():
    assert md_escape("a\n  *b*") == "a \\*b\\*"


def test_digest_command_formats_and_filters(ktrack, app):
    app.db["releases"].insert_all([
        {"version": "5.10.1", "kind": "stable", "sort_key": "1.0005.0010.1.0001", "released_at": "2020-12-14T18:33:14+00:00"},
        {"version": "5.4.83", "kind": "stable", "sort_key": "1.0005.0004.1.0083", "released_at": "2020-12-14T18:00:00+00:00"},
    ])
    result = ktrack("digest", "--format", "json")
    assert result.exit_code == 0, result.output
    edition = json.loads(result.stdout)
    assert edition["week"] == "2020-W51"
    text = ktrack("digest", "--week", "2020-W51", "--format", "text", "--stable", "5.4").stdout
    assert "5.4.83 (stable update) was released" in text and "5.10.1 (stable update) was released" not in text
    bad = ktrack("digest", "--week", "2020-W99")
    assert bad.exit_code == 1 and "not an ISO week label" in bad.output


def test_digest_command_with_empty_db_says_so(ktrack):
    result = ktrack("digest")
    assert result.exit_code == 1 and "no editions yet" in result.output


def test_digest_bad_weekday_config_is_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tracker.app import App
    from tracker.cli import build_cli

    config = tmp_path / "c.toml"
    config.write_text('[edition]\nweekday = "caturday"\n')
    app = App(db_path=tmp_path / "k.db", config_path=config)
    app.db["releases"].insert({"version": "5.10", "kind": "mainline", "released_at": "2020-12-13"})
    result = CliRunner().invoke(build_cli(app), ["digest"], obj=app)
    assert result.exit_code == 1 and "caturday" in result.output and "Traceback" not in result.output


def test_md_escape_leaves_intraword_underscores_readable():
    assert md_escape("mm: introduce process_mrelease") == "mm: introduce process_mrelease"
    assert md_escape("_emph_ __init__") == "\\_emph\\_ \\_\\_init\\_\\_"


def test_digest_prints_a_sub_heading_per_item_group():
    edition = {
        "week": "2021-W32",
        "title": "Week 2021-W32",
        "sections": [
            {
                "key": "patches",
                "title": "Patches and updates",
                "intro": "",
                "items": [
                    {"text": "A: mm: one", "group": "Memory management"},
                    {"text": "B: mm: two", "group": "Memory management"},
                    {"text": "C: net: three", "group": "Networking"},
                ],
            }
        ],
    }
    markdown = render_edition(edition, "markdown")
    assert markdown.count("### Memory management") == 1 and markdown.count("### Networking") == 1
    assert markdown.index("### Memory management") < markdown.index("- A: mm: one") < markdown.index("### Networking")
    text = render_edition(edition, "text")
    assert text.count("Memory management:") == 1
    assert text.index("Networking:") < text.index("* C: net: three")
    # one blank line between headings and items, never two (a section heading, its summary, then a group heading)
    assert "\n\n\n" not in markdown
    assert "## Patches and updates\n\n3 series in 2 categories this week.\n\n### Memory management\n\n- A: mm: one" in markdown
    assert "\n\n\n" not in text and "Patches and updates\n-------------------\n\n3 series in 2 categories this week.\n" in text


def test_digest_sections_lead_with_their_summaries():
    """As the site does: the stable section leads with its counts, discussions say threads and replies (issue 18.5)."""
    edition = {"week": "2021-W46", "title": "Week 2021-W46", "sections": [
        {"key": "stable", "title": "Stable updates", "intro": "The security-related fixes ...", "items": [
            {"text": "5.15.3: 10 patches, 2 security-related, 8 other bug fixes, 0 enhancements.", "kind": "update",
             "release": "5.15.3", "counts": {"security": 2, "bugfix": 8, "enhancement": 0}},
            {"text": "5.10.80: 1 patch, 1 security-related, ...", "kind": "update", "release": "5.10.80", "counts": {"security": 1}},
            {"text": "5.15.3 #4: net: fix ...", "kind": "security", "release": "5.15.3"},
        ]},
        {"key": "discussions", "title": "Discussions of the week", "intro": "", "items": [
            {"text": "A (3 participants, 4 replies this week)", "summary": "3 participants, 4 replies this week", "replies": 4},
            {"text": "B (2 participants, 3 replies this week)", "summary": "2 participants, 3 replies this week", "replies": 3},
        ]},
        {"key": "syscalls", "title": "New system calls", "intro": "", "template": "feature_section.html", "items": [
            {"text": "x() — new proposal", "summary": "v2 of “x” by A, 1 patch; reviewed by 1; 3 replies from 2 people."},
        ]},
    ]}
    for fmt in ("markdown", "text"):
        out = render_edition(edition, fmt)
        lead = "2 stable updates reviewed this week: 5.15.3 with 2 security-related fixes; 5.10.80 with 1 security-related fix."
        assert out.index(lead) < out.index("The security-related fixes") < out.index("5.15.3: 10 patches"), fmt
        assert "2 threads, 7 replies this week." in out
        assert out.count("3 participants, 4 replies this week") == 1  # said in the item, not twice
        assert "1 proposal this week." in out and "v2 of “x” by A, 1 patch; reviewed by 1; 3 replies from 2 people." in out


def test_section_summary_counts_what_the_section_shows():
    from tracker.digest import section_summary

    patches = {"key": "patches", "items": [{"category": "networking"}, {"category": "networking"}, {"category": "filesystems"}]}
    assert section_summary(patches) == "3 series in 2 categories"
    kept = filter_edition({"sections": [{**patches, "title": "P"}]}, categories=["networking"])
    assert section_summary(kept["sections"][0]) == "2 series in 1 category"
    stable = {"key": "stable", "items": [{"kind": "update", "counts": {"security": 3}}, {"kind": "security"}]}
    assert section_summary(stable) == "1 update, 3 security-related fixes"
    features = {"key": "syscalls", "template": "feature_section.html", "items": [{}, {"same_story": True}, {}]}
    assert section_summary(features) == "2 proposals"
