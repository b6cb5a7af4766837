"""Big imports parse in a worker process, one batch ahead: the stored result must equal a serial import."""

import gzip

import pytest
from linux_api import LINUX_API, messages

import tracker.bulk_write as bulk_write
import tracker.ingest as ingest
from tracker.db import open_db
from tracker.ingest import import_paths
from tracker.mailbox_io import iter_path


def _snapshot(db):
    messages = db.execute(
        "SELECT message_id, series_key, patch_number, reply_to_number, raw_sha256, body FROM messages ORDER BY message_id"
    ).fetchall()
    series = db.execute(
        "SELECT series_key, subject, version, total, received, complete, cover_message_id, lineage FROM series "
        "ORDER BY series_key"
    ).fetchall()
    fts = db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'syscall'").fetchone()[0]
    return messages, series, fts


@pytest.fixture(scope="module")
def part_mbox(tmp_path_factory):
    """The 350 real messages of the excerpt; the last 10 again at once (still in flight), 100 again later,
    the first 50 changed."""
    raws = messages()
    assert len(raws) == 350
    changed = [raw.replace(b"\n\n", b"\n\n ", 1) for raw in raws[:50]]  # same Message-ID, other bytes
    mbox = tmp_path_factory.mktemp("mbox") / "part.mbox.gz"
    with gzip.open(mbox, "wb") as fh:
        for raw in raws + raws[340:] + raws[60:160] + changed:
            fh.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + raw.replace(b"\nFrom ", b"\n>From ") + b"\n")
    return mbox


def _import(tmp_path, name, mbox, monkeypatch, *, parallel_after):
    monkeypatch.setattr(ingest, "BATCH_SIZE", 40)
    monkeypatch.setattr(ingest, "PARALLEL_AFTER", parallel_after)
    db = open_db(tmp_path / f"{name}.db")
    stats = import_paths(db, [mbox])
    return db, stats


def test_import_parallel_equals_serial(tmp_path, part_mbox, monkeypatch):
    serial_db, serial = _import(tmp_path, "serial", part_mbox, monkeypatch, parallel_after=10**9)
    parallel_db, parallel = _import(tmp_path, "parallel", part_mbox, monkeypatch, parallel_after=0)
    assert parallel.as_dict() == serial.as_dict()
    assert (parallel.read, parallel.new, parallel.skipped, parallel.duplicates) == (510, 347, 110, 53)  # the archive repeats three Message-IDs
    assert _snapshot(parallel_db) == _snapshot(serial_db)


def test_import_parallel_again_skips_everything(tmp_path, part_mbox, monkeypatch):
    db, first = _import(tmp_path, "again", part_mbox, monkeypatch, parallel_after=0)
    again = import_paths(db, [part_mbox])
    assert first.new == 347
    # the changed 50 are parsed (new bytes) and then skipped: their Message-IDs are stored
    assert (again.read, again.new, again.skipped, again.duplicates, again.series) == (510, 0, 510, 0, 0)


class _Rows(list):
    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


class _RecordingConnection:
    """The checkpoint thread's connection, noting what each checkpoint did: (statement, (busy, WAL pages, pages copied))."""

    def __init__(self, conn, log):
        self._conn, self._log = conn, log

    def execute(self, sql, *args):
        rows = _Rows(self._conn.execute(sql, *args).fetchall())
        if "wal_checkpoint" in sql:
            self._log.append((sql, tuple(rows[0])))
        return rows

    def close(self):
        self._conn.close()


def test_import_checkpoints_wal_while_writing(tmp_path, monkeypatch):
    """The WAL is copied into the database during the import (by a second connection), not only at the end.

    The import turns SQLite's own auto-checkpoint off while it runs; without
    the checkpointing thread the WAL would hold every page written (more than
    the database itself), and with passive checkpoints alone it can still grow
    while batches keep coming, so past WAL_MAX_PAGES the thread RESTARTs it.
    What the thread did is recorded rather than the WAL's final size, which
    depends on how the thread was scheduled (a loaded machine lets it lag).
    """
    checkpoints = []

    class Recorded(bulk_write.Checkpointer):
        def __init__(self, conn):
            super().__init__(_RecordingConnection(conn, checkpoints))

    monkeypatch.setattr(bulk_write, "Checkpointer", Recorded)
    # Scaled to the excerpt (350 messages, about 6 MB stored): batches of 25 and a WAL limit of
    # 100 pages (400 kB) give the thread as many turns, and RESTARTs, as a year's archive gets.
    monkeypatch.setattr(ingest, "BATCH_SIZE", 25)
    monkeypatch.setattr(bulk_write, "WAL_MAX_PAGES", 100)
    path = tmp_path / "wal.db"
    db = open_db(path)
    before = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    stats = import_paths(db, [LINUX_API])
    assert stats.new == 347 and not stats.errors
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before  # restored
    copied = [result for sql, result in checkpoints if result[2] > 0]
    assert len(copied) >= 2, checkpoints  # pages went into the database while the import went on
    assert any("RESTART" in sql for sql, _ in checkpoints), checkpoints  # and the WAL was started afresh
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reimport_starts_no_worker_and_still_reports_progress(tmp_path, part_mbox, monkeypatch):
    """A worker is for mail that needs parsing: an input already stored is only hashed and skipped."""
    started = []
    real_start = ingest._start_pool
    monkeypatch.setattr(ingest, "_start_pool", lambda: started.append(1) or real_start())
    db, first = _import(tmp_path, "re", part_mbox, monkeypatch, parallel_after=100)
    assert first.new == 347 and len(started) == 1
    done = []
    again = ingest.store_raw_messages(db, iter_path(part_mbox), origin="again", progress=done.append)
    assert (again.new, again.skipped, len(started)) == (0, 510, 1)
    assert sum(done) == 510  # every batch reported, none held back
