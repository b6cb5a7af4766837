"""Read a released stable update from its `git log`: kernel.org's ChangeLog-X.Y.Z, or `git log --oneline`.

A review thread shows the -rc; the ChangeLog shows what was released, with
every commit message (trailers, Fixes:, sanitizer reports) but no diff. It
is what a security team has at hand for an update nobody posted a review
of, and it is one small download per release. kernel.org writes it with
`git log vX.Y.(Z-1)..vX.Y.Z`, newest commit first, the "Linux X.Y.Z"
version bump on top; one file may hold several updates, each opened by its
own bump.
"""

from __future__ import annotations

import re
from pathlib import Path

from tracker.api import KtrackError
from tracker.api import read_trailers
from tracker.api import FetchContext, Source

from . import CHANGELOG_URL
from .store import save_changelog

COMMIT = re.compile(r"^commit ([0-9a-f]{40})\b")
ONELINE = re.compile(r"^([0-9a-f]{7,40}) (\S.*)$")
HEADER = re.compile(r"^(\w[\w-]*):\s+(.*)$")
BUMP = re.compile(r"^Linux (\d+\.\d+(?:\.\d+){0,2}(?:-rc\d+)?)\s*$")
FILE_NAME = re.compile(r"ChangeLog-(\d+\.\d+(?:\.\d+){1,2})$")
AUTHOR = re.compile(r"^(.*?)\s*<([^>]*)>\s*$")


def looks_like_log(text: str) -> bool:
    """Tell a git log from a mail file by its first non-blank line."""
    for line in text.splitlines():
        if line.strip():
            return bool(COMMIT.match(line) or ONELINE.match(line))
    return False


def parse_log(text: str) -> list[dict]:
    """Return the commits of a `git log` (medium, fuller or --oneline), in the file's order (newest first)."""
    commits: list[dict] = []
    current: dict | None = None
    in_message = False
    for number, line in enumerate(text.splitlines(), 1):
        m = COMMIT.match(line)
        if m:
            current = {"commit": m.group(1), "headers": {}, "message": []}
            commits.append(current)
            in_message = False
            continue
        if current is None:
            m = ONELINE.match(line)
            if m:
                commits.append({"commit": m.group(1), "headers": {}, "message": [m.group(2)]})
                continue
            if line.strip():
                raise ValueError(f"line {number}: not a git log line: {line[:60]!r}")
            continue
        if not in_message:
            header = HEADER.match(line)
            if header:
                current["headers"][header.group(1).lower()] = header.group(2).strip()
            elif not line.strip():
                in_message = True
            continue
        current["message"].append(line[4:] if line.startswith("    ") else line.strip())
    return [_commit(c) for c in commits]


def _commit(raw: dict) -> dict:
    lines = raw["message"]
    while lines and not lines[-1].strip():
        lines.pop()
    subject = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip("\n")
    author = AUTHOR.match(raw["headers"].get("author", ""))
    return {
        "commit": raw["commit"],
        "subject": subject,
        "body": body,
        "trailers": read_trailers(body),  # as a patch mail's: Reported-by, Fixes... become evidence
        "author_name": author.group(1) if author else raw["headers"].get("author"),
        "author_email": author.group(2) if author else None,
        "date": raw["headers"].get("date") or raw["headers"].get("authordate"),
    }


def split_releases(commits: list[dict], release: str | None = None) -> list[dict]:
    """Group newest-first commits into updates, each opened by its "Linux X.Y.Z" bump.

    Returns {"release", "date", "patches"} per update, patches oldest first
    and numbered from 1 like a review series. Commits above the first bump
    (or a log with none) belong to `release`, which the caller takes from
    the file name or --release.
    """
    groups: list[dict] = []
    for commit in commits:
        bump = BUMP.match(commit["subject"])
        if bump:
            groups.append({"release": re.sub(r"-rc\d+$", "", bump.group(1)), "date": iso_date(commit["date"]), "patches": []})
        elif groups:
            groups[-1]["patches"].append(commit)
        else:
            groups.append({"release": release, "date": iso_date(commit["date"]), "patches": [commit]})
    updates = []
    for group in groups:
        if not group["patches"]:
            continue
        if not group["release"]:
            raise ValueError("the log names no release (no 'Linux X.Y.Z' commit): pass --release VERSION")
        group["patches"] = [{**p, "patch_number": n} for n, p in enumerate(reversed(group["patches"]), 1)]
        updates.append(group)
    return updates


def iso_date(git_date: str | None) -> str | None:
    """"Fri Jan 27 00:00:06 2006 -0800" (git's default) -> ISO 8601 in UTC; None if it reads otherwise."""
    from datetime import datetime, timezone

    for fmt in ("%a %b %d %H:%M:%S %Y %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z"):
        try:
            return datetime.strptime((git_date or "").strip(), fmt).astimezone(timezone.utc).isoformat(timespec="seconds")
        except ValueError:
            continue
    return None


def read_changelog_text(text: str, *, where: str, release: str | None = None) -> list[dict]:
    """Read a ChangeLog or git log into its updates; a one-line KtrackError naming `where` if it is not one."""
    try:
        updates = split_releases(parse_log(text), release)
    except ValueError as exc:
        raise KtrackError(f"{where}: {exc}") from None
    if not updates:
        raise KtrackError(f"{where}: no commits found (expected kernel.org's ChangeLog-X.Y.Z or `git log` output)")
    return updates


def read_changelog(path: Path, release: str | None = None) -> list[dict]:
    """Read a ChangeLog file; its name (ChangeLog-6.1.120) names the release when no bump commit does."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise KtrackError(f"cannot read {path}: {exc.strerror or exc}") from None
    named = FILE_NAME.search(path.name)
    return read_changelog_text(text, where=str(path), release=release or (named.group(1) if named else None))


def changelog_url(template: str, version: str) -> str:
    """Where a release's ChangeLog is: the template's {dir} is the cdn folder, "v2.6" for 2.6.x.y, "v6.x" from 3.0 on."""
    major = version.split(".")[0]
    folder = "v2.6" if version.startswith("2.6.") else f"v{major}.x"
    return template.format(dir=folder, version=version)


def changelog_source(table: dict, release: str) -> "ChangeLogSource | None":
    """The download of `release`'s ChangeLog, or None when `changelog_url` is turned off in the config."""
    template = table.get("changelog_url", CHANGELOG_URL)
    return ChangeLogSource(release, changelog_url(template, release)) if template else None


class ChangeLogSource(Source):
    """Download one release's ChangeLog from kernel.org and store its commits for the next analysis to review."""

    kind = "kernel.org"
    interval_seconds = 6 * 3600

    def __init__(self, release: str, url: str):
        self.release = release
        self.url = url
        self.name = f"kernel.org:changelog:{release}"

    def fetch(self, ctx: FetchContext) -> None:
        response = ctx.http.get(self.url, expect="a ChangeLog", conditional=False, accept_status=(404,))
        if response.status == 404:
            ctx.warn(f"{self.url}: HTTP 404, no ChangeLog for {self.release} there")
            return
        updates = read_changelog_text(response.text, where=self.url, release=self.release)
        mine = [u for u in updates if u["release"] == self.release]
        if not mine:
            raise KtrackError(f"{self.url}: holds {', '.join(u['release'] for u in updates)}, not {self.release}")
        save_changelog(ctx.db, self.release, self.url, mine[0]["date"], mine[0]["patches"])
