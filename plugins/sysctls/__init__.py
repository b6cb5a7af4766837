"""Sysctl knobs: find them in patch diffs and documentation, follow them, diff documentation snapshots.

detect.py reads ctl_table entries in C diffs, docs.py the sysctl documentation
(in diffs and in whole trees), tracking.py turns findings into one record per knob.
Those modules (and the shared proposals.py) are imported inside the hooks and
the command that use them: every `ktrack` start builds the CLI, and most
commands need none of them.
"""

from __future__ import annotations

from pathlib import Path

import click

from tracker import hookimpl

PLUGIN = "sysctls"  # the findings' plugin name; tracking.py reads it from here

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"

@hookimpl
def register_migrations(register):
    from .schema import migrations  # sqlite-utils loads with the database, not at every start

    register(migrations)


@hookimpl
def config_defaults():
    return {"lore_queries": ["dfb:.procname"], "lore_days": 14}


@hookimpl
def register_sources(register, config):
    from .. import proposals

    proposals.lore_query_sources(register, config, PLUGIN)


def knob_changes(diffs: list[str]) -> list[dict]:
    """Return one dict per knob a set of diffs (one patch series) adds, removes or changes.

    Code and documentation are joined by name, or by the last name component when
    the documentation hunk did not show which /proc/sys directory it is in.
    """
    from .detect import find_knob_changes, may_hold_knobs
    from .docs import doc_changes_in_diff
    from .tracking import proc_path

    joined = "\n".join(diffs)
    if not may_hold_knobs(joined):
        return []  # neither code (find_knob_changes) nor documentation (it needs "sysctl") to read
    code = find_knob_changes(joined)
    docs = [d for diff in diffs for d in doc_changes_in_diff(diff)]
    out: dict[str, dict] = {}
    for c in code:
        out[c.name] = {
            "name": c.name, "path": proc_path(c.name), "change": c.change, "file": c.file,
            "mode": c.attrs.get("mode"), "handler": c.attrs.get("proc_handler"),
            "extra1": c.attrs.get("extra1"), "extra2": c.attrs.get("extra2"), "maxlen": c.attrs.get("maxlen"),
            "ctl_name": c.attrs.get("ctl_name"), "changes": c.changes, "doc": None, "default": None, "evidence": [c.line],
        }
    by_leaf: dict[str, list[str]] = {}
    for name in out:
        by_leaf.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    for d in docs:
        name = d["name"]
        if name not in out and len(by_leaf.get(d["leaf"], [])) == 1:
            name = by_leaf[d["leaf"]][0]
        rec = out.get(name)
        if rec is None:
            # Documentation alone: the knob already exists (or goes); only its text changes.
            rec = out[name] = {
                "name": name, "path": proc_path(name), "change": "removed" if d["change"] == "removed" else "changed",
                "file": d["file"], "mode": None, "handler": None, "extra1": None, "extra2": None, "maxlen": None,
                "ctl_name": None, "changes": {"doc": [None if d["change"] == "added" else "old", "removed" if d["change"] == "removed" else "new"]},
                "doc": None, "default": None, "evidence": [],
            }
        if d["change"] != "removed":
            rec["doc"] = d["description"]
            rec["default"] = d["default"]
            if d["change"] == "changed" and d.get("old_default") != d["default"]:
                rec["changes"]["default"] = [d.get("old_default"), d["default"]]
        rec["evidence"].append(f"{d['file']}: {d['name']} ({d['change']})")
    return sorted(out.values(), key=lambda r: r["name"])


def sysctl_findings(series: dict) -> list:
    """Return the Findings for one series dict: one per knob it adds, removes or changes."""
    if series.get("is_stable_review"):
        return []
    from .. import proposals

    patches = proposals.series_patches(series)
    if not patches:
        return []
    merged_change = proposals.is_merged_change(series, patches)
    knobs = knob_changes([p["diff"] for p in patches])
    mentions = proposals.rename_mentions(proposals.series_text(series)) if knobs else []
    findings = []
    for knob in knobs:
        directory, _, leaf = knob["name"].rpartition(".")
        patch = next((p for p in patches if leaf in p["diff"]), patches[0])
        evidence = knob.pop("evidence")
        # 'Rename sysctl from "trust_policy" to "trusted_for_policy"': leaves, placed in this knob's directory
        knob["renames"] = [
            [f"{directory}.{old.rpartition('.')[2]}", f"{directory}.{new.rpartition('.')[2]}"]
            for old, new in mentions if leaf in (old.rpartition(".")[2], new.rpartition(".")[2])
        ]
        findings.append(proposals.proposal_finding("sysctl", knob, series, patch, evidence, merged_change))
    return findings


