"""Watched topics on real linux-api mail of November 2021: the rules, the edition section, the pages, `ktrack watch`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tracker.errors import KtrackError
from tracker.plugins.watch.matching import changes, file_matches, in_entry, prefix_matches, watched_series
from tracker.plugins.watch.topics import lore_query, rules_sentence, topics

# trusted_for v16 (Nov 10) and v17 (Nov 15), set_mempolicy_home_node v4 (Nov 1) and v5 (Nov 16)
WANTED = re.compile(rb"^Subject:.*(trusted_for|set_mempolicy_home_node|home_node)", re.M | re.I)
TOPICS = """
[plugins.watch.topics.trusted]
title = "trusted_for"
paths = ["fs/open.c"]
people = ["MIC@digikod.net"]

[plugins.watch.topics.mempolicy]
title = "Memory policy"
prefixes = ["mempolicy"]

[plugins.watch.topics.landlock]
words = ["landlock_restrict_self"]
"""


@pytest.fixture
def watching(app, data_dir, tmp_path):
    from tracker.ingest import store_raw_messages
    from tracker.mailbox_io import iter_mbox

    raws = [(raw, where) for raw, where in iter_mbox(data_dir / "lists" / "linux-api-2021-excerpt.mbox.gz")
            if b"Date: " in raw and WANTED.search(raw.split(b"\n\n", 1)[0])]
    assert len(raws) > 10
    store_raw_messages(app.db, raws, list_id="linux-api.vger.kernel.org")
    path = tmp_path / "watch.toml"
    path.write_text(TOPICS)
    app.use_config(path)
    return app, path


def test_watch_rules_catch_series_by_path_person_and_prefix_once_per_lineage(watching):
    app, _ = watching
    configured = topics(app.config)
    trusted = watched_series(app.db, configured["trusted"], since="2021-11-01", until="2021-12-01")
    assert [(s["subject"], s["version"]) for s in trusted] == [("Add trusted_for(2) (was O_MAYEXEC)", 17)]  # v16 folded in
    assert "touches fs/open.c" in trusted[0]["why"] and "from MIC@digikod.net" in trusted[0]["why"]
    older = watched_series(app.db, configured["trusted"], since="2021-11-01", until="2021-11-12")
    assert [s["version"] for s in older] == [16]
    mempolicy = watched_series(app.db, configured["mempolicy"], since="2021-11-01", until="2021-12-01")
    assert mempolicy and all("mempolicy: in a subject" in s["why"] for s in mempolicy)
    assert all("home_node" in s["subject"] for s in mempolicy)


def test_watch_words_count_changed_lines_not_diff_context(watching):
    """The trusted_for syscall-table patch shows landlock_restrict_self only as a context line, and adds trusted_for."""
    app, _ = watching
    diff = app.db.execute("select diff from messages where subject like '%v17 2/3] arch: Wire up trusted_for%'").fetchone()[0]
    assert re.search(r"^ .*landlock_restrict_self", diff, re.M)  # it is there, as context
    assert not changes(diff, "landlock_restrict_self") and changes(diff, "trusted_for") and changes(diff, "TRUSTED_FOR")
    assert not changes("--- a/fs/open.c\n+++ b/fs/open.c\n", "open")  # file headers are not changes
    assert changes("@@ -1 +1 @@\n-\tlandlock_add_rule(x);\n", "landlock") and not changes("+\tlandlocked = 1;\n", "landlock")
    assert watched_series(app.db, topics(app.config)["landlock"]) == []
    found = watched_series(app.db, {**topics(app.config)["landlock"], "words": ["sys_trusted_for"]})
    assert [s["version"] for s in found] == [17] and found[0]["why"] == ["changes sys_trusted_for"]


def test_watch_section_pages_and_command(watching, ktrack):
    from tracker.edition import assemble_edition

    app, path = watching
    edition = assemble_edition(app, "2021-W46")
    [section] = [s for s in edition["sections"] if s["key"] == "watch"]
    groups = [i["group"] for i in section["items"]]
    assert groups[0] == "trusted_for" and "Memory policy" in groups
    assert all(i["link"].startswith("https://lore.kernel.org/r/") for i in section["items"])

    # the watched series are told once: not again under "Patches and updates" (claim_series)
    [patches] = [s for s in edition["sections"] if s["key"] == "patches"] or [{"items": []}]
    watched = {i["series_key"] for i in section["items"]}
    assert watched and not watched & {i["series_key"] for i in patches["items"]}

    digest = ktrack("--config", path, "digest", "--week", "2021-W46", "--section", "watch", "--format", "text").output
    assert "Watched topics" in digest and "Memory policy" in digest
    assert "Patches and updates" not in digest and "New system calls" not in digest

    out = json.loads(ktrack("--config", path, "watch", "mempolicy", "--json").output)
    assert list(out) == ["mempolicy"] and out["mempolicy"][0]["version"] >= 4
    text = ktrack("--config", path, "watch", "--since", "2021-11-14").output
    assert text.splitlines()[0] == "trusted_for (1 series)" and "landlock (0 series)" in text
    unknown = ktrack("--config", path, "watch", "nope")
    assert unknown.exit_code != 0 and "nope: no such watched topic (configured: trusted, mempolicy, landlock)" in unknown.output

    from tracker.plugins.watch import site_pages

    pages = {p.path: p for p in site_pages(app.db, app.config)}
    assert set(pages) == {"watch/index.html", "watch/trusted.html", "watch/mempolicy.html", "watch/landlock.html",
                          "watch/trusted.xml", "watch/mempolicy.xml", "watch/landlock.xml"}
    [entry] = pages["watch/trusted.xml"].entries
    assert entry["id"] == "20211115185304.198460-1-mic@digikod.net" and "touches fs/open.c" in entry["content"]
    assert pages["watch/landlock.html"].context["items"] == []
    assert "touch fs/open.c or come from MIC@digikod.net" in pages["watch/trusted.html"].context["intro"]


@pytest.mark.parametrize("table, message", [
    ('[plugins.watch.topics.x]\npath = ["fs/"]', "unknown key plugins.watch.topics.x.path"),
    ('[plugins.watch.topics.x]\ntitle = "X"', "plugins.watch.topics.x has no rule"),
    ('[plugins.watch.topics.x]\nwords = ["", "a"]', "plugins.watch.topics.x.words must be a list of non-empty strings"),
    ('[plugins.watch.topics."Bad Name"]\nwords = ["a"]', "a topic name is lower-case"),
])
def test_watch_config_mistakes_are_one_line(ktrack, tmp_path, table, message):
    path = tmp_path / "bad.toml"
    path.write_text(table)
    result = ktrack("--config", path, "watch")
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


def test_watch_without_topics_says_how_to_add_one(ktrack, app):
    result = ktrack("watch")
    assert result.exit_code != 0 and "[plugins.watch.topics.NAME]" in result.output
    assert topics(app.config) == {}


def test_prefix_matches_reads_the_subsystem_part_only():
    assert prefix_matches("[PATCH v5 3/3] mm/mempolicy: wire up syscall", ["mempolicy"]) == "mempolicy"
    assert prefix_matches("selftests/landlock: add a test", ["Landlock"]) == "Landlock"
    assert prefix_matches("mm: fix the mempolicy of tasks", ["mempolicy"]) is None
    with pytest.raises(KtrackError):
        topics({"plugins": {"watch": {"topics": {"x": "words"}}}})


def test_watch_paths_read_like_maintainers_file_patterns(watching):
    assert file_matches("include/linux/mmzone.h", "include/linux/mm*.h")
    assert not file_matches("include/linux/sched/mm.h", "include/linux/mm*.h")  # "*" stays at its depth
    assert file_matches("drivers/net/ethernet/mellanox/mlx5/core/en.c", "drivers/net/*/mlx5/")
    app, _ = watching
    topic = {**topics(app.config)["landlock"], "words": [], "paths": ["arch/*/entry/syscalls/syscall_*.tbl"]}
    found = watched_series(app.db, topic, since="2021-11-14", until="2021-11-16")
    assert [s["version"] for s in found] == [17]
    assert "touches arch/x86/entry/syscalls/syscall_32.tbl" in found[0]["why"]
    assert lore_query(topic) == ""  # all of arch/ is too broad to ask lore for
    assert lore_query({**topic, "paths": ["drivers/net/*/mlx5/"]}) == '(dfn:"drivers/net/")'


def _maintainers_config(tmp_path, topic: str) -> Path:
    path = tmp_path / "maint.toml"
    excerpt = Path(__file__).parent / "data" / "MAINTAINERS.excerpt"
    path.write_text(f'[plugins.categories]\nmaintainers = "{excerpt}"\n{topic}')
    return path


def test_watch_a_maintainers_entry_follows_its_file_patterns(app, ktrack, tmp_path):
    """FUTEX SUBSYSTEM's F: lines (kernel/futex.c, tools/testing/selftests/futex/) catch futex_waitv v3, not the io-wq series."""
    mbox = Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"
    assert ktrack("import", mbox).exit_code == 0
    config = _maintainers_config(tmp_path, '[plugins.watch.topics.futex]\nmaintainers = ["futex subsystem"]\n')
    result = ktrack("--config", config, "watch", "--json")
    assert result.exit_code == 0, result.output
    [series] = json.loads(result.output)["futex"]
    assert series["subject"].startswith("futex2: Add wait on multiple futexes syscall") and series["version"] == 3
    assert "touches kernel/futex.c (FUTEX SUBSYSTEM)" in series["why"]
    app.use_config(config)
    topic = topics(app.config)["futex"]
    assert 'dfn:"kernel/futex.c"' in lore_query(topic) and 'dfn:"tools/testing/selftests/futex/"' in lore_query(topic)
    assert "touch the files of FUTEX SUBSYSTEM in MAINTAINERS" in rules_sentence(topic)


