"""The categories plugin: path map, subject fallback, the edition section (MAINTAINERS: test_categories_maintainers.py)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from tracker.edition import edition_for
from tracker.plugins import categories as cat

DATA = Path(__file__).parent / "data"
WEEK_MBOX = DATA / "linux-api-2021-09-12-13.mbox"
MAINTAINERS = DATA / "MAINTAINERS.excerpt"


@pytest.fixture(scope="module")
def cna_records(data_dir):
    """Real fixes with their files: the kernel CNA's CVE records, keyed by CVE id."""
    path = data_dir / "stable-labels" / "kernel-cna-cve-fixes-slim.jsonl.gz"  # every record: cve, subject, files, fixed_in
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return {r["cve"]: r for r in map(json.loads, fh)}


@pytest.mark.parametrize(
    "cve, slug",
    [
        ("CVE-2019-25160", "networking"),  # net/ipv4/cipso_ipv4.c, net/netlabel/
        ("CVE-2019-25162", "device-drivers"),  # drivers/i2c/i2c-core-base.c
        ("CVE-2021-46942", "filesystems"),  # fs/io_uring.c
        ("CVE-2021-46977", "virtualization"),  # arch/x86/kvm/ + asm/kvm_host.h beat arch/x86
        ("CVE-2021-4440", "architecture"),  # arch/x86/entry/, arch/x86/include/asm/
        ("CVE-2021-46937", "memory-management"),  # mm/damon/dbgfs.c
        ("CVE-2021-47218", "security"),  # security/selinux/ss/hashtab.c
        ("CVE-2021-46939", "development-tools"),  # kernel/trace/ is more specific than kernel/
        ("CVE-2021-46993", "core-kernel"),  # kernel/sched/core.c
        ("CVE-2023-53397", "build-system"),  # scripts/mod/modpost.c
        ("CVE-2021-46967", "virtualization"),  # drivers/vhost/ is more specific than drivers/
    ],
)
def test_categorize_real_fix_by_its_files(cna_records, cve, slug):
    record = cna_records[cve]
    name, got = cat.categorize("no prefix here", record["files"])
    assert got == slug, (cve, record["files"])
    assert name == cat.category_name(slug)


def test_categorize_real_fixes_rarely_fall_to_miscellaneous(cna_records):
    slugs = [cat.categorize(r["subject"], r["files"])[1] for r in cna_records.values()]
    misc = slugs.count("miscellaneous")
    assert misc / len(slugs) < 0.01
    assert len(set(slugs)) >= 10  # the map spreads real fixes over the categories


def test_vote_syscall_wiring_across_arches_does_not_make_a_series_arch_specific():
    # The shape of the real process_mrelease v9 patch (2021): mm/ code plus every arch's table.
    files = [
        "arch/alpha/kernel/syscalls/syscall.tbl",
        "arch/arm/tools/syscall.tbl",
        "arch/arm64/include/asm/unistd.h",
        "arch/arm64/include/asm/unistd32.h",
        "arch/ia64/kernel/syscalls/syscall.tbl",
        "arch/x86/entry/syscalls/syscall_32.tbl",
        "arch/x86/entry/syscalls/syscall_64.tbl",
        "include/linux/syscalls.h",
        "include/uapi/asm-generic/unistd.h",
        "kernel/sys_ni.c",
        "mm/oom_kill.c",
    ]
    assert cat.categorize("mm: introduce process_mrelease system call", files)[1] == "memory-management"
    # An arch-only series is still arch-specific.
    assert cat.categorize("x86/entry: wire up foo", ["arch/x86/entry/syscalls/syscall_64.tbl"])[1] == "architecture"


def test_vote_docs_and_selftests_weigh_less_than_code():
    files = ["Documentation/mm/a.rst", "Documentation/mm/b.rst", "Documentation/mm/c.rst", "mm/slub.c"]
    assert cat.vote(files)[0] == "memory-management"
    assert cat.vote(["Documentation/admin-guide/sysctl/vm.rst"])[0] == "documentation"
    assert cat.vote(["tools/testing/selftests/net/udpgso.sh", "net/ipv4/udp.c"])[0] == "networking"


