"""kernel.org releases: `releases.json` and the `kdist.xml` release feed -> the releases table.

releases.json lists what kernel.org offers right now (mainline, stable,
longterm, linux-next) with dates and EOL flags; the RSS feed carries the same
with publication times. Both upsert on the version string, so running either
twice, or both, never duplicates a release. Columns a source does not know
(the announcement, shortlog) are left alone.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import click

from tracker import hookimpl
from tracker.api import plugin_config
from tracker.api import utcnow
from tracker.api import KtrackError
from tracker.api import Source

RELEASES_URL = "https://www.kernel.org/releases.json"
FEED_URL = "https://www.kernel.org/feeds/kdist.xml"


@hookimpl
def config_defaults():
    return {"releases_url": RELEASES_URL, "feed_url": FEED_URL, "interval_seconds": 3600}


@hookimpl
def register_sources(register, config):
    table = plugin_config(config, "kernelorg")
    interval = int(table["interval_seconds"])
    if table.get("releases_url"):
        register(ReleasesJsonSource(table["releases_url"], interval_seconds=interval))
    if table.get("feed_url"):
        register(ReleaseFeedSource(table["feed_url"], interval_seconds=interval))


def upsert_release(db, version: str, *, moniker: str | None = None, released_at: str | None = None,
                   iseol: bool | None = None, source: dict | None = None, overwrite_source: bool = True) -> dict:
    """Insert or update one releases row keyed on `version`; raise ValueError for a bad version.

    Only the given fields change, so an announcement attached earlier survives.
    """
    from tracker.api import parse_version, version_sort_key

    parsed = parse_version(version)
    record = {"version": parsed.text, "kind": parsed.kind, "sort_key": version_sort_key(parsed.text), "updated_at": utcnow()}
    if moniker is not None:
        record["moniker"] = moniker
    if released_at is not None:
        record["released_at"] = released_at
    if iseol is not None:
        record["iseol"] = int(bool(iseol))
    if source is not None:
        existing = db.execute("select source_json from releases where version = ?", [parsed.text]).fetchone()
        if overwrite_source or not existing or not existing[0]:
            record["source_json"] = json.dumps(source, sort_keys=True)
    db["releases"].upsert(record, pk="version")
    return record


class ReleasesJsonSource(Source):
    """kernel.org's releases.json (fields: version, moniker, iseol, released.timestamp, ...)."""

    kind = "kernel.org"

    def __init__(self, url: str, *, interval_seconds: int = 3600, name: str = "kernel.org:releases"):
        self.name = name
        self.url = url
        self.interval_seconds = interval_seconds

    def fetch(self, ctx) -> None:
        response = ctx.http.get(self.url, expect="json")
        if response.not_modified:
            return
        try:
            data = json.loads(response.content)
            releases = data["releases"]
            if not isinstance(releases, list):
                raise TypeError("releases is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise KtrackError(f"{self.url}: not a kernel.org releases.json ({type(exc).__name__}: {exc})") from None
        for item in releases:
            if not isinstance(item, dict):
                ctx.warn(f"{self.url}: skipped a release that is not an object")
                continue
            version = item.get("version")
            released = item.get("released") if isinstance(item.get("released"), dict) else {}
            released_at = None
            if isinstance(released.get("timestamp"), (int, float)):
                released_at = datetime.fromtimestamp(released["timestamp"], timezone.utc).isoformat(timespec="seconds")
            elif released.get("isodate"):
                released_at = released["isodate"]
            try:
                upsert_release(ctx.db, version, moniker=item.get("moniker"), released_at=released_at,
                               iseol=item.get("iseol"), source=item)
            except ValueError as exc:
                ctx.warn(f"{self.url}: skipped a release: {exc}")


class ReleaseFeedSource(Source):
    """kernel.org's release RSS feed: items titled "5.6.11: stable", guid kernel.org,<moniker>,<version>,<date>."""

    kind = "kernel.org"

    def __init__(self, url: str, *, interval_seconds: int = 3600, name: str = "kernel.org:feed"):
        self.name = name
        self.url = url
        self.interval_seconds = interval_seconds

    def fetch(self, ctx) -> None:
        from tracker.api import parse_feed

        response = ctx.http.get(self.url, expect="feed")
        if response.not_modified:
            return
        feed = parse_feed(self.url, response.content)
        for entry in feed.entries:
            title = entry.get("title", "")
            version, _, moniker = (part.strip() for part in title.partition(":"))
            released_at = None
            if entry.get("published"):
                try:
                    released_at = parsedate_to_datetime(entry["published"]).astimezone(timezone.utc).isoformat(timespec="seconds")
                except (TypeError, ValueError):
                    released_at = None
            iseol = "(EOL)" in entry.get("summary", "")
            item = {"title": title, "guid": entry.get("id"), "published": entry.get("published"), "iseol": iseol}
            try:
                # releases.json's record is richer: the feed fills source_json only when empty.
                upsert_release(ctx.db, version, moniker=moniker or None, released_at=released_at, iseol=iseol,
                               source=item, overwrite_source=False)
            except ValueError as exc:
                ctx.warn(f"{self.url}: skipped item {title!r}: {exc}")


def list_releases(db) -> list[dict]:
    """Return releases newest first (version order): the `ktrack releases --json` shape."""
    rows = db.query(
        "select version, kind, moniker, released_at, iseol, change_count, announcement_message_id "
        "from releases order by sort_key desc"
    )
    return [{**row, "iseol": bool(row["iseol"]) if row["iseol"] is not None else None} for row in rows]


@hookimpl
def register_commands(cli):
    from tracker.api import print_json

    @cli.command(name="releases")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def releases_command(app, as_json):
        """List known kernel releases, newest first in version order.

        Example: ktrack releases --json
        """
        rows = list_releases(app.db)
        if as_json:
            print_json(rows)
            return
        if not rows:
            click.echo("No releases yet: run `ktrack fetch kernel.org`.")
        for row in rows:
            eol = " EOL" if row["iseol"] else ""
            changes = f", {row['change_count']} changes" if row["change_count"] else ""
            date = (row["released_at"] or "")[:10]
            click.echo(f"{row['version']:<16} {row['kind']:<10} {row['moniker'] or '':<9} {date}{eol}{changes}")
