"""What threading stored, as plain JSON: to compare one import with another (issue 15 item 6, issue 19).

`snapshot(db_path)` reads a database into a dict: `ktrack series --json`
(the fields threading decides: THREADING_JSON_FIELDS),
the `series` and `series_refs` tables, and per message (in insertion order)
its threading columns plus a hash of the others. Timestamps (`imported_at`,
`updated_at`) are left out, and `origin` is cut to the file's name, so two
imports of the same mail made at different times, from different folders,
give the same snapshot exactly when they stored the same thing.

tests/test_series_snapshot.py compares an import of the linux-api excerpt
with tests/data/series-snapshot/linux-api-2021-excerpt.json.gz, which was
written by this file with the threading code as it was before the Threader's
records were named and its refresh made incremental. Made with:

    python tests/series_snapshot.py import tests/data/lists/linux-api-2021-excerpt.mbox.gz \\
        | gzip -9n > tests/data/series-snapshot/linux-api-2021-excerpt.json.gz

and each threading fixture of tests/data (FIXTURES) imported alone with
tests/data/series-snapshot/fixtures.json.gz, made with

    python tests/series_snapshot.py fixtures | gzip -9n > tests/data/series-snapshot/fixtures.json.gz

and the excerpt stored in a shuffled order, 25 messages a run, with
tests/data/series-snapshot/linux-api-2021-excerpt-shuffled.json.gz, made with

    python tests/series_snapshot.py shuffled tests/data/lists/linux-api-2021-excerpt.mbox.gz 19 25 \\
        | gzip -9n > tests/data/series-snapshot/linux-api-2021-excerpt-shuffled.json.gz

and the 2.6.14.7 review stored 2 messages a run, shuffled, with 2.6.14.7-review-shuffled.json.gz:

    python tests/series_snapshot.py shuffled tests/data/stable-reviews/2.6.14.7-review.mbox 3 2 \\
        | gzip -9n > tests/data/series-snapshot/2.6.14.7-review-shuffled.json.gz

All four were made by an install of commit e679bf2 (`pip install .` of `git archive e679bf2`).

It also compares two databases made by hand (say, a whole year before and after a change):

    python tests/series_snapshot.py dump A.db > a.json; python tests/series_snapshot.py dump B.db > b.json; cmp a.json b.json
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

# columns of `messages` that threading sets or reads, kept as they are; the others are hashed
MESSAGE_KEPT = (
    "message_id", "series_key", "reply_to_number", "is_patch", "is_cover", "patch_number", "patch_total",
    "patch_version", "in_reply_to",
)
TIMESTAMPS = {"imported_at", "updated_at"}
# the `series --json` fields threading decides; the snapshots keep only these, so that a field added
# later, or a category the categories plugin files differently, does not read as a threading change
# (`dump`, for comparing two databases made by hand, keeps every field)
THREADING_JSON_FIELDS = (
    "series_key", "subject", "version", "author", "date", "list", "total", "received", "complete",
    "cover_message_id", "prefixes", "is_stable_review", "stable_release", "lineage", "patches", "reviews",
)


def _rows(conn, sql):
    cur = conn.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur]


def tables(db_path) -> dict:
    """The series, series_refs and messages tables, without timestamps."""
    conn = sqlite3.connect(db_path)
    try:
        series = [
            {k: v for k, v in row.items() if k not in TIMESTAMPS}
            for row in _rows(conn, "SELECT * FROM series ORDER BY series_key")
        ]
        refs = [list(r) for r in conn.execute("SELECT message_id, series_key FROM series_refs ORDER BY 1, 2")]
        messages = []
        for row in _rows(conn, "SELECT * FROM messages ORDER BY rowid"):
            row["origin"] = Path(row["origin"] or "").name
            rest = {k: v for k, v in sorted(row.items()) if k not in MESSAGE_KEPT and k not in TIMESTAMPS}
            kept = {k: row[k] for k in MESSAGE_KEPT}
            kept["rest_sha1"] = hashlib.sha1(json.dumps(rest, sort_keys=True).encode()).hexdigest()
            messages.append(kept)
    finally:
        conn.close()
    return {"series": series, "series_refs": refs, "messages": messages}


def series_json(db_path) -> list:
    """`ktrack series --json` on the database, run in this process."""
    from click.testing import CliRunner

    from tracker.app import App
    from tracker.cli import build_cli

    app = App(db_path=Path(db_path))
    result = CliRunner().invoke(build_cli(app), ["--db", str(db_path), "series", "--json"], obj=app, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def snapshot(db_path, json_fields=THREADING_JSON_FIELDS) -> dict:
    """series --json (only `json_fields`; None: all of them) and the tables."""
    listed = series_json(db_path)
    if json_fields is not None:
        listed = [{name: entry[name] for name in json_fields} for entry in listed]
    return {"series_json": listed, **tables(db_path)}


def dumps(snap: dict) -> str:
    """JSON with one record a line: small, and a diff names the records that changed."""
    out = ["{"]
    for i, name in enumerate(sorted(snap)):
        out.append(f"{json.dumps(name)}: [")
        records = snap[name]
        out.extend(
            json.dumps(record, sort_keys=True, ensure_ascii=False) + ("," if j < len(records) - 1 else "")
            for j, record in enumerate(records)
        )
        out.append("]" + ("," if i < len(snap) - 1 else ""))
    out.append("}")
    return "\n".join(out) + "\n"


def stored(tmp: Path, store) -> tuple[dict, object]:
    """The snapshot of a fresh database in `tmp` after `store(db)` wrote into it, and what `store`
    returned; the database files are removed."""
    from tracker.app import App

    db_path = tmp / "ktrack.db"
    app = App(db_path=db_path)
    try:
        result = store(app.db)
    finally:
        app.db.conn.close()
    snap = snapshot(db_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return snap, result


def imported(paths, tmp: Path) -> dict:
    """The snapshot of a fresh database that `paths` were imported into, in one import."""
    from tracker.ingest import import_paths

    return stored(tmp, lambda db: import_paths(db, list(paths)))[0]


def shuffled(path: Path, tmp: Path, *, seed: int, batch: int) -> dict:
    """The snapshot of a fresh database that path's messages were stored into in a shuffled order, `batch`
    at a time (one store_raw_messages each, as separate runs would): replies before their patches,
    patches before their covers, series keys that move."""
    import random

    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_path

    raws = [raw for raw, _ in iter_path(path)]
    random.Random(seed).shuffle(raws)

    def store(db):
        for i in range(0, len(raws), batch):
            store_raw_messages(db, raws[i : i + batch], origin=path.name)

    return stored(tmp, store)[0]


def each_imported(paths, tmp: Path, root: Path) -> dict:
    """Each path imported into a fresh database of its own; the snapshots keyed "<path from root> <table>"."""
    out = {}
    for path in paths:
        for name, records in imported([path], tmp).items():
            out[f"{path.relative_to(root)} {name}"] = records
    return out


# the threading fixtures of tests/test_series.py and tests/test_series_change_id.py, each imported alone
FIXTURES = ("formats/patchwork/series/*.mbox", "formats/b4/*.mbox", "series/*.mbox", "stable-reviews/*review*")


def fixture_paths(data: Path) -> list[Path]:
    return [path for pattern in FIXTURES for path in sorted(data.glob(pattern))]


def main(argv: list[str]) -> None:
    usage = "usage: series_snapshot.py import MBOX | shuffled MBOX SEED BATCH | fixtures | dump DB"
    if not argv:
        raise SystemExit(usage)
    command = argv[0]
    if command == "dump":
        sys.stdout.write(dumps(snapshot(Path(argv[1]), json_fields=None)))
        return
    if command not in ("import", "shuffled", "fixtures"):
        raise SystemExit(usage)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "xdg")  # no user config: every plugin at its defaults
        os.environ.pop("KTRACK_CONFIG", None)
        if command == "import":
            snap = imported([Path(argv[1])], Path(tmp))
        elif command == "shuffled":
            snap = shuffled(Path(argv[1]), Path(tmp), seed=int(argv[2]), batch=int(argv[3]))
        else:
            data = Path(__file__).resolve().parent / "data"
            snap = each_imported(fixture_paths(data), Path(tmp), data)
        sys.stdout.write(dumps(snap))


if __name__ == "__main__":
    main(sys.argv[1:])
