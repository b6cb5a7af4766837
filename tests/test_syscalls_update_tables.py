"""`ktrack syscalls update-tables`: per-release tables from git.kernel.org (served locally) or a local git checkout (issue 16)."""

import json
import subprocess
from pathlib import Path

import pytest

from tracker.findings import save_findings
from tracker.plugins import syscalls as plugin

TABLES = Path(__file__).parent / "data" / "syscalls" / "tables"
X86 = "arch/x86/entry/syscalls/syscall_64.tbl"
GENERIC = "scripts/syscall.tbl"


def listns_proposal(db):
    """A 2025 posting that adds listns (a SYSCALL_DEFINE and its x86-64 row), as the plugin finds it."""
    diff = """\
diff --git a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -390,1 +390,2 @@
 469	common	file_setattr		sys_file_setattr
+470	common	listns			sys_listns
diff --git a/fs/nsfs.c b/fs/nsfs.c
--- a/fs/nsfs.c
+++ b/fs/nsfs.c
@@ -1,1 +1,4 @@
 #include <linux/syscalls.h>
+SYSCALL_DEFINE4(listns, const struct ns_id_req __user *, req, u64 __user *, ns_ids, size_t, nr_ns_ids, unsigned int, flags)
+{
+}
"""
    series = {"series_key": "listns-v1", "subject": "ns: add listns()", "version": 1, "date": "2025-10-24T10:00:00+00:00",
              "lineage": "listns", "author_email": "brauner@kernel.org",
              "patches": [{"message_id": "listns-1", "subject": "[PATCH 1/1] ns: add listns()", "date": "2025-10-24T10:00:00+00:00",
                           "diff": diff, "patch_number": 1, "author_email": "brauner@kernel.org"}]}
    save_findings(db, "syscalls", plugin.analyze_series(series))


def records(ktrack):
    return {r["name"]: r for r in json.loads(ktrack("syscalls", "--json").output)}


def test_parse_table_reads_the_abis_an_architecture_builds():
    from tracker.plugins.syscalls.tables import parse_table

    rows = parse_table((TABLES / "syscall_64.v6.19.tbl").read_text(), {"common", "64"})
    assert rows[0] == [0, "read"] and [470, "listns"] in rows
    assert not any(nr >= 512 for nr, _ in rows)  # x32 rows are another ABI
    generic = parse_table((TABLES / "syscall.v6.19.tbl").read_text(), {"common", "64"})
    assert [470, "listns"] in generic and "stat64" not in {n for _, n in generic}
    assert parse_table("4\tcommon\tstat\t\t\tsys_newstat\n5\tcommon\tx\t\t\tsys_ni_syscall\n", {"common"}) == [[4, "newstat"]]


