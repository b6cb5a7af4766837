"""How an import writes fast and safely: relaxed fsync, a wide page cache, checkpoints in a thread.

tracker/ingest.py wraps each import in bulk_pragmas; the settings come back
when it ends, whatever happened.
"""

from __future__ import annotations

from contextlib import contextmanager

_CACHE_KB = 64 * 1024  # page cache during an import (SQLite's default is 2 MB)
_CHECKPOINT_PAGES = 8192  # 32 MB of WAL between checkpoints during an import (without the checkpoint thread)
WAL_MAX_PAGES = 16384  # past 64 MB of WAL the checkpoint thread makes the next batch start the WAL afresh


@contextmanager
def bulk_pragmas(db):
    """Relax fsync, widen the page cache and checkpoint in the background during an import; restore after.

    Yields a function to call after each committed batch (it wakes the
    checkpointing thread), or None.

    In WAL mode synchronous=NORMAL still keeps every committed batch on an
    application crash (only a power cut can lose the last ones), and skips an
    fsync per commit; a larger cache keeps the message indexes (random
    Message-IDs, hashes) from thrashing once the database outgrows 2 MB.
    """
    conn = db.conn
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    # SQLite refuses to change it inside a transaction (a source's fetch); that one keeps its level
    relax = not conn.in_transaction and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    checkpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    if relax:
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = {min(cache, -_CACHE_KB) if cache < 0 else cache}")
    checkpointer = Checkpointer.start(conn) if relax else None
    # a batch writes about 1,000 pages: checkpoint every few batches, not after each
    conn.execute(f"PRAGMA wal_autocheckpoint = {0 if checkpointer else max(int(checkpoint), _CHECKPOINT_PAGES)}")
    try:
        yield checkpointer.poke if checkpointer else None
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        if relax:
            conn.execute(f"PRAGMA synchronous = {int(sync)}")
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")


class Checkpointer:
    """Copy the WAL into the database from a second connection in a thread, while the import writes on.

    A checkpoint is mostly I/O and an fsync; SQLite releases the GIL for it,
    so done here it overlaps the next batch instead of stalling the commit
    that crossed wal_autocheckpoint (about a tenth of a big import).
    """

    def __init__(self, conn):
        import threading

        self.conn = conn
        self.wake = threading.Event()
        self.done = False
        self.thread = threading.Thread(target=self._run, name="ktrack-checkpoint", daemon=True)

    @classmethod
    def start(cls, importing):
        """Start one for the importing connection's database; None where that cannot be (the caller then
        keeps SQLite's auto-checkpoint)."""
        import sqlite3

        path = next((row[2] for row in importing.execute("PRAGMA database_list") if row[1] == "main"), "")
        if not path:
            return None  # an in-memory database has no WAL
        try:
            conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        except sqlite3.Error:
            return None
        checkpointer = cls(conn)
        checkpointer.thread.start()
        return checkpointer

    def _run(self) -> None:
        import sqlite3

        try:
            while not self.done:
                self.wake.wait()
                self.wake.clear()
                try:
                    _, log, _ = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if log > WAL_MAX_PAGES:
                        # The WAL starts over only when a write begins after a checkpoint has copied all
                        # of it; with the import writing all the time that can keep missing. RESTART waits
                        # for the current batch, copies the rest and makes the next batch start afresh.
                        self.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                except sqlite3.Error:
                    pass  # busy or a full disk: the next batch tries again; the import reports its own errors
        finally:
            self.conn.close()

    def poke(self) -> None:
        self.wake.set()

    def stop(self) -> None:
        self.done = True
        self.wake.set()
        self.thread.join()
