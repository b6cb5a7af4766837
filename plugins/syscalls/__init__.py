"""System calls: find them in patch diffs, follow each proposal to the release that merges it.

Detection (detect.py) is pure over diff text; tracking.py links findings across
series versions and renames; history.py holds the shipped record of releases.
Those modules (and the shared proposals.py) are imported inside the hooks and
the command that use them: every `ktrack` start builds the CLI, and most
commands need none of them.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlite_utils import Migrations

from tracker import hookimpl

PLUGIN = "syscalls"  # the findings' plugin name; tracking.py reads it from here

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
        "lore_queries": ["dfn:syscall.tbl", "dfb:SYSCALL_DEFINE*"],  # Xapian: the * makes it match SYSCALL_DEFINE4
        "lore_days": 14,
    }


@hookimpl
def register_sources(register, config):
    from .. import proposals

    proposals.lore_query_sources(register, config, PLUGIN)


def syscall_findings(series: dict) -> list:
    """Return the Findings for one series dict: one per syscall it adds or removes."""
    if series.get("is_stable_review"):
        return []  # backports of merged code, not proposals
    from .. import proposals
    from .detect import slot_of, find_syscall_events, summarize_events

    events, first_patch = [], {}
    patches = proposals.series_patches(series)
    added: set[tuple] = set()
    for patch in patches:
        for ev in find_syscall_events(patch["diff"]):
            if ev.sign == 0 and slot_of(ev) in added:
                continue  # context of a later patch showing what an earlier one added: not "already there"
            if ev.sign > 0:
                added.add(slot_of(ev))
            events.append(ev)
            if ev.sign and ev.name:
                first_patch.setdefault((ev.name, ev.sign), patch)
    merged_change = proposals.is_merged_change(series, patches)
    changes = summarize_events(events)
    mentions = proposals.rename_mentions(proposals.series_text(series)) if changes else []
    findings = []
    for change in changes:
        patch = first_patch.get((change["name"], 1 if change["change"] == "added" else -1)) or (patches[0] if patches else series)
        evidence = change.pop("evidence")
        # "renamed X to Y" in this series' cover letter or changelogs, where this name is X or Y
        change["renames"] = [pair for pair in mentions if change["name"] in pair]
        findings.append(proposals.proposal_finding("syscall", change, series, patch, evidence, merged_change))
    return findings


@hookimpl
def analyze_series(series):
    return syscall_findings(series)


@hookimpl
def after_analyze(db):
    from .tracking import build_records, save_records

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
        from .tracking import build_records

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


@hookimpl
def edition_sections(edition, db):
    from tracker.edition import Section

    from .. import proposals
    from .tracking import build_records

    items = proposals.edition_items(build_records(db), edition, _edition_item)
    if not items:
        return []
    return [Section(key="syscalls", title="New system calls", items=items, intro="System calls proposed or changed in patches this week.", order=40)]


def _edition_item(r: dict, recent: list[dict]) -> tuple[str, dict]:
    """Say what this week's postings did to a syscall, e.g. "futex_waitv(...) — new proposal v2: ..."."""
    latest = recent[-1]
    version = f" v{latest['version']}" if (latest.get("version") or 1) > 1 else ""
    state = f"merged in {r['merged_in']}" if r["merged_in"] else ("new proposal" if r["first_seen"]["date"] == recent[0]["date"] else "updated proposal")
    verb = "removal" if r["change"] == "removed" else state
    text = f"{r['signature'] or r['name']} — {verb}{version}: {latest.get('series_subject') or latest['subject']}"
    return text, {"status": r["status"], "merged_in": r["merged_in"]}


def _describe_posting(s: dict) -> str:
    """Say what one series posting did to a syscall, e.g. "proposed as process_reap v2: mm: ..."."""
    return f"{'removed' if s['change'] == 'removed' else 'proposed'} as {s['name']}{' v' + str(s['version']) if s.get('version') else ''}: {s['subject']}"


def syscall_timeline(record: dict) -> list[dict]:
    """Return dated events of one syscall: each series posting, then the release that merged it."""
    from .. import proposals

    return proposals.timeline(record, _describe_posting)


@hookimpl
def site_pages(db):
    from .. import proposals
    from .tracking import build_records

    return proposals.proposal_pages(
        build_records(db), plugin="syscalls", item="syscall", index_title="System calls",
        title=lambda r: f"System call {r['name']}", describe=_describe_posting,
    )


@hookimpl
def template_dirs():
    from .. import proposals

    return [str(Path(__file__).parent / "templates"), proposals.TEMPLATES]
