"""Read helpers for stored mail and series: plain dicts out, for plugins, commands and templates.

Plugins never need SQL over `messages`/`series` for the common questions; a
series comes back with its cover, its patches in number order and the
review trailers its replies added.
"""

from __future__ import annotations

import json
import re

# The trailers a reply adds to a review (series.py threads with them too; defined here so that
# reading a series does not load the threading code)
REVIEW_TRAILERS = ("Reviewed-by", "Acked-by", "Tested-by")

_JSON_COLUMNS = {
    "references_json": "references",
    "diffstat_json": "diffstat",
    "files_json": "files",
    "trailers_json": "trailers",
    "prefixes_json": "prefixes",
}


def _decode(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        name = _JSON_COLUMNS.get(key)
        if name:
            out[name] = json.loads(value) if value else []
        else:
            out[key] = value
    if "author_email" in out:
        out["author"] = {"name": out.get("author_name"), "email": out.get("author_email")}
    return out


def _rows(db, sql: str, params=()) -> list[dict]:
    cursor = db.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _decoded_rows(db, sql: str, params=()) -> list[dict]:
    """_rows then _decode, with the column plan worked out once per query, not once per row.

    The same dicts, keys in the same order: analysing a whole archive reads every
    message of every series through here.
    """
    cursor = db.conn.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    names = [_JSON_COLUMNS.get(c, c) for c in columns]
    json_at = [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]
    author = "author_email" in columns
    loads = json.loads
    out = []
    for row in cursor.fetchall():
        values = list(row)
        for i in json_at:
            value = values[i]
            values[i] = ([] if value == "[]" else loads(value)) if value else []
        item = dict(zip(names, values))
        if author:
            item["author"] = {"name": item.get("author_name"), "email": item.get("author_email")}
        out.append(item)
    return out


def get_message(db, message_id: str) -> dict | None:
    """Return one stored message as a dict (JSON columns decoded), or None."""
    rows = _rows(db, "SELECT * FROM messages WHERE message_id = ?", (message_id.strip().strip("<>"),))
    return _decode(rows[0]) if rows else None


def get_series(db, series_key: str) -> dict | None:
    """Return a series with "cover", "patches" (number order) and the trailers replies added.

    Each patch carries "patch_number", "reply_trailers" ([name, value, from]) and
    the series "trailer_counts" ({"Reviewed-by": 2, ...}) over patches and
    replies to the cover (which b4 applies to every patch).
    """
    rows = _decoded_rows(db, "SELECT * FROM series WHERE series_key = ?", (series_key,))
    if not rows:
        return None
    return _with_members(db, rows[0])


def series_of_row(db, row: dict) -> dict:
    """get_series for a `SELECT * FROM series` row already read (raw columns): the analysis reads them all first."""
    return _with_members(db, _decode(row))


def _with_members(db, series: dict) -> dict:
    series_key = series["series_key"]
    members = _decoded_rows(db, "SELECT * FROM messages WHERE series_key = ? ORDER BY patch_number, date", (series_key,))
    cover = None
    patches = []
    replies = []
    for m in members:
        if m["is_cover"] and cover is None:
            cover = m
        elif m["is_patch"]:
            patches.append(m)
        elif not m["is_cover"]:
            replies.append(m)
    by_number: dict[int, list] = {}
    counts: dict[str, int] = {}
    for reply in replies:
        for name, value in reply["trailers"]:
            if name in REVIEW_TRAILERS:
                by_number.setdefault(reply.get("reply_to_number"), []).append([name, value, reply["author_email"]])
                counts[name] = counts.get(name, 0) + 1
    for patch in patches:
        patch["reply_trailers"] = by_number.get(patch["patch_number"], [])
    if cover is not None:
        cover["reply_trailers"] = by_number.get(0, [])
    series["cover"] = cover
    series["patches"] = patches
    series["replies"] = len(replies)
    series["trailer_counts"] = counts
    return series


def list_series(
    db,
    *,
    since: str | None = None,
    until: str | None = None,
    search: str | None = None,
    stable_release: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Return series (newest first) as dicts with a short "patches" list: number, subject, message_id.

    `since`/`until` compare with the series date (ISO text, e.g. "2021-05-01");
    `search` is full-text over the subjects and bodies of the series' messages.
    """
    where, params = [], []
    if since:
        where.append("s.date >= ?")
        params.append(since)
    if until:
        where.append("s.date < ?")
        params.append(until)
    if stable_release:
        where.append("s.stable_release = ?")
        params.append(stable_release)
    if search:
        where.append(
            "s.series_key IN (SELECT m.series_key FROM messages_fts f JOIN messages m ON m.rowid = f.rowid "
            "WHERE messages_fts MATCH ? AND m.series_key IS NOT NULL)"
        )
        params.append(fts_query(search))
    sql = "SELECT s.* FROM series s"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY s.date DESC, s.series_key"
    if limit:
        sql += " LIMIT ?"
        params.append(int(limit))
    out = [_decode(row) for row in _rows(db, sql, params)]
    patches_of = _patches_by_series(db, [series["series_key"] for series in out])
    for series in out:
        patches = patches_of.get(series["series_key"], [])
        # The files the series touches: what categorising a series needs, without its diffs.
        files: dict[str, None] = {}
        for patch in patches:
            for path in json.loads(patch.pop("files_json") or "[]"):
                files.setdefault(path)
        series["patches"] = patches
        series["files"] = list(files)
    return out


def _patches_by_series(db, keys: list[str]) -> dict[str, list[dict]]:
    """The patches of many series in a few queries (500 keys each), in number then date order."""
    found: dict[str, list[dict]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (f"SELECT series_key, patch_number AS number, subject, message_id, files_json FROM messages "
               f"WHERE series_key IN ({marks}) AND is_patch = 1 ORDER BY series_key, patch_number, date")
        for row in _rows(db, sql, chunk):
            found.setdefault(row.pop("series_key"), []).append(row)
    return found


def review_counts(db, series_keys: list[str], until: str | None = None) -> dict[str, dict[str, int]]:
    """Return {series_key: {"Reviewed-by": 2, "Acked-by": 1}}: how many distinct people gave each review trailer.

    Counted over the series' patches (trailers carried from earlier versions)
    and the replies to them; a series nobody reviewed yet is absent. With
    `until` (an ISO date or timestamp) only mail dated before it counts: what
    a weekly edition knew by its end, not a review given a month later.
    """
    people: dict[str, dict[str, set]] = {}
    for start in range(0, len(series_keys), 500):
        chunk = series_keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT series_key, trailers_json FROM messages WHERE series_key IN ({marks}) AND trailers_json LIKE '%-by%'"
        args = list(chunk)
        if until:
            sql += " AND date < ?"
            args.append(until)
        for key, trailers_json in db.conn.execute(sql, args):
            for name, value in json.loads(trailers_json or "[]"):
                if name in REVIEW_TRAILERS:
                    people.setdefault(key, {}).setdefault(name, set()).add(value.strip().lower())
    return {key: {name: len(who) for name, who in by_name.items()} for key, by_name in people.items()}


REVIEW_WORDS = {"Reviewed-by": "reviewed by", "Acked-by": "acked by", "Tested-by": "tested by"}


def review_phrases(reviews: dict[str, int]) -> list[str]:
    """Say review_counts() for a reader: {"Reviewed-by": 2, "Acked-by": 1} -> ["reviewed by 2", "acked by 1"]."""
    return [f"{words} {reviews[name]}" for name, words in REVIEW_WORDS.items() if reviews.get(name)]


def fts_query(text: str) -> str:
    """Turn user text into a safe FTS5 query: every word a quoted term, all required."""
    words = re.findall(r"[\w.@/-]+", text or "", re.UNICODE)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words) or '""'


def search_messages(db, text: str, limit: int = 50) -> list[dict]:
    """Full-text search (FTS5) over message subjects and bodies; best matches first."""
    rows = _rows(
        db,
        "SELECT m.message_id, m.subject, m.author_name, m.author_email, m.date, m.list_id, m.series_key, "
        "snippet(messages_fts, 1, '[', ']', '...', 12) AS snippet "
        "FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
        "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
        (fts_query(text), int(limit)),
    )
    return [_decode(r) for r in rows]
