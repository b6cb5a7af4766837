"""The one HTTP client every source uses: polite, conditional, and honest about failures.

Modelled on lemon24/reader's retriever: a requests.Session with a timeout on
every call, retries with exponential back-off on connection errors and 5xx,
`Retry-After` honoured on 429/503 (capped), conditional GET from the
`http_cache` table, a per-host minimum delay, and detection of the HTML
bot-challenge pages lore.kernel.org serves with status 200 (Anubis) where a
feed or mbox was expected. Every failure is a FetchError: one line, URL first.

Cache rows are written through the caller's database connection, so inside a
source's transaction they roll back with its data: a source that failed after
downloading does not get a 304 next time for data it never stored.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from . import __version__
from .db import utcnow
from .errors import KtrackError

USER_AGENT = f"kernel-tracker/{__version__} (+https://github.com/kernel-tracker/kernel-tracker)"

# Texts that identify a bot-challenge interstitial rather than content. Anubis
# (used by lore.kernel.org since 2025) links its own assets under
# /.within.website/ and says "Making sure you're not a bot!"; the others are
# Cloudflare's and generic JS-challenge wording.
CHALLENGE_MARKERS = (
    b"anubis",
    b".within.website",
    b"making sure you&#39;re not a bot",
    b"making sure you're not a bot",
    b"cf-chl",
    b"challenge-platform",
    b"just a moment...",
    b"enable javascript and cookies to continue",
)
RETRY_STATUSES = {500, 502, 503, 504}


class FetchError(KtrackError):
    """An HTTP fetch that failed: `<url>: <what went wrong>`."""

    def __init__(self, url: str, problem: str):
        self.url = url
        self.problem = problem
        super().__init__(f"{url}: {problem}")


@dataclass
class HttpResponse:
    """What a fetch returns: plain data, the body already read."""

    url: str
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False  # 304, or a 200 whose body hash matches the stored one

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass
class HttpSettings:
    """Knobs of HttpClient; tests shrink the delays to keep fast."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    max_retry_after: float = 120.0  # longest Retry-After we wait for; longer is an error
    host_delay: float = 1.0  # minimum seconds between two requests to one host

    @classmethod
    def from_config(cls, table: dict[str, Any] | None) -> "HttpSettings":
        table = table or {}
        known = {k: table[k] for k in ("timeout", "retries", "backoff", "max_retry_after", "host_delay") if k in table}
        return cls(**known)


