"""The stable-review classifier on plain dicts: categories, evidence, impact lines, quality floor."""

from __future__ import annotations

import gzip
import shutil

from tracker.plugins.stable_review.classifier import classify_patch, naive_is_security, verdict_from
from tracker.plugins.stable_review.describe import bug_class, subsystem_of
from tracker.plugins.stable_review.features import PATTERN_GROUPS, pattern_features, split_subject
from tracker.plugins.stable_review.training import BLOCKS, block_of, build_examples, evaluate_block, read_cna, read_items


def test_classifier_flags_memory_safety_subject_as_security():
    v = classify_patch({"subject": "netfilter: Fix use-after-free in get_info()"})
    assert v.category == "security"
    assert 0.5 <= v.score <= 1
    assert v.summary == "Possible use-after-free in the netfilter code"
    assert any("use-after-free" in e for e in v.evidence)


def test_classifier_calls_device_id_addition_an_enhancement():
    v = classify_patch({"subject": "ALSA: hda/realtek: Add quirk for HP EliteBook 840 G8"})
    assert v.category == "enhancement"
    assert "Hardware enablement" in v.summary
    assert v.subsystem.startswith("ALSA sound")


def test_classifier_message_evidence_raises_score_and_names_user_reachability():
    subject = "nfs: handle error of rpc_proc_register() in nfs_net_init()"
    alone = classify_patch({"subject": subject})
    full = classify_patch(
        {
            "subject": subject,
            "body": "syzbot reported a NULL pointer dereference reachable through the mount syscall.\n\n"
            "KASAN: null-ptr-deref in range\nReported-by: syzbot+abc@syzkaller.appspotmail.com\nFixes: 1234567890ab (\"x\")\n",
            "trailers": [["Reported-by", "syzbot+abc@syzkaller.appspotmail.com"], ["Fixes", "1234567890ab"]],
            "diff": "+\tif (!net)\n+\t\treturn -EINVAL;\n",
            "files": ["fs/nfs/inode.c"],
        }
    )
    assert full.security_score > alone.security_score
    assert full.category == "security"
    assert full.summary == "User-triggerable NULL pointer dereference in the NFS code"
    assert any("syzbot" in e for e in full.evidence)
    assert any("KASAN" in e for e in full.evidence)
    assert any("fs/nfs/inode.c" in e for e in full.evidence)


def test_classifier_documentation_only_diff_is_not_security():
    v = classify_patch({"subject": "docs: fix buffer overflow description", "files": ["Documentation/admin-guide/foo.rst"]})
    assert v.category != "security"
    assert any("documentation" in e for e in v.evidence)


def test_classifier_cve_in_subject_is_security():
    v = classify_patch({"subject": "[NETFILTER]: Fix another crash in ip_nat_pptp (CVE-2006-0037)"})
    assert v.category == "security"
    assert any("CVE-2006-0037" in e for e in v.evidence)


def test_split_subject_reads_old_and_new_prefixes():
    assert split_subject("[PATCH 6.1 012/172] net/sched: act_api: fix x") == (["net/sched", "act_api"], "fix x")
    assert split_subject("[SPARC64]: Fix ptrace/strace") == (["SPARC64"], "Fix ptrace/strace")
    assert split_subject("setting irq affinity is broken in ia32") == ([], "setting irq affinity is broken in ia32")


def test_subsystem_of_falls_back_to_touched_files():
    assert subsystem_of("NFS: fix x") == "NFS"
    assert subsystem_of("Fix oops in the thing", ["fs/btrfs/inode.c"]) == "Btrfs"


def test_verdict_from_accepts_plugin_dicts_and_rejects_junk():
    v = verdict_from({"category": "security", "summary": "s", "subsystem": "x", "score": 0.9, "evidence": ["e"]})
    assert v.category == "security" and v.security_score == 0.9
    assert verdict_from({"category": "maybe"}) is None
    assert verdict_from(None) is None


def _f1(pred, labels):
    tp = sum(1 for p, y in zip(pred, labels) if p and y)
    fp = sum(1 for p, y in zip(pred, labels) if p and not y)
    fn = sum(1 for p, y in zip(pred, labels) if not p and y)
    return 2 * tp / (2 * tp + fp + fn)


def test_pattern_features_match_searching_each_group_on_the_text():
    texts = ["fix use after free in foo_put()", "clean up sysfs file on error", "add support for new device id",
             "prevent double free on error", "warning: unused variable", "fix null-ptr-deref in x"]
    for text in texts:
        expected = ["g:" + n for n, rx in PATTERN_GROUPS.items() if rx.search(text)]
        assert pattern_features(text) == expected


