"""Read public-inbox v2 git archives: one commit per message, the raw mail in blob `m`.

This is the archive format lore's mirrors clone (`<base>/<list>/git/<N>.git`),
so an epoch is a gap-free source: every message ever accepted is a commit,
newest last. Both `ktrack import PATH` (offline: a bare epoch, a `.bundle` of
one, or a whole v2 inbox directory) and the lore source's git backfill read
through here. The `git` CLI is used through subprocess (no extra dependency);
`git cat-file --batch` streams all blobs through one process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import KtrackError

_EPOCH_RE = re.compile(r"^(\d+)\.git$")
# `git bundle create` writes one of these first lines (gitformat-bundle(5))
BUNDLE_MAGIC = (b"# v2 git bundle\n", b"# v3 git bundle\n")


def epoch_paths(git_dir: str | Path) -> list[tuple[str, Path]]:
    """Return [(epoch number as text, path)] for `<git_dir>/<N>.git`, oldest epoch first."""
    git_dir = Path(git_dir)
    found = []
    if git_dir.is_dir():
        found = [(int(m.group(1)), p) for p in git_dir.iterdir() if (m := _EPOCH_RE.match(p.name)) and p.is_dir()]
    if not found:
        raise KtrackError(f"{git_dir}: no public-inbox git epochs here (expected <N>.git directories)")
    return [(str(n), p) for n, p in sorted(found)]


def is_bundle(path: Path) -> bool:
    """Whether `path` is a git bundle file (by its first line, whatever its name)."""
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(16) in BUNDLE_MAGIC
    except OSError:
        return False


def is_bare_repository(path: Path) -> bool:
    """Whether `path` looks like a bare git repository (what `git clone --mirror` makes)."""
    return path.is_dir() and (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def find_epochs(path: str | Path) -> list[tuple[str, Path]] | None:
    """Return the epochs [(name, path)] of a public-inbox git store at `path`, or None if it is not one.

    Accepted, oldest epoch first: a bare epoch (`git clone --mirror
    https://lore.kernel.org/LIST/0`), a bundle of one, a plain clone of one,
    a v2 inbox directory (`all.git` + `git/<N>.git`), or a directory of
    `<N>.git` epochs.
    Example: find_epochs("linux-api") -> [("0.git", Path("linux-api/git/0.git")), ...]
    """
    path = Path(path)
    if path.name == "all.git" and (path.parent / "git").is_dir():
        path = path.parent  # all.git only points at the epochs (alternates): read the inbox
    elif is_bundle(path) or is_bare_repository(path):
        return [(path.name, path)]
    elif (path / "m").is_file() and is_bare_repository(path / ".git"):
        return [(path.name, path / ".git")]  # `git clone` without --mirror: the last message checked out as m
    if not path.is_dir():
        return None
    for root in (path / "git", path):
        if root.is_dir() and any(_EPOCH_RE.match(p.name) for p in root.iterdir()):
            try:
                return [(p.name, p) for _, p in epoch_paths(root)]
            except KtrackError:
                continue
    return None


def _git(path: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, check=True)
    except FileNotFoundError:
        raise KtrackError("the git command is not installed; it is needed to read public-inbox epochs") from None
    except subprocess.CalledProcessError as exc:
        raise KtrackError(f"{path}: git {args[0]} failed: {_problem(exc.stderr)}") from None
    return done.stdout.decode("ascii", "replace")


def _problem(stderr: bytes) -> str:
    """The last line git wrote to stderr, without its "fatal: " or "error: " label, e.g. "bad object HEAD"."""
    line = (stderr.decode("utf-8", "replace").strip().splitlines() or ["failed"])[-1]
    for label in ("fatal: ", "error: "):
        line = line.removeprefix(label)
    return line


def _has(path: Path, revision: str) -> bool:
    """Whether the repository has `revision` as a commit (HEAD of an empty epoch is none)."""
    return _has_object(path, f"{revision}^{{commit}}")


def _has_object(path: Path, name: str) -> bool:
    try:
        done = subprocess.run(["git", "-C", str(path), "rev-parse", "--verify", "--quiet", name], capture_output=True)
    except FileNotFoundError:
        raise KtrackError("the git command is not installed; it is needed to read public-inbox epochs") from None
    return done.returncode == 0


def fetch_epoch(path: str | Path) -> None:
    """Update a cloned epoch from its remote (`git fetch`), e.g. a `git clone --mirror` of lore's N.git."""
    _git(Path(path), "fetch", "--quiet")


