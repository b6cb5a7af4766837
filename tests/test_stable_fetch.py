"""`ktrack stable review VERSION --fetch` against a REAL public-inbox holding real stable review mail.

The server (tests/public_inbox.py) gets the 2.6.14.7 review series (cover and
six patches, 2006) and the 4.19.107 review cover (2020) delivered by
public-inbox-mda, as the stable list's mail server delivers them; the command
must find each review by its subject and fetch the whole thread.
"""

import json
import mailbox
import re

import pytest
from fetch_helpers import configure
from public_inbox import require_tools, running_public_inbox

STABLE = "stable"


@pytest.fixture(scope="module")
def stable_inbox(data_dir, tmp_path_factory):
    require_tools()
    reviews = data_dir / "stable-reviews"
    raws = [m.as_bytes(unixfrom=False) for m in mailbox.mbox(reviews / "2.6.14.7-review.mbox")]
    raws.append((reviews / "4.19.107-review-cover.eml").read_bytes())
    workdir = tmp_path_factory.mktemp("public-inbox-stable")
    with running_public_inbox(None, workdir, name=STABLE, address="stable@vger.kernel.org", messages=raws) as (base, _):
        yield base


def changelogs_at(httpserver, *served: tuple[str, bytes]) -> str:
    """Serve ChangeLogs the way cdn.kernel.org does (others: 404); return the changelog_url template."""
    for path, body in served:
        httpserver.expect_request(path).respond_with_data(body, content_type="text/plain")
    httpserver.expect_request(re.compile(r".*/ChangeLog-.*")).respond_with_data("Not Found", status=404)
    return httpserver.url_for("/pub/linux/kernel/{dir}/ChangeLog-{version}")


@pytest.fixture
def lore_app(app, tmp_path, stable_inbox, httpserver):
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{stable_inbox}"\n[plugins.stable_review]\nlore_inbox = "{STABLE}"\n'
                             f'changelog_url = "{changelogs_at(httpserver)}"\n')
    return app


def no_changelog(httpserver, release: str) -> str:
    major = "v2.6" if release.startswith("2.6.") else f"v{release.split('.')[0]}.x"
    return f"{httpserver.url_for(f'/pub/linux/kernel/{major}/ChangeLog-{release}')}: HTTP 404, no ChangeLog for {release} there"


def test_stable_review_fetch_finds_a_2006_review_thread_on_lore(lore_app, ktrack):
    result = ktrack("stable", "review", "2.6.14.7", "--fetch", "--json")
    assert result.exit_code == 0, result.output
    review = json.loads(result.output)
    assert review["release"] == "2.6.14.7" and review["patch_count"] == 6
    security = {p["number"] for p in review["patches"] if p["category"] == "security"}
    assert {5, 6} <= security  # the two netfilter crash fixes carrying CVE-2006-0036/0037
    assert lore_app.db["messages"].count == 7  # the cover and its six patches: the whole thread
    assert lore_app.db["sources"].count == 0  # a one-off download is not a source cron would poll
    # stored now: a second run reads the database and fetches nothing
    again = ktrack("stable", "review", "2.6.14.7", "--fetch", "--json")
    assert again.exit_code == 0 and json.loads(again.output)["patches"] == review["patches"]
    assert lore_app.db["messages"].count == 7


def test_stable_review_fetch_reads_a_cover_only_review_from_its_shortlog(lore_app, ktrack):
    result = ktrack("stable", "review", "4.19.107", "--fetch", "--json")
    assert result.exit_code == 0, result.output
    review = json.loads(result.output)
    assert review["patch_count"] == 97
    assert review["patches"][78]["subject"].startswith('Revert "dmaengine: imx-sdma: Fix memory leak"')


def test_stable_review_fetch_of_an_unknown_version_is_one_clear_line(lore_app, ktrack, httpserver):
    result = ktrack("stable", "review", "2.6.14.99", "--fetch")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no 2.6.14.99 stable review found on lore (searched 's:2.6.14.99 s:review'); "
        + no_changelog(httpserver, "2.6.14.99")
    ]
    assert lore_app.db["messages"].count == 0


def test_stable_review_without_fetch_stays_offline_and_says_how_to_fetch(lore_app, ktrack):
    result = ktrack("stable", "review", "2.6.14.7")
    assert result.exit_code == 1
    assert "add --fetch to download it" in result.output
    assert lore_app.db["messages"].count == 0


