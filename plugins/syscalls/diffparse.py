"""Split a unified diff (as mailed, possibly mangled) into files and hunks.

Lenient on purpose: patches in mail are re-wrapped, truncated or carry junk
after the last hunk, and a detector must still see every +/- line it can. Both
the syscall and sysctl plugins read diffs through this one splitter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)")


@dataclass
class Hunk:
    """One hunk: `lines` are (tag, text) with tag "+", "-" or " "; `section` is the @@ function context."""

    old_start: int
    new_start: int
    section: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FileDiff:
    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The path the file has after the patch (the old one for a deletion)."""
        return self.new_path or self.old_path or ""


def _strip_prefix(path: str) -> str | None:
    path = path.split("\t", 1)[0].strip()
    if path == "/dev/null":
        return None
    if path[:2] in ("a/", "b/"):
        return path[2:]
    return path


@lru_cache(maxsize=32)
def parse_diff(text: str) -> list[FileDiff]:
    """Return the files of a unified diff, each with its hunks; never raises on junk.

    Cached: the syscall and the sysctl detector read the same patch one after
    the other. Callers must not change what it returns.
    """
    files: list[FileDiff] = []
    current: FileDiff | None = None
    hunk: Hunk | None = None
    old_left = new_left = 0
    lines = (text or "").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if hunk is not None and (old_left > 0 or new_left > 0):
            tag = line[:1]
            if tag == "+" :
                hunk.lines.append(("+", line[1:]))
                new_left -= 1
            elif tag == "-":
                hunk.lines.append(("-", line[1:]))
                old_left -= 1
            elif tag == " " or line == "":
                hunk.lines.append((" ", line[1:]))
                old_left -= 1
                new_left -= 1
            elif tag == "\\":  # "\ No newline at end of file"
                pass
            else:  # a truncated hunk: fall through to header parsing
                hunk = None
                continue
            i += 1
            continue
        m = _GIT.match(line)
        if m:
            current = FileDiff(m.group(1), m.group(2))
            files.append(current)
            hunk = None
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old = _strip_prefix(line[4:])
            new = _strip_prefix(lines[i + 1][4:])
            if current is None or current.hunks:
                current = FileDiff(old, new)
                files.append(current)
            else:
                current.old_path, current.new_path = old, new
            hunk = None
            i += 2
            continue
        else:
            hm = _HUNK.match(line)
            if hm and current is not None:
                hunk = Hunk(int(hm.group(1)), int(hm.group(3)), hm.group(5).strip())
                old_left = int(hm.group(2)) if hm.group(2) is not None else 1
                new_left = int(hm.group(4)) if hm.group(4) is not None else 1
                current.hunks.append(hunk)
        i += 1
    return files
