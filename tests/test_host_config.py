"""The TOML config: defaults, strict keys, plugin tables, disabling plugins."""

import pytest

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
