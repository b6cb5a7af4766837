"""The static site: permalinks, incremental rebuilds, atomic swap, untrusted input, feed."""

from __future__ import annotations

import json
import os

import feedparser
import pytest

from tracker import hookimpl
from tracker.edition import Section
from tracker.errors import KtrackError
from tracker.pages import Page
from tracker.sitebuild import MANIFEST, build_app_site, safe_page_path


def add_release(db, version, kind, when, **extra):
    from tracker.versions import version_sort_key

    db["releases"].insert({"version": version, "kind": kind, "sort_key": version_sort_key(version), "released_at": when, **extra})


@pytest.fixture
def seeded(app):
    add_release(app.db, "5.7-rc4", "rc", "2020-05-03T21:56:15+00:00", excerpt="Things look fairly normal.")
    add_release(app.db, "5.6.11", "stable", "2020-05-06T08:00:00+00:00", change_count=40)
    add_release(app.db, "5.10", "mainline", "2020-12-13T22:41:30+00:00")
    return app


def files_of(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_site_build_writes_editions_archive_releases_feed(seeded, tmp_path):
    out = tmp_path / "site"
    stats = build_app_site(seeded, out, search=False)
    files = files_of(out)
    for path in ("index.html", "archive.html", "feed.xml", "editions/2020-W19.html", "editions/2020-W50.html",
                 "releases/index.html", "releases/5.7-rc4.html", "static/style.css", MANIFEST):
        assert path in files
    assert stats.rendered == stats.pages
    index = (out / "index.html").read_text()
    # prose, with only the version linked
    assert "Week 2020-W50" in index and 'The current development kernel is <a href="releases/5.10.html">5.10</a>, released on December 13.' in index
    edition = (out / "editions/2020-W18.html").read_text()  # 5.7-rc4 came out on Sunday, May 3
    assert "Things look fairly normal." in edition and "The announcement says:" in edition  # no mail: no author
    assert 'href="../releases/5.7-rc4.html"' in edition and 'href="../static/style.css"' in edition
    archive = (out / "archive.html").read_text()
    assert archive.index("2020-W50") < archive.index("2020-W19")  # newest first


def test_site_feed_parses_without_bozo_and_keeps_ids(seeded, tmp_path):
    out = tmp_path / "site"
    build_app_site(seeded, out, base_url="https://kt.example.org", search=False)
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.id for e in feed.entries] == [f"tag:kernel-tracker,2024:edition/{w}" for w in ("2020-W50", "2020-W19", "2020-W18")]
    assert feed.entries[0].link == "https://kt.example.org/editions/2020-W50.html"
    assert "5.10" in feed.entries[0].content[0].value


def test_site_rebuild_with_nothing_changed_renders_nothing(seeded, tmp_path):
    out = tmp_path / "site"
    build_app_site(seeded, out, search=False)
    before = {p: os.stat(out / p).st_ino for p in files_of(out)}
    stats = build_app_site(seeded, out, search=False)
    assert stats.rendered == 0 and stats.removed == 0
    assert {p: os.stat(out / p).st_ino for p in files_of(out)} == before


def test_site_rebuild_after_new_week_renders_only_what_changed(seeded, tmp_path):
    out = tmp_path / "site"
    first = build_app_site(seeded, out, search=False)
    old_inode = os.stat(out / "editions/2020-W19.html").st_ino
    add_release(seeded.db, "5.10.1", "stable", "2020-12-14T18:33:14+00:00")
    stats = build_app_site(seeded, out, search=False)
    # New edition + its release page; index, archive, feed and the release list change too,
    # and the edition before it (2020-W50) gains its "next edition" link.
    assert stats.pages == first.pages + 2
    assert stats.rendered == 7, stats
    assert os.stat(out / "editions/2020-W19.html").st_ino == old_inode  # untouched, same file
    assert 'rel="next" href="../editions/2020-W51.html"' in (out / "editions/2020-W50.html").read_text()
    assert (out / "editions/2020-W51.html").exists()


