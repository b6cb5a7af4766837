"""Local mail: `ktrack import PATH...` and `ktrack series` (patch series as stored)."""

from __future__ import annotations

import sys

import click

from tracker import hookimpl


def series_json(app, series: dict) -> dict:
    """Return the `series --json` shape of one series dict from queries.list_series."""
    return {
        "series_key": series["series_key"],
        "subject": series["subject"],
        "version": series["version"],
        "author": {"name": series.get("author_name"), "email": series.get("author_email")},
        "date": series["date"],
        "list": series.get("list_id"),
        "total": series["total"],
        "received": series["received"],
        "complete": bool(series["complete"]),
        "cover_message_id": series["cover_message_id"],
        "prefixes": series.get("prefixes") or [],
        "is_stable_review": bool(series["is_stable_review"]),
        "stable_release": series["stable_release"],
        "lineage": series["lineage"],
        "category": app.host.call_first("series_category", series=series, config=app.config),
        "patches": [{"number": p["number"], "subject": p["subject"], "message_id": p["message_id"]} for p in series["patches"]],
        "reviews": series.get("reviews") or {},  # {"Reviewed-by": 2, ...}: distinct people per review trailer
    }


@hookimpl
def register_commands(cli):
    from tracker.cli import print_json

    @cli.command(name="import")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
    @click.option("--list", "list_id", help="List the mail came from (default: each message's List-Id).")
    @click.option("--json", "as_json", is_flag=True, help="Output the summary as JSON.")
    @click.pass_obj
    def import_command(app, paths, list_id, as_json):
        """Import mail files: mbox, mbox.gz, Maildir, .eml/.patch, git format-patch directories.

        Re-importing stores nothing twice; an interrupted import resumes.
        Example: ktrack import linux-api-2021.mbox.gz --list linux-api
        """
        from tracker.errors import KtrackError
        from tracker.ingest import import_paths

        db = app.db
        if sys.stderr.isatty() and not as_json:
            with click.progressbar(length=0, label="importing", file=sys.stderr, show_pos=True) as bar:
                stats = import_paths(db, paths, list_id=list_id, progress=bar.update)
        else:
            stats = import_paths(db, paths, list_id=list_id)
        if as_json:
            print_json(stats.as_dict())
        else:
            for line in stats.warnings:
                click.echo(f"warning: {line}", err=True)
            click.echo(
                f"{stats.read} messages read, {stats.new} new, {stats.series} series, {len(stats.warnings)} warnings"
            )
        if stats.errors:
            if len(stats.errors) > 1:
                for line in stats.errors[:-1]:
                    click.echo(f"Error: {line}", err=True)
            raise KtrackError(stats.errors[-1])

    @cli.command(name="series")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.option("--search", help="Full-text search over the series' messages.")
    @click.option("--since", help="Only series dated on or after this ISO date (e.g. 2021-05-01).")
    @click.option("--until", help="Only series dated before this ISO date.")
    @click.option("--stable-release", help="Only the stable review of this release (e.g. 4.19.107).")
    @click.option("--limit", type=int, help="At most this many series, newest first.")
    @click.pass_obj
    def series_command(app, as_json, search, since, until, stable_release, limit):
        """List patch series, newest first, with how many of their patches arrived.

        Example: ktrack series --search memfd_secret --json
        """
        from tracker.queries import list_series

        rows = list_series(app.db, since=since, until=until, search=search, stable_release=stable_release, limit=limit)
        if as_json:
            from tracker.queries import review_counts

            reviews = review_counts(app.db, [s["series_key"] for s in rows])
            print_json([series_json(app, {**s, "reviews": reviews.get(s["series_key"], {})}) for s in rows])
            return
        if not rows:
            click.echo("No series.")
        for s in rows:
            tag = f" [{s['stable_release']} review]" if s["is_stable_review"] else ""
            click.echo(
                f"{(s['date'] or '')[:10]}  v{s['version']} {s['received']}/{s['total']}  {s['subject']}{tag}  ({s['author_email']})"
            )
