"""Follow each proposed system call across series versions and renames to the release that merged it.

Input is the plugin's findings (one per syscall name per series); output is
one record per system call, the shape `ktrack syscalls --json` prints.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict

from tracker.api import load_findings

from .. import proposals
from . import PLUGIN, history


def similarity(a: str, b: str) -> float:
    """Return how alike two syscall names are, 0..1, e.g. name_to_handle ~ name_to_handle_at = 0.9."""
    return difflib.SequenceMatcher(None, a, b).ratio()


def safe_name(name: str) -> str:
    """Return a file-name-safe form of a name that came from mail, e.g. "../x" -> "___x"."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", (name or "").lower())[:80]
    return cleaned or "_"


def rename_pairs(findings: list[dict], merged: set[str], *, similar=similarity) -> dict[str, str]:
    """Return {old_name: new_name} for proposals renamed on their way.

    Evidence, strongest first: one series removing an unmerged name while
    adding a similar one (an incremental rename diff); within one lineage, a
    name that stops appearing in the version where a similar one starts; the
    same author later proposing a very similar name. Names ever proposed
    together in one series are distinct syscalls and never aliased.
    """
    by_series: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"added": set(), "removed": set()})
    info: dict[str, dict] = {}
    for f in findings:
        d = f["data"]
        by_series[f["series_key"]][d["change"]].add(d["name"])
        info.setdefault(f["series_key"], d)
    together: set[frozenset] = set()
    for names in by_series.values():
        for a in names["added"]:
            for b in names["added"]:
                if a != b:
                    together.add(frozenset((a, b)))
    pairs: dict[str, str] = {}

    def propose(old: str, new: str, threshold: float) -> None:
        if old == new or old in merged or old in pairs or frozenset((old, new)) in together:
            return
        if similar(old, new) >= threshold:
            pairs[old] = new

    for names in by_series.values():
        for old in names["removed"] - merged:
            for new in names["added"]:
                propose(old, new, 0.6)
    # Within a lineage: versions in order, names per version.
    lineages: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for key, names in by_series.items():
        d = info[key]
        if d.get("lineage"):
            lineages[d["lineage"]][d.get("version") or 1] |= names["added"]
    for versions in lineages.values():
        order = sorted(versions)
        for i, v in enumerate(order):
            later = set().union(*(versions[w] for w in order[i + 1:])) if i + 1 < len(order) else set()
            if not later:
                continue
            # One-to-one, most similar first: two dropped names do not both become one new name.
            candidates = sorted(
                ((similar(old, new), old, new) for old in versions[v] - later for new in later - versions[v]),
                reverse=True,
            )
            taken: set[str] = set()
            for _, old, new in candidates:
                if old not in taken and new not in taken and old not in pairs:
                    propose(old, new, 0.6)
                    if pairs.get(old) == new:
                        taken |= {old, new}
    # Same author, a very similar name first seen later (a re-posted proposal under a new subject).
    first_by_name: dict[str, tuple[str, str]] = {}
    for f in sorted(findings, key=lambda f: f["date"] or ""):
        d = f["data"]
        if d["change"] == "added":
            first_by_name.setdefault(d["name"], (f["date"] or "", (d.get("author_email") or "").lower()))
    for old, (old_date, old_author) in first_by_name.items():
        for new, (new_date, new_author) in first_by_name.items():
            if old_author and old_author == new_author and new_date > old_date:
                propose(old, new, 0.75)
    # Follow chains: a -> b -> c becomes a -> c.
    for old in list(pairs):
        seen = {old}
        new = pairs[old]
        while new in pairs and pairs[new] not in seen:
            seen.add(new)
            new = pairs[new]
        pairs[old] = new
    return pairs


def build_records(db, *, findings: list[dict] | None = None) -> list[dict]:
    """Return one record per system call seen in patches, newest activity first."""
    if findings is None:
        findings = load_findings(db, plugin=PLUGIN, kind="syscall")
    findings = [f for f in findings if not f["data"].get("compat_only")]
    names = {f["data"]["name"] for f in findings}
    merged = {n for n in names if history.merged_in(n)}
    renames = rename_pairs(findings, merged)
    # Removing a name that never merged is part of a rename, not a removal.
    kept = [f for f in findings if not (f["data"]["change"] == "removed" and f["data"]["name"] not in merged)]
    records = []
    for name, group in proposals.group_by_name(kept, renames).items():
        last = group[-1]
        added_in = history.merged_in(name)
        if last["data"]["change"] == "removed":
            # A removal is "merged" when a release's table lost the name, not when it was added.
            merged_in = history.removed_in(name) or proposals.merged_from_releases(db, group)
        else:
            merged_in = added_in or proposals.merged_from_releases(db, group)
        abis: dict[str, int] = {}
        signature = None
        for f in group:  # later proposals override earlier numbers and signatures
            if f["data"]["change"] == "added":
                abis.update(f["data"].get("abis") or {})
                signature = f["data"].get("signature") or signature
        if merged_in:
            abis.update(history.known_numbers(name))
        series = proposals.series_list(group, _series_extra)
        aliases = proposals.aliases(group, name)
        records.append(
            {
                "name": name,
                "status": "merged" if merged_in else "proposed",
                "abis": dict(sorted(abis.items())),
                "signature": signature,
                "first_seen": proposals.first_seen(group),
                "series": series,
                "merged_in": merged_in,
                "added_in": added_in,
                "aliases": aliases,
                "numbers_taken": [] if merged_in else history.numbers_taken(name, abis, aliases),
                "change": last["data"]["change"],
                "last_activity": last["date"],
                "page": f"syscalls/{safe_name(name)}.html",
            }
        )
    return proposals.newest_first(records)


def _series_extra(f: dict) -> dict:
    """A syscall's series entry also names the syscall as that series spelled it, and the list it came from."""
    d = f["data"]
    return {"name": d["name"], "author": d.get("author_name") or d.get("author_email"), "list_id": d.get("list_id")}


def save_records(db, records: list[dict]) -> None:
    """Replace the syscalls table with the current records (rebuilt after every analysis)."""
    from tracker.api import utcnow

    now = utcnow()
    rows = [
        {
            "name": r["name"],
            "status": r["status"],
            "merged_in": r["merged_in"],
            "change": r["change"],
            "signature": r["signature"],
            "abis_json": r["abis"],
            "aliases_json": r["aliases"],
            "first_seen_json": r["first_seen"],
            "series_json": r["series"],
            "last_activity": r["last_activity"],
            "updated_at": now,
        }
        for r in records
    ]
    proposals.replace_rows(db, "syscalls", rows)