def test_normalize_path_strips_diff_prefixes():
    assert cat.categorize("x", ["b/mm/slub.c", "a/mm/slub.c", "/dev/null"])[1] == "memory-management"


@pytest.mark.parametrize(
    "subject, slug",
    [
        ("net: dsa: fix a leak", "networking"),
        ("mm/hugetlb: fix a race", "memory-management"),
        ("x86/sev: Check for MWAITX", "architecture"),
        ("ext4: fix error handling", "filesystems"),
        ("Documentation: fix a typo", "documentation"),
        ("KVM: x86: Drop a stale comment", "virtualization"),
        ("drm/i915: Fix a leak", "device-drivers"),
        ("selftests/bpf: Add a test", "development-tools"),
        ("bpf, sockmap: Fix a leak", "core-kernel"),
        ("[PATCH net-next v2 3/7] fix the thing", "networking"),
        ("Re: [PATCH v3 2/6] futex2: Implement vectorized wait", "core-kernel"),
        ("Fix the thing in the other thing: really", "miscellaneous"),
    ],
)
def test_categorize_without_diff_uses_subject_prefix(subject, slug):
    assert cat.categorize(subject, [])[1] == slug


@pytest.mark.parametrize(
    "subject",
    [
        "Linux 6.8-rc3",
        "Linux 6.1.70",
        "[PATCH 6.12 000/172] 6.12.5-rc1 review",
        "[PATCH 4.19 00/97] 4.19.107-stable review",
        "[patch 0/6] 2.6.14.7 -stable review",
        "[ANNOUNCE] v6.6-rt15",
        "linux-next: Tree for Feb 21",
    ],
)
def test_categorize_tree_announcements_are_kernel_trees(subject):
    # files must not matter: a stable review cover carries a diffstat of everything
    assert cat.categorize(subject, ["drivers/gpu/drm/drm_gem.c"])[1] == "kernel-trees"


def test_categorize_stable_review_flag_wins_over_files():
    assert cat.categorize("some backport", ["mm/slub.c"], is_stable_review=True)[1] == "kernel-trees"


def test_categorize_bug_reports_without_diff():
    assert cat.categorize("[syzbot] KASAN: use-after-free Read in io_wq_worker", [])[1] == "benchmarks-bugs"
    assert cat.categorize("Re: [REGRESSION] 6.1.70: suspend hangs", [])[1] == "benchmarks-bugs"
    # a fix that mentions a regression still goes by its files
    assert cat.categorize("regression: fix tcp", ["net/ipv4/tcp.c"])[1] == "networking"


def test_categories_have_stable_unique_slugs():
    pairs = cat.categories()
    assert len(pairs) == 14
    assert len({slug for slug, _ in pairs}) == 14
    assert dict(pairs)["networking"] == "Networking"
    assert dict(pairs)["filesystems"] == "Filesystems and block I/O"
    table = cat._table()
    assert set(table["paths"].values()) | set(table["subjects"].values()) <= {s for s, _ in pairs}


def test_series_category_hook_reads_files_from_patches(app):
    series = {
        "subject": "io-wq: expose IO_WQ_ACCT_* enumeration items to UAPI",
        "prefixes_json": '["PATCH", "v2"]',
        "patches": [{"files": ["fs/io-wq.c", "include/uapi/linux/io_uring.h"]}],
    }
    assert app.host.call_first("series_category", series=series, config=app.config) == "filesystems"
    assert app.host.call_first("series_category", series={"subject": "net: x", "files_json": None}, config=app.config) == "networking"


def test_series_category_hook_can_be_pre_empted(app):
    from tracker import hookimpl

    class Mine:
        @hookimpl
        def series_category(self, series):
            return "benchmarks-bugs" if "bench" in series["subject"] else None

    app.host.pm.register(Mine(), name="mine")
    assert app.host.call_first("series_category", series={"subject": "bench: mm", "files": ["mm/a.c"]}, config=app.config) == "benchmarks-bugs"
    assert app.host.call_first("series_category", series={"subject": "x", "files": ["mm/a.c"]}, config=app.config) == "memory-management"


