"""System calls: find them in patch diffs, follow each proposal to the release that merges it.

Detection (detect.py) is pure over diff text; tracking.py links findings across
series versions and renames; history.py holds the shipped record of releases.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlite_utils import Migrations

from tracker import hookimpl

from .detect import find_syscall_events, summarize_events
from .tracking import PLUGIN, build_records, safe_name, save_records

migrations = Migrations("syscalls")


@migrations()
def m001_syscalls(db):
    db["syscalls"].create(
        {
            "name": str,
            "status": str,  # proposed | merged
            "merged_in": str,
            "change": str,  # added | removed (the latest change seen)
            "signature": str,
            "abis_json": str,
            "aliases_json": str,
            "first_seen_json": str,
            "series_json": str,
            "last_activity": str,
            "updated_at": str,
        },
        pk="name",
    )


@hookimpl
def register_migrations(register):
    register(migrations)


@hookimpl
def config_defaults():
    return {
        # lore's diff-aware search finds proposals posted to lists nobody follows.
        "lore_queries": ["dfn:syscall.tbl", "dfb:SYSCALL_DEFINE"],
        "lore_days": 14,
    }


@hookimpl
def register_sources(register, config):
    queries = (config.get("plugins", {}).get(PLUGIN) or {}).get("lore_queries") or []
    if not queries:
        return
    try:
        from tracker.plugins.lore import LoreQuerySource
    except ImportError:  # the lore plugin is not installed or disabled
        return
    days = config["plugins"][PLUGIN].get("lore_days", 14)
    for query in queries:
        register(LoreQuerySource(f"lore-query:syscalls:{query}", query, days=days))


def _series_patches(series: dict) -> list[dict]:
    patches = [p for p in (series.get("patches") or []) if p.get("diff")]
    if not patches and series.get("diff"):
        patches = [series]
    return sorted(patches, key=lambda p: (p.get("patch_number") or 0, p.get("date") or ""))


def syscall_findings(series: dict) -> list:
    """Return the Findings for one series dict: one per syscall it adds or removes."""
    from tracker.findings import Finding

    if series.get("is_stable_review"):
        return []  # backports of merged code, not proposals
    events, first_patch = [], {}
    patches = _series_patches(series)
    for patch in patches:
        for ev in find_syscall_events(patch["diff"]):
            events.append(ev)
            if ev.sign and ev.name:
                first_patch.setdefault((ev.name, ev.sign), patch)
    subject = series.get("subject") or ""
    merged_change = "GIT PULL" in subject.upper() or any(p.get("upstream_commit") for p in patches)
    findings = []
    for change in summarize_events(events):
        patch = first_patch.get((change["name"], 1 if change["change"] == "added" else -1)) or (patches[0] if patches else series)
        evidence = change.pop("evidence")
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
        findings.append(
            Finding(
                kind="syscall",
                key=f"{change['name']}@{series.get('series_key')}",
                data=data,
                evidence=evidence,
                series_key=series.get("series_key"),
                message_id=patch.get("message_id"),
                date=patch.get("date") or series.get("date"),
            )
        )
    return findings


@hookimpl
def analyze_series(series):
    return syscall_findings(series)


@hookimpl
def after_analyze(db):
    save_records(db, build_records(db))


def filter_records(records: list[dict], *, status: str | None = None) -> list[dict]:
    return [r for r in records if status is None or r["status"] == status]


@hookimpl
def register_commands(cli):
    from tracker.cli import print_json

    @cli.command(name="syscalls")
    @click.option("--status", type=click.Choice(["proposed", "merged"]), help="Only proposals still open, or merged ones.")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def syscalls_command(app, status, as_json):
        """List system calls added or removed by patches, with the release that merged each.

        Example: ktrack syscalls --status proposed --json
        """
        records = filter_records(build_records(app.db), status=status)
        if as_json:
            print_json(records)
            return
        if not records:
            click.echo("No system calls found in patches yet.")
        for r in records:
            state = f"merged in {r['merged_in']}" if r["merged_in"] else f"proposed, last activity {(r['last_activity'] or '')[:10]}"
            aliases = f" (also {', '.join(r['aliases'])})" if r["aliases"] else ""
            click.echo(f"{r['name']}{aliases}: {r['change']}, {state}, {len(r['series'])} series")


def _in_window(date: str | None, start: str, end: str) -> bool:
    return bool(date) and start <= date[:10] < end


@hookimpl
def edition_sections(edition, db):
    from tracker.edition import Section

    items = []
    for r in build_records(db):
        recent = [s for s in r["series"] if _in_window(s["date"], edition["start"], edition["end"])]
        if not recent:
            continue
        latest = recent[-1]
        version = f" v{latest['version']}" if (latest.get("version") or 1) > 1 else ""
        state = f"merged in {r['merged_in']}" if r["merged_in"] else ("new proposal" if r["first_seen"]["date"] == recent[0]["date"] else "updated proposal")
        verb = "removal" if r["change"] == "removed" else state
        text = f"{r['signature'] or r['name']} — {verb}{version}: {latest.get('series_subject') or latest['subject']}"
        if latest.get("author"):
            text += f" ({latest['author']})"
        items.append({"text": text, "link": r["page"], "name": r["name"], "status": r["status"], "merged_in": r["merged_in"]})
    if not items:
        return []
    return [Section(key="syscalls", title="New system calls", items=items, intro="System calls proposed or changed in patches this week.", order=40)]


def syscall_timeline(record: dict) -> list[dict]:
    """Return dated events of one syscall: each series posting, then the release that merged it."""
    events = [
        {"date": s["date"], "text": f"{'removed' if s['change'] == 'removed' else 'proposed'} as {s['name']}{' v' + str(s['version']) if s.get('version') else ''}: {s['subject']}", "message_id": s["message_id"], "author": s.get("author")}
        for s in record["series"]
    ]
    if record["merged_in"]:
        events.append({"date": None, "text": f"merged in Linux {record['merged_in']}", "message_id": None, "author": None})
    return events


@hookimpl
def site_pages(db):
    from tracker.pages import Page

    records = build_records(db)
    pages = [Page(path="syscalls/index.html", template="syscalls/index.html", title="System calls", context={"syscalls": records})]
    for r in records:
        pages.append(
            Page(path=f"syscalls/{safe_name(r['name'])}.html", template="syscalls/syscall.html", title=f"System call {r['name']}", context={"syscall": r, "timeline": syscall_timeline(r)})
        )
    return pages


@hookimpl
def template_dirs():
    return [str(Path(__file__).parent / "templates")]
