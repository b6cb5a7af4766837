"""`ktrack stable review SOURCE`: review a stored stable update or an mbox holding its review series.

The classifier, features and CVE modules compile many patterns; they are
imported inside the functions that use them so that building the CLI (every
`ktrack` start, e.g. `ktrack import` from cron) does not pay for them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from tracker.api import KtrackError

VERSION = re.compile(r"^\d+\.\d+(\.\d+){0,2}(-rc\d+)?$")
RANGE = re.compile(r"^(\d+\.\d+(?:\.\d+){0,2})\.\.(\d+\.\d+(?:\.\d+){1,2})$")


def updates_between(first: str, last: str) -> list[str]:
    """The stable updates after `first` up to `last`, as git reads A..B: "6.1.112..6.1.115" -> 6.1.113, .114, .115.

    `first` may be the mainline release ("6.1..6.1.3"). Both must be of one branch.
    """
    from tracker.api import parse_version

    try:
        a, b = parse_version(first), parse_version(last)
    except ValueError as exc:
        raise KtrackError(f"{first}..{last}: {exc}") from None
    if a.branch != b.branch or a.rc or b.rc or not b.stable or a.stable >= b.stable:
        raise KtrackError(f"{first}..{last}: not a range of one stable branch (e.g. 6.1.112..6.1.119)")
    return [f"{b.branch}.{n}" for n in range(a.stable + 1, b.stable + 1)]


def series_patches(series: dict) -> list[dict]:
    """Return the patches of a review series; a cover-only review yields its shortlog's subjects."""
    from .review import shortlog_patches

    patches = [p for p in series.get("patches") or [] if (p.get("patch_number") or 0) > 0 or p.get("is_patch")]
    if patches:
        return patches
    cover = series.get("cover") or {}
    return shortlog_patches(cover.get("body") or "")


def verdict_caller(host):
    """Return verdict_for(patch, release) that asks every stable_patch_verdict plugin, first answer wins."""
    return lambda patch, release: host.call_first("stable_patch_verdict", patch=patch, release=release)


def review_series(db, config: dict, series: dict, *, host, keep_changelog: bool = False) -> tuple[str, list[dict]]:
    """Review one stored stable review series; store and return (release, entries).

    With `keep_changelog` (the analysis), a release already reviewed from its
    ChangeLog keeps that review: what was released outranks the -rc thread.
    """
    from . import plugin_config
    from .cves import load_cve_index
    from .review import review_entries, review_release
    from .store import load_review, reviewed_from_changelog, save_review

    release = series.get("stable_release") or review_release(series.get("subject") or "")
    if not release:
        raise KtrackError(f"series {series.get('series_key')} is not a stable review")
    release = re.sub(r"-rc\d+$", "", release)
    if keep_changelog and reviewed_from_changelog(db, release):
        return release, load_review(db, release)
    if "patches" not in series and series.get("series_key"):
        from tracker.api import get_series

        series = get_series(db, series["series_key"]) or series
    entries = review_entries(series_patches(series), release, verdict_for=verdict_caller(host))
    save_review(
        db, release, entries,
        series_key=series.get("series_key"), series_date=series.get("date"),
        cve_index=load_cve_index(plugin_config(config)),
    )
    return release, entries


def review_changelog(db, config: dict, changelog: dict, *, host) -> tuple[str, list[dict]]:
    """Review one stored ChangeLog ({"release", "date", "patches"}): the released update, every commit message read."""
    from . import plugin_config
    from .cves import load_cve_index
    from .review import review_entries
    from .store import CHANGELOG_KEY, mark_changelog_reviewed, save_review

    release = changelog["release"]
    entries = review_entries(changelog["patches"], release, verdict_for=verdict_caller(host))
    save_review(db, release, entries, series_key=CHANGELOG_KEY + release, series_date=changelog.get("date"),
                cve_index=load_cve_index(plugin_config(config)))
    mark_changelog_reviewed(db, release)
    return release, entries


def review_changelogs(db, config: dict, *, host, every: bool = False) -> list[str]:
    """Review the stored ChangeLogs not reviewed yet (all with `every`); return their releases."""
    from .store import changelogs_to_review

    return [review_changelog(db, config, changelog, host=host)[0] for changelog in changelogs_to_review(db, every=every)]


