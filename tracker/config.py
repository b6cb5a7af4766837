"""The TOML config: what to follow and per-plugin settings, with built-in defaults and a schema.

No config file is needed; one that exists is validated strictly, once, when
it is loaded: an unknown key or plugin (with a did-you-mean), a value of the
wrong type or outside its allowed values each stop the command with one line
naming the file, the key, what was expected and what was found. Nothing
below the loader then has to wonder whether `[site] out` is a string.

The schema is the defaults: a key's type is its default value's type (a
list's items are strings unless its default holds something else, an empty
table is a free-form table a plugin checks itself in `check_config`). Where
a default cannot say it all (None, a choice of values) the default is
wrapped in `Setting(default, type=..., choices=...)`; the merged config a
plugin reads holds plain values only.
"""

from __future__ import annotations

import copy
import difflib
import os
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Callable, Iterable

import platformdirs

from .errors import KtrackError

# The digest formats tracker.digest renders; here so that `ktrack digest --format`
# can list them without importing the renderer at every CLI start.
DIGEST_FORMATS = ("markdown", "text", "html", "json")

# Where the lore plugin's mirror setting falls back to, for helpers that must not depend on it being loaded.
LORE_BASE_URL = "https://lore.kernel.org"


@dataclass(frozen=True)
class Setting:
    """One config key's default, with what the default alone cannot say.

    `type`: what a value must be when the default is None or of another
    type (a class or a tuple of classes; float accepts integers too).
    `items`: the type of a list's items (default: str). `choices`: the
    allowed values (of each item, for a list). `check` and `expected`: a
    test a value must pass and how to say what it expects, for rules
    choices cannot list (e.g. "a day name like 'sunday'").
    """

    default: Any = None
    type: type | tuple[type, ...] | None = None
    items: type | tuple[type, ...] | None = None
    choices: tuple = ()
    check: Callable[[Any], bool] | None = None
    expected: str = ""

    def types(self) -> tuple[type, ...]:
        if self.type is not None:
            return self.type if isinstance(self.type, tuple) else (self.type,)
        if self.default is None:
            return ()  # anything: a default of None without a declared type says nothing
        return (type(self.default),)

    def item_types(self) -> tuple[type, ...]:
        if self.items is not None:
            return self.items if isinstance(self.items, tuple) else (self.items,)
        if isinstance(self.default, list) and self.default:
            return tuple(dict.fromkeys(type(v) for v in self.default))
        return (str,)


def _weekday_ok(value: Any) -> bool:
    from .edition import closing_weekday

    try:
        closing_weekday(value)
    except ValueError:
        return False
    return not isinstance(value, bool)


# The tables the host itself reads, as schema. Plugins declare theirs via config_defaults().
CORE_SCHEMA: dict[str, Any] = {
    "db": Setting(None, str),
    "edition": {"weekday": Setting("sunday", type=(str, int), check=_weekday_ok, expected="a day name like 'sunday'")},
    "site": {
        "out": Setting(None, str),
        "base_url": "",
        "title": "kernel-tracker",
        "template_dir": Setting(None, str),
    },
    "mail": {
        "host": "localhost",
        "port": 25,
        "starttls": False,
        "cafile": Setting(None, str),  # a CA bundle for a server with a private certificate (STARTTLS)
        "from": Setting(None, str),
        "to": Setting([], type=(list, str), items=str),
        "username": Setting(None, str),
        "password_env": "KTRACK_SMTP_PASSWORD",
    },
    "digest": {
        "format": Setting("markdown", choices=DIGEST_FORMATS),
        "categories": [],
        "stable": [],
        "sections": [],
    },
    "plugins": {},
}


def defaults_of(schema: Any) -> Any:
    """Return the plain default values of a schema (a table of values and Settings), Settings unwrapped."""
    if isinstance(schema, Setting):
        return copy.deepcopy(schema.default)
    if isinstance(schema, dict):
        return {key: defaults_of(value) for key, value in schema.items()}
    return copy.deepcopy(schema)


# Plain defaults of the host's tables (what docs/config.md lists).
CORE_DEFAULTS: dict[str, Any] = defaults_of(CORE_SCHEMA)


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
    except (OSError, UnicodeDecodeError) as exc:
        raise KtrackError(f"cannot read config {path}: {getattr(exc, 'strerror', None) or exc}") from None
    data["_path"] = str(path)
    return data


