"""The stable_review plugin end to end: real review mails, the CLI, the hook, CVE links, errata, scorecard."""

from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner

from tracker import hookimpl
from tracker.plugins.stable_review.command import review_series
from tracker.plugins.stable_review.cves import read_jsonl, read_vulns_tree
from tracker.plugins.stable_review.review import (
    patch_number,
    review_entries,
    review_release,
    shortlog_patches,
    upstream_commit,
)
from tracker.plugins.stable_review.sections import stable_pages, stable_section
from tracker.plugins.stable_review.store import save_review, scorecard

CNA = "stable-labels/kernel-cna-cve-fixes-excerpt.jsonl"


def test_review_release_recognises_every_stable_format():
    assert review_release("[patch 00/93] 2.6.32.9-stable review") == "2.6.32.9"
    assert review_release("[patch 0/6] 2.6.14.7 -stable review") == "2.6.14.7"
    assert review_release("[PATCH 4.19 00/97] 4.19.107-stable review") == "4.19.107"
    assert review_release("[PATCH 6.12 000/172] 6.12.5-rc1 review") == "6.12.5"
    assert review_release("[PATCH 6.1 1/2] net: fix review of x") is None
    assert patch_number("[PATCH 6.12 012/172] net: fix") == 12
    assert patch_number("[patch 5/6] [NETFILTER]: Fix crash") == 5


def test_upstream_commit_reads_both_backport_forms():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert upstream_commit(f"From: x\n\ncommit {sha} upstream.\n\nBody") == sha
    assert upstream_commit(f"[ Upstream commit {sha.upper()} ]\n") == sha
    assert upstream_commit("no commit here") is None


def test_cover_shortlog_lists_every_commit_oldest_first(data_dir):
    body = (data_dir / "stable-reviews" / "4.19.107-review-cover.eml").read_text(encoding="utf-8", errors="replace")
    patches = shortlog_patches(body)
    assert len(patches) == 97
    assert patches[-1]["subject"].startswith("s390/mm: Explicitly compare PAGE_DEFAULT_KEY")
    assert not any(p["subject"].startswith("Linux 4.19.107") for p in patches)
    subjects = [p["subject"] for p in patches]
    assert "staging: greybus: use after free in gb_audio_manager_remove_all()" in subjects


