"""The plugin manager: built-in plugins, entry-point plugins, and failure isolation.

Built-in features are ordinary plugins registered through the same
`pm.register` call a third-party module gets, so anyone can replace them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterator

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "ktrack"

# Modules under tracker.plugins, in load order. Each is one concern.
BUILTIN_PLUGINS = (
    "fetch",
    "kernelorg",
    "lore",
    "localmail",
    "announcements",
    "categories",
    "syscalls",
    "sysctls",
    "release_status",
    "discussions",
    "stable_review",
    "watch",
    "weekly",
)


@dataclass
class PluginProblem:
    """A plugin that failed to load or raised inside a hook."""

    plugin: str
    where: str
    error: str


@dataclass
class PluginHost:
    """The pluggy manager plus what went wrong with which plugin."""

    pm: pluggy.PluginManager
    problems: list[PluginProblem] = field(default_factory=list)
    builtin_names: set[str] = field(default_factory=set)

    @property
    def hook(self):
        return self.pm.hook

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation of an event hook, isolating failures.

        pluggy aborts the whole call at the first exception; a tracker run must
        go on when one plugin breaks, so each implementation is called alone and
        a failure is recorded against its plugin name.
        """
        return [result for _, result in self.call_each(hook_name, **kwargs) if result is not None]

    def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a firstresult hook with failure isolation; return the first non-None result."""
        for _, result in self.call_each(hook_name, **kwargs):
            if result is not None:
                return result
        return None

    def call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Yield (plugin_name, result) for each implementation, in pluggy's call order."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                args = [kwargs[name] for name in impl.argnames]
            except KeyError as exc:  # a hook implementation asked for an argument we do not have
                self._record(impl.plugin_name, hook_name, f"unknown hook argument {exc}")
                continue
            try:
                result = impl.function(*args)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self._record(impl.plugin_name, hook_name, f"{type(exc).__name__}: {exc}")
                if os.environ.get("KTRACK_DEBUG"):
                    traceback.print_exc()
                continue
            yield impl.plugin_name, result

    def _record(self, plugin: str, where: str, error: str) -> None:
        self.problems.append(PluginProblem(plugin, where, error))
        print(f"ktrack: plugin {plugin} failed in {where}: {error}", file=sys.stderr)

    def plugin_infos(self, *, include_builtin: bool = True) -> list[dict]:
        """Return name, version and implemented hooks of each loaded plugin."""
        dists = {}
        for plugin, dist in self.pm.list_plugin_distinfo():
            dists[id(plugin)] = dist
        infos = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda np: np[0]):
            if plugin is None:
                continue
            builtin = name in self.builtin_names
            if builtin and not include_builtin:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            dist = dists.get(id(plugin))
            if builtin:
                from . import __version__

                version = __version__
            else:
                version = dist.version if dist is not None else None
            infos.append({"name": name, "version": version, "builtin": builtin, "hooks": hooks})
        return infos


def _load_filter() -> set[str] | None:
    """Read KTRACK_LOAD_PLUGINS: None = load everything, a set = only these names."""
    raw = os.environ.get("KTRACK_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def create_host(*, disabled: set[str] | frozenset[str] = frozenset()) -> PluginHost:
    """Build the plugin manager: built-ins, then entry points, then KTRACK_LOAD_PLUGINS modules.

    `disabled` holds plugin names the config turned off.
    """
    pm = pluggy.PluginManager("ktrack")
    pm.add_hookspecs(hookspecs)
    host = PluginHost(pm)
    only = _load_filter()

    def wanted(name: str) -> bool:
        return name not in disabled and (only is None or name in only)

    for name in BUILTIN_PLUGINS:
        if not wanted(name):
            continue
        try:
            module = importlib.import_module(f"tracker.plugins.{name}")
        except Exception as exc:  # noqa: BLE001
            host._record(name, "import", f"{type(exc).__name__}: {exc}")
            continue
        if _register(host, module, name):
            host.builtin_names.add(name)

    seen = set(BUILTIN_PLUGINS)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        seen.add(ep.name)
        if not wanted(ep.name) or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001
            host._record(ep.name, "import", f"{type(exc).__name__}: {exc}")
            continue
        if not _register(host, plugin, ep.name):
            continue
        if ep.dist is not None:
            # pluggy's distinfo lets `ktrack plugins` show the package version.
            pm._plugin_distinfo.append((plugin, pluggy._manager.DistFacade(ep.dist)))

    # Names in KTRACK_LOAD_PLUGINS that are neither built-in nor an entry point
    # are importable module paths: the way to try a plugin without packaging it.
    for name in sorted((only or set()) - seen - set(disabled)):
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            host._record(name, "import", f"{type(exc).__name__}: {exc}")
            continue
        _register(host, module, name)

    pm.check_pending()  # every plugin with an unknown hook was refused above
    return host


def _register(host: PluginHost, plugin: Any, name: str) -> bool:
    """Register one plugin; refuse it, with a recorded problem, if a hook is misspelled.

    pluggy's check_pending() names the first unknown hook of any plugin; doing
    the same check per plugin keeps a typo in one plugin from stopping the CLI.
    """
    try:
        host.pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        host._record(name, "register", str(exc))
        return False
    for caller in list(host.pm.get_hookcallers(plugin) or []):
        if not caller.has_spec():
            host.pm.unregister(plugin)
            host._record(name, "register", f"unknown hook {caller.name!r} (misspelled?)")
            return False
    return True
