"""The HTTP client (tracker.fetch) against a real local HTTP server."""

import time

import pytest
import requests
from werkzeug import Response

from tracker.fetch import USER_AGENT, FetchError, HttpClient, HttpSettings, describe_connection_error

FAST = HttpSettings(timeout=5, retries=2, backoff=0.01, max_retry_after=5, host_delay=0)

# The shape of the Anubis interstitial lore.kernel.org serves with status 200.
ANUBIS_PAGE = b"""<!doctype html><html lang="en"><head><title>Making sure you&#39;re not a bot!</title>
<link rel="stylesheet" href="/.within.website/x/xess/xess.min.css?cachebuster=1.16.0">
<script id="anubis_version" type="application/json">"v1.16.0"</script></head>
<body><h1 id="title">Making sure you&#39;re not a bot!</h1><p>Loading...</p></body></html>"""


@pytest.fixture
def kdist(data_dir):
    return (data_dir / "formats/kernel.org/kdist-2020-05-06.xml").read_bytes()


def client(db=None, **overrides):
    settings = HttpSettings(**{**FAST.__dict__, **overrides})
    waits = []
    c = HttpClient(db, settings=settings, sleep=waits.append)
    return c, waits


def test_fetch_get_sends_user_agent(httpserver, kdist):
    httpserver.expect_request("/feeds/kdist.xml", headers={"User-Agent": USER_AGENT}).respond_with_data(kdist)
    c, _ = client()
    response = c.get(httpserver.url_for("/feeds/kdist.xml"), expect="feed")
    assert response.status == 200 and response.content == kdist
    assert USER_AGENT.startswith("kernel-tracker/")


def test_fetch_etag_304_writes_nothing(httpserver, db, kdist):
    url = httpserver.url_for("/feeds/kdist.xml")
    httpserver.expect_ordered_request("/feeds/kdist.xml").respond_with_data(kdist, headers={"ETag": '"abc"'})
    httpserver.expect_ordered_request("/feeds/kdist.xml", headers={"If-None-Match": '"abc"'}).respond_with_data("", status=304)
    c, _ = client(db)
    first = c.get(url, expect="feed")
    assert not first.not_modified
    assert db["http_cache"].get(url)["etag"] == '"abc"'
    before = db.conn.total_changes
    second = c.get(url, expect="feed")
    assert second.not_modified and second.status == 304
    assert db.conn.total_changes == before
    httpserver.check_assertions()


def test_fetch_last_modified_sent_back(httpserver, db, kdist):
    lm = "Fri, 08 May 2020 11:11:02 GMT"
    httpserver.expect_ordered_request("/r.json").respond_with_data(kdist, headers={"Last-Modified": lm})
    httpserver.expect_ordered_request("/r.json", headers={"If-Modified-Since": lm}).respond_with_data("", status=304)
    c, _ = client(db)
    c.get(httpserver.url_for("/r.json"))
    assert c.get(httpserver.url_for("/r.json")).not_modified
    httpserver.check_assertions()


def test_fetch_body_hash_unchanged_is_not_modified_without_writes(httpserver, db, kdist):
    httpserver.expect_request("/feed").respond_with_data(kdist)  # no ETag, no Last-Modified
    url = httpserver.url_for("/feed")
    c, _ = client(db)
    assert not c.get(url).not_modified
    before = db.conn.total_changes
    again = c.get(url)
    assert again.not_modified and again.content == kdist
    assert db.conn.total_changes == before


def test_fetch_body_hash_changed_is_modified(httpserver, db, kdist):
    httpserver.expect_ordered_request("/feed").respond_with_data(kdist)
    httpserver.expect_ordered_request("/feed").respond_with_data(kdist + b"\n")
    c, _ = client(db)
    c.get(httpserver.url_for("/feed"))
    assert not c.get(httpserver.url_for("/feed")).not_modified


def test_fetch_429_honours_retry_after(httpserver, kdist):
    httpserver.expect_ordered_request("/feed").respond_with_data("slow down", status=429, headers={"Retry-After": "3"})
    httpserver.expect_ordered_request("/feed").respond_with_data(kdist)
    c, waits = client()
    assert c.get(httpserver.url_for("/feed")).content == kdist
    assert waits == [3.0]


def test_fetch_retry_after_beyond_cap_is_an_error(httpserver):
    httpserver.expect_request("/feed").respond_with_data("later", status=503, headers={"Retry-After": "3600"})
    c, waits = client()
    with pytest.raises(FetchError) as info:
        c.get(httpserver.url_for("/feed"))
    assert "retry after 3600 s" in str(info.value) and info.value.url.endswith("/feed")
    assert waits == []


def test_fetch_500_then_success_retries(httpserver, kdist):
    httpserver.expect_ordered_request("/feed").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/feed").respond_with_data(kdist)
    c, waits = client()
    assert c.get(httpserver.url_for("/feed")).content == kdist
    assert len(waits) == 1


def test_fetch_500_forever_gives_one_line_error(httpserver):
    httpserver.expect_request("/feed").respond_with_data("oops", status=500)
    c, waits = client()
    with pytest.raises(FetchError) as info:
        c.get(httpserver.url_for("/feed"))
    message = str(info.value)
    assert message == f"{httpserver.url_for('/feed')}: HTTP 500 INTERNAL SERVER ERROR after 3 attempts"
    assert waits == [0.01, 0.02]


