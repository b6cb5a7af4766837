"""What the text of a patch mail holds besides prose: the diff, its diffstat, trailers, upstream commit.

Pure functions over text, shared by mail parsing and by plugins that read
stored bodies again.
"""

from __future__ import annotations

import re

_TRAILER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(\S.*?)\s*$")
# Canonical spelling of the trailers the tracker knows; any other "*-by:" is kept as written.
_TRAILER_NAMES = {
    name.lower(): name
    for name in (
        "Signed-off-by", "Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Suggested-by",
        "Co-developed-by", "Nacked-by", "Reported-and-tested-by", "Requested-by", "Debugged-by",
        "Originally-by", "Fixes", "Cc", "Link", "Closes", "Message-ID", "Change-Id",
    )
}
_TRAILER_NAMES["change-id"] = "change-id"  # b4 writes it lower-case; keep it recognisable
_UPSTREAM_RES = (
    re.compile(r"^\s*commit ([0-9a-f]{12,40}) upstream\.?", re.M),
    re.compile(r"\[\s*upstream commit ([0-9a-f]{12,40})\s*\]"),
    re.compile(r"\(cherry picked from commit ([0-9a-f]{12,40})\)"),
)


_DIFF_START_RE = re.compile(r"^(?:diff -|--- [^\n]*\n\+\+\+ )", re.M)


def split_diff(text: str) -> tuple[str, str]:
    """Split a message text into (body, diff) at the first line that starts a unified diff."""
    m = _DIFF_START_RE.search(text)
    if not m:
        return text, ""
    start = m.start()
    if not text.startswith("diff", start):
        # an "Index: file" + "=====" pair (quilt, svn) introduces the diff it precedes
        before = text[:start].rstrip("\n").rsplit("\n", 2)
        if len(before) >= 2 and before[-2].startswith("Index: ") and before[-1].startswith("===="):
            start = text.rfind("Index: ", 0, start)
    return text[:start], text[start:]


def _strip_path(path: str) -> str:
    """Apply patch -p1 to a diff path: "a/mm/x.c" or "linux-2.6.14.orig/mm/x.c" -> "mm/x.c"."""
    path = path.split("\t")[0].strip()
    if path == "/dev/null":
        return path
    if "/" in path:
        return path.split("/", 1)[1]
    return path


_HUNK_RE = re.compile(r"^@@+ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def read_diffstat(diff: str) -> list[dict]:
    """Count added/removed lines per file of a unified diff: [{"path", "added", "removed"}].

    Hunk headers give line counts, so a removed line "-- foo" (shown as
    "--- foo") is never mistaken for the next file's header.
    """
    stats: list[dict] = []
    current = None
    old_path = None
    old_left = new_left = 0
    loose = False  # a hunk header without counts: count until a non-diff line
    for line in diff.splitlines():
        if old_left > 0 or new_left > 0:
            first = line[:1]
            if first == "+":
                current["added"] += 1
                new_left -= 1
            elif first == "-":
                current["removed"] += 1
                old_left -= 1
            elif first == " " or line == "":
                old_left -= 1
                new_left -= 1
            elif first != "\\":
                old_left = new_left = 0
            continue
        if line.startswith("diff --git "):
            m = re.match(r"diff --git a/(\S+) b/(\S+)", line)
            current = {"path": m.group(2) if m else line[11:].split()[-1], "added": 0, "removed": 0}
            stats.append(current)
            loose = False
        elif line.startswith("--- "):
            old_path = _strip_path(line[4:])
            loose = False
        elif line.startswith("+++ "):
            path = _strip_path(line[4:])
            if path == "/dev/null":
                path = old_path or path
            if current is None or current["added"] or current["removed"] or current["path"] != path and not line[4:].startswith("b/"):
                current = {"path": path, "added": 0, "removed": 0}
                stats.append(current)
            loose = False
        elif line.startswith("@@") and current is not None:
            m = _HUNK_RE.match(line)
            if m:
                old_left = int(m.group(1)) if m.group(1) is not None else 1
                new_left = int(m.group(2)) if m.group(2) is not None else 1
            else:
                loose = True
        elif loose and current is not None:
            first = line[:1]
            if first == "+":
                current["added"] += 1
            elif first == "-" and line != "-- ":
                current["removed"] += 1
            elif first not in (" ", "\\", ""):
                loose = False
    return stats


def read_trailers(body: str) -> list[list[str]]:
    """Return [name, value] for each trailer line of a body, skipping quoted ("> ") lines."""
    trailers = []
    for line in body.splitlines():
        if not line or line[0] in "> \t":
            continue
        m = _TRAILER_RE.match(line)
        if not m:
            continue
        name = m.group(1)
        low = name.lower()
        canonical = _TRAILER_NAMES.get(low)
        if canonical is None:
            if not low.endswith("-by"):
                continue
            canonical = name
        trailers.append([canonical, m.group(2)])
    return trailers


def find_upstream_commit(body: str) -> str | None:
    """Return the upstream SHA a stable backport names, e.g. "commit 1a2b... upstream."."""
    low = body.lower()
    for pattern in _UPSTREAM_RES:
        m = pattern.search(low)
        if m:
            return m.group(1)
    return None


# "Thu, 1 Oct 2020 12:34:56 +0200", what nearly every mailer writes
