"""The packaged example plugin (examples/ktrack-io-uring) loads through its real entry point.

These run `ktrack` in a subprocess, so nothing but the installed distribution
metadata tells ktrack about the plugin. CI installs every examples/*/ first.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from tracker import __version__

HOOKS = ["claim_series", "config_defaults", "edition_sections", "site_pages", "template_dirs"]


@pytest.fixture(scope="module")
def example_dist():
    try:
        return importlib.metadata.distribution("ktrack-io-uring")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("ktrack-io-uring is not installed: run `pip install -e examples/ktrack-io-uring`")


def run_ktrack(tmp_path, *args, env=None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KTRACK_")}
    environ["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    environ["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tracker", "--db", str(tmp_path / "k.db"), *args],
        capture_output=True, text=True, env=environ, timeout=120,
    )


def test_example_plugin_listed_with_version_and_hooks(tmp_path, example_dist):
    proc = run_ktrack(tmp_path, "plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert infos["io_uring"]["hooks"] == HOOKS
    assert infos["io_uring"]["builtin"] is False


def test_example_plugin_version_is_its_distribution_version(tmp_path, example_dist):
    proc = run_ktrack(tmp_path, "plugins", "--json")
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert infos["io_uring"]["version"] == example_dist.version
    text = run_ktrack(tmp_path, "plugins")
    assert f"io_uring {example_dist.version}" in text.stdout


def test_plugins_all_shows_builtins_and_the_example(tmp_path, example_dist):
    proc = run_ktrack(tmp_path, "plugins", "--all", "--json")
    assert proc.returncode == 0, proc.stderr
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert infos["categories"]["builtin"] is True
    assert infos["categories"]["version"]
    assert {"config_defaults", "edition_sections", "series_category"} <= set(infos["categories"]["hooks"])
    assert infos["io_uring"]["hooks"] == HOOKS
    text = run_ktrack(tmp_path, "plugins", "--all")
    assert "\nio_uring " in text.stdout and f"categories {__version__} (built-in)" in text.stdout
    assert "  hooks: " + ", ".join(HOOKS) in text.stdout


def test_example_plugin_obeys_load_filter_and_config(tmp_path, example_dist):
    only = run_ktrack(tmp_path, "plugins", "--all", "--json", env={"KTRACK_LOAD_PLUGINS": "io_uring"})
    assert [i["name"] for i in json.loads(only.stdout)] == ["io_uring"]
    config = tmp_path / "config.toml"
    config.write_text("[plugins.io_uring]\nenabled = false\n")
    off = run_ktrack(tmp_path, "--config", str(config), "plugins", "--json")
    assert "io_uring" not in {i["name"] for i in json.loads(off.stdout)}


def test_example_plugin_config_table_is_validated(tmp_path, example_dist):
    config = tmp_path / "config.toml"
    config.write_text('[plugins.io_uring]\npage = "subsystems/io_uring.html"\nsubject_prefix = ["x"]\n')
    proc = run_ktrack(tmp_path, "--config", str(config), "plugins", "--json")
    assert proc.returncode != 0
    assert "unknown key plugins.io_uring.subject_prefix" in proc.stderr
    assert "Traceback" not in proc.stderr