def test_site_failed_build_leaves_published_site_intact(seeded, tmp_path):
    out = tmp_path / "site"
    build_app_site(seeded, out, search=False)
    snapshot = {p: (out / p).read_bytes() for p in files_of(out)}

    # A broken theme page (a plugin's page would only be skipped: tests/test_hook_errors.py).
    broken_theme = tmp_path / "theme"
    broken_theme.mkdir()
    (broken_theme / "archive.html").write_text("{% extends 'base.html' %}{% block content %}{{ 1 // 0 }}{% endblock %}")
    add_release(seeded.db, "5.10.1", "stable", "2020-12-14T18:33:14+00:00")
    with pytest.raises(KtrackError, match="archive.html"):
        build_app_site(seeded, out, search=False, template_dir=str(broken_theme))
    assert {p: (out / p).read_bytes() for p in files_of(out)} == snapshot
    assert sorted(os.listdir(tmp_path)) == sorted(set(os.listdir(tmp_path)) - {n for n in os.listdir(tmp_path) if n.startswith(".site.")})


def test_site_refuses_to_replace_a_directory_that_is_not_a_site(seeded, tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(KtrackError, match="not a ktrack site"):
        build_app_site(seeded, out, search=False)
    assert (out / "thesis.tex").read_text() == "precious"


class Hostile:
    """A plugin passing on what came from mail, untouched."""

    @hookimpl
    def edition_sections(self, edition):
        if edition["week"] != "2020-W50":
            return []
        return [Section(key="x\"><script>alert(1)</script>", title="<script>alert('t')</script>", items=[
            {"text": "<script>alert('s')</script><img src=x onerror=alert(2)>", "link": "javascript:alert(3)"},
            {"text": "traversal", "link": "../../../../etc/passwd"},
            {"text": "msgid", "link": "https://lore.kernel.org/r/../../x@y"},
        ])]

    @hookimpl
    def site_pages(self):
        return [
            Page(path="../escaped.html", template="page.html", title="escape"),
            Page(path="/tmp/abs.html", template="page.html", title="abs"),
            Page(path="ok/<script>.html", template="page.html", title="weird"),
            Page(path="notes/index.html", template="page.html", title="<b>Notes</b>",
                 context={"intro": "<script>alert(4)</script>", "items": [{"text": "t", "link": "javascript:alert(5)"}]}),
        ]


def test_site_untrusted_input_comes_out_inert(seeded, tmp_path, capsys):
    seeded.host.pm.register(Hostile(), name="hostile")
    # A row written by some other code path, bypassing the kernel.org plugin's validation.
    seeded.db["releases"].insert({"version": "../../../evil", "kind": "stable", "sort_key": "9", "released_at": "2020-12-14T00:00:00+00:00"})
    seeded.db["series"].insert({"series_key": "../../x@y", "subject": "<script>alert(6)</script>", "date": "2020-12-10", "stable_release": "5.10"})
    out = tmp_path / "site"
    stats = build_app_site(seeded, out, search=False)
    assert len(stats.skipped) == 3
    assert not (tmp_path / "escaped.html").exists() and not os.path.exists("/tmp/abs.html")
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
        assert "evil" not in path.name
    for path in out.rglob("*.html"):
        html = path.read_text()
        assert "<script>alert" not in html, path
        assert "javascript:" not in html, path
        assert "onerror=alert" not in html.replace("onerror=alert(2)&gt;", ""), path
    edition = (out / "editions/2020-W50.html").read_text()
    assert "&lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt;" in edition
    assert 'href="../../../../etc/passwd"' not in edition
    release = (out / "releases/5.10.html").read_text()
    assert 'href="https://lore.kernel.org/r/..%2F..%2Fx@y"' in release  # quoted, one path segment


def test_safe_page_path():
    assert safe_page_path("editions/2020-W50.html") == "editions/2020-W50.html"
    for bad in ("../x.html", "/x.html", "a//b.html", "a\\b.html", ".hidden.html", "a/./b.html", "", None, "x y.html"):
        assert safe_page_path(bad) is None


def test_site_template_dir_overrides_theme(seeded, tmp_path):
    theme = tmp_path / "mytheme"
    theme.mkdir()
    (theme / "archive.html").write_text('{% extends "base.html" %}{% block content %}CUSTOM ARCHIVE {{ editions|length }}{% endblock %}')
    out = tmp_path / "site"
    build_app_site(seeded, out, template_dir=str(theme), search=False)
    assert "CUSTOM ARCHIVE 3" in (out / "archive.html").read_text()
    # Changing the theme re-renders everything.
    (theme / "archive.html").write_text('{% extends "base.html" %}{% block content %}NEW{% endblock %}')
    stats = build_app_site(seeded, out, template_dir=str(theme), search=False)
    assert stats.rendered == stats.pages


def test_site_build_command_json(ktrack, app, tmp_path):
    add_release(app.db, "5.10", "mainline", "2020-12-13T22:41:30+00:00")
    result = ktrack("site", "build", "--out", tmp_path / "s", "--no-search", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output[result.output.index("{"):])
    assert stats["rendered"] == stats["pages"] > 0


def test_site_syscall_and_sysctl_indexes_say_when_nothing_was_seen(seeded, tmp_path):
    """Releases only, no patches yet: the indexes say so instead of showing an empty table."""
    out = tmp_path / "site"
    build_app_site(seeded, out, search=False)
    for path, words in (("syscalls/index.html", "No system calls seen"), ("sysctls/index.html", "No sysctl knob changes seen")):
        html = (out / path).read_text()
        assert words in html and "<table" not in html


def test_plugin_feed_renders_as_atom_with_absolute_links_and_refuses_html_paths(tmp_path):
    """A plugin's Feed (site_pages) becomes valid Atom: entries newest first, links made absolute by base_url."""
    import feedparser

    from tracker.pages import Feed
    from tracker.sitebuild import build_site, site_jobs

    feed = Feed(path="topic/x.xml", title="Topic x", entries=[
        {"id": "<a@b>", "title": "older", "updated": "2021-11-10", "link": "topic/a.html", "content": "<p>one</p>"},
        {"id": "c@d", "title": "newer", "updated": "2021-11-15T18:53:01+00:00", "link": "https://lore.kernel.org/r/c@d"},
        {"id": "e", "title": "no date", "updated": "not a date"},
    ])
    skipped: list[str] = []
    jobs = site_jobs([], [feed, Feed(path="topic/y.html", title="wrong suffix")], site={}, skipped=skipped)
    assert skipped == ["site page refused: 'topic/y.html' (unsafe or duplicate path)"]
    build_site(jobs, tmp_path / "out", site={"base_url": "https://kt.example/"}, search=False)
    parsed = feedparser.parse((tmp_path / "out" / "topic" / "x.xml").read_bytes())
    assert not parsed.bozo and parsed.feed.title == "Topic x"
    assert [e.title for e in parsed.entries] == ["newer", "older", "no date"]
    assert parsed.entries[1].link == "https://kt.example/topic/a.html"
    assert parsed.entries[0].link == "https://lore.kernel.org/r/c@d"
    assert len({e.id for e in parsed.entries}) == 3 and parsed.entries[1].content[0].value == "<p>one</p>"


def test_plugin_feed_with_a_malformed_entry_fails_with_one_line_and_keeps_the_site(tmp_path):
    from tracker.errors import KtrackError
    from tracker.pages import Feed
    from tracker.sitebuild import build_site, site_jobs

    out = tmp_path / "out"
    build_site(site_jobs([], [Feed(path="t.xml", title="t", entries=[{"id": "a", "title": "a", "updated": "2021-01-01"}])], site={}),
               out, search=False)
    before = (out / "t.xml").read_bytes()
    broken = site_jobs([], [Feed(path="t.xml", title="t", entries=[{"title": "no id", "updated": "2021-01-02"}])], site={})
    with pytest.raises(KtrackError, match=r"^site feed t.xml: malformed entry: KeyError"):
        build_site(broken, out, search=False)
    assert (out / "t.xml").read_bytes() == before


def test_evidence_lines_are_said_in_words():
    from tracker.sitebuild import evidence_words

    assert evidence_words("subject: word '1' (-0.24)") is None  # a number is nothing a reader can check
    assert evidence_words("subject: word 'overflow' (+0.82)") == "the subject says “overflow” (points to a security fix)"
    assert evidence_words("mentions a use-after-free (+1.5)") == "mentions a use-after-free (points to a security fix)"
    assert evidence_words("touched files: mm/mmap.c") == "touched files: mm/mmap.c"


def test_edition_pages_link_the_editions_before_and_after(seeded, tmp_path):
    out = tmp_path / "site"
    build_app_site(seeded, out, search=False)
    middle = (out / "editions/2020-W19.html").read_text()
    assert 'rel="prev" href="../editions/2020-W18.html"' in middle and 'rel="next" href="../editions/2020-W50.html"' in middle
    first = (out / "editions/2020-W18.html").read_text()
    assert 'rel="prev"' not in first and 'rel="next" href="../editions/2020-W19.html"' in first
    assert 'rel="prev" href="editions/2020-W19.html"' in (out / "index.html").read_text()
