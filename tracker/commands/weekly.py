"""The weekly edition commands: `ktrack digest`, `ktrack site build`, `ktrack run`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracker import hookimpl
from tracker.errors import KtrackError


def _edition(app, week: str | None) -> dict:
    from tracker.edition import assemble_edition, edition_weekday, edition_weeks, week_bounds

    if week is None:
        weeks = edition_weeks(app.db, weekday=edition_weekday(app.config))
        if not weeks:
            raise KtrackError(_no_editions(app))
        week = weeks[-1]
    try:
        week_bounds(week)
    except ValueError as exc:
        raise KtrackError(str(exc)) from None
    return assemble_edition(app, week)


def _no_editions(app) -> str:
    """The one line for an empty database; it names the sample's database when that is elsewhere (issue 14)."""
    from tracker.job import sample_hint

    where = app.resolved_db_path()
    hint = sample_hint(app, "digest")
    if hint:
        return f"no editions yet in {where}; {hint}"
    return f"no editions yet in {where}: it has no series, releases or findings (try `ktrack run --sample`)"


def digest_for(app, week: str | None, fmt: str, *, categories=(), stable=(), sections=()) -> tuple[dict, str]:
    """Return (filtered edition, rendered digest) using [digest] defaults for unset filters."""
    from tracker.digest import filter_edition, render_edition

    digest_config = app.config.get("digest") or {}
    edition = filter_edition(
        _edition(app, week),
        categories=categories or digest_config.get("categories") or (),
        stable=stable or digest_config.get("stable") or (),
        sections=sections or digest_config.get("sections") or (),
    )
    from tracker.theme import app_environment

    base_url = (app.config.get("site") or {}).get("base_url") or ""
    env = app_environment(app) if fmt == "html" else None
    return edition, render_edition(edition, fmt, base_url=base_url, env=env)


def mail_digest(app, edition: dict) -> str:
    """Send the edition as text + HTML mail through [mail]; return the recipients line."""
    from tracker.digest import render_edition
    from tracker.mailer import build_message, send_message
    from tracker.theme import app_environment

    mail = app.config.get("mail") or {}
    base_url = (app.config.get("site") or {}).get("base_url") or ""
    title = (app.config.get("site") or {}).get("title") or "kernel-tracker"
    msg = build_message(
        mail,
        f"[{title}] {edition['title']}",
        render_edition(edition, "text", base_url=base_url),
        render_edition(edition, "html", base_url=base_url, env=app_environment(app)),
    )
    send_message(mail, msg)
    return msg["To"]


