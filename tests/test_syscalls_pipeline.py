"""End to end on real mail: ingest (threading, versions) -> analysis hooks -> `ktrack syscalls`/`sysctls`."""

import json
import re

import pytest

# Subject lines may be folded ("...to be\n used in process_mrelease"): continuation lines count.
WANTED = re.compile(rb"^Subject:(?:.*\n[ \t])*.*(process_(?:mrelease|reap)|quota|landlock|fanotify: configurable|trusted_for)", re.M | re.I)


@pytest.fixture
def analysed(app, data_dir):
    """The archive's messages about a few 2021 proposals, stored and analysed by every plugin."""
    from tracker.analyze import run_analysis
    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_mbox

    raws = [(raw, where) for raw, where in iter_mbox(data_dir / "lists" / "linux-api-2021-excerpt.mbox.gz") if WANTED.search(raw.split(b"\n\n", 1)[0])]
    assert len(raws) > 50
    # process_mrelease v2 1/3, whose changelog says "Renamed process_reap to process_mrelease"
    raws += list(iter_mbox(data_dir / "syscalls" / "process-mrelease-v2-1-2021.mbox"))
    store_raw_messages(app.db, raws, list_id="linux-api.vger.kernel.org")
    assert run_analysis(app, full=True) == []
    return app


def test_pipeline_syscalls_follow_real_renames_to_release(analysed, ktrack):
    records = {r["name"]: r for r in json.loads(ktrack("syscalls", "--json").output)}
    r = records["process_mrelease"]
    # v1 was "mm: introduce process_reap system call"; v2's changelog: "Renamed process_reap to process_mrelease"
    assert r["aliases"] == ["process_reap"]
    assert (r["status"], r["merged_in"]) == ("merged", "5.15")
    assert r["first_seen"]["subject"].endswith("introduce process_reap system call")
    assert len(r["series"]) > 2 and r["signature"] == "process_mrelease(int pidfd, unsigned int flags)"
    q = records["quotactl_fd"]
    assert (q["aliases"], q["merged_in"], q["change"]) == (["quotactl_path"], "5.14", "added")  # the rename diff is no removal
    assert records["landlock_restrict_self"]["aliases"] == ["landlock_enforce_ruleset_self"]
    assert records["trusted_for"]["status"] == "proposed"  # never merged
    # its number went to another syscall: the shipped tables say which, and when
    assert records["trusted_for"]["numbers_taken"] == [
        {"taken_by": "set_mempolicy_home_node", "in": "5.17", "number": 450, "abis": ["generic", "x86_64"]}
    ]
    assert r["numbers_taken"] == [] and q["numbers_taken"] == []  # merged ones own their numbers
    assert "quotactl_path" not in records and "process_reap" not in records
    # after_analyze persisted the same view for SQL users.
    assert analysed.db["syscalls"].get("process_mrelease")["merged_in"] == "5.15"


def test_pipeline_sysctls(analysed, ktrack):
    records = {r["name"]: r for r in json.loads(ktrack("sysctls", "--json").output)}
    assert records["fs.trusted_for_policy"]["aliases"] == ["fs.trust_policy"]
    assert {"fs.fanotify.max_user_groups", "fs.fanotify.max_user_marks", "fs.fanotify.max_queued_events"} <= set(records)
    assert records["fs.fanotify.max_user_groups"]["path"] == "/proc/sys/fs/fanotify/max_user_groups"
