"""The App: config, plugin host and database, built once per CLI call and passed to commands.

Plugins' click commands get it with `@click.pass_obj`; it opens the database
only when a command asks for it, so `ktrack --help` never touches disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from . import config as config_mod
from .db import default_db_path, open_db
from .errors import KtrackError
from .plugin_host import PluginHost, create_host


@dataclass
class App:
    db_path: Path | None = None
    config_path: Path | None = None
    _db: Database | None = field(default=None, repr=False)

    @cached_property
    def raw_config(self) -> dict:
        return config_mod.read_config_file(self.config_path, explicit=self.config_path is not None)

    @cached_property
    def host(self) -> PluginHost:
        return create_host(disabled=config_mod.disabled_plugins(self.raw_config))

    @cached_property
    def config(self) -> dict[str, Any]:
        defaults = {}
        for impl in self.host.pm.hook.config_defaults.get_hookimpls():
            try:
                defaults[impl.plugin_name] = impl.function() or {}
            except Exception as exc:  # noqa: BLE001
                self.host._record(impl.plugin_name, "config_defaults", f"{type(exc).__name__}: {exc}")
        for name, _ in self.host.pm.list_name_plugin():
            defaults.setdefault(name, {})
        config = config_mod.build_config(self.raw_config, defaults)
        self.check_config(config)
        return config

    def check_config(self, config: dict) -> None:
        """Let each plugin reject a table it cannot use, once, before any work: a config mistake stops the command."""
        for impl in self.host.pm.hook.check_config.get_hookimpls():
            try:
                impl.function(config)
            except KtrackError:
                raise
            except Exception as exc:  # noqa: BLE001 - a broken checker is the plugin's fault, not the user's
                self.host._record(impl.plugin_name, "check_config", f"{type(exc).__name__}: {exc}")

    def use_config(self, path: Path) -> None:
        """Switch to another config file (main() normally finds --config before plugins load)."""
        self.config_path = path
        for name in ("raw_config", "config"):
            self.__dict__.pop(name, None)

    def migration_sets(self) -> list:
        sets = []
        self.host.call("register_migrations", register=sets.append)
        return sets

    def resolved_db_path(self) -> Path:
        if self.db_path is not None:
            return self.db_path
        if self.config.get("db"):
            return Path(self.config["db"]).expanduser()
        return default_db_path()

    @property
    def db(self) -> Database:
        """Open the database on first use, applying core and plugin migrations."""
        if self._db is None:
            self._db = open_db(self.resolved_db_path(), migration_sets=self.migration_sets())
        return self._db
