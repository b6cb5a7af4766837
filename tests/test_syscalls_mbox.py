"""Syscall detection over the real linux-api 2021 archive: known proposals found, nothing else."""

import pytest

from tracker.plugins.syscalls.detect import detect_syscalls


@pytest.fixture(scope="module")
def found(data_dir):
    """{(name, change): [subjects]} for every non-compat syscall change in the archive's patch mails."""
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_mbox

    out = {}
    for raw, _ in iter_mbox(data_dir / "lists" / "linux-api-2021-excerpt.mbox.gz"):
        if b"\ndiff --git " not in raw and b"\n--- a/" not in raw:
            continue
        msg = parse_message(raw)
        for r in detect_syscalls(msg.diff):
            if not r["compat_only"] and r["native"]:
                out.setdefault((r["name"], r["change"]), []).append(msg.subject)
    return out


def test_mbox_known_2021_proposals_found_where_added(found):
    expected = {
        "process_mrelease": "introduce process_mrelease system call",
        "process_reap": "introduce process_reap system call",
        "memfd_secret": "memfd_secret",
        "futex_waitv": "futex",
        "landlock_create_ruleset": "landlock: Add syscall implementations",
        "landlock_add_rule": "landlock: Add syscall implementations",
        "landlock_restrict_self": "landlock: Add syscall implementations",
        "quotactl_path": "quota: Add mountpath based quota support",
        "quotactl_fd": "quota",
        "mount_setattr": "mount_setattr",
        "set_mempolicy_home_node": "set_mempolicy_home_node",
        "trusted_for": "trusted_for",
    }
    for name, words in expected.items():
        subjects = found.get((name, "added"), [])
        assert any(words in s for s in subjects), (name, subjects[:3])


def test_mbox_reports_nothing_else(found):
    # Every name below was checked against its patch: each one really is a +line in a
    # syscall table, unistd header, SYSCALL_DEFINE, prototype or sys_ni.c of that patch.
    added = {name for name, change in found if change == "added"}
    assert added == {
        "futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "ioctl32", "landlock_add_rule",
        "landlock_create_ruleset", "landlock_enforce_ruleset_self", "landlock_restrict_self",
        "memfd_secret", "mempinfd", "mkdirat2", "mount_setattr", "process_mrelease", "process_reap",
        "process_vm_exec", "quotactl_fd", "quotactl_path", "refpage_create", "set_mempolicy_home_node",
        "task_getshared", "trusted_for", "uintr_create_fd", "uintr_register_handler",
        "uintr_register_sender", "uintr_unregister_handler", "uintr_unregister_sender", "uintr_wait",
        "umcg_api_version", "umcg_create_group", "umcg_ctl", "umcg_destroy_group", "umcg_kick", "umcg_poll_worker",
        "umcg_preempt_worker", "umcg_register_task", "umcg_run_worker", "umcg_swap",
        "umcg_unregister_task", "umcg_wait", "umcg_wake",
    }
    removed = {name for name, change in found if change == "removed"}
    assert removed == {"bdflush", "quotactl_path"}  # bdflush removal; quotactl_path renamed to quotactl_fd


def test_mbox_duplicated_row_of_existing_syscall_is_not_an_addition(found):
    # The ioctl32 patch repeats "441 n64 epoll_pwait2" right under the same existing row.
    assert ("epoll_pwait2", "added") not in found


def test_mbox_compat_entry_point_removal_is_not_a_syscall_removal(found):
    # "[PATCH v5 5/6] compat: remove some compat entry points" drops compat_sys_get_mempolicy & co.
    assert ("get_mempolicy", "removed") not in found
