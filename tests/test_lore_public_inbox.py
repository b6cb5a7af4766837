"""The lore source against a REAL public-inbox (public-inbox-httpd 1.9 from Debian) serving real linux-api mail.

tests/test_lore.py plays scenarios (time passing, capped results, blocked
downloads) on a stand-in; these tests check that what the source sends is
understood by the software lore.kernel.org runs. They found two queries the
stand-in had accepted and public-inbox does not: rt: with YYYYMMDDhhmmss
(dt:'s form) and d:<N>.d.. (approxidate wants N.days.ago).
"""

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from fetch_helpers import FAST_HTTP, configure, register_source
from public_inbox import INBOX, require_tools, running_public_inbox

from tracker.fetching import run_sources
from tracker.mail import parse_message
from tracker.plugins.lore import LoreListSource, LoreQuerySource, public_inbox_time
from tracker.plugins.lore_git import read_epoch

BUNDLE = "lists/linux-api-epoch0-first400.bundle"


@pytest.fixture(scope="module")
def public_inbox(data_dir, tmp_path_factory):
    require_tools()
    with running_public_inbox(data_dir / BUNDLE, tmp_path_factory.mktemp("public-inbox")) as (base, inbox):
        yield base, inbox


@pytest.fixture(scope="module")
def inbox_messages(public_inbox):
    """Message-ID -> Date of every message the server holds, read from its own git epoch."""
    _, inbox = public_inbox
    return {p.message_id: p.date for p in (parse_message(raw) for _, raw in read_epoch(inbox / "git" / "0.git"))}


def stored_ids(db):
    return {r["message_id"] for r in db.query("select message_id from messages")}


def search_download(base: str, query: str) -> requests.Response:
    return requests.post(f"{base}/{INBOX}/", params={"q": query, "x": "m"}, data={"z": "results only"}, timeout=10)


def test_public_inbox_reads_our_rt_range_and_not_dt_form(public_inbox):
    base, _ = public_inbox
    since = datetime(2019, 5, 20, tzinfo=timezone.utc)
    until = since + timedelta(days=1)
    ours = search_download(base, f"rt:{public_inbox_time(since)}..{public_inbox_time(until)}")
    assert ours.status_code == 200 and ours.content[:2] == b"\x1f\x8b"  # an mbox.gz
    dt_form = search_download(base, f"rt:{since:%Y%m%d%H%M%S}..{until:%Y%m%d%H%M%S}")
    assert (dt_form.status_code, dt_form.text.strip()) == (404, "No results found")


def test_lore_source_first_run_with_initial_days_stores_every_message(app, tmp_path, public_inbox, inbox_messages):
    """new.atom gives the newest 25; the rt: search download fills the weeks before: nothing is missed."""
    base, _ = public_inbox
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{base}"\nlists = ["{INBOX}"]\ninitial_days = 30\n')
    [result] = run_sources(app, [f"lore:{INBOX}"])
    assert result.ok and not result.warnings, (result.error, result.warnings)
    assert stored_ids(app.db) == set(inbox_messages)
    state = json.loads(app.db["sources"].get(f"lore:{INBOX}")["state_json"])
    assert state["gaps"] == [] and state["missing"] == [] and state["list_id"] == "linux-api.vger.kernel.org"
    # again: the feed is unchanged, nothing is stored twice
    [again] = run_sources(app, [f"lore:{INBOX}"], force=True)
    assert again.ok and app.db["messages"].count == len(inbox_messages)


def test_lore_backfill_of_an_empty_window_is_no_error(app, tmp_path, public_inbox):
    base, _ = public_inbox
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{base}"\nlists = ["{INBOX}"]\n')
    source = LoreListSource(INBOX, {"base_url": base, "overlap_seconds": 0})
    from tracker.fetch import HttpClient
    from tracker.sources import FetchContext

    ctx = FetchContext(db=app.db, http=HttpClient(app.db), state={}, config=app.config)
    assert source.backfill_from_query(ctx, "2001-01-01T00:00:00+00:00", "2001-01-02T00:00:00+00:00", None) == 0
    assert app.db["messages"].count == 0