def _series_from_path(db, path: Path) -> dict:
    """Import the mail at `path` and return the stable review series it holds."""
    from tracker.api import import_paths
    from tracker.api import parse_message
    from tracker.api import iter_path

    from .review import review_release

    releases = []
    try:
        for raw, _ in iter_path(path):
            release = review_release(parse_message(raw).subject)
            if release and release not in releases:
                releases.append(release)
    except KtrackError:
        raise
    except (OSError, ValueError) as exc:
        raise KtrackError(f"cannot read {path}: {exc}") from None
    if not releases:
        raise KtrackError(f"{path}: no stable review series found (expected a subject like '[PATCH 6.1 00/93] 6.1.9-stable review')")
    import_paths(db, [path])
    from .lore_reviews import stored_review

    series = stored_review(db, releases[0])
    if series is None:
        raise KtrackError(f"{path}: the {releases[0]} review was not stored by the import")
    return series


def fetch_review(app, release: str, *, progress=None) -> dict | None:
    """Download `release`'s review: its threads from lore, else its ChangeLog from kernel.org.

    Returns the stored series, or None when the ChangeLog was stored and reviewed instead.
    """
    from tracker.api import fetch_once

    from . import plugin_config
    from .changelog import changelog_source
    from .lore_reviews import not_found, review_search, stored_review

    table = plugin_config(app.config)
    source = review_search(app.config, release, table.get("lore_inbox") or "all")
    try:
        warnings = fetch_once(app, source, progress=progress)
    except KtrackError as exc:  # lore down: the ChangeLog may still be there
        warnings = [exc.message]
    series = stored_review(app.db, release)
    if series is not None:
        for warning in warnings:
            click.echo(f"{source.name}: {warning}", err=True)
        return series
    problems = [f"could not download the {release} review from lore: {warnings[0]}" if warnings else not_found(release)]
    changelog = changelog_source(table, release)
    if changelog is not None:
        try:
            problems += fetch_once(app, changelog, progress=progress)
        except KtrackError as exc:
            problems.append(exc.message)
        if release in review_changelogs(app.db, app.config, host=app.host):
            return None
    raise KtrackError("; ".join(problems))


def _is_git_log(path: Path) -> bool:
    if not path.is_file():
        return False
    from .changelog import looks_like_log

    with path.open("rb") as handle:
        return looks_like_log(handle.read(4096).decode("utf-8", "replace"))


def _reviews_of_path(app, path: Path, release: str | None) -> list[tuple[str, list[dict]]]:
    """Review what the file at `path` holds: a ChangeLog (one or more updates) or a review thread's mail."""
    from .store import load_review

    if _is_git_log(path):
        from .changelog import read_changelog

        return _reviews_of_log(app, read_changelog(path, release), str(path.resolve()))
    series = _series_from_path(app.db, path)
    reviewed, entries = review_series(app.db, app.config, series, host=app.host)
    return [(reviewed, load_review(app.db, reviewed) or entries)]  # with CVE links as stored


def _reviews_of_log(app, updates: list[dict], origin: str) -> list[tuple[str, list[dict]]]:
    """Store and review each update a ChangeLog or git log holds."""
    from .store import load_review, save_changelog

    reviews = []
    for update in updates:
        save_changelog(app.db, update["release"], origin, update["date"], update["patches"])
        reviewed, _ = review_changelog(app.db, app.config, update, host=app.host)
        reviews.append((reviewed, load_review(app.db, reviewed)))
    return reviews


def _reviews_of_stdin(app, release: str | None) -> list[tuple[str, list[dict]]]:
    """`git log v6.1.118..v6.1.119 | ktrack stable review -`: a log on standard input."""
    from .changelog import looks_like_log, read_changelog_text

    text = sys.stdin.read()
    if not looks_like_log(text):
        raise KtrackError("standard input: not a git log (expected 'commit <sha>' or '<sha> <subject>' lines)")
    return _reviews_of_log(app, read_changelog_text(text, where="standard input", release=release), "standard input")


