"""Following syscall proposals across versions and renames to the release that merged them."""

import json
import re

from tracker.findings import save_findings
from tracker.plugins import syscalls as plugin
from tracker.plugins.syscalls.tracking import build_records, safe_name


def define_patch(name, nargs=1):
    args = ", ".join(f"int, a{i}" for i in range(nargs))
    return f"""\
diff --git a/fs/fhandle.c b/fs/fhandle.c
--- a/fs/fhandle.c
+++ b/fs/fhandle.c
@@ -1,1 +1,4 @@
 #include <linux/syscalls.h>
+SYSCALL_DEFINE{nargs}({name}, {args})
+{{
+}}
"""


def table_row(name, nr):
    return f"""\
diff --git a/arch/x86/kernel/syscall_table_32.S b/arch/x86/kernel/syscall_table_32.S
--- a/arch/x86/kernel/syscall_table_32.S
+++ b/arch/x86/kernel/syscall_table_32.S
@@ -339,1 +339,2 @@ ENTRY(sys_call_table)
 	.long sys_prlimit64		/* 340 */
+	.long sys_{name}	/* {nr} */
"""


def series(key, subject, version, date, diffs, *, lineage, author="aneesh@linux.vnet.ibm.com"):
    patches = [
        {"message_id": f"{key}-{i}", "subject": f"[PATCH -V{version} {i}/{len(diffs)}] {subject}", "date": date, "diff": d,
         "patch_number": i, "author_name": "Aneesh Kumar K.V", "author_email": author}
        for i, d in enumerate(diffs, 1)
    ]
    return {"series_key": key, "subject": subject, "version": version, "date": date, "lineage": lineage,
            "author_name": "Aneesh Kumar K.V", "author_email": author, "list_id": "linux-fsdevel.vger.kernel.org",
            "patches": patches}


def store(db, *many):
    for s in many:
        save_findings(db, "syscalls", plugin.analyze_series(s))


def handle_history(db):
    # 2010: proposed as name_to_handle/open_by_handle, merged in 2.6.39 with an _at suffix.
    store(
        db,
        series("v1", "vfs: Add name to file handle conversion support", 1, "2010-02-19T10:00:00+00:00",
               [define_patch("name_to_handle", 3), define_patch("open_by_handle", 2)], lineage="handle"),
        series("v2", "vfs: Add name to file handle conversion support", 2, "2010-05-13T10:00:00+00:00",
               [define_patch("name_to_handle", 3) + table_row("name_to_handle", 338), define_patch("open_by_handle", 2)], lineage="handle"),
        series("v3", "vfs: Add name to file handle conversion support", 3, "2010-07-05T10:00:00+00:00",
               [define_patch("name_to_handle_at", 5) + table_row("name_to_handle_at", 341), define_patch("open_by_handle_at", 3)], lineage="handle"),
        # checkpoint/restart: never merged.
        series("cr", "checkpoint/restart: syscalls", 1, "2010-03-17T10:00:00+00:00",
               [define_patch("checkpoint", 3) + define_patch("restart", 3).replace("fhandle", "restart"), define_patch("eclone", 4).replace("fhandle", "eclone")],
               lineage="cr", author="orenl@cs.columbia.edu"),
    )


def test_tracking_rename_within_lineage_merged_in_history(db):
    handle_history(db)
    records = {r["name"]: r for r in build_records(db)}
    r = records["name_to_handle_at"]
    assert r["aliases"] == ["name_to_handle"]
    assert (r["status"], r["merged_in"]) == ("merged", "2.6.39")
    assert r["first_seen"] == {"message_id": "v1-1", "date": "2010-02-19T10:00:00+00:00", "subject": "[PATCH -V1 1/2] vfs: Add name to file handle conversion support"}
    assert [s["series_key"] for s in r["series"]] == ["v1", "v2", "v3"]
    assert r["abis"]["x86_64"] == 303  # the real number from the shipped tables, not the proposal's
    assert r["signature"] == "name_to_handle_at(int a0, int a1, int a2, int a3, int a4)"
    assert records["open_by_handle_at"]["aliases"] == ["open_by_handle"]
    assert "name_to_handle" not in records


def test_tracking_never_merged_stays_proposed_and_distinct(db):
    handle_history(db)
    records = {r["name"]: r for r in build_records(db)}
    for name in ("checkpoint", "restart", "eclone"):
        assert records[name]["status"] == "proposed"
        assert records[name]["merged_in"] is None
        assert records[name]["aliases"] == []  # proposed together: three syscalls, not renames
        assert records[name]["last_activity"] == "2010-03-17T10:00:00+00:00"


