"""Find the CVE ids the kernel CVE team (CNA) gave to stable patches.

Two local sources, both configurable (no network):
- a checkout of the CNA's `vulns` repository: `cve/published/<year>/CVE-*.json`
  (CVE JSON 5 records) with a `CVE-*.sha1` beside each naming the mainline fix;
- a JSONL export with one record per line: cve, subject, mainline_fix, fixed_in
  (the format of shared/data/stable-labels/kernel-cna-cve-fixes.jsonl).
A patch is matched by its upstream SHA first, by its subject otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tracker.api import KtrackError


SHA = re.compile(r"\b[0-9a-f]{12,40}\b")
SHA_PREFIX = 12  # short SHAs in mails have at least 12 digits


def normalize_subject(subject: str) -> str:
    """Return the subject key CVE records and patches are matched on (case and spacing folded)."""
    from .features import clean_subject  # its patterns compile on import: only when an index is read

    return " ".join(clean_subject(subject).lower().split())


@dataclass
class CveIndex:
    """CVE ids by upstream SHA prefix and by normalised subject."""

    by_sha: dict[str, set[str]] = field(default_factory=dict)
    by_subject: dict[str, set[str]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    mainline: dict[str, str] = field(default_factory=dict)  # SHA prefix -> the mainline release its fix landed in

    def mainline_of(self, sha: str) -> str | None:
        """The mainline release ("5.10") a commit the CNA lists as a fix landed in, if it does."""
        return self.mainline.get((sha or "").strip().lower()[:SHA_PREFIX])

    def add(self, cve: str, subject: str | None, shas) -> None:
        for sha in shas or []:
            sha = (sha or "").strip().lower()
            if SHA.fullmatch(sha):
                self.by_sha.setdefault(sha[:SHA_PREFIX], set()).add(cve)
        if subject:
            self.by_subject.setdefault(normalize_subject(subject), set()).add(cve)

    def __len__(self) -> int:
        return len({c for cves in self.by_sha.values() for c in cves} | {c for cves in self.by_subject.values() for c in cves})

    def lookup(self, *, upstream_commit: str | None, subject: str | None) -> tuple[list[str], str | None]:
        """Return (sorted CVE ids, how: "sha"|"subject"|None) for one patch."""
        if upstream_commit:
            found = self.by_sha.get(upstream_commit.strip().lower()[:SHA_PREFIX])
            if found:
                return sorted(found), "sha"
        if subject:
            found = self.by_subject.get(normalize_subject(subject))
            if found:
                return sorted(found), "subject"
        return [], None


def read_jsonl(path: str | Path, index: CveIndex | None = None) -> CveIndex:
    """Add the records of a CNA JSONL export to `index` (a new one by default)."""
    index = CveIndex() if index is None else index
    path = Path(path).expanduser()
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    raise KtrackError(f"{path}:{lineno}: not a JSON line") from None
                if isinstance(rec, dict) and rec.get("cve"):
                    index.add(rec["cve"], rec.get("subject"), rec.get("mainline_fix") or [])
                    _note_mainline(index, rec)
    except OSError as exc:
        raise KtrackError(f"cannot read CVE export {path}: {exc.strerror}") from None
    index.sources.append(str(path))
    return index


def _record_subject(record: dict) -> str | None:
    """The fix's subject: the CNA puts it in `title`, and as the third line of the description."""
    cna = (record.get("containers") or {}).get("cna") or {}
    if cna.get("title"):
        return cna["title"]
    for desc in cna.get("descriptions") or []:
        lines = [line.strip() for line in (desc.get("value") or "").splitlines() if line.strip()]
        if len(lines) >= 2 and lines[0].lower().startswith("in the linux kernel"):
            return lines[1]
    return None


def _record_shas(record: dict) -> list[str]:
    """Fix SHAs named by the record itself: git-typed `lessThan` bounds of affected ranges."""
    shas = []
    cna = (record.get("containers") or {}).get("cna") or {}
    for affected in cna.get("affected") or []:
        for version in affected.get("versions") or []:
            if version.get("versionType") == "git" and version.get("lessThan"):
                shas.append(version["lessThan"])
    return shas


def read_vulns_tree(root: str | Path, index: CveIndex | None = None) -> CveIndex:
    """Add every published CVE of a `vulns` checkout (cve/published/<year>/CVE-*.json + .sha1)."""
    index = CveIndex() if index is None else index
    root = Path(root).expanduser()
    published = root / "cve" / "published"
    if not published.is_dir():
        raise KtrackError(f"{root} is not a CVE vulns checkout (no cve/published/ directory)")
    for json_path in sorted(published.glob("*/CVE-*.json")):
        cve = json_path.stem
        shas: list[str] = []
        sha_path = json_path.with_suffix(".sha1")
        if sha_path.exists():
            shas = SHA.findall(sha_path.read_text(encoding="utf-8", errors="replace").lower())
        try:
            record = json.loads(json_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KtrackError(f"{json_path}: not a CVE JSON record") from None
        cve = ((record.get("cveMetadata") or {}).get("cveId")) or cve
        index.add(cve, _record_subject(record), shas + _record_shas(record))
    index.sources.append(str(root))
    return index


_CACHE: dict[tuple, CveIndex] = {}


def load_cve_index(plugin_config: dict) -> CveIndex | None:
    """Return the index of the configured sources (`vulns_path`, `cve_jsonl`), or None if neither is set."""
    vulns = plugin_config.get("vulns_path")
    jsonl = plugin_config.get("cve_jsonl")
    if not vulns and not jsonl:
        return None
    stamp = []
    for p in (vulns, jsonl):
        try:
            stamp.append((p, Path(p).expanduser().stat().st_mtime_ns) if p else None)
        except OSError:
            stamp.append((p, None))
    key = tuple(stamp)
    if key not in _CACHE:
        index = CveIndex()
        if vulns:
            read_vulns_tree(vulns, index)
        if jsonl:
            read_jsonl(jsonl, index)
        _CACHE.clear()
        _CACHE[key] = index
    return _CACHE[key]


def _note_mainline(index: CveIndex, rec: dict) -> None:
    """Remember the mainline release ("6.1", two numbers in `fixed_in`) each fix landed in."""
    versions = [v for v in rec.get("fixed_in") or [] if isinstance(v, str) and re.fullmatch(r"\d+\.\d+", v)]
    if not versions:
        return
    first = min(versions, key=lambda v: tuple(int(x) for x in v.split(".")))
    for sha in rec.get("mainline_fix") or []:
        if isinstance(sha, str) and SHA.fullmatch(sha.strip().lower()):
            index.mainline.setdefault(sha.strip().lower()[:SHA_PREFIX], first)
