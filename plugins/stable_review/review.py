"""Turn a stable review series (patch mails, or a cover letter's shortlog) into reviewed entries.

Recognises every subject format the stable team has used, e.g.
"[patch 00/93] 2.6.32.9-stable review", "[patch 0/6] 2.6.14.7 -stable review",
"[PATCH 4.19 00/97] 4.19.107-stable review", "[PATCH 6.12 000/172] 6.12.5-rc1 review".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .classifier import Verdict

REVIEW_SUBJECT = re.compile(
    r"\b(\d+\.\d+(?:\.\d+){1,2})(?:-rc\d+)?\s*-?\s*stable\s+review\b"
    r"|\b(\d+\.\d+(?:\.\d+){1,2})-rc\d+\s+review\b",
    re.I,
)
PATCH_NUMBER = re.compile(r"\[[^\]]*?\b(\d{1,4})/(\d{1,4})\s*\]")
UPSTREAM = [
    re.compile(r"\bcommit ([0-9a-f]{12,40}) upstream", re.I),
    re.compile(r"\[\s*upstream commit ([0-9a-f]{12,40})\s*\]", re.I),
    re.compile(r"\bupstream commit:? ([0-9a-f]{12,40})\b", re.I),
    re.compile(r"\bcommit ([0-9a-f]{12,40}) (?:in|from) (?:mainline|linus)", re.I),
]
SHORTLOG_START = re.compile(r"^Pseudo-Shortlog of commits:\s*$", re.M)
VERSION_BUMP = re.compile(r"^Linux \d+\.\d+")


def review_release(subject: str) -> str | None:
    """Return the stable version a review cover announces, e.g. "[PATCH 6.12 000/172] 6.12.5-rc1 review" -> "6.12.5"."""
    m = REVIEW_SUBJECT.search(subject or "")
    if not m:
        return None
    return m.group(1) or m.group(2)


def patch_number(subject: str) -> int | None:
    """Return N of "[PATCH 4.19 012/97] ..." (None for a subject without one)."""
    m = PATCH_NUMBER.search(subject or "")
    return int(m.group(1)) if m else None


def upstream_commit(body: str) -> str | None:
    """Return the upstream SHA a backport names ("commit <sha> upstream." or "[ Upstream commit <sha> ]")."""
    for rx in UPSTREAM:
        m = rx.search(body or "")
        if m:
            return m.group(1).lower()
    return None


def shortlog_patches(cover_body: str) -> list[dict]:
    """Read the cover letter's "Pseudo-Shortlog of commits:" into patch dicts (oldest = #1).

    The shortlog lists newest first, each commit as an author line and an
    indented subject; the "Linux X.Y.Z-rcN" version bump is the last patch of
    the series and is left out.
    """
    m = SHORTLOG_START.search(cover_body or "")
    if not m:
        return []
    entries: list[dict] = []
    author = None
    for line in cover_body[m.end():].splitlines():
        if line.startswith("----") or line.strip().lower().startswith("diffstat"):
            break
        if not line.strip():
            continue
        if line[:1].isspace():
            if author is None:
                if re.match(r"^\s+\S.*\|\s+\d+", line):  # a diffstat line: the shortlog is over
                    break
                continue
            if entries and entries[-1]["author"] == author and entries[-1].get("_open"):
                entries[-1]["subject"] += " " + line.strip()  # a wrapped subject
            else:
                entries.append({"author": author, "subject": line.strip(), "_open": True})
        else:
            if entries:
                entries[-1].pop("_open", None)
            author = line.strip()
    patches = []
    for index, entry in enumerate(reversed(entries), 1):
        entry.pop("_open", None)
        if VERSION_BUMP.match(entry["subject"]):
            continue
        name, _, email = entry["author"].partition("<")
        patches.append(
            {
                "subject": entry["subject"],
                "patch_number": index,
                "author_name": name.strip(),
                "author_email": email.rstrip(">").strip(),
                "from_shortlog": True,
            }
        )
    return patches


def review_entries(patches: list[dict], release: str, *, verdict_for: Callable[[dict, str], Any] | None = None,
                   place: Callable[[str, str], str | None] | None = None) -> list[dict]:
    """Classify each patch; `verdict_for(patch, release)` may pre-empt the built-in classifier.

    `place(sha, subject)` names the release a Fixes: commit came with, when the
    store knows it; the impact line then says "broken since" it.
    """
    # the classifier (its model and a few hundred regexes) is loaded by a review, not by the site's pages
    from .classifier import CVE_ID, classify_patch, verdict_from

    entries = []
    modern = _has_upstream_lines(release)
    for position, patch in enumerate(patches, 1):
        subject = patch.get("subject") or ""
        number = patch.get("patch_number") or patch_number(subject) or position
        commit = patch.get("upstream_commit") or upstream_commit(patch.get("body") or "")
        named = CVE_ID.findall(subject + "\n" + (patch.get("body") or ""))
        cves = sorted({c.upper() for c in named} | set(patch.get("cves") or []))
        patch = {**patch, "upstream_commit": commit, "cves": cves}
        verdict = verdict_from(verdict_for(patch, release)) if verdict_for else None
        if verdict is None:
            verdict = classify_patch(patch)
        if modern and not commit and (patch.get("body") or "").strip() and not patch.get("from_shortlog"):
            verdict.warnings.append("no upstream commit line: CVEs linked by subject only")
        if place and verdict.fixes:
            _say_since(verdict, place)
        entries.append(entry_dict(number, patch, verdict))
    entries.sort(key=lambda e: e["number"])
    return entries


def _has_upstream_lines(release: str) -> bool:
    """Backports name their upstream commit since the 2.6.2x days; a 2006 review has none, and that is no fault."""
    head = release.split(".")[0]
    return head.isdigit() and int(head) >= 3


def _say_since(verdict: Verdict, place: Callable[[str, str], str | None]) -> None:
    """Add "broken since X" to the impact line when a Fixes: commit can be placed in a release."""
    found = []
    for fix in verdict.fixes:
        since = place(fix.get("commit") or "", fix.get("subject") or "")
        if since:
            fix["since"] = since
            found.append(since)
    if found and verdict.category != "enhancement":
        from tracker.api import version_sort_key

        verdict.summary += f"; broken since {min(found, key=version_sort_key)}"


def entry_dict(number: int, patch: dict, verdict: Verdict) -> dict:
    """The JSON shape of one reviewed patch (keys may be added, never renamed)."""
    from .features import clean_subject

    return {
        "number": int(number),
        "subject": clean_subject(patch.get("subject") or ""),
        "category": verdict.category,
        "summary": verdict.summary,
        "subsystem": verdict.subsystem,
        "score": round(float(verdict.score), 3),
        "security_score": round(float(verdict.security_score), 4),
        "evidence": list(verdict.evidence),
        "upstream_commit": patch.get("upstream_commit"),
        "cves": list(patch.get("cves") or []),
        "message_id": patch.get("message_id"),
        "verdict_by": verdict.by,
        # added by the message model (issue 17): a calibrated probability of a CVE, the lines that
        # weighed most, what could not be read, and the Fixes: commits (with the release each came in)
        "confidence": None if verdict.confidence is None else round(float(verdict.confidence), 4),
        "message_evidence": list(verdict.message_evidence),
        "warnings": list(verdict.warnings),
        "fixes": list(verdict.fixes),
    }


SECTION_TITLES = (
    ("security", "Security-related fixes"),
    ("bugfix", "Other bug fixes"),
    ("enhancement", "Enhancements"),
)


def entry_line(entry: dict) -> str:
    """Return "#N: subject. impact." with CVE ids appended when known."""
    subject = entry["subject"].rstrip()
    if not subject.endswith((".", "!", "?")):
        subject += "."
    line = f"#{entry['number']}: {subject} {entry['summary']}."
    unnamed = unnamed_cves(entry)
    if unnamed:
        line += " (" + ", ".join(unnamed) + ")"
    return line


def why_line(entry: dict, *, quotes: int = 2) -> str | None:
    """The lines of the mail that weighed most for a security verdict, quoted: what a reader checks first."""
    if entry.get("category") != "security":
        return None
    said = [e for e in entry.get("message_evidence") or [] if e.get("weight", 0) > 0 and e.get("source") != "subject"][:quotes]
    if not said:
        return None
    return "why: " + "; ".join(f"\u201c{e['text']}\u201d" for e in said)


def unnamed_cves(entry: dict) -> list[str]:
    """The entry's CVE ids its subject does not already name: shown once, not twice on one line."""
    return [c for c in entry.get("cves") or [] if c.upper() not in entry["subject"].upper()]