def test_stable_review_fetch_from_an_unreachable_lore_fails_cleanly(app, tmp_path, ktrack):
    configure(app, tmp_path, '[plugins.lore]\nbase_url = "http://127.0.0.1:9"\n'
                             '[plugins.stable_review]\nchangelog_url = "http://127.0.0.1:9/{dir}/ChangeLog-{version}"\n')
    result = ktrack("stable", "review", "6.12.5", "--fetch")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "127.0.0.1:9" in lines[0], result.output
    assert "/v6.x/ChangeLog-6.12.5" in lines[0]  # both places were tried, and the line names both
    assert app.db["messages"].count == 0


def test_stable_review_fetch_says_when_the_found_thread_would_not_download(app, tmp_path, ktrack, stable_inbox, httpserver):
    """The search answers (the real server's own Atom result, replayed) but the thread mbox fails: say that, store nothing."""
    import requests

    feed = requests.get(f"{stable_inbox}/{STABLE}/", params={"q": "s:2.6.14.7 s:review", "x": "A"}, timeout=10)
    assert feed.status_code == 200 and b"2.6.14.7 -stable review" in feed.content
    httpserver.expect_request(f"/{STABLE}/").respond_with_data(feed.content, content_type="application/atom+xml")
    httpserver.expect_request(re.compile(r".*/t\.mbox\.gz$")).respond_with_data("busy", status=503)
    base = httpserver.url_for("/").rstrip("/")
    configure(app, tmp_path, f'[plugins.lore]\nbase_url = "{base}"\n[plugins.stable_review]\nlore_inbox = "{STABLE}"\n'
                             f'changelog_url = "{changelogs_at(httpserver)}"\n')
    result = ktrack("stable", "review", "2.6.14.7", "--fetch")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: could not download the 2.6.14.7 review from lore: ") and "503" in line, line
    assert line.endswith("; " + no_changelog(httpserver, "2.6.14.7"))  # and the ChangeLog was not there either
    assert app.db["messages"].count == 0


def add_releases(db, *versions_days_ago):
    from datetime import datetime, timedelta, timezone

    from tracker.versions import version_sort_key

    now = datetime.now(timezone.utc)
    for version, kind, days in versions_days_ago:
        when = (now - timedelta(days=days)).isoformat(timespec="seconds")
        db["releases"].insert({"version": version, "kind": kind, "sort_key": version_sort_key(version), "released_at": when})


def test_stable_reviews_source_finds_the_review_of_each_new_stable_release(lore_app, stable_inbox, httpserver):
    """kernel.org says 2.6.14.7 and 4.19.107 came out; the source finds both reviews on lore, the analysis reviews them."""
    from tracker.analyze import run_analysis
    from tracker.fetching import run_sources
    from tracker.plugins.stable_review.store import load_review

    db = lore_app.db
    add_releases(db, ("4.19.107", "longterm", 2), ("2.6.14.7", "stable", 1), ("5.10.1", "stable", 3),
                 ("2.6.14.6", "stable", 40), ("5.11-rc1", "rc", 1))
    [result] = run_sources(lore_app, ["stable-reviews"])
    assert result.ok
    assert result.warnings == ["no 5.10.1 stable review found on lore (searched 's:5.10.1 s:review'); "
                               + no_changelog(httpserver, "5.10.1")]
    assert db["messages"].count == 8  # the 2.6.14.7 thread (7) and the 4.19.107 cover; nothing for old or rc releases
    state = json.loads(db["sources"].get("stable-reviews")["state_json"])
    assert state["not_found"] == {"5.10.1": 1}
    assert run_analysis(lore_app) == []
    assert len(load_review(db, "4.19.107")) == 97 and len(load_review(db, "2.6.14.7")) == 6

    # again: what is stored is not searched for; the missing one is tried until MAX_TRIES, then left alone
    from tracker.plugins.stable_review.lore_reviews import MAX_TRIES

    for attempt in range(2, MAX_TRIES + 2):
        [again] = run_sources(lore_app, ["stable-reviews"])
        assert again.ok and db["messages"].count == 8
        tried = json.loads(db["sources"].get("stable-reviews")["state_json"])["not_found"]["5.10.1"]
        assert tried == min(attempt, MAX_TRIES)
    assert again.warnings == []


def test_stable_reviews_source_can_be_turned_off(app, tmp_path):
    from tracker.fetching import collect_sources

    configure(app, tmp_path, "[plugins.stable_review]\nfetch_reviews = false\n")  # on by default (test above)
    assert "stable-reviews" not in [s.name for s in collect_sources(app)]
