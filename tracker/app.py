"""The App: config, plugin host and database, built once per CLI call and passed to commands.

Plugins' click commands get it with `@click.pass_obj`; it opens the database
only when a command asks for it, so `ktrack --help` never touches disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config as config_mod
from .plugin_host import PluginHost, create_host

if TYPE_CHECKING:  # sqlite-utils loads on the first command that opens the database, not for --help
    from sqlite_utils import Database


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
        """The validated config: every key checked against the host's and each plugin's schema, once."""
        schemas = self.config_schemas
        config = config_mod.build_config(self.raw_config, schemas, known_plugins=self.host.known_names)
        self.check_config(config)
        return config

    @cached_property
    def config_schemas(self) -> dict[str, dict]:
        """Each loaded plugin's config_defaults(): its defaults and schema ({} for a plugin without a table)."""
        schemas = {name: {} for name, _ in self.host.plugins()}
        for name, defaults in self.host.call_each("config_defaults"):
            if isinstance(defaults, dict):
                schemas[name] = defaults
            else:
                self.host._record(name, "config_defaults", f"returned {type(defaults).__name__}, not a dict")
        return schemas

    def check_config(self, config: dict) -> None:
        """Let each plugin reject a table it cannot use, once, before any work: a config mistake stops the command.

        A KtrackError from a plugin is the user's mistake and stops the
        command; any other exception is the plugin's bug, reported, and the
        command goes on (the host's isolation, see plugin_host.USER_ERROR_HOOKS).
        """
        self.host.call("check_config", config=config)

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
            return Path(self.config["db"]).expanduser()  # a string: the schema says so
        from .db import default_db_path

        return default_db_path()

    @property
    def db(self) -> Database:
        """Open the database on first use, applying core and plugin migrations."""
        if self._db is None:
            from .db import open_db

            self._db = open_db(self.resolved_db_path(), migration_sets=self.migration_sets())
        return self._db
