"""The TOML config: defaults, strict keys, plugin tables, disabling plugins."""

import pytest

from tracker import hookimpl
from tracker.config import build_config, disabled_plugins, read_config_file
from tracker.errors import KtrackError


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_config_file_gives_defaults(tmp_path):
    config = build_config(read_config_file(tmp_path / "absent.toml"), {})
    assert config["edition"]["weekday"] == "sunday"
    assert config["mail"]["port"] == 25


def test_explicit_missing_config_is_an_error(tmp_path):
    with pytest.raises(KtrackError, match="does not exist"):
        read_config_file(tmp_path / "absent.toml", explicit=True)


def test_unknown_top_level_key_is_an_error(tmp_path):
    raw = read_config_file(write(tmp_path, 'edtion = "typo"\n'))
    with pytest.raises(KtrackError, match="unknown key edtion"):
        build_config(raw, {})


def test_unknown_nested_key_names_its_path(tmp_path):
    raw = read_config_file(write(tmp_path, "[mail]\nhots = 'smtp.example.org'\n"))
    with pytest.raises(KtrackError, match=r"unknown key mail\.hots"):
        build_config(raw, {})


def test_plugin_table_merges_over_plugin_defaults(tmp_path):
    raw = read_config_file(write(tmp_path, "[plugins.lore]\nlists = ['linux-api']\n"))
    config = build_config(raw, {"lore": {"lists": ["lkml"], "base_url": "https://lore.kernel.org"}})
    assert config["plugins"]["lore"] == {"enabled": True, "lists": ["linux-api"], "base_url": "https://lore.kernel.org"}


def test_unknown_plugin_key_and_unknown_plugin_are_errors(tmp_path):
    raw = read_config_file(write(tmp_path, "[plugins.lore]\nlist = ['x']\n"))
    with pytest.raises(KtrackError, match=r"unknown key plugins\.lore\.list"):
        build_config(raw, {"lore": {"lists": []}})
    raw = read_config_file(write(tmp_path, "[plugins.lroe]\n"))
    with pytest.raises(KtrackError, match=r"unknown plugin \[plugins\.lroe\]"):
        build_config(raw, {"lore": {}})


def test_invalid_toml_is_one_line_with_the_file(tmp_path):
    with pytest.raises(KtrackError, match="invalid TOML"):
        read_config_file(write(tmp_path, "[mail\n"))


def test_disabled_plugin_table_is_accepted(tmp_path):
    raw = read_config_file(write(tmp_path, "[plugins.lore]\nenabled = false\n"))
    assert disabled_plugins(raw) == {"lore"}
    config = build_config(raw, {})  # lore is not loaded, its table is still valid
    assert config["plugins"]["lore"] == {"enabled": False}


def test_cli_reports_config_errors_without_traceback(ktrack, tmp_path, app):
    path = write(tmp_path, "[site]\ntitel = 'x'\n")
    result = ktrack("--config", path, "migrate")
    assert result.exit_code != 0
    assert "unknown key site.titel" in result.output
    assert "Traceback" not in result.output


class _Checker:
    """A plugin whose check_config rejects one value and crashes on another."""

    @staticmethod
    @hookimpl
    def check_config(config):
        title = config["site"]["title"]
        if title == "crash":
            raise ValueError("checker bug")
        if not title:
            raise KtrackError(f"{config['_path']}: site.title must not be empty")


def test_check_config_hook_stops_on_user_error_and_isolates_plugin_bugs(app, tmp_path):
    app.host.pm.register(_Checker, name="checker")
    app.use_config(write(tmp_path, "[site]\ntitle = ''\n"))
    with pytest.raises(KtrackError, match="site.title must not be empty"):
        app.config
    app.use_config(write(tmp_path, "[site]\ntitle = 'crash'\n"))
    assert app.config["site"]["title"] == "crash"  # the plugin's own bug does not stop the user
    assert any(p.plugin == "checker" and p.where == "check_config" and "checker bug" in p.error for p in app.host.problems)


def test_run_with_a_malformed_watch_topic_stops_before_any_work(ktrack, tmp_path):
    path = write(tmp_path, "[plugins.watch.topics.x]\ntitle = 'X'\n")
    out = tmp_path / "site"
    result = ktrack("--config", path, "run", "--sample", "--out", out)
    assert result.exit_code != 0 and "plugins.watch.topics.x has no rule" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()
