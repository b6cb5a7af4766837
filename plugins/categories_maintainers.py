"""Read the kernel's MAINTAINERS file: which subsystem entry owns a path, and its category.

The matching follows scripts/get_maintainer.pl (file_match_pattern and the
F:/X:/N: rules in the MAINTAINERS preamble): a pattern ending in "/" matches
everything below that directory; otherwise `*` and `?` are wildcards and the
file must sit at the pattern's own depth; X: patterns exclude; N: is a regex
searched anywhere in the path. The most specific match (most path separators)
wins, as get_maintainer ranks by pattern depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tracker.api import KtrackError

TAG_LINE = re.compile(r"^([A-Z]):\s*(.*?)\s*$")

# A regex N: match says less than a path pattern (get_maintainer treats it as a
# weaker hint), so it only refines files that no directory pattern claims.
REGEX_DEPTH = 0.5


@dataclass
class Entry:
    """One subsystem entry: its name line, mailing lists and file patterns."""

    name: str
    lists: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    regexes: list[str] = field(default_factory=list)


def parse_maintainers(text: str) -> list[Entry]:
    """Return the subsystem entries of a MAINTAINERS file's text.

    Entries are blocks separated by blank lines: a name line, then tag lines
    such as "F:\tnet/ipv4/". Preamble paragraphs have no tag lines (their
    examples are indented) and are skipped.
    """
    entries = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) < 2 or TAG_LINE.match(lines[0]):
            continue
        entry = Entry(name=lines[0].strip())
        tagged = False
        for line in lines[1:]:
            m = TAG_LINE.match(line)
            if not m:
                continue
            tagged = True
            tag, value = m.groups()
            value = value.split()[0] if tag in "FX" and value else value
            if tag == "L":
                entry.lists.append(value.split()[0].lower() if value else "")
            elif tag == "F" and value:
                entry.files.append(value)
            elif tag == "X" and value:
                entry.excludes.append(value)
            elif tag == "N" and value:
                entry.regexes.append(value)
        if tagged:
            entries.append(entry)
    return entries


def _pattern_regex(pattern: str) -> re.Pattern:
    # get_maintainer.pl: s@\.@\\\.@g; s@\*@\.\*@g; s@\?@\.@g; then m@^$pattern@
    out = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile("^" + out)


def pattern_depth(pattern: str, path: str) -> float | None:
    """Return how specific `pattern` is for `path` (its depth), or None when it does not match.

    E.g. ("drivers/net/", "drivers/net/tun.c") -> 2; ("drivers/net/*", "drivers/net/a/b.c") -> None.
    """
    rx = _compiled(pattern)
    if pattern.endswith("/"):
        return pattern.count("/") if rx.match(path) else None
    if rx.match(path) and path.count("/") == pattern.count("/"):
        return pattern.count("/") + 1
    # get_maintainer appends "/" to a pattern naming a directory of the tree;
    # without a tree at hand, accept it as a directory when it is a prefix.
    if "*" not in pattern and "?" not in pattern and path.startswith(pattern + "/"):
        return pattern.count("/") + 1
    return None


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return _pattern_regex(pattern)


class Maintainers:
    """The parsed file with an index so a lookup tries only plausible patterns.

    The real file has ~20,000 F: lines; indexing by the literal leading path
    segments keeps a lookup to the few hundred patterns under that directory.
    """

    def __init__(self, entries: list[Entry]):
        self.entries = [e for e in entries if e.name.upper() != "THE REST"]
        self._index: dict[tuple[str, ...], list[tuple[str, Entry]]] = {}
        self._regex_entries = [(e, [re.compile(r) for r in valid_regexes(e.regexes)]) for e in self.entries if e.regexes]
        for entry in self.entries:
            for pattern in entry.files:
                self._index.setdefault(_literal_key(pattern), []).append((pattern, entry))

    def lookup(self, path: str) -> tuple[Entry, float] | None:
        """Return the most specific entry for `path` and the depth of its pattern, or None."""
        parts = path.split("/")
        best: tuple[Entry, float] | None = None
        for key in dict.fromkeys(((), tuple(parts[:1]), tuple(parts[:2]))):
            for pattern, entry in self._index.get(key, ()):
                depth = pattern_depth(pattern, path)
                if depth is None or (best is not None and depth <= best[1]):
                    continue
                if any(pattern_depth(x, path) is not None for x in entry.excludes):
                    continue
                best = (entry, depth)
        if best is None:
            for entry, regexes in self._regex_entries:
                if any(r.search(path) for r in regexes):
                    return entry, REGEX_DEPTH
        return best


def _literal_key(pattern: str) -> tuple[str, ...]:
    """Index key: up to two leading directory segments of `pattern` free of wildcards.

    A lookup tries the keys (), (first,) and (first, second) of the path, so a
    pattern is always found under one of them.
    """
    key = []
    for segment in pattern.split("/")[:-1][:2]:
        if "*" in segment or "?" in segment:
            break
        key.append(segment)
    return tuple(key)


def valid_regexes(regexes: list[str]) -> list[str]:
    """Return the N: patterns Python can compile (a few use Perl-only syntax)."""
    good = []
    for r in regexes:
        try:
            re.compile(r)
        except re.error:
            continue  # a Perl-only construct: skip it rather than fail the run
        good.append(r)
    return good


# Entry name keywords, checked in this order: the first hit decides. Driver
# entries come first so "NETWORKING DRIVERS" (drivers/net/) stays a driver, the
# way weekly kernel news sorts network driver patches.
NAME_RULES: list[tuple[str, str]] = [
    (r"\bDRIVERS?\b", "device-drivers"),
    (r"\bKVM\b|VIRTUAL MACHINE|\bXEN\b|\bVIRTIO\b|\bVHOST\b|HYPER-?V|\bVFIO\b|NAMESPACE|CONTAINER", "virtualization"),
    (r"SECURITY|\bLSM\b|SELINUX|APPARMOR|SMACK|TOMOYO|LANDLOCK|\bKEYS\b|CRYPTO|INTEGRITY|\bSECCOMP\b|HARDENING", "security"),
    (r"MEMORY MANAGEMENT|\bSLAB\b|HUGETLB|MEMCG|MEMBLOCK|USERFAULTFD|\bMM\b", "memory-management"),
    (r"FILE ?SYSTEMS?\b|\bVFS\b|BLOCK LAYER|IO_URING|\bEXT[234]\b|BTRFS|\bXFS\b|\bNFS\b", "filesystems"),
    (r"NETWORKING|NETFILTER|\bTCP\b|\bIPV[46]\b|\bSOCKET|WIRELESS|BLUETOOTH", "networking"),
    (r"DOCUMENTATION", "documentation"),
    (r"KBUILD|KERNEL BUILD|KCONFIG", "build-system"),
    (r"PERFORMANCE EVENTS|TRACING|\bFTRACE\b|KUNIT|KSELFTEST|SPARSE|COCCINELLE|CHECKPATCH|\bKASAN\b|\bKCSAN\b|\bKMSAN\b|\bKFENCE\b", "development-tools"),
    (r"ARCHITECTURE|\bARM64\b|AARCH64|RISC-V|POWERPC|\bS390\b|\bMIPS\b|LOONGARCH|\bARM PORT\b", "architecture"),
    (r"SCHEDULER|LOCKING|TIMEKEEPING|\bTIMERS\b|\bRCU\b|WORKQUEUE|IRQ SUBSYSTEM|PRINTK|CONTROL GROUP|FUTEX", "core-kernel"),
]

LIST_RULES: list[tuple[str, str]] = [
    ("netdev@", "networking"),
    ("linux-mm@", "memory-management"),
    ("linux-fsdevel@", "filesystems"),
    ("linux-block@", "filesystems"),
    ("kvm@", "virtualization"),
    ("virtualization@", "virtualization"),
    ("linux-security-module@", "security"),
    ("linux-doc@", "documentation"),
    ("linux-kbuild@", "build-system"),
    ("linux-trace-kernel@", "development-tools"),
    ("linux-kselftest@", "development-tools"),
    ("linux-perf-users@", "development-tools"),
]


def entry_category(entry: Entry) -> str | None:
    """Return the category slug an entry's name or mailing lists imply, or None."""
    name = entry.name.upper()
    for pattern, slug in NAME_RULES:
        if re.search(pattern, name):
            return slug
    for lst in entry.lists:
        for prefix, slug in LIST_RULES:
            if lst.startswith(prefix):
                return slug
    return None


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Maintainers:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise KtrackError(f"cannot read MAINTAINERS file {path}: {exc.strerror}") from None
    entries = parse_maintainers(text)
    if not entries:
        raise KtrackError(f"{path} has no MAINTAINERS entries (expected blocks with F: lines)")
    return Maintainers(entries)


def load_maintainers(path: str | Path) -> Maintainers:
    """Parse the MAINTAINERS file at `path` once (until it changes) and return it."""
    p = Path(path).expanduser()
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise KtrackError(f"cannot read MAINTAINERS file {p}: {exc.strerror}") from None
    return _load(str(p), mtime)