def test_lore_link_quotes_the_message_id():
    assert cat.lore_link("<20210913104101.GA29616@asgard.redhat.com>") == (
        "https://lore.kernel.org/r/20210913104101.GA29616@asgard.redhat.com"
    )
    assert cat.lore_link("a/b c%d@x") == "https://lore.kernel.org/r/a%2Fb%20c%25d@x"


def test_series_item_text_and_fields():
    item = cat.series_item(
        {"series_key": "<k@x>", "subject": "futex2: Add wait on multiple futexes syscall", "version": 3,
         "total": 6, "author_name": "André Almeida", "date": "2021-09-13T17:52:43+00:00"},
        "core-kernel",
    )
    assert item["text"] == "André Almeida: futex2: Add wait on multiple futexes syscall (v3, 6 patches)"
    assert item["link"] == "https://lore.kernel.org/r/k@x"
    assert (item["category"], item["category_name"], item["version"], item["patch_count"]) == (
        "core-kernel", "Core kernel code", 3, 6)
    single = cat.series_item({"series_key": "k", "subject": "s", "version": 1, "total": 1, "author_email": "a@b"}, "documentation")
    assert single["text"] == "a@b: s (1 patch)"


def _patches_section(app, week):
    sections = [s for result in app.host.call("edition_sections", edition=edition_for(week), db=app.db, config=app.config)
                for s in result]
    return next((s for s in sections if s.key == "patches"), None)


def test_patches_section_groups_a_real_week_by_category(app):
    from tracker.testing import import_mbox

    import_mbox(app, WEEK_MBOX)
    section = _patches_section(app, "2021-W37")
    assert section.title == "Patches and updates" and section.order == 90
    got = [(i["category"], i["subject"][:24], i["version"]) for i in section.items]
    # futex2 v3 (cover + 6 patches, Monday 13 Sep) and io-wq v2 and v3; v1 and xfrm were on Sunday (W36).
    assert got == [
        ("core-kernel", "futex2: Add wait on mult", 3),
        ("filesystems", "io-wq: expose IO_WQ_ACCT", 2),
        ("filesystems", "io-wq: provide IO_WQ_* c", 3),
    ]
    futex = section.items[0]
    assert futex["patch_count"] == 6 and futex["text"].endswith("(v3, 6 patches)")
    assert futex["link"].startswith("https://lore.kernel.org/r/")
    assert json.dumps(section.items)  # plain data all the way


def test_patches_section_uses_configured_maintainers(app, tmp_path):
    from tracker.testing import import_mbox

    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[plugins.categories]\nmaintainers = "{MAINTAINERS}"\n')
    app.config_path = config_file
    import_mbox(app, WEEK_MBOX)
    without = {i["subject"][:8]: i["category"] for i in _patches_section_no_maint(app)}
    with_maint = {i["subject"][:8]: i["category"] for i in _patches_section(app, "2021-W36").items}
    assert without["include/"] == "security"
    assert with_maint["include/"] == "networking"


def _patches_section_no_maint(app):
    config = {**app.config, "plugins": {**app.config["plugins"], "categories": {"maintainers": ""}}}
    return cat.patches_section_items(app.db, edition_for("2021-W36"), config)


def test_patches_section_empty_week_adds_nothing(app):
    assert _patches_section(app, "2021-W30") is None


def test_patches_section_site_template_groups_by_category(app, tmp_path):
    from tracker.sitebuild import build_app_site
    from tracker.testing import import_mbox

    import_mbox(app, WEEK_MBOX)
    app.host.pm.set_blocked("io_uring")  # the example plugin, when installed, claims the io-wq series for its section
    build_app_site(app, tmp_path / "site", search=False)
    html = (tmp_path / "site" / "editions" / "2021-W37.html").read_text()
    part = html[html.index('id="section-patches"'):]
    part = part[: part.index("</section>")]
    assert part.index('<h3 id="patches-core-kernel">Core kernel code</h3>') < part.index(
        '<h3 id="patches-filesystems">Filesystems and block I/O</h3>') < part.index("io-wq: provide IO_WQ_*")
    assert part.count("<h3") == 2


