"""Test helpers for plugin authors: a real temporary store and an App with your plugin loaded.

kernel-tracker registers this module as a pytest plugin (entry point
`pytest11: ktrack`), so any project with kernel-tracker installed gets these
fixtures without a conftest import:

    # tests/conftest.py of your plugin
    import pytest, my_plugin

    @pytest.fixture
    def ktrack_plugins():
        return [my_plugin]

    # tests/test_my_plugin.py
    def test_section(ktrack_app, ktrack_db, ktrack_cli):
        result = ktrack_cli("plugins", "--all", "--json")
        assert "my_plugin" in result.output

Outside pytest, `make_app(path, plugins=[...])` and `run_cli(app, *args)` do the same.
Heavy imports happen inside the functions: pytest loads this module in every
run of every project that has kernel-tracker installed.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

__all__ = ["make_app", "run_cli", "import_mbox", "plugin_name"]


@contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def plugin_name(plugin: Any) -> str:
    """Return the name `plugin` loads under in ktrack: its entry-point name when installed.

    The name matters because a plugin's config table is `[plugins.<name>]`;
    e.g. the module ktrack_io_uring installed as entry point "io_uring" -> "io_uring".
    Otherwise a module's __name__, or the class name of an instance.
    """
    import importlib.metadata

    module = getattr(plugin, "__name__", None)
    if module:
        for ep in importlib.metadata.entry_points(group="ktrack"):
            if ep.value == module:
                return ep.name
        return module
    return type(plugin).__name__


def make_app(
    db_path: str | Path | None = None,
    *,
    plugins: Iterable[Any] = (),
    config: dict | None = None,
    builtins: bool = True,
    entry_points: bool = False,
):
    """Return a tracker App on a real SQLite file with `plugins` registered next to the built-ins.

    Each plugin is a module or object (registered under plugin_name()) or a
    (name, plugin) tuple.
    `config` is the parsed TOML as a dict (e.g. {"plugins": {"my_plugin": {"x": 1}}}),
    validated against every plugin's config_defaults like a config file.
    `entry_points=True` also loads installed third-party plugins; the default
    leaves them out so a test sees only what it asked for. A plugin that fails
    to register (a misspelled hook) raises ValueError here instead of being
    reported and skipped as the CLI would.
    """
    from .app import App
    from .config import disabled_plugins
    from .plugin_host import BUILTIN_PLUGINS, _register, create_host

    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="ktrack-test-")) / "ktrack.db"
    if entry_points:
        only = None if builtins else ""
    else:
        only = ",".join(BUILTIN_PLUGINS) if builtins else ""
    if entry_points and not builtins:
        raise ValueError("entry_points=True without builtins is not supported; use KTRACK_LOAD_PLUGINS")
    with _env("KTRACK_LOAD_PLUGINS", only):
        host = create_host(disabled=disabled_plugins(config or {}))
    for plugin in plugins:
        name, plugin = plugin if isinstance(plugin, tuple) else (plugin_name(plugin), plugin)
        if host.pm.is_registered(plugin):
            continue  # already loaded from its installed entry point
        before = len(host.problems)
        if not _register(host, plugin, name):
            problem = host.problems[before] if len(host.problems) > before else None
            raise ValueError(f"plugin {name} did not register: {problem.error if problem else 'unknown error'}")
    app = App(db_path=Path(db_path))
    app.host = host  # cached_property: assigning pins it
    app.raw_config = dict(config or {})
    return app


def run_cli(app, *args: Any, input: str | None = None, env: dict | None = None):
    """Run `ktrack ARGS...` in-process against `app`; return click's Result.

    Exceptions that are not click's own propagate (`--traceback`), so a bug shows its traceback.
    """
    from click.testing import CliRunner

    from .cli import build_cli

    group = build_cli(app)
    return CliRunner().invoke(
        group,
        ["--db", str(app.db_path), "--traceback", *map(str, args)],
        obj=app,
        input=input,
        env=env,
        catch_exceptions=False,
    )


def import_mbox(app, *paths: str | Path):
    """Import real mbox/eml files into the app's store (threads them into series) and return the result."""
    from .ingest import import_paths

    return import_paths(app.db, [Path(p) for p in paths])


@pytest.fixture
def ktrack_plugins() -> list:
    """Plugin objects (modules or instances) to register: override this fixture in your conftest."""
    return []


@pytest.fixture
def ktrack_config() -> dict:
    """The parsed config the app sees: override to set your `[plugins.<name>]` table."""
    return {}


@pytest.fixture
def ktrack_db_path(tmp_path) -> Path:
    """Path of the temporary SQLite file."""
    return tmp_path / "ktrack.db"


@pytest.fixture
def ktrack_app(ktrack_db_path, ktrack_plugins, ktrack_config, monkeypatch):
    """An App with the built-ins plus `ktrack_plugins`, on a temporary store, with no user config."""
    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    monkeypatch.delenv("KTRACK_DB", raising=False)
    return make_app(ktrack_db_path, plugins=ktrack_plugins, config=ktrack_config)


@pytest.fixture
def ktrack_db(ktrack_app):
    """The app's sqlite_utils Database: a real file with core and plugin migrations applied."""
    return ktrack_app.db


@pytest.fixture
def ktrack_cli(ktrack_app):
    """Call ktrack_cli("digest", "--json") to run the CLI in-process; returns click's Result."""

    def run(*args, input=None, env=None):
        return run_cli(ktrack_app, *args, input=input, env=env)

    return run
