"""`ktrack stable list | scorecard | errata | cve` on real reviews and real CNA records."""

from __future__ import annotations

import csv
import gzip
import json

from tracker.plugins.stable_review import after_analyze
from tracker.plugins.stable_review.review import review_entries
from tracker.plugins.stable_review.store import save_review

CNA = "stable-labels/kernel-cna-cve-fixes-excerpt.jsonl"


def _dev_items(data_dir, release, count):
    with gzip.open(data_dir / "stable-labels" / "debian-6.1-stable-items-dev.tsv.gz", "rt", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh, delimiter="\t") if r["release"] == release][:count]


def _cna_export(data_dir, tmp_path, wanted: set[str]):
    path = tmp_path / "cna.jsonl"
    with open(data_dir / CNA, encoding="utf-8") as fh, open(path, "w", encoding="utf-8") as out:
        for line in fh:
            if json.loads(line)["cve"] in wanted:
                out.write(line)
    return path


def _review_then_cves_arrive(db, data_dir, tmp_path, release, count=30):
    """Review a real 6.1.y slice before its CVEs existed, then let the CNA export arrive: errata."""
    items = _dev_items(data_dir, release, count)
    entries = review_entries([{"subject": r["subject"]} for r in items], release)
    save_review(db, release, entries, series_date="2024-11-22T10:00:00+00:00")
    wanted = {c for r in items for c in r["cves"].split()}
    config = {"plugins": {"stable_review": {"vulns_path": None, "cve_jsonl": str(_cna_export(data_dir, tmp_path, wanted))}}}
    after_analyze(db, config, None, False)  # no host needed: no ChangeLog waits for review
    return items, entries


def test_stable_list_counts_every_stored_review_newest_first(ktrack, data_dir):
    assert ktrack("stable", "review", data_dir / "stable-reviews" / "2.6.14.7-review.mbox").exit_code == 0
    assert ktrack("import", data_dir / "stable-reviews" / "4.19.107-review-cover.eml").exit_code == 0
    assert ktrack("analyze").exit_code == 0
    rows = json.loads(ktrack("stable", "list", "--json").output)
    assert [r["release"] for r in rows] == ["4.19.107", "2.6.14.7"]
    old = rows[1]
    assert old["patches"] == 6 == old["security"] + old["bugfix"] + old["enhancement"]
    assert old["with_cve"] == 2 and old["branch"] == "2.6.14"
    assert rows[0]["patches"] == 97
    only = json.loads(ktrack("stable", "list", "--branch", "2.6.14", "--json").output)
    assert [r["release"] for r in only] == ["2.6.14.7"]
    text = ktrack("stable", "list").output
    assert text.splitlines()[1].startswith("2.6.14.7") and "6 patches: 2 security" in text


def test_stable_cve_names_the_update_that_carries_the_fix(ktrack, data_dir):
    ktrack("stable", "review", data_dir / "stable-reviews" / "2.6.14.7-review.mbox")
    result = ktrack("stable", "cve", "cve-2006-0037", "--json")
    assert result.exit_code == 0
    [item] = json.loads(result.output)
    assert item["cve"] == "CVE-2006-0037"
    [patch] = item["patches"]
    assert (patch["release"], patch["number"], patch["category"]) == ("2.6.14.7", 6, "security")
    assert "ip_nat_pptp" in patch["subject"]
    missing = ktrack("stable", "cve", "CVE-2006-0036", "CVE-2023-99999")
    assert missing.exit_code == 1
    assert "2.6.14.7 #5" in missing.output and "CVE-2023-99999: in no reviewed stable update" in missing.output
    bad = ktrack("stable", "cve", "2006-0036")
    assert bad.exit_code != 0 and "not a CVE id" in bad.output and "Traceback" not in bad.output


def test_stable_errata_and_scorecard_report_cves_that_arrived_later(app, ktrack, data_dir, tmp_path):
    items, entries = _review_then_cves_arrive(app.db, data_dir, tmp_path, "6.1.119")
    with_cve = {n for n, r in enumerate(items, 1) if r["cves"]}
    flagged = {e["number"] for e in entries if e["category"] == "security"}
    assert with_cve and flagged

    errata = json.loads(ktrack("stable", "errata", "--json").output)
    assert {e["number"] for e in errata} == with_cve
    assert all(e["release"] == "6.1.119" and e["cve"].startswith("CVE-") for e in errata)
    assert json.loads(ktrack("stable", "errata", "--since", "2999-01-01", "--json").output) == []
    bad = ktrack("stable", "errata", "--since", "last week")
    assert bad.exit_code == 2 and "does not match the format '%Y-%m-%d'" in bad.output

    card = json.loads(ktrack("stable", "scorecard", "--json").output)
    [update] = card["updates"]
    assert update["with_cve"] == len(with_cve)
    assert update["flagged_with_cve"] == len(with_cve & flagged)
    assert update["missed"] == len(with_cve - flagged)
    assert card["totals"]["updates"] == 1 and card["totals"]["flagged_without_cve"] == len(flagged - with_cve)
    text = ktrack("stable", "scorecard").output
    assert text.startswith("6.1.119") and "Scorecard over 1 reviewed update with CVE data" in text

    some = sorted(errata, key=lambda e: e["number"])[0]
    found = json.loads(ktrack("stable", "cve", some["cve"], "--json").output)[0]["patches"]
    assert found[0]["number"] == some["number"] and found[0]["erratum_found_at"] == some["found_at"]


def test_stable_reports_on_an_empty_store_say_so(ktrack):
    assert "No stable reviews stored yet" in ktrack("stable", "list").output
    assert json.loads(ktrack("stable", "list", "--json").output) == []
    assert "No CVE data yet" in ktrack("stable", "scorecard").output
    assert json.loads(ktrack("stable", "scorecard", "--json").output)["updates"] == []
    assert ktrack("stable", "errata").output.strip() == "No errata."
