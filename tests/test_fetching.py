"""Running sources (tracker.fetching): transactions, errors on rows, due times, CLI."""

import json

from fetch_helpers import configure, kernelorg_config

from tracker import hookimpl
from tracker.fetching import run_sources
from tracker.sources import Source


class HalfWaySource(Source):
    """Writes a release, then fails: the write must not survive."""

    name = "test:halfway"
    kind = "test"
    url = "test://halfway"

    def fetch(self, ctx):
        ctx.db["releases"].insert({"version": "9.9", "kind": "mainline"})
        ctx.state["cursor"] = "moved"
        raise RuntimeError("disk on fire")


class CountingSource(Source):
    name = "test:counting"
    kind = "test"
    url = "test://counting"
    interval_seconds = 600
    calls = 0

    def fetch(self, ctx):
        CountingSource.calls += 1
        ctx.state["calls"] = ctx.state.get("calls", 0) + 1


class TestSources:
    @hookimpl
    def register_sources(self, register):
        register(HalfWaySource())
        register(CountingSource())


def test_run_sources_failure_leaves_no_partial_rows(app, tmp_path):
    configure(app, tmp_path, "")
    app.host.pm.register(TestSources(), name="test-sources")
    results = {r.name: r for r in run_sources(app, ["test"])}
    assert results["test:halfway"].status == "error"
    assert results["test:halfway"].error == "test:halfway: RuntimeError: disk on fire"
    assert results["test:counting"].ok  # the run went on
    assert app.db["releases"].count == 0
    row = app.db["sources"].get("test:halfway")
    assert row["last_error"] == "test:halfway: RuntimeError: disk on fire"
    assert row["state_json"] is None and row["last_success_at"] is None and row["next_due_at"]


def test_run_sources_saves_state_and_respects_due_time(app, tmp_path):
    configure(app, tmp_path, "")
    app.host.pm.register(TestSources(), name="test-sources")
    CountingSource.calls = 0
    run_sources(app, ["test:counting"])
    # Not named and not forced: the source is not due for another 600 s.
    results = {r.name: r for r in run_sources(app)}
    assert results["test:counting"].status == "skipped"
    assert CountingSource.calls == 1
    run_sources(app, force=True)
    assert CountingSource.calls == 2
    row = app.db["sources"].get("test:counting")
    assert json.loads(row["state_json"]) == {"calls": 2}
    assert row["next_due_at"] > row["last_success_at"]


def test_fetch_command_reports_failures_and_exit_code(app, tmp_path, httpserver, ktrack, data_dir):
    configure(app, tmp_path, kernelorg_config(httpserver))
    httpserver.expect_request("/releases.json").respond_with_data("gone", status=404)
    httpserver.expect_request("/feeds/kdist.xml").respond_with_data(
        (data_dir / "formats/kernel.org/kdist-2020-05-06.xml").read_bytes()
    )
    result = ktrack("fetch", "kernel.org")
    assert result.exit_code == 0
    assert result.stderr.strip() == f"kernel.org:releases: {httpserver.url_for('/releases.json')}: HTTP 404 NOT FOUND"
    assert result.stdout == ""


def test_fetch_command_exits_non_zero_when_nothing_read(app, tmp_path, httpserver, ktrack):
    configure(app, tmp_path, kernelorg_config(httpserver))
    httpserver.expect_request("/releases.json").respond_with_data("err", status=500)
    httpserver.expect_request("/feeds/kdist.xml").respond_with_data("<html><body>no</body></html>", content_type="text/html")
    result = ktrack("fetch", "kernel.org", "--force")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "HTTP 500" in lines[0] and "HTML page instead of feed" in lines[1]


def test_fetch_command_unknown_source_is_one_line(app, tmp_path, ktrack):
    configure(app, tmp_path, "")
    result = ktrack("fetch", "nope")
    assert result.exit_code == 1 and "unknown source 'nope'" in result.output


def test_sources_command_json_shape(app, tmp_path, httpserver, ktrack):
    configure(app, tmp_path, kernelorg_config(httpserver))
    httpserver.expect_request("/releases.json").respond_with_data("err", status=500)
    ktrack("fetch", "kernel.org:releases")
    rows = {r["name"]: r for r in json.loads(ktrack("sources", "--json").output)}
    row = rows["kernel.org:releases"]
    assert set(row) == {"name", "kind", "url", "last_success_at", "last_error", "last_error_at", "next_due_at"}
    assert row["url"] == httpserver.url_for("/releases.json") and "HTTP 500" in row["last_error"]
    assert rows["kernel.org:feed"]["last_error"] is None and rows["kernel.org:feed"]["next_due_at"] is None
    assert "kernel.org:releases (kernel.org)" in ktrack("sources").output


def test_fetch_command_refuses_to_run_beside_another_run(app, tmp_path, httpserver, ktrack, data_dir):
    from tracker.job import lock_path_for, run_lock

    configure(app, tmp_path, kernelorg_config(httpserver))
    with run_lock(lock_path_for(app.db_path.absolute())):  # a `ktrack run` or `ktrack fetch` in progress
        result = ktrack("fetch", "kernel.org", "--force")
    assert result.exit_code == 1
    assert "another ktrack run is in progress" in result.output
    assert len(httpserver.log) == 0  # nothing was fetched
