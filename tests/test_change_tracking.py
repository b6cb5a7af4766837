"""The site fingerprint reads what changed in the store in time that does not grow with it (issue 19).

A weekly run with nothing new must cost the same at a million messages as at a
thousand, yet notice every change a page could show: a row added, a row
stamped in place (`updated_at`), a row deleted, in the host's tables and in a
plugin's. On real SQLite files, with mail from tests/data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.changes import DELETES_TABLE, INDEX_PREFIX, TRIGGER_PREFIX, tracked_tables
from tracker.db import open_db
from tracker.fingerprint import data_fingerprint, fingerprint_queries

MBOX = Path(__file__).parent / "data" / "stable-reviews" / "2.6.14.7-review.mbox"


@pytest.fixture
def mail_db(db):
    from tracker.ingest import import_paths

    import_paths(db, [MBOX])
    assert db["messages"].count > 5
    return db


def test_every_page_table_counts_its_deletes(mail_db):
    names = {t.name: t for t in tracked_tables(mail_db)}
    assert {"messages", "series", "series_refs", "releases", "findings"} <= set(names)
    assert all(t.counts_deletes for t in names.values()), [t.name for t in names.values() if not t.counts_deletes]
    assert not {"meta", "sources", "http_cache", DELETES_TABLE} & set(names)  # fetch bookkeeping shows on no page
    assert not [n for n in names if n.startswith("messages_fts")]


def test_a_deleted_row_changes_the_fingerprint_even_when_count_and_rowid_come_back(mail_db):
    """Delete the newest message and store another in its place: the row count and the highest rowid are as
    before (SQLite hands out the freed rowid again), the fingerprint is not."""
    db = mail_db
    before = data_fingerprint(db)
    count, top = db.execute("select count(*), max(rowid) from messages").fetchone()
    row = next(db.query("select * from messages where rowid = ?", [top]))
    with db.conn:
        db.execute("delete from messages where rowid = ?", [top])
        db["messages"].insert({**row, "message_id": "replacement@example.org", "subject": "something else"})
    assert db.execute("select count(*), max(rowid) from messages").fetchone() == (count, top)
    assert data_fingerprint(db) != before


def test_a_plain_delete_and_a_stamped_update_change_the_fingerprint(mail_db):
    db = mail_db
    before = data_fingerprint(db)
    assert data_fingerprint(db) == before  # nothing changed: the same
    with db.conn:
        db.execute("delete from series_refs where rowid = (select min(rowid) from series_refs)")
    after_delete = data_fingerprint(db)
    assert after_delete != before
    with db.conn:
        db.execute("update series set updated_at = '2999-01-01T00:00:00+00:00' where rowid = (select min(rowid) from series)")
    assert data_fingerprint(db) != after_delete


def test_a_plugin_table_is_tracked_from_the_next_open_and_counted_until_then(db_path, mail_db):
    """A table a plugin creates (here, as sqlite-utils does on first insert) is counted while it has no trigger;
    the next open gives it the trigger and an index on updated_at."""
    db = mail_db
    db["watch_hits"].insert_all([{"name": f"n{i}", "updated_at": "2024-01-01"} for i in range(3)], pk="name")
    table = next(t for t in tracked_tables(db) if t.name == "watch_hits")
    assert not table.counts_deletes
    before = data_fingerprint(db)
    with db.conn:  # not the newest: only the count sees it
        db.execute("delete from watch_hits where name = 'n0'")
    assert data_fingerprint(db) != before

    reopened = open_db(db_path)
    table = next(t for t in tracked_tables(reopened) if t.name == "watch_hits")
    assert table.counts_deletes and table.stamped
    triggers = {r[0] for r in reopened.execute("select name from sqlite_master where type = 'trigger'")}
    indexes = {r[0] for r in reopened.execute("select name from sqlite_master where type = 'index'")}
    assert TRIGGER_PREFIX + "watch_hits" in triggers and INDEX_PREFIX + "watch_hits" in indexes
    assert INDEX_PREFIX + "series" not in indexes  # series had an index on updated_at already
    before = data_fingerprint(reopened)
    with reopened.conn:  # the newest replaced: count, rowid and stamp as before; the trigger counted it
        reopened.execute("delete from watch_hits where name = 'n2'")
        reopened.execute("insert into watch_hits(name, updated_at) values ('n8', '2024-01-01')")
    assert data_fingerprint(reopened) != before


def test_the_fingerprint_scans_no_table(mail_db):
    """Every query the fingerprint runs is an index or rowid seek (EXPLAIN QUERY PLAN): none reads a whole table."""
    plans = {}
    for name, queries, counted in fingerprint_queries(mail_db):
        assert counted, name
        for sql in queries:
            plans[sql] = " | ".join(row[3] for row in mail_db.execute("explain query plan " + sql))
    assert any("messages" in sql for sql in plans) and any("updated_at" in sql for sql in plans)
    scans = {sql: plan for sql, plan in plans.items() if "SCAN" in plan}
    assert not scans, scans


def test_opening_again_with_nothing_new_writes_nothing(db_path, mail_db):
    """The check at open is two reads when the schema did not change: the file is left as it was."""
    mail_db.conn.close()
    stamp = (db_path.stat().st_mtime_ns, db_path.stat().st_size)
    wal = db_path.with_name(db_path.name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    db = open_db(db_path)
    assert db.execute("select count(*) from messages").fetchone()[0] > 0
    assert (wal.stat().st_size if wal.exists() else 0) == wal_size
    db.conn.close()
    assert (db_path.stat().st_mtime_ns, db_path.stat().st_size) == stamp


def test_the_newest_week_a_run_reports_is_the_last_edition_week(mail_db):
    """newest_edition_week reads each table's newest dates only; it must name edition_weeks' last week,
    skipping a newer date that does not parse, and a newer release or finding counts too."""
    from tracker.edition import edition_weeks, newest_edition_week

    db = mail_db
    assert newest_edition_week(db) == edition_weeks(db)[-1]
    db["releases"].insert({"version": "9.9", "released_at": "9999-99-99 garbage"})
    assert newest_edition_week(db) == edition_weeks(db)[-1]
    db["findings"].insert({"plugin": "x", "kind": "k", "key": "1", "date": "2030-06-05T10:00:00+00:00"})
    assert newest_edition_week(db) == edition_weeks(db)[-1] == "2030-W23"
    assert newest_edition_week(db, weekday="monday") == edition_weeks(db, weekday="monday")[-1]


def test_no_week_without_content(db):
    from tracker.edition import newest_edition_week

    assert newest_edition_week(db) is None


def test_a_deleted_row_makes_the_site_build_again(app, tmp_path):
    """End to end: after a delete that leaves count and highest rowid as they were, the build does not stop early."""
    from tracker.ingest import import_paths
    from tracker.sitebuild import build_app_site, read_manifest

    import_paths(app.db, [MBOX])
    out = tmp_path / "site"
    build_app_site(app, out, search=False)
    first = read_manifest(out)["fingerprint"]
    build_app_site(app, out, search=False)
    assert read_manifest(out)["fingerprint"] == first  # nothing changed: the same
    db = app.db
    top = db.execute("select max(rowid) from series_refs").fetchone()[0]
    row = next(db.query("select * from series_refs where rowid = ?", [top]))
    with db.conn:
        db.execute("delete from series_refs where rowid = ?", [top])
        db["series_refs"].insert({**row, "message_id": "other@example.org"})
    build_app_site(app, out, search=False)
    assert read_manifest(out)["fingerprint"] != first


def test_a_read_only_database_is_left_as_it_is(db_path, mail_db):
    """Opened read-only, a table without its trigger stays so (no error): the fingerprint counts its rows."""
    import sqlite3

    import sqlite_utils

    from tracker.changes import ensure_change_tracking

    mail_db["later"].insert({"a": 1})
    mail_db.conn.close()
    ro = sqlite_utils.Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
    ensure_change_tracking(ro)
    assert not ro.conn.in_transaction
    later = next(t for t in tracked_tables(ro) if t.name == "later")
    assert not later.counts_deletes
    assert ["later", 1, 1] in data_fingerprint(ro)  # highest rowid, then the count
