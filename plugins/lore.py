"""lore.kernel.org / public-inbox lists: poll new.atom, fetch whole threads, backfill every gap.

A list's `new.atom` holds only its newest 25 messages (about half an hour of
LKML), so polling alone misses mail. Each source keeps a cursor (the newest
message date it has covered without a hole) in its state; when the oldest
feed entry is newer than the cursor, the hole between them is filled from a
search download (`POST <list>/?q=rt:<from>..<to>&x=m`, an mbox.gz; split in
halves while a result looks capped) or from the list's public-inbox git
epochs (one commit per message, the raw mail in blob `m`). A hole that cannot
be filled is kept in the state, retried on every run and reported as the
source's error until it is filled: no message is silently missed.

Messages are stored with tracker.ingest.store_raw_messages, which dedupes by
Message-ID, so overlapping windows and re-runs never store anything twice.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote, urlencode, urlsplit

from tracker import hookimpl
from tracker.api import Setting, defaults_of, lore_base_url, plugin_config
from tracker.api import KtrackError
from tracker.api import Source

BASE_URL = "https://lore.kernel.org"
FEED_MAX_ENTRIES = 25  # public-inbox's new.atom size
MSGID_SAFE = "@!$&'()*+,;=:~-._"  # what public-inbox leaves unescaped in a Message-ID path segment


@hookimpl
def config_defaults():
    return {
        "base_url": BASE_URL,
        "lists": ["lkml", "stable", "linux-api"],
        "interval_seconds": 1800,
        "backfill": Setting("query", choices=("query", "git")),  # search mbox download, or local epoch clones
        "git_dir": Setting(None, str),  # with backfill = "git": <git_dir>/<list>/git/<N>.git
        "initial_days": 0,  # first run: also backfill this many days before the feed
        "overlap_seconds": 3600,  # widen gap windows: Date headers and receive times differ
        "query_cap": 10000,  # a search mbox with this many messages is treated as truncated
        "thread_mbox": True,  # fetch whole threads (t.mbox.gz) rather than single /raw messages
        "git_fetch": False,  # with backfill = "git": `git fetch` each epoch before reading it
    }


@hookimpl
def register_sources(register, config):
    table = plugin_config(config, "lore")
    for name in table["lists"]:
        register(LoreListSource(name, table))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def public_inbox_time(moment: datetime) -> str:
    """Format a time for public-inbox's rt: range: seconds since the epoch, e.g. 2025-01-10 12:00 UTC -> "1736510400".

    rt: reads "git approxidate" forms, and plain digits as a Unix time.
    "YYYYMMDDhhmmss" is dt:'s form; under rt: a real public-inbox (1.9)
    finds nothing with it (tests/test_lore_public_inbox.py).
    """
    return str(int(moment.timestamp()))


def no_hits(url: str, response) -> bool:
    """Whether public-inbox answered a search with "nothing matched"; a 404 that says anything else raises.

    It answers a search without hits with status 404: "No results found"
    (text/plain) to a download (x=m), its HTML results page to a feed (x=A).
    A missing list is a 404 too, with another body: that one is an error.
    """
    if response.status != 404:
        return False
    if response.content.strip() == b"No results found" or b" - search results</title>" in response.content[:2000]:
        return True
    raise KtrackError(f"{url}: HTTP 404 ({response.text.strip()[:80] or 'no body'})")


def msgid_url(base: str, inbox: str, message_id: str, suffix: str = "") -> str:
    """Return lore's URL of a message, e.g. (base, "lkml", "a/b@c", "t.mbox.gz") -> base/lkml/a%2Fb@c/t.mbox.gz."""
    return f"{base.rstrip('/')}/{inbox}/{quote(message_id, safe=MSGID_SAFE)}/{suffix}"


def msgid_from_link(link: str) -> str | None:
    """Take the Message-ID out of a lore message link (".../<list>/<msgid>/")."""
    parts = [p for p in urlsplit(link).path.split("/") if p]
    return unquote(parts[-1]) if len(parts) >= 2 else None


