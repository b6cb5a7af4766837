"""A stored message row: its columns from a parsed mail, and how a threaded batch of rows is inserted.

tracker/ingest.py parses mail into these rows (in its worker too), threads a
batch of them in memory (tracker/series.py) and inserts each row once, with its
series, through insert_indexed.
"""

from __future__ import annotations

import json

from .db import utcnow
from .mail import ParsedMessage
from .series_rows import Placement
from .subjects import message_role, parse_subject

_FTS_TRIGGER = "messages_fts_ai"  # migration m002: indexes each inserted message in messages_fts
_BULK_FTS_MIN = 20  # below this, the trigger is cheaper than dropping and re-creating it
COLUMNS = (
    "message_id", "list_id", "subject", "author_name", "author_email", "date", "in_reply_to",
    "references_json", "body", "diff", "diffstat_json", "files_json", "trailers_json", "upstream_commit",
    "patch_number", "patch_total", "is_cover", "is_patch", "patch_version", "raw_sha256", "origin", "imported_at",
)
# the parsed columns, then what threading sets: inserted once, with their series
INSERT_SQL = (
    f"INSERT OR IGNORE INTO messages ({', '.join(COLUMNS)}, series_key, reply_to_number) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))})"
)
_NORE = tuple(COLUMNS.index(c) for c in ("is_patch", "patch_number", "patch_total", "patch_version"))


def _dumps(value) -> str:
    return json.dumps(value) if value else "[]"  # most lists are empty; skip the encoder


def message_row(parsed: ParsedMessage, *, list_id: str | None, origin: str | None, now: str | None = None) -> dict:
    """Return the `messages` columns of a parsed message, with its series role from the subject."""
    subject = parse_subject(parsed.subject)
    role, number, total = message_role(subject, has_diff=bool(parsed.diff), in_reply_to=parsed.in_reply_to)
    return {
        "message_id": parsed.message_id,
        "list_id": list_id or parsed.list_id,
        "subject": parsed.subject,
        "author_name": parsed.author_name,
        "author_email": parsed.author_email,
        "date": parsed.date,
        "in_reply_to": parsed.in_reply_to,
        "references_json": _dumps(parsed.references),
        "body": parsed.body,
        "diff": parsed.diff,
        "diffstat_json": _dumps(parsed.diffstat),
        "files_json": _dumps(parsed.files),
        "trailers_json": _dumps(parsed.trailers),
        "upstream_commit": parsed.upstream_commit,
        "patch_number": number,
        "patch_total": total,
        "is_cover": int(role == "cover"),
        "is_patch": int(role == "patch"),
        "patch_version": subject.version if role in ("cover", "patch") else None,
        "raw_sha256": parsed.raw_sha256,
        "origin": origin,
        "imported_at": now or utcnow(),
        # not columns: what the threader needs
        "references": parsed.references,
        "trailers": parsed.trailers,
        "prefixes": subject.prefixes,
        "version_explicit": subject.version_explicit,
    }


def not_stored(conn, rows: list[dict]) -> list[dict]:
    """The rows whose Message-ID is not in `messages` yet (the same message under other bytes is)."""
    existing = set()
    ids = [r["message_id"] for r in rows]
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        existing.update(
            r[0] for r in conn.execute(f"SELECT message_id FROM messages WHERE message_id IN ({','.join('?' * len(chunk))})", chunk)
        )
    return [r for r in rows if r["message_id"] not in existing]


def placed_values(row: dict, placed: Placement) -> tuple:
    """The row's INSERT values with what threading set: its series, and no patch role if it was a "nore" reply."""
    values = row["_values"]
    if not placed.is_patch and row["is_patch"]:
        values = list(values)
        for i in _NORE:
            values[i] = 0 if i == _NORE[0] else None
        values = tuple(values)
    return values + (placed.series_key, placed.reply_to_number)


def insert_indexed(conn, values: list[tuple]) -> None:
    """Insert message rows and add them to `messages_fts` with one INSERT .. SELECT.

    The per-row FTS trigger costs more than parsing the mail (bench/ingest.py);
    inside the batch's transaction it is dropped, the rows indexed in bulk, and
    the trigger re-created from its own SQL, so no other connection ever sees
    the schema without it and every other writer of `messages` keeps using it.
    """
    trigger = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_FTS_TRIGGER,)).fetchone()
    if trigger is None or len(values) < _BULK_FTS_MIN:
        conn.executemany(INSERT_SQL, values)
        return
    last = conn.execute("SELECT max(rowid) FROM messages").fetchone()[0] or 0
    conn.execute(f"DROP TRIGGER {_FTS_TRIGGER}")
    conn.executemany(INSERT_SQL, values)
    conn.execute("INSERT INTO messages_fts(rowid, subject, body) SELECT rowid, subject, body FROM messages WHERE rowid > ?", (last,))
    conn.execute(trigger[0])


def record_dangling(conn, rows: list[dict]) -> None:
    """Note what the rows name (In-Reply-To, References) that is neither stored nor among them.

    The mail that named a message before it arrived is how a build finds the old weeks that a
    late thread root changes (migration m007_dangling_refs, edition_cache._late_mail_weeks).
    """
    # rows are inserted in this order: one named by an earlier row of the batch was not stored before it
    position = {row["message_id"]: index for index, row in enumerate(rows)}
    named: dict[str, set[str]] = {}
    for index, row in enumerate(rows):
        for ref in (row.get("in_reply_to"), *(row.get("references") or ())):
            ref = ref.strip(" <>") if isinstance(ref, str) else ""
            if ref and position.get(ref, len(rows)) > index:
                named.setdefault(ref, set()).add(row["message_id"])
    if not named:
        return
    ids = list(named)
    stored: set[str] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        stored.update(r[0] for r in conn.execute(
            f"SELECT message_id FROM messages WHERE message_id IN ({','.join('?' * len(chunk))})", chunk))
    conn.executemany("INSERT OR IGNORE INTO dangling_refs (ref_id, message_id) VALUES (?, ?)",
                     [(ref, mid) for ref, mids in named.items() if ref not in stored for mid in sorted(mids)])
