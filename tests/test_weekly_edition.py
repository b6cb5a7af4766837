"""Editions: week labels with a configurable closing day, weeks with content, section assembly."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from tracker import hookimpl
from tracker.edition import Section, assemble_edition, edition_for, edition_weeks, safe_link, week_bounds, week_of


def test_week_of_sunday_closing_is_iso_week():
    assert week_of(date(2010, 2, 25)) == "2010-W08"
    assert week_of(date(2021, 1, 3)) == "2020-W53"  # a Sunday closes ISO week 53 of 2020
    assert week_bounds("2026-W48") == (date(2026, 11, 23), date(2026, 11, 30))


def test_week_of_wednesday_closing_moves_thursday_to_next_edition():
    # Wednesday 2021-08-04 closes 2021-W31; Thursday 2021-08-05 belongs to the edition closing 2021-08-11 (W32).
    assert week_of(date(2021, 8, 4), weekday="wednesday") == "2021-W31"
    assert week_of(date(2021, 8, 5), weekday="wednesday") == "2021-W32"
    start, end = week_bounds("2021-W32", weekday="wednesday")
    assert (start, end) == (date(2021, 8, 5), date(2021, 8, 12))
    assert edition_for("2021-W32", weekday="wednesday")["start"] == "2021-08-05"


def test_week_bounds_rejects_bad_labels():
    for label in ("2021-32", "2021-W54", "2021-W53", "../etc"):
        with pytest.raises(ValueError):
            week_bounds(label)


def test_safe_link_keeps_site_paths_and_http_only():
    assert safe_link("releases/5.10.1.html") == "releases/5.10.1.html"
    assert safe_link("https://lore.kernel.org/r/abc@x") == "https://lore.kernel.org/r/abc@x"
    for bad in ("javascript:alert(1)", "JavaScript:alert(1)", "../../etc/passwd", "releases/../../x", "//evil.example/x",
                "/etc/passwd", "data:text/html,<script>", "https://", "a b", "vbscript:x", "https://x\"onmouseover=1"):
        assert safe_link(bad) is None, bad


def test_plain_web_link_shortcut_agrees_with_urlsplit():
    """The regex shortcut for ordinary mail links must never keep a link urlsplit would refuse, or refuse one it keeps."""
    from urllib.parse import urlsplit

    from tracker.edition import _check_link

    def by_urlsplit(link):
        if re.search(r"[\x00-\x20\"'<>\\`]", link):
            return None
        parts = urlsplit(link)
        return link if parts.netloc and parts.hostname else None

    hosts = ["lore.kernel.org", "a", "x-y.example", "127.0.0.1", "[::1]", "user@host", "@host", ":80", "host:", "host:8080",
             "host:99999", "-x", ".", "", "h\u00e9te.example", "host.:", "HOST.Example"]
    tails = ["", "/", "/r/abc@x", "?q=1", "#frag", ":", "//x", "@y/"]
    for scheme in ("http://", "https://", "HTTPS://", "hTtp://"):
        for host in hosts:
            for tail in tails:
                link = scheme + host + tail
                assert _check_link(link) == by_urlsplit(link), link


def test_edition_weeks_lists_weeks_of_releases_series_findings(db):
    db["releases"].insert({"version": "5.10", "kind": "mainline", "released_at": "2020-12-13T22:41:30+00:00"})
    db["series"].insert({"series_key": "a@b", "subject": "x", "date": "2021-08-05T17:08:58+00:00"})
    db["findings"].insert({"plugin": "p", "kind": "k", "key": "1", "date": "2021-08-06T00:00:00+00:00"})
    db["series"].insert({"series_key": "c@d", "subject": "y", "date": None})
    assert edition_weeks(db) == ["2020-W50", "2021-W31"]
    assert edition_weeks(db, weekday="wednesday") == ["2020-W51", "2021-W32"]


class TwoSections:
    @hookimpl
    def edition_sections(self, edition):
        return [
            Section(key="late", title="Late", items=[{"text": "z", "link": "javascript:alert(1)"}], order=90),
            Section(key="empty", title="Empty", order=1),
            {"key": "early", "title": "Early", "items": [{"text": edition["week"]}], "order": 5},
        ]


class Broken:
    @hookimpl
    def edition_sections(self, edition):
        raise RuntimeError("plugin bug")


def test_assemble_edition_sorts_sections_isolates_failures_and_drops_unsafe_links(app, capsys):
    app.host.pm.register(TwoSections(), name="two")
    app.host.pm.register(Broken(), name="broken")
    edition = assemble_edition(app, "2021-W31")
    keys = [s["key"] for s in edition["sections"]]
    assert keys.index("early") < keys.index("late")
    assert "empty" not in keys
    late = next(s for s in edition["sections"] if s["key"] == "late")
    assert late["items"][0]["link"] is None
    assert edition["start"] == "2021-08-02" and edition["end"] == "2021-08-09"
    assert any(p.plugin == "broken" for p in app.host.problems)
    json.dumps(edition)  # plain data all the way down
