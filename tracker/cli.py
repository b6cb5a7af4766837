"""The `ktrack` command: a click group that plugins extend through register_commands.

Built-in commands live in tracker.plugins.* like any plugin's; this module
holds only the group, its global options and error handling.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__
from .app import App
from .errors import KtrackError
from .output import print_json  # noqa: F401  (kept importable from here: older plugins use it)


class KtrackGroup(click.Group):
    """Turn unexpected OS and database errors, and any bug, into one clear line.

    KtrackError is already one line; a full disk or a read-only database shows
    up as OSError/sqlite3 errors deep in a command, which must not print a
    traceback to a cron mailbox. Any other exception is a bug (often in a
    plugin's command): one line naming it and the plugin; `--traceback` or
    KTRACK_DEBUG=1 lets the whole traceback through instead.
    """

    def invoke(self, ctx):
        import sqlite3

        typed = list(ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args) + list(ctx.args)
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
        except Exception as exc:
            if ctx.params.get("show_traceback") or os.environ.get("KTRACK_DEBUG"):
                raise
            raise KtrackError(bug_line(ctx, typed, exc)) from None


def bug_line(ctx: click.Context, typed: list[str], exc: BaseException) -> str:
    """Say in one line which command (and which plugin's code) raised what, and how to see more."""
    command = " ".join(["ktrack", *_command_path(ctx.command, typed)])
    plugin = _plugin_of(ctx.obj, exc)
    who = f"plugin {plugin} failed in {command!r}" if plugin else f"{command!r} failed"
    return f"{who}: {type(exc).__name__}: {exc} (run with --traceback, or KTRACK_DEBUG=1, for the traceback)"


def _command_path(group: click.Command, args: list[str]) -> list[str]:
    """The subcommand names the user typed, e.g. ["stable", "review"]."""
    names = []
    while isinstance(group, click.Group):
        words = [a for a in args if not a.startswith("-")]
        if not words or words[0] not in group.commands:
            break
        names.append(words[0])
        group = group.commands[words[0]]
        args = args[args.index(words[0]) + 1:]
    return names


def _plugin_of(app, exc: BaseException) -> str | None:
    """Return the name of the plugin whose module the traceback went through first (the command's own)."""
    host = getattr(app, "__dict__", {}).get("host")
    if host is None:
        return None
    modules = {}
    for name, plugin in host.plugins():
        module = getattr(plugin, "__name__", None) or type(plugin).__module__
        if module and name != "tracker":
            modules[module] = name
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        for prefix, name in modules.items():
            if module == prefix or module.startswith(prefix + "."):
                return name
        tb = tb.tb_next
    return None


@click.group(cls=KtrackGroup)
@click.version_option(__version__, prog_name="ktrack")
@click.option("--db", "db_path", type=click.Path(path_type=Path), envvar="KTRACK_DB", help="SQLite database file.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML config file (or $KTRACK_CONFIG).")
@click.option("--traceback", "show_traceback", is_flag=True, help="Show the whole traceback of an unexpected error (or KTRACK_DEBUG=1).")
@click.pass_context
def cli(ctx, db_path, config_path, show_traceback):
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




def _config_from_argv(argv: list[str]) -> Path | None:
    """Find --config early: plugins (and so their commands) depend on it."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1])
    return None


def build_cli(app: App) -> click.Group:
    """Let every plugin, the host's own commands included (tracker.commands), add its commands."""
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