def test_tracking_git_pull_after_recorded_history_merges_with_next_release(db):
    db["releases"].insert_all([
        {"version": "6.17", "kind": "mainline", "released_at": "2025-09-28T00:00:00+00:00"},
        {"version": "6.18", "kind": "mainline", "released_at": "2025-11-30T00:00:00+00:00"},
    ], pk="version")
    pull = series("pull", "[GIT PULL] vfs frobnicate for v6.18", 1, "2025-10-01T00:00:00+00:00", [define_patch("frobnicate")], lineage="p")
    pull["subject"] = "[GIT PULL] vfs frobnicate for v6.18"
    store(db, pull, series("prop", "vfs: add frobnicate2", 1, "2025-10-02T00:00:00+00:00", [define_patch("frobnicate2")], lineage="q", author="x@y"))
    records = {r["name"]: r for r in build_records(db)}
    assert records["frobnicate"]["merged_in"] == "6.18"
    assert records["frobnicate2"]["status"] == "proposed"


def test_tracking_reanalysis_does_not_duplicate(db):
    handle_history(db)
    handle_history(db)
    records = build_records(db)
    assert sum(len(r["series"]) for r in records) == 3 + 3 + 1 + 1 + 1  # the two handle syscalls in v1..v3, three cr syscalls
    assert db.execute("select count(*) from findings where plugin = 'syscalls'").fetchone()[0] == 9


def test_syscalls_command_json_and_status_filter(db, ktrack):
    handle_history(db)
    result = ktrack("syscalls", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"name", "status", "abis", "signature", "first_seen", "series", "merged_in", "aliases"} <= set(data[0])
    proposed = json.loads(ktrack("syscalls", "--json", "--status", "proposed").output)
    assert sorted(r["name"] for r in proposed) == ["checkpoint", "eclone", "restart"]
    text = ktrack("syscalls").output
    assert "name_to_handle_at (also name_to_handle): added, merged in 2.6.39, 3 series" in text


def test_after_analyze_fills_syscalls_table(db):
    handle_history(db)
    plugin.after_analyze(db)
    row = db["syscalls"].get("name_to_handle_at")
    assert row["merged_in"] == "2.6.39"
    assert json.loads(row["aliases_json"]) == ["name_to_handle"]
    plugin.after_analyze(db)
    assert db["syscalls"].count == 5


def test_edition_section_lists_the_week_only(db):
    handle_history(db)
    sections = plugin.edition_sections({"week": "2010-W11", "start": "2010-03-15", "end": "2010-03-22"}, db)
    assert [s.key for s in sections] == ["syscalls"]
    items = sections[0].items
    assert sorted(i["name"] for i in items) == ["checkpoint", "eclone", "restart"]
    assert items[0]["link"].startswith("syscalls/") and "\n" not in items[0]["text"]
    assert plugin.edition_sections({"week": "2011-W01", "start": "2011-01-03", "end": "2011-01-10"}, db) == []


def test_site_pages_paths_are_safe_and_carry_timeline(db):
    handle_history(db)
    pages = plugin.site_pages(db)
    assert pages[0].path == "syscalls/index.html"
    assert all(re.fullmatch(r"syscalls/[a-z0-9_]+\.html", p.path) for p in pages)
    page = next(p for p in pages if p.path == "syscalls/name_to_handle_at.html")
    assert page.context["timeline"][-1]["text"] == "merged in Linux 2.6.39"
    assert safe_name("../../etc/passwd") == "______etc_passwd"


def test_syscall_pages_render_with_the_theme(db, tmp_path):
    from jinja2 import Environment, FileSystemLoader

    from tracker.sitebuild import theme_dir

    handle_history(db)
    env = Environment(loader=FileSystemLoader(plugin.template_dirs() + [str(theme_dir() / "templates")]), autoescape=True)
    for page in plugin.site_pages(db)[:3]:
        html = env.get_template(page.template).render(**page.context, root="../", site={"title": "t"}, page_title=page.title, nav=[], page_path=page.path)
        assert "<h1>" in html
    html = env.get_template("syscalls/syscall.html").render(syscall=build_records(db)[-1], timeline=[], root="../", site={"title": "t"}, page_title="x", nav=[])
    assert "<code>" in html


def test_syscalls_command_on_empty_store(ktrack):
    assert ktrack("syscalls").output.strip() == "No system calls found in patches yet."
    assert ktrack("syscalls", "--json").output.strip() == "[]"


def test_stable_review_backports_are_not_proposals(db):
    s = series("st", "4.19.107-stable review", 1, "2020-03-01T00:00:00+00:00", [define_patch("name_to_handle_at", 5)], lineage="st")
    s["is_stable_review"] = 1
    assert plugin.analyze_series(s) == []


def remove_row(name, nr):
    return f"""\
diff --git a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -220,3 +220,2 @@
 211	64	get_thread_area
-212	common	{name}			sys_{name}
 213	64	epoll_create
"""


