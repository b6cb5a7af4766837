"""Read a list from its public-inbox v2 git epochs: one commit per message, the raw mail in blob `m`.

This is the archive format lore's mirrors clone (`<base>/<list>/git/<N>.git`),
so a mirror is a gap-free source: every message ever accepted is a commit,
newest last. The `git` CLI is used through subprocess (no extra dependency);
`git cat-file --batch` streams all blobs through one process.
Not a plugin itself: plugins/lore.py imports it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterator

from tracker.errors import KtrackError

_EPOCH_RE = re.compile(r"^(\d+)\.git$")


def epoch_paths(git_dir: str | Path) -> list[tuple[str, Path]]:
    """Return [(epoch number as text, path)] for `<git_dir>/<N>.git`, oldest epoch first."""
    git_dir = Path(git_dir)
    if not git_dir.is_dir():
        raise KtrackError(f"{git_dir}: no public-inbox git epochs here (expected <N>.git directories)")
    found = [(int(m.group(1)), p) for p in git_dir.iterdir() if (m := _EPOCH_RE.match(p.name)) and p.is_dir()]
    if not found:
        raise KtrackError(f"{git_dir}: no public-inbox git epochs here (expected <N>.git directories)")
    return [(str(n), p) for n, p in sorted(found)]


def _git(path: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, check=True)
    except FileNotFoundError:
        raise KtrackError("the git command is not installed; it is needed to read public-inbox epochs") from None
    except subprocess.CalledProcessError as exc:
        problem = (exc.stderr.decode("utf-8", "replace").strip().splitlines() or ["failed"])[-1]
        raise KtrackError(f"{path}: git {args[0]} failed: {problem}") from None
    return done.stdout.decode("ascii", "replace")


def fetch_epoch(path: str | Path) -> None:
    """Update a cloned epoch from its remote (`git fetch`), e.g. a `git clone --mirror` of lore's N.git."""
    _git(Path(path), "fetch", "--quiet")


def read_epoch(path: str | Path, *, after: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (commit, raw message) for each commit of an epoch after `after` (all if None), oldest first.

    Commits without an `m` blob (public-inbox records deletions as a `d` file) are skipped.
    """
    path = Path(path)
    span = f"{after}..HEAD" if after else "HEAD"
    commits = _git(path, "rev-list", "--reverse", "--first-parent", span).split()
    if not commits:
        return
    proc = subprocess.Popen(["git", "-C", str(path), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        # One request, one answer: git flushes each object as soon as it reads its line,
        # so neither pipe can fill up and deadlock.
        for commit in commits:
            proc.stdin.write(f"{commit}:m\n".encode())
            proc.stdin.flush()
            header = proc.stdout.readline().decode("ascii", "replace").split()
            if len(header) != 3 or header[1] != "blob":  # "<name> missing" or not a blob
                continue
            size = int(header[2])
            raw = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after each object
            yield commit, raw
    finally:
        proc.stdin.close()
        proc.stdout.close()
        proc.wait()
