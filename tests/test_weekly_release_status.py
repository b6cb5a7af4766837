"""The release status section and release pages, from real kernel.org records."""

from __future__ import annotations

import json
from pathlib import Path

from tracker.analyze import run_analysis
from tracker.ingest import store_raw_messages
from tracker.versions import version_sort_key

from tracker.edition import assemble_edition, edition_for
from tracker.plugins.release_status import lead_paragraph, release_path, site_pages, status_items


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
    assert texts == ["The current development kernel is 5.10, released on December 13.",
                     "The current stable kernel is 5.10.1, released on December 14."]
    # only the version is a link, not the sentence
    assert [p for p in items[1]["parts"] if p.get("link")] == [{"text": "5.10.1", "link": "releases/5.10.1.html"}]


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
    assert items[0]["quote_by"] == "The announcement says:" and "merge window" in items[0]["quote"]
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


def test_status_says_how_old_stale_release_data_is(db, data_dir):
    """An edition months after the newest record must not call 5.10 'current': it says how old its data is."""
    load_releases_json(db, data_dir)
    texts = [i["text"] for i in status_items(db, edition_for("2021-W32"))]
    assert texts[0] == ("No kernel release data from this week: the newest release known to this tracker is from "
                        "December 14, 2020, 8 months before the week ended. As of then:")
    assert texts[1] == "The development kernel was 5.10, released on December 13, 2020."
    assert texts[2] == "The stable kernel was 5.10.1, released on December 14, 2020."
    assert not any("on record" in t or "current" in t for t in texts)
    # the week after 5.10.1, both lines say "current"
    fresh = [i["text"] for i in status_items(db, edition_for("2020-W51"))]
    assert fresh[0].startswith("The current development kernel is 5.10") and fresh[1].startswith("The current stable kernel is 5.10.1")


REAL = Path(__file__).parent / "data" / "release_status"


def test_week_53_of_2020_does_not_contradict_itself(db):
    """Issue 18: 2020-W53 said both "no newer data has been seen" and "The current stable kernel is 5.10.1"."""
    db["releases"].insert_all([
        {"version": "5.10", "kind": "mainline", "sort_key": version_sort_key("5.10"), "released_at": "2020-12-13T22:41:30+00:00"},
        {"version": "5.10.1", "kind": "stable", "sort_key": version_sort_key("5.10.1"), "released_at": "2020-12-14T18:33:14+00:00"},
    ])
    texts = [i["text"] for i in status_items(db, edition_for("2020-W53"))]
    assert texts == [
        "No kernel release data from this week: the newest release known to this tracker is from December 14, 2020,"
        " 3 weeks before the week ended. As of then:",
        "The development kernel was 5.10, released on December 13, 2020.",
        "The stable kernel was 5.10.1, released on December 14, 2020.",
    ]
    assert status_items(db, edition_for("2020-W50"))[0]["text"] == "The current development kernel is 5.10, released on December 13."
    assert len(status_items(db, edition_for("2020-W50"))) == 1  # 5.10.1 came the day after the week ended


def test_real_rc_announcement_is_quoted_with_its_size(app):
    """The real "Linux 6.14-rc3" mail: the edition quotes its first paragraph and counts its shortlog."""
    store_raw_messages(app.db, [((REAL / "linus-6.14-rc3.eml").read_bytes(), "linus-6.14-rc3.eml")], origin="test")
    run_analysis(app)
    edition = assemble_edition(app, "2025-W07")
    section = edition["sections"][0]
    assert section["key"] == "release-status" and section["template"] == "release_status.html"
    dev = section["items"][0]
    count = app.db["releases"].get("6.14-rc3")["change_count"]
    assert count > 300  # one per indented shortlog line
    assert dev["text"] == f"The current development kernel is 6.14-rc3, released on February 16, with {count} changes."
    assert dev["quote_by"] == "Linus says:"
    assert dev["quote"].startswith("So the first few weeks of the 6.14 release development were smaller-than-usual, but rc3")
    assert dev["quote"].endswith("But nothing looks worrisome.")  # the first paragraph only
    assert dev["quote_link"] == "CAHk-=wg1LBSvozQ03+EyB6j=Pwef1EL0Edu8uRz3fZaoZ0KtuA@mail.gmail.com"
    # the week before knows nothing of it
    assert not status_items(app.db, edition_for("2025-W06"))


def test_stable_updates_say_fixes_and_security_counts_with_the_review(app):
    """A stable update of the week: its fix count and diffstat from the announcement, its security count from the review."""
    db = app.db
    body = ("I'm announcing the release of the 6.1.119 kernel.\n\nAll users of the 6.1 kernel series must upgrade.\n\n"
            "thanks,\n\ngreg k-h\n\n------------\n\n Makefile |  2 +-\n mm/mmap.c |  3 ++-\n"
            " 2 files changed, 3 insertions(+), 2 deletions(-)\n")
    db["messages"].insert({"message_id": "a@b", "subject": "Linux 6.1.119", "author_name": "Greg Kroah-Hartman", "body": body,
                           "date": "2024-11-22T14:38:21+00:00"})
    db["releases"].insert_all([
        {"version": "6.12", "kind": "mainline", "sort_key": version_sort_key("6.12"), "released_at": "2024-11-17T22:00:00+00:00"},
        {"version": "6.1.119", "kind": "longterm", "sort_key": version_sort_key("6.1.119"), "released_at": "2024-11-22T14:38:21+00:00",
         "change_count": 2, "announcement_message_id": "a@b",
         "excerpt": "I'm announcing the release of the 6.1.119 kernel.\n\nAll users of the 6.1 kernel series must upgrade."},
    ])
    db["stable_review_verdicts"].insert_all(
        [{"release": "6.1.119", "branch": "6.1", "number": n, "category": c, "series_date": "2024-11-19T10:00:00+00:00"}
         for n, c in ((1, "security"), (2, "bugfix"))], alter=True)
    items = status_items(db, edition_for("2024-W47"))
    stable = next(i for i in items if i["kind"] == "stable")
    assert stable["text"] == ("The current stable kernel is 6.1.119, released on November 22, with 2 fixes"
                              " (2 files changed, 3 insertions, 2 deletions); 1 of its 2 patches is security-related (see the review).")
    assert "quote" not in stable  # "I'm announcing the release" and "All users ... must upgrade" are boilerplate
    assert {"text": "the review", "link": "stable/6.1.119.html"} in stable["parts"]


def test_lead_paragraph_skips_boilerplate():
    assert lead_paragraph("I'm announcing the release of the 6.1.119 kernel.\n\nAll users of the 6.1 kernel series must upgrade.") == ""
    assert lead_paragraph("The updated 6.1.y git tree can be found at:\n\nThis one fixes the frobnicator.") == "This one fixes the frobnicator."
    long = "A sentence that goes on. " * 40
    assert len(lead_paragraph(long)) <= 420 and lead_paragraph(long).endswith(".")


def test_html_digest_links_the_quoted_announcement(app):
    from tracker.digest import render_edition

    store_raw_messages(app.db, [((REAL / "linus-6.14-rc3.eml").read_bytes(), "linus-6.14-rc3.eml")], origin="test")
    run_analysis(app)
    html = render_edition(assemble_edition(app, "2025-W07"), "html")
    assert "Linus says: So the first few weeks of the 6.14 release development" in html
    assert 'href="https://lore.kernel.org/r/CAHk-=wg1LBSvozQ03+EyB6j=Pwef1EL0Edu8uRz3fZaoZ0KtuA@mail.gmail.com"' in html
