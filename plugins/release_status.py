"""Release status: the edition's opening section and one site page per release.

LWN's weekly kernel page opens with "The current development kernel is
2.6.34-rc1 ... The current stable kernel is 2.6.32.9, released on February 23,
with 93 fixes". This plugin writes that from the `releases` table (kept by the
kernel.org source plugin), quoting the announcement excerpt when one is stored.
"""

from __future__ import annotations

import json
import re
from datetime import date

from tracker import hookimpl

SECTION_ORDER = 10
# Mainline tags an -rc every week and the merge window lasts two; stable
# updates come about weekly. A newest record older than this, seen from an
# edition's end, means the tracker lacks release data (a source failing, or an
# archive imported long after), not that the kernel stood still.
STALE_DAYS = {"development": 21, "stable": 28}
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$")


def release_slug(version: str | None) -> str | None:
    """Return the file name stem of a release page, or None for a version that is not safe as one.

    Versions come from feeds and mail: "5.10.1" -> "5.10.1", "../../x" -> None.
    """
    if not version or not _SAFE_VERSION.match(version) or ".." in version:
        return None
    return version


def release_path(version: str | None) -> str | None:
    slug = release_slug(version)
    return f"releases/{slug}.html" if slug else None


def _is_stable_rc(version: str) -> bool:
    try:
        from tracker.api import parse_version

        return parse_version(version).stable > 0
    except (ImportError, ValueError):
        return False


def _branch(version: str) -> str | None:
    try:
        from tracker.api import branch_of

        return branch_of(version)
    except (ImportError, ValueError):
        return None


def _day(released_at: str | None) -> date | None:
    try:
        return date.fromisoformat((released_at or "")[:10])
    except ValueError:
        return None


def _on(released_at: str | None, reference: date) -> str:
    day = _day(released_at)
    if day is None:
        return ""
    text = f"{day:%B} {day.day}"
    return f" on {text}" if day.year == reference.year else f" on {text}, {day.year}"


def _latest(db, end: str, kinds: tuple[str, ...], *, skip_stable_rc: bool = False) -> dict | None:
    marks = ",".join("?" for _ in kinds)
    rows = db.query(
        f"select * from releases where released_at < ? and kind in ({marks})"
        " order by sort_key desc, released_at desc limit 8",
        [end, *kinds],
    )
    for row in rows:
        if skip_stable_rc and row["kind"] == "rc" and _is_stable_rc(row["version"]):
            continue
        return row
    return None


def _current(kind: str, row: dict, reference: date, rest: str = "") -> str:
    """Say which kernel is current, or, when the newest record is stale, only what is on record."""
    when = _on(row["released_at"], reference)
    day = _day(row["released_at"])
    if day is not None and (reference - day).days > STALE_DAYS[kind]:
        return (f"The latest {kind} kernel on record is {row['version']}, released{when}{rest};"
                " no newer kernel.org release data has been seen.")
    return f"The current {kind} kernel is {row['version']}, released{when}{rest}."


def _excerpt(row: dict) -> str:
    return " ".join((row.get("excerpt") or "").split())[:600]


def status_items(db, edition: dict) -> list[dict]:
    """Return the release-status lines for an edition: current development and stable kernel, then this week's releases."""
    if "releases" not in db.table_names():
        return []
    end = edition["end"]
    reference = date.fromisoformat(end)
    items = []
    dev = _latest(db, end, ("mainline", "rc"), skip_stable_rc=True)
    if dev:
        item = {
            "text": _current("development", dev, reference),
            "link": release_path(dev["version"]),
            "kind": "development",
            "version": dev["version"],
        }
        if _excerpt(dev):
            item["quote"] = _excerpt(dev)
            item["quote_by"] = "Linus says:"
        items.append(item)
    stable = _latest(db, end, ("stable", "longterm"))
    if stable:
        fixes = f", with {stable['change_count']} fixes" if stable.get("change_count") else ""
        items.append(
            {
                "text": _current("stable", stable, reference, fixes),
                "link": release_path(stable["version"]),
                "kind": "stable",
                "version": stable["version"],
            }
        )
    week_rows = db.query(
        "select * from releases where released_at >= ? and released_at < ? order by sort_key desc",
        [edition["start"], end],
    )
    for row in week_rows:
        fixes = f" with {row['change_count']} changes" if row.get("change_count") else ""
        item = {
            "text": f"{row['version']} ({row['kind']}) was released{_on(row['released_at'], reference)}{fixes}.",
            "link": release_path(row["version"]),
            "kind": "release",
            "version": row["version"],
        }
        if row["kind"] in ("stable", "longterm") and _branch(row["version"]):
            item["stable_branch"] = _branch(row["version"])
        items.append(item)
    return items


@hookimpl
def edition_sections(edition, db):
    from tracker.api import Section

    items = status_items(db, edition)
    if not items:
        return []
    return [Section(key="release-status", title="Release status", items=items, order=SECTION_ORDER)]


def _links(source: dict) -> list[dict]:
    """Return the download/changelog links of a releases.json record, as label + URL."""
    links = []
    for label, url in (
        ("Source tarball", source.get("source")),
        ("PGP signature", source.get("pgp")),
        ("Changelog", source.get("changelog")),
        ("Git", source.get("gitweb")),
        ("Diff view", source.get("diffview")),
        ("Patch", (source.get("patch") or {}).get("full") if isinstance(source.get("patch"), dict) else None),
        ("Incremental patch", (source.get("patch") or {}).get("incremental") if isinstance(source.get("patch"), dict) else None),
    ):
        if url:
            links.append({"label": label, "url": url})
    return links


@hookimpl
def site_pages(db):
    """One page per release plus releases/index.html listing them newest first."""
    from tracker.api import Page

    if "releases" not in db.table_names():
        return []
    reviews: dict[str, list[dict]] = {}
    if "series" in db.table_names():
        for row in db.query(
            "select series_key, subject, date, total, stable_release from series"
            " where stable_release is not null and stable_release != '' order by date"
        ):
            reviews.setdefault(row["stable_release"], []).append(
                {"subject": row["subject"], "date": row["date"], "total": row["total"], "message_id": row["series_key"]}
            )
    pages, listing = [], []
    for row in db.query("select * from releases order by sort_key desc, released_at desc"):
        path = release_path(row["version"])
        if path is None:
            continue
        try:
            source = json.loads(row.get("source_json") or "{}")
        except ValueError:
            source = {}
        release = {
            "version": row["version"],
            "kind": row["kind"],
            "moniker": row.get("moniker"),
            "released_at": row.get("released_at"),
            "iseol": bool(row.get("iseol")),
            "change_count": row.get("change_count"),
            "excerpt": row.get("excerpt") or "",
            "shortlog": row.get("shortlog") or "",
            "links": _links(source if isinstance(source, dict) else {}),
            "announcement_message_id": row.get("announcement_message_id"),
        }
        listing.append({k: release[k] for k in ("version", "kind", "released_at", "iseol")} | {"path": path})
        pages.append(
            Page(
                path=path,
                template="release.html",
                title=f"Linux {row['version']}",
                context={"release": release, "reviews": reviews.get(row["version"], [])},
            )
        )
    if listing:
        pages.append(Page(path="releases/index.html", template="releases.html", title="Releases", context={"releases": listing}))
    return pages
