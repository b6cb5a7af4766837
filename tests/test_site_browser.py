"""The sample site in headless Chromium: navigation, search, console, feed, internal links.

Needs Debian's chromium at /usr/bin/chromium and the playwright package
(`.ci/run` installs both); never `playwright install`.
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory):
    """Build the shipped sample with `ktrack run --sample` (every built-in plugin) and serve it."""
    from tracker.app import App
    from tracker.cli import build_cli

    tmp = tmp_path_factory.mktemp("browser")
    out = tmp / "ktrack-site"
    config = tmp / "xdg" / "ktrack" / "config.toml"  # a reader's config: one watched topic
    config.parent.mkdir(parents=True)
    config.write_text('[plugins.watch.topics.exec-control]\ntitle = "Exec control"\nwords = ["O_MAYEXEC"]\n')
    mp = pytest.MonkeyPatch()
    mp.delenv("KTRACK_LOAD_PLUGINS", raising=False)
    mp.delenv("KTRACK_CONFIG", raising=False)
    mp.setenv("XDG_CONFIG_HOME", str(tmp / "xdg"))
    try:
        app = App(db_path=tmp / "sample.db")
        result = CliRunner().invoke(build_cli(app), ["--db", str(tmp / "sample.db"), "run", "--sample", "--out", str(out)], obj=app)
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page.errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.errors.append(f"request failed: {r.url}"))
    yield page
    context.close()


def test_browser_index_shows_latest_edition_and_archive_and_release_are_clickable(sample_site, page):
    out, base = sample_site
    page.goto(base + "index.html")
    assert page.locator("h1").first.inner_text().startswith("Week 2021-W46")
    assert page.get_by_text("trusted_for(const int fd").first.is_visible()

    page.get_by_role("link", name="Sysctl knobs", exact=True).click()
    page.wait_for_url("**/sysctls/index.html")
    assert page.get_by_role("link", name="/proc/sys/fs/trusted_for_policy").first.is_visible()
    page.go_back()

    page.get_by_role("link", name="Watched", exact=True).click()
    page.wait_for_url("**/watch/index.html")
    page.get_by_role("link", name="Exec control: 1 series").click()
    page.wait_for_url("**/watch/exec-control.html")
    # v17 carries the Reviewed-by and Acked-by trailers its earlier versions collected
    assert page.get_by_role("link", name="Add trusted_for(2) (was O_MAYEXEC) (v17, 3 patches, reviewed by 2, acked by 2; "
                            "mentions O_MAYEXEC)", exact=False).is_visible()
    page.go_back()
    page.go_back()

    page.get_by_role("link", name="Stable reviews", exact=True).click()
    page.wait_for_url("**/stable/index.html")
    assert [h.inner_text() for h in page.locator("h2").all()] == ["4.19", "2.6.14"]  # newest branch first
    page.get_by_role("link", name="2.6.14.7", exact=True).click()
    page.wait_for_url("**/stable/2.6.14.7.html")
    assert page.locator("#security li[id^=p]").count() == 2
    page.go_back()
    page.go_back()

    page.get_by_role("link", name="Archive", exact=True).click()
    page.wait_for_url("**/archive.html")
    page.get_by_role("link", name="Week 2020-W51", exact=False).click()
    page.wait_for_url("**/editions/2020-W51.html")
    assert "5.10.1 (stable) was released" in page.content()

    page.get_by_role("link", name="The current stable kernel is 5.10.1", exact=False).first.click()
    page.wait_for_url("**/releases/5.10.1.html")
    assert page.locator("h1").inner_text() == "Linux 5.10.1"
    assert page.get_by_role("link", name="Changelog").get_attribute("href").startswith("https://cdn.kernel.org/")
    assert page.errors == []


def test_browser_search_finds_a_known_patch(sample_site, page):
    out, base = sample_site
    page.goto(base + "index.html")
    page.get_by_role("link", name="Search", exact=True).click()
    page.wait_for_url("**/search.html")
    page.locator(".pagefind-ui__search-input").fill("process_mrelease")
    first = page.locator(".pagefind-ui__result-link").first
    first.wait_for(timeout=15000)
    hrefs = [a.get_attribute("href") for a in page.locator(".pagefind-ui__result-link").all()]
    assert any("/editions/2021-W3" in h for h in hrefs), hrefs
    first.click()
    page.wait_for_load_state()
    assert "process_mrelease" in page.content()

    page.go_back()  # a security team looks a CVE up: the stable review that carries its fix
    page.locator(".pagefind-ui__search-input").fill("CVE-2006-0036")
    page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
    hrefs = [a.get_attribute("href") for a in page.locator(".pagefind-ui__result-link").all()]
    assert any(h.endswith("/stable/2.6.14.7.html") for h in hrefs), hrefs
    assert page.errors == []


def test_browser_every_page_loads_without_console_errors(sample_site, page):
    out, base = sample_site
    for path in sorted(out.rglob("*.html")):
        page.goto(base + str(path.relative_to(out)))
        page.wait_for_load_state("load")
    assert page.errors == []


def test_browser_no_page_is_wider_than_a_phone_screen(sample_site, browser):
    """Long documentation lines, signatures and tables must wrap or scroll inside their box, not widen the page."""
    out, base = sample_site
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    too_wide = []
    for path in sorted(out.rglob("*.html")):
        page.goto(base + str(path.relative_to(out)))
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide.append(f"{path.relative_to(out)}: {width}px")
    context.close()
    assert too_wide == [], "\n".join(too_wide)


def test_site_feed_parses_without_bozo(sample_site):
    out, base = sample_site
    with urllib.request.urlopen(base + "feed.xml") as response:
        feed = feedparser.parse(response.read())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries[0].title.startswith("Week 2021-W46")


def test_site_topic_and_branch_feeds_parse_and_are_linked(sample_site):
    """The watched topic's feed and each stable branch's feed: valid Atom, announced by their pages."""
    out, base = sample_site
    feeds = {}
    for path in ("watch/exec-control.xml", "stable/2.6.14.xml", "stable/4.19.xml"):
        with urllib.request.urlopen(base + path) as response:
            feeds[path] = feedparser.parse(response.read())
        assert not feeds[path].bozo, (path, feeds[path].get("bozo_exception"))
    [series] = feeds["watch/exec-control.xml"].entries
    assert series.title.endswith("Add trusted_for(2) (was O_MAYEXEC)") and "mentions O_MAYEXEC" in series.content[0].value
    [review] = feeds["stable/2.6.14.xml"].entries
    assert review.title == "Stable review: 2.6.14.7 (6 patches, 2 security-related)"
    assert "CVE-2006-0036" in review.content[0].value and review.link.endswith("stable/2.6.14.7.html")
    page = (out / "stable" / "2.6.14.7.html").read_text()
    assert '<link rel="alternate" type="application/atom+xml" title="Stable review: 2.6.14.7" href="../stable/2.6.14.xml">' in page
    assert 'href="../watch/exec-control.xml"' in (out / "watch" / "exec-control.html").read_text()


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)


def test_site_has_no_broken_internal_link(sample_site):
    out, base = sample_site
    host = urlsplit(base).netloc
    seen, queue, broken = set(), [base + "index.html"], []
    for path in out.rglob("*.html"):  # orphans too: every page, not only reachable ones
        queue.append(base + str(path.relative_to(out)))
    while queue:
        url = queue.pop().split("#", 1)[0]
        if url in seen:
            continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url) as response:
                body = response.read()
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            broken.append(f"{url}: {exc.code}")
            continue
        if kind != "text/html":
            continue
        parser = Links()
        parser.feed(body.decode("utf-8"))
        for link in parser.urls:
            target = urljoin(url, link)
            parts = urlsplit(target)
            if parts.scheme in ("http", "https") and parts.netloc == host:
                queue.append(target)
            elif parts.scheme not in ("http", "https", "data", "mailto"):
                broken.append(f"{url}: unexpected link {link!r}")
    assert broken == []
    assert len(seen) > 20
