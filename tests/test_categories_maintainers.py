"""The categories plugin's MAINTAINERS refinement: the file's entries, get_maintainer's pattern depth, lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.errors import KtrackError
from tracker.plugins import categories as cat
from tracker.plugins.categories_maintainers import load_maintainers, parse_maintainers, pattern_depth

MAINTAINERS = Path(__file__).parent / "data" / "MAINTAINERS.excerpt"


@pytest.fixture(scope="module")
def maintainers():
    return load_maintainers(MAINTAINERS)


def test_parse_maintainers_reads_entries_and_skips_preamble():
    entries = parse_maintainers(MAINTAINERS.read_text())
    names = [e.name for e in entries]
    assert names[0] == "FUTEX SUBSYSTEM"  # the preamble's indented "M:"/"F:" examples are not entries
    assert "THE REST" in names and len(names) == 11
    intel = next(e for e in entries if e.name == "INTEL ETHERNET DRIVERS")
    assert intel.lists == ["intel-wired-lan@lists.osuosl.org"]  # "(moderated ...)" dropped
    net = next(e for e in entries if e.name == "NETWORKING [GENERAL]")
    assert "net/" in net.files and net.excludes == ["net/bluetooth/"]
    assert next(e for e in entries if e.name.startswith("TEGRA")).regexes == ["[^a-z]tegra"]


@pytest.mark.parametrize(
    "pattern, path, depth",
    [
        ("drivers/net/", "drivers/net/tun.c", 2),
        ("drivers/net/", "drivers/net/ethernet/intel/e1000e/netdev.c", 2),
        ("drivers/net/*", "drivers/net/tun.c", 3),
        ("drivers/net/*", "drivers/net/ethernet/x.c", None),  # "all files in drivers/net, but not below"
        ("*/net/*", "include/net/sock.h", 3),
        ("Documentation/locking/*futex*", "Documentation/locking/robust-futexes.rst", 3),
        ("net/ipv4/esp4*", "net/ipv4/esp4_offload.c", 3),
        ("tools/testing/selftests/x86", "tools/testing/selftests/x86/ldt_gdt.c", 4),  # a directory without "/"
        ("fs/io_uring.c", "fs/io_uring.c", 2),
        ("fs/io_uring.c", "fs/io-wq.c", None),
    ],
)
def test_pattern_depth_follows_get_maintainer(pattern, path, depth):
    assert pattern_depth(pattern, path) == depth


def test_maintainers_lookup_most_specific_exclusions_and_regex(maintainers):
    entry, _ = maintainers.lookup("drivers/net/ethernet/intel/e1000e/netdev.c")
    assert entry.name == "INTEL ETHERNET DRIVERS"
    assert maintainers.lookup("net/xfrm/xfrm_policy.c")[0].name == "XFRM"  # deeper than NETWORKING's net/
    assert maintainers.lookup("net/bluetooth/hci_core.c") is None  # X: net/bluetooth/, and THE REST is ignored
    assert maintainers.lookup("include/soc/tegra/fuse.h")[0].name == "TEGRA ARCHITECTURE SUPPORT"  # N:
    assert maintainers.lookup("drivers/gpu/drm/integrator.c") is None  # [^a-z]tegra
    assert maintainers.lookup("README") is None


def test_maintainers_refine_files_the_path_map_misses(maintainers):
    # include/uapi/linux/xfrm.h is not in the path map; MAINTAINERS says XFRM (netdev@).
    assert cat.file_category("include/uapi/linux/xfrm.h") is None
    assert cat.file_category("include/uapi/linux/xfrm.h", maintainers) == ("networking", "MAINTAINERS: XFRM")
    # A futex selftest is a development tool by path, core kernel by its MAINTAINERS entry.
    path = "tools/testing/selftests/futex/functional/futex_waitv.c"
    assert cat.file_category(path)[0] == "development-tools"
    assert cat.file_category(path, maintainers)[0] == "core-kernel"
    # A driver entry keeps a network driver under device drivers.
    assert cat.file_category("drivers/net/ethernet/intel/e1000e/netdev.c", maintainers)[0] == "device-drivers"
    # A weak N: regex does not override the path map's drivers/.
    assert cat.file_category("drivers/gpu/drm/tegra/dc.c", maintainers)[0] == "device-drivers"


def test_categorize_real_xfrm_patch_changes_with_maintainers(maintainers):
    # [PATCH v2] include/uapi/linux/xfrm.h: Fix XFRM_MSG_MAPPING ABI breakage (linux-api, 12 Sep 2021)
    files = ["include/uapi/linux/xfrm.h", "security/selinux/nlmsgtab.c"]
    subject = "include/uapi/linux/xfrm.h: Fix XFRM_MSG_MAPPING ABI breakage"
    assert cat.categorize(subject, files)[1] == "security"
    assert cat.categorize(subject, files, maintainers=maintainers)[1] == "networking"


def test_load_maintainers_errors_are_one_line(tmp_path):
    with pytest.raises(KtrackError, match="cannot read MAINTAINERS file"):
        load_maintainers(tmp_path / "missing")
    (tmp_path / "empty").write_text("just text\n\nmore text\n")
    with pytest.raises(KtrackError, match="has no MAINTAINERS entries"):
        load_maintainers(tmp_path / "empty")
