"""Refresh the per-release syscall tables from mainline, so "merged in" never stops at the shipped data.

The shipped history (history.py, data/) ends at 6.17. `ktrack syscalls
update-tables` reads each newer release's tables, from git.kernel.org's plain
file view of Linus's tree or from a local kernel git checkout (`--from-git`),
and stores them in the `syscall_tables` table; history.py reads them with the
shipped ones. Which releases: those given with `--version`, else the mainline
releases the releases plugin knows (or, with `--from-git`, the checkout's
release tags) newer than the newest table on record.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tracker.api import KtrackError, Source, write_transaction

from . import history

GIT_WEB = "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/plain"
# ABI -> (file in the tree, the .tbl ABI columns that ABI builds). arm64 has built its table
# from scripts/syscall.tbl since 6.11 (arch/arm64/kernel/Makefile.syscalls: common, 64,
# renameat, rlimit, memfd_secret); older arm64 releases are in the shipped data.
SOURCES = {
    "x86_64": ("arch/x86/entry/syscalls/syscall_64.tbl", {"common", "64"}),
    "arm64": ("scripts/syscall.tbl", {"common", "64", "renameat", "rlimit", "memfd_secret"}),
}
_ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+([A-Za-z_]\w*)(?:\s+(\S+))?")
_RELEASE_TAG = re.compile(r"^v?(\d+)\.(\d+)$")


def parse_table(text: str, abis: set[str]) -> list[list]:
    """Return [[nr, name], ...] of a syscall .tbl for the ABI columns `abis`; rows without an entry point are left out.

    The name is the entry point's ("4 common stat sys_newstat" -> "newstat"), as the
    recorded tables name them (they come from the symbols), so that a release's
    table continues the shipped history instead of renaming its syscalls.
    """
    rows = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = _ROW.match(line)
        if m and m.group(2) in abis and m.group(4) and m.group(4) != "sys_ni_syscall":
            entry = m.group(4).removeprefix("__x64_").removeprefix("__arm64_")
            rows.append([int(m.group(1)), entry.removeprefix("sys_") if entry.startswith("sys_") else m.group(3)])
    return rows


def newer_than_recorded(versions) -> list[str]:
    """The mainline release versions (X.Y) of `versions` newer than every recorded table, oldest first."""
    newest = history.version_key(history.newest_recorded_version())
    out = {v.removeprefix("v") for v in versions if _RELEASE_TAG.match(v or "")}
    return sorted((v for v in out if history.version_key(v) > newest), key=history.version_key)


def from_git_web(client, version: str, base: str = GIT_WEB) -> dict[str, list[list]]:
    """Fetch one release's tables from git.kernel.org (or a mirror serving the same paths)."""
    out = {}
    for abi, (path, columns) in SOURCES.items():
        response = client.get(f"{base.rstrip('/')}/{path}", params={"h": f"v{version}"}, conditional=False)
        text = response.content.decode("utf-8", "replace")
        if "<html" in text[:500].lower():
            raise KtrackError(f"{response.url}: an HTML page, not a syscall table")
        out[abi] = parse_table(text, columns)
    return out


def git_release_tags(repo: Path) -> list[str]:
    """The release tags (vX.Y) of a local kernel checkout."""
    return _git(repo, "tag", "--list", "v*").split()


def from_git(repo: Path, version: str) -> dict[str, list[list]]:
    """Read one release's tables from a local kernel git checkout (`git show vX.Y:path`)."""
    return {abi: parse_table(_git(repo, "show", f"v{version}:{path}"), columns) for abi, (path, columns) in SOURCES.items()}


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise KtrackError("git is not installed") from exc
    if done.returncode != 0:
        raise KtrackError(f"git {' '.join(args)} in {repo}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    return done.stdout


def store(db, version: str, tables: dict[str, list[list]]) -> int:
    """Replace one release's stored tables (one transaction); return the rows written."""
    rows = [{"version": version, "abi": abi, "nr": nr, "name": name} for abi, table in tables.items() for nr, name in table]
    if not rows or any(not table for table in tables.values()):
        raise KtrackError(f"v{version}: no syscall table rows found")
    with write_transaction(db):
        db.execute("delete from syscall_tables where version = ?", [version])
        db["syscall_tables"].insert_all(rows, pk=("version", "abi", "nr"))
    return len(rows)


class SyscallTablesSource(Source):
    """Reads the tables of every mainline release newer than the recorded ones, once the releases source knows it.

    Registered when `[plugins.syscalls] update_tables = true`: `ktrack run` then
    keeps "merged in" current without the cron line for `syscalls update-tables`.
    """

    kind = "syscall-tables"

    def __init__(self, url: str = GIT_WEB, interval_seconds: int = 86400, *, versions: list[str] | None = None):
        self.name = "syscall-tables"
        self.url = url
        self.interval_seconds = interval_seconds
        self.versions = versions  # given: read these (`ktrack syscalls update-tables --version`)
        self.done: list[str] = []  # one line per release read, e.g. "v6.19: 740 syscalls (x86_64 370, arm64 370)"

    def fetch(self, ctx) -> None:
        history.use_stored(ctx.db)
        wanted = self.versions if self.versions is not None else newer_than_recorded(known_releases(ctx.db))
        for version in wanted:
            found = from_git_web(ctx.http, version, self.url)
            rows = store(ctx.db, version, found)
            line = f"v{version}: {rows} syscalls ({', '.join(f'{abi} {len(t)}' for abi, t in found.items())})"
            self.done.append(line)
            ctx.progress(f"{self.name}: {line}")
        history.use_stored(ctx.db)


def known_releases(db) -> list[str]:
    """The mainline release versions the releases source has stored."""
    if not db["releases"].exists():
        return []
    return [r[0] for r in db.execute("select version from releases where kind = 'mainline'")]
