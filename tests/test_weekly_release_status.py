"""The release status section and release pages, from real kernel.org records."""

from __future__ import annotations

import json

from tracker.edition import assemble_edition, edition_for
from tracker.plugins.release_status import release_path, site_pages, status_items


def load_releases_json(db, data_dir):
    from tracker.plugins.kernelorg import ReleasesJsonSource
    from tracker.job import SampleHttp
    from tracker.sources import FetchContext

    ctx = FetchContext(db=db, http=SampleHttp(), state={}, config={})
    ReleasesJsonSource("sample:releases.json").fetch(ctx)
    # The shipped sample is the recorded file (tests/data/formats/kernel.org), byte for byte.
    from tracker.job import SAMPLE_DIR

    assert (SAMPLE_DIR / "releases.json").read_bytes() == (data_dir / "formats/kernel.org/releases-excerpt-2020-12-14.json").read_bytes()


def test_status_names_current_development_and_stable_kernel(db, data_dir):
    load_releases_json(db, data_dir)
    items = status_items(db, edition_for("2020-W51"))
    texts = [i["text"] for i in items]
    assert texts[0] == "The current development kernel is 5.10, released on December 13."
    assert texts[1] == "The current stable kernel is 5.10.1, released on December 14."
    assert "5.10.1 (stable) was released on December 14." in texts
    release_item = next(i for i in items if i["kind"] == "release")
    assert release_item["stable_branch"] == "5.10"
    assert release_item["link"] == "releases/5.10.1.html"


def test_status_quotes_announcement_and_counts_fixes(db):
    db["releases"].insert_all(
        [
            {"version": "2.6.34-rc1", "kind": "rc", "sort_key": "1.0002.0006.0034.0.0001", "released_at": "2010-03-08T04:00:00+00:00",
             "excerpt": "So I tagged 2.6.34-rc1 as usual after two weeks of merge window."},
            {"version": "2.6.32.9", "kind": "stable", "sort_key": "1.0002.0006.0032.1.0009", "released_at": "2010-02-23T20:00:00+00:00", "change_count": 93},
            {"version": "2.6.33.1", "kind": "stable", "sort_key": "1.0002.0006.0033.1.0001", "released_at": "2010-03-15T20:00:00+00:00"},
        ]
    )
    items = status_items(db, edition_for("2010-W10"))
    assert items[0]["text"] == "The current development kernel is 2.6.34-rc1, released on March 8."
    assert items[0]["quote_by"] == "Linus says:" and "merge window" in items[0]["quote"]
    assert items[1]["text"] == "The current stable kernel is 2.6.32.9, released on February 23, with 93 fixes."
    # 2.6.33.1 came out the week after: it does not leak into the 2010-W10 edition.
    assert all("2.6.33.1" not in i["text"] for i in items)


def test_release_status_section_in_assembled_edition(app, data_dir):
    load_releases_json(app.db, data_dir)
    edition = assemble_edition(app, "2020-W51")
    assert edition["sections"][0]["key"] == "release-status"


def test_release_pages_refuse_unsafe_versions(db):
    db["releases"].insert_all(
        [
            {"version": "5.10.1", "kind": "stable", "sort_key": "b", "released_at": "2020-12-14", "source_json": json.dumps({"changelog": "javascript:alert(1)", "gitweb": "https://git.kernel.org/stable/h/v5.10.1"})},
            {"version": "../../../evil", "kind": "stable", "sort_key": "a", "released_at": "2020-12-14"},
        ]
    )
    pages = site_pages(db)
    paths = [p.path for p in pages]
    assert paths == ["releases/5.10.1.html", "releases/index.html"]
    assert release_path("../x") is None and release_path(".hidden") is None


def test_status_says_when_release_data_is_stale(db, data_dir):
    """An edition months after the newest record must not call 5.10 'current': it says what is on record."""
    load_releases_json(db, data_dir)
    texts = [i["text"] for i in status_items(db, edition_for("2021-W32"))]
    assert texts[0] == ("The latest development kernel on record is 5.10, released on December 13, 2020;"
                        " no newer kernel.org release data has been seen.")
    assert texts[1].startswith("The latest stable kernel on record is 5.10.1, released on December 14, 2020;")
    # two weeks on (the merge window after 5.10), both lines still say "current"
    fresh = [i["text"] for i in status_items(db, edition_for("2020-W52"))]
    assert fresh[0].startswith("The current development kernel is 5.10") and fresh[1].startswith("The current stable kernel is 5.10.1")
