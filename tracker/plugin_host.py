"""The plugin manager: built-in plugins, entry-point plugins, and failure isolation.

Built-in features are ordinary plugins registered through the same
`pm.register` call a third-party module gets, so anyone can replace them.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.metadata
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterator

import pluggy

from . import hookspecs
from .errors import KtrackError

ENTRY_POINT_GROUP = "ktrack"

# Built-in plugins, in load order: name (its config table, [plugins.NAME]) -> module.
# The host's commands (tracker.commands) and the features (tracker.plugins, one
# concern each) are registered the same way; a name can be turned off in config.
BUILTIN_MODULES = {
    "fetch": "tracker.commands.fetch",
    "kernelorg": "tracker.plugins.kernelorg",
    "lore": "tracker.plugins.lore",
    "localmail": "tracker.commands.imports",
    "announcements": "tracker.plugins.announcements",
    "categories": "tracker.plugins.categories",
    "syscalls": "tracker.plugins.syscalls",
    "sysctls": "tracker.plugins.sysctls",
    "release_status": "tracker.plugins.release_status",
    "discussions": "tracker.plugins.discussions",
    "stable_review": "tracker.plugins.stable_review",
    "watch": "tracker.plugins.watch",
    "weekly": "tracker.commands.weekly",
}
BUILTIN_PLUGINS = tuple(BUILTIN_MODULES)

# Registered always, whatever KTRACK_LOAD_PLUGINS or the config say, and not listed
# by `ktrack plugins`: `plugins`, `migrate` and `analyze` must work with nothing loaded.
HOST_PLUGIN = ("ktrack-host", "tracker.commands.host")


@dataclass
class PluginProblem:
    """A plugin that failed to load or raised inside a hook: reported once, counted after that."""

    plugin: str
    where: str
    error: str
    count: int = 1
    last_seen: int = 0  # the host's failure serial at the latest occurrence


# Hooks whose contract lets a plugin stop the command with a user error
# (KtrackError); in every other hook any exception is the plugin's failure.
USER_ERROR_HOOKS = frozenset({"check_config"})


class KtrackPluginManager(pluggy.PluginManager):
    """pluggy's manager, with each plugin's hook implementations isolated from the others.

    Hooks are called the pluggy way, `pm.hook.NAME(**kwargs)`, so wrappers
    (`wrapper=True`, `hookwrapper=True`), `tryfirst`/`trylast`, `firstresult`
    and historic hooks behave as pluggy documents. What pluggy does not do is
    go on when one implementation raises: the whole call fails. A tracker run
    must go on when one plugin breaks, so every call goes through a hook
    executor (the layer pluggy's own add_hookcall_monitoring wraps) that hands
    pluggy's caller a guarded copy of each implementation: one that reports the
    failure against its plugin and answers None, which pluggy reads as "no
    answer" (left out of a list; the next plugin asked for a first result).
    """

    def __init__(self, project_name: str, report) -> None:
        super().__init__(project_name)
        self._report = report
        self._guarded: dict[int, tuple[pluggy.HookImpl, pluggy.HookImpl]] = {}
        inner = self._inner_hookexec

        def isolating_hookexec(hook_name, methods, kwargs, firstresult):
            return inner(hook_name, [self._guard(hook_name, impl) for impl in methods], kwargs, firstresult)

        self._inner_hookexec = isolating_hookexec

    def _guard(self, hook_name: str, impl: pluggy.HookImpl) -> pluggy.HookImpl:
        """Return the guarded copy of `impl` (made once): pluggy calls its `function` with the same arguments."""
        cached = self._guarded.get(id(impl))
        if cached is not None and cached[0] is impl:
            return cached[1]
        if impl.hookwrapper:
            guarded = impl  # old-style wrappers receive a Result and must not raise: left as pluggy runs them
        else:
            guarded = copy.copy(impl)
            wrap = _guard_wrapper if impl.wrapper else _guard_function
            guarded.function = wrap(impl.function, impl.plugin_name, hook_name, self._report)
        self._guarded[id(impl)] = (impl, guarded)
        return guarded


def _failed(report, plugin: str, hook_name: str, exc: BaseException) -> None:
    if hook_name in USER_ERROR_HOOKS and isinstance(exc, KtrackError):
        raise exc
    report(plugin, hook_name, f"{type(exc).__name__}: {exc}", exc)


def _guard_function(function, plugin: str, hook_name: str, report):
    @functools.wraps(function)
    def guarded(*args):
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            _failed(report, plugin, hook_name, exc)
            return None

    return guarded


def _guard_wrapper(function, plugin: str, hook_name: str, report):
    """Guard a `wrapper=True` generator: a wrapper that breaks is skipped, the call it wraps still happens."""

    @functools.wraps(function)
    def guarded(*args):
        try:
            gen = function(*args)
            next(gen)
        except StopIteration:
            _failed(report, plugin, hook_name, RuntimeError("wrapper did not yield"))
            return (yield)
        except Exception as exc:  # noqa: BLE001 - failed before the call it wraps
            _failed(report, plugin, hook_name, exc)
            return (yield)
        try:
            result = yield
        except BaseException as inner:  # the wrapped call raised: the wrapper may handle it, as in pluggy
            try:
                gen.throw(inner)
            except StopIteration as stop:
                return stop.value
            raise RuntimeError(f"plugin {plugin}: {hook_name} wrapper yielded twice")
        try:
            gen.send(result)
        except StopIteration as stop:
            return stop.value
        except Exception as exc:  # noqa: BLE001 - failed after: keep what the call answered
            _failed(report, plugin, hook_name, exc)
            return result
        raise RuntimeError(f"plugin {plugin}: {hook_name} wrapper yielded twice")

    return guarded


@dataclass
class PluginHost:
    """The pluggy manager plus what went wrong with which plugin."""

    pm: pluggy.PluginManager
    problems: list[PluginProblem] = field(default_factory=list)
    builtin_names: set[str] = field(default_factory=set)
    known_names: set[str] = field(default_factory=set)  # loadable plugins, loaded or not (config tables)
    failures: int = 0  # failures recorded so far, repeats included: a mark for problems_since()

    @property
    def hook(self):
        return self.pm.hook

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook through pluggy (`pm.hook.NAME(**kwargs)`); return the list of non-None results.

        A plugin that raises is reported once and left out; the others answer.
        """
        result = getattr(self.pm.hook, hook_name)(**kwargs)
        if self._firstresult(hook_name):
            return [] if result is None else [result]
        return result

    def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a firstresult hook through pluggy; return the first non-None result (failures skipped)."""
        result = getattr(self.pm.hook, hook_name)(**kwargs)
        if self._firstresult(hook_name):
            return result
        return result[0] if result else None

    def call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Yield (plugin_name, result) for each plugin implementing the hook, in pluggy's call order.

        For results that must be kept per plugin (findings, site pages). Each
        plugin is called through pluggy's subset_hook_caller, so the wrappers
        of plugins that only wrap the hook still wrap each call.
        """
        caller = getattr(self.pm.hook, hook_name)
        impls = [impl for impl in caller.get_hookimpls() if not (impl.wrapper or impl.hookwrapper)]
        answering = {impl.plugin for impl in impls}
        done = set()
        for impl in reversed(impls):  # pluggy calls the last registered (and tryfirst) first
            if id(impl.plugin) in done:
                continue
            done.add(id(impl.plugin))
            subset = self.pm.subset_hook_caller(hook_name, answering - {impl.plugin})
            result = subset(**kwargs)
            results = [result] if self._firstresult(hook_name) else result
            for one in results:
                if one is not None:
                    yield impl.plugin_name, one

    def _firstresult(self, hook_name: str) -> bool:
        caller = getattr(self.pm.hook, hook_name)
        return bool(caller.spec and caller.spec.opts.get("firstresult"))

    def _record(self, plugin: str, where: str, error: str, exc: BaseException | None = None) -> None:
        """Note a plugin's failure; print its line the first time only, so a run says it once."""
        self.failures += 1
        for problem in self.problems:
            if problem.plugin == plugin and problem.where == where:
                problem.count += 1
                problem.last_seen = self.failures
                return
        self.problems.append(PluginProblem(plugin, where, error, last_seen=self.failures))
        print(f"ktrack: plugin {plugin} failed in {where}: {error}", file=sys.stderr)
        if exc is not None and os.environ.get("KTRACK_DEBUG"):
            traceback.print_exception(exc)

    def problems_since(self, mark: int) -> list[PluginProblem]:
        """Return the problems that occurred (again) after `mark`, a value of `failures`."""
        return [problem for problem in self.problems if problem.last_seen > mark]

    def plugins(self) -> list[tuple[str, Any]]:
        """(name, plugin) of each loaded plugin, by name: the host's own commands left out.

        What a user calls a plugin: it is listed, has a config table, and a bug in it is named.
        """
        return sorted(((name, plugin) for name, plugin in self.pm.list_name_plugin()
                       if plugin is not None and name != HOST_PLUGIN[0]), key=lambda np: np[0])

    def plugin_infos(self, *, include_builtin: bool = True) -> list[dict]:
        """Return name, version and implemented hooks of each loaded plugin."""
        dists = {}
        for plugin, dist in self.pm.list_plugin_distinfo():
            dists[id(plugin)] = dist
        infos = []
        for name, plugin in self.plugins():
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
    pm = KtrackPluginManager("ktrack", report=lambda *args: host._record(*args))
    pm.add_hookspecs(hookspecs)
    host = PluginHost(pm)
    only = _load_filter()
    host.known_names = set(BUILTIN_PLUGINS) | set(only or ())

    def wanted(name: str) -> bool:
        return name not in disabled and (only is None or name in only)

    _register(host, importlib.import_module(HOST_PLUGIN[1]), HOST_PLUGIN[0])
    for name, module_name in BUILTIN_MODULES.items():
        if not wanted(name):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001
            host._record(name, "import", f"{type(exc).__name__}: {exc}")
            continue
        if _register(host, module, name):
            host.builtin_names.add(name)

    seen = set(BUILTIN_PLUGINS)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        seen.add(ep.name)
        host.known_names.add(ep.name)
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
    except Exception as exc:  # noqa: BLE001 - a historic hook replayed at registration raised
        host._record(name, "register", f"{type(exc).__name__}: {exc}")
        if host.pm.is_registered(plugin):
            host.pm.unregister(plugin)
        return False
    for caller in list(host.pm.get_hookcallers(plugin) or []):
        if not caller.has_spec():
            host.pm.unregister(plugin)
            host._record(name, "register", f"unknown hook {caller.name!r} (misspelled?)")
            return False
    return True
