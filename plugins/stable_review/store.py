"""The stable_review tables: one verdict per (release, patch number), CVE errata, the scorecard.

Verdicts are keyed by (release, number), so reviewing the same update again
updates rows instead of adding them. A CVE that appears for a patch that was
already reviewed without it becomes an erratum row, dated when it was found.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlite_utils import Database, Migrations

from tracker.api import utcnow, write_transaction

if TYPE_CHECKING:  # only named in annotations: opening a database (migrations) must not load the CVE code
    from .cves import CveIndex

migrations = Migrations("stable_review")


@migrations()
def m001_verdicts(db):
    db["stable_review_verdicts"].create(
        {
            "release": str,  # "2.6.32.9"
            "number": int,  # the patch's N in "[PATCH N/M]"
            "branch": str,  # "2.6.32", "6.1": readers filter on it
            "series_key": str,
            "series_date": str,
            "subject": str,
            "message_id": str,
            "upstream_commit": str,
            "category": str,  # security | bugfix | enhancement
            "summary": str,
            "subsystem": str,
            "score": float,
            "security_score": float,
            "evidence_json": str,
            "verdict_by": str,  # plugin that decided
            "cves_json": str,  # ["CVE-..."]
            "cve_match": str,  # "sha" | "subject"
            "cves_checked_at": str,  # last time a CVE source was consulted
            "reviewed_at": str,
            "updated_at": str,
        },
        pk=("release", "number"),
    )
    db["stable_review_verdicts"].create_index(["series_date"])
    db["stable_review_errata"].create(
        {
            "release": str,
            "number": int,
            "cve": str,
            "subject": str,
            "upstream_commit": str,
            "category": str,  # what the review had said
            "found_at": str,
        },
        pk=("release", "number", "cve"),
    )
    db["stable_review_errata"].create_index(["found_at"])


@migrations()
def m002_changelogs(db):
    # A released update read from its kernel.org ChangeLog (or a git log given to `stable review`):
    # kept so that `ktrack analyze --all` can review it again with a newer classifier.
    db["stable_review_changelogs"].create(
        {
            "release": str,
            "url": str,  # where it came from: a URL or a file path
            "date": str,  # of the "Linux X.Y.Z" commit
            "patches_json": str,  # [{"patch_number", "subject", "body", "commit", "author_name", ...}]
            "fetched_at": str,
            "reviewed_at": str,  # null until an analysis reviewed it
        },
        pk="release",
    )


@migrations()
def m003_message_verdicts(db):
    # Issue 17: what the message model adds to a verdict (additive columns; older rows read as empty).
    table = db["stable_review_verdicts"]
    for column, kind in (("confidence", float), ("message_evidence_json", str), ("warnings_json", str), ("fixes_json", str)):
        if column not in table.columns_dict:
            table.add_column(column, kind)


CHANGELOG_KEY = "changelog:"  # series_key prefix of a review read from a ChangeLog, not a review thread


def save_changelog(db: Database, release: str, url: str, date: str | None, patches: list[dict]) -> None:
    """Store (or replace) the commits of one released update, to be reviewed by the next analysis."""
    with write_transaction(db):
        db["stable_review_changelogs"].upsert(
            {"release": release, "url": url, "date": date, "patches_json": json.dumps(patches),
             "fetched_at": utcnow(), "reviewed_at": None},
            pk="release",
        )


def changelogs_to_review(db: Database, *, every: bool = False) -> list[dict]:
    """Return the stored ChangeLogs not reviewed yet (all with `every`), patches decoded."""
    if not db["stable_review_changelogs"].exists():
        return []
    sql = "select * from stable_review_changelogs" + ("" if every else " where reviewed_at is null") + " order by date, release"
    return [{**row, "patches": json.loads(row["patches_json"])} for row in db.query(sql)]


def mark_changelog_reviewed(db: Database, release: str) -> None:
    db["stable_review_changelogs"].update(release, {"reviewed_at": utcnow()})


def has_changelog(db: Database, release: str) -> bool:
    return db["stable_review_changelogs"].exists() and db.execute(
        "select 1 from stable_review_changelogs where release = ?", [release]).fetchone() is not None


def branch_of(release: str) -> str:
    """Return the stable branch of a release: "2.6.32.9" -> "2.6.32", "6.1.119" -> "6.1"."""
    try:
        from tracker.api import branch_of as host_branch_of

        return host_branch_of(release)
    except Exception:  # noqa: BLE001 - the versions helper may not know every old form
        parts = release.split(".")
        return ".".join(parts[:3] if parts[0] == "2" else parts[:2])


def save_review(db: Database, release: str, entries: list[dict], *, series_key: str | None = None, series_date: str | None = None,
                cve_index: CveIndex | None = None) -> list[dict]:
    """Store the verdicts of one review, linking CVEs; return the errata this found.

    Reviewing the same thread again updates its rows. A review from another
    source (the rc2 thread after rc1, the released ChangeLog after the
    thread) replaces the release's rows: its numbering is its own, so each
    patch keeps its CVEs and history by subject, and rows it no longer has
    are dropped.
    """
    now = utcnow()
    errata: list[dict] = []
    table = db["stable_review_verdicts"]
    with write_transaction(db):
        stored = {r["number"]: r for r in db.query("select * from stable_review_verdicts where release = ?", [release])}
        by_subject = {r["subject"]: r for r in stored.values()}
        rows = []
        for entry in entries:
            existing = stored.get(entry["number"])
            if existing is None or existing["subject"] != entry["subject"]:
                existing = by_subject.get(entry["subject"])
            old_cves = json.loads(existing["cves_json"] or "[]") if existing else []
            cves, how = list(entry.get("cves") or []), None
            if cve_index is not None:
                found, how = cve_index.lookup(upstream_commit=entry.get("upstream_commit"), subject=entry["subject"])
                cves = sorted(set(cves) | set(found))
            cves = sorted(set(cves) | set(old_cves))
            entry["cves"] = cves
            row = {
                "release": release,
                "number": entry["number"],
                "branch": branch_of(release),
                "series_key": series_key or (existing or {}).get("series_key"),
                "series_date": series_date or (existing or {}).get("series_date"),
                "subject": entry["subject"],
                "message_id": entry.get("message_id"),
                "upstream_commit": entry.get("upstream_commit"),
                "category": entry["category"],
                "summary": entry["summary"],
                "subsystem": entry["subsystem"],
                "score": entry["score"],
                "security_score": entry.get("security_score"),
                "evidence_json": json.dumps(entry["evidence"]),
                "confidence": entry.get("confidence"),
                "message_evidence_json": json.dumps(entry.get("message_evidence") or []),
                "warnings_json": json.dumps(entry.get("warnings") or []),
                "fixes_json": json.dumps(entry.get("fixes") or []),
                "verdict_by": entry.get("verdict_by"),
                "cves_json": json.dumps(cves),
                "cve_match": how or (existing or {}).get("cve_match"),
                "cves_checked_at": now if cve_index is not None else (existing or {}).get("cves_checked_at"),
                "reviewed_at": (existing or {}).get("reviewed_at") or now,
                "updated_at": now,
            }
            rows.append(row)
            if existing:
                said = {**row, "category": existing["category"]}  # the erratum records what the review had said
                errata.extend(_record_errata(db, said, set(cves) - set(old_cves), now))
        table.upsert_all(rows, pk=("release", "number"))  # one statement batch: a 900-patch update is one write
        replaced = series_key and any(r["series_key"] != series_key for r in stored.values())
        if replaced:
            kept = [e["number"] for e in entries]
            db.execute(f"delete from stable_review_verdicts where release = ? and number not in ({', '.join('?' * len(kept))})",
                       [release, *kept])
    return errata


def reviewed_from_changelog(db: Database, release: str) -> bool:
    """Whether the stored review of `release` was read from its ChangeLog (not from a review thread)."""
    if not db["stable_review_verdicts"].exists():
        return False
    row = db.execute("select series_key from stable_review_verdicts where release = ? limit 1", [release]).fetchone()
    return bool(row and (row[0] or "").startswith(CHANGELOG_KEY))


def relink_cves(db: Database, cve_index: CveIndex) -> list[dict]:
    """Look every stored verdict up again; record an erratum for each CVE that is new; return them."""
    now = utcnow()
    errata: list[dict] = []
    with write_transaction(db):
        for row in list(db.query("select * from stable_review_verdicts")):
            old = set(json.loads(row["cves_json"] or "[]"))
            found, how = cve_index.lookup(upstream_commit=row["upstream_commit"], subject=row["subject"])
            new = set(found) - old
            update = {"cves_checked_at": now}
            if new:
                update.update({"cves_json": json.dumps(sorted(old | new)), "cve_match": how, "updated_at": now})
                errata.extend(_record_errata(db, row, new, now))
            db["stable_review_verdicts"].update((row["release"], row["number"]), update)
    return errata


def _record_errata(db: Database, row: dict, cves: set[str], now: str) -> list[dict]:
    out = []
    for cve in sorted(cves):
        erratum = {
            "release": row["release"],
            "number": row["number"],
            "cve": cve,
            "subject": row["subject"],
            "upstream_commit": row["upstream_commit"],
            "category": row["category"],
            "found_at": now,
        }
        if not list(db.query("select 1 from stable_review_errata where release = ? and number = ? and cve = ?", [row["release"], row["number"], cve])):
            db["stable_review_errata"].insert(erratum)
            out.append(erratum)
    return out


def _row(db: Database, release: str, number: int) -> dict | None:
    rows = list(db.query("select * from stable_review_verdicts where release = ? and number = ?", [release, number]))
    return rows[0] if rows else None


def _entry(row: dict) -> dict:
    return {
        "number": row["number"],
        "subject": row["subject"],
        "category": row["category"],
        "summary": row["summary"],
        "subsystem": row["subsystem"],
        "score": row["score"],
        "security_score": row["security_score"],
        "evidence": json.loads(row["evidence_json"] or "[]"),
        "upstream_commit": row["upstream_commit"],
        "cves": json.loads(row["cves_json"] or "[]"),
        "message_id": row["message_id"],
        "verdict_by": row["verdict_by"],
        "confidence": row.get("confidence"),
        "message_evidence": json.loads(row.get("message_evidence_json") or "[]"),
        "warnings": json.loads(row.get("warnings_json") or "[]"),
        "fixes": json.loads(row.get("fixes_json") or "[]"),
    }


def load_review(db: Database, release: str) -> list[dict]:
    """Return the stored entries of one review, in patch order ([] if never reviewed)."""
    if not db["stable_review_verdicts"].exists():
        return []
    return [_entry(r) for r in db.query("select * from stable_review_verdicts where release = ? order by number", [release])]


def list_reviews(db: Database, *, start: str | None = None, end: str | None = None, branch: str | None = None) -> list[dict]:
    """Return one dict per reviewed release (release, branch, series_date, counts, read_from), oldest first, optionally by series date or branch."""
    if not db["stable_review_verdicts"].exists():
        return []
    sql = (
        "select release, branch, max(series_date) as series_date, max(series_key) as series_key, count(*) as patches, "
        "sum(category = 'security') as security, sum(category = 'bugfix') as bugfix, "
        "sum(category = 'enhancement') as enhancement, sum(cves_json != '[]') as with_cve, "
        "max(reviewed_at) as reviewed_at from stable_review_verdicts"
    )
    where, args = [], []
    if start and end:
        where.append("series_date >= ? and series_date < ?")
        args += [start, end]
    if branch:
        where.append("branch = ?")
        args.append(branch)
    if where:
        sql += " where " + " and ".join(where)
    sql += " group by release order by series_date, release"
    return [dict(row, read_from="changelog" if (row["series_key"] or "").startswith(CHANGELOG_KEY) else "review thread")
            for row in db.query(sql, args)]


def errata_between(db: Database, start: str, end: str | None = None) -> list[dict]:
    """Return errata found in [start, end) (ISO dates or timestamps; no end: up to now), oldest first."""
    if not db["stable_review_errata"].exists():
        return []
    sql = "select * from stable_review_errata where found_at >= ?" + (" and found_at < ?" if end else "")
    return list(db.query(sql + " order by found_at, release, number", [start] + ([end] if end else [])))


def scorecard(db: Database) -> list[dict]:
    """Per reviewed update with CVE data: patches, later-CVE'd ones, how many we flagged, false alarms."""
    rows = []
    for r in db.query(
        "select release, branch, max(series_date) as series_date, count(*) as patches, "
        "sum(cves_json != '[]') as with_cve, "
        "sum(cves_json != '[]' and category = 'security') as flagged_with_cve, "
        "sum(cves_json = '[]' and category = 'security') as flagged_without_cve, "
        "sum(category = 'security') as flagged "
        "from stable_review_verdicts where cves_checked_at is not null group by release order by series_date, release"
    ):
        r["missed"] = r["with_cve"] - r["flagged_with_cve"]
        r["recall"] = round(r["flagged_with_cve"] / r["with_cve"], 3) if r["with_cve"] else None
        r["precision"] = round(r["flagged_with_cve"] / r["flagged"], 3) if r["flagged"] else None
        rows.append(r)
    return rows