def test_watch_maintainers_entry_rules_and_mistakes(ktrack, tmp_path):
    tegra = {"name": "TEGRA", "files": [], "excludes": [], "regexes": ["[^a-z]tegra"]}
    assert in_entry("drivers/gpu/host1x/tegra-foo.c", tegra) and not in_entry("drivers/integrator.c", tegra)
    mm = {"name": "MM", "files": ["mm/"], "excludes": ["mm/kasan/"], "regexes": []}
    assert in_entry("mm/slab.c", mm) and not in_entry("mm/kasan/common.c", mm)
    typo = ktrack("--config", _maintainers_config(tmp_path, '[plugins.watch.topics.f]\nmaintainers = ["FUTEX SUBSYTEM"]\n'), "watch")
    assert typo.exit_code != 0 and "no entry 'FUTEX SUBSYTEM' in the MAINTAINERS file (did you mean 'FUTEX SUBSYSTEM'?)" in typo.output
    no_file = tmp_path / "nofile.toml"
    no_file.write_text('[plugins.watch.topics.f]\nmaintainers = ["FUTEX SUBSYSTEM"]\n')
    missing = ktrack("--config", no_file, "watch")
    assert missing.exit_code != 0 and "needs a local MAINTAINERS file: set [plugins.categories] maintainers" in missing.output


def test_watch_since_must_be_a_date(ktrack, tmp_path):
    path = tmp_path / "w.toml"
    path.write_text('[plugins.watch.topics.x]\nwords = ["x"]\n')
    bad = ktrack("--config", path, "watch", "--since", "yesterday")
    assert bad.exit_code == 2 and "does not match the format '%Y-%m-%d'" in bad.output


def test_watch_names_the_patches_of_a_stable_review_that_touch_the_topic(ktrack, data_dir, tmp_path):
    """The real 2.6.14.7 review: of its six patches, #5 and #6 (ip_nat_pptp) touch net/ipv4/netfilter/."""
    assert ktrack("import", data_dir / "stable-reviews" / "2.6.14.7-review.mbox").exit_code == 0
    path = tmp_path / "w.toml"
    path.write_text('[plugins.watch.topics.netfilter]\npaths = ["net/ipv4/netfilter/"]\n')
    [review] = json.loads(ktrack("--config", path, "watch", "--json").output)["netfilter"]
    assert review["patches"] == [5, 6]
    assert review["text"].startswith("Greg KH: 2.6.14.7 -stable review: #5, #6 (6 patches; touches net/ipv4/netfilter/")