def test_series_json_carries_the_category(app, ktrack):
    ktrack("import", WEEK_MBOX)
    result = ktrack("series", "--json")
    assert result.exit_code == 0, result.output
    got = {s["subject"][:12]: s["category"] for s in json.loads(result.output)}
    assert got["futex2: Add "] == "core-kernel"
    assert got["io-wq: provi"] == "filesystems"


def test_patches_section_tells_a_series_reposted_in_one_week_once(app, tmp_path, data_dir):
    """memfd_secret v15 (Jan 20, 2021) and v16 (Jan 21) on linux-api: one item, the latest, naming the other."""
    from tracker.mailbox_io import iter_path
    from tracker.testing import import_mbox

    mbox = tmp_path / "memfd_secret.mbox"
    with open(mbox, "wb") as fh:
        for raw, _ in iter_path(data_dir / "lists/linux-api-2021-excerpt.mbox.gz"):
            if b"memfd_secret" in raw[:4000] and b"Jan 2021" in raw[:4000]:
                fh.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + raw.replace(b"\nFrom ", b"\n>From ") + b"\n")
    import_mbox(app, mbox)
    items = [i for i in _patches_section(app, "2021-W03").items if "memfd_secret" in i["subject"]]
    assert len(items) == 1
    [item] = items
    assert item["version"] == 16 and "also v15 this week" in item["text"]
    assert [(e["version"], e["date"][:10]) for e in item["earlier"]] == [(15, "2021-01-20")]
    assert item["earlier"][0]["link"].endswith("20210120180612.1058-1-rppt@kernel.org")


def test_series_items_say_how_many_people_reviewed_them(app, ktrack):
    """The xfrm ABI fix v2 (Sunday 12 Sep 2021) got an Acked-by on Monday 13 Sep: `series --json` says so, and so
    does review_counts until the next week's end; the edition of 2021-W36, which ended before the reply, does not."""
    from tracker.api import review_counts
    from tracker.testing import import_mbox

    import_mbox(app, WEEK_MBOX)
    xfrm = next(i for i in _patches_section(app, "2021-W36").items if "xfrm" in i["subject"])
    assert xfrm["reviews"] == {} and xfrm["text"].endswith("(v2, 1 patch)")
    assert review_counts(app.db, [xfrm["series_key"]], until="2021-09-20") == {xfrm["series_key"]: {"Acked-by": 1}}
    listed = {s["subject"][:26]: s["reviews"] for s in json.loads(ktrack("series", "--json").output)}
    assert listed["include/uapi/linux/xfrm.h:"] == {"Acked-by": 1} and listed["futex2: Add wait on multip"] == {}
    item = cat.series_item({"series_key": "k", "subject": "s", "total": 2, "author_email": "a@b",
                            "reviews": {"Tested-by": 1, "Reviewed-by": 2, "Acked-by": 1}}, "documentation")
    assert item["text"] == "a@b: s (2 patches, reviewed by 2, acked by 1, tested by 1)"


YEAR = DATA / "categories" / "linux-api-2021-series.tsv"


def _year_rows():
    import csv

    with YEAR.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_a_whole_year_of_linux_api_series_is_categorised_as_read():
    """Every series of linux-api in 2021, read through by hand: the categories must not drift."""
    rows = _year_rows()
    assert len(rows) == 214
    wrong = []
    for row in rows:
        _, slug = cat.categorize(row["subject"], row["files"].split(), prefixes=json.loads(row["prefixes"]))
        if slug != row["category"]:
            wrong.append((row["subject"], row["category"], slug))
    assert not wrong, wrong[:10]
    counts = Counter(row["category"] for row in rows)
    assert counts["miscellaneous"] <= 6 and counts["documentation"] >= 12  # man-pages are documentation