@hookimpl
def analyze_series(series):
    return sysctl_findings(series)


@hookimpl
def after_analyze(db):
    from .tracking import build_records, save_records

    save_records(db, build_records(db))


def _print_docs_diff(result: dict, as_json: bool) -> None:
    from tracker.api import print_json

    if as_json:
        print_json(result)
        return
    for kind in ("added", "removed", "redocumented"):
        click.echo(f"{kind} ({len(result[kind])}):")
        for k in result[kind]:
            default = f" [default: {k['default']}]" if k.get("default") else ""
            click.echo(f"  {k['name']}{default}")


@hookimpl
def register_commands(cli):
    from tracker.api import print_json

    @cli.command(name="sysctls")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.option("--docs-diff", "docs_diff_dirs", nargs=2, type=click.Path(path_type=Path), metavar="OLD_DIR NEW_DIR",
                  help="Compare two sysctl documentation trees instead of listing knobs from patches.")
    @click.pass_obj
    def sysctls_command(app, as_json, docs_diff_dirs):
        """List sysctl knobs added, removed or changed by patches.

        Example: ktrack sysctls --json
        Example: ktrack sysctls --docs-diff linux-6.1/Documentation linux-6.12/Documentation
        """
        from .docs import docs_diff
        from .tracking import build_records

        if docs_diff_dirs:
            _print_docs_diff(docs_diff(*docs_diff_dirs), as_json)
            return
        records = build_records(app.db)
        if as_json:
            print_json(records)
            return
        if not records:
            click.echo("No sysctl knobs found in patches yet.")
            from tracker.api import empty_hint

            if hint := empty_hint(app, "sysctls"):
                click.echo(hint)
        for r in records:
            extra = f", mode {r['mode']}" if r["mode"] else ""
            click.echo(f"{r['path']}: {r['change']}{extra}, {len(r['series'])} series, last {(r['last_activity'] or '')[:10]}")


@hookimpl
def edition_sections(edition, db):
    from tracker.api import Section

    from .. import proposals
    from .tracking import build_records

    findings = proposals.findings_before(db, PLUGIN, "sysctl", edition["end"])
    records = proposals.as_of(build_records(db, findings=findings), edition["end"], proposals.mainline_release_dates(db).get)
    items = proposals.edition_items(records, edition, _edition_item)
    if not items:
        return []
    from ..features import TEMPLATE, feature_items

    items = feature_items(db, items, edition, kind="sysctl")
    return [Section(key="sysctls", title="Sysctl knobs", items=items, intro="Knobs under /proc/sys added, removed or changed in patches this week.", template=TEMPLATE, order=41)]


def _edition_item(r: dict, recent: list[dict]) -> tuple[str, dict]:
    """Say what this week's latest posting did to a knob, e.g. "/proc/sys/fs/x added: ..."."""
    latest = recent[-1]
    return f"{r['path']} {latest['change']}: {latest.get('series_subject') or latest['subject']}", {"change": latest["change"]}


def _describe_posting(s: dict) -> str:
    """Say what one posting did to a knob, e.g. "changed (mode: 0644 -> 0600): sysctl: ..."."""
    detail = ", ".join(f"{k}: {v[0]} -> {v[1]}" for k, v in (s.get("changes") or {}).items())
    return f"{s['change']}{' (' + detail + ')' if detail else ''}: {s['subject']}"


def knob_timeline(record: dict) -> list[dict]:
    """Return dated events of one knob: each posting that touched it, then the release that merged it."""
    from .. import proposals

    return proposals.timeline(record, _describe_posting)


@hookimpl
def site_pages(db):
    from .. import proposals
    from .tracking import build_records

    return proposals.proposal_pages(
        build_records(db), plugin="sysctls", item="sysctl", index_title="Sysctl knobs",
        title=lambda r: r["path"], describe=_describe_posting,
    )


@hookimpl
def template_dirs():
    from .. import proposals

    return [str(Path(__file__).parent / "templates"), proposals.TEMPLATES]
