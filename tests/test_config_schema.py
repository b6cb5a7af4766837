"""The config is checked against a schema once, when it is loaded: one line per mistake, never a traceback.

Every case here is a mistake a user makes in a real config file; each must
stop the command with one line naming the file, the key, what was expected
and what was found (issue 14.2). Plugins declare their schema once, through
config_defaults, and read their own table through plugin_config (issue 15.4).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import hookimpl
from tracker.config import Setting, build_config, lore_base_url, plugin_config, read_config_file
from tracker.errors import KtrackError
from tracker.testing import make_app

ROOT = Path(__file__).resolve().parent.parent


def ktrack_proc(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KTRACK_")}
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return subprocess.run([sys.executable, "-m", "tracker", "--db", str(tmp_path / "k.db"), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def load(tmp_path, text: str, schemas: dict | None = None, known=()):
    return build_config(read_config_file(write(tmp_path, text)), schemas or {}, known_plugins=known)


# The three values of issue 14 that ended in a traceback, through the real CLI.
@pytest.mark.parametrize(
    "text, key, expected, found",
    [
        ("db = 5\n", "db", "a string", "an integer (5)"),
        ("[site]\nout = 5\n", "site.out", "a string", "an integer (5)"),
        ("[site]\nbase_url = 7\n", "site.base_url", "a string", "an integer (7)"),
    ],
)
def test_wrong_type_is_one_line_naming_file_key_expected_and_found(tmp_path, text, key, expected, found):
    path = write(tmp_path, text)
    # `run` reads [site] out and base_url, `migrate` opens [db]: each crashed before.
    for command in (["run", "--sample"], ["migrate"]):
        result = ktrack_proc(tmp_path, "--config", path, *command)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines == [f"Error: {path}: {key}: expected {expected}, found {found}"]
    assert not (tmp_path / "k.db").exists()  # stopped before any work


def test_unknown_plugin_is_an_error_even_when_disabled(tmp_path):
    result = ktrack_proc(tmp_path, "--config", write(tmp_path, "[plugins.nosuch]\nenabled = false\n"), "migrate")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {tmp_path / 'config.toml'}: unknown plugin [plugins.nosuch] (known: ")
    assert "lore" in lines[0]
    result = ktrack_proc(tmp_path, "--config", write(tmp_path, "[plugins.lroe]\nenabled = false\n"), "migrate")
    assert "unknown plugin [plugins.lroe] (did you mean [plugins.lore]?)" in result.stderr


def test_disabling_a_real_plugin_still_works(tmp_path):
    result = ktrack_proc(tmp_path, "--config", write(tmp_path, "[plugins.lore]\nenabled = false\n"), "plugins", "--all")
    assert result.returncode == 0, result.stderr
    assert "\nlore " not in "\n" + result.stdout and "kernelorg" in result.stdout


@pytest.mark.parametrize(
    "text, message",
    [
        ("[site]\ntitel = 'x'\n", "unknown key site.titel (did you mean site.title?)"),
        ("[sitee]\nout = 'x'\n", "unknown key sitee (did you mean site?)"),
        ("[mail]\nhots = 'smtp'\n", "unknown key mail.hots (did you mean mail.host?)"),
        ("[plugins.lore]\nbackfil = 'git'\n", "unknown key plugins.lore.backfil (did you mean plugins.lore.backfill?)"),
    ],
)
def test_unknown_key_gets_a_did_you_mean(tmp_path, text, message):
    app = make_app(tmp_path / "k.db")
    app.use_config(write(tmp_path, text))
    with pytest.raises(KtrackError) as info:
        app.config
    assert info.value.message == f"{tmp_path / 'config.toml'}: {message}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[plugins.lore]\nlists = [{url = 'x'}]\n", "plugins.lore.lists[0]: expected a string, found a table"),
        ("[plugins.lore]\nlists = 'lkml'\n", "plugins.lore.lists: expected a list of strings, found a string ('lkml')"),
        ("[plugins.lore]\nbackfill = 'gti'\n", "plugins.lore.backfill: expected one of 'query', 'git', found a string ('gti')"),
        ("[plugins.lore]\ninterval_seconds = '1h'\n", "plugins.lore.interval_seconds: expected an integer, found a string ('1h')"),
        ("[plugins.lore]\nenabled = 'no'\n", "plugins.lore.enabled: expected true or false, found a string ('no')"),
        ("[plugins.fetch]\ntimeout = true\n", "plugins.fetch.timeout: expected a number, found true"),
        ("[plugins.stable_review]\nvulns_path = 3\n", "plugins.stable_review.vulns_path: expected a string, found an integer (3)"),
        ("[digest]\nformat = 'pdf'\n", "digest.format: expected one of 'markdown', 'text', 'html', 'json', found a string ('pdf')"),
        ("[edition]\nweekday = 'caturday'\n", "edition.weekday: expected a day name like 'sunday', found a string ('caturday')"),
        ("[mail]\nport = '25'\n", "mail.port: expected an integer, found a string ('25')"),
        ("[mail]\nto = [1]\n", "mail.to[0]: expected a string, found an integer (1)"),
        ("site = 'x'\n", "site: expected a table, found a string ('x')"),
        ("plugins = 3\n", "plugins: expected a table of [plugins.<name>] tables, found an integer (3)"),
    ],
)
def test_every_known_key_is_checked_when_loaded(tmp_path, text, message):
    app = make_app(tmp_path / "k.db")
    app.use_config(write(tmp_path, text))
    with pytest.raises(KtrackError) as info:
        app.config
    assert info.value.message == f"{tmp_path / 'config.toml'}: {message}"


def test_values_that_fit_pass_and_keep_their_form(tmp_path):
    app = make_app(tmp_path / "k.db")
    app.use_config(write(tmp_path, "[mail]\nto = 'me@example.org'\n[edition]\nweekday = 'fri'\n"
                                   "[plugins.fetch]\ntimeout = 10\n[plugins.lore]\nbackfill = 'git'\ngit_dir = '/srv/lore'\n"))
    config = app.config
    assert config["mail"]["to"] == "me@example.org"  # one address is still accepted, as the mailer does
    assert config["edition"]["weekday"] == "fri"
    assert config["plugins"]["fetch"]["timeout"] == 10  # an integer where a number is expected
    assert plugin_config(config, "lore")["git_dir"] == "/srv/lore"
    assert plugin_config(config, "lore")["lists"] == ["lkml", "stable", "linux-api"]  # defaults filled in


class Limits:
    """A third-party plugin declaring its schema once: plain defaults plus Settings."""

    @staticmethod
    @hookimpl
    def config_defaults():
        return {
            "limit": 10,
            "mode": Setting("fast", choices=("fast", "thorough")),
            "cache": Setting(None, str),
            "tags": Setting([], items=str),
            "nested": {"depth": 2},
        }


def test_a_plugin_declares_defaults_and_schema_once_and_reads_its_own_table(tmp_path):
    app = make_app(tmp_path / "k.db", plugins=[("limits", Limits)], config={"plugins": {"limits": {"mode": "thorough"}}})
    assert plugin_config(app.config, "limits") == {
        "enabled": True, "limit": 10, "mode": "thorough", "cache": None, "tags": [], "nested": {"depth": 2},
    }
    for table, message in [
        ({"mode": "slow"}, "plugins.limits.mode: expected one of 'fast', 'thorough', found a string ('slow')"),
        ({"cache": 5}, "plugins.limits.cache: expected a string, found an integer (5)"),
        ({"tags": ["a", 2]}, "plugins.limits.tags[1]: expected a string, found an integer (2)"),
        ({"nested": {"depht": 3}}, "unknown key plugins.limits.nested.depht (did you mean plugins.limits.nested.depth?)"),
        ({"limit": 1.5}, "plugins.limits.limit: expected an integer, found a number (1.5)"),
    ]:
        bad = make_app(tmp_path / "k2.db", plugins=[("limits", Limits)], config={"plugins": {"limits": table}})
        with pytest.raises(KtrackError) as info:
            bad.config
        assert info.value.message == f"config: {message}"


def test_plugin_config_of_a_plugin_not_loaded_is_a_clear_error():
    with pytest.raises(KtrackError, match=r"no \[plugins.lore\] table"):
        plugin_config({"plugins": {}}, "lore")


def test_a_known_plugin_left_out_by_load_plugins_keeps_its_table(tmp_path):
    # KTRACK_LOAD_PLUGINS=weekly with a config that sets up lore: lore's table is not a typo.
    config = load(tmp_path, "[plugins.lore]\nlists = ['linux-api']\n", known={"lore"})
    assert config["plugins"]["lore"] == {"lists": ["linux-api"]}


class DocsSourceExample:
    """The register_sources example of docs/plugins.md: the lore mirror through the host's helper."""

    @staticmethod
    @hookimpl
    def register_sources(register, config):
        from tracker.sources import Source

        class IoUringQuery(Source):
            kind = "lore"
            interval_seconds = 3600

            def __init__(self, base_url):
                self.name = "lore:io-uring"
                self.url = f"{base_url}/io-uring/new.atom"

        register(IoUringQuery(lore_base_url(config)))


