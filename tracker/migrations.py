"""The core schema: sources, messages, patch series, releases, findings.

Never edit an applied migration: add m00N below. Plugins own their tables and
their own Migrations sets (the register_migrations hook).
"""

from sqlite_utils import Migrations

core = Migrations("ktrack")


@core()
def m001_initial(db):
    db["sources"].create(
        {
            "name": str,  # unique, e.g. "lore:linux-api", "kernel.org:releases"
            "kind": str,
            "url": str,
            "last_success_at": str,
            "last_error": str,
            "last_error_at": str,
            "next_due_at": str,
            "state_json": str,  # a source's own cursor (e.g. newest message date seen)
        },
        pk="name",
    )
    db["http_cache"].create(
        {
            "url": str,
            "etag": str,
            "last_modified": str,
            "body_sha256": str,  # for servers that send neither validator
            "fetched_at": str,
        },
        pk="url",
    )
    db["messages"].create(
        {
            "message_id": str,
            "list_id": str,
            "subject": str,
            "author_name": str,
            "author_email": str,
            "date": str,  # UTC ISO-8601
            "in_reply_to": str,
            "references_json": str,
            "body": str,  # the text part, diff removed
            "diff": str,
            "diffstat_json": str,
            "files_json": str,  # paths the diff touches
            "trailers_json": str,  # [[name, value], ...]
            "upstream_commit": str,  # stable backports: "commit <sha> upstream."
            "series_key": str,
            "patch_number": int,
            "patch_total": int,
            "is_cover": int,
            "is_patch": int,
            "raw_sha256": str,
            "origin": str,  # file or URL it came from
            "imported_at": str,
        },
        pk="message_id",
    )
    db["messages"].create_index(["series_key"])
    db["messages"].create_index(["in_reply_to"])
    db["messages"].create_index(["date"])
    db["series"].create(
        {
            "series_key": str,  # Message-ID of the cover letter, else of the first patch
            "subject": str,  # the cover's or first patch's subject, prefixes removed
            "version": int,
            "prefixes_json": str,  # ["PATCH", "RFC", "RESEND", "6.1"]
            "author_name": str,
            "author_email": str,
            "date": str,
            "list_id": str,
            "total": int,
            "received": int,
            "complete": int,
            "cover_message_id": str,
            "lineage": str,  # shared by all versions of one series (change-id or stem+author)
            "is_stable_review": int,
            "stable_release": str,
            "updated_at": str,
        },
        pk="series_key",
    )
    db["series"].create_index(["lineage"])
    db["series"].create_index(["date"])
    db["series"].create_index(["stable_release"])
    db["releases"].create(
        {
            "version": str,
            "kind": str,  # mainline, rc, stable, longterm, linux-next
            "moniker": str,
            "sort_key": str,  # zero-padded, so ORDER BY sort_key is version order
            "released_at": str,
            "iseol": int,
            "source_json": str,  # the upstream record as received
            "announcement_message_id": str,
            "change_count": int,
            "shortlog": str,
            "excerpt": str,
            "updated_at": str,
        },
        pk="version",
    )
    db["findings"].create(
        {
            "id": int,
            "plugin": str,
            "kind": str,  # e.g. "stable_verdict", "syscall", "sysctl"
            "key": str,  # natural key within plugin+kind, so re-runs upsert
            "series_key": str,
            "message_id": str,
            "date": str,
            "data_json": str,
            "evidence_json": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db["findings"].create_index(["plugin", "kind", "key"], unique=True)
    db["findings"].create_index(["series_key"])


@core()
def m003_meta(db):
    # Host bookkeeping that is not a source's: e.g. the analysis watermark.
    db["meta"].create({"key": str, "value": str}, pk="key")


@core()
def m002_mail_threading_fts(db):
    """Columns and indexes for threading mail into series, and FTS5 over subjects and bodies."""
    db["messages"].add_column("patch_version", int)
    db["messages"].add_column("reply_to_number", int)  # replies: the patch number they answer (0 = cover)
    db["messages"].create_index(["raw_sha256"])
    db["series"].add_column("stem_key", str)  # lower-cased subject stem, for lineage
    db["series"].create_index(["author_email", "stem_key"])
    db["series"].create_index(["author_email", "date"])
    db["series"].create_index(["updated_at"])
    # Every Message-ID a series' patches are or point at (In-Reply-To, References),
    # so that a patch arriving later (or before its cover) finds its series.
    db["series_refs"].create({"message_id": str, "series_key": str}, pk=("message_id", "series_key"))
    db["series_refs"].create_index(["series_key"])
    # External-content FTS5 kept by triggers; the update trigger fires only on subject/body
    # so that threading (series_key updates) costs no re-indexing.
    db.executescript(
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5(subject, body, content='messages', content_rowid='rowid');
        CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
          INSERT INTO messages_fts(rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
        END;
        CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
          INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
        END;
        CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, body ON messages BEGIN
          INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.rowid, old.subject, old.body);
          INSERT INTO messages_fts(rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        """
    )


@core()
def m004_series_change_id(db):
    """b4's change-id of each series (X-Change-ID header or change-id trailer): joins its versions into one lineage."""
    db["series"].add_column("change_id", str)
    db["series"].create_index(["change_id"])


@core()
def m005_table_deletes(db):
    """Rows deleted per table, counted by triggers the host adds (tracker/changes.py): the site fingerprint reads it instead of counting rows."""
    db["table_deletes"].create({"name": str, "deletes": int}, pk="name")


@core()
def m006_findings_date(db):
    """The newest finding's week is one index seek (edition.newest_edition_week), as the newest series' is."""
    db["findings"].create_index(["date"], if_not_exists=True)


# What a message names that was not stored before it: In-Reply-To and every References entry,
# trimmed as the Message-IDs in `messages` are. Shared by the backfill below and its test.
DANGLING_REFS_SQL = """
    SELECT DISTINCT named.ref, named.message_id FROM (
        SELECT trim(r.value, ' <>') AS ref, m.message_id AS message_id, m.rowid AS at
        FROM messages m, json_each(CASE WHEN json_valid(m.references_json) THEN m.references_json ELSE '[]' END) r
        WHERE length(m.references_json) > 2 AND r.type = 'text'
        UNION ALL
        SELECT trim(in_reply_to, ' <>'), message_id, rowid FROM messages WHERE in_reply_to IS NOT NULL
    ) named
    WHERE named.ref != '' AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.message_id = named.ref AND n.rowid < named.at)
"""


@core()
def m007_dangling_refs(db):
    """Message-IDs a stored message named (In-Reply-To, References) before the message itself was stored.

    A message that arrives late (a thread root imported after its replies) finds the mail that
    named it with one index lookup (edition_cache._late_mail_weeks) instead of reading every
    message's References; ingest keeps the table as it stores mail, this fills it for the mail
    stored before.
    """
    db.execute("CREATE TABLE dangling_refs (ref_id TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (ref_id, message_id))")
    db.execute(f"INSERT OR IGNORE INTO dangling_refs (ref_id, message_id) {DANGLING_REFS_SQL}")
