"""The categorizer: which of the weekly news categories a patch series belongs in.

By the files it touches (a path map, refined by the kernel's MAINTAINERS file
when one is configured), else by its subject prefix ("net: ", "mm/", "x86/",
...); release and tree announcements are "Kernel trees" whatever they touch.
Plain functions: plugins/categories.py is the plugin that uses them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # the MAINTAINERS parser loads only when a config names the file
    from .categories_maintainers import Maintainers

SUPPORT_WEIGHT = 0.3  # docs/selftests/MAINTAINERS accompany code; the code decides
SUPPORT_CAP = 0.9  # ... and all of a category's accompanying files together still weigh less than one code file


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(resources.files("tracker.plugins").joinpath("categories_map.json").read_text("utf-8"))


def categories() -> list[tuple[str, str]]:
    """Return (slug, name) of every category in display order, e.g. ("networking", "Networking")."""
    return [tuple(pair) for pair in _table()["categories"]]


def category_name(slug: str) -> str:
    """Return the display name of a slug, e.g. "filesystems" -> "Filesystems and block I/O"."""
    return dict(categories()).get(slug, slug)


def _segments_match(pattern: str, path: str) -> float | None:
    """Return the depth of a path-map pattern matching `path`, or None.

    "arch/*/kvm/" matches "arch/x86/kvm/x86.c" (depth 3); "Makefile" only the top-level file.
    """
    p_parts = pattern.rstrip("/").split("/")
    parts = path.split("/")
    if pattern.endswith("/"):
        if len(parts) <= len(p_parts):
            return None
    elif len(parts) != len(p_parts):
        return None
    from fnmatch import fnmatchcase

    if all(fnmatchcase(seg, pat) for seg, pat in zip(parts, p_parts)):
        return len(p_parts) + (0 if pattern.endswith("/") else 0.5)
    return None


@lru_cache(maxsize=1)
def _patterns_by_head() -> tuple[dict[str, list], list]:
    """The path map's (position, pattern, slug) by first path segment, and those whose first segment is a wildcard.

    A pattern can only match a path with its first segment: categorising a week's
    series tries a handful of the map's patterns a file, not all of them.
    """
    by_head: dict[str, list] = {}
    wild: list = []
    for position, (pattern, slug) in enumerate(_table()["paths"].items()):
        head = pattern.split("/", 1)[0]
        (wild if any(c in head for c in "*?[") else by_head.setdefault(head, [])).append((position, pattern, slug))
    return by_head, wild


@lru_cache(maxsize=65536)
def path_category(path: str) -> tuple[str, float] | None:
    """Return (slug, depth) of the most specific path-map pattern for `path`, or None.

    E.g. "arch/x86/kvm/x86.c" -> ("virtualization", 3), "net/ipv4/tcp.c" -> ("networking", 1).
    """
    by_head, wild = _patterns_by_head()
    candidates = by_head.get(path.split("/", 1)[0], [])
    if wild:
        candidates = sorted(candidates + wild)  # the map's order: the first of equally deep patterns wins
    best = None
    for _, pattern, slug in candidates:
        depth = _segments_match(pattern, path)
        if depth is not None and (best is None or depth > best[1]):
            best = (slug, depth)
    return best


# Wiring a new system call into every architecture's table touches many arch/
# files, yet the series belongs where the syscall's code lives (e.g. mm/).
SYSCALL_WIRING = re.compile(
    r"(^arch/[^/]+/.*(syscall|unistd)[^/]*$|\.tbl$|^include/uapi/asm-generic/unistd\.h$"
    r"|^include/linux/syscalls\.h$|^kernel/sys_ni\.c$)"
)
# Akpm's notices name the patch file, whose first word is the subsystem:
# "mm-mempolicy-wire-up-syscall-set_mempolicy_home_node.patch removed from -mm tree".
MM_TREE_NOTICE = re.compile(r"^[+\s]*([a-z0-9_]+)-[\w.-]+\.patch (added to|removed from) -?mm[\w-]* (tree|branch)", re.I)


@lru_cache(maxsize=65536)
def _is_support(path: str) -> bool:
    if SYSCALL_WIRING.search(path):
        return True
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in _table()["support"])


def normalize_path(path: str) -> str:
    """Strip diff prefixes and "./": "b/mm/slub.c" -> "mm/slub.c"."""
    path = path.strip()
    for prefix in ("a/", "b/", "./"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def file_category(path: str, maintainers: Maintainers | None = None) -> tuple[str, str] | None:
    """Return (slug, reason) for one file: the path map, or a more specific MAINTAINERS entry."""
    mapped = path_category(path)
    if maintainers is not None:
        found = maintainers.lookup(path)
        if found is not None:
            from .categories_maintainers import entry_category

            entry, depth = found
            slug = entry_category(entry)
            if slug is not None and (mapped is None or depth >= mapped[1]):
                return slug, f"MAINTAINERS: {entry.name}"
    if mapped is not None:
        return mapped[0], "path map"
    return None


# Subjects of release and tree announcements, lower-cased. Evidence: the kernel
# announces "Linux 6.8-rc3" and "Linux 6.1.70"; stable reviews read
# "6.12.5-rc1 review" (old: "2.6.14.7 -stable review"); linux-next posts
# "linux-next: Tree for Feb 21"; -rt releases are "[ANNOUNCE] v6.6-rt15".
TREE_SUBJECTS = [
    re.compile(r"^linux \d+\.\d+(\.\d+)*(-rc\d+)?\s*$"),
    re.compile(r"^linux-next: tree for"),
    re.compile(r"\d+\.\d+(\.\d+)*-rc\d+ review\s*$"),
    re.compile(r"-?stable review\s*$"),
    re.compile(r"^v?\d+\.\d+(\.\d+)*-rt\d+\s*$"),
]

BUG_SUBJECTS = re.compile(
    r"^(\[syzbot\]|syzbot|bug:|\[bug\]|kasan:|kmsan:|ubsan:|warning in|general protection fault|"
    r"kernel bug|possible deadlock|unable to handle|regression|\[regression\]|\[regzbot\]|"
    r"benchmark|\[benchmark\]|performance regression)"
)

# Tree tags inside [PATCH net-next] name the tree a patch is for.
TREE_TAGS = {"net": "networking", "net-next": "networking", "bpf": "core-kernel", "bpf-next": "core-kernel",
             "mm": "memory-management", "mm-unstable": "memory-management", "kvm-unit-tests": "virtualization"}

LEADING_BRACKETS = re.compile(r"^\s*(\[[^\]]*\]\s*)+")


def _strip_subject(subject: str) -> tuple[str, list[str]]:
    """Return the subject without "Re:" and leading [..] groups, and the words found in them.

    E.g. 'Re: [PATCH net-next v2] tcp: x' -> ('tcp: x', ['patch', 'net-next', 'v2']).
    """
    tags: list[str] = []
    subject = (subject or "").strip()
    while True:
        before = subject
        subject = re.sub(r'^(re|fwd?|aw|sv)\s*:\s*', "", subject, flags=re.I)
        m = LEADING_BRACKETS.match(subject)
        if m:
            tags += re.findall(r"[^\s\[\]]+", m.group(0).lower())
            subject = subject[m.end():]
        subject = re.sub(r'^revert\s*"', "", subject.strip(), flags=re.I)
        if subject == before:
            return subject, tags


_MAN_PAGE = re.compile(r"^[a-z_][\w-]*\.[0-9][a-z]*$")  # a manual page: "madvise.2", "tmpfs.5", "pthread_create.3p"


def subject_category(subject: str, prefixes: Iterable[str] = ()) -> str | None:
    """Return the slug a subject prefix names, e.g. "mm/hugetlb: fix" -> "memory-management"."""
    subject, tags = _strip_subject(subject)
    tags += [str(p).lower() for p in prefixes]
    notice = MM_TREE_NOTICE.match(subject)
    if notice:
        return _table()["subjects"].get(notice.group(1).lower())
    if ":" in subject:
        head = subject.split(":", 1)[0].strip().lower()
        first = re.split(r"[/,\s]", head)[0].strip()
        if _MAN_PAGE.match(first):  # "madvise.2: Document ...", "fanotify.7, fanotify_mark.2: ..."
            return "documentation"
        if first and head.count(" ") <= 2:  # "bpf, sockmap" yes; "Fix the bug in x" no
            subjects = _table()["subjects"]
            slug = subjects.get(first) or subjects.get(first.rstrip("0123456789"))  # futex2, ext2
            if slug:
                return slug
            path = head.split()[0].rstrip("/,")  # "mm/hugetlb" or a file: "include/uapi/linux/xfrm.h"
            mapped = path_category(path + "/x") or path_category(path)
            if mapped:
                return mapped[0]
    for tag in tags:
        if tag in TREE_TAGS:
            return TREE_TAGS[tag]
    return None


def is_tree_announcement(subject: str, prefixes: Iterable[str] = ()) -> bool:
    """Return True for release/tree announcements: "Linux 6.8-rc3", "6.1.70-rc1 review", ..."""
    stripped, tags = _strip_subject(subject)
    tags += [str(p).lower() for p in prefixes]
    low = stripped.lower().strip()
    if "announce" in tags and re.search(r"\d+\.\d+", low):
        return True
    return any(rx.search(low) for rx in TREE_SUBJECTS)


def vote(files: Iterable[str], maintainers: Maintainers | None = None) -> tuple[str | None, dict[str, float]]:
    """Return the winning slug of a weighted vote over files and the weight per slug.

    Each file counts 1, or SUPPORT_WEIGHT when it merely accompanies code
    (documentation, selftests, MAINTAINERS, syscall tables) and other files
    are present; a tie goes to the earlier category in display order.
    """
    paths = [normalize_path(f) for f in files or () if f and f != "/dev/null"]
    only_support = all(_is_support(p) for p in paths)
    weights: dict[str, float] = defaultdict(float)
    support: dict[str, float] = defaultdict(float)
    for path in paths:
        found = file_category(path, maintainers)
        if found is None:
            continue
        if only_support or not _is_support(path):
            weights[found[0]] += 1.0
        else:
            support[found[0]] += SUPPORT_WEIGHT
    # However many accompanying files there are, together they weigh less than one code file.
    for slug, weight in support.items():
        weights[slug] += min(weight, SUPPORT_CAP)
    if not weights:
        return None, {}
    order = {slug: i for i, (slug, _) in enumerate(categories())}
    winner = max(weights, key=lambda s: (weights[s], -order.get(s, 99)))
    return winner, dict(weights)


def categorize(
    subject: str,
    files: Iterable[str] = (),
    *,
    prefixes: Iterable[str] = (),
    is_stable_review: bool = False,
    maintainers: Maintainers | None = None,
) -> tuple[str, str]:
    """Return (name, slug) of a series' category from its subject and the files it touches.

    E.g. categorize("net: fix a leak", ["net/core/dev.c"]) -> ("Networking", "networking").
    """
    prefixes = list(prefixes)
    if is_stable_review or is_tree_announcement(subject, prefixes):
        slug = "kernel-trees"
    else:
        files = [f for f in files or () if f and f != "/dev/null"]
        slug, weights = vote(files, maintainers)
        named = subject_category(subject, prefixes) or subject_keyword(subject)
        if slug is None:
            stripped, tags = _strip_subject(subject)
            if BUG_SUBJECTS.match(stripped.lower()) or {"syzbot", "bug", "regression"} & set(tags):
                slug = "benchmarks-bugs"
            else:
                slug = named or subject_keyword(subject) or "miscellaneous"
        elif named and named != slug:
            unmapped = sum(1 for f in files if path_category(normalize_path(f)) is None)
            paths = [normalize_path(f) for f in files]
            if (named != "architecture" and any(SYSCALL_WIRING.search(p) for p in paths)
                    and all(_is_support(p) or path_category(p) is None for p in paths)):
                # only syscall tables, their headers and tests ("fs/xattr: wire up syscalls" on
                # every architecture): the subject says whose system calls they are
                slug = named
            elif weights.get(named, 0.0) >= 1.0 and named != "architecture":
                # "sched: Add support for long task name" edits many drivers but is the scheduler's change:
                # the subject decides among the categories whose code the series touches
                slug = named
            elif unmapped > len(files) / 2:
                slug = named  # mostly files outside the kernel tree: man-pages, btrfs-progs, ...
    return category_name(slug), slug


# Subsystem names that say where a series belongs even outside a "prefix:" (no files, no colon):
# "Extend fanotify dirent events". Short or generic words ("fs", "kernel", "tools") would mislead.
_GENERIC_WORDS = {"kernel", "tools", "lib", "doc", "docs", "documentation", "security", "block", "firmware", "input",
                  "media", "sound", "proc", "swap", "signal", "syscalls", "uapi", "time", "cpu", "power", "platform",
                  "mount", "exec", "man", "smp", "irq", "integrity", "keys", "thermal"}


def subject_keyword(subject: str) -> str | None:
    """Return the category of the first subsystem name in a subject's words, e.g. "Extend fanotify dirent events" -> "filesystems"."""
    stripped, _ = _strip_subject(subject)
    table = _table()["subjects"]
    for word in re.findall(r"[a-z][a-z0-9_-]{3,}", stripped.lower()):
        for name in (word, word.rstrip("0123456789")):  # futex2, ext4
            if name in table and name not in _GENERIC_WORDS:
                return table[name]
    return None