def read_feed_entries(url: str, content: bytes) -> tuple[list[dict], str | None]:
    """Return (entries, list_id) of a public-inbox Atom feed; entries: message_id, date, in_reply_to, title."""
    from tracker.api import parse_feed

    feed = parse_feed(url, content)
    list_id = None
    feed_id = feed.feed.get("id", "")
    if feed_id.startswith("mailto:"):  # "mailto:util-linux@vger.kernel.org" -> the List-Id form
        list_id = feed_id[len("mailto:"):].replace("@", ".", 1)
    entries = []
    for entry in feed.entries:
        message_id = msgid_from_link(entry.get("link", ""))
        if not message_id or not entry.get("updated"):
            continue
        reply = entry.get("thr_in-reply-to") or {}
        entries.append(
            {
                "message_id": message_id,
                "date": _iso(_parse_iso(entry["updated"])),
                "in_reply_to": msgid_from_link(reply.get("href", "")) if reply else None,
                "title": entry.get("title", ""),
            }
        )
    return entries, list_id


def mbox_messages(content: bytes, origin: str) -> tuple[list[tuple[bytes, str]], str | None]:
    """Split mbox (or mbox.gz, or one bare message) bytes into (raw, where) pairs, plus an error line.

    A download cut short (truncated gzip) still yields the messages before the
    break; the error line says what was lost so the caller can retry it.
    """
    from tracker.api import iter_mbox

    raws: list[tuple[bytes, str]] = []
    if not content.strip():
        return raws, None
    try:
        raws.extend(iter_mbox(content, name=origin))
    except KtrackError as exc:
        return raws, f"{origin}: {exc.message.split(': ', 1)[-1]}"
    return raws, None


def store_messages(ctx, raws, *, list_id: str | None, origin: str):
    from tracker.api import store_raw_messages

    return store_raw_messages(ctx.db, raws, list_id=list_id, origin=origin)


def is_stored(db, message_id: str) -> bool:
    return db.execute("select 1 from messages where message_id = ?", [message_id]).fetchone() is not None


def fetch_threads(ctx, base: str, inbox: str, entries: list[dict], *, list_id=None, whole_thread=True) -> list[str]:
    """Download the messages of feed entries not stored yet, one thread mbox per thread; return failures."""
    from tracker.api import FetchError

    in_feed = {e["message_id"]: e for e in entries}
    roots_done: set[str] = set()
    failures = []
    for entry in sorted(entries, key=lambda e: e["date"]):
        # A thread cut short last time has its first message stored: fetch it again anyway.
        if not entry.get("retry") and is_stored(ctx.db, entry["message_id"]):
            continue
        root, path = entry["message_id"], set()
        while in_feed.get(root, {}).get("in_reply_to") in in_feed and root not in path:  # one download per thread
            path.add(root)
            root = in_feed[root]["in_reply_to"]
        if root in roots_done and whole_thread:
            continue
        roots_done.add(root)
        suffix = "t.mbox.gz" if whole_thread else "raw"
        url = msgid_url(base, inbox, entry["message_id"], suffix)
        try:
            response = ctx.http.get(url, expect="mbox", conditional=False)
        except (FetchError, KtrackError) as exc:
            failures.append(entry["message_id"])
            ctx.warn(f"could not fetch {url}: {exc.message}")
            continue
        raws, error = mbox_messages(response.content, url)
        ctx.progress(f"{url}: {len(raws)} messages")
        store_messages(ctx, raws, list_id=list_id, origin=url)
        if error:
            failures.append(entry["message_id"])
            ctx.warn(error)
    return failures


