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

from tracker.errors import KtrackError

VERSION = re.compile(r"^\d+\.\d+(\.\d+){0,2}(-rc\d+)?$")


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


def review_series(db, config: dict, series: dict, *, host) -> tuple[str, list[dict]]:
    """Review one stored stable review series; store and return (release, entries)."""
    from . import plugin_config
    from .cves import load_cve_index
    from .review import review_entries, review_release
    from .store import save_review

    release = series.get("stable_release") or review_release(series.get("subject") or "")
    if not release:
        raise KtrackError(f"series {series.get('series_key')} is not a stable review")
    release = re.sub(r"-rc\d+$", "", release)
    if "patches" not in series and series.get("series_key"):
        from tracker.queries import get_series

        series = get_series(db, series["series_key"]) or series
    entries = review_entries(series_patches(series), release, verdict_for=verdict_caller(host))
    save_review(
        db, release, entries,
        series_key=series.get("series_key"), series_date=series.get("date"),
        cve_index=load_cve_index(plugin_config(config)),
    )
    return release, entries


def _series_from_path(db, path: Path) -> dict:
    """Import the mail at `path` and return the stable review series it holds."""
    from tracker.ingest import import_paths
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_path

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


def fetch_review(app, release: str, *, progress=None) -> dict:
    """Download the review threads of `release` from lore, store them and return the stored series."""
    from tracker.fetching import fetch_once

    from . import plugin_config
    from .lore_reviews import not_found, review_search, stored_review

    source = review_search(app.config, release, plugin_config(app.config).get("lore_inbox") or "all")
    warnings = fetch_once(app, source, progress=progress)
    series = stored_review(app.db, release)
    if series is None and warnings:  # found, but its thread would not download
        raise KtrackError(f"could not download the {release} review from lore: {warnings[0]}")
    if series is None:
        raise KtrackError(not_found(release))
    for warning in warnings:
        click.echo(f"{source.name}: {warning}", err=True)
    return series


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
                  help="If the version is not stored, download its review threads from lore ([plugins.lore] base_url).")
    @click.pass_obj
    def review_command(app, source, as_json, fmt, fetch):
        """Sort a stable update's patches into security fixes, bug fixes and enhancements.

        SOURCE is a stable version already stored (2.6.32.9) or a path to an
        mbox/.eml holding its review series, which is imported on the way.
        With --fetch, a version not stored yet is looked up on lore first.
        Example: ktrack stable review ../shared/data/stable-reviews/2.6.14.7-review.mbox --json
        """
        from tracker.cli import print_json

        from .review import format_markdown, format_text
        from .store import load_review

        path = Path(source).expanduser()
        db = app.db
        if path.exists():
            series = _series_from_path(db, path)
        elif VERSION.match(source):
            from .lore_reviews import stored_review

            release = re.sub(r"-rc\d+$", "", source)
            series = stored_review(db, release)
            if series is None and fetch:
                show = sys.stderr.isatty()
                series = fetch_review(app, release, progress=(lambda m: click.echo(m, err=True)) if show else None)
        else:
            raise KtrackError(f"{source}: no such file, and not a stable version (e.g. 6.1.119)")
        if series is not None:
            release, entries = review_series(db, app.config, series, host=app.host)
            entries = load_review(db, release) or entries  # with CVE links as stored
        else:  # a version with no series stored, not fetched (--fetch would have found one or raised)
            entries = load_review(db, release)
            if not entries:
                raise KtrackError(f"unknown stable version {source}: no review series stored "
                                  "(import its mbox first, or add --fetch to download it from lore)")
        if as_json:
            print_json({"release": release, "patch_count": len(entries), "patches": entries})
        elif fmt == "text":
            click.echo(format_text(release, entries))
        else:
            click.echo(format_markdown(release, entries))
