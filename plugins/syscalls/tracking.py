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
from .detect import COMPAT_ABIS


def similarity(a: str, b: str) -> float:
    """Return how alike two syscall names are, 0..1, e.g. name_to_handle ~ name_to_handle_at = 0.9."""
    return difflib.SequenceMatcher(None, a, b).ratio()


def safe_name(name: str) -> str:
    """Return a file-name-safe form of a name that came from mail, e.g. "../x" -> "___x"."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", (name or "").lower())[:80]
    return cleaned or "_"


def _plain_subject(subject: str | None) -> str:
    """A patch subject without its [PATCH ...] tags, lower case."""
    return re.sub(r"^(?:\s*\[[^\]]*\]\s*)+", "", subject or "").strip().lower()


def masked_subject(subject: str | None, *names: str) -> str:
    """A patch subject with the names its series adds masked, e.g. "lsm: {} syscall for lsm self attributes"."""
    out = _plain_subject(subject)
    for name in sorted(names, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(name.lower())}\b", "{}", out)
    return out


def arg_types(signature: str | None) -> tuple | None:
    """The argument types of a signature, names and qualifiers dropped: "x(int fd, const char __user *p)" -> ("int", "char*")."""
    if not signature or "(" not in signature:
        return None
    inner = signature.split("(", 1)[1].rsplit(")", 1)[0]
    out = []
    for arg in inner.split(","):
        words = re.sub(r"\b(?:const|__user|volatile)\b", " ", arg).replace("*", " * ").split()
        if len(words) > 1 and words[-1] != "*":
            words = words[:-1]  # the parameter's name
        out.append("".join(w if w == "*" else " " + w for w in words).strip())
    return tuple(out)


def _same_distinct_types(a: str | None, b: str | None) -> bool:
    """Whether two signatures take the same argument types, and those say something (a pointer or a struct, not three ints)."""
    ta = arg_types(a)
    return ta is not None and ta == arg_types(b) and any("*" in t or "struct" in t for t in ta)


def shares_number(old: dict, new: dict) -> bool:
    """Whether two postings put their syscall at the same number in one ABI's table."""
    a, b = old.get("abis") or {}, new.get("abis") or {}
    return any(abi in b and b[abi] == nr for abi, nr in a.items())


def rename_pairs(findings: list[dict], merged: set[str], *, same_slot=shares_number, similar=similarity) -> dict[str, str]:
    """Return {old_name: new_name} for proposals renamed on their way.

    The signals a maintainer reads, never name likeness alone:
    1. the author says so: "renamed X to Y", "X -> Y", "Y (was X)" in a cover
       letter or changelog of a series that carries one of the names;
    2. a rename diff: one series removes an unmerged name and adds another in
       the same slot (`same_slot`: the table number for a syscall);
    3. the same author's next posting carries the new name, the old one is never
       posted again, and two of these hold: the same slot (table number), the
       same series lineage (b4 change-id or subject), the same patch subject with
       the name masked ("mm: introduce {} system call"), the same argument types;
       only one-to-one matches count;
    4. within one lineage, names that stop at one version while a like-named
       one (`similar`) starts at the next, one to one.
    Names ever proposed together in one series are distinct and never aliased
    (get_mempolicy2 and set_mempolicy2).
    """
    by_series: dict[str, dict[str, list[dict]]] = defaultdict(lambda: {"added": [], "removed": []})
    by_name: dict[str, list[dict]] = defaultdict(list)
    for f in sorted(findings, key=lambda f: f["date"] or ""):
        d = f["data"]
        if d["change"] in ("added", "removed"):
            by_series[f["series_key"]][d["change"]].append(f)
        if d["change"] == "added":
            by_name[d["name"]].append(f)
    together: set[frozenset] = set()
    series_names: dict[str, set[str]] = {}
    for key, group in by_series.items():
        names = series_names[key] = {f["data"]["name"] for f in group["added"]}
        together.update(frozenset((a, b)) for a in names for b in names if a != b)
    pairs: dict[str, str] = {}

    def day(f: dict) -> str:
        return (f["date"] or "")[:10]

    def propose(old: str, new: str) -> None:
        if old != new and old not in merged and old not in pairs and frozenset((old, new)) not in together:
            pairs[old] = new

    for f in findings:
        for old, new in f["data"].get("renames") or []:
            if old in by_name and new in by_name and day(by_name[old][0]) <= day(by_name[new][0]):
                propose(old, new)
    for group in by_series.values():
        for gone in group["removed"]:
            for came in group["added"]:
                if same_slot(gone["data"], came["data"]):
                    propose(gone["data"]["name"], came["data"]["name"])
    candidates: dict[str, dict[str, int]] = defaultdict(dict)
    for old, olds in by_name.items():
        last = olds[-1]
        author = (last["data"].get("author_email") or "").lower()
        for new, news in by_name.items():
            first = news[0]
            if new == old or not author or (first["data"].get("author_email") or "").lower() != author:
                continue
            if not (day(olds[0]) <= day(first) and day(last) <= day(first) and (olds[0]["date"] or "") < (first["date"] or "")):
                continue  # the old name goes on after the new one came: two interfaces
            od, nd = last["data"], first["data"]
            signals = (
                same_slot(od, nd),
                bool(od.get("lineage")) and od.get("lineage") == nd.get("lineage"),
                masked_subject(od.get("subject"), old, *series_names.get(last["series_key"], ()))
                == masked_subject(nd.get("subject"), new, *series_names.get(first["series_key"], ())),
                _same_distinct_types(od.get("signature"), nd.get("signature")),
            )
            if sum(signals) >= 2:
                candidates[old][new] = sum(signals)

    def best(scores: dict[str, int]) -> str | None:
        top = max(scores.values())
        winners = [n for n, score in scores.items() if score == top]
        return winners[0] if len(winners) == 1 else None

    takers: dict[str, dict[str, int]] = defaultdict(dict)
    for old, news in candidates.items():
        for new, score in news.items():
            takers[new][old] = score
    for old, news in candidates.items():
        new = best(news)  # one to one: the clearest match each way (getfsxattrat's slot is file_getattr's)
        if new is not None and best(takers[new]) == old:
            propose(old, new)
    # 4. Within one lineage (the versions of one series), names that stop at one version
    #    while others start at the next: the likeliest pairs, one to one (v2's
    #    name_to_handle/open_by_handle became v3's name_to_handle_at/open_by_handle_at).
    lineages: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for name, fs in by_name.items():
        for f in fs:
            d = f["data"]
            if d.get("lineage"):
                lineages[d["lineage"]][d.get("version") or 1].add(name)
    for versions in lineages.values():
        order = sorted(versions)
        for prev, nxt in zip(order, order[1:]):
            later = set().union(*(versions[w] for w in order[order.index(nxt):]))
            gone = versions[prev] - later
            came = versions[nxt] - set().union(*(versions[w] for w in order[: order.index(nxt)]))
            ranked = sorted(((similar(o, n), o, n) for o in gone for n in came), reverse=True)
            taken: set[str] = set()
            for score, o, n in ranked:
                if score >= 0.6 and o not in taken and n not in taken:
                    propose(o, n)
                    taken |= {o, n}
    # Follow chains: a -> b -> c becomes a -> c.
    for old in list(pairs):
        seen = {old}
        new = pairs[old]
        while new in pairs and pairs[new] not in seen:
            seen.add(new)
            new = pairs[new]
        pairs[old] = new
    return pairs


