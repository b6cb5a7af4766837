"""What the syscalls and sysctls plugins share: following a proposed interface from patch to release.

Both turn one series into one Finding per name it touches, group the findings
of a name across series versions into one record, date a merge by the first
mainline release after a [GIT PULL], search lore for proposals nobody follows
and publish a section, an index page and one page per name. Only the parts
that mean the same thing for both live here; what a syscall or a knob is
stays in its own plugin. Not a plugin itself: it has no hooks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Callable

from tracker.api import write_transaction
from tracker.api import Finding

TEMPLATES = str(Path(__file__).parent / "templates")  # proposals/timeline.html, shared by both plugins' pages


def lore_query_sources(register, config: dict, plugin: str) -> None:
    """Register one lore search source per query in `[plugins.<plugin>] lore_queries`, if the lore plugin is there."""
    from tracker.api import plugin_config

    settings = plugin_config(config, plugin)
    if not settings["lore_queries"]:
        return
    try:
        from tracker.plugins.lore import LoreQuerySource
    except ImportError:  # the lore plugin is not installed or disabled
        return
    for query in settings["lore_queries"]:
        register(LoreQuerySource(f"lore-query:{plugin}:{query}", query, days=settings["lore_days"]))


def series_patches(series: dict) -> list[dict]:
    """Return the patches of a series dict that carry a diff, in order; a lone patch is its own series."""
    patches = [p for p in (series.get("patches") or []) if p.get("diff")]
    if not patches and series.get("diff"):
        patches = [series]
    return sorted(patches, key=lambda p: (p.get("patch_number") or 0, p.get("date") or ""))


_NAME = r"[\"'`]?([A-Za-z_](?:[\w.]*\w)?)[\"'`]?(?:\(\d?\))?"
_RENAMES = [
    # "Renamed process_reap to process_mrelease", "rename statmnt(2) -> statmount(2)",
    # 'Rename sysctl from "trust_policy" to "trusted_for_policy"'
    re.compile(r"\brenam\w*\s+(?:the\s+)?(?:\w+\s+)?(?:from\s+)?" + _NAME + r"\s+(?:to|->|=>|into|as)\s+" + _NAME + r"(?=[\s,.;:)]|$)", re.I),
    # "landlock_enforce_ruleset_self(2) is renamed to landlock_restrict_self(2)"
    re.compile(_NAME + r"\s+(?:is|was|has\s+been|got)\s+renamed\s+(?:to|into|as)\s+" + _NAME + r"(?=[\s,.;:)]|$)", re.I),
    # "Syscall renamed fchmodat4 -> fchmodat2", "fchmodat4 -> fchmodat2"
    re.compile(r"(?<![\w>-])" + _NAME + r"\s*(?:->|=>|→)\s*" + _NAME + r"(?=[\s,.;:)]|$)"),
]
_WAS = re.compile(_NAME + r"\s*\(\s*(?:was|formerly|previously|née)\s+" + _NAME + r"\s*\)", re.I)


_RENAME_WORDS = re.compile(r"renam|->|=>|→|\((?:was|formerly|previously|née)\b", re.I)


def rename_mentions(text: str) -> list[list[str]]:
    """Return [old, new] pairs a cover letter or changelog states, e.g. "Renamed process_reap to process_mrelease".

    Only the author's own words: quoted lines ("> ...") and everything from the
    first diff on are left out. Callers keep the pairs whose names they know.
    """
    text = (text or "").split("\ndiff --git ", 1)[0]
    low = text.lower()
    if not any(word in low for word in ("renam", "->", "=>", "→", "was ", "formerly", "previously", "née")):
        return []
    text = " ".join(line.strip() for line in text.splitlines() if not line.lstrip().startswith(">"))
    # Only the text around the words a rename is stated with: the patterns start at a name,
    # and trying them at every position of a long cover letter costs more than the rest.
    spans: list[list[int]] = []
    for m in _RENAME_WORDS.finditer(text):
        start, end = max(m.start() - 160, 0), m.end() + 160
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end  # overlapping windows become one, so no statement is cut in two
        else:
            spans.append([start, end])
    windows = [text[start:end] for start, end in spans]
    pairs: list[list[str]] = []
    for window in windows:
        for rx in _RENAMES:
            for m in rx.finditer(window):
                pair = [m.group(1).strip("."), m.group(2).strip(".")]
                if pair[0] != pair[1] and pair not in pairs:
                    pairs.append(pair)
        for m in _WAS.finditer(window):
            pair = [m.group(2).strip("."), m.group(1).strip(".")]
            if pair[0] != pair[1] and pair not in pairs:
                pairs.append(pair)
    return pairs


def series_text(series: dict) -> str:
    """The prose of a series: its cover letter and each patch's message, without the diffs."""
    parts = [(series.get("cover") or {}).get("body") or ""]
    parts += [p.get("body") or "" for p in series.get("patches") or []]
    if not series.get("patches") and series.get("body"):
        parts.append(series["body"])
    return "\n".join(parts)


