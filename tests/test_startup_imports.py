"""Building the CLI must not import what only some commands use.

Every `ktrack` start (e.g. `ktrack import FILE` from cron) imports every
plugin module to build the click group; the stable-review classifier, the
syscall/sysctl detectors and the edition/digest code belong inside the hooks
and commands that use them. A fresh interpreter shows what a start loads.
"""

import json
import subprocess
import sys

HEAVY = [
    "tracker.plugins.stable_review.classifier",
    "tracker.plugins.stable_review.features",
    "tracker.plugins.stable_review.describe",
    "tracker.plugins.stable_review.cves",
    "tracker.plugins.stable_review.review",
    "tracker.plugins.stable_review.store",
    "tracker.plugins.syscalls.detect",
    "tracker.plugins.syscalls.diffparse",
    "tracker.plugins.syscalls.tracking",
    "tracker.plugins.syscalls.history",
    "tracker.plugins.sysctls.detect",
    "tracker.plugins.sysctls.docs",
    "tracker.plugins.sysctls.tracking",
    "tracker.plugins.categories_maintainers",
    "tracker.plugins.proposals",
    "tracker.edition",
    "tracker.digest",
    "tracker.queries",
    "tracker.series",
    "tracker.ingest",
]

SCRIPT = """
import json, sys
from tracker.cli import main
try:
    main(["import", "--help"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(m for m in sys.modules if m.startswith("tracker"))}))
"""


def loaded_after(tmp_path, script: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KTRACK_DB": str(tmp_path / "k.db")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_startup_imports_import_help_skips_heavy_modules(tmp_path):
    seen = loaded_after(tmp_path, SCRIPT)
    assert seen["exit"] == 0
    modules = set(seen["modules"])
    # The plugins themselves are loaded: their commands exist.
    assert {"tracker.plugins.stable_review", "tracker.plugins.syscalls", "tracker.plugins.sysctls", "tracker.commands.weekly"} <= modules
    assert sorted(modules & set(HEAVY)) == []


def test_startup_imports_check_sees_a_loaded_module(tmp_path):
    """The probe itself works: a command module that is imported shows up."""
    seen = loaded_after(tmp_path, "import tracker.plugins.syscalls.detect\n" + SCRIPT)
    assert "tracker.plugins.syscalls.detect" in seen["modules"]


def test_help_does_not_load_sqlite_utils(tmp_path):
    """sqlite-utils is a fifth of a start: it loads with the first command that opens the database (issue 19)."""
    script = SCRIPT.replace('m.startswith("tracker")', 'm.startswith(("tracker", "sqlite_utils"))').replace('["import", "--help"]', '["--help"]')
    seen = loaded_after(tmp_path, script)
    assert seen["exit"] == 0
    assert "tracker.plugins.syscalls" in seen["modules"]  # the plugins were loaded: their commands are listed
    assert not [m for m in seen["modules"] if m.startswith("sqlite_utils")]
