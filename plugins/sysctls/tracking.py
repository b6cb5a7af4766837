"""Turn per-series sysctl findings into one record per knob, the shape `ktrack sysctls --json` prints."""

from __future__ import annotations

import re

from tracker.api import load_findings
from tracker.plugins.syscalls.tracking import rename_pairs, similarity

from .. import proposals
from . import PLUGIN


def safe_name(name: str) -> str:
    """Return a file-name-safe form of a dotted knob name from mail, e.g. "net.ipv4.x" stays, "../" cannot."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name or "").strip(".")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)[:120]
    return cleaned or "_"


def proc_path(name: str) -> str:
    """Return the /proc/sys file of a dotted knob name, e.g. "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward"."""
    return "/proc/sys/" + name.replace(".", "/")


def knob_similarity(a: str, b: str) -> float:
    """Return how alike two knob names are: 0 in different directories, else their last components' likeness."""
    (pa, _, la), (pb, _, lb) = a.rpartition("."), b.rpartition(".")
    return similarity(la, lb) if pa == pb else 0.0


def _code_first(group: list[dict]) -> list[dict]:
    """The group from the first posting that adds or removes the knob in code, when there is one.

    A patch that only edits a knob's documentation is no knob's first sighting:
    `first_seen` points at the patch with the ctl_table entry.
    """
    for i, f in enumerate(group):
        d = f["data"]
        if d.get("change") in ("added", "removed") and not (d.get("file") or "").startswith("Documentation/"):
            return group[i:]
    return group


def same_knob_slot(old: dict, new: dict) -> bool:
    """Whether two postings' knobs sit in one /proc/sys directory with the same handler (a .procname change)."""
    return (
        old["name"].rpartition(".")[0] == new["name"].rpartition(".")[0]
        and bool(old.get("handler"))
        and old.get("handler") == new.get("handler")
    )


def build_records(db, *, findings: list[dict] | None = None) -> list[dict]:
    """Return one record per knob seen in patches, newest activity first."""
    if findings is None:
        findings = load_findings(db, plugin=PLUGIN, kind="sysctl")
    # Renamed on the way (trust_policy -> trusted_for_policy between versions): said so in a
    # changelog, or the same author's next posting has a knob in the same directory with the
    # same handler where the old one was (a .procname change). Names proposed together stay distinct.
    renames = rename_pairs([f for f in findings if f["data"]["change"] == "added"], set(), same_slot=same_knob_slot, similar=knob_similarity)
    records = []
    for name, group in proposals.group_by_name(findings, renames).items():
        last = group[-1]
        latest: dict = {}
        for f in group:  # later postings override what earlier ones said
            for key in ("mode", "handler", "extra1", "extra2", "doc", "default"):
                if f["data"].get(key) is not None:
                    latest[key] = f["data"][key]
        merged_in = proposals.merged_from_releases(db, group)
        series = proposals.series_list(group, _series_extra)
        records.append(
            {
                "name": name,
                "path": proc_path(name),
                "change": last["data"]["change"],
                "status": "merged" if merged_in else "proposed",
                "mode": latest.get("mode"),
                "handler": latest.get("handler"),
                "extra1": latest.get("extra1"),
                "extra2": latest.get("extra2"),
                "doc": latest.get("doc"),
                "default": latest.get("default"),
                "changes": last["data"].get("changes") or {},
                "first_seen": proposals.first_seen(_code_first(group)),
                "series": series,
                "merged_in": merged_in,
                "aliases": proposals.aliases(group, name),
                "last_activity": last["date"],
                "evidence": proposals.evidence(group),
                "page": f"sysctls/{safe_name(name)}.html",
            }
        )
    return proposals.newest_first(records)


def _series_extra(f: dict) -> dict:
    """A knob's series entry also says what that posting changed (attribute -> [old, new])."""
    d = f["data"]
    return {"changes": d.get("changes") or {}, "author": d.get("author_name") or d.get("author_email")}


def save_records(db, records: list[dict]) -> None:
    """Replace the sysctls table with the current records (rebuilt after every analysis)."""
    from tracker.api import utcnow

    now = utcnow()
    rows = [
        {
            "name": r["name"], "path": r["path"], "change": r["change"], "status": r["status"], "mode": r["mode"],
            "handler": r["handler"], "doc": r["doc"], "default_value": r["default"], "merged_in": r["merged_in"],
            "first_seen_json": r["first_seen"], "series_json": r["series"], "last_activity": r["last_activity"], "updated_at": now,
        }
        for r in records
    ]
    proposals.replace_rows(db, "sysctls", rows)