def is_merged_change(series: dict, patches: list[dict]) -> bool:
    """Return whether a series carries already-merged code: a [GIT PULL] or patches naming their upstream commit."""
    return "GIT PULL" in (series.get("subject") or "").upper() or any(p.get("upstream_commit") for p in patches)


def proposal_finding(kind: str, change: dict, series: dict, patch: dict, evidence: list[str], merged_change: bool) -> Finding:
    """Return the Finding for one name (`change["name"]`) that `patch` of `series` adds, removes or changes."""
    subject = series.get("subject") or ""
    data = {
        **change,
        "subject": patch.get("subject") or subject,
        "series_subject": subject,
        "version": series.get("version"),
        "lineage": series.get("lineage"),
        "author_name": patch.get("author_name") or series.get("author_name"),
        "author_email": patch.get("author_email") or series.get("author_email"),
        "list_id": series.get("list_id"),
        "merged_change": merged_change,
    }
    return Finding(
        kind=kind,
        key=f"{change['name']}@{series.get('series_key')}",
        data=data,
        evidence=evidence,
        series_key=series.get("series_key"),
        message_id=patch.get("message_id"),
        date=patch.get("date") or series.get("date"),
    )


def group_by_name(findings: list[dict], renames: dict[str, str]) -> dict[str, list[dict]]:
    """Return {name: findings, oldest first}, findings of a renamed proposal under its latest name."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for f in findings:
        name = f["data"]["name"]
        groups[renames.get(name, name)].append(f)
    for group in groups.values():
        group.sort(key=lambda f: (f["date"] or "", f["id"] or 0))
    return groups


def merged_from_releases(db, group: list[dict]) -> str | None:
    """Return the first mainline release out after the earliest merged change (a [GIT PULL]) in a name's findings."""
    dates = [f["date"] for f in group if f["data"].get("merged_change") and f["date"]]
    if not dates or not db["releases"].exists():
        return None
    row = db.execute(
        "select version from releases where kind = 'mainline' and released_at > ? order by released_at limit 1",
        [min(dates)],
    ).fetchone()
    return row[0] if row else None


def series_list(group: list[dict], extra: Callable[[dict], dict]) -> list[dict]:
    """Return one entry per series in a name's findings (oldest first); `extra(finding)` adds the plugin's own keys."""
    series, seen = [], set()
    for f in group:
        if f["series_key"] in seen:
            continue
        seen.add(f["series_key"])
        d = f["data"]
        series.append(
            {
                "series_key": f["series_key"],
                "subject": d.get("subject") or d.get("series_subject"),  # the patch that carries the change
                "series_subject": d.get("series_subject"),
                "version": d.get("version"),
                "date": f["date"],
                "message_id": f["message_id"],
                "change": d["change"],
                **extra(f),
            }
        )
    return series


def first_seen(group: list[dict]) -> dict:
    """Return where a name was first seen: the message, its date and subject."""
    first = group[0]
    return {"message_id": first["message_id"], "date": first["date"], "subject": first["data"].get("subject")}


def aliases(group: list[dict], name: str) -> list[str]:
    """Return the other names a proposal went by, sorted."""
    return sorted({f["data"]["name"] for f in group} - {name})