@pytest.mark.parametrize("subject, files, slug", [
    # the man-pages project's tree, by path and by subject
    ("madvise.2: Document MADV_POPULATE_READ and MADV_POPULATE_WRITE", ["man2/madvise.2"], "documentation"),
    ("man-pages: xattr.7: Update text for user extended xattr behavior change", ["man7/xattr.7"], "documentation"),
    ("rseq.2: New man page for the rseq(2) API", [], "documentation"),
    # the scheduler, locking, timers: core kernel even when drivers are edited along
    ("sched: Add support for long task name", ["drivers/gpu/drm/i915/i915_gpu_error.c", "drivers/tty/tty_io.c",
                                               "fs/exec.c", "include/linux/sched.h", "kernel/sched/core.c"], "core-kernel"),
    ("genirq: Cleanup the usage of irq_set_affinity_hint", ["drivers/net/ethernet/intel/i40e/i40e_main.c",
                                                            "drivers/scsi/lpfc/lpfc_init.c", "kernel/irq/manage.c"], "core-kernel"),
    ("locking/rwsem: Fix a lockup", ["kernel/locking/rwsem.c"], "core-kernel"),
    ("posix-timers: add multi_clock_gettime system call", ["arch/x86/entry/syscalls/syscall_64.tbl", "include/linux/syscalls.h",
                                                           "kernel/time/posix-timers.c"], "core-kernel"),
    # drivers by path first: a Rust driver, a network driver
    ("rust: add a sample PCI driver", ["drivers/gpu/nova-core/driver.rs", "drivers/gpu/nova-core/gpu.rs"], "device-drivers"),
    ("net: stmmac: fix a leak", ["drivers/net/ethernet/stmicro/stmmac/stmmac_main.c"], "device-drivers"),
    # a tree outside the kernel names itself
    ("btrfs-progs: receive: support v2 send stream", ["cmds/receive.c", "common/send-stream.c", "Documentation/btrfs-receive.rst"],
     "filesystems"),
    ("Extend fanotify dirent events", [], "filesystems"),
])
def test_categorize_real_subject_shapes(subject, files, slug):
    assert cat.categorize(subject, files)[1] == slug


YEARS_2022_2023 = DATA / "categories" / "linux-api-2022-2023-series.tsv"


def test_two_more_years_of_linux_api_series_are_categorised_as_read():
    """Every series of linux-api in 2022 and 2023 (docs/categories-review.md says how they were read)."""
    import csv

    with YEARS_2022_2023.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert len(rows) == 302
    wrong = [(r["subject"], r["category"], slug) for r in rows
             if (slug := cat.categorize(r["subject"], r["files"].split(), prefixes=json.loads(r["prefixes"]))[1]) != r["category"]]
    assert not wrong, wrong[:10]
    counts = Counter(r["category"] for r in rows)
    assert counts["development-tools"] == 11 and counts["miscellaneous"] == 3


# The classes corrected on 2022-2023 (docs/categories-review.md), each on a real series of that list.
_EVERY_ARCH = ["arch/alpha/kernel/syscalls/syscall.tbl", "arch/arm/tools/syscall.tbl", "arch/arm64/include/asm/unistd.h",
               "arch/mips/kernel/syscalls/syscall_n64.tbl", "arch/x86/entry/syscalls/syscall_64.tbl",
               "include/uapi/asm-generic/unistd.h"]


