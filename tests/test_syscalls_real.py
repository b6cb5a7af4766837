"""Real linux-api messages that only look like new system calls, and real renames (issue 16).

Each mbox under tests/data/syscalls/ is a byte-exact excerpt of the list's
archive (see tests/data/syscalls/PROVENANCE.md); the tests store it, run every
analyzer and read `ktrack syscalls --json` as a user would.
"""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "syscalls"


def analysed(app, *names):
    from tracker.analyze import run_analysis
    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_mbox

    for name in names:
        store_raw_messages(app.db, list(iter_mbox(DATA / name)), list_id="linux-api.vger.kernel.org")
    assert run_analysis(app, full=True) == []
    return app


def records(ktrack) -> dict:
    return {r["name"]: r for r in json.loads(ktrack("syscalls", "--json").output)}


def findings_of(app, message_id: str) -> list[dict]:
    from tracker.findings import load_findings

    return [f for f in load_findings(app.db, plugin="syscalls") if f["message_id"] == message_id]


def test_real_messages_that_add_no_syscall_give_no_record(app, ktrack):
    # 2023 "[PATCH AUTOSEL 6.6 38/39] posix-timers: Get rid of [COMPAT_]SYS_NI() uses" (COND_SYSCALL
    # stubs of timer_*, alarm, getitimer, setitimer, clock_adjtime: a rework of existing syscalls),
    # Arnd's "syscalls: add sys_ni_posix_timers prototype" (a prototype of a stub), "syscalls: Cleanup
    # references to sys_lookup_dcookie()" (leftovers of a syscall 5.12 removed), "tools headers UAPI:
    # Sync fchmodat2() syscall table entries" (tools/ copies), "procfs: add syscall statistics"
    # (SYSCALL_DEFINE macros redefined) and "landlock: Change landlock_restrict_self(2) check ordering".
    analysed(app, "not-new-syscalls-2023.mbox")
    assert records(ktrack) == {}
    assert "No system calls found" in ktrack("syscalls").output


def test_stub_and_prototype_lines_are_read_but_not_enough(app):
    from tracker.plugins.syscalls.tracking import classify

    analysed(app, "not-new-syscalls-2023.mbox")
    autosel = findings_of(app, "20231226002021.4776-38-sashal@kernel.org")
    names = {f["data"]["name"] for f in autosel}
    assert {"timer_create", "getitimer", "setitimer"} <= names
    # "-SYS_NI(alarm)" in the x86 wrapper and "+COND_SYSCALL(alarm)" are the same stub moved
    assert "alarm" not in names and "clock_adjtime" not in names
    assert {f["data"]["change"] for f in autosel} == {"removed"}  # stubs dropped, the syscalls stay
    assert all(f["data"]["native"] is False and classify(f) is None for f in autosel)  # COND_SYSCALL only
    # "sys_ni_posix_timers" names a stub: not a syscall called ni_posix_timers
    assert findings_of(app, "20230607142925.3126422-1-arnd@kernel.org") == []
    # its arm64 compat row is rewritten to sys_ni_syscall: an edit of a stub, no removal
    assert findings_of(app, "20230628230935.1196180-1-sohil.mehta@intel.com") == []


def test_existing_syscall_wired_up_on_more_architectures_is_a_change_of_its_record(app, ktrack):
    # "[PATCH v2] arch: Reserve map_shadow_stack() syscall number for all architectures" (2023-09-14),
    # after map_shadow_stack was merged for 6.6 (x86 only).
    analysed(app, "map-shadow-stack-reserve-2023-09.mbox")
    r = records(ktrack)["map_shadow_stack"]
    assert (r["change"], r["status"], r["merged_in"]) == ("wired_up", "merged", "6.6")
    [wired] = r["wired_up"]
    assert wired["message_id"] == "20230914185804.2000497-1-sohil.mehta@intel.com"
    assert wired["abis"]["alpha"] == 563 and wired["abis"]["arm"] == 453
    assert "x86_64" not in wired["abis"]  # it had it already
    assert r["series"][0]["change"] == "wired_up"
    assert any("map_shadow_stack" in line for line in r["evidence"][0]["lines"])


