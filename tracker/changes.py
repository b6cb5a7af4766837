"""What changed in the store, read in constant time: a delete counter per table, an index on updated_at.

The site build stops early when the store holds what it held at the last
build (tracker/fingerprint.py). It reads, per table a page can show, the
highest rowid (a row was added), the newest `updated_at` (a row changed in
place: the store's convention, which plugin tables follow too) and how many
rows were ever deleted (a row is gone). Counting the rows instead would read
the whole table: at a million messages that was most of a weekly run with
nothing new (issue 19). So the host gives every such table, its own and the
plugins', an AFTER DELETE trigger that bumps the table's counter in
`table_deletes`, and an index on `updated_at` where the table has the column
and no index starting with it, so that max() is one seek.

`ensure_change_tracking` runs when a database is opened, and does anything
only when the schema changed since it last looked (SQLite's schema_version):
a table a plugin created since then is covered at the next open, and until
then the fingerprint counts its rows (tracker/fingerprint.py).
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

# Tables whose changes never show on a page: fetch bookkeeping, marks, the site's own caches.
UNSEEN_TABLES = frozenset({"sources", "http_cache", "meta", "site_editions", "site_fragments", "table_deletes",
                           "dangling_refs"})
DELETES_TABLE = "table_deletes"
TRIGGER_PREFIX = "ktrack_deletes_"
INDEX_PREFIX = "ktrack_updated_"
SCHEMA_KEY = "change_tracking_schema"  # meta: the schema_version ensure_change_tracking last brought up to date


class Tracked(NamedTuple):  # not a dataclass: this module loads with every database opened
    """A table whose changes a page may show, and what its fingerprint can read cheaply."""

    name: str
    has_rowid: bool
    stamped: bool  # has an updated_at column
    counts_deletes: bool  # has the host's delete trigger


def quote_name(name: str) -> str:
    """A table or index name as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def tracked_tables(db) -> list[Tracked]:
    """The tables a page may show, by name: not the unseen ones, not full-text indexes (they mirror messages)."""
    rows = db.execute(
        "select type, name, tbl_name, sql from sqlite_master where type in ('table', 'trigger') order by name"
    ).fetchall()
    tables = [(name, sql or "") for kind, name, _, sql in rows if kind == "table" and not name.startswith("sqlite_")]
    triggers = {name for kind, name, _, _ in rows if kind == "trigger"}
    virtual = [name for name, sql in tables if sql.upper().startswith("CREATE VIRTUAL")]
    out = []
    for name, sql in tables:
        if name in UNSEEN_TABLES or any(name == v or name.startswith(v + "_") for v in virtual):
            continue
        columns = {c[1] for c in db.execute(f"pragma table_info({quote_name(name)})")}
        out.append(Tracked(
            name=name,
            has_rowid="WITHOUT ROWID" not in " ".join(sql.upper().split()),
            stamped="updated_at" in columns,
            counts_deletes=TRIGGER_PREFIX + name in triggers,
        ))
    return out


def _schema_version(db) -> int:
    return db.execute("pragma schema_version").fetchone()[0]


def _mark(db) -> str | None:
    row = db.execute("select value from meta where key = ?", [SCHEMA_KEY]).fetchone()
    return row[0] if row else None


def ensure_change_tracking(db) -> None:
    """Give every tracked table its delete trigger and, if it is stamped, an index max(updated_at) can seek.

    Cheap when nothing changed (two reads); idempotent; on a read-only
    database it leaves things as they are (the fingerprint then counts rows).
    """
    conn = db.conn
    names = set(db.table_names())
    if DELETES_TABLE not in names or "meta" not in names:
        return  # migrations not applied (opened without migrating)
    if _mark(db) == str(_schema_version(db)):
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return  # read-only, or in use past the busy timeout: next time
    try:
        for table in tracked_tables(db):
            name = table.name
            if not table.counts_deletes:
                conn.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {quote_name(TRIGGER_PREFIX + name)} AFTER DELETE ON {quote_name(name)} BEGIN "
                    f"INSERT INTO {DELETES_TABLE}(name, deletes) VALUES ({_literal(name)}, 1) "
                    "ON CONFLICT(name) DO UPDATE SET deletes = deletes + 1; END"
                )
            if table.stamped:
                indexed = {
                    row[1] for row in conn.execute(f"pragma index_list({quote_name(name)})")
                    if (first := conn.execute(f"pragma index_info({quote_name(row[1])})").fetchone()) and first[2] == "updated_at"
                }
                if not indexed:
                    conn.execute(f"CREATE INDEX IF NOT EXISTS {quote_name(INDEX_PREFIX + name)} ON {quote_name(name)}(updated_at)")
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SCHEMA_KEY, str(_schema_version(db))],
        )
    except sqlite3.OperationalError:
        conn.rollback()
        return
    conn.commit()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
