"""Sysctl documentation: parsing both layouts, and the 6.1 -> 6.12 snapshot diff on the real trees."""

import json

import pytest

from tracker.plugins.sysctls.docs import docs_diff, parse_doc, read_doc_tree


@pytest.fixture(scope="module")
def snapshots(data_dir):
    return data_dir / "sysctl" / "kernel-docs-6.1", data_dir / "sysctl" / "kernel-docs-6.12"


def test_docs_real_ip_sysctl_knob_with_description_and_default(snapshots):
    knobs = read_doc_tree(snapshots[1])
    k = knobs["net.ipv4.ip_local_reserved_ports"]
    assert k["description"].startswith("Specify the ports which are reserved for known third-party\napplications.")
    assert k["default"] == "Empty"
    assert k["file"] == "ip-sysctl.rst"
    # Headings move the directory: ipv6, netfilter's "nf_conntrack_*" glob, relative "icmp/*".
    assert "net.ipv6.conf.all.forwarding" in knobs
    assert "net.netfilter.nf_conntrack_acct" in knobs
    assert "net.ipv6.icmp.ratelimit" in knobs
    assert "net.ipv4.neigh.default.gc_thresh1" in knobs


def test_docs_real_admin_guide_headings(snapshots):
    knobs = read_doc_tree(snapshots[1])
    assert knobs["vm.overcommit_memory"]["default"] == "0"
    assert "fs.file-max" in knobs and "fs.file-nr" in knobs  # "file-max & file-nr"
    assert "fs.suid_dumpable" in knobs  # "suid_dumpable:" heading
    assert "kernel.perf_user_access" in knobs and "kernel.arm64" not in knobs  # per-arch sub-headings
    assert "net.core.bpf_jit_enable" in knobs  # "1. /proc/sys/net/core - Network core options"


def test_docs_diff_real_6_1_to_6_12(snapshots):
    result = docs_diff(*snapshots)
    added = {k["name"] for k in result["added"]}
    # Real additions between 6.1 and 6.12 (each absent from 6.1's docs, present in 6.12's).
    for name in ("kernel.io_uring_disabled", "vm.enable_soft_offline", "net.ipv4.tcp_rto_min_us",
                 "net.mptcp.scheduler", "net.ipv6.ra_honor_pio_life", "net.core.rps_default_mask",
                 "net.netfilter.nf_conntrack_sctp_timeout_closed"):
        assert name in added, name
    removed = {k["name"] for k in result["removed"]}
    assert {"fs.inode-max", "kernel.unaligned-dump-stack"} <= removed  # ia64 went in 6.7
    assert not added & removed
    redoc = {k["name"]: k for k in result["redocumented"]}
    assert "net.ipv4.tcp_syn_retries" in redoc
    assert not set(redoc) & (added | removed)
    assert 30 <= len(added) <= 60 and len(removed) <= 10  # no flood of parse artefacts


def test_docs_definition_layout_multiple_names_and_default_marker():
    text = "/proc/sys/net/ipv4/* Variables:\n\nfoo_bar - BOOLEAN\n\t- 0 - disabled\n\t- 1 - enabled (default)\n\n\tDoes things.\n\nbaz - INTEGER\n\tDefault: 7\n"
    knobs = parse_doc(text, "Documentation/networking/ip-sysctl.txt")
    assert knobs["net.ipv4.foo_bar"]["default"] == "1"
    assert knobs["net.ipv4.foo_bar"]["description"] == "- 0 - disabled\n- 1 - enabled (default)\n\nDoes things."
    assert knobs["net.ipv4.baz"]["default"] == "7"


def test_sysctls_docs_diff_command(ktrack, snapshots):
    result = ktrack("sysctls", "--docs-diff", *snapshots, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"added", "removed", "redocumented"}
    assert "kernel.io_uring_disabled" in {k["name"] for k in data["added"]}
    text = ktrack("sysctls", "--docs-diff", *snapshots).output
    assert "  kernel.io_uring_disabled" in text


def test_sysctls_docs_diff_missing_dir_is_one_line_error(ktrack, tmp_path, snapshots):
    result = ktrack("sysctls", "--docs-diff", snapshots[0], tmp_path / "nope")
    assert result.exit_code != 0
    assert "does not exist" in result.output and "Traceback" not in result.output
