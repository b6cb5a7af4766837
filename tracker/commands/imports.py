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
    @click.option("--no-analyze", is_flag=True, help="Only store the mail; leave the analysis to `ktrack analyze`.")
    @click.option("--json", "as_json", is_flag=True, help="Output the summary as JSON.")
    @click.pass_obj
    def import_command(app, paths, list_id, no_analyze, as_json):
        """Import mail: mbox, mbox.gz, Maildir, .eml/.patch, git format-patch directories, public-inbox git.

        A public-inbox v2 archive is read offline: an epoch (`git clone --mirror
        https://lore.kernel.org/LIST/0`), a `.bundle` of one, or a whole inbox
        directory (`git/<N>.git`); a second import reads only the new commits.
        Re-importing stores nothing twice; an interrupted import resumes. New
        series are then analysed (syscalls, sysctls, stable reviews...) unless
        --no-analyze. Example: ktrack import linux-api-2021.mbox.gz --list linux-api
        """
        import os

        from tracker.errors import KtrackError
        from tracker.ingest import import_paths, plural

        missing = [p for p in paths if not os.path.lexists(p)]
        if missing:  # before importing anything: no summary line ahead of the error
            for path in missing[:-1]:
                click.echo(f"Error: {path}: no such file or directory", err=True)
            raise KtrackError(f"{missing[-1]}: no such file or directory")
        db = app.db
        if sys.stderr.isatty() and not as_json:
            with click.progressbar(length=0, label="importing", file=sys.stderr, show_pos=True) as bar:
                stats = import_paths(db, paths, list_id=list_id, progress=bar.update)
        else:
            stats = import_paths(db, paths, list_id=list_id)
        analysed, problems = _analyse_after_import(app, stats, skip=no_analyze)
        result = {**stats.as_dict(), "analysed": analysed}
        if as_json:
            print_json(result)
        else:
            for line in stats.warnings:
                click.echo(f"warning: {line}", err=True)
        for line in problems:
            click.echo(line, err=True)
        for line in stats.errors:
            click.echo(f"Error: {line}", err=True)
        nothing_readable = stats.read == stats.unreadable and not stats.skipped
        if not as_json and not (stats.errors and nothing_readable):
            summary = (
                f"{plural(stats.read, 'message')} read, {stats.new} new, {plural(stats.series, 'series', 'series')}, "
                f"{plural(len(stats.warnings), 'warning')}"
            )
            if analysed:
                summary += f", {plural(analysed, 'series', 'series')} analysed"
            elif no_analyze:
                pending = _unanalysed(app)
                if pending:
                    summary += f"; {plural(pending, 'series', 'series')} not analysed yet: run `ktrack analyze`"
            click.echo(summary)
        if stats.errors or problems:
            raise SystemExit(1)

    def _unanalysed(app) -> int:
        from tracker.analyze import count_unanalysed

        return count_unanalysed(app.db)

    def _analyse_after_import(app, stats, *, skip: bool) -> tuple[int, list[str]]:
        """Analyse the series the import changed (and any left from before); return (how many, problem lines)."""
        if skip or not stats.new:
            return 0, []
        from tracker.analyze import count_unanalysed, run_analysis

        pending = count_unanalysed(app.db)
        return pending, run_analysis(app)

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
            from tracker.job import empty_hint

            if hint := empty_hint(app, "series", analysis=False):
                click.echo(hint)
        for s in rows:
            tag = f" [{s['stable_release']} review]" if s["is_stable_review"] else ""
            click.echo(
                f"{(s['date'] or '')[:10]}  v{s['version']} {s['received']}/{s['total']}  {s['subject']}{tag}  ({s['author_email']})"
            )
