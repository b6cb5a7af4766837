"""The TOML config: what to follow and per-plugin settings, with built-in defaults.

No config file is needed; one that exists is validated strictly, so a typo
is an error instead of a silently ignored setting.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

import platformdirs

from .errors import KtrackError

# The digest formats tracker.digest renders; here so that `ktrack digest --format`
# can list them without importing the renderer at every CLI start.
DIGEST_FORMATS = ("markdown", "text", "html", "json")

# Top-level tables the host itself reads. Plugins declare theirs via config_defaults().
CORE_DEFAULTS: dict[str, Any] = {
    "db": None,
    "edition": {"weekday": "sunday"},
    "site": {"out": None, "base_url": "", "title": "kernel-tracker", "template_dir": None},
    "mail": {
        "host": "localhost",
        "port": 25,
        "starttls": False,
        "cafile": None,  # a CA bundle for a server with a private certificate (STARTTLS)
        "from": None,
        "to": [],
        "username": None,
        "password_env": "KTRACK_SMTP_PASSWORD",
    },
    "digest": {"format": "markdown", "categories": [], "stable": [], "sections": []},
    "plugins": {},
}


def default_config_path() -> Path:
    """Return $KTRACK_CONFIG, else config.toml in the user config dir."""
    env = os.environ.get("KTRACK_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("ktrack")) / "config.toml"


def read_config_file(path: Path | None, *, explicit: bool = False) -> dict:
    """Parse the TOML file; a missing default file is an empty config, a missing explicit one an error."""
    if path is None:
        path = default_config_path()
        explicit = "KTRACK_CONFIG" in os.environ
    if not path.exists():
        if explicit:
            raise KtrackError(f"config file {path} does not exist")
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise KtrackError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise KtrackError(f"cannot read config {path}: {exc.strerror}") from None
    data["_path"] = str(path)
    return data


def _merge(defaults: dict, given: dict, where: str, origin: str) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise KtrackError(f"{origin}: unknown key {where}{key}")
        if isinstance(defaults[key], dict) and defaults[key]:
            if not isinstance(value, dict):
                raise KtrackError(f"{origin}: {where}{key} must be a table")
            merged[key] = _merge(defaults[key], value, f"{where}{key}.", origin)
        else:
            merged[key] = value
    return merged


def build_config(raw: dict, plugin_defaults: dict[str, dict]) -> dict:
    """Merge a parsed file over the defaults; raise KtrackError naming the first unknown key.

    `plugin_defaults` maps plugin name -> its config_defaults(); every plugin
    table also accepts `enabled`.
    """
    origin = raw.get("_path", "config")
    given = {k: v for k, v in raw.items() if k != "_path"}
    plugins_given = given.pop("plugins", {}) or {}
    config = _merge({k: v for k, v in CORE_DEFAULTS.items() if k != "plugins"}, given, "", origin)
    config["plugins"] = {}
    for name, defaults in plugin_defaults.items():
        config["plugins"][name] = {"enabled": True, **copy.deepcopy(defaults)}
    for name, table in plugins_given.items():
        if isinstance(table, dict) and table.get("enabled") is False:
            config["plugins"][name] = {"enabled": False}
            continue
        if name not in plugin_defaults:
            # A table for a plugin that is not installed is most likely a typo.
            raise KtrackError(f"{origin}: unknown plugin [plugins.{name}]")
        if not isinstance(table, dict):
            raise KtrackError(f"{origin}: plugins.{name} must be a table")
        config["plugins"][name] = _merge(config["plugins"][name], table, f"plugins.{name}.", origin)
    config["_path"] = raw.get("_path")
    return config


def disabled_plugins(raw: dict) -> set[str]:
    """Return the names of plugins whose table says enabled = false."""
    tables = raw.get("plugins", {}) or {}
    return {name for name, t in tables.items() if isinstance(t, dict) and t.get("enabled") is False}
