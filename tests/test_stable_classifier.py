"""The stable-review classifier on plain dicts: categories, evidence, impact lines, quality floor."""

from __future__ import annotations

import csv

from tracker.plugins.stable_review.classifier import classify_patch, naive_is_security, verdict_from
from tracker.plugins.stable_review.describe import subsystem_of
from tracker.plugins.stable_review.features import split_subject


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


def test_classifier_beats_naive_matcher_on_held_out_update(shared_data):
    """6.1.115 was never used in training (bench/train_stable_model.py holds out >= 6.1.90)."""
    with open(shared_data / "stable-labels" / "debian-6.1-stable-items-dev.tsv", newline="", encoding="utf-8") as fh:
        items = [r for r in csv.DictReader(fh, delimiter="\t") if r["release"] == "6.1.115"]
    assert len(items) > 500
    labels = [int(r["security"]) for r in items]
    model = [classify_patch({"subject": r["subject"]}).category == "security" for r in items]
    naive = [naive_is_security(r["subject"]) for r in items]
    assert _f1(model, labels) > _f1(naive, labels) + 0.05
    assert _f1(model, labels) > 0.5