class LoreListSource(Source):
    """One public-inbox list: poll `<base>/<list>/new.atom`, fetch threads, backfill gaps."""

    kind = "lore"

    def __init__(self, list_name: str, table: dict | None = None):
        table = {**defaults_of(config_defaults()), **(table or {})}
        self.list_name = list_name
        self.name = f"lore:{list_name}"
        self.base = (table["base_url"] or BASE_URL).rstrip("/")
        self.url = f"{self.base}/{list_name}/new.atom"
        self.interval_seconds = int(table["interval_seconds"])
        self.table = table

    def fetch(self, ctx) -> None:
        state = ctx.state
        response = ctx.http.get(self.url, expect="feed")
        pending = state.get("gaps") or state.get("missing") or self.table["backfill"] == "git"
        if response.not_modified and not pending:
            return
        entries, list_id = read_feed_entries(self.url, response.content) if not response.not_modified else ([], None)
        list_id = list_id or state.get("list_id")
        if list_id:
            state["list_id"] = list_id
        gaps = [tuple(g) for g in state.get("gaps", [])]
        if entries:
            oldest = min(e["date"] for e in entries)
            newest = max(e["date"] for e in entries)
            cursor = state.get("cursor")
            if cursor is None and int(self.table["initial_days"]) > 0:
                cursor = _iso(_parse_iso(oldest) - timedelta(days=int(self.table["initial_days"])))
            if cursor is not None and oldest > cursor:
                gaps.append((cursor, oldest))
            state["cursor"] = max(newest, state.get("cursor") or newest)
        # Retry single messages that failed last time, then this feed's threads.
        missing = [{"message_id": m, "date": "", "in_reply_to": None, "retry": True} for m in state.get("missing", [])]
        failed = fetch_threads(ctx, self.base, self.list_name, missing + entries, list_id=list_id,
                               whole_thread=bool(self.table["thread_mbox"]))
        state["missing"] = sorted(set(failed))
        state["gaps"] = [list(g) for g in self.fill_gaps(ctx, gaps, list_id)]
        if state["gaps"]:
            spans = ", ".join(f"{a}..{b}" for a, b in state["gaps"])
            ctx.warn(f"unfilled gap(s) in {self.list_name}, retried next run: {spans}")

    def fill_gaps(self, ctx, gaps, list_id) -> list[tuple[str, str]]:
        """Fill each (from, to) window; return the windows that could not be filled."""
        from tracker.api import FetchError

        if self.table["backfill"] == "git":
            # A mirror holds every message: read all new commits each run, whatever the feed says.
            try:
                self.backfill_from_git(ctx, list_id)
            except KtrackError as exc:
                ctx.warn(f"backfill from git failed: {exc.message}")
                return _merge_windows(gaps)
            return []
        left = []
        for start, end in _merge_windows(gaps):
            try:
                self.backfill_from_query(ctx, start, end, list_id)
            except (FetchError, KtrackError) as exc:
                ctx.warn(f"backfill {start}..{end} failed: {exc.message}")
                left.append((start, end))
        return left

    def backfill_from_query(self, ctx, start: str, end: str, list_id, *, depth: int = 0) -> int:
        """Download the search mbox of rt:start..end (widened by overlap_seconds); halve capped windows."""
        overlap = timedelta(seconds=int(self.table["overlap_seconds"]))
        since, until = _parse_iso(start), _parse_iso(end)
        if depth == 0:
            since, until = since - overlap, until + overlap
        query = f"rt:{public_inbox_time(since)}..{public_inbox_time(until)}"
        url = f"{self.base}/{self.list_name}/"
        # The body is what the search page's "results only" button sends; x=... there means full threads.
        response = ctx.http.post(url, params={"q": query, "x": "m"}, data={"z": "results only"}, expect="mbox",
                                 accept_status=(404,))
        origin = f"{url}?q={query}&x=m"
        if no_hits(origin, response):
            ctx.progress(f"{origin}: no messages")
            return 0
        raws, error = mbox_messages(response.content, origin)
        if error:  # keep what arrived; the window stays a gap and is asked again next run
            store_messages(ctx, raws, list_id=list_id, origin=origin)
            raise KtrackError(error)
        cap = int(self.table["query_cap"])
        if len(raws) >= cap:
            # rt: has one-second resolution: a window that cannot be halved any more is reported.
            if until - since <= timedelta(seconds=1) or depth > 40:
                raise KtrackError(f"{origin}: {len(raws)} results (the cap) within one second; cannot page further")
            middle = since + (until - since) / 2
            return (self.backfill_from_query(ctx, _iso(since), _iso(middle), list_id, depth=depth + 1)
                    + self.backfill_from_query(ctx, _iso(middle), _iso(until), list_id, depth=depth + 1))
        ctx.progress(f"{origin}: {len(raws)} messages")
        store_messages(ctx, raws, list_id=list_id, origin=origin)
        return len(raws)

    def backfill_from_git(self, ctx, list_id) -> int:
        """Read every commit after the stored one from each local epoch <git_dir>/<list>/git/<N>.git."""
        from tracker.plugins.lore_git import epoch_paths, fetch_epoch, read_epoch

        git_dir = self.table.get("git_dir")
        if not git_dir:
            raise KtrackError(f"{self.name}: backfill = \"git\" needs plugins.lore.git_dir")
        done = ctx.state.setdefault("epochs", {})
        count = 0
        for epoch, path in epoch_paths(os.path.join(os.path.expanduser(git_dir), self.list_name, "git")):
            if self.table.get("git_fetch"):
                fetch_epoch(path)
            raws = []
            last = done.get(epoch)
            for commit, raw in read_epoch(path, after=last):
                raws.append((raw, f"{path}:{commit}"))
                last = commit
            store_messages(ctx, raws, list_id=list_id, origin=str(path))
            if last:
                done[epoch] = last
            count += len(raws)
        return count


