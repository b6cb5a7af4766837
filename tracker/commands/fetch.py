"""The fetch plugin: `ktrack fetch`, `ktrack sources`, and the HTTP settings table.

`[plugins.fetch]` holds the HttpClient knobs (timeout, retries, back-off,
Retry-After cap, per-host delay) so a slow mirror or a test can change them.
"""

import sys

import click

from tracker import hookimpl


@hookimpl
def config_defaults():
    return {"timeout": 30.0, "retries": 3, "backoff": 2.0, "max_retry_after": 120.0, "host_delay": 1.0}


@hookimpl
def register_commands(cli):
    from tracker.cli import print_json

    @cli.command(name="fetch")
    @click.argument("names", nargs=-1)
    @click.option("--force", is_flag=True, help="Fetch even sources that are not due yet.")
    @click.option("-v", "--verbose", is_flag=True, help="Say what each source does.")
    @click.pass_obj
    def fetch_command(app, names, force, verbose):
        """Fetch due sources (or the NAMEs given, due or not) into the database.

        A NAME is a source name or its prefix: `lore` fetches every lore:* source.
        Prints one line per failed source on stderr; exits non-zero only when
        no source could be read.

        Example: ktrack fetch kernel.org:releases lore --force
        """
        from tracker.fetching import run_sources
        from tracker.job import lock_path_for, run_lock

        show = verbose or sys.stderr.isatty()
        progress = (lambda message: click.echo(message, err=True)) if show else None
        # The lock `ktrack run` holds: two fetches at once would only queue on the database.
        with run_lock(lock_path_for(app.resolved_db_path().absolute())):
            results = run_sources(app, names or None, force=force, progress=progress)
        ran = [r for r in results if r.status != "skipped"]
        for r in ran:
            if r.error:
                click.echo(r.error, err=True)
            else:
                for warning in r.warnings:
                    click.echo(f"{r.name}: {warning}", err=True)
        if verbose:
            for r in results:
                if r.status == "skipped":
                    click.echo(f"{r.name}: not due", err=True)
                elif r.ok:
                    click.echo(f"{r.name}: ok", err=True)
        if ran and all(r.status == "error" for r in ran):
            raise SystemExit(1)

    @cli.command(name="sources")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def sources_command(app, as_json):
        """List sources with their last success, last error and next due time.

        Example: ktrack sources --json
        """
        from tracker.fetching import source_rows

        rows = source_rows(app)
        if as_json:
            print_json(rows)
            return
        for row in rows:
            click.echo(f"{row['name']} ({row['kind']}) {row['url']}")
            click.echo(f"  last success: {row['last_success_at'] or 'never'}; next due: {row['next_due_at'] or 'now'}")
            if row["last_error"]:
                click.echo(f"  last error ({row['last_error_at']}): {row['last_error']}")
