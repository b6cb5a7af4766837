"""The `ktrack` command: a click group that plugins extend through register_commands.

Built-in commands live in tracker.plugins.* like any plugin's; this module
holds only the group, its global options and error handling.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .app import App
from .errors import KtrackError


class KtrackGroup(click.Group):
    """Turn unexpected OS and database errors into one clear line.

    KtrackError is already one line; a full disk or a read-only database shows
    up as OSError/sqlite3 errors deep in a command, which must not print a
    traceback to a cron mailbox.
    """

    def invoke(self, ctx):
        import sqlite3

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # `ktrack series | head`: the reader left, which is no error of ours.
            # Point stdout at /dev/null so the interpreter's final flush stays quiet.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0) from None
        except sqlite3.OperationalError as exc:
            raise KtrackError(f"database error: {exc}") from None
        except OSError as exc:
            where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            raise KtrackError(f"{exc.strerror or exc}{where}") from None


@click.group(cls=KtrackGroup)
@click.version_option(__version__, prog_name="ktrack")
@click.option("--db", "db_path", type=click.Path(path_type=Path), envvar="KTRACK_DB", help="SQLite database file.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML config file (or $KTRACK_CONFIG).")
@click.pass_context
def cli(ctx, db_path, config_path):
    """Follow Linux kernel development: releases, series, stable reviews, syscalls, sysctls.

    Example: ktrack run --sample --out site-out
    """
    app = ctx.ensure_object(App)
    if db_path is not None:
        app.db_path = db_path
    if config_path is not None and app.config_path != config_path:
        app.use_config(config_path)
    if ctx.invoked_subcommand is not None:
        app.config  # validate now: a typo in the config must fail every command the same way


def print_json(data) -> None:
    """Print `data` as indented JSON: the shape every --json option promises."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _config_from_argv(argv: list[str]) -> Path | None:
    """Find --config early: plugins (and so their commands) depend on it."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1])
    return None


def build_cli(app: App) -> click.Group:
    """Add the host's own commands, then let every plugin add its commands to the group."""
    from .host_commands import register_host_commands

    register_host_commands(cli)
    app.host.call("register_commands", cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    app = App(config_path=_config_from_argv(argv))
    try:
        group = build_cli(app)
    except KtrackError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    group.main(args=argv, prog_name="ktrack", obj=app)
