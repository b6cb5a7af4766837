"""Findings: what an analyzer plugin concluded about a series or message, with its evidence.

A finding is keyed by (plugin, kind, key) so that re-analysing the same
series updates it instead of adding a second row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from sqlite_utils import Database

from .db import utcnow, write_transaction


@dataclass
class Finding:
    """One conclusion, e.g. kind="syscall", key="name_to_handle@<msgid>", data={...}."""

    kind: str
    key: str
    data: dict[str, Any]
    evidence: list[str] = field(default_factory=list)
    series_key: str | None = None
    message_id: str | None = None
    date: str | None = None


def save_findings(db: Database, plugin: str, findings: Iterable[Finding]) -> int:
    """Upsert findings of one plugin; keep created_at of rows that already existed."""
    now = utcnow()
    count = 0
    with write_transaction(db):
        for f in findings:
            row = {
                "plugin": plugin,
                "kind": f.kind,
                "key": f.key,
                "series_key": f.series_key,
                "message_id": f.message_id,
                "date": f.date,
                "data_json": json.dumps(f.data, sort_keys=True, default=str),
                "evidence_json": json.dumps(f.evidence),
                "updated_at": now,
            }
            existing = db.execute(
                "select id, data_json, evidence_json from findings where plugin = ? and kind = ? and key = ?",
                [plugin, f.kind, f.key],
            ).fetchone()
            if existing is None:
                db["findings"].insert({**row, "created_at": now})
            elif (existing[1], existing[2]) != (row["data_json"], row["evidence_json"]):
                db["findings"].update(existing[0], row)
            count += 1
    return count


def load_findings(db: Database, *, plugin: str | None = None, kind: str | None = None, where: str = "", params: Iterable = ()) -> list[dict]:
    """Return findings as plain dicts with `data` and `evidence` decoded."""
    clauses, args = [], []
    if plugin:
        clauses.append("plugin = ?")
        args.append(plugin)
    if kind:
        clauses.append("kind = ?")
        args.append(kind)
    if where:
        clauses.append(f"({where})")
        args.extend(params)
    sql = "select * from findings" + (" where " + " and ".join(clauses) if clauses else "") + " order by date, id"
    rows = []
    for row in db.query(sql, args):
        row["data"] = json.loads(row.pop("data_json") or "{}")
        row["evidence"] = json.loads(row.pop("evidence_json") or "[]")
        rows.append(row)
    return rows


def finding_to_dict(f: Finding) -> dict:
    return asdict(f)
