"""Open the one SQLite file and bring its schema up to date.

Every path problem becomes one clear KtrackError line: a directory, a file
that is not SQLite, a read-only location.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator
from datetime import datetime, timezone
from pathlib import Path

from typing import TYPE_CHECKING

import platformdirs

from .errors import KtrackError

if TYPE_CHECKING:  # sqlite-utils loads when a database is opened: plugins import utcnow at start-up
    import sqlite_utils
    from sqlite_utils import Migrations

SQLITE_MAGIC = b"SQLite format 3\x00"


def default_db_path() -> Path:
    """Return $KTRACK_DB, else ktrack.db in the user data dir."""
    env = os.environ.get("KTRACK_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("ktrack")) / "ktrack.db"


def utcnow() -> str:
    """Return the current UTC time as ISO-8601 text, the format of every *_at column."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_db_path(path: Path) -> None:
    """Raise KtrackError when `path` cannot be a ktrack database."""
    if path.is_dir():
        raise KtrackError(f"database path {path} is a directory, not a file")
    if path.exists():
        if path.stat().st_size > 0:
            with open(path, "rb") as fh:
                if fh.read(16) != SQLITE_MAGIC:
                    raise KtrackError(f"{path} is not an SQLite database")
    else:
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KtrackError(f"cannot create directory {parent} for the database: {exc.strerror}") from None
        if not os.access(parent, os.W_OK):
            raise KtrackError(f"cannot create database in {parent}: directory is not writable")


def open_db(path: str | Path, *, migration_sets: list[Migrations] = (), migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path` and apply pending migrations."""
    import sqlite_utils

    from .migrations import core

    path = Path(path)
    check_db_path(path)
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        db = sqlite_utils.Database(conn)
        _enable_wal(db)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        if migrate:
            _apply_migrations(db, (core, *migration_sets))
            from .changes import ensure_change_tracking

            ensure_change_tracking(db)  # delete counters and updated_at indexes for the site fingerprint
    except sqlite3.DatabaseError as exc:
        if path.exists() and not os.access(path, os.W_OK):
            raise KtrackError(f"database {path} is read-only") from None
        raise KtrackError(f"cannot use database {path}: {exc}") from None
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block that reads then writes as one transaction that holds the write lock from the start.

    A deferred transaction (db.atomic()) that reads first cannot upgrade to a
    write once another process has written meanwhile: SQLite then fails at
    once with "database is locked", busy timeout or not. BEGIN IMMEDIATE takes
    the write lock up front and waits for it. Inside an open transaction
    (e.g. a source's) the block nests as a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    db.conn.commit()


def _enable_wal(db: sqlite_utils.Database, *, attempts: int = 50) -> None:
    """Switch to WAL, waiting for another process that holds the file.

    SQLite does not call the busy handler while changing the journal mode, so
    two processes opening a new database at once would see "database is locked".
    """
    for attempt in range(attempts):
        try:
            if db.journal_mode != "wal":
                db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _apply_migrations(db: sqlite_utils.Database, migration_sets) -> None:
    """Apply what is pending under one write lock, so two processes never race to create a table."""
    if not any(m.pending(db) for m in migration_sets):
        return
    db.conn.execute("BEGIN IMMEDIATE")  # waits (busy_timeout) for a concurrent opener
    try:
        for migrations in migration_sets:
            if migrations.pending(db):  # re-check under the lock
                migrations.apply(db)  # nests as savepoints inside our transaction
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def migration_status(db: sqlite_utils.Database, migration_sets: list[Migrations]) -> list[dict]:
    """Return one dict per migration: set, name, applied (bool), applied_at."""
    rows = []
    from .migrations import core

    for migrations in (core, *migration_sets):
        applied = {m.name: m.applied_at for m in migrations.applied(db)}
        for m in migrations._migrations:
            rows.append(
                {
                    "set": migrations.name,
                    "name": m.name,
                    "applied": m.name in applied,
                    "applied_at": applied.get(m.name),
                }
            )
    return rows


def get_meta(db, key: str, default: str | None = None) -> str | None:
    """A value the store keeps for itself in `meta` (watermarks, marks), or `default`."""
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return row[0] if row else default


def set_meta(db, key: str, value: str) -> None:
    db["meta"].upsert({"key": key, "value": value}, pk="key")
