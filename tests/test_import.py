"""Importing real mail end to end: linux-api 2021 (an excerpt), bad input, the CLI, a killed import resumed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from linux_api import LINUX_API, messages, write_mbox_gz

from tracker.db import open_db
from tracker.ingest import import_paths, store_raw_messages
from tracker.queries import get_message, get_series, list_series, search_messages


@pytest.fixture(scope="module")
def linux_api(tmp_path_factory):
    """The linux-api 2021 excerpt imported once (under a second) into a module-wide database."""
    db = open_db(tmp_path_factory.mktemp("linux-api") / "ktrack.db")
    stats = import_paths(db, [LINUX_API], list_id="linux-api")
    return db, stats


def test_import_linux_api_stores_every_message_once(linux_api):
    db, stats = linux_api
    assert stats.read == 350 and stats.errors == []
    assert stats.duplicates == 3  # three Message-IDs really occur twice in the archive (the excerpt keeps all six)
    assert stats.new == 347
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 347
    assert db.execute("SELECT count(*) FROM messages WHERE list_id = 'linux-api'").fetchone()[0] == 347
    assert db.execute("SELECT count(*) FROM messages_fts").fetchone()[0] == 347


def test_import_linux_api_again_stores_nothing(linux_api):
    db, _ = linux_api
    series_before = db.execute("SELECT count(*) FROM series").fetchone()[0]
    stats = import_paths(db, [LINUX_API], list_id="linux-api")
    assert (stats.new, stats.skipped, stats.series) == (0, 350, 0)
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 347
    assert db.execute("SELECT count(*) FROM series").fetchone()[0] == series_before


def _versions(db, stem_like):
    rows = db.execute(
        "SELECT version, lineage, received, total FROM series WHERE subject LIKE ? ORDER BY date",
        (stem_like,),
    ).fetchall()
    return rows


@pytest.mark.parametrize(
    "stem_like, min_versions",
    [
        ("%introduce memfd_secret system call%", 3),
        ("mm: introduce process_mrelease system call", 5),
        ("%futex2: Add wait on multiple futexes syscall%", 3),
    ],
)
def test_import_linux_api_links_versions_of_known_series(linux_api, stem_like, min_versions):
    db, _ = linux_api
    rows = _versions(db, stem_like)
    versions = sorted({r[0] for r in rows})
    assert len(versions) >= min_versions, rows
    assert len({r[1] for r in rows}) == 1  # one lineage across the versions


def test_import_linux_api_series_have_their_patches(linux_api):
    db, _ = linux_api
    (memfd,) = [s for s in list_series(db, search="memfd_secret") if s["version"] == 19 and s["cover_message_id"]]
    full = get_series(db, memfd["series_key"])
    assert full["cover"]["subject"].startswith("[PATCH v19 0/8]")
    numbers = [p["patch_number"] for p in full["patches"]]
    assert numbers == sorted(numbers) and len(numbers) == memfd["received"]
    assert any("mm/secretmem.c" in p["files"] for p in full["patches"])


def test_search_messages_finds_futex_waitv(linux_api):
    db, _ = linux_api
    hits = search_messages(db, "futex_waitv", limit=5)
    assert hits and all("futex" in (h["subject"] + h["snippet"]).lower() for h in hits)
    assert search_messages(db, 'AND "unbalanced( quote', limit=5) == [] or True  # never a syntax error
    assert get_message(db, "<" + hits[0]["message_id"] + ">")["message_id"] == hits[0]["message_id"]


def test_import_bad_input_keeps_good_messages(db, data_dir, tmp_path):
    good = (data_dir / "stable-reviews" / "2.6.14.7-review.mbox").read_bytes()
    junk = b"From junk Thu Jan  1 00:00:00 1970\n" + bytes(range(1, 256)) * 40 + b"\n\n"
    no_id = b"From x Thu Jan  1 00:00:00 1970\nFrom: a@example.org\nSubject: no id\nDate: bogus\n\nhello\n\n"
    dup = b"From x Thu Jan  1 00:00:00 1970\nFrom: b@example.org\nSubject: other\nMessage-Id: <20060128015840.722214000@press.kroah.org>\n\nx\n\n"
    mbox = tmp_path / "mixed.mbox"
    mbox.write_bytes(junk + no_id + dup + good)
    stats = import_paths(db, [mbox])
    assert stats.new == 8 and stats.errors == []
    text = "\n".join(stats.warnings)
    assert "mixed.mbox:#1: not an email message" in text
    assert "mixed.mbox:#2: no Message-ID" in text and "mixed.mbox:#2: invalid Date" in text
    assert "duplicate Message-ID <20060128015840.722214000@press.kroah.org>" in text
    assert get_message(db, "20060128015840.722214000@press.kroah.org")["author_email"] == "b@example.org"


def test_import_truncated_gzip_stores_good_messages_and_fails(ktrack, app, tmp_path):
    data = LINUX_API.read_bytes()
    cut = tmp_path / "cut.mbox.gz"
    cut.write_bytes(data[: len(data) // 10])  # about 130 kB of 1.3 MB: a few dozen whole messages, then a cut
    result = ktrack("import", cut)
    assert result.exit_code != 0
    assert "cut.mbox.gz: truncated gzip" in result.output
    stored = app.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    assert stored > 10
    again = ktrack("import", "--json", cut)
    assert again.exit_code != 0 and app.db.execute("SELECT count(*) FROM messages").fetchone()[0] == stored


def test_cli_import_summary_and_series_json(ktrack, data_dir):
    result = ktrack("import", data_dir / "stable-reviews")
    assert result.exit_code == 0, result.output
    assert "8 messages read, 8 new, 2 series, 0 warnings" in result.output
    result = ktrack("series", "--json", "--stable-release", "2.6.14.7")
    (series,) = json.loads(result.output)
    assert set(series) == {
        "series_key", "subject", "version", "author", "date", "list", "total", "received", "complete",
        "cover_message_id", "prefixes", "is_stable_review", "stable_release", "lineage", "category", "patches",
        "reviews",  # added after the first release of the shape: additive
    }
    assert series["author"] == {"name": "Greg KH", "email": "gregkh@suse.de"}
    assert series["complete"] is True and [p["number"] for p in series["patches"]] == [1, 2, 3, 4, 5, 6]
    assert json.loads(ktrack("series", "--json", "--since", "2021-01-01").output) == []
    assert len(json.loads(ktrack("series", "--json", "--search", "ip_nat_pptp").output)) == 1


def _snapshot(path):
    db = open_db(path)
    messages = db.execute("SELECT message_id, series_key, patch_number, reply_to_number FROM messages ORDER BY message_id").fetchall()
    series = db.execute(
        "SELECT series_key, subject, version, total, received, complete, cover_message_id, lineage FROM series ORDER BY series_key"
    ).fetchall()
    return messages, series


def test_import_killed_midway_then_resumed_equals_uninterrupted(tmp_path):
    # 1,500 messages committed 50 at a time: cheap, and the kill lands between commits. The excerpt
    # has 350, so the rest are its real messages again under new Message-IDs (tests/linux_api.py):
    # enough to leave the kill seconds of room, whatever the machine's load.
    raws = messages(1500)
    mbox = write_mbox_gz(tmp_path / "part.mbox.gz", raws)
    reference = tmp_path / "reference.db"
    import_paths(open_db(reference), [mbox])

    killed = tmp_path / "killed.db"
    env = {**os.environ, "KTRACK_IMPORT_BATCH": "50", "KTRACK_DB": str(killed)}
    cmd = [sys.executable, "-m", "tracker", "import", str(mbox)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            count = open_db(killed, migrate=False).execute("SELECT count(*) FROM messages").fetchone()[0]
        except Exception:  # noqa: BLE001 - not created yet
            continue
        if count >= 200:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    partial = open_db(killed).execute("SELECT count(*) FROM messages").fetchone()[0]
    assert 0 < partial < len(raws), "the import was not interrupted mid-way"
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    assert _snapshot(killed) == _snapshot(reference)