def evidence(group: list[dict], limit: int = 40) -> list[dict]:
    """Return what made a record, one entry per finding: the message, its date and subject, and the lines that showed it.

    `lines` are the diff lines (table rows, SYSCALL_DEFINE, .procname entries) as
    the patch had them; a reader checks a record by opening `message_id`.
    """
    out = []
    picked = group if len(group) <= limit else group[: limit // 2] + group[-limit // 2 :]
    for f in picked:
        d = f["data"]
        out.append({
            "message_id": f["message_id"], "date": f["date"], "subject": d.get("subject"), "name": d.get("name"),
            "change": d.get("change"), "lines": list(f.get("evidence") or []),
        })
    return out


def newest_first(records: list[dict]) -> list[dict]:
    """Sort records by last activity, newest first (then by name, descending), in place; return them."""
    records.sort(key=lambda r: (r["last_activity"] or "", r["name"]), reverse=True)
    return records


def replace_rows(db, table: str, rows: list[dict]) -> None:
    """Replace a plugin's table with `rows` in one transaction (records are rebuilt after every analysis).

    Rows equal to the stored ones but for updated_at are left alone: a table rewritten
    unchanged would make every edition look changed to the site build (issue 19).
    """
    from sqlite_utils.db import jsonify_if_needed

    if rows and db[table].exists():
        columns = [c for c in rows[0] if c != "updated_at"]
        if {c.name for c in db[table].columns} >= set(columns):
            stored = db.execute(f"select {', '.join(f'[{c}]' for c in columns)} from [{table}] order by rowid").fetchall()
            fresh = [tuple(jsonify_if_needed(r.get(c)) for c in columns) for r in rows]
            if stored == fresh:
                return
    with write_transaction(db):
        db.execute(f"delete from [{table}]")
        if rows:
            db[table].insert_all(rows, pk="name", replace=True)


def findings_before(db, plugin: str, kind: str, end: str) -> list[dict]:
    """The plugin's findings dated before `end`: what a weekly edition ending then could know.

    An edition builds its records from these, so that a later version's
    rename, prototype or removal does not leak into an earlier week.
    """
    from tracker.api import load_findings

    return load_findings(db, plugin=plugin, kind=kind, where="date is null or date < ?", params=[end])


def as_of(records: list[dict], end: str, released_on: Callable[[str], str | None]) -> list[dict]:
    """Return the records as an edition ending on `end` may tell them: a merge is news once its release is out.

    `released_on(version)` is the release's date (ISO), or None when unknown;
    a record merged in a release out on or after `end` (or of no known date)
    is still a proposal that week: "merged in 5.17" is never said in 2021.
    """
    out = []
    for r in records:
        version = r.get("merged_in")
        if version and not ((released_on(version) or "9999")[:10] < end):
            r = {**r, "merged_in": None, "status": "proposed"}
        out.append(r)
    return out


def mainline_release_dates(db) -> dict[str, str]:
    """{version: released_at} of the mainline releases the releases table knows (kernel.org data)."""
    if "releases" not in db.table_names():
        return {}
    return {row[0]: row[1] for row in db.execute("select version, released_at from releases where kind = 'mainline' and released_at is not null")}


def edition_items(records: list[dict], edition: dict, item: Callable[[dict, list[dict]], tuple[str, dict]]) -> list[dict]:
    """Return one edition item per record with series posted in the edition's week.

    `item(record, recent)` gets those series entries (oldest first) and returns the
    item's text and its own keys; the latest posting's author is added to the text.
    """
    items = []
    for r in records:
        recent = [s for s in r["series"] if s["date"] and edition["start"] <= s["date"][:10] < edition["end"]]
        if not recent:
            continue
        text, extra = item(r, recent)
        if recent[-1].get("author"):
            text += f" ({recent[-1]['author']})"
        items.append({"text": text, "link": r["page"], "name": r["name"], **extra})
    return items


def timeline(record: dict, describe: Callable[[dict], str]) -> list[dict]:
    """Return dated events of one record: each series posting (`describe(entry)` says what it did), then its merge."""
    events = [{"date": s["date"], "text": describe(s), "message_id": s["message_id"], "author": s.get("author")} for s in record["series"]]
    if record["merged_in"]:
        events.append({"date": None, "text": f"merged in Linux {record['merged_in']}", "message_id": None, "author": None})
    return events


def proposal_pages(records: list[dict], *, plugin: str, item: str, index_title: str, title: Callable[[dict], str], describe: Callable[[dict], str]) -> list:
    """Return the index page `<plugin>/index.html` and one page per record at its "page" path.

    Templates are `<plugin>/index.html` (context {plugin: records}) and `<plugin>/<item>.html`
    (context {item: record, "timeline": events}).
    """
    from tracker.api import Page

    pages = [Page(path=f"{plugin}/index.html", template=f"{plugin}/index.html", title=index_title, context={plugin: records})]
    for r in records:
        pages.append(Page(path=r["page"], template=f"{plugin}/{item}.html", title=title(r), context={item: r, "timeline": timeline(r, describe)}))
    return pages