def test_cli_review_mbox_json_shape_and_cve_patches_are_security(ktrack, data_dir):
    result = ktrack("stable", "review", data_dir / "stable-reviews" / "2.6.14.7-review.mbox", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["release"] == "2.6.14.7"
    assert data["patch_count"] == 6 == len(data["patches"])
    keys = {"number", "subject", "category", "summary", "subsystem", "score", "evidence", "upstream_commit", "cves"}
    for patch in data["patches"]:
        assert keys <= set(patch)
        assert patch["category"] in {"security", "bugfix", "enhancement"}
        assert 0 <= patch["score"] <= 1 and patch["evidence"]
    by_number = {p["number"]: p for p in data["patches"]}
    assert [p["number"] for p in data["patches"]] == [1, 2, 3, 4, 5, 6]
    assert by_number[5]["category"] == by_number[6]["category"] == "security"
    assert by_number[5]["cves"] == ["CVE-2006-0036"] and by_number[6]["cves"] == ["CVE-2006-0037"]
    assert by_number[5]["subsystem"] == "netfilter"

    # now stored: the version alone is enough, and re-running does not duplicate
    again = ktrack("stable", "review", "2.6.14.7", "--json")
    assert json.loads(again.output)["patch_count"] == 6


def test_cli_review_markdown_reads_like_an_editors_review(ktrack, data_dir):
    result = ktrack("stable", "review", data_dir / "stable-reviews" / "2.6.14.7-review.mbox")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.index("## Security-related fixes") < text.index("## Other bug fixes") < text.index("## Enhancements") < text.index("## Conclusions")
    assert "- #5: [NETFILTER]: Fix crash in ip_nat_pptp (CVE-2006-0036). " in text
    assert "Of the 6 patches in the 2.6.14.7 stable update" in text
    plain = ktrack("stable", "review", "2.6.14.7", "--format", "text")
    assert "Security-related fixes (" in plain.output and "##" not in plain.output


def test_cli_review_cover_only_classifies_shortlog_subjects(ktrack, data_dir):
    result = ktrack("stable", "review", data_dir / "stable-reviews" / "4.19.107-review-cover.eml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["release"] == "4.19.107" and data["patch_count"] == 97
    uaf = next(p for p in data["patches"] if p["subject"].startswith("staging: greybus: use after free"))
    assert uaf["category"] == "security" and "use-after-free" in uaf["summary"]


def test_cli_review_unknown_version_and_bad_path_fail_with_one_line(ktrack, tmp_path):
    result = ktrack("stable", "review", "9.9.9")
    assert result.exit_code != 0 and "unknown stable version 9.9.9" in result.output
    result = ktrack("stable", "review", tmp_path / "missing.mbox")
    assert result.exit_code != 0 and "no such file" in result.output
    junk = tmp_path / "junk.mbox"
    junk.write_text("From x@y Thu Jan  1 00:00:00 2020\nSubject: hello\n\nnot a review\n")
    result = ktrack("stable", "review", junk)
    assert result.exit_code != 0 and "no stable review series found" in result.output
    assert "Traceback" not in result.output


class SubsystemExpert:
    """A third-party plugin that knows netfilter better than the built-in classifier."""

    @hookimpl
    def stable_patch_verdict(self, patch, release):
        if "NETFILTER" in patch["subject"]:
            return {"category": "bugfix", "summary": "Expert says: harmless", "subsystem": "netfilter", "score": 0.99,
                    "evidence": ["netfilter expert"], "by": "expert"}
        return None


def test_verdict_hook_lets_a_plugin_preempt_the_builtin(app, ktrack, data_dir):
    app.host.pm.register(SubsystemExpert(), name="expert")
    result = ktrack("stable", "review", data_dir / "stable-reviews" / "2.6.14.7-review.mbox", "--json")
    patches = {p["number"]: p for p in json.loads(result.output)["patches"]}
    assert patches[5]["category"] == "bugfix" and patches[5]["summary"] == "Expert says: harmless"
    assert patches[5]["verdict_by"] == "expert"
    assert patches[1]["verdict_by"] == "stable_review"  # the expert passed: the built-in answered


def _cna_records(data_dir, wanted: set[str]) -> list[dict]:
    out = []
    with open(data_dir / CNA, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["cve"] in wanted:
                out.append(rec)
    return out


def _write_vulns_tree(root, records):
    """A tiny checkout in the vulns repo's real layout: cve/published/<year>/CVE-*.json + .sha1."""
    for rec in records:
        year = rec["cve"].split("-")[1]
        folder = root / "cve" / "published" / year
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "dataType": "CVE_RECORD",
            "dataVersion": "5.1",
            "cveMetadata": {"cveId": rec["cve"], "state": "PUBLISHED"},
            "containers": {
                "cna": {
                    "title": rec["subject"],
                    "descriptions": [{"lang": "en", "value": "In the Linux kernel, the following vulnerability has been resolved:\n\n"
                                      + rec["subject"] + "\n\n" + rec["description"]}],
                    "affected": [{"product": "Linux", "vendor": "Linux", "programFiles": rec["files"],
                                  "versions": [{"version": "1da177e4c3f4", "lessThan": sha, "status": "affected", "versionType": "git"}
                                               for sha in rec["mainline_fix"]]}],
                }
            },
        }
        (folder / f"{rec['cve']}.json").write_text(json.dumps(record, indent=2))
        (folder / f"{rec['cve']}.sha1").write_text("\n".join(rec["mainline_fix"]) + "\n")


def test_cve_links_by_sha_from_vulns_tree_and_by_subject_from_jsonl(tmp_path, data_dir):
    records = _cna_records(data_dir, {"CVE-2019-25160", "CVE-2019-25162"})
    assert len(records) == 2
    _write_vulns_tree(tmp_path / "vulns", records[:1])
    tree = read_vulns_tree(tmp_path / "vulns")
    netlabel = records[0]
    # by SHA: the stable backport's subject may differ, its upstream commit does not
    assert tree.lookup(upstream_commit=netlabel["mainline_fix"][0], subject="something else") == (["CVE-2019-25160"], "sha")
    assert tree.lookup(upstream_commit=None, subject="[PATCH 4.19 3/9] " + netlabel["subject"]) == (["CVE-2019-25160"], "subject")
    export = tmp_path / "cna.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in records))
    jsonl = read_jsonl(export)
    assert jsonl.lookup(upstream_commit=None, subject="I2C: fix a potential USE after free") == (["CVE-2019-25162"], "subject")
    assert jsonl.lookup(upstream_commit="ffffffffffff", subject="unrelated") == ([], None)


def _dev_items(data_dir, release):
    import csv

    with gzip.open(data_dir / "stable-labels" / "debian-6.1-stable-items-dev.tsv.gz", "rt", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh, delimiter="\t") if r["release"] == release]


def test_errata_on_second_run_feed_the_edition_and_scorecard(db, data_dir, tmp_path):
    """A real 6.1.119 slice reviewed before its CVEs existed; the CNA export arrives later."""
    items = _dev_items(data_dir, "6.1.119")[:40]
    cve_ids = {c for r in items for c in r["cves"].split() if c}
    assert cve_ids
    patches = [{"subject": r["subject"], "patch_number": n} for n, r in enumerate(items, 1)]
    entries = review_entries(patches, "6.1.119")
    config = {"plugins": {"stable_review": {"vulns_path": None, "cve_jsonl": None}}}
    assert save_review(db, "6.1.119", entries, series_date="2024-11-22T10:00:00+00:00") == []
    assert scorecard(db) == []  # no CVE source consulted yet

    export = tmp_path / "cna.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in _cna_records(data_dir, cve_ids)))
    from tracker.plugins.stable_review import after_analyze

    config["plugins"]["stable_review"]["cve_jsonl"] = str(export)
    after_analyze(db, config, None, False)  # no host needed: no ChangeLog waits for review
    errata = list(db.query("select * from stable_review_errata"))
    linked = {r["number"] for r in errata}
    expected = {n for n, r in enumerate(items, 1) if r["cves"]}
    assert linked == expected
    after_analyze(db, config, None, False)  # a re-run finds nothing new
    assert db["stable_review_errata"].count == len(errata)

    flagged = {e["number"] for e in entries if e["category"] == "security"}
    [row] = scorecard(db)
    assert row["patches"] == 40
    assert row["with_cve"] == len(expected)
    assert row["flagged_with_cve"] == len(expected & flagged)
    assert row["flagged_without_cve"] == len(flagged - expected)

    found_day = errata[0]["found_at"][:10]
    from datetime import date

    from tracker.edition import edition_for, week_of

    section = stable_section(edition_for(week_of(date.fromisoformat(found_day))), db)
    texts = [i["text"] for i in section.items]
    assert section.key == "stable"
    assert any(t.startswith("Erratum: 6.1.119 #") for t in texts)
    assert any(t.startswith("Scorecard over 1 reviewed update with CVE data: ") for t in texts)
    review_week = stable_section(edition_for("2024-W47"), db)
    update = review_week.items[0]
    assert update["link"] == "stable/6.1.119.html" and update["stable_branch"] == "6.1"
    security = [i for i in review_week.items if i.get("kind") == "security"]
    assert all(" #" in i["text"] and i["text"].endswith((".", ")")) for i in security)
    # the edition lists 10 and points to the review page for the rest; the CVEs were linked after
    # that week (the errata's found_at), so its edition names none of them (issue 18.1)
    assert len(flagged) > 10 and len(security) == 10
    assert not any(i["cves"] for i in security) and "CVE-" not in " ".join(i["text"] for i in security)
    # with today's CVE data (the review page) the CVE-carrying ones come first
    from tracker.plugins.stable_review.sections import highlights
    from tracker.plugins.stable_review.store import load_review

    shown, _ = highlights(load_review(db, "6.1.119"), 10)
    assert sum(1 for e in shown if e["cves"]) == min(10, len(expected & flagged))
    assert [i["number"] for i in security] == sorted(i["number"] for i in security)
    [more] = [i for i in review_week.items if i.get("kind") == "more"]
    assert more["count"] == len(flagged) - 10 and more["link"] == "stable/6.1.119.html"
    everything = stable_section(edition_for("2024-W47"), db, limit=0)
    assert sum(1 for i in everything.items if i.get("kind") == "security") == len(flagged)
    assert not any(i.get("kind") == "more" for i in everything.items)


def test_site_pages_render_with_plugin_templates(db, data_dir):
    import jinja2

    from tracker.plugins.stable_review import template_dirs

    items = _dev_items(data_dir, "6.1.112")[:12]
    entries = review_entries([{"subject": r["subject"]} for r in items], "6.1.112")
    save_review(db, "6.1.112", entries, series_date="2024-09-30T00:00:00+00:00")
    pages = stable_pages(db)
    assert [p.path for p in pages] == ["stable/6.1.112.html", "stable/index.html", "stable/6.1.xml", "stable/scorecard.html"]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(template_dirs()),
        jinja2.DictLoader({"base.html": "<title>{% block title %}{% endblock %}</title>{% block content %}{% endblock %}"}),
    ]))
    html = env.get_template(pages[0].template).render(**pages[0].context)
    assert "Stable review: 6.1.112" in html and "Conclusions" in html
    assert f"#{entries[0]['number']}" in html
    index = env.get_template(pages[1].template).render(**pages[1].context)
    assert 'href="6.1.112.html"' in index and "<h2>6.1</h2>" in index
    assert [e["id"] for e in pages[2].entries] == ["6.1.112"] and pages[2].entries[0]["link"] == "stable/6.1.112.html"
    card = env.get_template(pages[3].template).render(**pages[3].context)
    assert "No CVE data yet" in card