def _wired_compat(f: dict) -> dict | None:
    """A posting that wires a syscall up only on a compat ABI ("arm64: wire up cachestat for arm64"), as a wired_up change."""
    d = f["data"]
    wired = {
        abi: d["abis"][abi]
        for abi, forms in (d.get("abi_forms") or {}).items()
        if abi in COMPAT_ABIS and {"unistd", "unistd_call"} <= set(forms) and abi in (d.get("abis") or {})
    }
    if d["change"] != "added" or not wired:
        return None
    return {**f, "data": {**d, "change": "wired_up", "abis": wired}}


def classify_all(findings: list[dict]) -> list[dict]:
    """Classify every finding (see classify); a compat-only wiring counts for a syscall defined elsewhere.

    "__NR_get_mbind2" in arm64's unistd32.h alone is a typo; the same lines for
    cachestat, defined and wired up natively in other postings, wire it up on
    one more ABI.
    """
    kept = [c for c in (classify(f) for f in findings) if c is not None]
    native = {c["data"]["name"] for c in kept}
    for f in findings:
        d = f["data"]
        if d.get("native") is False and not d.get("compat_only") and d["name"] in native:
            wired = _wired_compat(f)
            if wired is not None:
                kept.append(wired)
    kept.sort(key=lambda f: (f["date"] or "", f.get("id") or 0))
    return kept


def arg_names(args) -> tuple:
    """The parameter names of a signature ("x(int dfd, char __user *name)") or an argument list, e.g. ("dfd", "name")."""
    if isinstance(args, str):
        if "(" not in args:
            return ()
        args = args.split("(", 1)[1].rsplit(")", 1)[0].split(",")
    names = []
    for arg in args:
        words = arg.replace("*", " ").split()
        if words and words != ["void"]:
            names.append(words[-1])
    return tuple(names)


MERGE_LINK_YEARS = 3  # a proposal is linked only to a syscall merged within this many years of its first posting