def test_training_never_uses_cna_records_of_judged_61_updates():
    items = [{"release": "6.1.90", "subject": "net: fix a", "security": 0}]
    cna = [
        {"subject": "net: fix b", "fixed_in": ["6.1.130", "6.6.5"]},  # newer 6.1.y: judged, never trained on
        {"subject": "net: fix c", "fixed_in": ["6.1.20"]},  # older 6.1.y: judged too
        {"subject": "net: fix d", "fixed_in": ["6.1.100"]},  # inside the dev range
        {"subject": "net: fix e", "fixed_in": ["6.6.2"]},  # never in 6.1.y
        {"subject": "NET: Fix A", "fixed_in": ["6.1.90"]},  # same subject as an item: the item's label wins
    ]
    examples = build_examples(items, cna, featurize=lambda s: [s])
    assert [f[0] for f, _, _ in examples] == ["net: fix a", "net: fix d", "net: fix e"]
    held = build_examples(items, cna, exclude_range=(95, 106), featurize=lambda s: [s])
    assert "net: fix d" not in [f[0] for f, _, _ in held]


def _gunzip(src, tmp_path):
    """The readers take plain files, as bench/train_stable_model.py gives them; tests/data ships these gzipped."""
    out = tmp_path / src.name.removesuffix(".gz")
    with gzip.open(src, "rb") as fh, open(out, "wb") as dst:
        shutil.copyfileobj(fh, dst)
    return out


def test_classifier_beats_naive_matcher_on_held_out_block(data_dir, tmp_path):
    """Same procedure as the shipped model, trained without the last block (6.1.107..6.1.119) and scored on it.

    Every dev item, and every CNA record reduced to the fields training reads (subject, fixed_in).
    """
    labels_dir = data_dir / "stable-labels"
    items = read_items(_gunzip(labels_dir / "debian-6.1-stable-items-dev.tsv.gz", tmp_path))
    cna = read_cna(_gunzip(labels_dir / "kernel-cna-cve-fixes-slim.jsonl.gz", tmp_path))
    fold = evaluate_block(items, cna, len(BLOCKS) - 1)
    block = [i for i in items if block_of(i["release"]) == len(BLOCKS) - 1]
    assert len(block) > 1500
    labels = [y for _, y in fold.scored]
    model = [s >= fold.threshold for s, _ in fold.scored]
    naive = [naive_is_security(i["subject"]) for i in block]
    assert _f1(model, labels) > _f1(naive, labels) + 0.05
    assert _f1(model, labels) > 0.55


def test_subject_features_split_identifiers_into_their_parts():
    """tcf_mirred_act and tcf_mirred_init share parts; the grouped CV gained in every block with them."""
    from tracker.plugins.stable_review.features import subject_features

    feats = subject_features("net/sched: act_mirred: use the backlog in tcf_mirred_act")
    assert {"w:tcf_mirred_act", "w:tcf", "w:mirred", "w:act"} <= set(feats)
    assert len(feats) == len(set(feats))


def test_revert_is_described_as_a_revert_of_the_named_change():
    """A revert of a leak fix is not a leak fix: the impact line says what is undone, in its subsystem."""
    subject = 'Revert "dmaengine: imx-sdma: Fix memory leak"'  # 4.19.107 #79
    verdict = classify_patch({"subject": subject})
    assert verdict.subsystem == "DMA engine (imx-sdma)"
    assert "Fix memory leak" in verdict.summary
    assert verdict.summary.startswith(("Reverts", "Security-relevant revert"))
    assert "Possible memory leak" not in verdict.summary
    plain = classify_patch({"subject": "dmaengine: imx-sdma: Fix memory leak"})
    assert plain.subsystem == verdict.subsystem and plain.summary != verdict.summary


def test_subsystem_of_names_old_architecture_directories():
    """2.6.14.7 #1 has no subject tag and touches arch/i386: the reader should see i386, not "kernel"."""
    assert subsystem_of("setting irq affinity is broken in ia32 with MSI enabled", ["arch/i386/kernel/io_apic.c"]) == "i386"
    assert subsystem_of("fix a thing", ["drivers/misc/foo.c"]) == "device drivers"
    # perf's tools write "perf lock: ..." (6.1.y): the tool, not "kernel"
    assert subsystem_of("perf lock: Don't pass an ERR_PTR() directly to perf_session__delete()") == "perf (lock)"


def _sample_patch(subject_start: str) -> dict:
    """A real patch of the shipped linux-api sample, as the classifier gets it from the database."""
    import json

    from tracker.ingest import message_row
    from tracker.job import SAMPLE_DIR
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_path

    for raw, _ in iter_path(SAMPLE_DIR / "linux-api-2021-W46.mbox"):
        row = message_row(parse_message(raw), list_id=None, origin="sample")
        if row["subject"].startswith(subject_start):
            return {"subject": row["subject"], "body": row["body"], "diff": row["diff"], "files": json.loads(row["files_json"])}
    raise AssertionError(f"no {subject_start!r} in the sample")


def test_naming_a_syscall_is_no_evidence_without_a_bug():
    """trusted_for(2)'s syscall-table patch names syscalls everywhere; that alone makes nothing user-triggerable."""
    wire_up = classify_patch(_sample_patch("[PATCH v17 2/3] arch: Wire up trusted_for(2)"))
    assert not any("user-reachable" in e for e in wire_up.evidence)
    fix = classify_patch({"subject": "nfs: fix a crash", "body": "Reachable through the mount syscall.\n"})
    assert any("user-reachable" in e for e in fix.evidence)