def test_fetch_404_is_not_retried(httpserver):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    c, waits = client()
    with pytest.raises(FetchError, match="HTTP 404"):
        c.get(httpserver.url_for("/missing"))
    assert waits == [] and c.requests_made == 1


def test_fetch_slow_response_times_out(httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    c, _ = client(timeout=0.2, retries=0)
    with pytest.raises(FetchError, match=r"timed out after 0.2 s"):
        c.get(httpserver.url_for("/slow"))


def test_fetch_connection_refused_is_fetch_error():
    c, waits = client(retries=1)
    with pytest.raises(FetchError, match=r"http://127.0.0.1:9/feed: connection refused by 127.0.0.1:9 after 2 attempts$"):
        c.get("http://127.0.0.1:9/feed")
    assert len(waits) == 1


def test_fetch_unreachable_host_is_not_retried_again_in_the_same_run():
    c, waits = client(retries=2)
    with pytest.raises(FetchError):
        c.get("http://127.0.0.1:9/lkml/new.atom")
    tried = c.attempts
    assert tried == 3
    with pytest.raises(FetchError, match="skipped: connection refused by 127.0.0.1:9 earlier in this run"):
        c.get("http://127.0.0.1:9/stable/new.atom")
    assert c.attempts == tried  # no new connection, no new back-off
    assert len(waits) == 2


def test_fetch_unresolvable_host_says_so_in_few_words():
    # The text requests gives for a failed DNS lookup (no lookup is made here: no test leaves the machine).
    exc = requests.ConnectionError(
        "HTTPSConnectionPool(host='lore.kernel.org', port=443): Max retries exceeded with url: /lkml/new.atom "
        "(Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve "
        "'lore.kernel.org' ([Errno -3] Temporary failure in name resolution)\"))"
    )
    assert describe_connection_error(exc, "lore.kernel.org") == "cannot resolve host lore.kernel.org"


def test_fetch_challenge_page_is_detected(httpserver):
    httpserver.expect_request("/lkml/new.atom").respond_with_data(ANUBIS_PAGE, content_type="text/html")
    c, _ = client()
    with pytest.raises(FetchError, match="bot-challenge page"):
        c.get(httpserver.url_for("/lkml/new.atom"), expect="feed")


def test_fetch_html_instead_of_mbox_is_an_error(httpserver):
    httpserver.expect_request("/t.mbox.gz").respond_with_data(b"<html><body>Not here</body></html>", content_type="text/html")
    c, _ = client()
    with pytest.raises(FetchError, match="HTML page instead of mbox"):
        c.get(httpserver.url_for("/t.mbox.gz"), expect="mbox")


def test_fetch_feed_is_not_mistaken_for_challenge(httpserver, data_dir):
    atom = (data_dir / "formats/lore/util-linux-new-2020-05-17.atom").read_bytes()
    httpserver.expect_request("/util-linux/new.atom").respond_with_data(atom, content_type="text/html")
    c, _ = client()
    assert c.get(httpserver.url_for("/util-linux/new.atom"), expect="feed").content == atom


def test_fetch_challenge_page_leaves_no_cache_row(httpserver, db):
    httpserver.expect_request("/feed").respond_with_data(ANUBIS_PAGE, content_type="text/html")
    c, _ = client(db)
    with pytest.raises(FetchError):
        c.get(httpserver.url_for("/feed"), expect="feed")
    assert db["http_cache"].count == 0


def test_fetch_post_sends_form(httpserver):
    httpserver.expect_request("/lkml/", method="POST", query_string="q=rt%3A1..2&x=m").respond_with_data(b"\x1f\x8bgz")
    c, _ = client()
    response = c.post(httpserver.url_for("/lkml/"), params={"q": "rt:1..2", "x": "m"}, data={"z": "1"}, expect="mbox")
    assert response.content == b"\x1f\x8bgz"


def test_fetch_accept_status_returns_the_answer_uncached_and_without_retries(httpserver, db):
    """public-inbox's "no hits" 404 is an answer the caller reads; any other status still raises."""
    httpserver.expect_request("/q").respond_with_data("No results found", status=404, content_type="text/plain")
    httpserver.expect_request("/gone").respond_with_data("Not Found", status=404)
    c, _ = client(db)
    response = c.get(httpserver.url_for("/q"), expect="feed", accept_status=(404,))
    assert (response.status, response.text, response.not_modified) == (404, "No results found", False)
    assert c.post(httpserver.url_for("/q"), expect="mbox", accept_status=(404,)).status == 404
    assert db["http_cache"].count == 0 and c.requests_made == 2
    with pytest.raises(FetchError, match="HTTP 404"):
        c.get(httpserver.url_for("/gone"), expect="feed")


def test_fetch_host_delay_spaces_requests(httpserver):
    httpserver.expect_request("/a").respond_with_data("a")
    now = [100.0]
    waits = []
    c = HttpClient(settings=HttpSettings(host_delay=2.0, backoff=0), sleep=waits.append, clock=lambda: now[0])
    c.get(httpserver.url_for("/a"))
    now[0] += 0.5
    c.get(httpserver.url_for("/a"))
    assert waits == [1.5]