def merged_as(name: str, group: list[dict], taken: set[str]) -> str | None:
    """Return the merged syscall a never-merged proposal became under another name, or None.

    The 2010 case: name_to_handle/open_by_handle were merged in 2.6.39 as
    name_to_handle_at/open_by_handle_at. Linked when one merged syscall, first
    released after the proposal and within MERGE_LINK_YEARS, has the
    proposal's parameters (names, in order) and either holds one of its
    numbers or contains its name; never when two could be meant.
    """
    added = [f for f in group if f["data"]["change"] == "added"]
    if not added:
        return None
    first = (group[0]["date"] or "")[:10]
    signature = next((f["data"].get("signature") for f in reversed(added) if f["data"].get("signature")), None)
    params = arg_names(signature) if signature else ()
    numbers = {}
    for f in added:
        numbers.update(f["data"].get("abis") or {})
    if not params or not first:
        return None
    horizon = f"{int(first[:4]) + MERGE_LINK_YEARS}{first[4:]}"
    found = set()
    for abi in history.TABLES:
        for other, args in history.signatures(abi).items():
            if other in taken or other == name or arg_names(args) != params:
                continue
            since = history.mainline_since(history.merged_in(other))
            if not since or not (first < since <= horizon):
                continue
            slot = any(history.on_abi(other, a) and history.known_numbers(other).get(history.PROPOSAL_TABLES.get(a)) == nr
                       for a, nr in numbers.items())
            if slot or name in other:
                found.add(other)
    return found.pop() if len(found) == 1 else None


def classify(f: dict) -> dict | None:
    """Return a finding as the record should count it, or None when it is no change of a syscall.

    A posting that "adds" a syscall mainline already had (per the shipped
    history, at the posting's date) adds no syscall: when it wires the call up
    on an ABI whose recorded table lacks it, it is a "wired_up" change of that
    syscall; otherwise (a cleanup, a rework, an ABI-column edit, a typo) it is
    nothing. A removal dated after a release dropped the name only tidies up.
    """
    d = f["data"]
    if d.get("compat_only") or d.get("native") is False:
        return None
    name, when = d["name"], f["date"]
    if d["change"] == "removed":
        return None if history.gone_before(name, when) else f
    if d["change"] != "added" or not history.existed_before(name, when):
        return f
    wired = {}
    for abi, forms in (d.get("abi_forms") or {}).items():
        wires = bool({"table", "asm_table"} & set(forms)) or {"unistd", "unistd_call"} <= set(forms)
        if wires and abi not in COMPAT_ABIS and history.on_abi(name, abi) is not True and abi in (d.get("abis") or {}):
            wired[abi] = d["abis"][abi]
    if not wired:
        return None
    return {**f, "data": {**d, "change": "wired_up", "abis": wired}}


def build_records(db, *, findings: list[dict] | None = None) -> list[dict]:
    """Return one record per system call seen in patches, newest activity first."""
    history.use_stored(db)  # tables from `ktrack syscalls update-tables`, release dates from kernel.org
    if findings is None:
        findings = load_findings(db, plugin=PLUGIN, kind="syscall")
    findings = classify_all(findings)
    names = {f["data"]["name"] for f in findings}
    merged = {n for n in names if history.merged_in(n)}
    renames = rename_pairs(findings, merged)
    # Removing a name that never merged is part of a rename, not a removal.
    kept = [f for f in findings if not (f["data"]["change"] == "removed" and f["data"]["name"] not in merged)]
    groups = proposals.group_by_name(kept, renames)
    # A proposal merged under another name (and the names it went by) joins that syscall's record.
    linked = False
    for name in [n for n in groups if not history.merged_in(n)]:
        target = merged_as(name, groups[name], set(groups) - {name})
        if target:
            linked = True
            for old in {f["data"]["name"] for f in groups[name]}:
                renames[old] = target
    if linked:
        groups = proposals.group_by_name(kept, renames)
    records = []
    for name, group in groups.items():
        changes = [f for f in group if f["data"]["change"] != "wired_up"]
        last = (changes or group)[-1]
        added_in = history.merged_in(name)
        if last["data"]["change"] == "removed":
            # A removal is "merged" when a release's table lost the name, not when it was added.
            merged_in = history.removed_in(name) or proposals.merged_from_releases(db, group)
        else:
            merged_in = added_in or proposals.merged_from_releases(db, group)
        abis: dict[str, int] = {}
        signature = None
        for f in group:  # later proposals override earlier numbers and signatures
            if f["data"]["change"] in ("added", "wired_up"):
                abis.update(f["data"].get("abis") or {})
                signature = f["data"].get("signature") or signature
        if merged_in:
            abis.update(history.known_numbers(name))
        series = proposals.series_list(group, _series_extra)
        for prev, entry in zip(series, series[1:]):
            if entry["name"] != prev["name"] and entry["change"] != "wired_up":
                entry["renamed_from"] = prev["name"]  # the timeline says where the name changed
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
                "last_activity": group[-1]["date"],
                "page": f"syscalls/{safe_name(name)}.html",
                "wired_up": [
                    {"date": f["date"], "abis": f["data"]["abis"], "message_id": f["message_id"], "subject": f["data"].get("subject")}
                    for f in group if f["data"]["change"] == "wired_up"
                ],
                "evidence": proposals.evidence(group),
            }
        )
    return proposals.newest_first(records)


def _series_extra(f: dict) -> dict:
    """A syscall's series entry also names the syscall as that series spelled it, and the list it came from."""
    d = f["data"]
    extra = {"name": d["name"], "author": d.get("author_name") or d.get("author_email"), "list_id": d.get("list_id")}
    if d["change"] == "wired_up":
        extra["abis"] = d.get("abis") or {}
    return extra


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
