"""The site build decides what changed from a stored fingerprint before collecting anything (issue 19.1).

A no-op weekly run must not assemble every edition again; any change to what the
pages are made of (the store, a plugin table stamped in place, the config, the
theme) must still rebuild, to exactly what a forced full build writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker import hookimpl
from tracker.sitebuild import MANIFEST, build_app_site, read_manifest

DATA = Path(__file__).parent / "data"


class Counting:
    """A plugin that counts how often editions are assembled."""

    def __init__(self):
        self.calls = 0

    @hookimpl
    def edition_sections(self, edition):
        self.calls += 1
        return []


@pytest.fixture
def site_app(app):
    from tracker.ingest import import_paths

    import_paths(app.db, [DATA / "stable-reviews" / "2.6.14.7-review.mbox"])
    counter = Counting()
    app.host.pm.register(counter, name="counting")
    app.counter = counter
    return app


def pages(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != MANIFEST}


def test_nothing_changed_stops_before_collecting(site_app, tmp_path):
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls > 0 and read_manifest(out).get("fingerprint")
    site_app.counter.calls = 0
    stats = build_app_site(site_app, out, search=False)
    assert site_app.counter.calls == 0  # no edition assembled
    assert stats.rendered == 0 and stats.pages == len(read_manifest(out)["pages"])


def test_new_mail_rebuilds_to_what_a_full_build_writes(site_app, tmp_path):
    from tracker.ingest import import_paths

    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    import_paths(site_app.db, [DATA / "stable-reviews" / "4.19.107-review-cover.eml"])
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls > 0
    full = tmp_path / "full"
    build_app_site(site_app, full, search=False, force=True)
    assert pages(out) == pages(full)
    assert "editions/2020-W09.html" in pages(out)  # the 4.19.107 review's week


def test_a_row_stamped_in_place_rebuilds(site_app, tmp_path):
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    site_app.db.execute("update series set subject = subject || ' (renamed)', updated_at = '2099-01-01T00:00:00'")
    site_app.db.conn.commit()
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls > 0


def test_config_and_theme_changes_rebuild(site_app, tmp_path):
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False, base_url="https://kt.example.org/")
    assert site_app.counter.calls > 0
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "extra.html").write_text("x")
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False, base_url="https://kt.example.org/", template_dir=str(theme))
    assert site_app.counter.calls > 0


def test_fetch_bookkeeping_alone_does_not_rebuild(site_app, tmp_path):
    """A weekly run's fetch stamps its sources even when nothing new came: no page shows that."""
    out = tmp_path / "site"
    build_app_site(site_app, out, search=False)
    site_app.db["sources"].insert({"name": "kernelorg", "last_success_at": "2026-12-03T00:00:00"}, alter=True)
    site_app.counter.calls = 0
    build_app_site(site_app, out, search=False)
    assert site_app.counter.calls == 0