def _review_of_version(app, release: str, *, fetch: bool) -> tuple[str, list[dict]]:
    """The review of a stored version (a ChangeLog review as stored; a thread reviewed again), or --fetch it."""
    from .lore_reviews import stored_review
    from .store import load_review, reviewed_from_changelog

    db = app.db
    series = None
    if not reviewed_from_changelog(db, release):
        series = stored_review(db, release)
        if series is None and fetch:
            show = sys.stderr.isatty()
            series = fetch_review(app, release, progress=(lambda m: click.echo(m, err=True)) if show else None)
    if series is not None:
        release, entries = review_series(db, app.config, series, host=app.host)
        return release, load_review(db, release) or entries
    entries = load_review(db, release)
    if not entries:
        raise KtrackError(f"unknown stable version {release}: no review stored "
                          "(import its review mbox or ChangeLog first, or add --fetch to download it)")
    return release, entries


def _reviews_of_range(app, first: str, last: str, *, fetch: bool) -> list[tuple[str, list[dict]]]:
    """Every update of a range, oldest first; all or nothing, so an upgrade is never judged on part of it."""
    from .lore_reviews import stored_review
    from .store import load_review

    versions = updates_between(first, last)
    if not fetch:
        missing = [v for v in versions if not load_review(app.db, v) and stored_review(app.db, v) is None]
        if missing:
            raise KtrackError(f"no review stored for {', '.join(missing)} (add --fetch to download them)")
    return [_review_of_version(app, version, fetch=fetch) for version in versions]


def add_commands(cli: click.Group) -> None:
    group = cli.commands.get("stable")
    if group is None:

        @cli.group(name="stable")
        def group():
            """Stable updates: classify a stable review; list reviews, CVE fixes, errata and the scorecard.

            Example: ktrack stable review 2.6.32.9 --format markdown
            """

    from .reports import add_report_commands

    add_report_commands(group)

    @group.command(name="review")
    @click.argument("source")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.option("--format", "fmt", type=click.Choice(["markdown", "text"]), default="markdown", show_default=True)
    @click.option("--fetch", "fetch", is_flag=True,
                  help="If the version is not stored, download its review threads from lore ([plugins.lore] base_url), "
                       "or else its ChangeLog from kernel.org.")
    @click.option("--release", "release", metavar="VERSION",
                  help="The release a git log holds, when it has no 'Linux X.Y.Z' commit and its name is not ChangeLog-X.Y.Z.")
    @click.pass_obj
    def review_command(app, source, as_json, fmt, fetch, release):
        """Sort a stable update's patches into security fixes, bug fixes and enhancements.

        SOURCE is a stable version already stored (2.6.32.9), a path to an
        mbox/.eml holding its review series (imported on the way), or a path
        to the released update's ChangeLog (kernel.org's ChangeLog-X.Y.Z, or
        any `git log` / `git log --oneline` of the stable tree), whose
        commit messages are read ("-": a log on standard input, e.g. from
        `git log v6.1.118..v6.1.119`). SOURCE may also be a range, 6.1.112..6.1.119:
        every update after the first up to the last, as for an upgrade. With
        --fetch, a version not stored yet is looked up on lore first, then
        its ChangeLog on kernel.org. A range, or a log holding several
        updates, prints each (with --json: a list, always for a range).
        Example: ktrack stable review ../shared/data/stable-reviews/2.6.14.7-review.mbox --json
        """
        from tracker.api import print_json

        from .review import format_markdown, format_text

        path = Path(source).expanduser()
        span = RANGE.match(source)
        if source == "-":
            reviews = _reviews_of_stdin(app, release)
        elif path.exists():
            reviews = _reviews_of_path(app, path, release)
        elif VERSION.match(source):
            reviews = [_review_of_version(app, re.sub(r"-rc\d+$", "", source), fetch=fetch)]
        elif span:
            reviews = _reviews_of_range(app, *span.groups(), fetch=fetch)
        else:
            raise KtrackError(f"{source}: no such file, and not a stable version (e.g. 6.1.119) or range (6.1.112..6.1.119)")
        if as_json:
            shaped = [{"release": r, "patch_count": len(entries), "patches": entries} for r, entries in reviews]
            print_json(shaped[0] if len(shaped) == 1 and not span else shaped)  # a range: always a list
            return
        show = format_text if fmt == "text" else format_markdown
        click.echo("\n".join(show(r, entries) for r, entries in reviews))
