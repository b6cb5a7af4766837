"""The store: migrations on open, idempotence, forward migration, bad --db paths."""

import sqlite3
import subprocess

import pytest
import sqlite_utils

from tracker.db import open_db
from tracker.errors import KtrackError
from tracker.migrations import core


def test_migrations_apply_twice_without_change(tmp_path):
    path = tmp_path / "k.db"
    db = open_db(path)
    first = [(r["migration_set"], r["name"]) for r in db["_sqlite_migrations"].rows]
    schema = db.schema
    db.conn.close()
    db = open_db(path)
    assert [(r["migration_set"], r["name"]) for r in db["_sqlite_migrations"].rows] == first
    assert db.schema == schema
    assert {"sources", "messages", "series", "releases", "findings", "http_cache"} <= set(db.table_names())


def test_forward_migration_from_older_schema(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    core.apply(old, stop_before="m003_meta")  # a database written by an older ktrack
    old["releases"].insert({"version": "2.6.33", "kind": "mainline"})
    assert "meta" not in old.table_names()
    old.conn.close()

    db = open_db(path)
    assert "meta" in db.table_names()
    assert db["releases"].get("2.6.33")["kind"] == "mainline"
    assert not core.pending(db)


def test_plugin_migration_set_applied_on_open(tmp_path):
    plugin_set = sqlite_utils.Migrations("example_plugin")

    @plugin_set()
    def m001_example(db):
        db["example_plugin_things"].create({"id": int, "name": str}, pk="id")

    db = open_db(tmp_path / "k.db", migration_sets=[plugin_set])
    assert "example_plugin_things" in db.table_names()
    assert not plugin_set.pending(db)


def test_wal_mode_and_unique_natural_keys(tmp_path):
    db = open_db(tmp_path / "k.db")
    assert db.journal_mode == "wal"
    db["messages"].insert({"message_id": "a@b", "subject": "x"})
    with pytest.raises(sqlite3.IntegrityError):
        db["messages"].insert({"message_id": "a@b", "subject": "y"})


def test_directory_as_db_is_a_clear_error(tmp_path):
    with pytest.raises(KtrackError, match="is a directory"):
        open_db(tmp_path)


def test_non_sqlite_file_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database at all, just some text that is long enough\n")
    with pytest.raises(KtrackError, match="not an SQLite database"):
        open_db(path)
    assert path.read_text().startswith("not a database")  # left as it was


def test_cli_bad_db_paths_print_one_line(ktrack, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00\x01binary junk" * 10)
    for bad, message in [
        (tmp_path, "is a directory"),
        (junk, "is not an SQLite database"),
        ("/proc/ktrack-test/k.db", "cannot"),
    ]:
        # The fixture passes its own --db first; a later --db wins in click.
        result = ktrack("--db", bad, "migrate")
        assert result.exit_code != 0
        assert message in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


@pytest.fixture
def read_only_dir(tmp_path):
    """A real read-only file system (tmpfs remounted ro) holding a valid database."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): no read-only file system to test on")
    try:
        db = open_db(mnt / "k.db")
        db["releases"].insert({"version": "6.1", "kind": "mainline"})
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_read_only_location_is_a_clear_error(ktrack, read_only_dir):
    for target in (read_only_dir / "k.db", read_only_dir / "new.db"):
        result = ktrack("--db", target, "migrate")
        assert result.exit_code != 0
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert str(read_only_dir) in result.output
