"""Commands of the host itself: `plugins`, `migrate`, `analyze`.

Registered through register_commands like any plugin's, but always: they must
work when KTRACK_LOAD_PLUGINS loads nothing and whatever the config disables.
"""

import click

from tracker.hookspecs import hookimpl
from tracker.output import print_json


@hookimpl
def register_commands(cli):

    @cli.command(name="plugins")
    @click.option("--all", "show_all", is_flag=True, help="Include built-in plugins.")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def plugins_command(app, show_all, as_json):
        """List loaded plugins with their version and the hooks they implement.

        Example: ktrack plugins --all --json
        """
        infos = app.host.plugin_infos(include_builtin=show_all)
        if as_json:
            print_json(infos)
            return
        if not infos:
            click.echo("No plugins loaded." + ("" if show_all else " (--all shows built-ins)"))
        for info in infos:
            tag = " (built-in)" if info["builtin"] else ""
            click.echo(f"{info['name']} {info['version'] or ''}{tag}")
            click.echo(f"  hooks: {', '.join(info['hooks'])}")
        # A plugin that failed to load was reported on stderr by the host when it loaded: once.

    @cli.command(name="migrate")
    @click.option("--list", "list_only", is_flag=True, help="Show migrations and whether each is applied.")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def migrate_command(app, list_only, as_json):
        """Apply pending database migrations (core and plugins).

        Opening the database applies them anyway; this command makes it explicit.
        Example: ktrack --db ktrack.db migrate --list
        """
        from tracker.db import migration_status

        db = app.db  # opening applies everything pending
        rows = migration_status(db, app.migration_sets())
        if as_json:
            print_json(rows)
            return
        if list_only:
            for row in rows:
                mark = "applied" if row["applied"] else "pending"
                click.echo(f"{row['set']}: {row['name']} ({mark})")
        else:
            click.echo(f"{app.resolved_db_path()}: schema up to date ({len(rows)} migrations)")

    @cli.command(name="analyze")
    @click.option("--all", "full", is_flag=True, help="Re-analyse every series, not only new or changed ones.")
    @click.pass_obj
    def analyze_command(app, full):
        """Run the analyzer plugins over new or changed patch series.

        `ktrack run` and `ktrack import` do this after storing; use it alone after `ktrack import --no-analyze`.
        Example: ktrack analyze --all
        """
        from tracker.analyze import run_analysis

        problems = run_analysis(app, full=full)
        if problems:  # each one's line went to stderr as it happened, once
            raise SystemExit(1)
