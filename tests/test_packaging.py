"""The wheel ships the host, the built-in plugins as tracker.plugins and the theme as tracker.site."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the tracked tree: setuptools leaves build/ behind in
    # the source folder, and a stale build/ could hide a file the wheel misses.
    src = tmp_path_factory.mktemp("src") / "kernel-tracker"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("kernel_tracker-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_has_no_top_level_plugins_module(wheel_names):
    top_levels = {name.split("/")[0] for name in wheel_names}
    assert "plugins" not in top_levels and "site" not in top_levels
    assert "tracker" in top_levels


def test_wheel_ships_every_builtin_plugin(wheel_names):
    from tracker.plugin_host import BUILTIN_MODULES, HOST_PLUGIN

    for module in [*BUILTIN_MODULES.values(), HOST_PLUGIN[1]]:
        path = module.replace(".", "/")
        assert f"{path}.py" in wheel_names or f"{path}/__init__.py" in wheel_names, module


def test_wheel_ships_the_theme(wheel_names):
    templates = [n for n in wheel_names if n.startswith("tracker/site/templates/") and n.endswith(".html")]
    assert "tracker/site/templates/base.html" in templates


def test_wheel_entry_point_is_ktrack(wheel_names):
    (entry_points,) = [n for n in wheel_names if n.endswith(".dist-info/entry_points.txt")]
    assert entry_points