@contextmanager
def open_epoch(path: str | Path) -> Iterator[Path]:
    """Yield a repository to read `path` from: the path itself, or a bundle cloned into a temporary directory.

    git cannot read objects out of a bundle in place; `git clone --mirror` of
    a bundle file is local and offline, and the copy is removed afterwards.
    """
    path = Path(path)
    if not is_bundle(path):
        yield path
        return
    _sweep_bundle_clones()
    tmp = Path(tempfile.mkdtemp(prefix=f"{_CLONE_PREFIX}{os.getpid()}-"))
    try:
        repo = tmp / "epoch.git"
        try:
            subprocess.run(["git", "clone", "--quiet", "--mirror", str(path.absolute()), str(repo)],
                           capture_output=True, check=True)
        except FileNotFoundError:
            raise KtrackError("the git command is not installed; it is needed to read public-inbox epochs") from None
        except subprocess.CalledProcessError as exc:
            raise KtrackError(f"{path}: not a readable git bundle: {_problem(exc.stderr)}") from None
        yield repo
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_CLONE_PREFIX = "ktrack-bundle-"


def _sweep_bundle_clones() -> None:
    """Remove the temporary clones of imports that were killed (their pid is in the name and gone)."""
    root = Path(tempfile.gettempdir())
    try:
        entries = [p for p in root.iterdir() if p.name.startswith(_CLONE_PREFIX)]
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(_CLONE_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists() or not Path("/proc/self").exists():
            continue  # still running, or no /proc to tell: leave it
        try:
            if entry.stat().st_uid != os.getuid():
                continue  # another user's
        except OSError:
            continue
        shutil.rmtree(entry, ignore_errors=True)


def epoch_root(path: str | Path) -> str | None:
    """Return the first commit of an epoch (its identity wherever it is cloned), or None if it has none."""
    path = Path(path)
    if not _has(path, "HEAD"):
        return None
    roots = _git(path, "rev-list", "--max-parents=0", "--first-parent", "HEAD").split()
    return roots[-1] if roots else None


def read_epoch(path: str | Path, *, after: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (commit, raw message) for each commit of an epoch after `after` (all if None), oldest first.

    Commits without an `m` blob (public-inbox records deletions as a `d` file)
    are skipped. An `after` this copy of the epoch does not have (another
    clone, a rewritten history) reads everything: storing dedupes by hash.
    Memory stays flat on epochs of a million messages: the list of commits
    goes to a temporary file, not a Python list, and blobs stream one by one.
    """
    path = Path(path)
    if not _has(path, "HEAD"):
        return  # an empty epoch: nothing committed yet
    span = f"{after}..HEAD" if after and _has(path, after) else "HEAD"
    with tempfile.TemporaryFile() as wanted:
        # "<commit>:m <commit>": cat-file resolves the first word and echoes the rest, the commit, back
        try:
            subprocess.run(["git", "-C", str(path), "log", "--reverse", "--first-parent", "--format=tformat:%H:m %H", span],
                           stdout=wanted, stderr=subprocess.PIPE, check=True)
        except FileNotFoundError:
            raise KtrackError("the git command is not installed; it is needed to read public-inbox epochs") from None
        except subprocess.CalledProcessError as exc:
            raise KtrackError(f"{path}: git log failed: {_problem(exc.stderr)}") from None
        wanted.seek(0)
        # stdin is a file, not a pipe: a parsing worker forked while this runs (tracker.ingest) inherits
        # our descriptors, and a pipe's write end held open there would keep git waiting for input forever.
        proc = subprocess.Popen(["git", "-C", str(path), "cat-file", "--batch=%(objecttype) %(objectsize) %(rest)"],
                                stdin=wanted, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    finished = False
    try:
        out = proc.stdout
        while True:
            line = out.readline()
            if not line:
                break
            header = line.decode("ascii", "replace").split()
            if len(header) == 2 and header[1] == "missing":  # "<commit>:m missing": a deletion commit
                continue
            if len(header) != 3:
                raise KtrackError(f"{path}: git cat-file answered {line[:80]!r}")
            kind, size, commit = header[0], int(header[1]), header[2]
            raw = out.read(size)
            out.read(1)  # the newline after each object
            if len(raw) < size:
                break
            if kind == "blob":
                yield commit, raw
        finished = True
    finally:
        if proc.poll() is None and not finished:
            proc.kill()  # the reader stopped early; a forked worker may hold the pipe, so no SIGPIPE would come
        proc.stdout.close()
        code = proc.wait()
    if code != 0:
        raise KtrackError(f"{path}: git cat-file failed (exit status {code}) part-way through the epoch")


def has_message(path: str | Path, commit: str) -> bool:
    """Whether `commit` holds a message blob `m`, as every public-inbox commit but a deletion does."""
    return _has_object(Path(path), f"{commit}:m")