def test_diff_checks_count_only_in_fix_sized_changes_to_existing_files():
    from tracker.plugins.stable_review.classifier import FIX_SIZED_LINES, fix_evidence_diff

    existing = "diff --git a/fs/x.c b/fs/x.c\n--- a/fs/x.c\n+++ b/fs/x.c\n@@ -1,2 +1,4 @@\n+\tif (!ctx)\n+\t\treturn -EINVAL;\n"
    new_file = "diff --git a/fs/y.c b/fs/y.c\nnew file mode 100644\n--- /dev/null\n+++ b/fs/y.c\n@@ -0,0 +1,2 @@\n+\tif (!ctx)\n+\t\treturn 0;\n"
    assert fix_evidence_diff(existing + new_file) == existing
    big = existing + "".join(f"+\tx{i}();\n" for i in range(FIX_SIZED_LINES))
    assert fix_evidence_diff(big) == ""
    subject = "fs: handle ctx"
    small = classify_patch({"subject": subject, "diff": existing, "files": ["fs/x.c"]})
    feature = classify_patch({"subject": subject, "diff": big, "files": ["fs/x.c"]})
    assert any("NULL check" in e for e in small.evidence) and not any("NULL check" in e for e in feature.evidence)
    assert feature.security_score < small.security_score


def test_impact_line_reads_bug_as_crash_only_when_it_is_the_bug_macro():
    """4.19.107 #44 updates a bug-filing URL in MAINTAINERS; it was described as "Fixes a crash"."""
    maintainers = classify_patch({"subject": "MAINTAINERS: Update drm/i915 bug filing URL"})
    assert maintainers.summary == "Update to the MAINTAINERS file" and "crash" not in maintainers.summary
    assert classify_patch({"subject": "Documentation: fix typo in the sysctl docs"}).summary == "Update to the documentation"
    assert bug_class("mm: khugepaged: fix kernel bug in hpage_collapse_scan_file()") == "crash"  # 6.1.112, lower-cased
    assert bug_class("bug: unable to handle page fault for address") == "crash"
    assert bug_class("update the bug filing url") is None


def test_impact_line_names_builds_comments_cleanups_and_prefixed_reverts():
    """Lines of the real 4.19.107 review (#87, #60, #69, #80, #74) that all read "Functional fix" or worse before."""
    said = {s: classify_patch({"subject": s}).summary for s in (
        "iommu/vt-d: Fix compile warning from intel-svm.h",
        "lib/stackdepot: Fix outdated comments",
        "ext4: rename s_journal_flag_rwsem to s_writepages_rwsem",
        'scsi: Revert "RDMA/isert: Fix a recently introduced regression related to logout"',
        "KVM: apic: avoid calculating pending eoi from an uninitialized val",
    )}
    assert list(said.values()) == [
        "Fixes a build problem in the IOMMU (vt-d) code",
        "Fixes a comment or typo in the library (stackdepot) code",
        "Cleanup or refactoring (often what a later fix builds on) in the ext4 code",
        "Reverts \u201cFix a recently introduced regression related to logout\u201d in the SCSI code",
        "Fixes an uninitialised memory use in the KVM (apic) code",
    ]
    # a security-related fix is never described as a build or comment fix
    assert bug_class("fix use-after-free found by clang", skip=("build problem",)) == "use-after-free"
    flagged = classify_patch({"subject": "net: fix use-after-free in sk_destruct found with clang"})
    assert flagged.category == "security" and "use-after-free" in flagged.summary


def test_impact_line_does_not_read_default_as_fault_nor_a_new_helper_as_hardware():
    """Real 6.1.y subjects: "default" once read as a page fault, "a new helper" as new hardware."""
    assert "crash" not in classify_patch({"subject": "xhci: Loosen RPM as default policy to cover for AMD xHC 1.1"}).summary
    helper = classify_patch({"subject": "inet: factor out locked section of inet_accept() in a new helper"})
    assert "Hardware" not in helper.summary and helper.summary.startswith("Cleanup or refactoring")
    assert bug_class("x86/mm: fix a page fault in the vdso") == "crash"


def test_a_message_naming_a_typo_or_the_compiler_in_passing_is_not_a_comment_or_build_fix():
    """2.6.14.7 #1's real message: the bug was *caused* by a typo; and "Compile-tested only" says how it was tested."""
    message = ("Setting irq affinity stops working when MSI is enabled.  With MSI, move_irq\n"
               "is empty, so we can't change irq affinity.  It appears a typo in Ashok's\n"
               "original commit for this issue.  X86_64 actually is using move_native_irq.\n")
    said = classify_patch({"subject": "setting irq affinity is broken in ia32 with MSI enabled", "body": message}).summary
    assert said == "Functional fix in the kernel code"
    tested = classify_patch({"subject": "ALSA: hda/realtek: fix wrong pin configuration", "body": "Compile-tested only.\n"})
    assert tested.category == "bugfix" and tested.summary == "Functional fix in the ALSA sound (hda/realtek) code"
    assert classify_patch({"subject": "lib/stackdepot: Fix outdated comments", "body": "No code change.\n"}).summary.startswith(
        "Fixes a comment or typo")