def test_get_and_set_mempolicy2_stay_two_records_and_typos_are_no_syscalls(app, ktrack):
    # Gregory Price's mempolicy2 RFC (Sep 2023) adds both, with a typo "#define __NR_set_mempolicy 454";
    # his task-mempolicy RFC (Nov) adds four other syscalls; mempolicy2 v5 (Dec) adds them again, and
    # v4 10/11 has "__NR_get_mbind2" only in arm64's compat unistd32.h.
    analysed(app, "mempolicy2-2023.mbox")
    recs = records(ktrack)
    assert {"get_mempolicy2", "set_mempolicy2"} <= set(recs)
    assert recs["get_mempolicy2"]["aliases"] == [] and recs["set_mempolicy2"]["aliases"] == []
    assert {"get_task_mempolicy", "set_task_mempolicy", "set_task_mempolicy_home_node", "task_mbind"} <= set(recs)
    assert all(r["aliases"] == [] for r in recs.values())
    assert "set_mempolicy" not in recs  # merged in 2.6.6; the +#define was a typo for set_mempolicy2
    assert "get_mbind2" not in recs  # compat table only: a typo, no syscall of its own
    assert recs["get_mempolicy2"]["first_seen"]["message_id"] == "20230914235457.482710-3-gregory.price@memverge.com"
    assert [s["version"] for s in recs["set_mempolicy2"]["series"]] == [1, 5]