def test_lore_query_source_finds_threads_by_days_ago(app, tmp_path, public_inbox, inbox_messages):
    """d:<N>.days.ago.. as public-inbox reads it (N reaching back to 2019), then each hit's thread.

    Through the default inbox, "all": an external index, as lore's all-lists search is.
    """
    base, _ = public_inbox
    configure(app, tmp_path, "[plugins.lore]\nlists = []\n")
    days = (datetime.now(timezone.utc) - datetime(2019, 5, 19, tzinfo=timezone.utc)).days
    source = LoreQuerySource("lore-query:openat2", "s:namei", days=days, base_url=base)
    assert source.inbox == "all"
    register_source(app, source)
    [result] = run_sources(app, ["lore-query:openat2"])
    assert result.ok and not result.warnings, (result.error, result.warnings)
    stored = stored_ids(app.db)
    assert stored <= set(inbox_messages)
    namei = {r["message_id"] for r in app.db.query("select message_id from messages where subject like '%namei:%'")}
    assert len(namei) >= 3 and namei <= stored  # the O_BENEATH series' namei patches, with their threads
    old_form = requests.get(f"{base}/{INBOX}/", params={"q": f"s:namei d:{days}.d..", "x": "A"}, timeout=10)
    assert old_form.status_code == 404  # what the source sent before: public-inbox finds nothing



def test_shipped_lore_queries_match_on_public_inbox(public_inbox):
    """Each default query of the syscalls and sysctls plugins finds their patches in real 2019 linux-api mail.

    (Xapian matches whole terms: "dfb:SYSCALL_DEFINE" alone finds nothing
    there, "dfb:SYSCALL_DEFINE*" finds the openat2 and pidfd patches.)
    """
    from tracker.plugins import syscalls, sysctls

    base, _ = public_inbox
    queries = syscalls.config_defaults()["lore_queries"] + sysctls.config_defaults()["lore_queries"]
    for query in queries:
        response = requests.get(f"{base}/{INBOX}/", params={"q": query, "x": "A"}, timeout=10)
        assert response.status_code == 200 and response.text.count("<entry>") >= 1, query


def test_lore_git_backfill_reads_an_epoch_cloned_from_public_inbox(app, tmp_path, public_inbox, inbox_messages):
    """The mirror workflow: `git clone --mirror <base>/<list>/git/0.git`, then backfill = "git" with git_fetch."""
    import subprocess

    base, _ = public_inbox
    epoch = tmp_path / "mirror" / INBOX / "git" / "0.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", f"{base}/{INBOX}/git/0.git", str(epoch)], check=True, timeout=120)
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{base}"\nlists = ["{INBOX}"]\nbackfill = "git"\n'
                             f'git_dir = "{tmp_path / "mirror"}"\ngit_fetch = true\n')
    [result] = run_sources(app, [f"lore:{INBOX}"])
    assert result.ok and not result.warnings, (result.error, result.warnings)
    assert stored_ids(app.db) == set(inbox_messages)
    state = json.loads(app.db["sources"].get(f"lore:{INBOX}")["state_json"])
    assert state["epochs"] == {"0": subprocess.run(["git", "-C", str(epoch), "rev-parse", "HEAD"], capture_output=True,
                                                   text=True, check=True).stdout.strip()}


def test_weekly_run_from_public_inbox_reports_what_2019_brought(tmp_path, monkeypatch, public_inbox):
    """The whole job on real mail from a real server: fetch, thread, analyse, edition and site.

    Week 2019-W20 on linux-api: Christian Brauner's pidfd_open() (merged in
    5.3, per the shipped syscall history) and the sched_util_clamp knobs of
    Patrick Bellasi's utilization clamping series.
    """
    from click.testing import CliRunner

    from tracker.app import App
    from tracker.cli import build_cli

    base, _ = public_inbox
    days = (datetime.now(timezone.utc) - datetime(2019, 4, 1, tzinfo=timezone.utc)).days
    config = tmp_path / "config.toml"
    config.write_text(FAST_HTTP + f'[plugins.lore]\nbase_url = "{base}"\nlists = ["{INBOX}"]\ninitial_days = 30\n'
                      f"[plugins.syscalls]\nlore_days = {days}\n[plugins.sysctls]\nlore_days = {days}\n")
    # the lore-backed plugins only: kernel.org would be the internet
    monkeypatch.setenv("KTRACK_LOAD_PLUGINS", "fetch,lore,syscalls,sysctls,categories,weekly")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = App(db_path=tmp_path / "k.db", config_path=config)
    out = tmp_path / "site"
    result = CliRunner().invoke(build_cli(app), ["run", "--out", str(out), "--week", "2019-W20", "--verbose"], obj=app)
    assert result.exit_code == 0, result.output
    digest = result.stdout
    # 5.3 came out in September: the May edition tells a proposal, never "merged in 5.3" (issue 18.1)
    assert "pidfd_open(pid_t pid, unsigned int flags) — new proposal" in digest and "merged in 5.3" not in digest
    assert "/proc/sys/kernel/sched_util_clamp_min added" in digest
    assert "pidfd_open" in (out / "syscalls" / "pidfd_open.html").read_text()
    sources = list(app.db["sources"].rows)
    assert len(sources) == 4 and all(r["last_success_at"] and not r["last_error"] for r in sources), sources
