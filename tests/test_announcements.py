"""Release announcements (plugins/announcements.py), on mails written in the real formats.

tests/data/announcements/*.eml follow Linus's rc mails (prose, "Linus", ---,
git shortlog) and the stable team's (prose, "greg k-h", diffstat, shortlog);
the recorded data they were written from held no real announcement (the linux-api archive has none).
"""

import json
from pathlib import Path

import pytest

from tracker.analyze import run_analysis
from tracker.ingest import store_raw_messages
from tracker.plugins.announcements import announced_version, read_excerpt, read_shortlog

DATA = Path(__file__).parent / "data" / "announcements"


def store_all(db):
    raws = [(p.read_bytes(), p.name) for p in sorted(DATA.glob("*.eml"))]
    store_raw_messages(db, raws, origin="test")


@pytest.mark.parametrize(
    "subject, version",
    [
        ("Linux 6.13-rc3", "6.13-rc3"),
        ("Linux 2.6.33", "2.6.33"),
        ("Linux 6.1.119", "6.1.119"),
        ("[ANNOUNCE] Linux 2.6.32.9", "2.6.32.9"),
        ("Re: Linux 6.13-rc3", None),
        ("[PATCH] Linux 6.13: fix build", None),
        ("Linux kernel 6.13 is great", None),
        ("Linux 6.x", None),
    ],
)
def test_announced_version_subjects(subject, version):
    assert announced_version(subject) == version


def test_read_shortlog_counts_entries():
    body = (DATA / "linus-6.13-rc3.eml").read_text().split("\n\n", 1)[1]
    shortlog, count = read_shortlog(body)
    assert count == 6
    assert shortlog.startswith("Al Viro (2):") and shortlog.endswith("Fix a DMA mapping leak")


def test_read_excerpt_stops_at_sign_off():
    body = (DATA / "linus-6.13-rc3.eml").read_text().split("\n\n", 1)[1]
    excerpt = read_excerpt(body)
    assert excerpt.startswith("Things look fairly normal for rc3")
    assert "Please keep testing" in excerpt and "Linus" not in excerpt.replace("Linux", "")
    assert "Al Viro" not in excerpt


def test_read_excerpt_is_capped_at_a_sentence():
    body = ("This is a sentence. " * 60) + "\n\n    Linus\n"
    excerpt = read_excerpt(body, limit=100)
    assert len(excerpt) <= 100 and excerpt.endswith(".")


def test_announcements_attach_to_releases_via_analysis(app):
    db = app.db
    db["releases"].insert({"version": "6.1.119", "kind": "stable", "moniker": "longterm", "sort_key": "x"})
    store_all(db)
    run_analysis(app)
    rows = {r["version"]: r for r in db["releases"].rows}
    assert set(rows) == {"6.13-rc3", "6.1.119", "2.6.32.9"}
    rc3 = rows["6.13-rc3"]
    assert rc3["announcement_message_id"] == "CAHk-=wg-ktrack-test-6.13-rc3@mail.gmail.com"
    assert rc3["change_count"] == 6 and rc3["kind"] == "rc" and rc3["released_at"].startswith("2024-12-15")
    stable = rows["6.1.119"]
    assert stable["moniker"] == "longterm"  # kernel.org's columns are left alone
    assert stable["change_count"] == 3
    assert stable["excerpt"] == "I'm announcing the release of the 6.1.119 kernel.\n\nAll users of the 6.1 kernel series must upgrade."
    assert "Jan Kara (1):" in stable["shortlog"] and "Makefile" not in stable["shortlog"]
    old = rows["2.6.32.9"]
    assert old["change_count"] == 2 and old["kind"] == "stable"
    assert old["excerpt"].startswith("I'm announcing the release of the 2.6.32.9 kernel.")


def test_announcements_rerun_changes_nothing(app, ktrack):
    store_all(app.db)
    run_analysis(app)
    before = [dict(r) for r in app.db["releases"].rows]
    run_analysis(app, full=True)
    assert [dict(r) for r in app.db["releases"].rows] == before
    listed = json.loads(ktrack("releases", "--json").output)
    assert [r["version"] for r in listed] == ["6.13-rc3", "6.1.119", "2.6.32.9"]
    assert listed[0]["change_count"] == 6


def store_files(db, *names):
    store_raw_messages(db, [((DATA / name).read_bytes(), name) for name in names], origin="test")


def test_second_analysis_reads_only_mail_stored_since_the_first(app):
    """An announcement stored after one analysis is attached by the next; mail already read is not read again."""
    db = app.db
    store_files(db, "linus-6.13-rc3.eml", "reply-6.13-rc3.eml")
    run_analysis(app)
    assert {r["version"] for r in db["releases"].rows} == {"6.13-rc3"}
    # Mail the first run already read, made to look like an announcement behind its back:
    # an incremental run does not look at it again (it is below the mark) ...
    db.execute("update messages set subject = 'Linux 6.13-rc9', in_reply_to = null where in_reply_to is not null")
    db.conn.commit()
    store_files(db, "greg-6.1.119.eml")  # ... while the mail new since the last run is
    run_analysis(app)
    assert {r["version"] for r in db["releases"].rows} == {"6.13-rc3", "6.1.119"}
    assert db["releases"].get("6.1.119")["change_count"] == 3
    run_analysis(app)  # nothing new: nothing changes
    assert {r["version"] for r in db["releases"].rows} == {"6.13-rc3", "6.1.119"}


def test_analysis_of_everything_reads_every_message_again(app):
    """`analyze --all` is the deliberate re-read: mail stored before the mark counts again."""
    db = app.db
    store_files(db, "linus-6.13-rc3.eml")
    run_analysis(app)
    db.execute("update messages set subject = 'Linux 6.13-rc4', message_id = 'rc4@example.org'")
    db.conn.commit()
    run_analysis(app)
    assert "6.13-rc4" not in {r["version"] for r in db["releases"].rows}
    run_analysis(app, full=True)
    rc4 = db["releases"].get("6.13-rc4")
    assert rc4["announcement_message_id"] == "rc4@example.org" and rc4["change_count"] == 6


def test_announcement_scan_seeks_the_new_rowids(db):
    """The query the weekly pass runs reads a range of rowids, and the first (or --all) the full-text
    index's few candidates: neither reads the whole messages table."""
    from tracker.plugins.announcements import ALL_MAIL_SQL, NEW_MAIL_SQL

    plan = " ".join(row[3] for row in db.execute("explain query plan " + NEW_MAIL_SQL, [1, 2]))
    assert "SCAN messages" not in plan and "rowid>" in plan, plan
    plan = " | ".join(row[3] for row in db.execute("explain query plan " + ALL_MAIL_SQL))
    assert "SCAN messages " not in plan + " " and "INTEGER PRIMARY KEY (rowid=?)" in plan, plan


def test_the_first_run_finds_what_reading_every_message_finds(app):
    """The full-text shortcut of a first run attaches the same releases as the LIKE over every message would."""
    db = app.db
    store_all(db)
    like = {r[0] for r in db.execute(
        "select message_id from messages where (subject like 'Linux %' or subject like '[ANNOUNCE]%') and in_reply_to is null")}
    from tracker.plugins.announcements import ALL_MAIL_SQL

    assert {r[0] for r in db.execute(ALL_MAIL_SQL)} == like and len(like) == 3