# -- saying what was expected and what was found ---------------------------------

_NAMES = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
    datetime: "a date-time",
    date: "a date",
    time: "a time",
}


def _kind(value: Any) -> str:
    """Say what a TOML value is, e.g. "an integer (5)", "a table"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    for cls, name in _NAMES.items():
        if isinstance(value, cls) and cls is not bool:
            if cls in (dict, list):
                return name
            text = repr(value)
            return f"{name} ({text if len(text) <= 40 else text[:37] + '...'})"
    return type(value).__name__


def _expected(types: tuple[type, ...], item_types: tuple[type, ...] = ()) -> str:
    names = []
    for cls in types:
        if cls is list:
            items = " or ".join(_NAMES.get(t, t.__name__).split(" ", 1)[-1] + "s" for t in item_types)
            names.append(f"a list of {items}" if item_types else "a list")
        else:
            names.append(_NAMES.get(cls, cls.__name__))
    return " or ".join(names)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    for cls in types:
        if cls is bool:
            if isinstance(value, bool):
                return True
        elif cls is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return True
        elif cls is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
        elif isinstance(value, cls) and not isinstance(value, bool):
            return True
    return False


def _did_you_mean(name: str, known: Iterable[str], fmt: Callable[[str], str]) -> str:
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f" (did you mean {fmt(close[0])}?)"
    if known and len(known) <= 20:
        return f" (known: {', '.join(known)})"
    return ""


def _check_value(value: Any, setting: Setting, key: str, origin: str) -> Any:
    """Return `value` if it fits `setting`, else raise the one-line KtrackError."""
    if value is None and setting.default is None:
        return value  # "not set" (a test's dict config; TOML has no null)
    types = setting.types()
    if types and not _is(value, types):
        raise KtrackError(f"{origin}: {key}: expected {_expected(types, setting.item_types())}, found {_kind(value)}")
    if isinstance(value, list) and (list in types or not types):
        item_types = setting.item_types() if types else ()
        for index, item in enumerate(value):
            where = f"{key}[{index}]"
            if item_types and not _is(item, item_types):
                raise KtrackError(f"{origin}: {where}: expected {_expected(item_types)}, found {_kind(item)}")
            if setting.choices and item not in setting.choices:
                raise KtrackError(f"{origin}: {where}: expected one of {', '.join(map(repr, setting.choices))}, found {_kind(item)}")
        return value
    if setting.choices and value not in setting.choices:
        raise KtrackError(f"{origin}: {key}: expected one of {', '.join(map(repr, setting.choices))}, found {_kind(value)}")
    if setting.check is not None and not setting.check(value):
        raise KtrackError(f"{origin}: {key}: expected {setting.expected or 'another value'}, found {_kind(value)}")
    return value


def _validate(schema: dict, given: Any, where: str, origin: str) -> dict:
    """Merge `given` over the defaults of `schema`, checking every key; `where` is the key prefix ("site.")."""
    if not isinstance(given, dict):
        raise KtrackError(f"{origin}: {where.rstrip('.')}: expected a table, found {_kind(given)}")
    merged = defaults_of(schema)
    for key, value in given.items():
        if key not in schema:
            raise KtrackError(
                f"{origin}: unknown key {where}{key}" + _did_you_mean(key, schema, lambda k: f"{where}{k}")
            )
        spec = schema[key]
        if isinstance(spec, dict) and spec:
            merged[key] = _validate(spec, value, f"{where}{key}.", origin)
        else:
            if not isinstance(spec, Setting):
                spec = Setting(spec, type=dict) if isinstance(spec, dict) else Setting(spec)
            merged[key] = _check_value(value, spec, f"{where}{key}", origin)
    return merged


def build_config(raw: dict, plugin_schemas: dict[str, dict], *, known_plugins: Iterable[str] | None = None) -> dict:
    """Validate a parsed file against the schemas and merge it over the defaults; raise KtrackError on the first problem.

    `plugin_schemas` maps each loaded plugin's name to its config_defaults()
    (plain defaults and Settings); every plugin table also accepts `enabled`.
    `known_plugins` names the plugins that exist but are not loaded (disabled,
    or left out by KTRACK_LOAD_PLUGINS): their tables are kept unchecked. Any
    other plugin name is a typo. Without it, a disabled table of any name passes.
    """
    origin = raw.get("_path") or "config"
    given = {k: v for k, v in raw.items() if k != "_path"}
    plugins_given = given.pop("plugins", None) or {}
    config = _validate({k: v for k, v in CORE_SCHEMA.items() if k != "plugins"}, given, "", origin)
    if not isinstance(plugins_given, dict):
        raise KtrackError(f"{origin}: plugins: expected a table of [plugins.<name>] tables, found {_kind(plugins_given)}")
    config["plugins"] = {}
    for name, schema in plugin_schemas.items():
        config["plugins"][name] = {"enabled": True, **defaults_of(schema)}
    known = set(plugin_schemas) | set(known_plugins or ())
    for name, table in plugins_given.items():
        where = f"plugins.{name}"
        if not isinstance(table, dict):
            raise KtrackError(f"{origin}: {where}: expected a table, found {_kind(table)}")
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            raise KtrackError(f"{origin}: {where}.enabled: expected true or false, found {_kind(enabled)}")
        if name not in known and (known_plugins is not None or enabled):
            # A table for a plugin that is not installed is most likely a typo.
            raise KtrackError(
                f"{origin}: unknown plugin [{where}]" + _did_you_mean(name, known, lambda n: f"[plugins.{n}]")
            )
        if not enabled:
            config["plugins"][name] = {"enabled": False}
        elif name not in plugin_schemas:
            config["plugins"][name] = dict(table)  # installed but not loaded here: nobody reads it
        else:
            schema = {"enabled": True, **plugin_schemas[name]}
            config["plugins"][name] = _validate(schema, table, f"{where}.", origin)
    config["_path"] = raw.get("_path")
    return config


def disabled_plugins(raw: dict) -> set[str]:
    """Return the names of plugins whose table says enabled = false."""
    tables = raw.get("plugins", {}) or {}
    if not isinstance(tables, dict):
        return set()
    return {name for name, t in tables.items() if isinstance(t, dict) and t.get("enabled") is False}


# -- what plugins read --------------------------------------------------------------


def plugin_config(config: dict | None, name: str) -> dict:
    """Return plugin `name`'s own `[plugins.<name>]` table: validated, defaults filled in, `enabled` included.

    Every hook that receives `config` gets one the host built, which holds a
    table for each loaded plugin; a plugin reads its settings through this and
    never digs in the whole config or in another plugin's table. Asking for a
    table the config does not have (a plugin that is not loaded, a config dict
    not built by the host) raises KtrackError naming it.
    """
    tables = (config or {}).get("plugins") or {}
    table = tables.get(name) if isinstance(tables, dict) else None
    if not isinstance(table, dict):
        raise KtrackError(f"no [plugins.{name}] table in this config: plugin {name} is not loaded")
    return table


def config_origin(config: dict | None) -> str:
    """Return the config file's path for an error line ("config" when it came from no file)."""
    return str((config or {}).get("_path") or "config")


def lore_base_url(config: dict | None) -> str:
    """Return the lore mirror to use (`[plugins.lore] base_url`, else lore.kernel.org), without a trailing "/".

    A setting several plugins share: the watch, syscalls, sysctls and stable
    review searches go to the mirror the lore plugin polls. Read it here, not in
    the lore plugin's table, so a plugin keeps working when lore is disabled.
    """
    tables = (config or {}).get("plugins") or {}
    lore = tables.get("lore") if isinstance(tables, dict) else None
    base = lore.get("base_url") if isinstance(lore, dict) and lore.get("enabled", True) else None
    return (base if isinstance(base, str) and base else LORE_BASE_URL).rstrip("/")


def maintainers_file(config: dict | None) -> str | None:
    """Return the path of the local MAINTAINERS copy (`[plugins.categories] maintainers`), or None.

    Shared by the categories plugin (what a series touches) and the watch
    plugin (topics naming a MAINTAINERS entry); None when it is not set or
    the categories plugin is disabled.
    """
    tables = (config or {}).get("plugins") or {}
    categories = tables.get("categories") if isinstance(tables, dict) else None
    path = categories.get("maintainers") if isinstance(categories, dict) and categories.get("enabled", True) else None
    return path if isinstance(path, str) and path else None
