"""Sort patch series into the categories weekly kernel news uses, and list them in the edition.

A series is placed by the files it touches (a path map, refined by the
kernel's MAINTAINERS file when `[plugins.categories] maintainers` names a
local copy), else by its subject prefix ("net: ", "mm/", "x86/", ...).
Release and tree announcements (-rc, stable reviews, -rt, linux-next) are
"Kernel trees" whatever they touch. The rules are plain functions in
plugins/categorize.py (`categorize()`); this module is the plugin: its hooks
and how the edition's "Patches and updates" tell each series.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tracker import hookimpl

# The rules, also importable from here (as they were): plugins/categorize.py
from .categorize import (  # noqa: F401
    _table,
    categories,
    categorize,
    categorize_series,
    category_name,
    file_category,
    maintainers_from_config,
    path_category,
    series_files,
    series_prefixes,
    subject_category,
    vote,
)

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"

LORE_URL = "https://lore.kernel.org/r/"


def lore_link(message_id: str) -> str:
    """Return the lore.kernel.org redirect URL of a Message-ID, quoted for a URL path."""
    return LORE_URL + quote(message_id.strip().strip("<>"), safe="@+=$!")


def series_details(series: dict) -> list[str]:
    """Return what a reader is told about a series besides its subject: ["v3", "6 patches", "reviewed by 2"]."""
    from tracker.api import review_phrases

    version = series.get("version") or 1
    count = series.get("total") or series.get("received") or len(series.get("patches") or []) or 1
    replies = series.get("replies")
    said = [f"{replies} repl{'y' if replies == 1 else 'ies'}"] if isinstance(replies, int) and replies else []
    return (([f"v{version}"] if version > 1 else []) + [f"{count} patch" + ("es" if count != 1 else "")]
            + said + review_phrases(series.get("reviews") or {}))


def series_item(series: dict, slug: str) -> dict[str, Any]:
    """Return the edition item of one series: digest text plus structured fields."""
    author = series.get("author_name") or series.get("author_email") or "unknown"
    version = series.get("version") or 1
    count = series.get("total") or series.get("received") or len(series.get("patches") or []) or 1
    reviews = series.get("reviews") or {}
    details = series_details(series)
    earlier = series.get("earlier") or []
    if earlier:
        versions = sorted({e.get("version") or 1 for e in earlier})
        details.append(f"also {', '.join(f'v{v}' for v in versions)} this week" if versions != [version]
                       else f"posted {len(earlier) + 1} times this week")
    subject = series.get("subject") or ""
    message_id = series.get("cover_message_id") or series.get("series_key") or ""
    link = lore_link(message_id) if message_id else None
    return {
        "text": f"{author}: {subject} ({', '.join(details)})",
        # the subject is the linked title; author and counts are prose around it
        "parts": [{"text": f"{author}: "}, {"text": subject, "link": link}, {"text": f" ({', '.join(details)})"}],
        "link": link,
        "category": slug,
        "category_name": category_name(slug),
        "group": category_name(slug),  # the digest prints a sub-heading per group
        "category_order": dict((s, i) for i, (s, _) in enumerate(categories())).get(slug, 99),
        "author": author,
        "author_email": series.get("author_email"),
        "subject": subject,
        "version": version,
        "patch_count": count,
        "series_key": series.get("series_key"),
        "reviews": reviews,
        "replies": series.get("replies") or 0,
        "date": series.get("date"),
        "list_id": series.get("list_id"),
        # other versions of the series (same lineage) posted in the same week, oldest first
        "earlier": [
            {"series_key": e.get("series_key"), "version": e.get("version") or 1, "date": e.get("date"),
             "link": lore_link(e.get("cover_message_id") or e.get("series_key") or "") if e.get("series_key") else None}
            for e in earlier
        ],
    }


def latest_versions(rows: list[dict]) -> list[dict]:
    """Keep the newest series of each lineage (its versions), each with the older ones of `rows` as "earlier".

    A series re-posted twice in a week is one story for a reader of the
    edition, told by its latest posting.
    """
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get("lineage") or row["series_key"], []).append(row)
    latest = []
    for group in groups.values():
        group.sort(key=lambda r: (r.get("date") or "", r["series_key"]))
        latest.append({**group[-1], "earlier": group[:-1]})
    return latest


def _files_by_series(db, keys: list[str]) -> dict[str, list[str]]:
    """Return the files each series' patches touch, read from the core messages table."""
    files: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"select series_key, files_json from messages where series_key in ({marks}) order by patch_number"
        for key, files_json in db.execute(sql, chunk).fetchall():
            try:
                files[key] += json.loads(files_json or "[]")
            except ValueError:
                continue
    return files


def reply_counts(db, keys: list[str], until: str | None = None) -> dict[str, int]:
    """Return {series_key: replies}: the messages of a series that are neither a patch nor its cover, before `until`."""
    counts: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (f"select series_key, count(*) from messages where series_key in ({marks})"
               " and coalesce(is_patch, 0) = 0 and coalesce(is_cover, 0) = 0")
        args = list(chunk)
        if until:
            sql += " and date < ?"
            args.append(until)
        for key, count in db.execute(sql + " group by series_key", args).fetchall():
            counts[key] = count
    return counts


def patches_section_items(db, edition: dict, config: dict) -> list[dict]:
    """Return the items of the week's "Patches and updates", ordered by category then date."""
    from tracker.api import list_series, review_counts

    maintainers = maintainers_from_config(config)
    claimed = edition.get("claimed") or {}  # series another plugin's section tells (claim_series)
    rows = [r for r in latest_versions(list_series(db, since=edition["start"], until=edition["end"]))
            if not {r["series_key"], *(e["series_key"] for e in r["earlier"])} & set(claimed)]
    files = _files_by_series(db, [r["series_key"] for r in rows])
    reviews = review_counts(db, [r["series_key"] for r in rows], until=edition["end"])
    replies = reply_counts(db, [r["series_key"] for r in rows], edition["end"])
    order = {slug: i for i, (slug, _) in enumerate(categories())}
    items = []
    for row in rows:
        series = dict(row)
        if not series.get("files"):  # list_series' short "patches" carry no files
            series["files"] = files.get(row["series_key"], [])
        series["reviews"] = reviews.get(row["series_key"], {})
        series["replies"] = replies.get(row["series_key"], 0)
        _, slug = categorize_series(series, maintainers)
        items.append(series_item(series, slug))
    items.sort(key=lambda i: (order.get(i["category"], 99), i["date"] or "", i["subject"]))
    return items


@hookimpl
def config_defaults():
    # maintainers: path of a local copy of the kernel's MAINTAINERS file ("" = use the path map only)
    return {"maintainers": ""}


@hookimpl(trylast=True)
def series_category(series, config):
    return categorize_series(series, maintainers_from_config(config))[1]


@hookimpl
def edition_sections(edition, db, config):
    from tracker.api import Section

    items = patches_section_items(db, edition, config)
    if not items:
        return []
    # No counts in the intro: a per-reader digest filter (--category) drops items after us.
    return [Section(key="patches", title="Patches and updates", items=items, order=90, template="patches_section.html")]


@hookimpl
def template_dirs():
    return [str(Path(__file__).parent / "categories_templates")]
