"""tracker.testing: the fixtures and helpers plugin authors test with."""

from __future__ import annotations

import json

import pytest
from sqlite_utils import Migrations

from tracker import hookimpl
from tracker.edition import Section, edition_for
from tracker.errors import KtrackError
from tracker.plugin_host import BUILTIN_PLUGINS, HOST_PLUGIN
from tracker.testing import make_app, plugin_name, run_cli


class Greeter:
    """A plugin object with its own table, config table and edition section."""

    @hookimpl
    def config_defaults(self):
        return {"greeting": "hello"}

    @hookimpl
    def register_migrations(self, register):
        migrations = Migrations("greeter")

        @migrations()
        def m001_greetings(db):
            db["greeter_greetings"].create({"id": int, "text": str}, pk="id")

        register(migrations)

    @hookimpl
    def edition_sections(self, edition, config):
        text = f"{config['plugins']['greeter']['greeting']} {edition['week']}"
        return [Section(key="greeter", title="Greetings", items=[{"text": text}])]


class Misspelled:
    @hookimpl
    def edition_section(self, edition):  # missing "s": not a hook
        return []


def test_make_app_registers_plugin_on_real_migrated_store(tmp_path):
    app = make_app(tmp_path / "k.db", plugins=[("greeter", Greeter())])
    assert "greeter_greetings" in app.db.table_names()  # the plugin's migration ran on open
    assert "series" in app.db.table_names()  # and the core schema
    assert (tmp_path / "k.db").read_bytes().startswith(b"SQLite format 3\x00")
    sections = [s for r in app.host.call("edition_sections", edition=edition_for("2021-W37"), db=app.db, config=app.config) for s in r]
    assert [s.items[0]["text"] for s in sections if s.key == "greeter"] == ["hello 2021-W37"]


def test_make_app_config_is_validated_like_a_file(tmp_path):
    app = make_app(tmp_path / "k.db", plugins=[("greeter", Greeter())], config={"plugins": {"greeter": {"greeting": "hi"}}})
    assert app.config["plugins"]["greeter"]["greeting"] == "hi"
    bad = make_app(tmp_path / "k2.db", plugins=[("greeter", Greeter())], config={"plugins": {"greeter": {"greting": "hi"}}})
    with pytest.raises(KtrackError, match="unknown key plugins.greeter.greting"):
        bad.config


def test_make_app_disabled_in_config_is_not_loaded(tmp_path):
    app = make_app(tmp_path / "k.db", config={"plugins": {"categories": {"enabled": False}}})
    assert not app.host.pm.has_plugin("categories")


def test_make_app_rejects_misspelled_hook(tmp_path):
    with pytest.raises(ValueError, match="edition_section"):
        make_app(tmp_path / "k.db", plugins=[("oops", Misspelled())])


def test_make_app_builtins_only_by_default_and_none_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "nothing-at-all")  # the helper must not depend on the caller's env
    app = make_app(tmp_path / "k.db", plugins=[("greeter", Greeter())])
    names = {name for name, _ in app.host.pm.list_name_plugin()}
    assert "greeter" in names and "categories" in names
    assert names - {"greeter", HOST_PLUGIN[0]} <= set(BUILTIN_PLUGINS)  # no installed entry-point plugin (e.g. io_uring)
    with_eps = make_app(tmp_path / "k3.db", entry_points=True)
    assert {name for name, _ in with_eps.host.pm.list_name_plugin()} >= set(BUILTIN_PLUGINS) - {p.plugin for p in with_eps.host.problems}
    bare = make_app(tmp_path / "k2.db", plugins=[("greeter", Greeter())], builtins=False)
    # no plugin but the host's own commands (plugins, migrate, analyze), which are always there
    assert {name for name, _ in bare.host.pm.list_name_plugin()} == {"greeter", HOST_PLUGIN[0]}
    import os

    assert os.environ["KTRACK_LOAD_PLUGINS"] == "nothing-at-all"  # restored


def test_run_cli_runs_commands_against_the_app(tmp_path):
    app = make_app(tmp_path / "k.db", plugins=[("greeter", Greeter())])
    result = run_cli(app, "plugins", "--all", "--json")
    assert result.exit_code == 0, result.output
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert infos["greeter"]["hooks"] == ["config_defaults", "edition_sections", "register_migrations"]
    assert "categories" in infos


def test_plugin_name_of_module_and_object():
    import tracker.plugins.categories as categories

    assert plugin_name(categories) == "tracker.plugins.categories"
    assert plugin_name(Greeter()) == "Greeter"


@pytest.fixture
def ktrack_plugins():
    return [("greeter", Greeter())]


@pytest.fixture
def ktrack_config():
    return {"plugins": {"greeter": {"greeting": "moin"}}}


def test_pytest_fixtures_use_overridden_plugins_and_config(ktrack_app, ktrack_db, ktrack_cli, ktrack_db_path):
    assert ktrack_app.config["plugins"]["greeter"]["greeting"] == "moin"
    assert ktrack_db.table_names() and ktrack_db_path.exists()
    result = ktrack_cli("plugins", "--all", "--json")
    assert "greeter" in {i["name"] for i in json.loads(result.output)}


def test_import_mbox_threads_real_mail(ktrack_app, ktrack_db):
    from pathlib import Path

    from tracker.testing import import_mbox

    stats = import_mbox(ktrack_app, Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox")
    assert stats.new == 22
    assert ktrack_db["series"].count == 5
