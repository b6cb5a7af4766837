"""Mail that named a message before it arrived (issue 19): one index lookup, not a read of every message's References.

A build re-assembles the old weeks whose mail names a message new since the last build (a thread
root imported after its replies: tracker/edition_cache.py). It used to find them by reading the
References of every stored message, which at a million messages was most of a weekly run; ingest
now notes the Message-IDs a message names that were not stored before it (`dangling_refs`,
migration m007 fills it for mail stored earlier).
"""

from __future__ import annotations

import gzip
import mailbox
from pathlib import Path

from tracker.ingest import import_paths
from tracker.migrations import DANGLING_REFS_SQL

EXCERPT = Path(__file__).parent / "data" / "lists" / "linux-api-2021-excerpt.mbox.gz"


def _halves(tmp_path: Path) -> tuple[Path, Path]:
    """The excerpt in two mboxes: every third message held back, so replies come before what they answer."""
    raw = tmp_path / "excerpt.mbox"
    raw.write_bytes(gzip.decompress(EXCERPT.read_bytes()))
    first, later = mailbox.mbox(tmp_path / "first.mbox"), mailbox.mbox(tmp_path / "later.mbox")
    for index, message in enumerate(mailbox.mbox(raw)):
        (later if index % 3 == 0 else first).add(message)
    first.flush()
    later.flush()
    return Path(first._path), Path(later._path)


def _old_days(db, since: int) -> set[str]:
    """What the build read before: every stored message's References."""
    return {d for (d,) in db.execute(
        "select distinct substr(m.date, 1, 10) from messages m, json_each(case when json_valid(m.references_json) "
        "then m.references_json else '[]' end) r where m.rowid <= ? and length(m.references_json) > 2 "
        "and trim(r.value, ' <>') in (select message_id from messages where rowid > ?)", [since, since])}


def _new_days(db, since: int) -> set[str]:
    return {d for (d,) in db.execute(
        "select distinct substr(m.date, 1, 10) from dangling_refs d join messages m on m.message_id = d.message_id "
        "where d.ref_id in (select message_id from messages where rowid > ?) and m.rowid <= ?", [since, since])}


def test_ingest_notes_what_the_backfill_would_and_late_roots_are_found_as_before(db, tmp_path, monkeypatch):
    import tracker.ingest as ingest

    monkeypatch.setattr(ingest, "BATCH_SIZE", 40)  # names that cross batches, and names inside one
    first, later = _halves(tmp_path)
    import_paths(db, [first])
    since = db.execute("select max(rowid) from messages").fetchone()[0]
    import_paths(db, [later])
    kept = set(db.execute("select ref_id, message_id from dangling_refs").fetchall())
    assert kept == set(db.execute(DANGLING_REFS_SQL).fetchall())  # what m007 fills an older store with
    days = _new_days(db, since)
    assert days and days == _old_days(db, since)  # the weeks a build re-assembles are the same
    plan = " ".join(r[-1] for r in db.execute(
        "explain query plan select m.date from dangling_refs d join messages m on m.message_id = d.message_id "
        "where d.ref_id in ('x') and m.rowid <= 5").fetchall())
    assert "SCAN" not in plan, plan