def _merge_windows(windows) -> list[tuple[str, str]]:
    merged: list[list[str]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(w) for w in merged]


class LoreQuerySource(Source):
    """A saved lore search: `<base>/<inbox>/?q=<query> d:<days>.days.ago..&x=A`, then each match's thread.

    Other plugins register these, e.g. LoreQuerySource("lore-query:syscalls", "dfn:syscall.tbl").
    """

    kind = "lore-query"

    def __init__(self, name: str, query: str, *, inbox: str = "all", days: int | None = 14, base_url: str | None = None,
                 interval_seconds: int = 6 * 3600):
        self.name = name
        self.query = query
        self.inbox = inbox
        self.days = days
        self.base = (base_url or BASE_URL).rstrip("/")
        self.interval_seconds = interval_seconds
        self.url = f"{self.base}/{inbox}/?{urlencode({'q': self.full_query, 'x': 'A'}, quote_via=quote, safe=':.')}"

    @property
    def full_query(self) -> str:
        """The query sent; days=None searches the whole archive (a one-off lookup, not a poll)."""
        if self.days is None:
            return self.query
        return f"{self.query} d:{self.days}.days.ago.."  # approxidate; a real public-inbox reads "14.d" as no date

    def fetch(self, ctx) -> None:
        base = self.base
        if self.base == BASE_URL:  # follow the configured lore mirror unless given one explicitly
            base = lore_base_url(ctx.config)
        url = f"{base}/{self.inbox}/?{urlencode({'q': self.full_query, 'x': 'A'}, quote_via=quote, safe=':.')}"
        # conditional: an unchanged result costs nothing; a search with no hits is a 404
        response = ctx.http.get(url, expect="feed", accept_status=(404,))
        missing = [{"message_id": m, "date": "", "in_reply_to": None, "retry": True} for m in ctx.state.get("missing", [])]
        entries = [] if response.not_modified or no_hits(url, response) else read_feed_entries(url, response.content)[0]
        failed = fetch_threads(ctx, base, self.inbox, missing + entries)
        ctx.state["missing"] = sorted(set(failed))
