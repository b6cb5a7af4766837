"""kernel.org sources (plugins/kernelorg.py) against a local server serving the recorded files."""

import json

import pytest
from fetch_helpers import configure, kernelorg_config

from tracker.fetching import run_sources


@pytest.fixture
def releases_json(data_dir):
    return (data_dir / "formats/kernel.org/releases-excerpt-2020-12-14.json").read_bytes()


@pytest.fixture
def kdist(data_dir):
    return (data_dir / "formats/kernel.org/kdist-2020-05-06.xml").read_bytes()


@pytest.fixture
def korg(app, tmp_path, httpserver):
    configure(app, tmp_path, kernelorg_config(httpserver))
    return app


def test_kernelorg_releases_json_upserts_rows(korg, httpserver, releases_json):
    httpserver.expect_request("/releases.json").respond_with_data(releases_json, content_type="application/json")
    [result] = run_sources(korg, ["kernel.org:releases"])
    assert result.ok, result.error
    rows = {r["version"]: r for r in korg.db["releases"].rows}
    assert set(rows) == {"5.10", "5.10.1"}
    assert rows["5.10"]["kind"] == "mainline" and rows["5.10"]["moniker"] == "mainline"
    assert rows["5.10.1"]["kind"] == "stable"
    assert rows["5.10"]["released_at"] == "2020-12-13T22:41:30+00:00"
    assert rows["5.10.1"]["iseol"] == 0
    assert json.loads(rows["5.10.1"]["source_json"])["changelog"].endswith("ChangeLog-5.10.1")


def test_kernelorg_feed_upserts_every_item(korg, httpserver, kdist):
    httpserver.expect_request("/feeds/kdist.xml").respond_with_data(kdist, content_type="application/rss+xml")
    [result] = run_sources(korg, ["kernel.org:feed"])
    assert result.ok, result.error
    rows = {r["version"]: r for r in korg.db["releases"].rows}
    assert len(rows) == 10
    assert rows["5.7-rc4"]["kind"] == "rc" and rows["5.7-rc4"]["moniker"] == "mainline"
    assert rows["4.19.121"]["moniker"] == "longterm" and rows["4.19.121"]["kind"] == "stable"
    assert rows["next-20200508"]["kind"] == "linux-next"
    assert rows["5.5.19"]["iseol"] == 1 and rows["5.6.11"]["iseol"] == 0
    assert rows["5.6.11"]["released_at"] == "2020-05-06T06:16:50+00:00"


def test_kernelorg_fetch_twice_stores_nothing_twice(korg, httpserver, kdist, releases_json):
    httpserver.expect_request("/feeds/kdist.xml").respond_with_data(kdist)
    httpserver.expect_request("/releases.json").respond_with_data(releases_json)
    run_sources(korg, ["kernel.org"])
    first = [dict(r) for r in korg.db["releases"].rows]
    changes = korg.db.conn.total_changes
    results = run_sources(korg, ["kernel.org"], force=True)
    assert all(r.ok for r in results)
    assert [dict(r) for r in korg.db["releases"].rows] == first
    # Body hash unchanged: only the two sources rows are touched.
    assert korg.db.conn.total_changes - changes == 2


def test_kernelorg_malformed_feed_leaves_no_rows_and_records_error(korg, httpserver, kdist):
    httpserver.expect_request("/feeds/kdist.xml").respond_with_data(kdist[:5000])
    [result] = run_sources(korg, ["kernel.org:feed"])
    assert result.status == "error"
    assert "malformed feed" in result.error and "/feeds/kdist.xml" in result.error
    assert korg.db["releases"].count == 0
    assert korg.db["http_cache"].count == 0
    row = korg.db["sources"].get("kernel.org:feed")
    assert row["last_error"] == result.error and row["last_error_at"] and not row["last_success_at"]


def test_kernelorg_bad_json_is_one_line(korg, httpserver):
    httpserver.expect_request("/releases.json").respond_with_data(b'{"releases": [', content_type="application/json")
    [result] = run_sources(korg, ["kernel.org:releases"])
    assert result.status == "error" and "not a kernel.org releases.json" in result.error
    assert "\n" not in result.error


def test_kernelorg_bad_record_is_skipped_with_warning(korg, httpserver, releases_json):
    data = json.loads(releases_json)
    data["releases"].append({"version": "5.11-rc1", "moniker": "mainline", "released": "not-a-dict", "iseol": False})
    data["releases"].append(None)
    httpserver.expect_request("/releases.json").respond_with_data(json.dumps(data))
    [result] = run_sources(korg, ["kernel.org:releases"])
    # A bad record is skipped with a warning; good ones are stored.
    assert result.ok and any("not an object" in w for w in result.warnings)
    assert {r["version"] for r in korg.db["releases"].rows} == {"5.10", "5.10.1", "5.11-rc1"}


def test_kernelorg_releases_command_lists_newest_first(korg, httpserver, kdist, releases_json, ktrack):
    httpserver.expect_request("/feeds/kdist.xml").respond_with_data(kdist)
    httpserver.expect_request("/releases.json").respond_with_data(releases_json)
    result = ktrack("fetch", "kernel.org")
    assert result.exit_code == 0, result.output
    listed = json.loads(ktrack("releases", "--json").output)
    versions = [r["version"] for r in listed]
    assert versions[:4] == ["5.10.1", "5.10", "5.7-rc4", "5.6.11"]
    assert versions[-1] == "next-20200508"
    assert set(listed[0]) >= {"version", "kind", "moniker", "released_at", "iseol", "change_count"}
    text = ktrack("releases").output
    assert text.splitlines()[0].startswith("5.10.1")
