"""A released stable update reviewed from its ChangeLog: the file, the download, the weekly source.

The ChangeLog is written by real git from the real 2.6.14.7 review patches
(tests/changelog_helpers.py), as kernel.org writes ChangeLog-X.Y.Z.
"""

from __future__ import annotations

import gzip
import json
import mailbox
import re
import subprocess
from pathlib import Path

import pytest
from changelog_helpers import _commit, make_changelog, review_commits
from fetch_helpers import configure
from public_inbox import require_tools, running_public_inbox


@pytest.fixture
def changelog(data_dir, tmp_path):
    return make_changelog(data_dir, tmp_path)


def review_json(ktrack, *args):
    result = ktrack("stable", "review", *map(str, args), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_changelog_is_reviewed_like_its_review_thread(ktrack, changelog, data_dir):
    review = review_json(ktrack, changelog)
    assert review["release"] == "2.6.14.7" and review["patch_count"] == 6
    thread = review_json(ktrack, data_dir / "stable-reviews" / "2.6.14.7-review.mbox")
    assert [p["subject"] for p in review["patches"]] == [p["subject"] for p in thread["patches"]]  # same numbering
    security = [p for p in review["patches"] if p["category"] == "security"]
    assert [(p["number"], p["cves"]) for p in security] == [(5, ["CVE-2006-0036"]), (6, ["CVE-2006-0037"])]
    # the commit message is read, not just the subject: #5's says it "uses a NULL pointer"
    assert security[0]["summary"] == "Possible NULL pointer dereference in the netfilter code"


def test_reviewing_a_changelog_again_changes_nothing(ktrack, changelog, app):
    first = review_json(ktrack, changelog)
    assert review_json(ktrack, changelog) == first
    assert app.db["stable_review_verdicts"].count == 6 and app.db["stable_review_changelogs"].count == 1


def test_the_message_says_typo_in_passing_which_does_not_make_a_comment_fix(ktrack, changelog):
    """#1's message: "It appears a typo in Ashok's original commit" - the fix is to interrupt affinity, not a comment."""
    [first] = [p for p in review_json(ktrack, changelog)["patches"] if p["number"] == 1]
    assert first["category"] == "bugfix" and "comment" not in first["summary"]


def test_oneline_log_is_read_from_subjects_and_needs_to_know_its_release(ktrack, data_dir, tmp_path):
    oneline = make_changelog(data_dir, tmp_path, "--oneline")
    review = review_json(ktrack, oneline)
    assert review["release"] == "2.6.14.7" and [p["number"] for p in review["patches"]] == [1, 2, 3, 4, 5, 6]
    assert {p["number"] for p in review["patches"] if p["category"] == "security"} == {5, 6}

    bare = tmp_path / "shortlog.txt"  # the patches without the version bump, under a name that says nothing
    bare.write_text("".join(line + "\n" for line in oneline.read_text().splitlines() if "Linux 2.6.14.7" not in line))
    result = ktrack("stable", "review", bare)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {bare}: the log names no release (no 'Linux X.Y.Z' commit): pass --release VERSION"]
    assert review_json(ktrack, bare, "--release", "2.6.14.7")["patch_count"] == 6


def test_a_log_spanning_updates_gives_one_review_each(ktrack, data_dir, tmp_path):
    """`git log` across two releases: each "Linux X.Y.Z" commit opens its own update (the 4.19.107 pseudo-shortlog's commits)."""
    log = make_changelog(data_dir, tmp_path)
    repo = tmp_path / "linux-stable"
    cover = (data_dir / "stable-reviews" / "4.19.107-review-cover.eml").read_text()
    subjects = re.findall(r"^    (\S.*)$", cover.split("Pseudo-Shortlog of commits:")[1].split("\n---")[0], re.M)[::-1]
    for subject in subjects[:5]:
        _commit(repo, subject + "\n", ("Greg Kroah-Hartman", "gregkh@linuxfoundation.org"), "2020-02-27T14:00:00+01:00")
    _commit(repo, "Linux 4.19.107\n", ("Greg Kroah-Hartman", "gregkh@linuxfoundation.org"), "2020-02-28T17:21:00+01:00")
    log.write_bytes(subprocess.run(["git", "-C", str(repo), "log"], capture_output=True, check=True).stdout)
    both = review_json(ktrack, log)
    assert [(r["release"], r["patch_count"]) for r in both] == [("4.19.107", 5), ("2.6.14.7", 6)]
    listed = json.loads(ktrack("stable", "list", "--json").output)
    assert sorted(r["release"] for r in listed) == ["2.6.14.7", "4.19.107"]


def test_the_released_changelog_outranks_the_rc_thread_in_the_analysis(ktrack, changelog, data_dir, app):
    """Reviewed from its ChangeLog, 2.6.14.7 keeps that review when its thread is imported and analysed later."""
    from tracker.plugins.stable_review.store import reviewed_from_changelog

    review_json(ktrack, changelog)
    assert ktrack("import", data_dir / "stable-reviews" / "2.6.14.7-review.mbox").exit_code == 0
    assert ktrack("analyze").exit_code == 0
    assert reviewed_from_changelog(app.db, "2.6.14.7")
    stored = review_json(ktrack, "2.6.14.7")  # the version: what is stored, not the thread again
    assert all(p["message_id"] is None for p in stored["patches"]) and stored["patch_count"] == 6
    # a newer classifier reviews stored ChangeLogs again: a verdict changed behind its back is redone
    app.db.execute("update stable_review_verdicts set category = 'enhancement' where release = '2.6.14.7' and number = 5")
    app.db.conn.commit()
    assert ktrack("analyze").exit_code == 0 and review_json(ktrack, "2.6.14.7")["patches"][4]["category"] == "enhancement"
    assert ktrack("analyze", "--all").exit_code == 0
    assert review_json(ktrack, "2.6.14.7")["patches"][4]["category"] == "security"


def test_a_review_from_another_source_replaces_the_rows_and_keeps_cves_by_subject(db):
    """rc1 had three patches, rc2 drops one and reorders: rc2's numbering wins, the CVE seen on rc1 stays with its patch."""
    from tracker.plugins.stable_review.review import review_entries
    from tracker.plugins.stable_review.store import load_review, save_review

    rc1 = review_entries([{"subject": s} for s in (
        "setting irq affinity is broken in ia32 with MSI enabled",
        "[SPARC64]: Fix ptrace/strace",
        "[NETFILTER]: Fix crash in ip_nat_pptp",
    )], "2.6.14.7")
    rc1[2]["cves"] = ["CVE-2006-0036"]
    save_review(db, "2.6.14.7", rc1, series_key="rc1")
    rc2 = review_entries([{"subject": "[NETFILTER]: Fix crash in ip_nat_pptp"}, {"subject": "[SPARC64]: Fix ptrace/strace"}], "2.6.14.7")
    save_review(db, "2.6.14.7", rc2, series_key="rc2")
    stored = load_review(db, "2.6.14.7")
    assert [(e["number"], e["subject"], e["cves"]) for e in stored] == [
        (1, "[NETFILTER]: Fix crash in ip_nat_pptp", ["CVE-2006-0036"]), (2, "[SPARC64]: Fix ptrace/strace", [])]
    save_review(db, "2.6.14.7", rc2[:1], series_key="rc2")  # the same thread again, seen part-way: rows are kept
    assert len(load_review(db, "2.6.14.7")) == 2


def changelog_server(httpserver, changelog, release="2.6.14.7"):
    httpserver.expect_request(f"/pub/linux/kernel/v2.6/ChangeLog-{release}").respond_with_data(
        changelog.read_bytes(), content_type="text/plain; charset=utf-8")
    httpserver.expect_request(re.compile(r".*/ChangeLog-.*")).respond_with_data("Not Found", status=404)
    return httpserver.url_for("/pub/linux/kernel/{dir}/ChangeLog-{version}")


@pytest.fixture(scope="module")
def lore_without_the_review(data_dir, tmp_path_factory):
    """A real public-inbox holding the stable list's 4.19.107 review only: a search for 2.6.14.7 finds nothing."""
    require_tools()
    cover = (data_dir / "stable-reviews" / "4.19.107-review-cover.eml").read_bytes()
    workdir = tmp_path_factory.mktemp("public-inbox-no-2.6.14.7")
    with running_public_inbox(None, workdir, name="stable", address="stable@vger.kernel.org", messages=[cover]) as (base, _):
        yield base


@pytest.fixture
def no_lore(lore_without_the_review):
    return f'[plugins.lore]\nbase_url = "{lore_without_the_review}"\n'


def test_fetch_falls_back_to_the_changelog_when_lore_has_no_review(app, tmp_path, ktrack, httpserver, changelog, no_lore):
    template = changelog_server(httpserver, changelog)
    configure(app, tmp_path, no_lore + f'[plugins.stable_review]\nchangelog_url = "{template}"\n')
    review = review_json(ktrack, "2.6.14.7", "--fetch")
    assert review["patch_count"] == 6 and {p["number"] for p in review["patches"] if p["category"] == "security"} == {5, 6}
    assert app.db["messages"].count == 0 and app.db["sources"].count == 0  # a one-off download, no mail
    served = len(httpserver.log)
    assert review_json(ktrack, "2.6.14.7", "--fetch") == review and len(httpserver.log) == served  # stored: nothing fetched
    assert review_json(ktrack, "2.6.14.6..2.6.14.7", "--fetch") == [review]  # a range is a list, even of one update


def test_a_changelog_url_serving_html_is_one_line_and_stores_nothing(app, tmp_path, ktrack, httpserver, no_lore):
    httpserver.expect_request(re.compile(r".*/ChangeLog-.*")).respond_with_data(
        "<!DOCTYPE html><html><body>Making sure you're not a bot!</body></html>", content_type="text/html")
    configure(app, tmp_path, no_lore + '[plugins.stable_review]\n'
                             f'changelog_url = "{httpserver.url_for("/{dir}/ChangeLog-{version}")}"\n')
    result = ktrack("stable", "review", "6.1.120", "--fetch")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: no 6.1.120 stable review found on lore") and "/v6.x/ChangeLog-6.1.120: got" in line, line
    assert not app.db["stable_review_changelogs"].exists() or app.db["stable_review_changelogs"].count == 0


def test_the_weekly_source_reviews_a_new_release_from_its_changelog(app, tmp_path, httpserver, changelog, no_lore):
    """kernel.org says 2.6.14.7 came out; lore has no review; the ChangeLog is downloaded once and reviewed by the analysis."""
    from test_stable_fetch import add_releases
    from tracker.analyze import run_analysis
    from tracker.fetching import run_sources
    from tracker.plugins.stable_review.store import load_review

    cna = tmp_path / "cna.jsonl"  # a CVE source, so the review links CVEs as it is stored
    cna.write_text(json.dumps({"cve": "CVE-2006-0037", "subject": "[NETFILTER]: Fix another crash in ip_nat_pptp",
                               "mainline_fix": [], "fixed_in": ["2.6.14.7"]}) + "\n")
    configure(app, tmp_path, no_lore + '[plugins.stable_review]\n'
                             f'changelog_url = "{changelog_server(httpserver, changelog)}"\ncve_jsonl = "{cna}"\n')
    add_releases(app.db, ("2.6.14.7", "stable", 1))
    [result] = run_sources(app, ["stable-reviews"])
    assert result.ok and result.warnings == []
    assert load_review(app.db, "2.6.14.7") == []  # fetched, not reviewed yet: that is the analysis' job
    assert run_analysis(app) == []
    entries = load_review(app.db, "2.6.14.7")
    assert len(entries) == 6 and entries[5]["cves"] == ["CVE-2006-0037"] and entries[5]["category"] == "security"
    downloads = [r for r, _ in httpserver.log if "ChangeLog" in r.path]
    [again] = run_sources(app, ["stable-reviews"], force=True)
    assert again.ok and [r for r, _ in httpserver.log if "ChangeLog" in r.path] == downloads  # stored: not downloaded again


def test_review_commits_are_the_real_mails(data_dir):
    """The fixture's commits are the review's own patches: authors from the in-body From:, messages without diffs."""
    commits = review_commits(data_dir)
    mails = [m for m in mailbox.mbox(str(data_dir / "stable-reviews" / "2.6.14.7-review.mbox")) if "[patch 0/" not in m["Subject"]]
    assert len(commits) == len(mails) == 6
    assert commits[4]["author"] == ("Patrick McHardy", "kaber@trash.net")
    assert all("\n+++ " not in c["message"] and "Signed-off-by: Greg Kroah-Hartman" in c["message"] for c in commits)


def test_the_site_says_a_review_was_read_from_the_released_changelog(ktrack, changelog, data_dir, tmp_path):
    review_json(ktrack, changelog)
    review_json(ktrack, data_dir / "stable-reviews" / "4.19.107-review-cover.eml")
    out = tmp_path / "site"
    assert ktrack("site", "build", "--out", out).exit_code == 0
    released = (out / "stable" / "2.6.14.7.html").read_text()
    assert "6 patches, read from the ChangeLog of the release (2006-01-31):" in released
    assert "CVE-2006-0036" in released and 'class="cve" href="https://www.cve.org/CVERecord?id=CVE-2006-0036"' not in released
    assert "review posted" in (out / "stable" / "4.19.107.html").read_text()
    index = (out / "stable" / "index.html").read_text()
    assert re.search(r'2\.6\.14\.7</a></td><td>ChangeLog <span class="date">2006-01-31</span>', index), index
    assert re.search(r'4\.19\.107</a></td><td>review thread <span class="date">2020-02-2\d</span>', index), index
    listed = json.loads(ktrack("stable", "list", "--json").output)
    assert {r["release"]: r["read_from"] for r in listed} == {"2.6.14.7": "changelog", "4.19.107": "review thread"}
    text = ktrack("stable", "list").output.splitlines()
    assert text[-1].startswith("2.6.14.7") and text[-1].endswith("with CVE ids (from its ChangeLog)"), text


def test_a_oneline_log_with_a_stray_line_names_the_line(ktrack, data_dir, tmp_path):
    oneline = make_changelog(data_dir, tmp_path, "--oneline")
    lines = oneline.read_text().splitlines()
    broken = tmp_path / "ChangeLog-2.6.14.7"
    broken.write_text("\n".join(lines[:3] + ["<<<<<<< HEAD"] + lines[3:]) + "\n")
    result = ktrack("stable", "review", broken)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {broken}: line 4: not a git log line: '<<<<<<< HEAD'"]
    assert result.output.count("Error") == 1 and ktrack("stable", "list", "--json").output.strip() == "[]"


def test_a_changelog_commits_trailers_are_evidence(tmp_path):
    """The real xfrm ABI fix (linux-api, Sep 2021) committed by git: its Fixes: line is shown for a reader to check."""
    from tracker.plugins.stable_review.changelog import parse_log
    from tracker.plugins.stable_review.classifier import classify_patch

    mails = mailbox.mbox(str(Path(__file__).parent / "data" / "linux-api-2021-09-12-13.mbox"))
    mail = next(m for m in mails if str(m["Subject"]).startswith("[PATCH v2] include/uapi/linux/xfrm.h"))
    body = mail.get_payload(decode=True).decode().split("\n---\n")[0]
    repo = tmp_path / "linux"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _commit(repo, "include/uapi/linux/xfrm.h: Fix XFRM_MSG_MAPPING ABI breakage\n\n" + body,
            ("Eugene Syromiatnikov", "esyr@redhat.com"), "2021-09-12T14:22:34+02:00")
    [commit] = parse_log(subprocess.run(["git", "-C", str(repo), "log"], capture_output=True, check=True, text=True).stdout)
    assert ["Signed-off-by", "Eugene Syromiatnikov <esyr@redhat.com>"] in commit["trailers"]
    evidence = classify_patch(commit).evidence
    assert 'Fixes: 2d151d39073a ("xfrm: Add possibility to set the default to block if we have no policy")' in evidence


def test_a_backport_is_linked_to_its_cve_by_upstream_sha_and_the_page_links_both(ktrack, app, data_dir, tmp_path):
    """A 6.1.119 backport as the stable tree writes it: the real mainline message of CVE-2023-52812 under
    "[ Upstream commit <sha> ]". The CVE is found by that SHA, and the review page links the commit and the record."""
    record = next(json.loads(line) for line in open(data_dir / "stable-labels" / "kernel-cna-cve-fixes-excerpt.jsonl")
                  if line.startswith('{"cve": "CVE-2023-52812"'))
    sha = record["mainline_fix"][0]
    repo = tmp_path / "linux-stable"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _commit(repo, f"{record['subject']}\n\n[ Upstream commit {sha} ]\n\n{record['description']}\n\n"
                  "Signed-off-by: Sasha Levin <sashal@kernel.org>\n", ("Lin.Cao", "lincao12@amd.com"), "2024-11-10T10:00:00+01:00")
    _commit(repo, "Linux 6.1.119\n", ("Greg Kroah-Hartman", "gregkh@linuxfoundation.org"), "2024-11-22T15:38:00+01:00")
    log = tmp_path / "ChangeLog-6.1.119"
    log.write_bytes(subprocess.run(["git", "-C", str(repo), "log"], capture_output=True, check=True).stdout)
    export = tmp_path / "cna.jsonl"
    export.write_text(json.dumps({**record, "subject": "a subject that does not match"}) + "\n")  # only the SHA can link it
    configure(app, tmp_path, f'[plugins.stable_review]\ncve_jsonl = "{export}"\n')

    [patch] = review_json(ktrack, log)["patches"]
    assert patch["upstream_commit"] == sha and patch["cves"] == ["CVE-2023-52812"]
    assert patch["category"] == "security" and "out-of-bounds" in patch["summary"]  # the message says so...
    from tracker.plugins.stable_review.classifier import classify_patch

    assert classify_patch({"subject": record["subject"]}).category == "bugfix"  # ...the subject alone does not
    assert app.db.execute("select cve_match from stable_review_verdicts").fetchone()[0] == "sha"
    out = tmp_path / "site"
    assert ktrack("site", "build", "--out", out, "--no-search").exit_code == 0
    page = (out / "stable" / "6.1.119.html").read_text()
    assert f'<a href="https://git.kernel.org/torvalds/c/{sha}">{sha}</a>' in page
    assert 'href="https://www.cve.org/CVERecord?id=CVE-2023-52812"' in page


def test_the_edition_of_the_release_week_carries_the_changelog_review(ktrack, changelog):
    review_json(ktrack, changelog)
    edition = json.loads(ktrack("digest", "--week", "2006-W05", "--format", "json").output)
    [stable] = [s for s in edition["sections"] if s["key"] == "stable"]
    update = stable["items"][0]
    assert update["kind"] == "update" and update["release"] == "2.6.14.7" and update["read_from"] == "changelog"
    assert [i["number"] for i in stable["items"] if i["kind"] == "security"] == [5, 6]


def test_a_range_reviews_every_update_of_an_upgrade_or_names_what_is_missing(ktrack, db, data_dir):
    """Real 6.1.y subjects (Debian's 6.1.119 upload, which spans several updates) stored as three updates' reviews."""
    import csv

    from tracker.plugins.stable_review.review import review_entries
    from tracker.plugins.stable_review.store import save_review

    with gzip.open(data_dir / "stable-labels" / "debian-6.1-stable-items-dev.tsv.gz", "rt", newline="", encoding="utf-8") as fh:
        items = [r for r in csv.DictReader(fh, delimiter="\t") if r["release"] == "6.1.119"][:90]
    for n, release in enumerate(("6.1.117", "6.1.118", "6.1.119")):
        save_review(db, release, review_entries([{"subject": r["subject"]} for r in items[n * 30:(n + 1) * 30]], release))
    reviews = review_json(ktrack, "6.1.116..6.1.119")
    assert [(r["release"], r["patch_count"]) for r in reviews] == [("6.1.117", 30), ("6.1.118", 30), ("6.1.119", 30)]
    assert [r["patches"][0]["subject"] for r in reviews] == [items[0]["subject"], items[30]["subject"], items[60]["subject"]]
    markdown = ktrack("stable", "review", "6.1.116..6.1.119").output
    assert markdown.count("# Stable review: 6.1.11") == 3

    missing = ktrack("stable", "review", "6.1.114..6.1.119")
    assert missing.exit_code == 1
    assert missing.output.strip() == "Error: no review stored for 6.1.115, 6.1.116 (add --fetch to download them)"
    for bad in ("6.1.119..6.1.117", "6.1.110..6.6.3"):
        result = ktrack("stable", "review", bad)
        assert result.exit_code == 1 and "not a range of one stable branch" in result.output


def test_a_git_log_can_be_piped_in(ktrack, changelog, data_dir):
    piped = ktrack("stable", "review", "-", "--json", input=changelog.read_text())
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.output) == review_json(ktrack, changelog)
    mail = (data_dir / "stable-reviews" / "4.19.107-review-cover.eml").read_text()
    refused = ktrack("stable", "review", "-", input=mail)
    assert refused.exit_code == 1
    assert refused.output.strip() == "Error: standard input: not a git log (expected 'commit <sha>' or '<sha> <subject>' lines)"


def test_a_fuller_git_log_reads_the_same(ktrack, data_dir, tmp_path, changelog):
    """`git log --format=fuller` adds Commit:/CommitDate: headers and names the date AuthorDate:."""
    medium = review_json(ktrack, changelog)
    (tmp_path / "fuller").mkdir()
    fuller = make_changelog(data_dir, tmp_path / "fuller", "--format=fuller")
    assert "AuthorDate:" in fuller.read_text()
    assert review_json(ktrack, fuller)["patches"] == medium["patches"]
    listed = json.loads(ktrack("stable", "list", "--json").output)
    assert [r["series_date"] for r in listed] == ["2006-01-31T01:36:05+00:00"]
