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

    page.get_by_role("link", name="Sysctl knobs", exact=True).first.click()  # the nav link, not the in-page one
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
    assert "The current stable kernel is 5.10.1, released on December 14." in page.locator("#section-release-status").inner_text()

    page.locator("#section-release-status").get_by_role("link", name="5.10.1", exact=True).click()  # the version is the link
    page.wait_for_url("**/releases/5.10.1.html")
    assert page.locator("h1").inner_text() == "Linux 5.10.1"
    assert page.get_by_role("link", name="Changelog").get_attribute("href").startswith("https://cdn.kernel.org/")
    assert page.errors == []


WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.mark.parametrize("name", list(WIDTHS))
def test_browser_front_page_layout_at_desktop_and_phone_width(sample_site, browser, name, tmp_path):
    """The front page as a reader sees it: sections in order, linked titles over prose, prev/next, no sideways scroll."""
    out, base = sample_site
    width, height = WIDTHS[name]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(base + "index.html")
    shot = tmp_path / f"front-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000  # something was drawn

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    headings = [h.inner_text() for h in page.locator("article.edition h2").all()]
    assert headings == ["Release status", "Watched topics", "Discussions of the week", "New system calls", "Sysctl knobs",
                        "Patches and updates"]
    toc = page.locator("nav.toc li")
    assert toc.count() == 6 and "threads" in toc.nth(2).inner_text()
    # the watched series (trusted_for) is told once, under the reader's topic, not again under "Patches and updates"
    assert "trusted_for" in page.locator("#section-watch").inner_text()
    assert "trusted_for" not in page.locator("#section-patches").inner_text()
    # prose is not a link: in the release status only the versions are, in a series line only its subject
    status = page.locator("#section-release-status")
    assert [a.inner_text() for a in status.locator("a").all()] == ["5.10", "5.10.1"]
    series = page.locator("#section-patches li").first
    assert series.locator("a").count() == 1 and len(series.locator("a").inner_text()) < len(series.inner_text())
    assert page.locator("a").first.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"
    # a discussion: its title links to lore, the counts and the opening words follow
    story = page.locator("#section-discussions article.story").first
    assert story.locator("h3 a").get_attribute("href").startswith("https://lore.kernel.org/r/")
    assert "participants" in story.locator(".meta").inner_text() and story.locator("blockquote").is_visible()
    # the feature item: a story with the author's words and the prototype
    feature = page.locator("#section-syscalls article.feature", has_text="trusted_for")
    assert "writes:" in feature.locator("blockquote").inner_text() and feature.locator("pre.prototype").is_visible()
    box = feature.locator("pre.prototype").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    # nothing jargon-like a reader would trip on
    text = page.locator("main").inner_text()
    assert "plugin" not in text and "(-0." not in text

    # previous / next editions
    page.get_by_role("link", name="Week 2021-W45", exact=False).last.click()
    page.wait_for_url("**/editions/2021-W45.html")
    page.locator("a[rel=next]").click()
    page.wait_for_url("**/editions/2021-W46.html")
    assert page.locator("a[rel=next]").count() == 0 and page.locator("a[rel=prev]").count() == 1
    context.close()


def test_browser_stable_section_leads_with_its_counts(sample_site, page):
    out, base = sample_site
    page.goto(base + "editions/2020-W09.html")
    section = page.locator("#section-stable")
    first = section.locator("p").first.inner_text()
    assert first.startswith("1 stable update reviewed this week: 4.19.107 with") and "security-related" in first
    assert "plugin" not in section.inner_text()
    page.goto(base + "stable/2.6.14.7.html")
    evidence = " ".join(page.locator("ul.evidence li").all_inner_texts())
    assert not __import__("re").search(r"word '\d+'|\([+-]\d\.\d+\)", evidence), evidence
    assert page.errors == []


def test_browser_search_finds_a_known_patch(sample_site, page):
    out, base = sample_site
    page.goto(base + "index.html")
    page.get_by_role("link", name="Search", exact=True).click()
    page.wait_for_url("**/search.html")
    page.locator(".pagefind-ui__search-input").fill("set_mempolicy_home_node")
    first = page.locator(".pagefind-ui__result-link").first
    first.wait_for(timeout=15000)
    hrefs = [a.get_attribute("href") for a in page.locator(".pagefind-ui__result-link").all()]
    assert any("/editions/2021-W46" in h or "/syscalls/" in h for h in hrefs), hrefs
    first.click()
    page.wait_for_load_state()
    assert "set_mempolicy_home_node" in page.content()

    page.go_back()  # a security team looks a CVE up: the stable review that carries its fix
    page.locator(".pagefind-ui__search-input").fill("CVE-2006-0036")
    page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
    hrefs = [a.get_attribute("href") for a in page.locator(".pagefind-ui__result-link").all()]
    assert any(h.endswith("/stable/2.6.14.7.html") for h in hrefs), hrefs
    assert page.errors == []


def test_browser_search_merges_the_bundle_of_every_year(sample_site, page):
    """The index is one Pagefind bundle per older ISO year plus pagefind/ (tracker/search_index.py): all are searched."""
    out, base = sample_site
    assert sorted(p.name for p in out.glob("pagefind*")) == ["pagefind", "pagefind-2006", "pagefind-2020"]

    def hrefs_for(word):
        page.goto(base + "search.html")  # a fresh page: no results of the word before
        page.locator(".pagefind-ui__search-input").fill(word)
        page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
        return [a.get_attribute("href") for a in page.locator(".pagefind-ui__result-link").all()]

    # "Hartman" is said on one indexed page only: the 2020-W09 edition, in the pagefind-2020 bundle
    assert "Hartman" not in (out / "editions/2021-W46.html").read_text()
    assert "/editions/2020-W09.html" in hrefs_for("Hartman")
    # "fanotify" only on the newest edition (pagefind/)
    assert "fanotify" not in (out / "editions/2020-W09.html").read_text()
    assert "/editions/2021-W46.html" in hrefs_for("fanotify")
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
