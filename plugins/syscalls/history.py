"""The real history of which release first had each system call, shipped as package data.

man-pages' syscalls(2) table covers everything up to 5.14; the per-version
tables of mebeim/linux-syscalls (x86-64 from v4.0, arm64 from v5.0, up to
v6.17) cover the rest and give the numbers. See data/PROVENANCE.md.
"""

from __future__ import annotations

import csv
import gzip
import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

# ABI name used in this plugin -> table file prefix.
TABLES = {"x86_64": "x86-64-x64", "arm64": "arm64-64-aarch64"}
# A proposal's ABI (as its syscall table diff names it) -> the recorded table
# numbering it: arm64 numbers its syscalls as asm-generic's unistd.h does.
PROPOSAL_TABLES = {"x86_64": "x86_64", "generic": "arm64", "arm64": "arm64"}


@lru_cache(maxsize=None)  # a few hundred versions, sorted again for every record of every analysis run
def version_key(version: str) -> str:
    """Return a sort key for a kernel version, e.g. "v2.6.39" sorts before "3.0"; unparsable text sorts first."""
    from tracker.api import version_sort_key

    try:
        return version_sort_key(version.removeprefix("v"))
    except ValueError:
        return ""


@lru_cache(maxsize=1)
def man_pages_added_in() -> dict[str, dict]:
    """Return {name: {"version", "notes"}} from man-pages syscalls(2)."""
    out = {}
    with open(DATA / "syscalls_added_in.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            out[row["syscall"]] = {"version": row["kernel_version_added"], "notes": row.get("notes") or ""}
    return out


# What `ktrack syscalls update-tables` stored and the releases plugin knows, on top of the
# shipped files: {"tables": {abi: {"v6.19": [[nr, name], ...]}}, "dates": {"6.19": "2026-..."}}.
_STORED: dict = {"tables": {}, "dates": {}}


def use_stored(db) -> None:
    """Read the tables and release dates stored in `db` into the history (cheap; call before reading it)."""
    import re

    tables: dict = {}
    if db["syscall_tables"].exists():
        for version, abi, nr, name in db.execute("select version, abi, nr, name from syscall_tables order by version, abi, nr"):
            tables.setdefault(abi, {}).setdefault(f"v{version}", []).append([nr, name])
    dates = {}
    if db["releases"].exists():
        for version, released in db.execute("select version, released_at from releases where kind = 'mainline' and released_at is not null"):
            if re.fullmatch(r"\d+\.\d+", version or ""):
                dates[version] = released[:10]
    stored = {"tables": tables, "dates": dates}
    if stored != _STORED:
        _STORED.clear()
        _STORED.update(stored)
        for cached in (table_versions, first_seen_in_tables, number_holders, release_dates):
            cached.cache_clear()


@lru_cache(maxsize=None)
def _shipped_versions(abi: str) -> dict[str, list[list]]:
    with gzip.open(DATA / f"{TABLES[abi]}.names_by_version.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def table_versions(abi: str) -> dict[str, list[list]]:
    """Return {version: [[nr, name], ...]} of one ABI's recorded tables: shipped, then stored by update-tables."""
    return {**_shipped_versions(abi), **_STORED["tables"].get(abi, {})}


@lru_cache(maxsize=None)
def first_seen_in_tables(abi: str) -> dict[str, tuple[str, int]]:
    """Return {name: (first version without "v", number in the newest table)} for one ABI.

    Names present in the oldest recorded table get version None: they are older
    than the recording, not new in it.
    """
    versions = table_versions(abi)
    ordered = sorted(versions, key=version_key)
    oldest = ordered[0]
    first: dict[str, str | None] = {}
    numbers: dict[str, int] = {}
    for v in ordered:
        for nr, name in versions[v]:
            if name not in first:
                first[name] = None if v == oldest else v.removeprefix("v")
            numbers[name] = nr
    return {name: (first[name], numbers[name]) for name in first}


def newest_recorded_version() -> str:
    """Return the newest release the shipped tables cover, e.g. "6.17"."""
    return max(table_versions("x86_64"), key=version_key).removeprefix("v")


def merged_in(name: str) -> str | None:
    """Return the first release that had syscall `name` per the shipped history, e.g. "2.6.39"."""
    man = man_pages_added_in().get(name)
    candidates = []
    for abi in TABLES:
        seen = first_seen_in_tables(abi).get(name)
        if seen and seen[0]:
            candidates.append(seen[0])
    if man:
        return man["version"]
    if candidates:
        return min(candidates, key=version_key)
    if any(name in first_seen_in_tables(abi) for abi in TABLES):
        return "4.0"  # in the oldest recorded x86-64 table, missing from man-pages: at the latest 4.0
    return None


def removed_in(name: str) -> str | None:
    """Return the first recorded release whose table lost `name` after having it, e.g. "5.12" for lookup_dcookie."""
    found = []
    for abi in TABLES:
        versions = table_versions(abi)
        had = False
        for v in sorted(versions, key=version_key):
            present = any(n == name for _, n in versions[v])
            if had and not present:
                found.append(v.removeprefix("v"))
                break
            had = had or present
    return min(found, key=version_key) if found else None


def known_numbers(name: str) -> dict[str, int]:
    """Return the numbers of a merged syscall in the recorded tables, e.g. {"x86_64": 448, "arm64": 448}."""
    out = {}
    for abi in TABLES:
        seen = first_seen_in_tables(abi).get(name)
        if seen:
            out[abi] = seen[1]
    return out


@lru_cache(maxsize=None)
def number_holders(abi: str) -> dict[int, tuple[str, str | None]]:
    """Return {number: (syscall name, first version)} of one ABI's newest recorded table."""
    versions = table_versions(abi)
    newest = max(versions, key=version_key)
    first = first_seen_in_tables(abi)
    return {nr: (name, first[name][0]) for nr, name in versions[newest]}


def numbers_taken(name: str, abis: dict[str, int], aliases: list[str] = ()) -> list[dict]:
    """Say which of a proposal's numbers a merged syscall now holds, e.g. trusted_for's 450 -> set_mempolicy_home_node.

    A proposal's numbers are provisional: when another syscall was merged under
    one of them, the proposal did not land as posted, whatever its status says.
    """
    own = {name, *aliases}
    taken: dict[str, dict] = {}
    for abi, nr in abis.items():
        table = PROPOSAL_TABLES.get(abi)
        holder = number_holders(table).get(nr) if table else None
        if holder and holder[0] not in own:
            entry = taken.setdefault(holder[0], {"taken_by": holder[0], "in": holder[1], "number": nr, "abis": []})
            entry["abis"].append(abi)
    return list(taken.values())


MERGE_WINDOW_DAYS = 14  # a release's new syscalls are in mainline two weeks after the release before it


@lru_cache(maxsize=1)
def release_dates() -> dict[str, str]:
    """Return {version: "YYYY-MM-DD"} of mainline releases (data/mainline_release_dates.tsv)."""
    with open(DATA / "mainline_release_dates.tsv", encoding="utf-8") as fh:
        shipped = {row["version"]: row["released"] for row in csv.DictReader(fh, delimiter="\t")}
    return {**shipped, **_STORED["dates"]}


def mainline_since(version: str | None) -> str | None:
    """Return the date code bound for `version` was in mainline: the close of its merge window.

    "6.8" -> 6.7's release date + 14 days ("2024-01-21"). A version older than
    the dates we keep returns "0000" (before any mail we read); None stays None.
    """
    if not version:
        return None
    from datetime import date, timedelta

    dates = release_dates()
    ordered = sorted(dates, key=version_key)
    if version not in dates:
        return "0000" if version_key(version) < version_key(ordered[0]) else None
    i = ordered.index(version)
    if i == 0:
        return "0000"
    major, minor = (int(x) for x in version.split(".")[:2]) if version.count(".") == 1 else (None, None)
    previous = ordered[i - 1]
    direct = major is None or previous == f"{major}.{minor - 1}" or (minor == 0 and previous.startswith(f"{major - 1}."))
    if direct:
        return (date.fromisoformat(dates[previous][:10]) + timedelta(days=MERGE_WINDOW_DAYS)).isoformat()
    # the release before is unknown: its merge window closed about eight weeks before this release
    return (date.fromisoformat(dates[version][:10]) - timedelta(days=56)).isoformat()


def existed_before(name: str, when: str | None) -> bool:
    """Whether syscall `name` was in mainline already at `when` (an ISO date), per the shipped history."""
    since = mainline_since(merged_in(name))
    return bool(since and when and since <= when[:10])


def gone_before(name: str, when: str | None) -> bool:
    """Whether a release had dropped syscall `name` already at `when`: a later removal patch only tidies up."""
    since = mainline_since(removed_in(name))
    return bool(since and when and since <= when[:10])


def on_abi(name: str, abi: str) -> bool | None:
    """Whether the newest recorded table of a proposal's ABI has `name`; None for ABIs without recorded tables."""
    table = PROPOSAL_TABLES.get(abi)
    if not table:
        return None
    return name in first_seen_in_tables(table)


@lru_cache(maxsize=None)
def signatures(abi: str) -> dict[str, list[str]]:
    """Return {name: ["int dfd", "const char *name", ...]} of one ABI's newest full table (v6.17)."""
    with gzip.open(DATA / f"{TABLES[abi]}.v6.17.signatures.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def merged_signature(name: str) -> list[str] | None:
    """The argument list of merged syscall `name` as the recorded full tables give it, or None."""
    for abi in TABLES:
        sig = signatures(abi).get(name)
        if sig is not None:
            return sig
    return None