def counted(count: int, one: str, many: str) -> str:
    """Return "1 patch" / "3 patches": the sentences are read by people, not parsed."""
    return f"{count} {one if count == 1 else many}"


def counts_of(entries: list[dict]) -> dict[str, int]:
    counts = {key: 0 for key, _ in SECTION_TITLES}
    for e in entries:
        counts[e["category"]] = counts.get(e["category"], 0) + 1
    return counts


def conclusions(release: str, entries: list[dict]) -> str:
    """Return the closing paragraph with the counts, as an editor would write it."""
    c = counts_of(entries)
    n = len(entries)
    with_cve = sum(1 for e in entries if e.get("cves"))
    text = (
        f"Of the {counted(n, 'patch', 'patches')} in the {release} stable update, "
        f"{counted(c['security'], 'looks', 'look')} security-related, "
        f"{counted(c['bugfix'], 'is another bug fix', 'are other bug fixes')} and "
        f"{counted(c['enhancement'], 'is an enhancement', 'are enhancements')} "
        "(new device support, quirks, helpers or performance work)."
    )
    if with_cve:
        text += f" {counted(with_cve, 'already carries', 'already carry')} a CVE id."
    if c["security"]:
        text += " Users exposed to untrusted local users or networks should take this update."
    else:
        text += " Nothing here stands out as urgent for security."
    return text


def format_markdown(release: str, entries: list[dict]) -> str:
    lines = [f"# Stable review: {release} ({len(entries)} patches)", ""]
    for key, title in SECTION_TITLES:
        group = [e for e in entries if e["category"] == key]
        lines.append(f"## {title} ({len(group)})")
        lines.append("")
        for e in group:
            lines.append(f"- {entry_line(e)}")
            why = why_line(e)
            if why:
                lines.append(f"  - {why}")
        if not group:
            lines.append("None.")
        lines.append("")
    lines += ["## Conclusions", "", conclusions(release, entries), ""]
    return "\n".join(lines)


def format_text(release: str, entries: list[dict]) -> str:
    lines = [f"Stable review: {release} ({len(entries)} patches)", ""]
    for key, title in SECTION_TITLES:
        group = [e for e in entries if e["category"] == key]
        lines.append(f"{title} ({len(group)}):")
        for e in group:
            lines.append(f"  {entry_line(e)}")
            why = why_line(e)
            if why:
                lines.append(f"      {why}")
        lines.append("")
    lines += ["Conclusions:", conclusions(release, entries)]
    return "\n".join(lines)