class HttpClient:
    """One requests.Session with the project's fetching rules.

    >>> client = HttpClient(db, settings=HttpSettings(host_delay=0))   # doctest: +SKIP
    >>> client.get("https://www.kernel.org/releases.json", expect="json").not_modified  # doctest: +SKIP
    False
    """

    def __init__(
        self,
        db=None,
        *,
        settings: HttpSettings | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.db = db
        self.settings = settings or HttpSettings()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        self._clock = clock
        self._last_request: dict[str, float] = {}
        self._unreachable: dict[str, str] = {}  # host -> why, for the rest of this run
        self.requests_made = 0
        self.attempts = 0

    # -- public API -----------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        expect: str | None = None,
        conditional: bool = True,
        params: dict | None = None,
        headers: dict | None = None,
        accept_status: tuple[int, ...] = (),
    ) -> HttpResponse:
        """GET `url`; with `conditional`, use and update the http_cache row for it.

        `expect` ("feed", "json", "mbox", "git") turns an HTML page into a FetchError.
        `accept_status` lists error statuses the caller reads itself (public-inbox
        answers a search without results with 404): returned as they are, never cached.
        """
        cached = self._cache_row(url) if conditional else None
        send = dict(headers or {})
        if cached:
            if cached.get("etag"):
                send["If-None-Match"] = cached["etag"]
            if cached.get("last_modified"):
                send["If-Modified-Since"] = cached["last_modified"]
        response = self._request("GET", url, params=params, headers=send, accept_status=accept_status)
        if response.status_code in accept_status:
            return HttpResponse(url, response.status_code, response.content, dict(response.headers))
        if response.status_code == 304:
            if not cached:
                raise FetchError(url, "HTTP 304 Not Modified without a conditional request")
            return HttpResponse(url, 304, b"", dict(response.headers), not_modified=True)
        result = self._accept(url, response, expect)
        if conditional:
            self._remember(url, result, cached)
        return result

    def post(self, url: str, *, data: Any = None, params: dict | None = None, expect: str | None = None,
             headers: dict | None = None, accept_status: tuple[int, ...] = ()) -> HttpResponse:
        """POST (lore's `?q=...&x=m` mbox download is a POST); never cached. `accept_status` as for get."""
        response = self._request("POST", url, params=params, data=data, headers=headers or {}, accept_status=accept_status)
        if response.status_code in accept_status:
            return HttpResponse(url, response.status_code, response.content, dict(response.headers))
        return self._accept(url, response, expect)

    def forget(self, url: str) -> None:
        """Drop the cached validators of `url` so the next GET downloads it again."""
        if self.db is not None and self.db["http_cache"].exists():
            self.db["http_cache"].delete_where("url = ?", [url])

    # -- internals ------------------------------------------------------------------

    def _request(self, method: str, url: str, *, accept_status: tuple[int, ...] = (), **kwargs) -> requests.Response:
        s = self.settings
        host = urlsplit(url).netloc
        if host in self._unreachable:
            # Eight sources on one host that cannot be reached need not each wait out their retries.
            raise FetchError(url, f"skipped: {self._unreachable[host]} earlier in this run")
        attempt = 0
        while True:
            self._wait_for_host(url)
            try:
                self.attempts += 1
                response = self.session.request(method, url, timeout=s.timeout, allow_redirects=True, **kwargs)
                self.requests_made += 1
            except requests.Timeout:
                problem = f"timed out after {s.timeout:g} s"
            except requests.ConnectionError as exc:
                problem = describe_connection_error(exc, host)
                if attempt >= s.retries:
                    self._unreachable[host] = problem
            except requests.RequestException as exc:
                raise FetchError(url, f"request failed ({_short(exc)})") from None
            else:
                status = response.status_code
                if status in (429, 503) and "Retry-After" in response.headers:
                    wait = _retry_after_seconds(response.headers["Retry-After"])
                    if wait is None:
                        wait = s.backoff * (2**attempt)
                    if wait > s.max_retry_after:
                        raise FetchError(url, f"HTTP {status}: server asks to retry after {wait:g} s (more than {s.max_retry_after:g} s)")
                    if attempt >= s.retries:
                        raise FetchError(url, f"HTTP {status} {response.reason} after {attempt + 1} attempts")
                    attempt += 1
                    self._sleep(wait)
                    continue
                if status in accept_status:
                    return response
                if status in RETRY_STATUSES or status == 429:
                    problem = f"HTTP {status} {response.reason}".rstrip()
                elif status >= 400:
                    raise FetchError(url, f"HTTP {status} {response.reason}".rstrip())
                else:
                    return response
            if attempt >= s.retries:
                suffix = f" after {attempt + 1} attempts" if attempt else ""
                raise FetchError(url, problem + suffix)
            self._sleep(s.backoff * (2**attempt))
            attempt += 1

    def _wait_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc
        last = self._last_request.get(host)
        now = self._clock()
        if last is not None and self.settings.host_delay > 0:
            wait = last + self.settings.host_delay - now
            if wait > 0:
                self._sleep(wait)
                now = self._clock()
        self._last_request[host] = now

    def _accept(self, url: str, response: requests.Response, expect: str | None) -> HttpResponse:
        content = response.content
        if expect and expect != "html":
            check_not_challenge(url, content, response.headers.get("Content-Type", ""), expect)
        return HttpResponse(url, response.status_code, content, dict(response.headers))

    def _cache_row(self, url: str) -> dict | None:
        if self.db is None:
            return None
        rows = list(self.db.query("select * from http_cache where url = ?", [url]))
        return rows[0] if rows else None

    def _remember(self, url: str, result: HttpResponse, cached: dict | None) -> None:
        """Store validators; an unchanged body (same sha256) is reported not-modified and writes nothing."""
        digest = hashlib.sha256(result.content).hexdigest()
        etag = result.headers.get("ETag")
        last_modified = result.headers.get("Last-Modified")
        if cached and cached.get("body_sha256") == digest:
            result.not_modified = True
            if (cached.get("etag"), cached.get("last_modified")) == (etag, last_modified):
                return
        if self.db is None:
            return
        self.db["http_cache"].upsert(
            {"url": url, "etag": etag, "last_modified": last_modified, "body_sha256": digest, "fetched_at": utcnow()},
            pk="url",
        )


def check_not_challenge(url: str, content: bytes, content_type: str, expect: str) -> None:
    """Raise FetchError when an HTML page arrived where `expect` (feed, json, mbox, git) was asked for."""
    head = content[:4096].lstrip().lower()
    is_html = head.startswith((b"<!doctype html", b"<html")) or (
        "text/html" in content_type.lower() and not head.startswith(b"<?xml") and not head.startswith(b"\x1f\x8b")
    )
    if not is_html:
        return
    sample = content[:65536].lower()
    if any(marker in sample for marker in CHALLENGE_MARKERS):
        raise FetchError(url, f"got a bot-challenge page (HTML) instead of {expect}; the site blocks automated clients right now")
    raise FetchError(url, f"got an HTML page instead of {expect}")


def _retry_after_seconds(value: str) -> float | None:
    """Read Retry-After as seconds (RFC 9110 10.2.3: delay-seconds or an HTTP-date)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    from datetime import datetime, timezone

    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def describe_connection_error(exc: Exception, host: str) -> str:
    """Say in a few words why a connection failed, instead of urllib3's nested repr."""
    text = str(exc)
    hostname = host.rsplit("@", 1)[-1].split(":")[0] if not host.startswith("[") else host
    if "NameResolutionError" in text or "Name or service not known" in text or "Temporary failure in name resolution" in text:
        return f"cannot resolve host {hostname}"
    if "Connection refused" in text:
        return f"connection refused by {host}"
    if "Network is unreachable" in text:
        return f"network unreachable for {host}"
    return f"connection to {host} failed ({_short(exc)})"


def _short(exc: Exception) -> str:
    """One line out of requests' nested exception text."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def parse_feed(url: str, content: bytes):
    """Parse Atom/RSS bytes with feedparser; raise FetchError for a feed that is not well-formed.

    feedparser never raises: it sets `bozo` and falls back to a lenient parser
    that may return part of a broken feed. A half-read feed would make lore's
    gap detection trust entries that are not all there, so XML errors fail.
    """
    import xml.sax

    import feedparser

    parsed = feedparser.parse(content)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, xml.sax.SAXException) or (problem is not None and not parsed.entries):
        raise FetchError(url, f"malformed feed ({_short(problem)})")
    if not parsed.get("version") and not parsed.entries:
        raise FetchError(url, "not an RSS or Atom feed")
    return parsed