def _as_list(value) -> list[str]:
    """Return a list from a list, None or its JSON text as stored in a *_json column (bad JSON: empty)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value or [])


def series_files(series: dict) -> list[str]:
    """Collect the files of a series dict: its "files", else its patches' "files"/"files_json"."""
    files = _as_list(series.get("files"))
    if not files:
        for patch in series.get("patches") or []:
            files += _as_list(patch.get("files") if patch.get("files") is not None else patch.get("files_json"))
    return list(dict.fromkeys(files))


def series_prefixes(series: dict) -> list[str]:
    """Return a series dict's subject prefixes: its "prefixes", else its "prefixes_json"."""
    return _as_list(series.get("prefixes") if series.get("prefixes") is not None else series.get("prefixes_json"))


def maintainers_from_config(config: dict) -> Maintainers | None:
    """Load the MAINTAINERS file named by `[plugins.categories] maintainers`, if any."""
    from tracker.api import maintainers_file

    path = maintainers_file(config)
    if not path:
        return None
    from .categories_maintainers import load_maintainers

    return load_maintainers(path)


def categorize_series(series: dict, maintainers: Maintainers | None = None) -> tuple[str, str]:
    """Return (name, slug) for a series dict as tracker.queries returns it."""
    return categorize(
        series.get("subject") or "",
        series_files(series),
        prefixes=series_prefixes(series),
        is_stable_review=bool(series.get("is_stable_review")),
        maintainers=maintainers,
    )
