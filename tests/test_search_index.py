"""The search index in Pagefind bundles (tracker/search_index.py): a build re-indexes only what changed.

Real Pagefind runs on real site builds; the browser side (the search page
merging the bundles) is tests/test_site_browser.py.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from tracker.errors import KtrackError
from tracker.search_index import MARKER, _glob, assign_bundles, merged_bundles
from tracker.sitebuild import build_app_site


def add_release(db, version, kind, when):
    from tracker.versions import version_sort_key

    db["releases"].insert({"version": version, "kind": kind, "sort_key": version_sort_key(version), "released_at": when})


@pytest.fixture
def two_years(app):
    """Editions in 2020 (ISO weeks 19 and 50) and in 2021 (week 1)."""
    add_release(app.db, "5.6.11", "stable", "2020-05-06T08:00:00+00:00")
    add_release(app.db, "5.10", "mainline", "2020-12-13T22:41:30+00:00")
    add_release(app.db, "5.11-rc2", "rc", "2021-01-05T10:00:00+00:00")
    return app


def snapshot(directory):
    """Every file of a directory with its inode and mtime: what a re-index would change."""
    return {str(p.relative_to(directory)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.rglob("*") if p.is_file()}


def test_assign_bundles_keeps_the_newest_year_with_the_other_pages():
    pages = ["index.html", "feed.xml", "stable/4.19.107.html", "editions/2020-W50.html",
             "editions/2021-W01.html", "editions/2019-W01.html", "editions/notes.html"]
    assert assign_bundles(pages) == {
        "pagefind": ["editions/2021-W01.html", "editions/notes.html", "index.html", "stable/4.19.107.html"],
        "pagefind-2019": ["editions/2019-W01.html"],
        "pagefind-2020": ["editions/2020-W50.html"],
    }
    assert merged_bundles(pages) == ["pagefind-2020", "pagefind-2019"]  # newest first
    assert assign_bundles(["index.html"]) == {"pagefind": ["index.html"]}
    # the glob stays short however many pages: a directory or a year is one pattern
    assert _glob("pagefind", assign_bundles(pages)["pagefind"]) == "{*.html,editions/2021-W[0-9][0-9].html,editions/notes.html,stable/**/*.html}"
    assert _glob("pagefind-2020", [f"editions/2020-W{w:02}.html" for w in range(1, 54)]) == "editions/2020-W[0-9][0-9].html"


def test_a_new_week_reindexes_only_the_primary_bundle(two_years, tmp_path):
    out = tmp_path / "site"
    first = build_app_site(two_years, out)
    assert first.search_indexed and first.search_bundles == ["pagefind", "pagefind-2020"]
    assert json.loads((out / "pagefind-2020" / MARKER).read_text())["pages"] == ["editions/2020-W19.html", "editions/2020-W50.html"]
    entry = json.loads((out / "pagefind-2020" / "pagefind-entry.json").read_text())
    assert entry["languages"]["en"]["page_count"] == 2  # Pagefind indexed those two editions, nothing else
    assert not (out / "pagefind-2020" / "pagefind-ui.js").exists()  # a merged bundle serves its index only
    assert (out / "pagefind" / "pagefind-ui.js").is_file()
    search_page = (out / "search.html").read_text()
    assert '["pagefind-2020"]' in search_page and "mergeIndex" in search_page
    old_year = snapshot(out / "pagefind-2020")
    primary = snapshot(out / "pagefind")

    add_release(two_years.db, "5.11-rc3", "rc", "2021-01-12T10:00:00+00:00")  # a new week: 2021-W02
    stats = build_app_site(two_years, out)
    assert stats.rendered > 0 and stats.search_indexed
    assert stats.search_bundles == ["pagefind"]
    assert snapshot(out / "pagefind-2020") == old_year  # the same files: not written again
    assert snapshot(out / "pagefind") != primary
    assert "editions/2021-W02.html" in json.loads((out / "pagefind" / MARKER).read_text())["pages"]

    stats = build_app_site(two_years, out)  # nothing new: nothing indexed
    assert stats.rendered == 0 and stats.search_bundles == []


def test_a_new_year_moves_the_last_year_into_its_own_bundle(app, tmp_path):
    out = tmp_path / "site"
    add_release(app.db, "5.10", "mainline", "2020-12-13T22:41:30+00:00")
    assert build_app_site(app, out).search_bundles == ["pagefind"]
    assert sorted(p.name for p in out.glob("pagefind*")) == ["pagefind"]
    assert "var bundles = []" in (out / "search.html").read_text()

    add_release(app.db, "5.11-rc2", "rc", "2021-01-05T10:00:00+00:00")
    stats = build_app_site(app, out)
    assert stats.search_bundles == ["pagefind", "pagefind-2020"]
    assert '["pagefind-2020"]' in (out / "search.html").read_text()  # the search page merges the new bundle
    assert json.loads((out / "pagefind" / MARKER).read_text())["pages"][:2] == ["archive.html", "editions/2021-W01.html"]


def test_a_missing_or_foreign_bundle_is_indexed_again(two_years, tmp_path):
    out = tmp_path / "site"
    build_app_site(two_years, out)
    primary = snapshot(out / "pagefind")
    __import__("shutil").rmtree(out / "pagefind-2020")
    stats = build_app_site(two_years, out)  # nothing rendered, yet a bundle is missing
    assert stats.rendered == 0 and stats.search_bundles == ["pagefind-2020"]
    assert (out / "pagefind-2020" / "pagefind-entry.json").is_file() and snapshot(out / "pagefind") == primary

    # a site indexed whole before bundles existed has an unmarked pagefind/: it is indexed again
    (out / "pagefind" / MARKER).unlink()
    add_release(two_years.db, "5.11-rc3", "rc", "2021-01-12T10:00:00+00:00")
    assert build_app_site(two_years, out).search_bundles == ["pagefind"]

    # a year whose editions are gone loses its bundle
    (out / "pagefind-1999").mkdir()
    build_app_site(two_years, out, force=True)
    assert not (out / "pagefind-1999").exists()


def test_a_failing_pagefind_is_one_line_and_the_site_stays(two_years, tmp_path, monkeypatch):
    out = tmp_path / "site"
    build_app_site(two_years, out)
    published = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\necho 'Error: disk on fire' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(broken))  # pagefind's own override of the binary
    add_release(two_years.db, "5.11-rc3", "rc", "2021-01-12T10:00:00+00:00")
    with pytest.raises(KtrackError) as failure:
        build_app_site(two_years, out)
    message = failure.value.message
    assert "\n" not in message and "pagefind failed" in message and "(pagefind/)" in message and "disk on fire" in message
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == published
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.building")]
    monkeypatch.delenv("PAGEFIND_BINARY_PATH")
    assert build_app_site(two_years, out).search_bundles == ["pagefind"]
    assert os.path.exists(out / "editions/2021-W02.html")


def test_site_build_json_names_the_bundles_it_indexed(ktrack, app, tmp_path):
    add_release(app.db, "5.10", "mainline", "2020-12-13T22:41:30+00:00")
    result = ktrack("site", "build", "--out", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output[result.output.index("{"):])
    assert stats["search_indexed"] is True and stats["search_bundles"] == ["pagefind"] and stats["search_seconds"] > 0
    result = ktrack("site", "build", "--out", tmp_path / "s", "--no-search", "--json", "--force")
    stats = json.loads(result.output[result.output.index("{"):])
    assert stats["search_indexed"] is False and stats["search_bundles"] == []
