"""The line between host and plugins (issue 15): plugins use tracker.api only, and the host has no import cycle.

The import graph is read from the source (every import statement, those inside
functions too), so a lazy import counts as an arrow as much as a top-level one.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"tracker": ROOT / "tracker", "tracker.plugins": ROOT / "plugins"}
PLUGIN_TREES = [ROOT / "plugins", *sorted(p for p in (ROOT / "examples").glob("*/ktrack_*") if p.is_dir())]
ALLOWED = ("tracker", "tracker.api")


def module_names() -> dict[str, tuple[Path, bool]]:
    mods = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = [p for p in path.relative_to(root).with_suffix("").parts if p != "__init__"]
            mods[".".join([package, *parts])] = (path, path.name == "__init__.py")
    return mods


def imported(name: str, is_package: bool, node: ast.AST) -> list[tuple[str, list[str]]]:
    """(absolute module, names taken from it) for one import statement of module `name`."""
    if isinstance(node, ast.Import):
        return [(alias.name, []) for alias in node.names]
    if not node.level:
        return [(node.module, [a.name for a in node.names])]
    base = name if is_package else name.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        base = base.rsplit(".", 1)[0]
    module = f"{base}.{node.module}" if node.module else base
    return [(module, [a.name for a in node.names])]


def imports_of(path: Path, name: str, is_package: bool) -> list[tuple[str, list[str], int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out += [(module, names, node.lineno) for module, names in imported(name, is_package, node)]
    return out


def plugin_modules():
    for tree in PLUGIN_TREES:
        package = "tracker.plugins" if tree.name == "plugins" else tree.name
        for path in sorted(tree.rglob("*.py")):
            parts = [p for p in path.relative_to(tree).with_suffix("").parts if p != "__init__"]
            yield path, ".".join([package, *parts]), path.name == "__init__.py"


def test_plugins_import_only_the_public_api_from_the_host():
    wrong = []
    for path, name, is_package in plugin_modules():
        for module, _, line in imports_of(path, name, is_package):
            if not module.startswith("tracker"):
                continue  # the stdlib, third-party libraries, the plugin's own package
            if module in ALLOWED or module.startswith("tracker.plugins"):
                continue
            wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert wrong == [], "plugins must import host names from tracker.api:\n" + "\n".join(wrong)


def test_every_name_plugins_take_from_the_api_exists():
    import tracker.api as api

    missing = []
    for path, name, is_package in plugin_modules():
        for module, names, line in imports_of(path, name, is_package):
            if module in ALLOWED:
                missing += [f"{path.relative_to(ROOT)}:{line}: {n}" for n in names if not hasattr(api if module == "tracker.api" else importlib.import_module(module), n)]
    assert missing == []


def test_every_api_name_resolves_and_tracker_reexports_it():
    import tracker
    import tracker.api as api

    for name in api.__all__:
        assert getattr(api, name) is getattr(tracker, name), name
    with pytest.raises(AttributeError):
        api.no_such_name  # noqa: B018


def test_api_names_are_documented():
    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    import tracker.api as api

    undocumented = [name for name in api.__all__ if f"`{name}" not in doc]
    assert undocumented == []
    changelog = (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
    assert f"API {api.API_VERSION}" in changelog


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def host_graph() -> dict[str, set[str]]:
    mods = {name: info for name, info in module_names().items() if not name.startswith("tracker.plugins")}
    graph = {}
    for name, (path, is_package) in mods.items():
        deps = set()
        for module, names, _ in imports_of(path, name, is_package):
            for target in [module, *(f"{module}.{n}" for n in names)]:
                while target not in mods and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in mods and target != name:
                    deps.add(target)
        graph[name] = deps
    return graph


def test_the_host_has_no_import_cycle():
    graph = host_graph()
    assert graph["tracker.cli"], "the graph was read"  # cli imports app, errors, ...
    assert find_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_host_commands_live_in_the_host_and_register_like_plugins(app):
    from tracker.plugin_host import BUILTIN_MODULES

    features = {name for name, module in BUILTIN_MODULES.items() if module.startswith("tracker.plugins.")}
    assert {"fetch", "localmail", "weekly"}.isdisjoint(features)
    assert not (ROOT / "plugins" / "weekly.py").exists()
    commands = {"run", "fetch", "import", "site", "digest", "plugins", "migrate", "analyze"}
    from tracker.cli import build_cli

    group = build_cli(app)
    assert commands <= set(group.commands)
    # registered through the hook, like a plugin's: the host module implements register_commands
    registering = {impl.plugin.__name__ for impl in app.host.pm.hook.register_commands.get_hookimpls()}
    assert {"tracker.commands.host", "tracker.commands.fetch", "tracker.commands.imports", "tracker.commands.weekly"} <= registering


RUST_PATCH = """From: Ada Author <ada@example.org>
Subject: [PATCH v2 1/1] rust: kernel: add a Mutex guard helper
Date: Tue, 16 Nov 2021 10:00:00 +0000
Message-ID: <rust-guard-v2@example.org>
To: rust-for-linux@vger.kernel.org

Add a helper.

Signed-off-by: Ada Author <ada@example.org>
---
 rust/kernel/sync.rs | 2 ++
 1 file changed, 2 insertions(+)

diff --git a/rust/kernel/sync.rs b/rust/kernel/sync.rs
--- a/rust/kernel/sync.rs
+++ b/rust/kernel/sync.rs
@@ -1,1 +1,3 @@
 // SPDX-License-Identifier: GPL-2.0
+// a helper
+pub fn guard() {}
"""


def test_the_rust_section_written_from_the_docs_alone_works(tmp_path):
    """docs/plugins.md's Rust-for-Linux example, taken from the page as a reader would, runs as written."""
    import types

    from tracker.api import edition_for
    from tracker.ingest import import_paths
    from tracker.testing import make_app

    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    start = doc.index("A section for Rust-for-Linux, from this page alone:")
    code = doc[doc.index("```python\n", start) + len("```python\n"):doc.index("```\n", doc.index("```python\n", start) + 10)]
    module = types.ModuleType("rust_section")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)  # noqa: S102 - the documented example itself
    app = make_app(tmp_path / "k.db", plugins=[("rust", module)])
    (tmp_path / "rust.patch").write_text(RUST_PATCH)
    import_paths(app.db, [tmp_path / "rust.patch"])
    [sections] = [r for name, r in app.host.call_each("edition_sections", edition=edition_for("2021-W46"), db=app.db, config=app.config) if name == "rust"]
    assert [s.title for s in sections] == ["Rust for Linux"]
    assert sections[0].items[0]["text"] == "rust: kernel: add a Mutex guard helper (v2)"
    assert sections[0].items[0]["link"] == "https://lore.kernel.org/r/rust-guard-v2@example.org"
