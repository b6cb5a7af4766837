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

from tracker import hookimpl

PLUGIN = "syscalls"  # the findings' plugin name; tracking.py reads it from here

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"

@hookimpl
def register_migrations(register):
    from .schema import migrations  # sqlite-utils loads with the database, not at every start

    register(migrations)


@hookimpl
def config_defaults():
    return {
        # lore's diff-aware search finds proposals posted to lists nobody follows.
        "lore_queries": ["dfn:syscall.tbl", "dfb:SYSCALL_DEFINE*"],  # Xapian: the * makes it match SYSCALL_DEFINE4
        "lore_days": 14,
        # Read each new mainline release's syscall tables during `ktrack run` (else: `ktrack syscalls update-tables`).
        "update_tables": False,
        "tables_url": "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/plain",
    }


@hookimpl
def register_sources(register, config):
    from .. import proposals

    proposals.lore_query_sources(register, config, PLUGIN)
    from tracker.api import plugin_config

    settings = plugin_config(config, PLUGIN)
    if settings.get("update_tables"):
        from .tables import SyscallTablesSource

        register(SyscallTablesSource(settings.get("tables_url") or SyscallTablesSource().url))


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
        for ev in find_syscall_events(patch["diff"], patch.get("files")):
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
    from tracker.api import print_json

    @cli.group(name="syscalls", invoke_without_command=True)
    @click.option("--status", type=click.Choice(["proposed", "merged"]), help="Only proposals still open, or merged ones.")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_context
    def syscalls_command(ctx, status, as_json):
        """List system calls added or removed by patches, with the release that merged each.

        Example: ktrack syscalls --status proposed --json
        """
        if ctx.invoked_subcommand is not None:
            return
        app = ctx.obj
        from .tracking import build_records

        records = filter_records(build_records(app.db), status=status)
        if as_json:
            print_json(records)
            return
        if not records:
            click.echo("No system calls found in patches yet.")
            from tracker.api import empty_hint

            if hint := empty_hint(app, "syscalls"):
                click.echo(hint)
        for r in records:
            state = f"merged in {r['merged_in']}" if r["merged_in"] else f"proposed, last activity {(r['last_activity'] or '')[:10]}"
            aliases = f" (also {', '.join(r['aliases'])})" if r["aliases"] else ""
            click.echo(f"{r['name']}{aliases}: {r['change']}, {state}, {len(r['series'])} series")


    @syscalls_command.command(name="update-tables")
    @click.option("--from-git", "git_repo", type=click.Path(exists=True, file_okay=False, path_type=Path),
                  help="Read the tables from this local kernel git checkout instead of git.kernel.org.")
    @click.option("--version", "versions", multiple=True, metavar="X.Y",
                  help="Release to read (repeatable); default: every known release newer than the recorded tables.")
    @click.option("--url", default=None, metavar="URL", help="Base URL of the tree's plain files (default: git.kernel.org, Linus's tree).")
    @click.pass_obj
    def update_tables_command(app, git_repo, versions, url):
        """Refresh the per-release syscall tables so that new releases show what they merged.

        Without --version: the mainline releases `ktrack fetch` knows (or the
        checkout's release tags) newer than the newest recorded table.

        Example: ktrack syscalls update-tables --from-git ~/src/linux
        """
        from tracker.api import KtrackError, fetch_once

        from . import history, tables

        history.use_stored(app.db)
        if versions:
            wanted = [v.removeprefix("v") for v in versions]
            bad = [v for v in wanted if not tables._RELEASE_TAG.match(v)]
            if bad:
                raise KtrackError(f"not a mainline release version: {bad[0]} (expected X.Y, e.g. 6.19)")
        elif git_repo:
            wanted = tables.newer_than_recorded(tables.git_release_tags(git_repo))
        else:
            wanted = tables.newer_than_recorded(tables.known_releases(app.db))
        if not wanted:
            click.echo(f"Syscall tables are up to date (newest: {history.newest_recorded_version()}).")
            return
        if git_repo:
            for version in wanted:
                found = tables.from_git(git_repo, version)
                rows = tables.store(app.db, version, found)
                click.echo(f"v{version}: {rows} syscalls ({', '.join(f'{abi} {len(t)}' for abi, t in found.items())})")
        else:
            # one download with the project's HTTP client and transaction: nothing half-stored on a failure
            source = tables.SyscallTablesSource(url or tables.GIT_WEB, versions=wanted)
            fetch_once(app, source)
            for line in source.done:
                click.echo(line)
        history.use_stored(app.db)


@hookimpl
def edition_sections(edition, db):
    from tracker.api import Section

    from .. import proposals

    items = proposals.edition_items(week_records(db, edition["end"]), edition, _edition_item)
    if not items:
        return []
    from ..features import TEMPLATE, feature_items

    items = feature_items(db, items, edition, kind="syscall")
    return [Section(key="syscalls", title="New system calls", items=items, intro="System calls proposed or changed in patches this week.", template=TEMPLATE, order=40)]


def week_records(db, end: str) -> list[dict]:
    """The syscall records as known by `end`: built from the postings before it, merges said once released.

    `ktrack syscalls` shows the current state; an edition shows what its week knew.
    """
    from .. import proposals
    from . import history
    from .tracking import build_records

    records = build_records(db, findings=proposals.findings_before(db, PLUGIN, "syscall", end))
    dates = {**proposals.mainline_release_dates(db), **history.release_dates()}

    def released_on(version: str) -> str | None:
        # a release older than every date kept (2.6.x) was out before any mail we read
        return dates.get(version) or ("0000" if history.mainline_since(version) == "0000" else None)

    return proposals.as_of(records, end, released_on)


def _edition_item(r: dict, recent: list[dict]) -> tuple[str, dict]:
    """Say what this week's postings did to a syscall, e.g. "futex_waitv(...) — new proposal v2: ..."."""
    latest = recent[-1]
    version = f" v{latest['version']}" if (latest.get("version") or 1) > 1 else ""
    state = f"merged in {r['merged_in']}" if r["merged_in"] else ("new proposal" if r["first_seen"]["date"] == recent[0]["date"] else "updated proposal")
    verb = "removal" if r["change"] == "removed" else state
    if latest["change"] == "wired_up":  # an existing syscall on more architectures: not a new one
        verb = f"wired up on {', '.join(latest.get('abis') or {}) or 'more architectures'}"
    text = f"{r['signature'] or r['name']} — {verb}{version}: {latest.get('series_subject') or latest['subject']}"
    return text, {"status": r["status"], "merged_in": r["merged_in"]}


def _describe_posting(s: dict) -> str:
    """Say what one series posting did to a syscall, e.g. "proposed as process_mrelease v2 (renamed from process_reap): mm: ..."."""
    version = f" v{s['version']}" if s.get("version") else ""
    if s["change"] == "wired_up":
        abis = ", ".join(f"{abi} {nr}" for abi, nr in (s.get("abis") or {}).items())
        return f"wired up on {abis or 'more architectures'}{version}: {s['subject']}"
    renamed = f" (renamed from {s['renamed_from']})" if s.get("renamed_from") else ""
    return f"{'removed' if s['change'] == 'removed' else 'proposed'} as {s['name']}{version}{renamed}: {s['subject']}"


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
