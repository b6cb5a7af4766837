"""The sysctls plugin's tables: its sqlite_utils Migrations set (see register_migrations)."""

from sqlite_utils import Migrations

migrations = Migrations("sysctls")


@migrations()
def m001_sysctls(db):
    db["sysctls"].create(
        {
            "name": str,  # dotted, e.g. net.ipv4.ip_local_reserved_ports
            "path": str,
            "change": str,  # added | removed | changed (the latest change seen)
            "status": str,  # proposed | merged
            "mode": str,
            "handler": str,
            "doc": str,
            "default_value": str,
            "merged_in": str,
            "first_seen_json": str,
            "series_json": str,
            "last_activity": str,
            "updated_at": str,
        },
        pk="name",
    )
