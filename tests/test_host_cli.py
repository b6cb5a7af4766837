"""The CLI surface of the host: --version, --help, plugins, migrate."""

import json
import subprocess
import sys

from tracker import __version__
from tracker.plugin_host import BUILTIN_PLUGINS


def test_version_and_help_need_no_database(tmp_path):
    env_db = tmp_path / "never-created.db"
    out = subprocess.run(
        [sys.executable, "-m", "tracker", "--db", str(env_db), "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"ktrack, version {__version__}"
    out = subprocess.run([sys.executable, "-m", "tracker", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("plugins", "migrate", "analyze"):
        assert command in out.stdout
    assert not env_db.exists()


def test_plugins_json_lists_builtins_with_hooks(ktrack):
    result = ktrack("plugins", "--all", "--json")
    assert result.exit_code == 0
    infos = json.loads(result.output)
    assert all(set(info) >= {"name", "version", "hooks", "builtin"} for info in infos)
    builtins = {info["name"]: info for info in infos if info["builtin"]}
    assert set(builtins) == set(BUILTIN_PLUGINS)
    assert all(info["version"] == __version__ and info["hooks"] for info in builtins.values())
    without_builtins = json.loads(ktrack("plugins", "--json").output)
    assert all(not info["builtin"] for info in without_builtins)
    assert [i["name"] for i in without_builtins] == [i["name"] for i in infos if not i["builtin"]]


def test_migrate_list_json(ktrack):
    result = ktrack("migrate", "--list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert (rows[0]["set"], rows[0]["name"], rows[0]["applied"]) == ("ktrack", "m001_initial", True)
    assert all(row["applied"] and row["applied_at"] for row in rows)


def test_unknown_command_is_a_usage_error(ktrack):
    result = ktrack("no-such-command")
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_reader_leaving_early_is_not_an_error(tmp_path):
    """`ktrack series | head -1`: no "Broken pipe" error, no traceback, exit 0."""
    from tracker.db import open_db

    db_path = tmp_path / "k.db"
    db = open_db(db_path)
    # Synthetic rows, only for volume: the output must be larger than a pipe buffer.
    db["series"].insert_all(
        {"series_key": f"{i}@example.org", "subject": f"mm: patch number {i} " + "x" * 100, "date": "2021-01-01", "total": 1, "received": 1}
        for i in range(3000)
    )
    db.conn.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--db", str(db_path), "series"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away, like `head` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""