def scorecard_totals(rows: list[dict]) -> dict:
    keys = ("patches", "with_cve", "flagged_with_cve", "flagged_without_cve", "flagged", "missed")
    totals = {k: sum(r[k] or 0 for r in rows) for k in keys}
    totals["updates"] = len(rows)
    totals["recall"] = round(totals["flagged_with_cve"] / totals["with_cve"], 3) if totals["with_cve"] else None
    totals["precision"] = round(totals["flagged_with_cve"] / totals["flagged"], 3) if totals["flagged"] else None
    return totals


def commit_placer(db: Database, cve_index: CveIndex | None = None):
    """Return place(sha, subject) -> the release a commit came with, from the stored reviews (or None).

    A Fixes: trailer names the commit that brought the bug. When that commit
    was itself reviewed here (its upstream SHA, or its subject, in a stored
    verdict), the earliest release carrying it is where the bug came in; when
    the CNA's records list it as a fix, the mainline release it landed in.
    The table is read once, on the first question.
    """
    from tracker.api import version_sort_key

    by_sha: dict[str, set[str]] = {}
    by_subject: dict[str, set[str]] = {}
    loaded = False

    def load() -> None:
        nonlocal loaded
        loaded = True
        if not db["stable_review_verdicts"].exists():
            return
        for sha, subject, release in db.execute("select upstream_commit, subject, release from stable_review_verdicts"):
            if sha:
                by_sha.setdefault(sha[:12].lower(), set()).add(release)
            if subject:
                by_subject.setdefault(" ".join(subject.lower().split()), set()).add(release)

    def earliest(releases) -> str | None:
        try:
            return min(releases, key=version_sort_key) if releases else None
        except ValueError:
            return sorted(releases)[0] if releases else None

    def place(sha: str, subject: str) -> str | None:
        if not loaded:
            load()
        sha = (sha or "").lower()
        if len(sha) >= 8:
            hits = {r for key, rs in by_sha.items() if key.startswith(sha[:12]) or sha.startswith(key) for r in rs} \
                if len(sha) < 12 else by_sha.get(sha[:12], set())
            if hits:
                return earliest(hits)
            if cve_index is not None:
                mainline = cve_index.mainline_of(sha)
                if mainline:
                    return mainline
        if subject:
            hits = by_subject.get(" ".join(subject.lower().split()))
            if hits:
                return earliest(hits)
        return None

    return place