@pytest.mark.parametrize("subject, files, slug", [
    # a new syscall whose tools/ header copy and selftests outweighed its one file of code
    ("Add a new fchmodat2() syscall", ["include/linux/syscalls.h", "fs/open.c", *_EVERY_ARCH, "tools/include/uapi/asm-generic/unistd.h",
                                       "tools/testing/selftests/fchmodat2/fchmodat2_test.c"], "filesystems"),
    ("move_phys_pages syscall", ["mm/migrate.c", "arch/x86/entry/syscalls/syscall_32.tbl", "arch/x86/entry/syscalls/syscall_64.tbl",
                                 "include/linux/syscalls.h", "include/uapi/asm-generic/unistd.h", "kernel/sys_ni.c",
                                 "tools/include/uapi/asm-generic/unistd.h", "tools/testing/selftests/mm/migration.c"], "memory-management"),
    # a feature's Kconfig entry accompanies its code, and the subject names the feature
    ("cachestat: implement cachestat syscall", [*_EVERY_ARCH, "include/linux/fs.h", "include/linux/syscalls.h",
                                                "include/uapi/linux/mman.h", "init/Kconfig", "kernel/sys_ni.c", "mm/filemap.c"],
     "memory-management"),
    # only syscall tables on every architecture: the subject says whose syscalls they are
    ("fs/xattr: wire up syscalls", _EVERY_ARCH, "filesystems"),
    ("cachestat: wire up cachestat for other architectures", _EVERY_ARCH, "memory-management"),
    ("syscalls: Cleanup references to sys_lookup_dcookie()", [*_EVERY_ARCH, "include/linux/compat.h", "kernel/sys_ni.c"], "core-kernel"),
    # ... and an "arch:" subject keeps them there
    ("arch: Sync all syscall tables with 2 newly added system calls",
     ["tools/include/uapi/asm-generic/unistd.h", "tools/perf/arch/x86/entry/syscalls/syscall_64.tbl", *_EVERY_ARCH], "architecture"),
    # Andrew Morton's -mm notices: the patch file's first word is the subsystem
    ("mm-mempolicy-wire-up-syscall-set_mempolicy_home_node.patch removed from -mm tree", _EVERY_ARCH, "memory-management"),
    ("+ mm-mempolicy-wire-up-syscall-set_mempolicy_home_node.patch added to -mm tree", _EVERY_ARCH, "memory-management"),
    # serial is a driver subsystem, even when its uapi headers live under every arch/
    ("serial: termbits: ADDRB to indicate 9th bit addressing mode",
     ["arch/alpha/include/uapi/asm/termbits.h", "arch/mips/include/uapi/asm/termbits.h", "arch/parisc/include/uapi/asm/termbits.h",
      "arch/powerpc/include/uapi/asm/termbits.h", "arch/sparc/include/uapi/asm/termbits.h", "drivers/tty/serial/serial_core.c",
      "drivers/tty/tty_ioctl.c", "include/uapi/asm-generic/termbits.h"], "device-drivers"),
    # selftests and documentation alone stay development tools and documentation
    ("rseq selftests: Fix: use KHDR_INCLUDES for kernel headers", ["tools/testing/selftests/rseq/Makefile"], "development-tools"),
    ("procfs: document proc timestamps", ["Documentation/filesystems/proc.rst"], "documentation"),
])
def test_categories_corrected_on_2022_2023(subject, files, slug):
    assert cat.categorize(subject, files)[1] == slug


def test_path_category_tries_only_the_patterns_a_path_can_match():
    """path_category picks among the patterns of the path's first segment (and wildcard ones):
    the same answer as trying every pattern of the map in order, on every file of the real
    linux-api excerpt and on paths made from the map's own patterns."""
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_mbox
    from tracker.plugins import categorize

    def every_pattern(path):
        best = None
        for pattern, slug in categorize._table()["paths"].items():
            depth = categorize._segments_match(pattern, path)
            if depth is not None and (best is None or depth > best[1]):
                best = (slug, depth)
        return best

    paths = {f for raw, _ in iter_mbox(Path(__file__).parent / "data" / "lists" / "linux-api-2021-excerpt.mbox.gz")
             for f in parse_message(raw).files}
    for pattern in categorize._table()["paths"]:
        made = pattern.replace("*", "x").rstrip("/")
        paths |= {made, made + "/file.c", made + "/sub/file.c"}
    assert len(paths) > 200
    found = {path: categorize.path_category(path) for path in sorted(paths)}
    assert found == {path: every_pattern(path) for path in sorted(paths)}
    assert sum(v is not None for v in found.values()) > 100