@hookimpl
def register_commands(cli):
    from tracker.config import DIGEST_FORMATS as FORMATS

    @cli.command(name="digest")
    @click.option("--week", help="ISO week label, e.g. 2026-W48 (default: the latest edition).")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: [digest] format).")
    @click.option("--mail", "send", is_flag=True, help="Send it by SMTP using [mail] instead of printing.")
    @click.option("--category", "categories", multiple=True, help="Only items of this category (repeatable).")
    @click.option("--stable", "stable", multiple=True, help="Only stable items of this branch, e.g. 6.1 (repeatable).")
    @click.option("--section", "sections", multiple=True,
                  help="Only this section, by key: release-status, watch, stable, syscalls, sysctls, patches... (repeatable).")
    @click.pass_obj
    def digest_command(app, week, fmt, send, categories, stable, sections):
        """Print (or mail) the weekly digest of one edition.

        Example: ktrack digest --week 2021-W31 --format text --stable 5.10
        """
        fmt = fmt or (app.config.get("digest") or {}).get("format") or "markdown"
        if fmt not in FORMATS:
            raise KtrackError(f"[digest] format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        edition, text = digest_for(app, week, fmt, categories=categories, stable=stable, sections=sections)
        if send:
            to = mail_digest(app, edition)
            click.echo(f"Sent {edition['week']} to {to}", err=True)
        else:
            click.echo(text, nl=not text.endswith("\n"))

    @cli.group(name="site")
    def site_group():
        """Build the static website: editions, archive, releases, plugin pages, feed, search."""

    @site_group.command(name="build")
    @click.option("--out", type=click.Path(path_type=Path), help="Output directory (default: [site] out).")
    @click.option("--base-url", help="Public URL of the site, for the feed and mailed links.")
    @click.option("--template-dir", type=click.Path(path_type=Path), help="Templates that override the theme.")
    @click.option("--no-search", is_flag=True, help="Skip the Pagefind search index.")
    @click.option("--force", is_flag=True, help="Re-render every page.")
    @click.option("--json", "as_json", is_flag=True, help="Print build statistics as JSON.")
    @click.pass_obj
    def site_build_command(app, out, base_url, template_dir, no_search, force, as_json):
        """Render the site into DIR, only re-rendering pages whose data changed.

        Example: ktrack site build --out /srv/www/kernel --base-url https://kernel.example.org/
        """
        from tracker.cli import print_json
        from tracker.sitebuild import build_app_site

        stats = build_app_site(app, out, base_url=base_url, template_dir=template_dir, search=not no_search, force=force)
        if as_json:
            print_json(stats.as_dict())
        else:
            click.echo(f"{stats.out}: {stats.pages} pages, {stats.rendered} rendered, {stats.removed} removed")

    @cli.command(name="run")
    @click.option("--out", type=click.Path(path_type=Path), help="Site output directory (default: [site] out).")
    @click.option("--sample", is_flag=True, help="Run offline on the recorded kernel data shipped with ktrack.")
    @click.option("--mail", "send", is_flag=True, help="Mail the digest via [mail] instead of printing it.")
    @click.option("--week", help="Edition to deliver (default: the latest).")
    @click.option("--base-url", help="Public URL of the site.")
    @click.option("--verbose", is_flag=True, help="Print the digest and summary even when stdout is not a terminal.")
    @click.pass_obj
    def run_command(app, out, sample, send, week, base_url, verbose):
        """Fetch, analyse, build the site, then print or mail the digest: the weekly cron job.

        Quiet under cron unless something failed. Example: ktrack run --sample --out ./ktrack-site
        """
        from tracker.job import run_job

        out = out or (app.config.get("site") or {}).get("out")
        if not out:
            raise KtrackError("no output directory: pass --out DIR or set [site] out in the config")
        out = Path(out).expanduser()
        sample_db = None
        if sample and app.db_path is None:
            from tracker.job import sample_db_path

            # Keep the sample's database beside the site: re-runs are then incremental.
            app.db_path = sample_db = sample_db_path(out)
        talk = verbose or sys.stdout.isatty()
        with _lock(app):
            report = run_job(app, out=out, sample=sample, week=week, base_url=base_url)
            for line in report.failures():
                click.echo(f"ktrack run: {line}", err=True)
            if report.week and send:
                edition, _ = digest_for(app, report.week, "text")
                mail_digest(app, edition)
            elif report.week and talk:
                fmt = (app.config.get("digest") or {}).get("format") or "markdown"
                _, text = digest_for(app, report.week, fmt)
                click.echo(text)
            if talk:
                site = report.site or {}
                click.echo(f"Site: {site.get('out')}/index.html ({site.get('pages')} pages, {site.get('rendered')} rendered)")
                click.echo(f"Browse it with search: python3 -m http.server -d {site.get('out')} 8000")
                if sample_db is not None:
                    import shlex

                    db = shlex.quote(str(sample_db))
                    click.echo(f"Its database: {sample_db} (e.g. ktrack --db {db} digest, ktrack --db {db} syscalls)")
            if sample_db is not None:
                from tracker.job import remember_sample_db

                remember_sample_db(sample_db)
            if report.nothing_read:
                raise KtrackError("no source could be read")

    def _lock(app):
        from tracker.job import lock_path_for, run_lock

        return run_lock(lock_path_for(app.resolved_db_path().absolute()))