def test_update_tables_from_git_kernel_org_served_locally(ktrack, db, httpserver):
    listns_proposal(db)
    assert records(ktrack)["listns"]["status"] == "proposed"  # the shipped tables end at 6.17
    httpserver.expect_request(f"/plain/{X86}", query_string="h=v6.19").respond_with_data((TABLES / "syscall_64.v6.19.tbl").read_text())
    httpserver.expect_request(f"/plain/{GENERIC}", query_string="h=v6.19").respond_with_data((TABLES / "syscall.v6.19.tbl").read_text())
    db["releases"].insert_all([
        {"version": "6.17", "kind": "mainline", "released_at": "2025-09-28T15:00:00+00:00"},
        {"version": "6.19", "kind": "mainline", "released_at": "2026-02-08T15:00:00+00:00"},
    ], pk="version")
    result = ktrack("syscalls", "update-tables", "--url", httpserver.url_for("/plain"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("v6.19: ") and "x86_64 " in result.output
    r = records(ktrack)["listns"]
    assert (r["status"], r["merged_in"], r["abis"]["x86_64"]) == ("merged", "6.19", 470)
    # re-running is safe and finds nothing new to read
    assert "up to date (newest: 6.19)" in ktrack("syscalls", "update-tables", "--url", httpserver.url_for("/plain")).output
    assert db.execute("select count(*) from syscall_tables where version = '6.19' and name = 'listns'").fetchone()[0] == 2


def test_update_tables_html_page_is_one_line_error(ktrack, db, httpserver):
    httpserver.expect_request(f"/plain/{X86}").respond_with_data("<html><body>Not found</body></html>", content_type="text/html")
    result = ktrack("syscalls", "update-tables", "--version", "6.19", "--url", httpserver.url_for("/plain"))
    assert result.exit_code != 0
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert db.execute("select count(*) from syscall_tables").fetchone()[0] == 0  # nothing half-written


@pytest.fixture
def kernel_git(tmp_path):
    """A tiny kernel-shaped git repository: tags v6.17 (no listns) and v6.19 (with it)."""
    repo = tmp_path / "linux"
    (repo / "arch/x86/entry/syscalls").mkdir(parents=True)
    (repo / "scripts").mkdir()

    def git(*args):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})

    git("init", "-q")
    for tag, keep_listns in (("v6.17", False), ("v6.19-rc1", True), ("v6.19", True)):
        for src, dst in (("syscall_64.v6.19.tbl", X86), ("syscall.v6.19.tbl", GENERIC)):
            text = (TABLES / src).read_text()
            if not keep_listns:
                text = "".join(line for line in text.splitlines(True) if "listns" not in line)
            (repo / dst).write_text(text)
        git("add", "-A")
        git("commit", "-q", "--allow-empty", "-m", tag)
        git("tag", tag)
    return repo


def test_update_tables_from_a_local_git_checkout(ktrack, db, kernel_git):
    listns_proposal(db)
    result = ktrack("syscalls", "update-tables", "--from-git", str(kernel_git))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("v6.19: ")  # v6.17 is recorded already, -rc tags are no releases
    assert records(ktrack)["listns"]["merged_in"] == "6.19"


def test_update_tables_bad_checkout_is_one_line_error(ktrack, tmp_path):
    (tmp_path / "empty").mkdir()
    result = ktrack("syscalls", "update-tables", "--from-git", str(tmp_path / "empty"), "--version", "6.19")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_update_tables_as_a_source_of_ktrack_fetch(tmp_path, httpserver, monkeypatch):
    """With [plugins.syscalls] update_tables = true, `ktrack fetch` reads new releases' tables itself."""
    from click.testing import CliRunner

    from tracker.app import App
    from tracker.cli import build_cli

    httpserver.expect_request(f"/plain/{X86}", query_string="h=v6.19").respond_with_data((TABLES / "syscall_64.v6.19.tbl").read_text())
    httpserver.expect_request(f"/plain/{GENERIC}", query_string="h=v6.19").respond_with_data((TABLES / "syscall.v6.19.tbl").read_text())
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins.syscalls]\nupdate_tables = true\ntables_url = "{httpserver.url_for("/plain")}"\n')
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "syscalls")
    app = App(db_path=tmp_path / "k.db", config_path=config)
    app.db["releases"].insert({"version": "6.19", "kind": "mainline", "released_at": "2026-02-08T15:00:00+00:00"}, pk="version")
    result = CliRunner().invoke(build_cli(app), ["fetch", "syscall-tables"], obj=app)
    assert result.exit_code == 0, result.output
    assert app.db.execute("select count(*) from syscall_tables where version = '6.19'").fetchone()[0] > 600
    row = app.db["sources"].get("syscall-tables")
    assert row["last_success_at"] and not row["last_error"]


def test_update_tables_source_is_off_by_default(tmp_path):
    from tracker.app import App

    app = App(db_path=tmp_path / "k.db")
    found = []
    app.host.call("register_sources", register=found.append, config=app.config)
    assert "syscall-tables" not in {s.name for s in found}