def test_listmnt_renamed_listmount_is_one_record_from_its_first_version(app, ktrack):
    # "[RFC PATCH 0/3] quering mount attributes" adds statmnt/listmnt; v3's cover says
    # "rename statmnt(2) -> statmount(2)" and "rename listmnt(2) -> listmount(2)"; merged in 6.8.
    analysed(app, "listmount-2023.mbox")
    recs = records(ktrack)
    assert set(recs) == {"listmount", "statmount"}
    for new, old in (("listmount", "listmnt"), ("statmount", "statmnt")):
        r = recs[new]
        assert r["aliases"] == [old]
        assert (r["status"], r["merged_in"]) == ("merged", "6.8")
        assert r["first_seen"]["date"].startswith("2023-09-13")
        assert [s["name"] for s in r["series"]] == [old, new]
        assert [e["name"] for e in r["evidence"]] == [old, new]
    out = Path(app.db_path).parent / "site"
    result = ktrack("site", "build", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = (out / "syscalls" / "listmount.html").read_text()
    assert "proposed as listmnt v1" in page and "proposed as listmount v3 (renamed from listmnt)" in page
    assert "Also proposed as" in page and "merged in Linux 6.8" in page


@pytest.mark.parametrize(
    "text,pairs",
    [
        ("- Renamed process_reap to process_mrelease, per majority of votes", [["process_reap", "process_mrelease"]]),
        (" - rename statmnt(2) -> statmount(2)", [["statmnt", "statmount"]]),
        ("* Syscall renamed fchmodat4 -> fchmodat2 as suggested by Christian Brauner.", [["fchmodat4", "fchmodat2"]]),
        ("landlock_enforce_ruleset_self(2) is renamed to\nlandlock_restrict_self(2) to", [["landlock_enforce_ruleset_self", "landlock_restrict_self"]]),
        ('* Rename sysctl from "trust_policy" to "trusted_for_policy" (suggested', [["trust_policy", "trusted_for_policy"]]),
        ("statmount(2) (was statmnt) returns", [["statmnt", "statmount"]]),
        ("> - rename statmnt(2) -> statmount(2)", []),  # a reviewer quoting it is not the author's word
    ],
)
def test_rename_mentions_from_real_changelog_lines(text, pairs):
    from tracker.plugins.proposals import rename_mentions

    assert rename_mentions(text) == pairs


def test_compat_only_wiring_of_a_proposed_syscall_is_a_wired_up_change(app, ktrack):
    # "arm64: wire up cachestat for arm64" adds it to arm64's unistd32.h only: no syscall of its own,
    # but one more ABI for cachestat, which v6 2/3 defines and wires up natively.
    analysed(app, "cachestat-2023.mbox")
    r = records(ktrack)["cachestat"]
    assert (r["change"], r["merged_in"]) == ("added", "6.5")
    assert [(w["message_id"], w["abis"]) for w in r["wired_up"]] == [
        ("20230511092843.3896327-1-nphamcs@gmail.com", {"arm64-compat": 451})
    ]
    assert [s["change"] for s in r["series"]] == ["added", "wired_up"]


def test_removal_after_a_release_dropped_the_syscall_is_no_record():
    from tracker.plugins.syscalls import history
    from tracker.plugins.syscalls.tracking import classify

    # lookup_dcookie left the tables in 5.12; a 2023 patch removing what is left of it only tidies up
    finding = {"date": "2023-07-10T18:51:24+00:00", "message_id": "m", "data": {"name": "lookup_dcookie", "change": "removed", "native": True}}
    assert history.removed_in("lookup_dcookie") == "5.12"
    assert classify(finding) is None
    assert classify({**finding, "date": "2020-12-01T00:00:00+00:00"}) == {**finding, "date": "2020-12-01T00:00:00+00:00"}
    # and "adding" a syscall mainline has had for years wires nothing new up
    old = {"date": "2023-09-14T00:00:00+00:00", "message_id": "m", "data": {
        "name": "set_mempolicy", "change": "added", "native": True, "abis": {"generic": 454}, "abi_forms": {"generic": ["unistd"]}}}
    assert classify(old) is None


def test_upgrade_drops_old_detector_findings_and_reanalyses(app, tmp_path):
    """A store analysed before issue 16 (a stale ni_posix_timers finding) gets every series re-read."""
    import sqlite3

    from tracker.analyze import WATERMARK_KEY, get_meta
    from tracker.app import App
    from tracker.plugins.syscalls.schema import migrations

    analysed(app, "not-new-syscalls-2023.mbox")
    db = app.db
    db["findings"].insert({"plugin": "syscalls", "kind": "syscall", "key": "ni_posix_timers@x", "data_json": '{"name": "ni_posix_timers", "change": "added"}'})
    db.execute("delete from _sqlite_migrations where migration_set = ? and name = ?", [migrations.name, "m003_redetect"])
    db.conn.commit()
    assert get_meta(db, WATERMARK_KEY)
    again = App(db_path=app.db_path)  # opening applies the migration
    assert again.db.execute("select count(*) from findings where plugin = 'syscalls'").fetchone()[0] == 0
    assert not get_meta(again.db, WATERMARK_KEY)
    assert sqlite3.connect(app.db_path).execute("select count(*) from messages").fetchone()[0] == 6  # nothing else lost


def test_edition_says_wired_up_not_merged(app):
    from tracker.plugins import proposals
    from tracker.plugins.syscalls import _edition_item
    from tracker.plugins.syscalls.tracking import build_records

    analysed(app, "map-shadow-stack-reserve-2023-09.mbox")
    (item,) = proposals.edition_items(build_records(app.db), {"start": "2023-09-11", "end": "2023-09-18"}, _edition_item)
    assert "map_shadow_stack" in item["text"] and "wired up on alpha, arm" in item["text"]
    assert "merged in" not in item["text"]


def test_json_keeps_every_field_and_adds_evidence(app, ktrack):
    """The public JSON shape: fields are added, never renamed or removed."""
    analysed(app, "listmount-2023.mbox")
    (r, *_) = json.loads(ktrack("syscalls", "--json").output)
    before_16 = {"name", "status", "abis", "signature", "first_seen", "series", "merged_in", "added_in", "aliases",
                 "numbers_taken", "change", "last_activity", "page"}
    assert before_16 <= set(r) and {"evidence", "wired_up"} <= set(r)
    assert isinstance(r["aliases"], list) and isinstance(r["wired_up"], list)
    e = r["evidence"][0]
    assert set(e) == {"message_id", "date", "subject", "name", "change", "lines"} and e["lines"]
    assert ktrack("sysctls", "--json").output.strip() == "[]"


def test_edits_of_existing_table_rows_are_no_syscall_changes(app, ktrack):
    # 2021: an x86 row's compat entry point wired up (io_pgetevents_time64), and compat entry points
    # dropped from get_mempolicy & co. in mips/parisc/... tables: rows rewritten, no syscall added or removed.
    analysed(app, "row-edits-2021.mbox")
    assert records(ktrack) == {}


def test_prechecking_paths_with_the_message_files_finds_the_same_events():
    """find_syscall_events(diff, files) answers the path half of its pre-check from the files the
    import read: on every real diff here (tables, unistd, C forms, and patches with none of them)
    it must find exactly what the text-only pre-check finds."""
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_mbox
    from tracker.plugins.syscalls.detect import find_syscall_events

    checked = with_events = 0
    for path in sorted(DATA.glob("*.mbox")):
        for raw, _ in iter_mbox(path):
            message = parse_message(raw)
            if not message.diff:
                continue
            events = find_syscall_events(message.diff)
            assert find_syscall_events(message.diff, message.files) == events, message.subject
            checked += 1
            with_events += bool(events)
    assert checked > 20 and with_events > 10


def test_a_table_row_without_an_entry_point_is_found_through_the_files():
    """No C word in it: only the file's path tells that this diff can hold a syscall."""
    from tracker.plugins.syscalls.detect import find_syscall_events

    diff = ("diff --git a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl\n"
            "--- a/arch/x86/entry/syscalls/syscall_64.tbl\n+++ b/arch/x86/entry/syscalls/syscall_64.tbl\n"
            "@@ -1,1 +1,2 @@\n 451\tcommon\tcachestat\n+452\tcommon\tfchmodat2\n")
    found = [(e.name, e.sign, e.form) for e in find_syscall_events(diff, ["arch/x86/entry/syscalls/syscall_64.tbl"])]
    assert found == [(e.name, e.sign, e.form) for e in find_syscall_events(diff)] != []
    assert find_syscall_events(diff, ["mm/filemap.c"]) == []  # the files say no table: not parsed