def test_removal_is_merged_when_a_release_table_lost_the_name_not_when_it_was_added(db):
    # lookup_dcookie left the x86-64 table in 5.12 (real recorded history); bdflush never left
    # the recorded tables, so its removal stays a proposal whatever release first added it.
    store(
        db,
        series("rm1", "fs: remove lookup_dcookie", 1, "2021-01-10T10:00:00+00:00", [remove_row("lookup_dcookie", 212)], lineage="rm1"),
        series("rm2", "fs: remove the bdflush syscall", 1, "2021-05-10T10:00:00+00:00", [remove_row("bdflush", 212)], lineage="rm2"),
    )
    records = {r["name"]: r for r in build_records(db)}
    assert records["lookup_dcookie"]["change"] == "removed"
    assert records["lookup_dcookie"]["merged_in"] == "5.12"
    assert records["lookup_dcookie"]["added_in"] != "5.12"
    assert records["bdflush"]["change"] == "removed"
    assert records["bdflush"]["merged_in"] is None
    assert records["bdflush"]["status"] == "proposed"
    assert records["bdflush"]["added_in"] == "1.2"


def handle_patch(name, nr):
    """2010's proposal as posted: name_to_handle with the parameters 2.6.39's name_to_handle_at has."""
    return f"""\
diff --git a/fs/open.c b/fs/open.c
--- a/fs/open.c
+++ b/fs/open.c
@@ -1,1 +1,4 @@
 #include <linux/syscalls.h>
+SYSCALL_DEFINE5({name}, int, dfd, const char __user *, name,
+		struct file_handle __user *, handle, int __user *, mnt_id, int, flag)
+{{
+}}
""" + table_row(name, nr)


def test_proposal_is_linked_to_the_syscall_it_was_merged_as(db):
    # Posted once as name_to_handle (i386 338), never renamed in the mail we have; merged in 2.6.39 as
    # name_to_handle_at with the same parameters: one record, merged, with the old name as alias.
    store(db, series("h1", "vfs: Add name to file handle conversion support", 1, "2010-05-13T10:00:00+00:00",
                     [handle_patch("name_to_handle", 338)], lineage="handle"))
    # Same parameters, unrelated name and number: not linked.
    store(db, series("o1", "fs: add frob syscall", 1, "2010-05-14T10:00:00+00:00", [handle_patch("frob", 339)], lineage="frob", author="x@y"))
    records = {r["name"]: r for r in build_records(db)}
    r = records["name_to_handle_at"]
    assert (r["status"], r["merged_in"], r["aliases"]) == ("merged", "2.6.39", ["name_to_handle"])
    assert r["first_seen"]["date"] == "2010-05-13T10:00:00+00:00"
    assert "name_to_handle" not in records
    assert records["frob"]["status"] == "proposed"


def test_proposal_after_the_merge_is_not_linked_back(db):
    # A 2013 proposal cannot have become a syscall merged in 2011.
    store(db, series("h2", "vfs: name_to_handle again", 1, "2013-05-13T10:00:00+00:00",
                     [handle_patch("name_to_handle", 338)], lineage="late"))
    records = {r["name"]: r for r in build_records(db)}
    assert records["name_to_handle"]["status"] == "proposed"


def fsxattr_patch(get, set_, nr):
    return f"""\
diff --git a/fs/file_attr.c b/fs/file_attr.c
--- a/fs/file_attr.c
+++ b/fs/file_attr.c
@@ -1,1 +1,7 @@
 #include <linux/syscalls.h>
+SYSCALL_DEFINE4({get}, int, dfd, const char __user *, filename, struct fsxattr __user *, fsx, unsigned int, at_flags)
+{{
+}}
+SYSCALL_DEFINE4({set_}, int, dfd, const char __user *, filename, struct fsxattr __user *, fsx, unsigned int, at_flags)
+{{
+}}
""" + table_row(get, nr) + table_row(set_, nr + 1).replace("@@ -339,1 +339,2 @@", "@@ -340,1 +340,2 @@")


def test_b4_lineage_follows_a_rename_of_two_syscalls_at_once(db):
    # getfsxattrat/setfsxattrat (v1-v4) became file_getattr/file_setattr (v5) in one b4 lineage: the
    # change-id, the same slots and the same patch subject with both names masked say so, not the names.
    subject = "fs: introduce {} and {} syscalls"
    for v, (get, set_), date in ((3, ("getfsxattrat", "setfsxattrat"), "2025-01-27"), (4, ("getfsxattrat", "setfsxattrat"), "2025-03-21"),
                                 (5, ("file_getattr", "file_setattr"), "2025-06-02")):
        s = series(f"v{v}", subject.format(get, set_), v, f"{date}T10:00:00+00:00", [fsxattr_patch(get, set_, 468)],
                   lineage="change-id:20250114-xattrat-syscall-6a1136d2db59", author="aalbersh@redhat.com")
        store(db, s)
    records = {r["name"]: r for r in build_records(db)}
    assert records["file_getattr"]["aliases"] == ["getfsxattrat"]
    assert records["file_setattr"]["aliases"] == ["setfsxattrat"]
    assert records["file_getattr"]["first_seen"]["date"].startswith("2025-01-27")
    assert "getfsxattrat" not in records and "setfsxattrat" not in records
