"""`ktrack run`: the cron job. Quiet on success, loud on failure, one at a time, harmless to repeat."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from tracker.job import lock_path_for, run_lock

ONLY = "fetch,kernelorg,release_status,weekly"


def make_app(tmp_path, monkeypatch, config_text: str | None = None, *, db=True):
    from tracker.app import App

    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", ONLY)  # no other plugin's sources: no network
    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    monkeypatch.delenv("KTRACK_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # `run --sample` notes its database there
    config = None
    if config_text is not None:
        config = tmp_path / "config.toml"
        config.write_text(config_text)
    return App(db_path=(tmp_path / "k.db") if db else None, config_path=config)


def invoke(app, *args):
    from tracker.cli import build_cli

    return CliRunner().invoke(build_cli(app), [*map(str, args)], obj=app)


@pytest.fixture
def kernel_org(httpserver, data_dir):
    """kernel.org's releases.json and kdist feed, recorded, on a real local HTTP server."""
    httpserver.expect_request("/releases.json").respond_with_data(
        (data_dir / "formats/kernel.org/releases-excerpt-2020-12-14.json").read_bytes(), content_type="application/json")
    httpserver.expect_request("/kdist.xml").respond_with_data(
        (data_dir / "formats/kernel.org/kdist-2020-05-06.xml").read_bytes(), content_type="application/rss+xml")
    return httpserver


def config_for(server, releases="/releases.json", feed="/kdist.xml"):
    return f'''
[plugins.kernelorg]
releases_url = "{server.url_for(releases)}"
feed_url = "{server.url_for(feed)}"
'''


def test_run_under_cron_is_silent_and_a_rerun_renders_nothing(tmp_path, monkeypatch, kernel_org):
    app = make_app(tmp_path, monkeypatch, config_for(kernel_org))
    out = tmp_path / "site"
    result = invoke(app, "run", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    assert "5.10.1" in (out / "index.html").read_text()
    inode = os.stat(out / "index.html").st_ino
    again = invoke(app, "run", "--out", out)
    assert again.exit_code == 0 and again.stdout == "" and again.stderr == ""
    assert os.stat(out / "index.html").st_ino == inode  # nothing re-rendered, nothing swapped
    assert app.db["releases"].count == 12


def test_run_reports_each_failed_source_and_fails_when_none_could_be_read(tmp_path, monkeypatch, httpserver):
    httpserver.expect_request("/releases.json").respond_with_data("gone", status=404)
    httpserver.expect_request("/kdist.xml").respond_with_data("<html>no</html>", status=500)
    app = make_app(tmp_path, monkeypatch, config_for(httpserver) + "[plugins.fetch]\nretries = 0\n")
    result = invoke(app, "run", "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("ktrack run: source kernel.org:releases:") for line in lines), lines
    assert any(line.startswith("ktrack run: source kernel.org:feed:") for line in lines), lines
    assert lines[-1] == "Error: no source could be read"
    assert "Traceback" not in result.output


def test_run_with_no_sources_configured_fails(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, '[plugins.kernelorg]\nreleases_url = ""\nfeed_url = ""\n')
    result = invoke(app, "run", "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert "no sources configured" in result.stderr


def test_run_refuses_to_overlap(tmp_path, monkeypatch, kernel_org):
    app = make_app(tmp_path, monkeypatch, config_for(kernel_org))
    with run_lock(lock_path_for(app.db_path.absolute())):
        result = invoke(app, "run", "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert f"another ktrack run is in progress (pid {os.getpid()}" in result.stderr
    assert not (tmp_path / "site").exists()
    assert invoke(app, "run", "--out", tmp_path / "site").exit_code == 0  # the lock is released


def test_run_sample_works_offline_with_its_own_db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path, monkeypatch, db=False)
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "")  # unset filter below: every plugin, as on a fresh install
    monkeypatch.delenv("KTRACK_LOAD_PLUGINS")
    result = invoke(app, "run", "--sample", "--out", "ktrack-site", "--verbose")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # every sample step (releases, the four mail files) and plugin went fine
    assert (tmp_path / ".ktrack-site.sample.db").exists()
    index = (tmp_path / "ktrack-site/index.html").read_text()  # latest week: 2021-W46
    assert "trusted_for" in index and "trusted_for_policy" in index
    assert "Site: " in result.stdout and "ktrack-site/index.html" in result.stdout
    assert "The stable kernel was 5.10.1" in result.stdout  # the sample's releases.json ends in 2020
    assert (tmp_path / "ktrack-site/releases/5.10.1.html").exists()
    assert (tmp_path / "ktrack-site/pagefind").is_dir()
