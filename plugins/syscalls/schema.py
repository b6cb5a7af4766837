"""The syscalls plugin's tables: its sqlite_utils Migrations set (see register_migrations)."""

from sqlite_utils import Migrations

migrations = Migrations("syscalls")


@migrations()
def m001_syscalls(db):
    db["syscalls"].create(
        {
            "name": str,
            "status": str,  # proposed | merged
            "merged_in": str,
            "change": str,  # added | removed (the latest change seen)
            "signature": str,
            "abis_json": str,
            "aliases_json": str,
            "first_seen_json": str,
            "series_json": str,
            "last_activity": str,
            "updated_at": str,
        },
        pk="name",
    )


@migrations()
def m002_syscall_tables(db):
    # Per-release syscall tables newer than the shipped data, from `ktrack syscalls update-tables`.
    db["syscall_tables"].create({"version": str, "abi": str, "nr": int, "name": str}, pk=("version", "abi", "nr"))


@migrations()
def m003_redetect(db):
    # Issue 16 changed what counts as a syscall (stubs, macros, compat-only names): findings of the
    # old detector are dropped and the next `ktrack analyze` re-reads every series.
    if db["findings"].exists():
        db.execute("delete from findings where plugin = 'syscalls'")
    if db["meta"].exists():
        db.execute("delete from meta where key = 'analysis_watermark'")