@pytest.mark.parametrize("lore_table, url", [
    ({"enabled": False}, "https://lore.kernel.org/io-uring/new.atom"),
    ({"base_url": "https://mirror.example.org/"}, "https://mirror.example.org/io-uring/new.atom"),
])
def test_docs_source_example_works_with_lore_disabled(tmp_path, lore_table, url):
    from tracker.fetching import collect_sources

    app = make_app(tmp_path / "k.db", plugins=[("docs_example", DocsSourceExample)], config={"plugins": {"lore": lore_table}})
    sources = {s.name: s for s in collect_sources(app)}
    assert sources["lore:io-uring"].url == url
    assert app.host.problems == []
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert "lore_base_url(config)" in docs and 'config["plugins"]["lore"]' not in docs


def test_no_plugin_digs_in_the_whole_config():
    """Plugins read their own table with plugin_config, shared settings with the host's helpers (issue 15.4)."""
    offenders = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""\.get\(\s*["']plugins["']|\[\s*["']plugins["']\s*\]""", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def _key_paths(schema: dict, prefix: tuple = ()):
    for key, spec in schema.items():
        yield prefix + (key,)
        if isinstance(spec, dict) and spec:
            yield from _key_paths(spec, prefix + (key,))


def test_no_value_of_any_type_at_any_known_key_gives_a_traceback(tmp_path):
    """Every key of the host's and the built-in plugins' schemas, given a value of every TOML type:
    the config either loads or stops with the one-line error naming that key."""
    import datetime

    from tracker.config import CORE_SCHEMA

    app = make_app(tmp_path / "k.db")
    schema = {**{k: v for k, v in CORE_SCHEMA.items() if k != "plugins"},
              "plugins": {name: {"enabled": True, **table} for name, table in app.config_schemas.items()}}
    values = [5, -1, 1.5, True, "x", "", [], ["x"], [1], [{"a": 1}], {}, {"a": 1}, datetime.date(2021, 1, 1)]
    checked = 0
    for path in _key_paths(schema):
        for value in values:
            raw: dict = {"_path": "c.toml"}
            node = raw
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
            app.raw_config = raw  # the same plugins, a new file
            app.__dict__.pop("config", None)
            try:
                config = app.config
            except KtrackError as exc:
                line = exc.message
                assert "\n" not in line and line.startswith("c.toml: "), line
                dotted = ".".join(path)
                assert dotted.split(".")[0] in line, (dotted, line)
                continue
            checked += 1
            # What the host reads from a loaded config has the type it expects.
            assert config["db"] is None or isinstance(config["db"], str)
            assert all(isinstance(config["site"][k], str) or config["site"][k] is None for k in config["site"])
    assert checked > 50  # values that fit were accepted, not everything refused
