"""The plugin host: loading, KTRACK_LOAD_PLUGINS, failure isolation, misspelled hooks."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tracker import hookimpl
from tracker.plugin_host import BUILTIN_PLUGINS, create_host


def run_ktrack(args, *, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KTRACK_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


@pytest.fixture
def plugin_dir(tmp_path):
    (tmp_path / "hello_plugin.py").write_text(
        textwrap.dedent(
            '''
            import click
            from tracker import hookimpl

            @hookimpl
            def register_commands(cli):
                @cli.command()
                def hello():
                    """Say hello."""
                    click.echo("hello from a plugin")
            '''
        )
    )
    (tmp_path / "broken_plugin.py").write_text("import no_such_module_here\n")
    (tmp_path / "typo_plugin.py").write_text(
        "from tracker import hookimpl\n\n@hookimpl\ndef register_comands(cli):\n    pass\n"
    )
    (tmp_path / "raising_plugin.py").write_text(
        "from tracker import hookimpl\n\n@hookimpl\ndef register_commands(cli):\n    raise RuntimeError('boom')\n"
    )
    return tmp_path


def test_plugin_module_registered_in_subprocess_via_env(plugin_dir, tmp_path):
    result = run_ktrack(
        ["--db", str(tmp_path / "k.db"), "hello"],
        env_extra={"KTRACK_LOAD_PLUGINS": "hello_plugin", "PYTHONPATH": str(plugin_dir)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from a plugin"


def test_load_plugins_env_restricts_and_lists(plugin_dir, tmp_path):
    result = run_ktrack(
        ["plugins", "--all", "--json"],
        env_extra={"KTRACK_LOAD_PLUGINS": "hello_plugin", "PYTHONPATH": str(plugin_dir)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    names = {p["name"]: p for p in json.loads(result.stdout)}
    assert set(names) == {"hello_plugin"}
    assert names["hello_plugin"]["hooks"] == ["register_commands"]
    assert names["hello_plugin"]["builtin"] is False


def test_empty_load_plugins_loads_none(tmp_path):
    result = run_ktrack(["plugins", "--all", "--json"], env_extra={"KTRACK_LOAD_PLUGINS": ""}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_plugin_failing_to_import_is_reported_and_cli_survives(plugin_dir, tmp_path):
    result = run_ktrack(
        ["plugins", "--all", "--json"],
        env_extra={"KTRACK_LOAD_PLUGINS": "broken_plugin", "PYTHONPATH": str(plugin_dir)},
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert "plugin broken_plugin failed in import: ModuleNotFoundError" in result.stderr
    assert json.loads(result.stdout) == []
    assert "Traceback" not in result.stderr


def test_misspelled_hook_is_refused_by_name(plugin_dir, tmp_path):
    result = run_ktrack(
        ["plugins", "--all", "--json"],
        env_extra={"KTRACK_LOAD_PLUGINS": "typo_plugin", "PYTHONPATH": str(plugin_dir)},
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert "typo_plugin" in result.stderr and "register_comands" in result.stderr
    assert json.loads(result.stdout) == []


def test_plugin_raising_in_hook_does_not_take_cli_down(plugin_dir, tmp_path):
    result = run_ktrack(
        ["plugins", "--all", "--json"],
        env_extra={"KTRACK_LOAD_PLUGINS": "raising_plugin", "PYTHONPATH": str(plugin_dir)},
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert "plugin raising_plugin failed in register_commands: RuntimeError: boom" in result.stderr


class Good:
    @hookimpl
    def template_dirs(self):
        return ["/good"]


class Bad:
    @hookimpl
    def template_dirs(self):
        raise ValueError("bad plugin")


def test_call_isolates_a_raising_implementation(monkeypatch):
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "")
    host = create_host()
    host.pm.register(Good(), name="good")
    host.pm.register(Bad(), name="bad")
    assert host.call("template_dirs") == [["/good"]]
    assert [(p.plugin, p.where) for p in host.problems] == [("bad", "template_dirs")]


def test_firstresult_call_skips_failures_and_none(monkeypatch):
    class Nothing:
        @hookimpl(tryfirst=True)
        def series_category(self, series):
            return None

    class Raises:
        @hookimpl(tryfirst=True)
        def series_category(self, series):
            raise KeyError("files")

    class Answer:
        @hookimpl
        def series_category(self, series):
            return "Networking"

    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "")
    host = create_host()
    for plugin in (Answer(), Raises(), Nothing()):
        host.pm.register(plugin)
    assert host.call_first("series_category", series={}, config={}) == "Networking"
    assert len(host.problems) == 1


def test_config_disables_a_builtin_plugin(monkeypatch):
    monkeypatch.delenv("KTRACK_LOAD_PLUGINS", raising=False)
    assert BUILTIN_PLUGINS, "built-in features are plugins"
    victim = BUILTIN_PLUGINS[0]
    assert create_host().pm.has_plugin(victim)
    host = create_host(disabled={victim})
    assert not host.pm.has_plugin(victim)
