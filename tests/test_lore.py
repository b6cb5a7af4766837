"""lore / public-inbox sources (plugins/lore.py) against a local public-inbox stand-in serving real mail."""

import json
import re
import subprocess

import pytest
from fetch_helpers import configure, register_source
from lore_server import FakeLore, load_mails

from tracker.fetching import run_sources
from tracker.plugins.lore import LoreQuerySource, msgid_url, public_inbox_time, read_feed_entries
from tracker.plugins.lore_git import epoch_paths, read_epoch

ANUBIS_PAGE = b"""<!doctype html><html><head><title>Making sure you&#39;re not a bot!</title>
<script id="anubis_version" type="application/json">"v1.16.0"</script></head><body></body></html>"""


@pytest.fixture(scope="module")
def mails(data_dir):
    return load_mails(data_dir, 160)


@pytest.fixture
def lore(httpserver, mails):
    fake = FakeLore(mails, httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(re.compile("/linux-api/.*")).respond_with_handler(fake.handle)
    return fake


def lore_config(lore, **extra):
    lines = [f'base_url = "{lore.base}"', 'lists = ["linux-api"]', "overlap_seconds = 0"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "[plugins.lore]\n" + "\n".join(lines) + "\n"


def stored_ids(db):
    return {r["message_id"] for r in db.query("select message_id from messages")}


def test_read_feed_entries_recorded_lore_feed(data_dir):
    content = (data_dir / "formats/lore/util-linux-new-2020-05-17.atom").read_bytes()
    entries, list_id = read_feed_entries("https://lore.kernel.org/util-linux/new.atom", content)
    assert list_id == "util-linux.vger.kernel.org"
    assert len(entries) == 25
    first = entries[0]
    assert first["message_id"] == "DBBPR08MB55480F8E7F62EFE9323E29FA9BBB0@DBBPR08MB5548.eurprd08.prod.outlook.com"
    assert first["date"] == "2020-05-17T15:13:35+00:00" and first["in_reply_to"] is None
    reply = next(e for e in entries if e["message_id"] == "20200515085013.i5lzw5t2sqpamwhi@zeha.at")
    assert reply["in_reply_to"] == "20200515084133.21896-1-johannes.thumshirn@wdc.com"


def test_msgid_url_escapes_slash():
    assert msgid_url("https://lore.kernel.org", "lkml", "a/b@c", "t.mbox.gz") == "https://lore.kernel.org/lkml/a%2Fb@c/t.mbox.gz"


def test_lore_first_run_stores_feed_threads_without_backfill(app, tmp_path, lore, mails):
    configure(app, tmp_path, lore_config(lore))
    lore.arrived = 60
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok, result.error
    ids = stored_ids(app.db)
    assert {m.message_id for m in mails[35:60]} <= ids
    assert lore.posts == []  # no cursor yet: nothing to backfill
    state = json.loads(app.db["sources"].get("lore:linux-api")["state_json"])
    assert state["cursor"] == mails[59].date.isoformat()
    assert state["list_id"] == "linux-api.vger.kernel.org"
    # One thread mbox per thread, not one per message.
    assert len(lore.threads) == len({m.root for m in mails[35:60]})


def test_lore_gap_is_backfilled_with_exact_query(app, tmp_path, lore, mails):
    configure(app, tmp_path, lore_config(lore))
    lore.arrived = 60
    run_sources(app, ["lore:linux-api"])
    lore.arrived = 140  # 80 new messages: the feed shows only the newest 25
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok and not result.warnings
    cursor, oldest = mails[59].date, mails[115].date
    assert lore.posts == [f"rt:{public_inbox_time(cursor)}..{public_inbox_time(oldest)}"]
    assert {m.message_id for m in mails[35:140]} <= stored_ids(app.db)


def test_lore_no_gap_no_query(app, tmp_path, lore, mails):
    configure(app, tmp_path, lore_config(lore))
    lore.arrived = 60
    run_sources(app, ["lore:linux-api"])
    lore.arrived = 70  # the feed still reaches back past the cursor
    run_sources(app, ["lore:linux-api"])
    assert lore.posts == []
    assert {m.message_id for m in mails[35:70]} <= stored_ids(app.db)


def test_lore_fetch_twice_stores_nothing_twice(app, tmp_path, lore):
    configure(app, tmp_path, lore_config(lore))
    lore.arrived = 60
    run_sources(app, ["lore:linux-api"])
    count = app.db["messages"].count
    threads = len(lore.threads)
    changes = app.db.conn.total_changes
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok
    assert app.db["messages"].count == count
    assert len(lore.threads) == threads  # unchanged feed: nothing downloaded
    assert app.db.conn.total_changes - changes == 1  # only the sources row


def test_lore_capped_query_is_paged(app, tmp_path, lore, mails):
    configure(app, tmp_path, lore_config(lore, query_cap=30))
    lore.cap = 30
    lore.arrived = 40
    run_sources(app, ["lore:linux-api"])
    lore.arrived = 150
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok and not result.warnings, result.warnings
    assert len(lore.posts) > 3
    assert {m.message_id for m in mails[15:150]} <= stored_ids(app.db)


def test_lore_unfilled_gap_is_recorded_then_filled(app, tmp_path, lore, mails, httpserver):
    configure(app, tmp_path, lore_config(lore))
    lore.arrived = 60
    run_sources(app, ["lore:linux-api"])
    lore.arrived = 140
    blocked = {"on": True}
    original = lore.handle

    def handle(request):
        if request.method == "POST" and blocked["on"]:
            from werkzeug import Response

            return Response(ANUBIS_PAGE, content_type="text/html")
        return original(request)

    lore.handle = handle
    httpserver.clear()
    httpserver.expect_request(re.compile("/linux-api/.*")).respond_with_handler(lambda r: lore.handle(r))
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok  # the feed's own messages are stored ...
    assert {m.message_id for m in mails[115:140]} <= stored_ids(app.db)
    row = app.db["sources"].get("lore:linux-api")
    assert "unfilled gap" in row["last_error"] and "bot-challenge" in row["last_error"]  # ... and the hole is an error
    feed_roots = {m.root for m in mails[115:140]}
    hole = [m.message_id for m in mails[60:115] if m.root not in feed_roots]
    assert hole and not set(hole) & stored_ids(app.db)
    assert json.loads(row["state_json"])["gaps"]
    blocked["on"] = False
    [result] = run_sources(app, ["lore:linux-api"], force=True)
    assert result.ok and not result.warnings
    assert {m.message_id for m in mails[35:140]} <= stored_ids(app.db)
    assert json.loads(app.db["sources"].get("lore:linux-api")["state_json"])["gaps"] == []


def test_lore_challenge_on_feed_fails_source_without_rows(app, tmp_path, httpserver):
    httpserver.expect_request("/linux-api/new.atom").respond_with_data(ANUBIS_PAGE, content_type="text/html")
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{httpserver.url_for("").rstrip("/")}"\nlists = ["linux-api"]\n')
    [result] = run_sources(app, ["lore"])
    assert result.status == "error" and "bot-challenge page" in result.error
    assert app.db["messages"].count == 0


def test_lore_malformed_feed_is_one_line(app, tmp_path, httpserver, data_dir):
    content = (data_dir / "formats/lore/util-linux-new-later.atom").read_bytes()
    httpserver.expect_request("/util-linux/new.atom").respond_with_data(content[: len(content) // 2])
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{httpserver.url_for("").rstrip("/")}"\nlists = ["util-linux"]\n')
    [result] = run_sources(app, ["lore:util-linux"])
    assert result.status == "error" and "malformed feed" in result.error and "\n" not in result.error
    assert app.db["messages"].count == 0


def run_query_source(app, tmp_path, httpserver, mails, *, arrived: int):
    """Run a saved search for dfn:syscall.tbl against the stand-in's "all" inbox holding `arrived` mails."""
    fake = FakeLore(mails, httpserver.url_for("").rstrip("/"), arrived=arrived, inbox="all")
    httpserver.expect_request(re.compile("/all/.*")).respond_with_handler(fake.handle)
    configure(app, tmp_path, "[plugins.lore]\nlists = []\n")
    register_source(app, LoreQuerySource("lore-query:test", "dfn:syscall.tbl", base_url=fake.base))
    [result] = run_sources(app, ["lore-query:test"])
    return fake, result


def test_lore_query_source_fetches_matching_threads(app, tmp_path, httpserver, mails):
    fake, result = run_query_source(app, tmp_path, httpserver, mails, arrived=30)
    assert result.ok, result.error
    assert fake.posts == ["dfn:syscall.tbl d:14.days.ago.."]
    missing_now = {m.message_id for m in mails[5:30]} - stored_ids(app.db)
    assert not missing_now, (missing_now, json.loads(app.db["sources"].get("lore:linux-api")["state_json"]))


@pytest.fixture(scope="module")
def epoch_dir(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("mirror") / "linux-api" / "git"
    root.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--mirror", str(data_dir / "lists/linux-api-epoch0-first400.bundle"),
                    str(root / "0.git")], check=True)
    return root


def test_read_epoch_bundle_all_and_after(epoch_dir):
    [(epoch, path)] = epoch_paths(epoch_dir)
    assert epoch == "0"
    items = list(read_epoch(path))
    assert len(items) == 400
    assert items[0][1].startswith(b"Return-Path: <linux-api-owner@vger.kernel.org>")
    assert b"O_BENEATH-style path resolution" in items[-1][1]
    assert [c for c, _ in read_epoch(path, after=items[389][0])] == [c for c, _ in items[390:]]


def test_lore_git_backfill_reads_epochs_once(app, tmp_path, lore, epoch_dir):
    git_dir = epoch_dir.parent.parent
    configure(app, tmp_path, lore_config(lore, backfill="git", git_dir=str(git_dir)))
    lore.arrived = 30
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok, result.error
    epoch_ids = {m for m in stored_ids(app.db) if app.db["messages"].get(m)["origin"].startswith(str(epoch_dir))}
    assert len(epoch_ids) >= 395  # every epoch message (a few may share a Message-ID)
    state = json.loads(app.db["sources"].get("lore:linux-api")["state_json"])
    head = subprocess.run(["git", "-C", str(epoch_dir / "0.git"), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert state["epochs"] == {"0": head}
    count = app.db["messages"].count
    run_sources(app, ["lore:linux-api"])
    assert app.db["messages"].count == count


def test_lore_git_backfill_missing_dir_is_error_on_source(app, tmp_path, lore):
    configure(app, tmp_path, lore_config(lore, backfill="git", git_dir=str(tmp_path / "nowhere")))
    lore.arrived = 30
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok and any("no public-inbox git epochs" in w for w in result.warnings)
    assert "no public-inbox git epochs" in app.db["sources"].get("lore:linux-api")["last_error"]


def test_lore_truncated_thread_mbox_keeps_good_messages_and_retries(app, tmp_path, httpserver, mails):
    fake = FakeLore(mails, httpserver.url_for("").rstrip("/"), arrived=30)
    original = fake.handle
    cut = {"on": True}

    def handle(request):
        response = original(request)
        if cut["on"] and request.path.endswith("/t.mbox.gz"):
            data = response.get_data()
            full = __import__("gzip").decompress(data)
            if full.count(b"\nFrom mboxrd@z") >= 1:  # a thread of 2+: cut inside the last message
                from werkzeug import Response

                return Response(data[: len(data) - 40], content_type="application/gzip")
        return response

    httpserver.expect_request(re.compile("/linux-api/.*")).respond_with_handler(handle)
    configure(app, tmp_path, lore_config(fake))
    [result] = run_sources(app, ["lore:linux-api"])
    assert result.ok and any("truncated gzip" in w for w in result.warnings), result.warnings
    state = json.loads(app.db["sources"].get("lore:linux-api")["state_json"])
    assert state["missing"]
    cut["on"] = False
    [result] = run_sources(app, ["lore:linux-api"], force=True)
    assert result.ok and not result.warnings
    missing_now = {m.message_id for m in mails[5:30]} - stored_ids(app.db)
    assert not missing_now, (missing_now, json.loads(app.db["sources"].get("lore:linux-api")["state_json"]))
    assert json.loads(app.db["sources"].get("lore:linux-api")["state_json"])["missing"] == []


def test_lore_query_source_without_hits_is_not_an_error(app, tmp_path, httpserver, mails):
    """public-inbox answers a search with no hits by 404 and its results page: nothing to fetch, no error."""
    fake, result = run_query_source(app, tmp_path, httpserver, mails, arrived=0)
    assert result.ok and not result.warnings, (result.error, result.warnings)
    assert fake.posts == ["dfn:syscall.tbl d:14.days.ago.."] and app.db["messages"].count == 0


def test_lore_query_source_missing_inbox_is_an_error(app, tmp_path, httpserver):
    httpserver.expect_request("/nolist/").respond_with_data("Not Found", status=404, content_type="text/plain")
    configure(app, tmp_path, "[plugins.lore]\nlists = []\n")
    source = LoreQuerySource("lore-query:nolist", "s:x", inbox="nolist", base_url=httpserver.url_for("").rstrip("/"))
    register_source(app, source)
    [result] = run_sources(app, ["lore-query:nolist"])
    assert result.status == "error" and "HTTP 404 (Not Found)" in result.error