def test_analyze_series_reviews_stored_stable_series(app, data_dir):
    from tracker.analyze import run_analysis
    from tracker.ingest import import_paths

    db = app.db
    import_paths(db, [data_dir / "stable-reviews" / "2.6.14.7-review.mbox"])
    row = next(db.query("select * from series where is_stable_review = 1"))
    assert row["stable_release"].startswith("2.6.14.7")
    run_analysis(app, full=True)
    rows = list(db.query("select number, category from stable_review_verdicts where release = '2.6.14.7' order by number"))
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[4]["category"] == "security"


def test_analysis_asks_verdict_plugins_of_the_running_host(app, data_dir):
    """A verdict plugin registered on the host (not only through an entry point) is asked during analysis."""
    from tracker.analyze import run_analysis
    from tracker.ingest import import_paths

    app.host.pm.register(SubsystemExpert(), name="expert")
    import_paths(app.db, [data_dir / "stable-reviews" / "2.6.14.7-review.mbox"])
    run_analysis(app, full=True)
    rows = {r["number"]: r for r in app.db.query("select number, category, summary from stable_review_verdicts where release = '2.6.14.7'")}
    assert rows[5]["category"] == "bugfix" and rows[5]["summary"] == "Expert says: harmless"
    assert rows[1]["summary"] != "Expert says: harmless"


def test_review_lines_name_a_cve_once_and_conclusions_agree_in_number():
    from tracker.plugins.stable_review.review import conclusions, entry_line

    entry = {"number": 5, "subject": "[NETFILTER]: Fix crash in ip_nat_pptp (CVE-2006-0036)", "summary": "Possible crash in the netfilter code",
             "category": "security", "cves": ["CVE-2006-0036", "CVE-2006-9999"]}
    line = entry_line(entry)
    assert line.count("CVE-2006-0036") == 1 and line.endswith("(CVE-2006-9999)")
    one = [{**entry, "cves": ["CVE-2006-0036"]}]
    assert conclusions("2.6.14.7", one).startswith(
        "Of the 1 patch in the 2.6.14.7 stable update, 1 looks security-related, 0 are other bug fixes and 0 are enhancements"
    )
    assert "1 already carries a CVE id." in conclusions("2.6.14.7", one)


def test_stable_review_writes_through_store_analysis_not_analyze_series(app, data_dir):
    """issue 15.2: analysis that writes goes through the hook whose contract says so."""
    from tracker.analyze import run_analysis
    from tracker.ingest import import_paths

    impls = {impl.plugin_name for impl in app.host.pm.hook.analyze_series.get_hookimpls()}
    writers = {impl.plugin_name for impl in app.host.pm.hook.store_analysis.get_hookimpls()}
    assert "stable_review" in writers and "stable_review" not in impls
    seen = []

    class Recorder:
        @hookimpl
        def store_analysis(self, series):
            seen.append(series["series_key"])

    app.host.pm.register(Recorder(), name="recorder")
    import_paths(app.db, [data_dir / "stable-reviews" / "2.6.14.7-review.mbox"])
    run_analysis(app, full=True)
    assert seen == [r[0] for r in app.db.execute("select series_key from series order by updated_at, series_key")]
